#pragma once
#include <napi.h>

namespace auditflow {

// socketEnds(pid, fd): { family, type, protocol, local: Buffer, remote: Buffer | null } for a socket
// another process holds, or null when the process, the fd or the socket is gone.
Napi::Value SocketEnds(const Napi::CallbackInfo& info);

}  // namespace auditflow

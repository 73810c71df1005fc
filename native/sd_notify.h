#pragma once
#include <napi.h>

namespace auditflow {

// sdNotify(state: string): boolean — false when $NOTIFY_SOCKET is not set.
Napi::Value SdNotify(const Napi::CallbackInfo& info);

}  // namespace auditflow

#pragma once
#include <napi.h>

namespace auditflow {

// flock(fd, exclusive = true): boolean — takes the lock without waiting; false when
// another open file description holds it. The lock goes with the fd: close it to release.
Napi::Value Flock(const Napi::CallbackInfo& info);

}  // namespace auditflow

// Node-style errors for failed system calls: message "<CODE>: <description>, <syscall>",
// with the numeric `errno` (negative, as in Node's own errors), `code` and `syscall`.
#pragma once
#include <napi.h>

namespace auditflow {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall);

}  // namespace auditflow

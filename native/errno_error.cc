#include "errno_error.h"

#include <uv.h>

#include <cstring>
#include <string>

namespace auditflow {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  // uv_err_name maps -errno to the same names Node uses (EPERM, EEXIST, ...).
  const char* code = uv_err_name(-err);
  std::string message = std::string(code) + ": " + std::strerror(err) + ", " + syscall;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("code", Napi::String::New(env, code));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

}  // namespace auditflow

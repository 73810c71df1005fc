#include "file_lock.h"

#include <sys/file.h>

#include <cerrno>

#include "errno_error.h"

namespace auditflow {

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "flock(fd, exclusive) needs a file descriptor");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info.Length() < 2 || info[1].ToBoolean().Value();
  int rc;
  do {
    rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  throw ErrnoError(env, errno, "flock");
}

}  // namespace auditflow

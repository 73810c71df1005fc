// socketEnds(pid, fd, eventMs): the synchronous lookup the JavaScript fallback resolver makes (the lookup
// thread, socket_lookup.cc, makes the same one early). The alternative, finding the socket's inode in
// /proc/<pid>/net/{tcp,udp,...}, costs time proportional to every socket of the network namespace
// (TIME_WAIT included) on each lookup; the caller falls back to it when pidfd_getfd is refused.
#include "socket_ends.h"

#include <unistd.h>

#include <cerrno>

#include "errno_error.h"
#include "process_start.h"
#include "socket_query.h"

namespace auditflow {

namespace {

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Napi::Value SocketEnds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "socketEnds(pid, fd, eventMs?) needs two numbers");
  }
  bool with_event = info.Length() >= 3 && info[2].IsNumber();
  int64_t event_ms = with_event ? info[2].As<Napi::Number>().Int64Value() : 0;
  int pid = info[0].As<Napi::Number>().Int32Value();
  int target = info[1].As<Napi::Number>().Int32Value();
  if (pid <= 0 || target < 0) return env.Null();

  Fd pidfd(PidfdOpen(pid));
  if (pidfd.get() < 0) {
    if (Gone(errno)) return env.Null();
    throw ErrnoError(env, errno, "pidfd_open");
  }
  if (with_event) {
    int64_t start = 0;
    int err = PidfdStartBootNs(pidfd.get(), pid, &start);
    if (err != 0) {
      if (Gone(err)) return env.Null();
      throw ErrnoError(env, err, "read /proc/<pid>/stat");
    }
    if (StartedAfterEvent(start, BootRealtimeNs(), event_ms)) return Napi::Boolean::New(env, false);
  }
  int duplicate = DuplicateSocket(pidfd.get(), pid, target);
  if (duplicate < 0) {
    if (Gone(-duplicate)) return env.Null();
    throw ErrnoError(env, -duplicate, "pidfd_getfd");
  }
  Fd fd(duplicate);
  SocketAnswer answer;
  const char* failed_call = nullptr;
  int err = AskSocket(fd.get(), true, &answer, &failed_call);
  if (err != 0) {
    if (Gone(err)) return env.Null();
    throw ErrnoError(env, err, failed_call);
  }

  Napi::Object result = Napi::Object::New(env);
  result.Set("family", Napi::Number::New(env, answer.family));
  result.Set("type", Napi::Number::New(env, answer.type));
  result.Set("protocol", Napi::Number::New(env, answer.protocol));
  result.Set("local", Napi::Buffer<char>::Copy(env, reinterpret_cast<char*>(&answer.local), answer.local_length));
  result.Set("remote", answer.remote_length > 0
                           ? Napi::Value(Napi::Buffer<char>::Copy(env, reinterpret_cast<char*>(&answer.remote), answer.remote_length))
                           : env.Null());
  return result;
}

}  // namespace auditflow

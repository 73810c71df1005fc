// What a socket held by another process is, asked of the socket itself: pidfd_open(2) +
// pidfd_getfd(2) (Linux 5.6) give this process a duplicate of the target's fd, on which
// getsockopt(SO_DOMAIN/SO_TYPE/SO_PROTOCOL), getsockname and getpeername answer exactly and at a
// constant cost. The alternative, finding the socket's inode in /proc/<pid>/net/{tcp,udp,...},
// costs time proportional to every socket of the network namespace (TIME_WAIT included) on each
// lookup. pidfd_getfd needs PTRACE_MODE_ATTACH over the target (CAP_SYS_PTRACE for other users'
// processes); the caller falls back to /proc when it is refused.
#include "socket_ends.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "errno_error.h"

// The same numbers on every architecture (new system calls share one table since Linux 5.1).
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

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

// The errors that only mean "it is gone": the process exited (ESRCH), the fd was closed (EBADF),
// or it is no socket (ENOTSOCK).
bool Gone(int err) { return err == ESRCH || err == EBADF || err == ENOTSOCK; }

bool IntOption(int fd, int option, int* value) {
  socklen_t length = sizeof *value;
  return getsockopt(fd, SOL_SOCKET, option, value, &length) == 0;
}

}  // namespace

Napi::Value SocketEnds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "socketEnds(pid, fd) needs two numbers");
  }
  int pid = info[0].As<Napi::Number>().Int32Value();
  int target = info[1].As<Napi::Number>().Int32Value();
  if (pid <= 0 || target < 0) return env.Null();

  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() < 0) {
    if (Gone(errno)) return env.Null();
    throw ErrnoError(env, errno, "pidfd_open");
  }
  // The duplicate is close-on-exec (pidfd_getfd(2)).
  Fd fd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), target, 0)));
  if (fd.get() < 0) {
    if (Gone(errno)) return env.Null();
    throw ErrnoError(env, errno, "pidfd_getfd");
  }
  int family = 0;
  int type = 0;
  int protocol = 0;
  if (!IntOption(fd.get(), SO_DOMAIN, &family) || !IntOption(fd.get(), SO_TYPE, &type) || !IntOption(fd.get(), SO_PROTOCOL, &protocol)) {
    if (Gone(errno)) return env.Null();
    throw ErrnoError(env, errno, "getsockopt");
  }
  sockaddr_storage local{};
  socklen_t local_length = sizeof local;
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_length) != 0) throw ErrnoError(env, errno, "getsockname");
  sockaddr_storage remote{};
  socklen_t remote_length = sizeof remote;
  bool connected = getpeername(fd.get(), reinterpret_cast<sockaddr*>(&remote), &remote_length) == 0;
  if (!connected && errno != ENOTCONN) throw ErrnoError(env, errno, "getpeername");

  Napi::Object result = Napi::Object::New(env);
  result.Set("family", Napi::Number::New(env, family));
  result.Set("type", Napi::Number::New(env, type));
  result.Set("protocol", Napi::Number::New(env, protocol));
  result.Set("local", Napi::Buffer<char>::Copy(env, reinterpret_cast<char*>(&local), local_length));
  result.Set("remote", connected ? Napi::Value(Napi::Buffer<char>::Copy(env, reinterpret_cast<char*>(&remote), remote_length)) : env.Null());
  return result;
}

}  // namespace auditflow

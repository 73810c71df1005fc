#include "sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "errno_error.h"

namespace auditflow {

// The sd_notify(3) protocol: one datagram with newline-separated VAR=value
// assignments, sent to the AF_UNIX socket named by $NOTIFY_SOCKET; a leading '@'
// names an abstract socket. Node's dgram module cannot open AF_UNIX datagram sockets.
Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "sdNotify(state) needs a string");
  }
  std::string state = info[0].As<Napi::String>().Utf8Value();
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return Napi::Boolean::New(env, false);

  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  size_t path_length = std::strlen(path);
  if (path[0] != '/' && path[0] != '@') {
    throw Napi::Error::New(env, std::string("NOTIFY_SOCKET is not an AF_UNIX path or abstract name: ") + path);
  }
  if (path_length >= sizeof(address.sun_path)) {
    throw Napi::Error::New(env, "NOTIFY_SOCKET is longer than sun_path");
  }
  std::memcpy(address.sun_path, path, path_length);
  if (path[0] == '@') address.sun_path[0] = '\0';
  socklen_t address_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_length);

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, errno, "socket");
  ssize_t sent;
  do {
    sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                  reinterpret_cast<sockaddr*>(&address), address_length);
  } while (sent < 0 && errno == EINTR);
  int send_errno = errno;
  close(fd);
  if (sent < 0) throw ErrnoError(env, send_errno, "sendto");
  return Napi::Boolean::New(env, true);
}

}  // namespace auditflow

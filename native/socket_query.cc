// pidfd_open(2) + pidfd_getfd(2) (Linux 5.6) give this process a duplicate of another process's fd,
// on which getsockopt, getsockname and getpeername answer exactly and at a constant cost.
// pidfd_getfd needs PTRACE_MODE_ATTACH over the target (CAP_SYS_PTRACE for other users' processes).
#include "socket_query.h"

#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

// The same numbers on every architecture (new system calls share one table since Linux 5.1).
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

namespace auditflow {

namespace {

bool IntOption(int fd, int option, int* value) {
  socklen_t length = sizeof *value;
  return getsockopt(fd, SOL_SOCKET, option, value, &length) == 0;
}

// "socket:[" (fs/proc/fd.c prints a socket's link as socket:[inode], net/socket.c sockfs_dname).
constexpr char kSocketLink[] = "socket:[";

}  // namespace

int PidfdOpen(int pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

bool PidfdExited(int pidfd) {
  pollfd entry{pidfd, POLLIN, 0};
  return poll(&entry, 1, 0) > 0 && (entry.revents & (POLLIN | POLLHUP)) != 0;
}

bool Gone(int err) { return err == ESRCH || err == EBADF || err == ENOTSOCK; }

int DuplicateSocket(int pidfd, int pid, int fd) {
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
  char link[sizeof kSocketLink];
  ssize_t length = readlink(path, link, sizeof link);
  if (length < 0) {
    int err = errno;
    // ENOENT: no such fd, or no such process; the pidfd tells which.
    if (err == ENOENT) return PidfdExited(pidfd) ? -ESRCH : -EBADF;
    return -err;
  }
  if (static_cast<size_t>(length) < sizeof kSocketLink - 1 || std::memcmp(link, kSocketLink, sizeof kSocketLink - 1) != 0) return -ENOTSOCK;
  int duplicate = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  if (duplicate < 0) return -errno;
  struct stat status;
  if (fstat(duplicate, &status) != 0 || !S_ISSOCK(status.st_mode)) {
    close(duplicate);
    return -ENOTSOCK;
  }
  return duplicate;
}

int AskSocket(int sock, bool with_kind, SocketAnswer* answer, const char** failed_call) {
  if (with_kind && (!IntOption(sock, SO_DOMAIN, &answer->family) || !IntOption(sock, SO_TYPE, &answer->type) ||
                    !IntOption(sock, SO_PROTOCOL, &answer->protocol))) {
    *failed_call = "getsockopt";
    return errno;
  }
  answer->local_length = sizeof answer->local;
  if (getsockname(sock, reinterpret_cast<sockaddr*>(&answer->local), &answer->local_length) != 0) {
    *failed_call = "getsockname";
    return errno;
  }
  answer->remote_length = sizeof answer->remote;
  if (getpeername(sock, reinterpret_cast<sockaddr*>(&answer->remote), &answer->remote_length) != 0) {
    answer->remote_length = 0;
    if (errno != ENOTCONN) {
      *failed_call = "getpeername";
      return errno;
    }
  }
  return 0;
}

}  // namespace auditflow

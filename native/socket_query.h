// Asking a socket another process holds what it is, shared by the synchronous socketEnds() and the
// lookup thread (socket_lookup.cc). System calls only; no policy.
#pragma once
#include <sys/socket.h>

namespace auditflow {

struct SocketAnswer {
  int family = 0;
  int type = 0;
  int protocol = 0;
  sockaddr_storage local{};
  socklen_t local_length = 0;
  sockaddr_storage remote{};
  socklen_t remote_length = 0;  // 0: not connected (ENOTCONN)
};

// pidfd_open(2): a descriptor for the process `pid` (a thread-group leader), or -1 with errno.
int PidfdOpen(int pid);

// True once the process behind `pidfd` has exited (poll(2) on a pidfd reports POLLIN then).
bool PidfdExited(int pidfd);

// The errors that only mean "it is gone": the process exited (ESRCH), the fd was closed (EBADF),
// or it is no socket (ENOTSOCK).
bool Gone(int err);

// A duplicate (close-on-exec) of `fd` of the process behind `pidfd` (whose pid is `pid`), made only
// when the descriptor is a socket. /proc/<pid>/fd/<fd> is read first: a link that does not begin
// with "socket:" is never duplicated (ENOTSOCK), so this process never holds, even briefly, another
// process's pipe, file or device (holding one can delay the peer's EOF, or make our close the last
// one and run the file's release). The pidfd ties the link to the process: pidfd_getfd succeeds only
// while that process lives, and while it lives `pid` cannot name another one. What remains is the fd
// being closed and replaced by a non-socket between the readlink and pidfd_getfd (microseconds); the
// duplicate's fstat catches it and it is closed at once (ENOTSOCK).
// Returns the duplicate, or -errno: ESRCH (process gone), EBADF (fd gone), ENOTSOCK, EPERM, ENOSYS.
int DuplicateSocket(int pidfd, int pid, int fd);

// getsockname and getpeername of a socket this process holds, plus SO_DOMAIN/SO_TYPE/SO_PROTOCOL
// when `with_kind`. Returns 0 or an errno, with the failed call's name in *failed_call.
int AskSocket(int sock, bool with_kind, SocketAnswer* answer, const char** failed_call);

}  // namespace auditflow

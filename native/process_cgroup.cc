#include "process_cgroup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "process_start.h"
#include "socket_query.h"

namespace auditflow {

int ReadProcessCgroup(int pidfd, int pid, int64_t start_boot_ns, char* out, size_t* length) {
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? ESRCH : errno;
  // One byte more than is kept: a read that fills it says the file is longer. The file is one
  // seq_file record (kernel/cgroup/cgroup.c proc_cgroup_show), which a read returns whole as far as
  // the buffer goes.
  char buffer[kCgroupMaxBytes + 1];
  ssize_t got;
  do {
    got = read(fd, buffer, sizeof buffer);
  } while (got < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (got < 0) return err == ENOENT ? ESRCH : err;
  if (PidfdExited(pidfd) && ProcessStartBootNs(pid) != start_boot_ns) return ESRCH;
  if (static_cast<size_t>(got) > kCgroupMaxBytes) return E2BIG;
  std::memcpy(out, buffer, static_cast<size_t>(got));
  *length = static_cast<size_t>(got);
  return 0;
}

}  // namespace auditflow

#include "process_start.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "socket_query.h"

namespace auditflow {

namespace {

int64_t ClockNs(clockid_t clock) {
  timespec now;
  clock_gettime(clock, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

const long ticks_per_second = sysconf(_SC_CLK_TCK);

// starttime's position: fields 3 (state) .. 22 (starttime) follow the comm, so it is the 20th after it.
constexpr int kStartField = 20;

}  // namespace

int64_t StatStartTicks(const char* line, size_t length) {
  const char* close = nullptr;
  for (size_t i = length; i > 0; --i) {
    if (line[i - 1] == ')') {
      close = line + i - 1;
      break;
    }
  }
  if (close == nullptr) return -1;
  const char* p = close + 1;
  const char* end = line + length;
  for (int field = 0; field < kStartField; ++field) {
    while (p < end && *p == ' ') ++p;
    const char* token = p;
    while (p < end && *p != ' ' && *p != '\n') ++p;
    if (token == p) return -1;
    if (field == kStartField - 1) {
      int64_t value = 0;
      for (const char* d = token; d < p; ++d) {
        if (*d < '0' || *d > '9' || p - token > 18) return -1;
        value = value * 10 + (*d - '0');
      }
      return value;
    }
  }
  return -1;
}

int64_t ProcessStartBootNs(int pid) {
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  // A stat line is 52 numbers and a comm of at most 64 bytes (TASK_COMM_EXT_LEN): well under 1 KiB
  // up to field 22.
  char line[1024];
  ssize_t length;
  do {
    length = read(fd, line, sizeof line);
  } while (length < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (length <= 0) {
    errno = length < 0 ? err : ESRCH;
    return -1;
  }
  int64_t ticks = StatStartTicks(line, static_cast<size_t>(length));
  if (ticks < 0 || ticks_per_second <= 0) {
    errno = EINVAL;
    return -1;
  }
  return ticks * (1000000000 / ticks_per_second);
}

int PidfdStartBootNs(int pidfd, int pid, int64_t* start_boot_ns) {
  int64_t start = ProcessStartBootNs(pid);
  if (start < 0) return errno == ENOENT ? ESRCH : errno;
  if (PidfdExited(pidfd)) return ESRCH;
  *start_boot_ns = start;
  return 0;
}

int64_t StartTicks(int64_t start_boot_ns) { return ticks_per_second <= 0 ? -1 : start_boot_ns / (1000000000 / ticks_per_second); }

int64_t BootRealtimeNs() { return ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME); }

bool StartedAfterEvent(int64_t start_boot_ns, int64_t boot_realtime_ns, int64_t event_ms) {
  int64_t start_ms = (boot_realtime_ns + start_boot_ns) / 1000000;
  return start_ms > event_ms + kStartToleranceMs;
}

}  // namespace auditflow

// The addon's two clocks, read where the threads need them.
#pragma once
#include <time.h>

#include <cstdint>

namespace auditflow {

// CLOCK_MONOTONIC in nanoseconds: intervals and deadlines.
inline uint64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

// CLOCK_REALTIME in microseconds, as a double (exact under 2^53): the clock of the audit records'
// timestamps (kernel/auditsc.c), so JavaScript can compare the two.
inline double RealtimeUs() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec / 1000);
}

}  // namespace auditflow

// A process's cgroup file, read by the lookup thread when it first opens the process, microseconds
// after the process's first audited syscall: a short-lived process (a client that connects and
// exits) is usually still there then, and gone by the time JavaScript reads /proc for its flow.
// The bytes go to JavaScript as they are (src/pipeline/process/cgroup.ts parses them).
#pragma once
#include <cstddef>
#include <cstdint>

namespace auditflow {

// /proc/<pid>/cgroup kept at most: one line under cgroup v2 ("0::/path"); a hybrid host's file has a
// line per v1 hierarchy as well (about 90 bytes each with a Docker cgroupfs path, 10 here: 900).
// A longer file is not used: a cut path would name another cgroup.
constexpr size_t kCgroupMaxBytes = 1024;

// Reads /proc/<pid>/cgroup into `out` (kCgroupMaxBytes) and checks that it was the process behind
// `pidfd` (started at `start_boot_ns`, process_start.h) that was read: the pidfd has not exited, or
// (a zombie holds its pid) the start read again is the same. Returns 0 with *length set; E2BIG when
// the file is longer than kCgroupMaxBytes; ESRCH when the process is gone (its pid may be another's);
// or the read's errno. One open and one read: it never waits on anything but /proc.
int ReadProcessCgroup(int pidfd, int pid, int64_t start_boot_ns, char* out, size_t* length);

}  // namespace auditflow

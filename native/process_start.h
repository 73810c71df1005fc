// Whether the process now at a pid can be the one an audit event names. The SYSCALL record carries
// the pid and the event's time (its header, "audit(<seconds>.<ms>:<serial>)"), no start time; a pidfd
// keeps naming the process it was opened for, but it is opened after the event, when the pid may
// already be another process's (pid reuse). A process cannot make a syscall before it starts: the
// process behind a pidfd that started after the event is not the event's process.
#pragma once
#include <cstddef>
#include <cstdint>

namespace auditflow {

// How far after the event a start may lie and still be the event's process: starttime is in clock
// ticks (10 ms) and the event's time is the coarse clock read at syscall entry (kernel/auditsc.c
// __audit_syscall_entry: ktime_get_coarse_real_ts64, one jiffy coarse), printed in ms. The same
// tolerance as the process stage's (src/pipeline/process/resolver.ts START_TOLERANCE_MS).
constexpr int64_t kStartToleranceMs = 100;

// Field 22 of a /proc/<pid>/stat line (starttime, clock ticks after boot), counted after the comm's
// LAST ')' since the comm may hold spaces and parentheses; -1 when malformed.
int64_t StatStartTicks(const char* line, size_t length);

// The start of the process at `pid` now, as CLOCK_BOOTTIME nanoseconds (the clock starttime counts,
// fs/proc/array.c do_task_stat), read from /proc/<pid>/stat; -1 with errno when it cannot be read.
int64_t ProcessStartBootNs(int pid);

// The start of the process behind `pidfd` (its pid `pid`), as ProcessStartBootNs: /proc/<pid>/stat
// shows the pidfd's process only while that one lives, so the pidfd is asked after the read.
// 0, or ESRCH when the process exited (the pid may be another's by now), or the read's errno.
int PidfdStartBootNs(int pidfd, int pid, int64_t* start_boot_ns);

// A start as ProcessStartBootNs gives it, back in clock ticks (starttime's unit, sysconf(_SC_CLK_TCK)).
int64_t StartTicks(int64_t start_boot_ns);

// CLOCK_REALTIME minus CLOCK_BOOTTIME now, nanoseconds: the wall-clock time of boot.
int64_t BootRealtimeNs();

// The decision: a process that started (`start_boot_ns`, with the boot's wall-clock time
// `boot_realtime_ns`) more than kStartToleranceMs after the event at `event_ms` (ms since the epoch)
// is not the event's process.
bool StartedAfterEvent(int64_t start_boot_ns, int64_t boot_realtime_ns, int64_t event_ms);

}  // namespace auditflow

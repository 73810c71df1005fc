// The few SYSCALL record fields the lookup thread needs, read from the record's bytes. Nothing else
// of the text is interpreted here (src/pipeline parses records).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace auditflow {

struct SyscallFields {
  uint32_t arch = 0;       // arch=, hex (AUDIT_ARCH_*)
  uint32_t syscall = 0;    // syscall=, decimal
  int success = -1;        // success=yes 1, =no 0, absent -1
  int64_t exit = 0;        // exit=, signed decimal
  uint64_t args[3] = {};   // a0= a1= a2=, hex
  uint32_t pid = 0;        // pid=, decimal
  int64_t time_ms = 0;     // the header's audit(<seconds>.<ms>:...), ms since the epoch
  unsigned seen = 0;       // bits of Field below
};

enum Field : unsigned {
  kArch = 1u << 0,
  kSyscall = 1u << 1,
  kSuccess = 1u << 2,
  kExit = 1u << 3,
  kA0 = 1u << 4,
  kA1 = 1u << 5,
  kA2 = 1u << 6,
  kPid = 1u << 7,
  kTime = 1u << 8,
};

// Scans "audit(<seconds>.<ms>:<serial>): arch=... syscall=... success=... exit=... a0=... a1=... a2=... ... pid=..." up to
// pid= (the kernel prints these before comm=, whose quoted value is process-controlled).
SyscallFields ScanSyscall(const uint8_t* payload, size_t length);

// The address family of a SOCKADDR record's saddr= (its first two bytes, little-endian as
// struct sockaddr's sa_family is stored on the hosts audit records come from), or -1.
int SockaddrFamily(const uint8_t* payload, size_t length);

// Whether two records carry the same "audit(<time>:<serial>)" header, i.e. belong to one event.
bool SameEvent(const uint8_t* a, size_t a_length, const uint8_t* b, size_t b_length);

// scanSyscall(payload: Buffer) for tests: the fields above, or null without arch/syscall/pid.
Napi::Value ScanSyscallJs(const Napi::CallbackInfo& info);

}  // namespace auditflow

// The early socket lookups: for the SYSCALL records JavaScript named (lookupCalls), the socket behind
// the record's fd is asked for its ends on the lookup thread, microseconds after the record was read,
// so a socket that a short-lived process closes at once is still caught. Only this thread touches
// the state below; the counters are read by stats() on the JavaScript thread.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "batch.h"
#include "clock.h"
#include "syscall_scan.h"

namespace auditflow {

// One lookupCalls triple: which (audit arch, syscall) is what kind of call.
struct LookupCall {
  uint32_t arch;
  uint32_t syscall;
  uint32_t kind;  // kSocketCall, kFdInA0 or kFdInExit
};

constexpr uint32_t kSocketCall = 0;  // socket(): remember (pid, exit) -> (a0, a1 & 0xf, a2)
constexpr uint32_t kFdInA0 = 1;      // connect, bind, sendto, sendmsg, accept's listener
constexpr uint32_t kFdInExit = 2;    // accept, accept4: the new socket is the exit value

// One lookup entry (src/native/socket-lookups.ts); its first 4 bytes are the record's index.
constexpr size_t kLookupEntryBytes = 96;
// A process read's fixed part (src/native/process-reads.ts); its cgroup bytes follow it.
constexpr size_t kProcessReadHeaderBytes = 24;


class SocketLookups {
 public:
  SocketLookups(std::vector<LookupCall> calls, uint32_t self_pid);
  ~SocketLookups();
  SocketLookups(const SocketLookups&) = delete;
  SocketLookups& operator=(const SocketLookups&) = delete;

  // Appends the entries for `batch`'s SYSCALL records to batch.lookups, and what it read of the
  // processes it opened for them (their start and cgroup) to batch.processes. When `behind`, the socket()
  // table is still kept but no lookup is made (counted as skipped, reason "behind").
  void Run(Batch& batch, bool behind);
  // Closes the pidfds of processes that exited or were not used for kIdleNs.
  void Sweep();
  Napi::Object Stats(Napi::Env env) const;

 private:
  struct Kind {
    uint16_t family;
    uint16_t type;
    uint16_t protocol;
  };
  struct Process {
    uint32_t pid;
    int pidfd;
    int64_t start_boot_ns;  // its start (process_start.h), read when the pidfd was opened
    uint64_t last_used_ns;
    std::unordered_map<int32_t, Kind> sockets;
  };
  using Entry = std::list<Process>::iterator;

  const LookupCall* CallOf(const SyscallFields& fields) const;
  void OnSocketCall(const SyscallFields& fields, uint64_t now, std::vector<uint8_t>* processes);
  // Whether a record after `record` in the batch made a new socket on `fd` of `pid` (socket(), accept).
  bool ReplacedLater(const Batch& batch, uint32_t record, uint32_t pid, int64_t fd) const;
  void LookUp(const SyscallFields& fields, uint32_t kind, int32_t fd, uint32_t record, uint64_t now, Batch& batch);
  // The process's entry, made (pidfd_open, its start time and cgroup read, the read appended to
  // `processes`) when absent; end() with *err set when the process cannot be opened.
  Entry Acquire(uint32_t pid, uint64_t now, std::vector<uint8_t>* processes, int* err);
  // Reads the new process's cgroup and appends the read (process-reads.ts) to `processes`.
  void ReadProcess(const Process& process, std::vector<uint8_t>* processes);
  // The process started after the event: its pid was reused, the event's process is gone.
  bool StartedAfter(const Process& process, const SyscallFields& fields) const;
  void Drop(Entry entry);
  void Remember(Process& process, int32_t fd, Kind kind);

  std::vector<LookupCall> calls_;
  uint32_t self_pid_;
  std::list<Process> lru_;  // most recently used first
  std::unordered_map<uint32_t, Entry> by_pid_;
  size_t socket_entries_ = 0;
  int64_t boot_realtime_ns_ = 0;  // BootRealtimeNs(), read once per batch

  // Counters; failed_ is indexed by errno (slot 0: an errno beyond the table).
  static constexpr int kErrnoSlots = 160;
  std::atomic<uint64_t> made_{0};
  std::atomic<uint64_t> found_{0};
  std::atomic<uint64_t> time_ns_{0};
  std::atomic<uint64_t> skipped_self_{0};
  std::atomic<uint64_t> skipped_family_{0};
  std::atomic<uint64_t> skipped_sockaddr_{0};
  std::atomic<uint64_t> skipped_behind_{0};
  std::atomic<uint64_t> skipped_no_fd_{0};
  std::atomic<uint64_t> skipped_reused_{0};
  std::atomic<uint64_t> failed_reused_{0};
  std::atomic<uint64_t> skipped_replaced_{0};
  std::atomic<uint64_t> failed_[kErrnoSlots] = {};
  std::atomic<uint64_t> pidfds_opened_{0};
  std::atomic<uint64_t> pidfds_reopened_{0};
  std::atomic<uint64_t> pidfds_closed_{0};
  std::atomic<uint64_t> cgroups_read_{0};
  std::atomic<uint64_t> cgroups_cut_{0};
  std::atomic<uint64_t> cgroups_gone_{0};
  std::atomic<uint64_t> cgroups_failed_{0};
  std::atomic<uint64_t> cgroups_time_ns_{0};
};

}  // namespace auditflow

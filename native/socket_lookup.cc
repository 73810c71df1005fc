#include "socket_lookup.h"

#include <linux/audit.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "process_cgroup.h"
#include "process_start.h"
#include "socket_query.h"

namespace auditflow {

namespace {

// Bounds of what the lookup thread keeps. A pidfd per process (4,096 descriptors at most, well
// under the hard RLIMIT_NOFILE Node raises its soft limit to) and the socket() table.
constexpr size_t kMaxProcesses = 4096;
constexpr size_t kMaxSocketEntries = 65536;
constexpr uint64_t kIdleNs = 30ull * 1000 * 1000 * 1000;
// How far after a SYSCALL record its SOCKADDR is looked for: an event's records are queued one
// after the other (kernel/auditsc.c audit_log_exit), others may interleave on a busy host.
constexpr uint32_t kSockaddrLookahead = 8;

// The entry layout of src/native/socket-lookups.ts; hosts that produce audit records for this
// addon (x86_64, aarch64) are little-endian, so native stores are the little-endian layout.
constexpr size_t kSockaddrBytes = 28;
constexpr uint8_t kFromSocketRecord = 1;

bool Inet(int family) { return family == AF_INET || family == AF_INET6; }

template <typename T>
void Put(uint8_t* entry, size_t offset, T value) {
  std::memcpy(entry + offset, &value, sizeof value);
}

void PutAddress(uint8_t* entry, size_t length_at, const sockaddr_storage& address, socklen_t length) {
  uint32_t kept = static_cast<uint32_t>(std::min<size_t>(length, kSockaddrBytes));
  Put(entry, length_at, kept);
  std::memcpy(entry + length_at + 4, &address, kept);
}

}  // namespace

SocketLookups::SocketLookups(std::vector<LookupCall> calls, uint32_t self_pid) : calls_(std::move(calls)), self_pid_(self_pid) {}

SocketLookups::~SocketLookups() {
  for (Process& process : lru_) close(process.pidfd);
}

const LookupCall* SocketLookups::CallOf(const SyscallFields& fields) const {
  for (const LookupCall& call : calls_) {
    if (call.arch == fields.arch && call.syscall == fields.syscall) return &call;
  }
  return nullptr;
}

void SocketLookups::Run(Batch& batch, bool behind) {
  const uint32_t* meta = batch.meta.data();
  uint64_t now = MonotonicNs();
  boot_realtime_ns_ = BootRealtimeNs();
  for (uint32_t record = 0; record < batch.records; ++record) {
    const uint32_t* words = meta + record * kMetaWords;
    if (words[0] != AUDIT_SYSCALL) continue;
    const uint8_t* payload = batch.data.data() + words[4];
    SyscallFields fields = ScanSyscall(payload, words[5]);
    constexpr unsigned kNeeded = kArch | kSyscall | kPid | kTime;
    if ((fields.seen & kNeeded) != kNeeded) continue;
    const LookupCall* call = CallOf(fields);
    if (call == nullptr) continue;
    if (fields.pid == self_pid_) {
      if (call->kind != kSocketCall) skipped_self_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (call->kind == kSocketCall) {
      OnSocketCall(fields, now, &batch.processes);
      continue;
    }
    int64_t fd = -1;
    if (call->kind == kFdInA0 && (fields.seen & kA0) && fields.args[0] <= INT32_MAX) fd = static_cast<int64_t>(fields.args[0]);
    if (call->kind == kFdInExit && fields.success == 1 && (fields.seen & kExit) && fields.exit >= 0 && fields.exit <= INT32_MAX) fd = fields.exit;
    if (fd < 0) {
      skipped_no_fd_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    int family = -1;
    for (uint32_t next = record + 1; next < batch.records && next <= record + kSockaddrLookahead; ++next) {
      const uint32_t* other = meta + next * kMetaWords;
      if (other[0] == AUDIT_SOCKADDR && SameEvent(payload, words[5], batch.data.data() + other[4], other[5])) {
        family = SockaddrFamily(batch.data.data() + other[4], other[5]);
        break;
      }
    }
    if (family >= 0 && !Inet(family)) {
      skipped_sockaddr_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (behind) {
      skipped_behind_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (ReplacedLater(batch, record, fields.pid, fd)) {
      // A later record of this read made a new socket on the fd: the record's socket is closed, and
      // the fd names the new one now. Reported as gone (EBADF), so no later lookup is made either.
      uint8_t entry[kLookupEntryBytes] = {};
      Put(entry, 0, record);
      Put(entry, 4, fields.pid);
      Put(entry, 8, static_cast<int32_t>(fd));
      Put(entry, 12, static_cast<int32_t>(EBADF));
      Put(entry, 88, RealtimeUs());
      batch.lookups.insert(batch.lookups.end(), entry, entry + kLookupEntryBytes);
      skipped_replaced_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    LookUp(fields, call->kind, static_cast<int32_t>(fd), record, now, batch);
  }
}

bool SocketLookups::ReplacedLater(const Batch& batch, uint32_t record, uint32_t pid, int64_t fd) const {
  const uint32_t* meta = batch.meta.data();
  for (uint32_t next = record + 1; next < batch.records; ++next) {
    const uint32_t* words = meta + next * kMetaWords;
    if (words[0] != AUDIT_SYSCALL) continue;
    SyscallFields later = ScanSyscall(batch.data.data() + words[4], words[5]);
    if ((later.seen & (kArch | kSyscall | kPid | kExit)) != (kArch | kSyscall | kPid | kExit) || later.pid != pid) continue;
    const LookupCall* call = CallOf(later);
    if (call != nullptr && (call->kind == kSocketCall || call->kind == kFdInExit) && later.success == 1 && later.exit == fd) return true;
  }
  return false;
}

void SocketLookups::OnSocketCall(const SyscallFields& fields, uint64_t now, std::vector<uint8_t>* processes) {
  if (fields.success != 1 || !(fields.seen & kExit) || fields.exit < 0 || fields.exit > INT32_MAX) return;
  int err = 0;
  Entry entry = Acquire(fields.pid, now, processes, &err);
  if (entry == lru_.end()) return;
  if (StartedAfter(*entry, fields)) {
    // The fd belongs to a process gone by now; this one's fd of that number is another socket.
    skipped_reused_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Remember(*entry, static_cast<int32_t>(fields.exit),
           {static_cast<uint16_t>(fields.args[0]), static_cast<uint16_t>(fields.args[1] & 0xf), static_cast<uint16_t>(fields.args[2])});
}

void SocketLookups::LookUp(const SyscallFields& fields, uint32_t kind, int32_t fd, uint32_t record, uint64_t now, Batch& batch) {
  uint64_t started = MonotonicNs();
  uint8_t entry[kLookupEntryBytes] = {};
  Put(entry, 0, record);
  Put(entry, 4, fields.pid);
  Put(entry, 8, fd);
  int status = 0;
  bool reused = false;
  // A kept pidfd whose process exited is reopened once: the event may be a newer process's with the
  // same pid.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool kept = by_pid_.count(fields.pid) != 0;
    Entry process = Acquire(fields.pid, now, &batch.processes, &status);
    if (process == lru_.end()) break;
    if (StartedAfter(*process, fields)) {
      // Its fds are another program's: never answered. The entry says ESRCH, the event's process is
      // gone; the pidfd stays for the newcomer's own events.
      reused = true;
      status = ESRCH;
      break;
    }
    Kind known{};
    bool have = false;
    if (kind == kFdInExit) {
      // accept made a new socket on this fd: what socket() said of the fd before is void.
      socket_entries_ -= process->sockets.erase(fd);
    } else {
      auto found = process->sockets.find(fd);
      have = found != process->sockets.end();
      if (have) known = found->second;
    }
    if (have && !Inet(known.family)) {
      skipped_family_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    int duplicate = DuplicateSocket(process->pidfd, static_cast<int>(fields.pid), fd);
    if (duplicate == -ESRCH) {
      Drop(process);
      status = ESRCH;
      if (kept) {
        pidfds_reopened_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      break;
    }
    if (duplicate < 0) {
      status = -duplicate;
      break;
    }
    SocketAnswer answer;
    const char* failed_call = nullptr;
    // The kind is asked even when the socket() record gave it: a program that closed the socket at
    // once and made another, which got the same fd, has that one here. Of another family or type,
    // it is not the record's socket, which is gone (EBADF).
    status = AskSocket(duplicate, true, &answer, &failed_call);
    close(duplicate);
    // When the ends were read: a socket the process made on the same fd before this moment may be
    // what was read (src/pipeline/local-check.ts compares it with the records that follow).
    Put(entry, 88, RealtimeUs());
    if (status == 0 && have && (answer.family != known.family || (answer.type & 0xf) != known.type)) status = EBADF;
    if (status != 0) break;
    if (have) {
      answer.family = known.family;
      answer.type = known.type;
      answer.protocol = known.protocol;
      entry[22] = kFromSocketRecord;
    } else if (kind == kFdInExit) {
      Remember(*process, fd, {static_cast<uint16_t>(answer.family), static_cast<uint16_t>(answer.type & 0xf), static_cast<uint16_t>(answer.protocol)});
    }
    Put(entry, 16, static_cast<uint16_t>(answer.family));
    Put(entry, 18, static_cast<uint16_t>(answer.type & 0xf));
    Put(entry, 20, static_cast<uint16_t>(answer.protocol));
    PutAddress(entry, 24, answer.local, answer.local_length);
    PutAddress(entry, 56, answer.remote, answer.remote_length);
    break;
  }
  Put(entry, 12, static_cast<int32_t>(status));
  // Found gone: the event's socket was closed by now (its destroy came before, src/pipeline/flow-ends.ts).
  if (status != 0) Put(entry, 88, RealtimeUs());
  batch.lookups.insert(batch.lookups.end(), entry, entry + kLookupEntryBytes);
  made_.fetch_add(1, std::memory_order_relaxed);
  if (status == 0) {
    found_.fetch_add(1, std::memory_order_relaxed);
  } else if (reused) {
    failed_reused_.fetch_add(1, std::memory_order_relaxed);
  } else {
    failed_[status > 0 && status < kErrnoSlots ? status : 0].fetch_add(1, std::memory_order_relaxed);
  }
  time_ns_.fetch_add(MonotonicNs() - started, std::memory_order_relaxed);
}

SocketLookups::Entry SocketLookups::Acquire(uint32_t pid, uint64_t now, std::vector<uint8_t>* processes, int* err) {
  auto found = by_pid_.find(pid);
  if (found != by_pid_.end()) {
    Entry entry = found->second;
    entry->last_used_ns = now;
    lru_.splice(lru_.begin(), lru_, entry);
    return entry;
  }
  if (lru_.size() >= kMaxProcesses) Drop(std::prev(lru_.end()));
  int pidfd = PidfdOpen(static_cast<int>(pid));
  if (pidfd < 0 && (errno == EMFILE || errno == ENFILE)) {
    // Out of descriptors: give back the least recently used quarter and try once more.
    for (size_t n = lru_.size() / 4; n > 0 && !lru_.empty(); --n) Drop(std::prev(lru_.end()));
    pidfd = PidfdOpen(static_cast<int>(pid));
  }
  if (pidfd < 0) {
    *err = errno;
    return lru_.end();
  }
  int64_t start = 0;
  int start_err = PidfdStartBootNs(pidfd, static_cast<int>(pid), &start);
  if (start_err != 0) {
    close(pidfd);
    *err = start_err;
    return lru_.end();
  }
  pidfds_opened_.fetch_add(1, std::memory_order_relaxed);
  lru_.push_front(Process{pid, pidfd, start, now, {}});
  by_pid_[pid] = lru_.begin();
  ReadProcess(lru_.front(), processes);
  return lru_.begin();
}

void SocketLookups::ReadProcess(const Process& process, std::vector<uint8_t>* processes) {
  uint64_t started = MonotonicNs();
  char cgroup[kCgroupMaxBytes];
  size_t length = 0;
  int status = ReadProcessCgroup(process.pidfd, static_cast<int>(process.pid), process.start_boot_ns, cgroup, &length);
  // Sent even when the cgroup was not read: the start tells JavaScript that the pid is another
  // process's now, so an older read of the pid is not given to this one's flows.
  uint8_t header[kProcessReadHeaderBytes] = {};
  Put(header, 0, process.pid);
  Put(header, 4, static_cast<uint16_t>(status == 0 ? length : 0));
  Put(header, 6, static_cast<uint16_t>(status));
  Put(header, 8, static_cast<double>(StartTicks(process.start_boot_ns)));
  Put(header, 16, RealtimeUs());
  processes->insert(processes->end(), header, header + kProcessReadHeaderBytes);
  if (status == 0) processes->insert(processes->end(), cgroup, cgroup + length);
  std::atomic<uint64_t>& counter = status == 0 ? cgroups_read_ : status == E2BIG ? cgroups_cut_ : status == ESRCH ? cgroups_gone_ : cgroups_failed_;
  counter.fetch_add(1, std::memory_order_relaxed);
  cgroups_time_ns_.fetch_add(MonotonicNs() - started, std::memory_order_relaxed);
}

bool SocketLookups::StartedAfter(const Process& process, const SyscallFields& fields) const {
  return StartedAfterEvent(process.start_boot_ns, boot_realtime_ns_, fields.time_ms);
}

void SocketLookups::Drop(Entry entry) {
  close(entry->pidfd);
  pidfds_closed_.fetch_add(1, std::memory_order_relaxed);
  socket_entries_ -= entry->sockets.size();
  by_pid_.erase(entry->pid);
  lru_.erase(entry);
}

void SocketLookups::Remember(Process& process, int32_t fd, Kind kind) {
  // A full table forgets the sockets of the least recently used processes first.
  for (auto it = lru_.rbegin(); socket_entries_ >= kMaxSocketEntries && it != lru_.rend(); ++it) {
    socket_entries_ -= it->sockets.size();
    it->sockets.clear();
  }
  auto inserted = process.sockets.insert_or_assign(fd, kind);
  if (inserted.second) socket_entries_ += 1;
}

void SocketLookups::Sweep() {
  if (lru_.empty()) return;
  uint64_t now = MonotonicNs();
  std::vector<pollfd> fds;
  std::vector<Entry> entries;
  fds.reserve(lru_.size());
  entries.reserve(lru_.size());
  for (Entry it = lru_.begin(); it != lru_.end(); ++it) {
    fds.push_back({it->pidfd, POLLIN, 0});
    entries.push_back(it);
  }
  // One poll(2) over every kept pidfd: POLLIN once its process exited (pidfd_open(2)).
  bool polled = poll(fds.data(), fds.size(), 0) >= 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    bool exited = polled && (fds[i].revents & (POLLIN | POLLHUP)) != 0;
    if (exited || now - entries[i]->last_used_ns > kIdleNs) Drop(entries[i]);
  }
}

Napi::Object SocketLookups::Stats(Napi::Env env) const {
  auto number = [&env](const std::atomic<uint64_t>& counter) {
    return Napi::Number::New(env, static_cast<double>(counter.load(std::memory_order_relaxed)));
  };
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("made", number(made_));
  stats.Set("found", number(found_));
  stats.Set("timeNs", number(time_ns_));
  Napi::Object skipped = Napi::Object::New(env);
  skipped.Set("self", number(skipped_self_));
  skipped.Set("family", number(skipped_family_));
  skipped.Set("sockaddr", number(skipped_sockaddr_));
  skipped.Set("behind", number(skipped_behind_));
  skipped.Set("noFd", number(skipped_no_fd_));
  skipped.Set("reused", number(skipped_reused_));
  skipped.Set("replaced", number(skipped_replaced_));
  stats.Set("skipped", skipped);
  Napi::Object failed = Napi::Object::New(env);
  for (int err = 0; err < kErrnoSlots; ++err) {
    uint64_t count = failed_[err].load(std::memory_order_relaxed);
    if (count != 0) failed.Set(err == 0 ? "other" : uv_err_name(-err), Napi::Number::New(env, static_cast<double>(count)));
  }
  if (failed_reused_.load(std::memory_order_relaxed) != 0) failed.Set("reused", number(failed_reused_));
  stats.Set("failed", failed);
  Napi::Object pidfds = Napi::Object::New(env);
  pidfds.Set("opened", number(pidfds_opened_));
  pidfds.Set("reopened", number(pidfds_reopened_));
  pidfds.Set("closed", number(pidfds_closed_));
  stats.Set("pidfds", pidfds);
  Napi::Object cgroups = Napi::Object::New(env);
  cgroups.Set("read", number(cgroups_read_));
  cgroups.Set("cut", number(cgroups_cut_));
  cgroups.Set("gone", number(cgroups_gone_));
  cgroups.Set("failed", number(cgroups_failed_));
  cgroups.Set("timeNs", number(cgroups_time_ns_));
  stats.Set("cgroups", cgroups);
  return stats;
}

}  // namespace auditflow

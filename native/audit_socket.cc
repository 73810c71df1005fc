#include "audit_socket.h"

#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "errno_error.h"
#include "framing.h"
#include "options.h"

namespace auditflow {

namespace {

// Datagrams per recvmmsg(2) call and the largest datagram we accept. An audit record is at
// most MAX_AUDIT_MESSAGE_LENGTH (8970) bytes of text (auditd's libaudit.h); rule list
// replies are bigger (struct audit_rule_data plus up to 64 strings), so leave room.
constexpr unsigned kSlots = 32;
constexpr size_t kSlotBytes = 64 * 1024;
// Reads per poll(2) wake-up before the stop flag is checked again.
constexpr int kReadsPerWake = 64;
// How long the reader reads past the bound for a request's ACK: AuditControl's default timeout.
constexpr uint64_t kAckWaitNs = 5ull * 1000 * 1000 * 1000;
// How often the lookup thread closes the pidfds of exited and idle processes.
constexpr uint64_t kSweepNs = 1000ull * 1000 * 1000;
// Lookups fall behind when more than this much waits for the lookup thread (at most a quarter of the queue).
constexpr size_t kBehindBytes = 4 * 1024 * 1024;
// The reader and lookup threads run at nice -4 when allowed (CAP_SYS_NICE), as auditd does with its
// default priority_boost = 4 (auditd.conf(5)): under load, a lookup made a scheduling slice late
// finds a short-lived socket already closed.
constexpr int kThreadNice = -4;

// Names the thread (top -H, /proc/<pid>/task/<tid>/comm; the benchmark splits CPU by it) and
// raises its priority. Names are at most 15 bytes (TASK_COMM_LEN, pthread_setname_np(3)).
void StartThread(const char* name) {
  pthread_setname_np(pthread_self(), name);
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kThreadNice) != 0) {
    // Without CAP_SYS_NICE the thread keeps the process's priority; nothing else changes.
  }
}

// Requests being sent by any AuditSocket of this process (control sockets are AuditSockets too).
// While one is inside sendto, every reader reads past its bound: see WaitForRoom.
std::atomic<int> g_sends_in_flight{0};
// How long send() waits for a stopped reader to empty the socket buffer before a request.
constexpr auto kDrainWait = std::chrono::milliseconds(100);
// How long the reader stays stopped on a full queue before it reads and drops (see WaitForRoom).
constexpr uint64_t kMaxStopNs = 80ull * 1000 * 1000;
// How often a stopped reader looks at g_sends_in_flight of other sockets.
constexpr auto kStoppedRecheck = std::chrono::milliseconds(10);



// lookupCalls: a Uint32Array of (audit arch, syscall number, kind) triples.
std::vector<LookupCall> ReadLookupCalls(Napi::Env env, const Napi::Object& options) {
  std::vector<LookupCall> calls;
  Napi::Value value = options.Get("lookupCalls");
  if (value.IsUndefined() || value.IsNull()) return calls;
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    throw Napi::TypeError::New(env, "lookupCalls must be a Uint32Array of (arch, syscall, kind) triples");
  }
  Napi::Uint32Array words = value.As<Napi::Uint32Array>();
  if (words.ElementLength() % 3 != 0) throw Napi::RangeError::New(env, "lookupCalls holds triples");
  for (size_t i = 0; i < words.ElementLength(); i += 3) {
    if (words[i + 2] > kFdInExit) throw Napi::RangeError::New(env, "a lookupCalls kind is 0, 1 or 2");
    calls.push_back({words[i], words[i + 1], words[i + 2]});
  }
  return calls;
}

}  // namespace

Napi::Function AuditSocket::Init(Napi::Env env) {
  std::vector<Napi::ClassPropertyDescriptor<AuditSocket>> methods = LifecycleMethods();
  methods.push_back(InstanceMethod<&AuditSocket::Send>("send"));
  methods.push_back(InstanceMethod<&AuditSocket::Stats>("stats"));
  methods.push_back(InstanceAccessor<&AuditSocket::PortId>("portId"));
  methods.push_back(InstanceAccessor<&AuditSocket::ReceiveBufferSize>("receiveBufferSize"));
  return DefineClass(env, "AuditSocket", methods);
}

// new AuditSocket({ mode, rcvbuf, maxBatchRecords, maxQueueBytes, lookupCalls, selfPid }, onBatch, onClosed)
AuditSocket::AuditSocket(const Napi::CallbackInfo& info) : ReaderThread<AuditSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env, "new AuditSocket(options, onBatch, onClosed)");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  std::string mode = options.Get("mode").IsString() ? options.Get("mode").As<Napi::String>().Utf8Value() : "unicast";
  if (mode != "unicast" && mode != "multicast") {
    throw Napi::TypeError::New(env, "mode must be 'unicast' or 'multicast'");
  }
  int rcvbuf = ReadInt(options, "rcvbuf", 0);
  max_batch_records_ = static_cast<size_t>(ReadInt(options, "maxBatchRecords", 4096));
  max_queue_bytes_ = static_cast<size_t>(ReadInt(options, "maxQueueBytes", 32 * 1024 * 1024));
  if (max_batch_records_ == 0 || max_queue_bytes_ == 0) {
    throw Napi::RangeError::New(env, "maxBatchRecords and maxQueueBytes must be positive");
  }
  behind_bytes_ = std::min(max_queue_bytes_ / 4, kBehindBytes);
  std::vector<LookupCall> calls = ReadLookupCalls(env, options);
  lookups_enabled_ = !calls.empty();
  // Only the lookup thread can fire a deferred wake (the reader sleeps in recv): without lookups,
  // every batch is delivered at once.
  if (lookups_enabled_) delivery_delay_ns_ = static_cast<uint64_t>(ReadInt(options, "deliveryDelayMs", 0)) * 1000 * 1000;
  lookups_ = std::make_unique<SocketLookups>(std::move(calls), static_cast<uint32_t>(ReadInt(options, "selfPid", 0)));

  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd_ < 0) throw ErrnoError(env, errno, "socket");

  if (rcvbuf > 0) {
    // SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN; without it, fall back
    // to SO_RCVBUF, which the kernel caps at rmem_max (socket(7)).
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
      int err = errno;
      close(fd_);
      throw ErrnoError(env, err, "setsockopt");
    }
  }
  socklen_t optlen = sizeof receive_buffer_size_;
  getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_size_, &optlen);

  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  // Multicast readers join AUDIT_NLGRP_READLOG (include/uapi/linux/audit.h); the
  // kernel checks CAP_AUDIT_READ on bind.
  if (mode == "multicast") local.nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    int err = errno;
    close(fd_);
    throw ErrnoError(env, err, "bind");
  }
  socklen_t local_length = sizeof local;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &local_length) == 0) port_id_ = local.nl_pid;

  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    int err = errno;
    close(fd_);
    throw ErrnoError(env, err, "eventfd");
  }

  StartReader(env, info[1].As<Napi::Function>(), info[2].As<Napi::Function>(), "auditflow.AuditSocket");
  if (lookups_enabled_) lookup_thread_ = std::thread(&AuditSocket::LookupLoop, this);
}

AuditSocket::~AuditSocket() { Shutdown(); }

void AuditSocket::OnStopping() {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  room_cv_.notify_all();
}

void AuditSocket::OnReaderJoined() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    reader_done_ = true;
    stage_cv_.notify_all();
  }
  if (lookup_thread_.joinable()) lookup_thread_.join();
}

void AuditSocket::ReaderLoop() {
  StartThread("af-audit-read");
  std::vector<uint8_t> buffer(kSlots * kSlotBytes);
  mmsghdr messages[kSlots];
  iovec vectors[kSlots];
  Batch pending;
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};

  while (WaitForRoom()) {
    int ready = poll(fds, 2, 1000);
    if (ready < 0) {
      if (errno == EINTR) continue;
      ReportFatal(pending, errno, "poll");
      return;
    }
    if (stopping_.load()) break;
    if (ready == 0 || !(fds[0].revents & (POLLIN | POLLERR))) continue;

    for (int reads = 0; reads < kReadsPerWake; ++reads) {
      for (unsigned i = 0; i < kSlots; ++i) {
        vectors[i] = {buffer.data() + i * kSlotBytes, kSlotBytes};
        std::memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
      }
      int received = recvmmsg(fd_, messages, kSlots, MSG_DONTWAIT, nullptr);
      if (received < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          {
            std::lock_guard<std::mutex> lock(queue_mutex_);
            drained_epoch_ += 1;
          }
          drained_cv_.notify_all();
          break;
        }
        // ENOBUFS: the socket buffer overflowed and the kernel dropped datagrams
        // (netlink(7)). Count it; the socket stays usable.
        if (errno == ENOBUFS) {
          enobufs_.fetch_add(1);
          continue;
        }
        ReportFatal(pending, errno, "recvmmsg");
        return;
      }
      bool room = true;
      for (int i = 0; i < received; ++i) {
        const uint8_t* datagram = buffer.data() + static_cast<size_t>(i) * kSlotBytes;
        size_t length = messages[i].msg_len;
        if (messages[i].msg_hdr.msg_flags & MSG_TRUNC) truncated_.fetch_add(1);
        datagrams_.fetch_add(1);
        FramingResult framed = FrameDatagram(datagram, length);
        if (framed.malformed) malformed_.fetch_add(1);
        for (const FramedMessage& message : framed.messages) {
          if (message.type == NLMSG_ERROR) {
            std::lock_guard<std::mutex> lock(queue_mutex_);
            ForgetAckLocked(message.seq);
          }
          uint32_t offset = static_cast<uint32_t>(pending.data.size());
          pending.data.insert(pending.data.end(), datagram + message.payload_offset,
                              datagram + message.payload_offset + message.payload_length);
          pending.meta.insert(pending.meta.end(), {message.type, message.flags, message.seq, message.pid, offset,
                                                   static_cast<uint32_t>(message.payload_length)});
          pending.records += 1;
          records_.fetch_add(1);
          bytes_.fetch_add(message.payload_length);
          if (pending.records >= max_batch_records_) room = Submit(pending) && room;
        }
      }
      // Each read is handed on at once, so the lookup thread sees a record microseconds after it
      // was read, not after up to kReadsPerWake reads.
      room = Submit(pending) && room;
      if (!room || received < static_cast<int>(kSlots)) break;
    }
  }
  Submit(pending);
}

// The queue is bounded in bytes: while it holds max_queue_bytes_ the reader does not read. The
// kernel then keeps the records: first in this socket's buffer, then in its backlog (backlog_limit),
// and audited processes wait in audit_log_start up to backlog_wait_time. kauditd waits at most
// 100 ms for room in this socket (sk_sndtimeo = HZ / 10, kernel/audit.c audit_net_init), then
// reports ENOBUFS here and parks records in its retry queue (backlog_limit of them); what it drops
// is counted in its `lost` (docs/flows.md, "When the reader's queue is full"). Two exceptions, where the reader reads past the bound:
// - while any AuditSocket of this process is inside sendto: a request sent while the backlog is over
//   its limit makes the sender (the JavaScript thread) sleep in audit_receive (kernel/audit.c) until
//   kauditd has drained the backlog or backlog_wait_time passed, and kauditd drains only while this
//   thread reads; JavaScript, asleep, would take no batch to free the queue;
// - while a request sent on this socket with NLM_F_ACK awaits its ACK (at most kAckWaitNs): the
//   kernel sends ACKs without waiting (netlink_ack, MSG_DONTWAIT), so an ACK meeting a full socket
//   buffer would be dropped.
// Replies with data (AUDIT_GET, rule lists) are sent by kernel threads that wait for room, so they
// arrive once JavaScript has taken batches.
// The stop lasts at most kMaxStopNs, under kauditd's 100 ms: past it kauditd gives up on records
// (retry queue, then after repeated timeouts its hold queue, which a kernel booted without audit=1
// empties without counting: measured, a 1 s stop lost 31 connects with `lost` +1). So a longer
// stall makes the reader read again and drop what the full queue cannot take, counted in
// droppedRecords, until JavaScript has taken batches.
bool AuditSocket::WaitForRoom() {
  std::unique_lock<std::mutex> lock(queue_mutex_);
  if (HasRoomLocked()) {
    overflowing_ = false;
    return !stopping_.load();
  }
  if (overflowing_) return !stopping_.load();
  pauses_.fetch_add(1);
  uint64_t deadline = MonotonicNs() + kMaxStopNs;
  while (!stopping_.load() && !HasRoomLocked()) {
    if (MonotonicNs() >= deadline) {
      overflowing_ = true;
      break;
    }
    room_cv_.wait_for(lock, kStoppedRecheck);
  }
  return !stopping_.load();
}

// Keeps only the control messages (below AUDIT_FIRST_USER_MSG: ACKs, replies) of a batch the full
// queue cannot take; the kernel's records are counted as dropped.
void AuditSocket::DropRecordsLocked(Batch& batch) {
  Batch kept;
  kept.fatal_errno = batch.fatal_errno;
  kept.fatal_syscall = batch.fatal_syscall;
  for (size_t i = 0; i < batch.meta.size(); i += kMetaWords) {
    if (batch.meta[i] >= AUDIT_FIRST_USER_MSG) {
      dropped_records_.fetch_add(1);
      continue;
    }
    uint32_t offset = static_cast<uint32_t>(kept.data.size());
    kept.data.insert(kept.data.end(), batch.data.begin() + batch.meta[i + 4], batch.data.begin() + batch.meta[i + 4] + batch.meta[i + 5]);
    kept.meta.insert(kept.meta.end(), {batch.meta[i], batch.meta[i + 1], batch.meta[i + 2], batch.meta[i + 3], offset, batch.meta[i + 5]});
    kept.records += 1;
  }
  batch = std::move(kept);
}

bool AuditSocket::HasRoomLocked() {
  if (queued_bytes_ < max_queue_bytes_ || g_sends_in_flight.load() > 0) return true;
  uint64_t now = MonotonicNs();
  awaiting_ack_.erase(std::remove_if(awaiting_ack_.begin(), awaiting_ack_.end(),
                                     [now](const std::pair<uint32_t, uint64_t>& ack) { return ack.second < now; }),
                      awaiting_ack_.end());
  return !awaiting_ack_.empty();
}

void AuditSocket::ForgetAckLocked(uint32_t seq) {
  awaiting_ack_.erase(std::remove_if(awaiting_ack_.begin(), awaiting_ack_.end(),
                                     [seq](const std::pair<uint32_t, uint64_t>& ack) { return ack.first == seq; }),
                      awaiting_ack_.end());
}

bool AuditSocket::Submit(Batch& pending) {
  if (pending.records == 0 && pending.fatal_errno == 0) return true;
  auto batch = std::make_unique<Batch>(std::move(pending));
  pending = Batch();
  std::lock_guard<std::mutex> lock(queue_mutex_);
  if (overflowing_ && !HasRoomLocked()) {
    DropRecordsLocked(*batch);
    if (batch->records == 0 && batch->fatal_errno == 0) return false;
  }
  size_t size = batch->Bytes();
  queued_bytes_ += size;
  if (lookups_enabled_) {
    stage_bytes_ += size;
    stage_.push_back(std::move(batch));
    stage_cv_.notify_one();
  } else {
    EnqueueLocked(std::move(batch));
  }
  return HasRoomLocked();
}

// The lookup thread: takes what the reader read, in order, attaches the lookups of its SYSCALL
// records and queues it for JavaScript. When more than behind_bytes_ wait behind the records it took,
// it makes no lookups for them (counted): it would rather be late with lookups than hold the queue
// and so, through the bound, the reader.
void AuditSocket::LookupLoop() {
  StartThread("af-lookup");
  std::unique_lock<std::mutex> lock(queue_mutex_);
  uint64_t last_sweep = MonotonicNs();
  for (;;) {
    std::chrono::nanoseconds wait = std::chrono::seconds(1);
    if (deferred_since_ != 0) {
      uint64_t now = MonotonicNs();
      uint64_t due = deferred_since_ + delivery_delay_ns_;
      if (now >= due) WakeLocked();
      else wait = std::chrono::nanoseconds(due - now);
    }
    stage_cv_.wait_for(lock, wait, [this] { return !stage_.empty() || reader_done_ || (deferred_since_ != 0 && MonotonicNs() >= deferred_since_ + delivery_delay_ns_); });
    std::unique_ptr<Batch> batch;
    bool behind = false;
    if (!stage_.empty()) {
      batch = std::move(stage_.front());
      stage_.pop_front();
      stage_bytes_ -= batch->Bytes();
      behind = stage_bytes_ > behind_bytes_;
    } else if (reader_done_) {
      if (deferred_since_ != 0) WakeLocked();
      return;
    }
    lock.unlock();
    if (batch) lookups_->Run(*batch, behind);
    uint64_t now = MonotonicNs();
    if (now - last_sweep >= kSweepNs) {
      lookups_->Sweep();
      last_sweep = now;
    }
    lock.lock();
    if (batch) {
      queued_bytes_ += batch->lookups.size() + batch->processes.size();
      EnqueueLocked(std::move(batch));
    }
  }
}

// Moves a batch into the queue and wakes JavaScript if it is not already due to run. While
// JavaScript is busy, new records are appended to the last queued batch, so a stalled loop gets
// fewer, larger batches instead of one call per wake-up.
void AuditSocket::EnqueueLocked(std::unique_ptr<Batch> batch) {
  if (batch->fatal_errno != 0) {
    fatal_errno_ = batch->fatal_errno;
    fatal_syscall_ = batch->fatal_syscall;
  }
  if (batch->records > 0) {
    Batch* back = queue_.empty() ? nullptr : queue_.back().get();
    if (back != nullptr && back->records + batch->records <= max_batch_records_) {
      uint32_t base = static_cast<uint32_t>(back->data.size());
      uint32_t first = static_cast<uint32_t>(back->records);
      back->data.insert(back->data.end(), batch->data.begin(), batch->data.end());
      for (size_t i = 0; i < batch->meta.size(); i += kMetaWords) {
        back->meta.insert(back->meta.end(), {batch->meta[i], batch->meta[i + 1], batch->meta[i + 2],
                                             batch->meta[i + 3], batch->meta[i + 4] + base, batch->meta[i + 5]});
      }
      // Each lookup entry starts with its record's index in the batch (socket-lookups.ts).
      for (size_t at = 0; at < batch->lookups.size(); at += kLookupEntryBytes) {
        uint32_t record;
        std::memcpy(&record, batch->lookups.data() + at, sizeof record);
        record += first;
        std::memcpy(batch->lookups.data() + at, &record, sizeof record);
      }
      back->lookups.insert(back->lookups.end(), batch->lookups.begin(), batch->lookups.end());
      back->processes.insert(back->processes.end(), batch->processes.begin(), batch->processes.end());
      back->records += batch->records;
    } else {
      queue_.push_back(std::move(batch));
    }
  }
  if (wake_pending_ || (queue_.empty() && fatal_errno_ == 0)) return;
  // A deferred wake waits for more records (LookupLoop fires it when due), unless an error must be
  // told, the queue holds a full batch, or the reader stopped on the bound (JavaScript must make room).
  bool defer = delivery_delay_ns_ > 0 && fatal_errno_ == 0 && QueuedRecordsLocked() < max_batch_records_ && queued_bytes_ < max_queue_bytes_ / 2;
  if (!defer) {
    WakeLocked();
  } else if (deferred_since_ == 0) {
    deferred_since_ = MonotonicNs();
  }
}

void AuditSocket::WakeLocked() {
  deferred_since_ = 0;
  if (wake_pending_) return;
  wake_pending_ = true;
  CallDeliver();
}

size_t AuditSocket::QueuedRecordsLocked() const {
  size_t records = 0;
  for (const std::unique_ptr<Batch>& batch : queue_) records += batch->records;
  return records;
}

void AuditSocket::ReportFatal(Batch& pending, int err, const char* syscall) {
  pending.fatal_errno = err;
  pending.fatal_syscall = syscall;
  Submit(pending);
}

// Runs on the JavaScript thread: onBatch(data, meta, error, lookups, processes) once per queued batch. Taking
// the batches frees their room in the queue: a reader stopped by the bound reads again.
void AuditSocket::Deliver(Napi::Env env, Napi::Function onBatch) {
  std::deque<std::unique_ptr<Batch>> batches;
  int fatal_errno;
  const char* fatal_syscall;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    batches.swap(queue_);
    for (const std::unique_ptr<Batch>& batch : batches) queued_bytes_ -= batch->Bytes();
    wake_pending_ = false;
    fatal_errno = fatal_errno_;
    fatal_syscall = fatal_syscall_;
    fatal_errno_ = 0;
  }
  room_cv_.notify_one();
  for (std::unique_ptr<Batch>& owned : batches) {
    Napi::HandleScope scope(env);
    Batch* batch = owned.release();
    batches_.fetch_add(1);
    Napi::Value lookups = env.Null();
    if (!batch->lookups.empty()) {
      lookups = Napi::Buffer<uint8_t>::Copy(env, batch->lookups.data(), batch->lookups.size());
      batch->lookups = std::vector<uint8_t>();
    }
    Napi::Value processes = env.Null();
    if (!batch->processes.empty()) {
      processes = Napi::Buffer<uint8_t>::Copy(env, batch->processes.data(), batch->processes.size());
      batch->processes = std::vector<uint8_t>();
    }
    Napi::Uint32Array meta = Napi::Uint32Array::New(env, batch->meta.size());
    std::memcpy(meta.Data(), batch->meta.data(), batch->meta.size() * sizeof(uint32_t));
    batch->meta = std::vector<uint32_t>();
    Napi::Buffer<uint8_t> data;
    if (batch->data.empty()) {
      // A batch of empty payloads (an NLMSG_DONE alone): V8 treats a zero-length external
      // buffer as detached, so hand over an ordinary empty one.
      delete batch;
      data = Napi::Buffer<uint8_t>::New(env, 0);
    } else {
      // Hand the payload bytes over without copying; the Buffer owns the batch from here.
      data = Napi::Buffer<uint8_t>::New(
          env, batch->data.data(), batch->data.size(), [](Napi::Env, uint8_t*, Batch* owner) { delete owner; }, batch);
    }
    onBatch.Call({data, meta, env.Null(), lookups, processes});
  }
  if (fatal_errno != 0) {
    onBatch.Call({env.Null(), env.Null(), ErrnoError(env, fatal_errno, fatal_syscall).Value(), env.Null(), env.Null()});
  }
}

// send(type, payload, flags) → seq. NLM_F_REQUEST is always set; the reply arrives on
// the read path and is matched by seq in TypeScript.
Napi::Value AuditSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw ErrnoError(env, EBADF, "sendto");
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "send(type, payload: Buffer, flags)");
  }
  uint16_t type = static_cast<uint16_t>(info[0].As<Napi::Number>().Uint32Value());
  Napi::Buffer<uint8_t> payload = info[1].As<Napi::Buffer<uint8_t>>();
  uint16_t flags = static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value());

  std::vector<uint8_t> message(NLMSG_SPACE(payload.Length()), 0);
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(payload.Length()));
  header.nlmsg_type = type;
  header.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  header.nlmsg_seq = next_seq_.fetch_add(1);
  std::memcpy(message.data(), &header, sizeof header);
  if (payload.Length() > 0) std::memcpy(message.data() + NLMSG_HDRLEN, payload.Data(), payload.Length());

  bool acked = (flags & NLM_F_ACK) != 0;
  if (acked) {
    // Registered before sendto, so the reader reads past the bound (see WaitForRoom). When it had
    // stopped, its socket buffer is full and the kernel's ACK, sent without waiting, would be dropped:
    // give the reader a moment (kDrainWait at most) to empty the buffer first.
    std::unique_lock<std::mutex> lock(queue_mutex_);
    awaiting_ack_.emplace_back(header.nlmsg_seq, MonotonicNs() + kAckWaitNs);
    bool stopped = queued_bytes_ >= max_queue_bytes_;
    uint64_t epoch = drained_epoch_;
    room_cv_.notify_one();
    if (stopped) drained_cv_.wait_for(lock, kDrainWait, [this, epoch] { return drained_epoch_ != epoch || stopping_.load(); });
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  g_sends_in_flight.fetch_add(1);
  room_cv_.notify_one();
  do {
    sent = sendto(fd_, message.data(), header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  g_sends_in_flight.fetch_sub(1);
  if (sent < 0) {
    int err = errno;
    if (acked) {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      ForgetAckLocked(header.nlmsg_seq);
    }
    throw ErrnoError(env, err, "sendto");
  }
  return Napi::Number::New(env, header.nlmsg_seq);
}

Napi::Value AuditSocket::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("datagrams", Napi::Number::New(env, static_cast<double>(datagrams_.load())));
  stats.Set("records", Napi::Number::New(env, static_cast<double>(records_.load())));
  stats.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes_.load())));
  stats.Set("batches", Napi::Number::New(env, static_cast<double>(batches_.load())));
  stats.Set("enobufs", Napi::Number::New(env, static_cast<double>(enobufs_.load())));
  stats.Set("droppedRecords", Napi::Number::New(env, static_cast<double>(dropped_records_.load())));
  stats.Set("pauses", Napi::Number::New(env, static_cast<double>(pauses_.load())));
  stats.Set("lookups", lookups_->Stats(env));
  stats.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_.load())));
  stats.Set("malformed", Napi::Number::New(env, static_cast<double>(malformed_.load())));
  return stats;
}

Napi::Value AuditSocket::PortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_id_); }

Napi::Value AuditSocket::ReceiveBufferSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), receive_buffer_size_);
}

}  // namespace auditflow

// AuditSocket: one NETLINK_AUDIT socket, a reader thread that drains it into a queue bounded in
// bytes, a lookup thread that attaches the early socket lookups (socket_lookup.h) when JavaScript
// asked for them, and batches handed to JavaScript through a ThreadSafeFunction:
//   reader -> stage_ -> lookup thread -> queue_ -> Deliver (JavaScript thread)
// Without lookupCalls the reader fills queue_ directly.
#pragma once
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "batch.h"
#include "reader_thread.h"
#include "socket_lookup.h"

namespace auditflow {

class AuditSocket : public ReaderThread<AuditSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit AuditSocket(const Napi::CallbackInfo& info);
  ~AuditSocket() override;

 private:
  friend class ReaderThread<AuditSocket>;

  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value PortId(const Napi::CallbackInfo& info);
  Napi::Value ReceiveBufferSize(const Napi::CallbackInfo& info);

  void ReaderLoop();
  void LookupLoop();
  // Hands the reader's records on (to stage_ or queue_); false when the queue is now full.
  bool Submit(Batch& pending);
  // Blocks the reader while the queue is full; false once stopping.
  bool WaitForRoom();
  bool HasRoomLocked();
  void ForgetAckLocked(uint32_t seq);
  void DropRecordsLocked(Batch& batch);
  void EnqueueLocked(std::unique_ptr<Batch> batch);
  void ReportFatal(Batch& pending, int err, const char* syscall);
  void Deliver(Napi::Env env, Napi::Function onBatch);
  void WakeLocked();
  size_t QueuedRecordsLocked() const;
  // ReaderThread's hooks: a reader stopped on the bound waits on room_cv_; the lookup thread passes
  // on what the reader left, then ends.
  void OnStopping();
  void OnReaderJoined();

  uint32_t port_id_ = 0;
  int receive_buffer_size_ = 0;
  size_t max_batch_records_;
  size_t max_queue_bytes_;
  std::atomic<uint32_t> next_seq_{1};

  std::thread lookup_thread_;
  std::unique_ptr<SocketLookups> lookups_;
  bool lookups_enabled_ = false;

  // Guards everything down to fatal_syscall_. queued_bytes_ counts stage_ and queue_ together.
  std::mutex queue_mutex_;
  std::condition_variable room_cv_;   // the reader waits here while the queue is full
  std::condition_variable stage_cv_;  // the lookup thread waits here for records
  std::condition_variable drained_cv_;  // send() waits here for the reader to empty the socket buffer
  uint64_t drained_epoch_ = 0;          // reads that ended with EAGAIN (the socket buffer was empty)
  std::deque<std::unique_ptr<Batch>> stage_;
  size_t stage_bytes_ = 0;
  bool reader_done_ = false;
  std::deque<std::unique_ptr<Batch>> queue_;
  size_t queued_bytes_ = 0;
  size_t behind_bytes_;
  // Requests sent with NLM_F_ACK whose ACK was not read yet, with the time (CLOCK_MONOTONIC ns)
  // after which the reader stops waiting for it.
  std::vector<std::pair<uint32_t, uint64_t>> awaiting_ack_;
  // The reader stopped for kMaxStopNs and the queue is still full: it reads and drops.
  bool overflowing_ = false;
  bool wake_pending_ = false;
  // Delivery to JavaScript is deferred up to delivery_delay_ns_ after the first record queued since the
  // last wake (0: not deferred), so it takes batches of many events rather than one per wake-up.
  uint64_t delivery_delay_ns_ = 0;
  uint64_t deferred_since_ = 0;
  int fatal_errno_ = 0;
  const char* fatal_syscall_ = nullptr;

  std::atomic<uint64_t> datagrams_{0};
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> enobufs_{0};
  std::atomic<uint64_t> pauses_{0};
  std::atomic<uint64_t> dropped_records_{0};
  std::atomic<uint64_t> truncated_{0};
  std::atomic<uint64_t> malformed_{0};
};

}  // namespace auditflow

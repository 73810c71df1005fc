// AuditSocket: one NETLINK_AUDIT socket, a reader thread that drains it into a bounded
// queue, and batches handed to JavaScript through a ThreadSafeFunction.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace auditflow {

// Records read but not yet handed to JavaScript. meta holds kMetaWords words per record.
struct Batch {
  std::vector<uint8_t> data;
  std::vector<uint32_t> meta;
  size_t records = 0;
};

class AuditSocket : public Napi::ObjectWrap<AuditSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit AuditSocket(const Napi::CallbackInfo& info);
  ~AuditSocket() override;

 private:
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value JsRef(const Napi::CallbackInfo& info);
  Napi::Value JsUnref(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value PortId(const Napi::CallbackInfo& info);
  Napi::Value ReceiveBufferSize(const Napi::CallbackInfo& info);

  void ReaderLoop();
  void Flush(Batch& pending);
  void ReportFatal(int err, const char* syscall);
  void Deliver(Napi::Env env, Napi::Function onBatch);
  void Shutdown();
  static void OnEnvCleanup(void* self);

  int fd_ = -1;
  int wake_fd_ = -1;
  uint32_t port_id_ = 0;
  int receive_buffer_size_ = 0;
  size_t max_batch_records_;
  size_t max_queue_bytes_;
  std::atomic<uint32_t> next_seq_{1};

  Napi::ThreadSafeFunction deliver_;
  Napi::FunctionReference on_closed_;
  std::thread reader_;
  std::atomic<bool> stopping_{false};
  bool closed_ = false;

  std::mutex queue_mutex_;
  std::deque<std::unique_ptr<Batch>> queue_;
  size_t queued_bytes_ = 0;
  bool wake_pending_ = false;
  int fatal_errno_ = 0;
  const char* fatal_syscall_ = nullptr;

  std::atomic<uint64_t> datagrams_{0};
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> enobufs_{0};
  std::atomic<uint64_t> dropped_records_{0};
  std::atomic<uint64_t> truncated_{0};
  std::atomic<uint64_t> malformed_{0};
};

}  // namespace auditflow

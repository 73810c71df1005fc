// DnsCapture: one AF_PACKET socket (SOCK_DGRAM, so packets start at the network header) with a
// classic BPF filter that lets through only UDP and TCP packets from source port 53, IPv4 and IPv6;
// a reader thread drains it into a queue bounded in bytes, and JavaScript takes batches through a
// ThreadSafeFunction: one Buffer of packets and three meta words per packet. Needs CAP_NET_RAW.
// The packets are DNS answers as the host's interfaces carried them; src/dns/ reads them.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "reader_thread.h"

namespace auditflow {

// Per-packet words in a capture batch's meta: offset, length, interface index.
constexpr size_t kPacketMetaWords = 3;

struct PacketBatch {
  std::vector<uint8_t> data;
  std::vector<uint32_t> meta;
  size_t Bytes() const { return data.size() + meta.size() * sizeof(uint32_t); }
};

class DnsCapture : public ReaderThread<DnsCapture> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit DnsCapture(const Napi::CallbackInfo& info);
  ~DnsCapture() override;

 private:
  friend class ReaderThread<DnsCapture>;

  Napi::Value Stats(const Napi::CallbackInfo& info);

  void ReaderLoop();
  void ReadKernelDrops();
  void Submit(PacketBatch& pending);
  void Deliver(Napi::Env env, Napi::Function onBatch);

  size_t max_batch_packets_;
  size_t max_queue_bytes_;

  std::mutex queue_mutex_;
  std::deque<std::unique_ptr<PacketBatch>> queue_;
  size_t queued_bytes_ = 0;
  bool wake_pending_ = false;
  int fatal_errno_ = 0;
  const char* fatal_syscall_ = nullptr;

  std::atomic<uint64_t> packets_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> kernel_drops_{0};
  std::atomic<uint64_t> queue_drops_{0};
  std::atomic<uint64_t> truncated_{0};
  std::atomic<uint64_t> loopback_outgoing_{0};
};

}  // namespace auditflow

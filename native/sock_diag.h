// SockDiagSocket: a NETLINK_SOCK_DIAG socket bound to the destroy groups (a broadcast per destroyed
// TCP or UDP socket, IPv4 and IPv6) in the daemon's network namespace or in another one (opened
// through its /proc/<pid>/ns/net on a short-lived thread: sock_diag.cc), a reader thread that drains it into a queue bounded in bytes,
// and batches handed to JavaScript through a ThreadSafeFunction: one Buffer of whole netlink
// messages (header included) and two words per message (offset, length). A full queue drops what the
// reader read (counted); the kernel's own drops show as ENOBUFS (counted). And sockDiagDump(): the
// one-shot SOCK_DIAG_BY_FAMILY dump of the sockets that exist now.
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

class SockDiagSocket : public ReaderThread<SockDiagSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit SockDiagSocket(const Napi::CallbackInfo& info);
  ~SockDiagSocket() override;

 private:
  friend class ReaderThread<SockDiagSocket>;

  struct Messages {
    std::vector<uint8_t> data;
    std::vector<uint32_t> offsets;  // (offset, length) per message
    double received_us = 0;         // when they were read (RealtimeUs), all within one wake
  };

  Napi::Value Stats(const Napi::CallbackInfo& info);

  void ReaderLoop();
  void Submit(Messages& pending);
  void Deliver(Napi::Env env, Napi::Function onBatch);

  size_t max_queue_bytes_;

  std::mutex queue_mutex_;
  std::deque<std::unique_ptr<Messages>> queue_;
  size_t queued_bytes_ = 0;
  bool wake_pending_ = false;
  int fatal_errno_ = 0;

  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> enobufs_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> malformed_{0};
};

// sockDiagDump(family, protocol, timeoutMs) → { data: Buffer, offsets: Uint32Array, complete: boolean }
Napi::Value SockDiagDump(const Napi::CallbackInfo& info);

}  // namespace auditflow

#include "dns_capture.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "errno_error.h"
#include "options.h"

namespace auditflow {

namespace {

// Packets per recvmmsg(2) call, and the largest we read whole: a UDP datagram is at most 65,535
// bytes (RFC 768), an IP header before it at most 60 (IPv4) or 40 plus extensions (IPv6).
constexpr unsigned kSlots = 16;
constexpr size_t kSlotBytes = 65536 + 128;
// Reads per poll(2) wake-up before the stop flag is checked again.
constexpr int kReadsPerWake = 64;
// What the filter keeps of a packet it accepts (its return value is the snap length).
constexpr uint32_t kSnapBytes = 262144;

// The filter, classic BPF (Documentation/networking/filter.rst). A SOCK_DGRAM packet socket runs
// it on the packet from the network header on (net/packet/af_packet.c, packet_rcv), so offset 0
// is the IP header; the EtherType comes from the skb (SKF_AD_PROTOCOL, include/uapi/linux/filter.h).
// IPv4: UDP (17) or TCP (6), not a later fragment (a fragment offset: no transport header), source
// port 53 at the IHL (BPF_MSH: 4 * (byte 0 & 0xf)). IPv6: next header UDP or TCP, source port at 40.
// Loads past the packet's end make the kernel return 0: a truncated packet is not kept.
// Jump offsets count from the next instruction: jt/jf of 12 at index 4 goes to 17.
const sock_filter kDnsAnswerFilter[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
    /* 2 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 1, 0),
    /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 12),
    /* 5 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
    /* 6 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 10, 0),
    /* 7 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    /* 8 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),
    /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 53, 6, 7),
    /* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 6),
    /* 11 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
    /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 1, 0),
    /* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 3),
    /* 14 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 40),
    /* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 53, 0, 1),
    /* 16 */ BPF_STMT(BPF_RET | BPF_K, kSnapBytes),
    /* 17 */ BPF_STMT(BPF_RET | BPF_K, 0),
};


}  // namespace

Napi::Function DnsCapture::Init(Napi::Env env) {
  std::vector<Napi::ClassPropertyDescriptor<DnsCapture>> methods = LifecycleMethods();
  methods.push_back(InstanceMethod<&DnsCapture::Stats>("stats"));
  return DefineClass(env, "DnsCapture", methods);
}

// new DnsCapture({ rcvbuf, maxBatchPackets, maxQueueBytes }, onBatch, onClosed)
DnsCapture::DnsCapture(const Napi::CallbackInfo& info) : ReaderThread<DnsCapture>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env, "new DnsCapture(options, onBatch, onClosed)");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  int rcvbuf = ReadInt(options, "rcvbuf", 0);
  int max_batch = ReadInt(options, "maxBatchPackets", 1024);
  int max_queue = ReadInt(options, "maxQueueBytes", 8 * 1024 * 1024);
  if (max_batch <= 0 || max_queue <= 0) throw Napi::RangeError::New(env, "maxBatchPackets and maxQueueBytes must be positive");
  max_batch_packets_ = static_cast<size_t>(max_batch);
  max_queue_bytes_ = static_cast<size_t>(max_queue);

  // Protocol 0 receives nothing until bind names one (packet(7)): the filter is in place before the
  // first packet, so no unfiltered packet is ever queued on the socket.
  fd_ = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw ErrnoError(env, errno, "socket");
  auto fail = [this, env](const char* syscall) {
    int err = errno;
    close(fd_);
    fd_ = -1;
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
    throw ErrnoError(env, err, syscall);
  };
  sock_fprog program{static_cast<unsigned short>(sizeof kDnsAnswerFilter / sizeof kDnsAnswerFilter[0]), const_cast<sock_filter*>(kDnsAnswerFilter)};
  if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) < 0) fail("setsockopt");
  if (rcvbuf > 0 && setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
    fail("setsockopt");
  }
  sockaddr_ll local{};
  local.sll_family = AF_PACKET;
  local.sll_protocol = htons(ETH_P_ALL);
  local.sll_ifindex = 0;  // every interface of this network namespace
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) fail("bind");
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) fail("eventfd");

  StartReader(env, info[1].As<Napi::Function>(), info[2].As<Napi::Function>(), "auditflow.DnsCapture");
}

DnsCapture::~DnsCapture() { Shutdown(); }

// PACKET_STATISTICS (packet(7)): packets the kernel dropped for a full socket buffer since the last
// read; reading resets the counters, so the reader adds them up.
void DnsCapture::ReadKernelDrops() {
  tpacket_stats stats{};
  socklen_t length = sizeof stats;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0) kernel_drops_.fetch_add(stats.tp_drops);
}

void DnsCapture::ReaderLoop() {
  // Named as the audit reader's threads are (top -H; the benchmark splits the daemon's CPU by name).
  pthread_setname_np(pthread_self(), "af-dns-read");
  std::vector<uint8_t> buffer(kSlots * kSlotBytes);
  mmsghdr messages[kSlots];
  iovec vectors[kSlots];
  sockaddr_ll from[kSlots];
  PacketBatch pending;
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};

  auto last_drops_read = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    int ready = poll(fds, 2, 1000);
    // Once a second, not on every wake-up: a busy resolver wakes the reader thousands of times a second.
    auto now = std::chrono::steady_clock::now();
    if (now - last_drops_read >= std::chrono::seconds(1)) {
      ReadKernelDrops();
      last_drops_read = now;
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(queue_mutex_);
      fatal_errno_ = errno;
      fatal_syscall_ = "poll";
      break;
    }
    if (stopping_.load()) break;
    if (ready == 0 || !(fds[0].revents & (POLLIN | POLLERR))) continue;

    for (int reads = 0; reads < kReadsPerWake; ++reads) {
      for (unsigned i = 0; i < kSlots; ++i) {
        vectors[i] = {buffer.data() + i * kSlotBytes, kSlotBytes};
        std::memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &from[i];
        messages[i].msg_hdr.msg_namelen = sizeof from[i];
      }
      int received = recvmmsg(fd_, messages, kSlots, MSG_DONTWAIT, nullptr);
      if (received < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        std::lock_guard<std::mutex> lock(queue_mutex_);
        fatal_errno_ = errno;
        fatal_syscall_ = "recvmmsg";
        stopping_.store(true);
        break;
      }
      for (int i = 0; i < received; ++i) {
        // On loopback every packet passes the tap twice: leaving (PACKET_OUTGOING) and arriving
        // (PACKET_HOST). Keep the arrival. Other interfaces keep both: an answer this host sends
        // out (a resolver serving containers on a bridge) is seen only as outgoing there.
        if (from[i].sll_hatype == ARPHRD_LOOPBACK && from[i].sll_pkttype == PACKET_OUTGOING) {
          loopback_outgoing_.fetch_add(1);
          continue;
        }
        if (messages[i].msg_hdr.msg_flags & MSG_TRUNC) {
          truncated_.fetch_add(1);
          continue;
        }
        size_t length = messages[i].msg_len;
        const uint8_t* packet = buffer.data() + static_cast<size_t>(i) * kSlotBytes;
        uint32_t offset = static_cast<uint32_t>(pending.data.size());
        pending.data.insert(pending.data.end(), packet, packet + length);
        pending.meta.insert(pending.meta.end(), {offset, static_cast<uint32_t>(length), static_cast<uint32_t>(from[i].sll_ifindex)});
        packets_.fetch_add(1);
        bytes_.fetch_add(length);
        if (pending.meta.size() / kPacketMetaWords >= max_batch_packets_) Submit(pending);
      }
      Submit(pending);
      if (received < static_cast<int>(kSlots)) break;
    }
  }
  Submit(pending);
  ReadKernelDrops();
  std::lock_guard<std::mutex> lock(queue_mutex_);
  if (fatal_errno_ != 0 && !wake_pending_) {
    wake_pending_ = true;
    CallDeliver();
  }
}

// Queues a batch for JavaScript. The reader never waits: the kernel keeps answering programs while
// JavaScript is busy, and what the full queue cannot take is counted and dropped (queueDrops).
void DnsCapture::Submit(PacketBatch& pending) {
  if (pending.meta.empty()) return;
  auto batch = std::make_unique<PacketBatch>(std::move(pending));
  pending = PacketBatch();
  std::lock_guard<std::mutex> lock(queue_mutex_);
  if (queued_bytes_ + batch->Bytes() > max_queue_bytes_) {
    queue_drops_.fetch_add(batch->meta.size() / kPacketMetaWords);
    return;
  }
  queued_bytes_ += batch->Bytes();
  queue_.push_back(std::move(batch));
  if (wake_pending_) return;
  wake_pending_ = true;
  CallDeliver();
}

// Runs on the JavaScript thread: onBatch(data, meta, null) per queued batch, then (null, null,
// error) once if the reader failed; the reader reads nothing more after that.
void DnsCapture::Deliver(Napi::Env env, Napi::Function onBatch) {
  std::deque<std::unique_ptr<PacketBatch>> batches;
  int fatal_errno;
  const char* fatal_syscall;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    batches.swap(queue_);
    queued_bytes_ = 0;
    wake_pending_ = false;
    fatal_errno = fatal_errno_;
    fatal_syscall = fatal_syscall_;
    fatal_errno_ = 0;
  }
  for (std::unique_ptr<PacketBatch>& owned : batches) {
    Napi::HandleScope scope(env);
    batches_.fetch_add(1);
    Napi::Uint32Array meta = Napi::Uint32Array::New(env, owned->meta.size());
    std::memcpy(meta.Data(), owned->meta.data(), owned->meta.size() * sizeof(uint32_t));
    PacketBatch* batch = owned.release();
    // The packets are handed over without copying; the Buffer owns the batch from here.
    Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::New(
        env, batch->data.data(), batch->data.size(), [](Napi::Env, uint8_t*, PacketBatch* owner) { delete owner; }, batch);
    onBatch.Call({data, meta, env.Null()});
  }
  if (fatal_errno != 0) onBatch.Call({env.Null(), env.Null(), ErrnoError(env, fatal_errno, fatal_syscall).Value()});
}

Napi::Value DnsCapture::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object stats = Napi::Object::New(env);
  auto set = [&](const char* key, const std::atomic<uint64_t>& value) { stats.Set(key, Napi::Number::New(env, static_cast<double>(value.load()))); };
  set("packets", packets_);
  set("bytes", bytes_);
  set("batches", batches_);
  set("kernelDrops", kernel_drops_);
  set("queueDrops", queue_drops_);
  set("truncated", truncated_);
  set("loopbackOutgoing", loopback_outgoing_);
  return stats;
}

}  // namespace auditflow

#include "audit_socket.h"

#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errno_error.h"
#include "framing.h"

namespace auditflow {

namespace {

// Per-record words in Batch::meta: type, flags, seq, pid, payload offset, payload length.
constexpr size_t kMetaWords = 6;
// Datagrams per recvmmsg(2) call and the largest datagram we accept. An audit record is at
// most MAX_AUDIT_MESSAGE_LENGTH (8970) bytes of text (auditd's libaudit.h); rule list
// replies are bigger (struct audit_rule_data plus up to 64 strings), so leave room.
constexpr unsigned kSlots = 32;
constexpr size_t kSlotBytes = 64 * 1024;
// Reads per poll(2) wake-up before the stop flag is checked again.
constexpr int kReadsPerWake = 64;

int ReadInt(const Napi::Object& options, const char* key, int fallback) {
  Napi::Value value = options.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().Int32Value() : fallback;
}

}  // namespace

Napi::Function AuditSocket::Init(Napi::Env env) {
  return DefineClass(env, "AuditSocket",
                     {
                         InstanceMethod<&AuditSocket::Send>("send"),
                         InstanceMethod<&AuditSocket::Close>("close"),
                         InstanceMethod<&AuditSocket::JsRef>("ref"),
                         InstanceMethod<&AuditSocket::JsUnref>("unref"),
                         InstanceMethod<&AuditSocket::Stats>("stats"),
                         InstanceAccessor<&AuditSocket::PortId>("portId"),
                         InstanceAccessor<&AuditSocket::ReceiveBufferSize>("receiveBufferSize"),
                     });
}

// new AuditSocket({ mode, rcvbuf, maxBatchRecords, maxQueueBytes }, onBatch, onClosed)
AuditSocket::AuditSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AuditSocket>(info) {
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
  max_queue_bytes_ = static_cast<size_t>(ReadInt(options, "maxQueueBytes", 256 * 1024 * 1024));
  if (max_batch_records_ == 0 || max_queue_bytes_ == 0) {
    throw Napi::RangeError::New(env, "maxBatchRecords and maxQueueBytes must be positive");
  }

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

  on_closed_ = Napi::Persistent(info[2].As<Napi::Function>());
  deliver_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "auditflow.AuditSocket", 0, 1,
                                           [this](Napi::Env finalizeEnv) {
                                             Napi::HandleScope scope(finalizeEnv);
                                             Napi::FunctionReference on_closed = std::move(on_closed_);
                                             // During environment teardown (process exit with the
                                             // socket unref'd) JavaScript can no longer run; the
                                             // calls fail and there is nobody left to tell.
                                             try {
                                               // Last use of `this`: the wrapper may be collected now.
                                               Napi::ObjectWrap<AuditSocket>::Unref();
                                               on_closed.Call({});
                                             } catch (const Napi::Error&) {
                                             }
                                           });
  // The reader thread and queued deliveries use `this`, so the wrapper stays alive
  // until close() has run and the last batch was delivered (the finalizer above).
  Napi::ObjectWrap<AuditSocket>::Ref();
  napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
  reader_ = std::thread(&AuditSocket::ReaderLoop, this);
}

AuditSocket::~AuditSocket() { Shutdown(); }

void AuditSocket::OnEnvCleanup(void* self) { static_cast<AuditSocket*>(self)->Shutdown(); }

void AuditSocket::Shutdown() {
  if (closed_) return;
  closed_ = true;
  stopping_.store(true);
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
    // The eventfd cannot be full after one write; poll's timeout is the fallback anyway.
  }
  if (reader_.joinable()) reader_.join();
  close(fd_);
  close(wake_fd_);
  fd_ = -1;
  wake_fd_ = -1;
  // Batches already queued are still delivered; the finalizer (onClosed) runs after them.
  deliver_.Release();
}

void AuditSocket::ReaderLoop() {
  std::vector<uint8_t> buffer(kSlots * kSlotBytes);
  mmsghdr messages[kSlots];
  iovec vectors[kSlots];
  auto pending = std::make_unique<Batch>();
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};

  while (!stopping_.load()) {
    int ready = poll(fds, 2, 1000);
    if (ready < 0) {
      if (errno == EINTR) continue;
      ReportFatal(errno, "poll");
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
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        // ENOBUFS: the socket buffer overflowed and the kernel dropped datagrams
        // (netlink(7)). Count it; the socket stays usable.
        if (errno == ENOBUFS) {
          enobufs_.fetch_add(1);
          continue;
        }
        Flush(*pending);
        ReportFatal(errno, "recvmmsg");
        return;
      }
      for (int i = 0; i < received; ++i) {
        const uint8_t* datagram = buffer.data() + static_cast<size_t>(i) * kSlotBytes;
        size_t length = messages[i].msg_len;
        if (messages[i].msg_hdr.msg_flags & MSG_TRUNC) truncated_.fetch_add(1);
        datagrams_.fetch_add(1);
        FramingResult framed = FrameDatagram(datagram, length);
        if (framed.malformed) malformed_.fetch_add(1);
        for (const FramedMessage& message : framed.messages) {
          Batch& batch = *pending;
          uint32_t offset = static_cast<uint32_t>(batch.data.size());
          batch.data.insert(batch.data.end(), datagram + message.payload_offset,
                            datagram + message.payload_offset + message.payload_length);
          batch.meta.insert(batch.meta.end(), {message.type, message.flags, message.seq, message.pid, offset,
                                               static_cast<uint32_t>(message.payload_length)});
          batch.records += 1;
          records_.fetch_add(1);
          bytes_.fetch_add(message.payload_length);
          if (batch.records >= max_batch_records_) Flush(*pending);
        }
      }
      if (received < static_cast<int>(kSlots)) break;
    }
    Flush(*pending);
  }
  Flush(*pending);
}

// Moves the pending batch into the queue (or drops it, counted, when the queue is full)
// and wakes JavaScript if it is not already due to run. While JavaScript is busy, new
// records are appended to the last queued batch, so a stalled loop gets fewer, larger
// batches instead of one call per wake-up.
void AuditSocket::Flush(Batch& pending) {
  if (pending.records == 0) return;
  std::lock_guard<std::mutex> lock(queue_mutex_);
  size_t size = pending.data.size() + pending.meta.size() * sizeof(uint32_t);
  if (queued_bytes_ + size > max_queue_bytes_) {
    dropped_records_.fetch_add(pending.records);
  } else {
    queued_bytes_ += size;
    Batch* back = queue_.empty() ? nullptr : queue_.back().get();
    if (back != nullptr && back->records + pending.records <= max_batch_records_) {
      uint32_t base = static_cast<uint32_t>(back->data.size());
      back->data.insert(back->data.end(), pending.data.begin(), pending.data.end());
      for (size_t i = 0; i < pending.meta.size(); i += kMetaWords) {
        back->meta.insert(back->meta.end(), {pending.meta[i], pending.meta[i + 1], pending.meta[i + 2],
                                             pending.meta[i + 3], pending.meta[i + 4] + base, pending.meta[i + 5]});
      }
      back->records += pending.records;
    } else {
      queue_.push_back(std::make_unique<Batch>(std::move(pending)));
    }
    if (!wake_pending_) {
      wake_pending_ = true;
      deliver_.NonBlockingCall([this](Napi::Env env, Napi::Function onBatch) { Deliver(env, onBatch); });
    }
  }
  pending.data.clear();
  pending.meta.clear();
  pending.records = 0;
}

void AuditSocket::ReportFatal(int err, const char* syscall) {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  fatal_errno_ = err;
  fatal_syscall_ = syscall;
  if (!wake_pending_) {
    wake_pending_ = true;
    deliver_.NonBlockingCall([this](Napi::Env env, Napi::Function onBatch) { Deliver(env, onBatch); });
  }
}

// Runs on the JavaScript thread: onBatch(data, meta, error) once per queued batch.
void AuditSocket::Deliver(Napi::Env env, Napi::Function onBatch) {
  std::deque<std::unique_ptr<Batch>> batches;
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
  for (std::unique_ptr<Batch>& owned : batches) {
    Napi::HandleScope scope(env);
    Batch* batch = owned.release();
    batches_.fetch_add(1);
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
    onBatch.Call({data, meta, env.Null()});
  }
  if (fatal_errno != 0) {
    onBatch.Call({env.Null(), env.Null(), ErrnoError(env, fatal_errno, fatal_syscall).Value()});
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

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(fd_, message.data(), header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw ErrnoError(env, errno, "sendto");
  return Napi::Number::New(env, header.nlmsg_seq);
}

Napi::Value AuditSocket::Close(const Napi::CallbackInfo& info) {
  if (!closed_) napi_remove_env_cleanup_hook(info.Env(), OnEnvCleanup, this);
  Shutdown();
  return info.Env().Undefined();
}

Napi::Value AuditSocket::JsRef(const Napi::CallbackInfo& info) {
  if (!closed_) deliver_.Ref(info.Env());
  return info.Env().Undefined();
}

Napi::Value AuditSocket::JsUnref(const Napi::CallbackInfo& info) {
  if (!closed_) deliver_.Unref(info.Env());
  return info.Env().Undefined();
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
  stats.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_.load())));
  stats.Set("malformed", Napi::Number::New(env, static_cast<double>(malformed_.load())));
  return stats;
}

Napi::Value AuditSocket::PortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_id_); }

Napi::Value AuditSocket::ReceiveBufferSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), receive_buffer_size_);
}

}  // namespace auditflow

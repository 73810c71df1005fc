#include "sock_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "clock.h"
#include "errno_error.h"

namespace auditflow {

namespace {

// One broadcast is one netlink message of a few hundred bytes (struct inet_diag_msg, tcp_info);
// a read takes one datagram, a dump reply datagram holds many messages (up to a page or so).
constexpr size_t kReadBytes = 64 * 1024;
// Reads per poll(2) wake-up before the stop flag is checked again.
constexpr int kReadsPerWake = 256;

uint64_t NowNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

// Appends the SOCK_DIAG_BY_FAMILY messages of one datagram, headers included. Returns false at
// NLMSG_DONE (a dump's end); *err is set by an NLMSG_ERROR with a non-zero error.
bool TakeMessages(const uint8_t* datagram, size_t length, std::vector<uint8_t>* data, std::vector<uint32_t>* offsets,
                  uint64_t* malformed, int* err) {
  int remaining = static_cast<int>(length);
  for (const nlmsghdr* header = reinterpret_cast<const nlmsghdr*>(datagram); remaining > 0; header = NLMSG_NEXT(header, remaining)) {
    if (!NLMSG_OK(header, remaining)) {
      *malformed += 1;
      return true;
    }
    if (header->nlmsg_type == NLMSG_DONE) return false;
    if (header->nlmsg_type == NLMSG_ERROR) {
      if (header->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
        const nlmsgerr* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
        if (error->error != 0) *err = -error->error;
      }
      return false;
    }
    if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
    offsets->push_back(static_cast<uint32_t>(data->size()));
    offsets->push_back(header->nlmsg_len);
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(header);
    data->insert(data->end(), bytes, bytes + header->nlmsg_len);
  }
  return true;
}

// The destroy socket: NETLINK_SOCK_DIAG bound to the four destroy groups, in the calling thread's
// network namespace. Returns the fd, or -errno with *failed naming the call.
int OpenDestroySocket(int rcvbuf, const char** failed) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) {
    *failed = "socket";
    return -errno;
  }
  auto fail = [fd, failed](const char* syscall) {
    int err = errno;
    close(fd);
    *failed = syscall;
    return -err;
  };
  // SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN (which binding the groups needs anyway).
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
    return fail("setsockopt");
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  // enum sknetlink_groups (include/uapi/linux/sock_diag.h): group g is bit g - 1 of nl_groups.
  // The kernel refuses the bind without CAP_NET_ADMIN in the user namespace that owns the socket's
  // network namespace (netlink_bind → netlink_allowed, net/netlink/af_netlink.c).
  for (int group : {SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET_UDP_DESTROY, SKNLGRP_INET6_TCP_DESTROY, SKNLGRP_INET6_UDP_DESTROY}) {
    local.nl_groups |= 1u << (group - 1);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) return fail("bind");
  return fd;
}

// The destroy socket of another network namespace (ns_fd: its /proc/<pid>/ns/net). The kernel
// broadcasts a socket's destroy only in the socket's own namespace (sock_diag_broadcast_destroy,
// net/core/sock_diag.c), and a socket belongs to the namespace of the thread that made it
// (__sock_create takes current->nsproxy->net_ns): a thread of its own setns(2)es there, makes the
// socket and ends, so the JavaScript thread never changes namespace. setns needs CAP_SYS_ADMIN
// (in the caller's user namespace and the one owning the target namespace, setns(2)).
int OpenDestroySocketIn(int ns_fd, int rcvbuf, const char** failed) {
  int result = -EINVAL;
  try {
    std::thread opener([&] {
      if (setns(ns_fd, CLONE_NEWNET) != 0) {
        result = -errno;
        *failed = "setns";
        return;
      }
      result = OpenDestroySocket(rcvbuf, failed);
    });
    opener.join();
  } catch (const std::system_error& error) {
    // No thread to be had (EAGAIN: a thread limit): refused like any other call, never an abort.
    *failed = "pthread_create";
    return -error.code().value();
  }
  return result;
}

}  // namespace

Napi::Function SockDiagSocket::Init(Napi::Env env) {
  std::vector<Napi::ClassPropertyDescriptor<SockDiagSocket>> methods = LifecycleMethods();
  methods.push_back(InstanceMethod<&SockDiagSocket::Stats>("stats"));
  return DefineClass(env, "SockDiagSocket", methods);
}

// new SockDiagSocket({ rcvbuf, maxQueueBytes, netnsPath, netnsInode }, onBatch(data, offsets, error, receivedUs), onClosed)
// netnsPath (a /proc/<pid>/ns/net) and netnsInode (that namespace's inode, checked on the opened
// file): the destroys of that network namespace; without them, those of the caller's.
SockDiagSocket::SockDiagSocket(const Napi::CallbackInfo& info) : ReaderThread<SockDiagSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction()) {
    throw Napi::TypeError::New(env, "new SockDiagSocket(options, onBatch, onClosed)");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  int rcvbuf = options.Get("rcvbuf").IsNumber() ? options.Get("rcvbuf").As<Napi::Number>().Int32Value() : 0;
  int max_queue = options.Get("maxQueueBytes").IsNumber() ? options.Get("maxQueueBytes").As<Napi::Number>().Int32Value() : 8 * 1024 * 1024;
  if (max_queue <= 0) throw Napi::RangeError::New(env, "maxQueueBytes must be positive");
  max_queue_bytes_ = static_cast<size_t>(max_queue);

  std::string netns_path = options.Get("netnsPath").IsString() ? options.Get("netnsPath").As<Napi::String>().Utf8Value() : "";
  const char* failed = nullptr;
  int opened;
  if (netns_path.empty()) {
    opened = OpenDestroySocket(rcvbuf, &failed);
  } else {
    if (!options.Get("netnsInode").IsNumber()) throw Napi::TypeError::New(env, "netnsPath needs netnsInode");
    int64_t inode = options.Get("netnsInode").As<Napi::Number>().Int64Value();
    int ns_fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) throw ErrnoError(env, errno, "open");
    struct stat ns_stat;
    // The pid the path names may be another process's by now, in another namespace: ESRCH.
    if (fstat(ns_fd, &ns_stat) != 0 || static_cast<int64_t>(ns_stat.st_ino) != inode) {
      close(ns_fd);
      throw ErrnoError(env, ESRCH, "open");
    }
    opened = OpenDestroySocketIn(ns_fd, rcvbuf, &failed);
    close(ns_fd);
  }
  if (opened < 0) throw ErrnoError(env, -opened, failed);
  fd_ = opened;
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    int err = errno;
    close(fd_);
    fd_ = -1;
    throw ErrnoError(env, err, "eventfd");
  }
  StartReader(env, info[1].As<Napi::Function>(), info[2].As<Napi::Function>(), "auditflow.SockDiagSocket");
}

SockDiagSocket::~SockDiagSocket() { Shutdown(); }

void SockDiagSocket::ReaderLoop() {
  std::vector<uint8_t> buffer(kReadBytes);
  Messages pending;
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stopping_.load()) {
    int ready = poll(fds, 2, 1000);
    if (ready < 0) {
      if (errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(queue_mutex_);
      fatal_errno_ = errno;
      break;
    }
    if (stopping_.load()) break;
    if (ready == 0 || !(fds[0].revents & (POLLIN | POLLERR))) continue;
    for (int reads = 0; reads < kReadsPerWake; ++reads) {
      ssize_t received = recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (received < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        // ENOBUFS: the socket buffer overflowed and the kernel dropped broadcasts (netlink(7)).
        if (errno == ENOBUFS) {
          enobufs_.fetch_add(1);
          continue;
        }
        std::lock_guard<std::mutex> lock(queue_mutex_);
        fatal_errno_ = errno;
        stopping_.store(true);
        break;
      }
      uint64_t malformed = 0;
      int err = 0;
      size_t before = pending.offsets.size();
      TakeMessages(buffer.data(), static_cast<size_t>(received), &pending.data, &pending.offsets, &malformed, &err);
      messages_.fetch_add((pending.offsets.size() - before) / 2);
      if (malformed > 0) malformed_.fetch_add(malformed);
    }
    Submit(pending);
  }
  Submit(pending);
  std::lock_guard<std::mutex> lock(queue_mutex_);
  if (fatal_errno_ != 0 && !wake_pending_) {
    wake_pending_ = true;
    CallDeliver();
  }
}

// Queues what was read and wakes JavaScript once; a batch the full queue cannot take is dropped, counted.
void SockDiagSocket::Submit(Messages& pending) {
  if (pending.offsets.empty()) return;
  pending.received_us = RealtimeUs();
  auto batch = std::make_unique<Messages>(std::move(pending));
  pending = Messages();
  std::lock_guard<std::mutex> lock(queue_mutex_);
  if (queued_bytes_ + batch->data.size() > max_queue_bytes_) {
    dropped_.fetch_add(batch->offsets.size() / 2);
    return;
  }
  queued_bytes_ += batch->data.size();
  queue_.push_back(std::move(batch));
  if (wake_pending_) return;
  wake_pending_ = true;
  CallDeliver();
}

// On the JavaScript thread: onBatch(data, offsets, null, receivedUs) per queued batch, then
// (null, null, error, 0) once if the reader failed.
void SockDiagSocket::Deliver(Napi::Env env, Napi::Function onBatch) {
  std::deque<std::unique_ptr<Messages>> batches;
  int fatal;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    batches.swap(queue_);
    queued_bytes_ = 0;
    wake_pending_ = false;
    fatal = fatal_errno_;
    fatal_errno_ = 0;
  }
  for (std::unique_ptr<Messages>& owned : batches) {
    Napi::HandleScope scope(env);
    batches_.fetch_add(1);
    Napi::Uint32Array offsets = Napi::Uint32Array::New(env, owned->offsets.size());
    std::memcpy(offsets.Data(), owned->offsets.data(), owned->offsets.size() * sizeof(uint32_t));
    Messages* batch = owned.release();
    Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::New(
        env, batch->data.data(), batch->data.size(), [](Napi::Env, uint8_t*, Messages* owner) { delete owner; }, batch);
    onBatch.Call({data, offsets, env.Null(), Napi::Number::New(env, batch->received_us)});
  }
  if (fatal != 0) onBatch.Call({env.Null(), env.Null(), ErrnoError(env, fatal, "recv").Value(), Napi::Number::New(env, 0)});
}

Napi::Value SockDiagSocket::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object stats = Napi::Object::New(env);
  stats.Set("messages", Napi::Number::New(env, static_cast<double>(messages_.load())));
  stats.Set("batches", Napi::Number::New(env, static_cast<double>(batches_.load())));
  stats.Set("enobufs", Napi::Number::New(env, static_cast<double>(enobufs_.load())));
  stats.Set("dropped", Napi::Number::New(env, static_cast<double>(dropped_.load())));
  stats.Set("malformed", Napi::Number::New(env, static_cast<double>(malformed_.load())));
  return stats;
}

// The sockets of one family and protocol that exist now: one SOCK_DIAG_BY_FAMILY request with
// NLM_F_DUMP (struct inet_diag_req_v2, include/uapi/linux/inet_diag.h), every state, asking for
// INET_DIAG_INFO (tcp_info). Read until NLMSG_DONE or timeoutMs, whichever comes first; `complete`
// says which. Runs on the calling thread: meant for the start, once per (family, protocol).
Napi::Value SockDiagDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "sockDiagDump(family, protocol, timeoutMs)");
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) throw ErrnoError(env, errno, "socket");
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = 1;
  message.request.sdiag_family = static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value());
  message.request.sdiag_protocol = static_cast<uint8_t>(info[1].As<Napi::Number>().Uint32Value());
  message.request.idiag_ext = 1u << (INET_DIAG_INFO - 1);
  message.request.idiag_states = ~0u;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "sendto");
  }
  uint64_t deadline = NowNs() + static_cast<uint64_t>(info[2].As<Napi::Number>().Uint32Value()) * 1000000ull;
  std::vector<uint8_t> buffer(kReadBytes);
  std::vector<uint8_t> data;
  std::vector<uint32_t> offsets;
  uint64_t malformed = 0;
  int err = 0;
  bool complete = false;
  for (;;) {
    uint64_t now = NowNs();
    if (now >= deadline) break;
    pollfd fds{fd, POLLIN, 0};
    int ready = poll(&fds, 1, static_cast<int>((deadline - now) / 1000000ull) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    ssize_t received = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (received < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      err = errno;
      break;
    }
    if (!TakeMessages(buffer.data(), static_cast<size_t>(received), &data, &offsets, &malformed, &err)) {
      complete = err == 0;
      break;
    }
  }
  close(fd);
  if (err != 0) throw ErrnoError(env, err, "recv");
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", Napi::Buffer<uint8_t>::Copy(env, data.data(), data.size()));
  Napi::Uint32Array words = Napi::Uint32Array::New(env, offsets.size());
  if (!offsets.empty()) std::memcpy(words.Data(), offsets.data(), offsets.size() * sizeof(uint32_t));
  result.Set("offsets", words);
  result.Set("complete", Napi::Boolean::New(env, complete));
  return result;
}

}  // namespace auditflow

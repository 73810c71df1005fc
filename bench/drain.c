// The benchmark's ceiling: the cheapest possible audit daemon. It registers as the kernel's audit
// daemon (AUDIT_SET with AUDIT_STATUS_PID, include/uapi/linux/audit.h), then reads records with
// recvmmsg and discards them, counting records, bytes, events (distinct serials) and serial gaps.
// It loads no rules and sets nothing else: the driver loads the ruleset and the backlog settings,
// exactly as for auditd. Whatever a real consumer costs the audited processes beyond this is the
// consumer's own doing; what this costs them is the kernel's record building.
//
//   drain            prints "ready" once registered; SIGUSR1 prints the counters as one JSON line;
//                    SIGTERM unregisters (pid 0), prints the counters and exits.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// kernel/audit.c: a record is at most MAX_AUDIT_MESSAGE_LENGTH (8970) bytes of payload.
#define RECORD_BUFFER 9000
#define BATCH 64
#define RCVBUF (128 * 1024 * 1024)

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t report_requested = 0;

static void on_term(int signal_number) {
  (void)signal_number;
  stop_requested = 1;
}

static void on_usr1(int signal_number) {
  (void)signal_number;
  report_requested = 1;
}

struct counters {
  unsigned long long records;
  unsigned long long bytes;
  unsigned long long events;
  unsigned long long enobufs;
  uint32_t min_serial;
  uint32_t max_serial;
  int seen_any;
  // One bit per serial from `base`: an event's records share its serial, so a serial seen for the
  // first time is a new event, and the serials never seen between min and max are the gaps.
  uint8_t *bits;
  size_t bits_size;
  uint32_t base;
  unsigned long long before_base;
};

static struct counters c;

static void note_serial(uint32_t serial) {
  if (!c.seen_any) {
    // Records of concurrent events can arrive slightly out of order: leave room below the first.
    c.base = serial > 65536 ? serial - 65536 : 0;
    c.min_serial = c.max_serial = serial;
    c.seen_any = 1;
  }
  if (serial < c.base) {
    c.before_base++;
    return;
  }
  size_t offset = serial - c.base;
  if (offset / 8 >= c.bits_size) {
    size_t size = c.bits_size == 0 ? 1 << 20 : c.bits_size;
    while (offset / 8 >= size) size *= 2;
    uint8_t *grown = realloc(c.bits, size);
    if (grown == NULL) {
      perror("realloc");
      exit(1);
    }
    memset(grown + c.bits_size, 0, size - c.bits_size);
    c.bits = grown;
    c.bits_size = size;
  }
  uint8_t mask = (uint8_t)(1u << (offset % 8));
  if (c.bits[offset / 8] & mask) return;
  c.bits[offset / 8] |= mask;
  c.events++;
  if (serial < c.min_serial) c.min_serial = serial;
  if (serial > c.max_serial) c.max_serial = serial;
}

// "audit(1763716174.123:4711): ..." -> 4711
static void note_record(const char *payload, size_t length) {
  if (length < 8 || memcmp(payload, "audit(", 6) != 0) return;
  const char *end = payload + (length < 64 ? length : 64);
  const char *colon = memchr(payload, ':', end - payload);
  if (colon == NULL) return;
  uint32_t serial = 0;
  for (const char *p = colon + 1; p < end && *p >= '0' && *p <= '9'; p++) serial = serial * 10 + (uint32_t)(*p - '0');
  note_serial(serial);
}

static void report(void) {
  unsigned long long span = c.seen_any ? (unsigned long long)c.max_serial - c.min_serial + 1 : 0;
  unsigned long long counted = c.events;
  printf("{\"records\":%llu,\"bytes\":%llu,\"events\":%llu,\"gaps\":%llu,\"enobufs\":%llu}\n", c.records, c.bytes, c.events + c.before_base,
         span > counted ? span - counted : 0, c.enobufs);
  fflush(stdout);
}

// AUDIT_SET of the daemon pid, acknowledged (the kernel answers NLMSG_ERROR with error 0 on success).
static int set_pid(int fd, uint32_t pid, uint32_t seq) {
  struct {
    struct nlmsghdr header;
    struct audit_status status;
  } request;
  memset(&request, 0, sizeof request);
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = AUDIT_SET;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  request.header.nlmsg_seq = seq;
  request.status.mask = AUDIT_STATUS_PID;
  request.status.pid = pid;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, &request, sizeof request, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  static char buffer[RECORD_BUFFER];
  for (;;) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS) continue;
      return -errno;
    }
    struct nlmsghdr *header = (struct nlmsghdr *)buffer;
    if ((size_t)n >= sizeof *header + sizeof(struct nlmsgerr) && header->nlmsg_type == NLMSG_ERROR && header->nlmsg_seq == seq) {
      return ((struct nlmsgerr *)NLMSG_DATA(header))->error;
    }
    // An event record that arrived before the ACK: count it like any other.
    c.records++;
    c.bytes += n;
    if ((size_t)n > NLMSG_HDRLEN) note_record(buffer + NLMSG_HDRLEN, n - NLMSG_HDRLEN);
  }
}

int main(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_term;
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  action.sa_handler = on_usr1;
  sigaction(SIGUSR1, &action, NULL);

  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (fd < 0) {
    perror("socket(NETLINK_AUDIT)");
    return 1;
  }
  int size = RCVBUF;
  // SO_RCVBUFFORCE passes net.core.rmem_max (needs CAP_NET_ADMIN), as auditflow's reader does.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  int error = set_pid(fd, (uint32_t)getpid(), 1);
  if (error != 0) {
    fprintf(stderr, "drain: registering as the audit daemon failed: %s\n", strerror(-error));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);

  static char buffers[BATCH][RECORD_BUFFER];
  struct iovec vectors[BATCH];
  struct mmsghdr messages[BATCH];
  for (int i = 0; i < BATCH; i++) {
    vectors[i].iov_base = buffers[i];
    vectors[i].iov_len = RECORD_BUFFER;
    memset(&messages[i], 0, sizeof messages[i]);
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  // The signals stay blocked except inside ppoll, which unblocks them atomically: one that comes
  // while records are being counted is seen at the next wait instead of being missed.
  sigset_t blocked, waiting;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGUSR1);
  sigprocmask(SIG_BLOCK, &blocked, &waiting);
  sigdelset(&waiting, SIGTERM);
  sigdelset(&waiting, SIGINT);
  sigdelset(&waiting, SIGUSR1);
  struct pollfd readable = {.fd = fd, .events = POLLIN};
  while (!stop_requested) {
    if (report_requested) {
      report_requested = 0;
      report();
    }
    if (ppoll(&readable, 1, NULL, &waiting) < 0) continue;
    int n = recvmmsg(fd, messages, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == ENOBUFS) c.enobufs++;
      else if (errno != EINTR && errno != EAGAIN) {
        perror("recvmmsg");
        return 1;
      }
      continue;
    }
    for (int i = 0; i < n; i++) {
      size_t length = messages[i].msg_len;
      c.records++;
      c.bytes += length;
      // Event records are framed by the datagram: their nlmsg_len leaves out the header (FACTS.md).
      if (length > NLMSG_HDRLEN) note_record(buffers[i] + NLMSG_HDRLEN, length - NLMSG_HDRLEN);
    }
  }
  error = set_pid(fd, 0, 2);
  if (error != 0) fprintf(stderr, "drain: unregistering failed: %s\n", strerror(-error));
  report();
  close(fd);
  return 0;
}

// Benchmark workload: N worker processes make network syscalls on loopback for a number of
// seconds, as fast as they can or at a fixed total rate, then the parent prints what they did.
//
//   workload <mode> <workers> <seconds> [<syscalls per second>]
//
// Modes (one "op" each; the numbers are the syscalls of the kinds rules/network.rules watches,
// and of those, the ones it audits and the flows auditflow makes of them):
//   connect   socket + connect + accept4 (with an address) on a loopback listener;
//             3 syscalls, 3 audited (socket, connect, accept4), 2 flows (connect, accept)
//   refused   socket + connect to a loopback port that is bound but not listening (ECONNREFUSED);
//             2 syscalls, 2 audited, 1 flow
//   sendto    one UDP sendto with an explicit loopback address; 1 syscall, 1 audited, 1 flow
//   recv      a UDP sendto as above, then a recvfrom with an address buffer; 2 syscalls, 2 audited
//             (the receive by rules/optional/udp-ingress.rules, loaded for this mode), 2 flows
//   unix      AF_UNIX noise: socket + connect + accept4 on an abstract stream listener, and one
//             sendto on an AF_UNIX datagram socket; 4 syscalls, none audited (saddr_fam and the
//             socket() domain filter keep them out in the kernel), no flow
//   mixed     one op of each of the above in turn: 10 syscalls, 6 audited, 4 flows
//   dns       a DNS lookup, then a connect to the answer's address, as a program with a resolver
//             library: the client's UDP socket is connected to the worker's own DNS server once (that
//             connect is its audited query flow to port 53), then per op: send the query, the server's
//             recvfrom and its sendto of the answer (an A record for the listener) from port 53, the
//             client's recv, and the connect op; 7 syscalls, 4 audited (the server's sendto, socket,
//             connect, accept4), 3 flows, 1 DNS answer for auditflow's capture (not part of mixed)
// The setup (listeners, receivers) is counted too: socket() and bind() of AF_INET sockets are
// audited, and a bind is a flow.
//
// With a rate, each worker paces itself to rate/workers syscalls per second on an absolute clock
// (clock_nanosleep TIMER_ABSTIME), so a late wake-up is caught up rather than lost.
//
// Prints one line: "syscalls <n> audited <n> flows <n> failures <n> seconds <elapsed>".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct counts {
  long syscalls;
  long audited;
  long flows;
  long failures;
};

struct worker {
  struct counts counts;
  int listener;
  struct sockaddr_in listen_address;
  int refuser;
  struct sockaddr_in refuse_address;
  int udp_receiver;
  int udp_sender;
  struct sockaddr_in udp_address;
  int unix_listener;
  struct sockaddr_un unix_listen_address;
  socklen_t unix_listen_length;
  int unix_receiver;
  int unix_sender;
  struct sockaddr_un unix_receive_address;
  socklen_t unix_receive_length;
  int dns_server;
  int dns_client;
  unsigned char dns_query[64];
  size_t dns_query_length;
  unsigned char dns_answer[64];
  size_t dns_answer_length;
};

// RFC 1035 4.1: header (id, flags, 1 question, `answers` answers), the question bench.dnstest.example A IN.
static size_t dns_message(unsigned char *out, unsigned flags, int answers) {
  static const unsigned char question[] = {5, 'b', 'e', 'n', 'c', 'h', 7, 'd', 'n', 's', 't', 'e', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1};
  unsigned char header[12] = {0x4a, 0x46, flags >> 8, flags & 0xff, 0, 1, 0, answers, 0, 0, 0, 0};
  memcpy(out, header, sizeof header);
  memcpy(out + sizeof header, question, sizeof question);
  return sizeof header + sizeof question;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what) {
  perror(what);
  exit(2);
}

// An AF_INET socket bound to 127.0.0.1 on a port the kernel picks: socket + bind, both audited,
// and the bind is a flow.
static int inet_socket(struct worker *w, int type, struct sockaddr_in *address) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) fail("socket");
  memset(address, 0, sizeof *address);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof *address;
  if (bind(fd, (struct sockaddr *)address, length) < 0 || getsockname(fd, (struct sockaddr *)address, &length) < 0) fail("bind");
  w->counts.syscalls += 2;
  w->counts.audited += 2;
  w->counts.flows += 1;
  return fd;
}

// An AF_UNIX socket bound to an abstract name unique to this worker (none of it is audited).
static int unix_socket(struct worker *w, int type, const char *role, struct sockaddr_un *address, socklen_t *length) {
  int fd = socket(AF_UNIX, type, 0);
  if (fd < 0) fail("socket(AF_UNIX)");
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  // Abstract namespace: sun_path[0] is NUL and the name is the bytes after it (unix(7)).
  int n = snprintf(address->sun_path + 1, sizeof address->sun_path - 1, "auditflow-bench-%d-%s", (int)getpid(), role);
  *length = offsetof(struct sockaddr_un, sun_path) + 1 + n;
  if (bind(fd, (struct sockaddr *)address, *length) < 0) fail("bind(AF_UNIX)");
  w->counts.syscalls += 2;
  return fd;
}

static void setup(struct worker *w, const char *mode) {
  int all = strcmp(mode, "mixed") == 0;
  if (all || strcmp(mode, "connect") == 0) {
    w->listener = inet_socket(w, SOCK_STREAM, &w->listen_address);
    if (listen(w->listener, 1024) < 0) fail("listen");
  }
  if (all || strcmp(mode, "refused") == 0) {
    // Bound but never listening: a connect to it is answered with a reset (ECONNREFUSED).
    w->refuser = inet_socket(w, SOCK_STREAM, &w->refuse_address);
  }
  if (all || strcmp(mode, "sendto") == 0 || strcmp(mode, "recv") == 0) {
    w->udp_receiver = inet_socket(w, SOCK_DGRAM, &w->udp_address);
    w->udp_sender = socket(AF_INET, SOCK_DGRAM, 0);
    if (w->udp_sender < 0) fail("socket(udp)");
    w->counts.syscalls += 1;
    w->counts.audited += 1;
  }
  if (strcmp(mode, "dns") == 0) {
    w->listener = inet_socket(w, SOCK_STREAM, &w->listen_address);
    if (listen(w->listener, 1024) < 0) fail("listen");
    // The worker's own DNS server on port 53 of a loopback address made from its pid (unique among
    // live processes below 2^22), so workers never share one.
    struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(53)};
    unsigned pid = (unsigned)getpid();
    server.sin_addr.s_addr = htonl(0x7f000000u | ((0x40u | ((pid >> 16) & 0x3f)) << 16) | (((pid >> 8) & 0xff) << 8) | (pid & 0xff));
    w->dns_server = socket(AF_INET, SOCK_DGRAM, 0);
    if (w->dns_server < 0 || bind(w->dns_server, (struct sockaddr *)&server, sizeof server) < 0) fail("bind(dns server, port 53: needs root)");
    w->dns_client = socket(AF_INET, SOCK_DGRAM, 0);
    if (w->dns_client < 0 || connect(w->dns_client, (struct sockaddr *)&server, sizeof server) < 0) fail("connect(dns client)");
    // 2 socket() (audited), the bind (audited, a flow), the connect (audited, the query's flow).
    w->counts.syscalls += 4;
    w->counts.audited += 4;
    w->counts.flows += 2;
    w->dns_query_length = dns_message(w->dns_query, 0x0100, 0);
    w->dns_answer_length = dns_message(w->dns_answer, 0x8180, 1);
    // The answer: a pointer to the question's name (0xc00c), A, IN, TTL 300, 4 bytes: the listener.
    unsigned char record[12] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4};
    memcpy(w->dns_answer + w->dns_answer_length, record, sizeof record);
    memcpy(w->dns_answer + w->dns_answer_length + sizeof record, &w->listen_address.sin_addr, 4);
    w->dns_answer_length += sizeof record + 4;
  }
  if (all || strcmp(mode, "unix") == 0) {
    w->unix_listener = unix_socket(w, SOCK_STREAM, "stream", &w->unix_listen_address, &w->unix_listen_length);
    if (listen(w->unix_listener, 1024) < 0) fail("listen(AF_UNIX)");
    w->unix_receiver = unix_socket(w, SOCK_DGRAM, "dgram", &w->unix_receive_address, &w->unix_receive_length);
    w->unix_sender = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (w->unix_sender < 0) fail("socket(AF_UNIX dgram)");
    w->counts.syscalls += 1;
  }
}

static long op_connect(struct worker *w) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket");
  w->counts.syscalls += 1;
  w->counts.audited += 1;
  int ok = connect(fd, (struct sockaddr *)&w->listen_address, sizeof w->listen_address) == 0;
  w->counts.syscalls += 1;
  w->counts.audited += 1;
  w->counts.flows += 1;
  if (ok) {
    // With an address buffer, so the kernel copies the peer out and the accept rule's saddr_fam matches.
    struct sockaddr_in peer;
    socklen_t length = sizeof peer;
    int accepted = accept4(w->listener, (struct sockaddr *)&peer, &length, SOCK_CLOEXEC);
    w->counts.syscalls += 1;
    if (accepted >= 0) {
      w->counts.audited += 1;
      w->counts.flows += 1;
      close(accepted);
    } else {
      w->counts.failures++;
    }
  } else {
    w->counts.failures++;
  }
  close(fd);
  return 3;
}

static long op_refused(struct worker *w) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket");
  if (connect(fd, (struct sockaddr *)&w->refuse_address, sizeof w->refuse_address) == 0 || errno != ECONNREFUSED) w->counts.failures++;
  close(fd);
  w->counts.syscalls += 2;
  w->counts.audited += 2;
  w->counts.flows += 1;
  return 2;
}

static long op_sendto(struct worker *w, long n) {
  char byte = 'x';
  if (sendto(w->udp_sender, &byte, 1, MSG_DONTWAIT, (struct sockaddr *)&w->udp_address, sizeof w->udp_address) < 0) w->counts.failures++;
  w->counts.syscalls += 1;
  w->counts.audited += 1;
  w->counts.flows += 1;
  // Keep the receiver's buffer from filling so every send takes the same path (recv is not audited).
  if ((n & 15) == 0)
    while (recv(w->udp_receiver, &byte, 1, MSG_DONTWAIT) > 0) {
    }
  return 1;
}

// One datagram sent with an explicit address and received with an address buffer: both audited, the
// receive by the optional rules/optional/udp-ingress.rules the benchmark loads for this mode (not part
// of mixed, which measures the default ruleset).
static long op_recv(struct worker *w) {
  char byte = 'r';
  if (sendto(w->udp_sender, &byte, 1, MSG_DONTWAIT, (struct sockaddr *)&w->udp_address, sizeof w->udp_address) < 0) w->counts.failures++;
  struct sockaddr_in from;
  socklen_t length = sizeof from;
  if (recvfrom(w->udp_receiver, &byte, 1, MSG_DONTWAIT, (struct sockaddr *)&from, &length) < 0) w->counts.failures++;
  w->counts.syscalls += 2;
  w->counts.audited += 2;
  w->counts.flows += 2;
  return 2;
}

static long op_dns(struct worker *w) {
  unsigned char buffer[512];
  struct sockaddr_in from;
  socklen_t length = sizeof from;
  if (send(w->dns_client, w->dns_query, w->dns_query_length, 0) < 0) w->counts.failures++;
  if (recvfrom(w->dns_server, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &length) < 0) w->counts.failures++;
  if (sendto(w->dns_server, w->dns_answer, w->dns_answer_length, 0, (struct sockaddr *)&from, length) < 0) w->counts.failures++;
  if (recv(w->dns_client, buffer, sizeof buffer, 0) < 0) w->counts.failures++;
  w->counts.syscalls += 4;
  w->counts.audited += 1;
  w->counts.flows += 1;
  return 4 + op_connect(w);
}

static long op_unix(struct worker *w, long n) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) fail("socket(AF_UNIX)");
  if (connect(fd, (struct sockaddr *)&w->unix_listen_address, w->unix_listen_length) == 0) {
    struct sockaddr_un peer;
    socklen_t length = sizeof peer;
    int accepted = accept4(w->unix_listener, (struct sockaddr *)&peer, &length, SOCK_CLOEXEC);
    if (accepted >= 0) close(accepted);
    else w->counts.failures++;
  } else {
    w->counts.failures++;
  }
  close(fd);
  char byte = 'u';
  if (sendto(w->unix_sender, &byte, 1, MSG_DONTWAIT, (struct sockaddr *)&w->unix_receive_address, w->unix_receive_length) < 0) w->counts.failures++;
  // An AF_UNIX datagram queue holds only net.unix.max_dgram_qlen (10) datagrams.
  if ((n & 7) == 0)
    while (recv(w->unix_receiver, &byte, 1, MSG_DONTWAIT) > 0) {
    }
  w->counts.syscalls += 4;
  return 4;
}

static long op(struct worker *w, const char *mode, long n) {
  switch (mode[0]) {
    case 'c':
      return op_connect(w);
    case 'r':
      return mode[2] == 'c' ? op_recv(w) : op_refused(w);
    case 's':
      return op_sendto(w, n);
    case 'u':
      return op_unix(w, n);
    case 'd':
      return op_dns(w);
    default:
      return op_connect(w) + op_refused(w) + op_sendto(w, n) + op_unix(w, n);
  }
}

static void sleep_until(double when) {
  struct timespec now_ts;
  clock_gettime(CLOCK_MONOTONIC, &now_ts);
  double current = now_ts.tv_sec + now_ts.tv_nsec / 1e9;
  if (when <= current) return;
  struct timespec ts = {(time_t)when, (long)((when - (time_t)when) * 1e9)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void run(struct worker *w, const char *mode, double start, double seconds, double rate) {
  double deadline = start + seconds;
  double paced = start;
  for (long n = 0;; n++) {
    // Check the clock every 64 ops when running flat out: clock_gettime is cheap but not free.
    if ((rate > 0 || (n & 63) == 0) && now() >= deadline) break;
    long made = op(w, mode, n);
    if (rate > 0) {
      paced += made / rate;
      // More than 100 ms behind (the machine was busy): start again from now instead of bursting.
      double current = now();
      if (current - paced > 0.1) paced = current;
      sleep_until(paced);
    }
  }
}

static const char *const MODES[] = {"connect", "refused", "sendto", "unix", "mixed", "recv", "dns"};

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: workload connect|refused|sendto|unix|mixed|recv|dns <workers> <seconds> [<syscalls per second>]\n");
    return 2;
  }
  const char *mode = argv[1];
  int known = 0;
  for (size_t i = 0; i < sizeof MODES / sizeof MODES[0]; i++) known |= strcmp(mode, MODES[i]) == 0;
  int workers = atoi(argv[2]);
  double seconds = atof(argv[3]);
  double rate = argc == 5 ? atof(argv[4]) : 0;
  if (!known || workers < 1 || seconds <= 0 || rate < 0) {
    fprintf(stderr, "workload: bad arguments (mode %s, workers %s, seconds %s)\n", mode, argv[2], argv[3]);
    return 2;
  }
  int pipes[2];
  if (pipe(pipes) < 0) fail("pipe");
  double start = now();
  for (int i = 0; i < workers; i++) {
    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) {
      signal(SIGPIPE, SIG_IGN);
      struct worker w;
      memset(&w, 0, sizeof w);
      setup(&w, mode);
      run(&w, mode, start, seconds, rate / workers);
      if (write(pipes[1], &w.counts, sizeof w.counts) != sizeof w.counts) _exit(2);
      _exit(0);
    }
  }
  close(pipes[1]);
  struct counts total = {0, 0, 0, 0};
  int reported = 0;
  struct counts one;
  while (read(pipes[0], &one, sizeof one) == sizeof one) {
    total.syscalls += one.syscalls;
    total.audited += one.audited;
    total.flows += one.flows;
    total.failures += one.failures;
    reported++;
  }
  int failed = 0;
  for (int i = 0; i < workers; i++) {
    int status = 0;
    if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  double elapsed = now() - start;
  if (failed || reported != workers) {
    fprintf(stderr, "workload: %d of %d workers reported\n", reported, workers);
    return 2;
  }
  printf("syscalls %ld audited %ld flows %ld failures %ld seconds %.3f\n", total.syscalls, total.audited, total.flows, total.failures, elapsed);
  return 0;
}

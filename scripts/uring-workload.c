// Network operations through io_uring, on loopback only: the workload behind the io_uring
// fixtures (test/fixtures/uring-*.log) and the live io_uring test. Syscall audit rules never see
// these operations; only rules on the io_uring list do (URINGOP records).
// Build: gcc -O1 -o uring-workload uring-workload.c -luring   (Debian: liburing-dev)
// Usage: uring-workload <scenario>
// Prints "<name> <value>" lines for what the test checks (ports chosen by the kernel), then "done".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port_of(int fd) {
  struct sockaddr_in6 sa;
  socklen_t len = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0) return -1;
  return ntohs(sa.sin6_port);  // sin_port and sin6_port share their offset
}

// A listening (stream) or bound (dgram) IPv4 or IPv6 loopback socket at a kernel-chosen port.
static int server(int family, int type, int *port) {
  int fd = socket(family, type, 0);
  struct sockaddr_in in4 = {.sin_family = AF_INET};
  struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = family == AF_INET ? bind(fd, (struct sockaddr *)&in4, sizeof in4) : bind(fd, (struct sockaddr *)&in6, sizeof in6);
  if (rc != 0 || (type == SOCK_STREAM && listen(fd, 16) != 0)) return -1;
  *port = port_of(fd);
  printf("server %d\n", *port);
  return fd;
}

// Submits one prepared operation and waits for its completion; returns its result (cqe->res).
static int complete(struct io_uring *ring) {
  struct io_uring_cqe *cqe;
  if (io_uring_submit(ring) < 0 || io_uring_wait_cqe(ring, &cqe) != 0) return -EIO;
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return res;
}

static void report(const char *what, int res) { printf("%s %s\n", what, res >= 0 ? "ok" : strerror(-res)); }

static int run(const char *scenario, struct io_uring *ring) {
  int port;
  if (!strcmp(scenario, "uring-connect-tcp4") || !strcmp(scenario, "uring-connect-tcp6")) {
    int family = strstr(scenario, "tcp6") ? AF_INET6 : AF_INET;
    int listener = server(family, SOCK_STREAM, &port);
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (family == AF_INET) io_uring_prep_connect(sqe, fd, (struct sockaddr *)&in4, sizeof in4);
    else io_uring_prep_connect(sqe, fd, (struct sockaddr *)&in6, sizeof in6);
    report("connect", complete(ring));
    printf("client %d\n", port_of(fd));
    close(fd);
    close(listener);
  } else if (!strcmp(scenario, "uring-connect-refused")) {
    // A port bound but not listening: the connect fails with ECONNREFUSED.
    int bound = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_family = AF_INET};
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(bound, (struct sockaddr *)&any, sizeof any);
    port = port_of(bound);
    printf("server %d\n", port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    io_uring_prep_connect(io_uring_get_sqe(ring), fd, (struct sockaddr *)&in4, sizeof in4);
    report("connect", complete(ring));
    close(fd);
    close(bound);
  } else if (!strcmp(scenario, "uring-sendmsg-udp4")) {
    int receiver = server(AF_INET, SOCK_DGRAM, &port);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char payload[] = "uring";
    struct iovec iov = {.iov_base = payload, .iov_len = sizeof payload - 1};
    struct msghdr msg = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1};
    io_uring_prep_sendmsg(io_uring_get_sqe(ring), fd, &msg, 0);
    report("sendmsg", complete(ring));
    printf("client %d\n", port_of(fd));
    close(fd);
    close(receiver);
  } else if (!strcmp(scenario, "uring-accept")) {
    int listener = server(AF_INET, SOCK_STREAM, &port);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(client, (struct sockaddr *)&to, sizeof to) != 0) return 1;
    printf("client %d\n", port_of(client));
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    io_uring_prep_accept(io_uring_get_sqe(ring), listener, (struct sockaddr *)&peer, &peer_len, 0);
    int accepted = complete(ring);
    report("accept", accepted);
    if (accepted >= 0) close(accepted);
    close(client);
    close(listener);
  } else if (!strcmp(scenario, "uring-accept-wait")) {
    // The accept is submitted before any client is there (io_uring's attempt finds nothing: -EAGAIN,
    // no address), then a client connects and io_uring's retry takes it, as a server's accept loop does.
    int listener = server(AF_INET, SOCK_STREAM, &port);
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    io_uring_prep_accept(io_uring_get_sqe(ring), listener, (struct sockaddr *)&peer, &peer_len, 0);
    if (io_uring_submit(ring) < 0) return 1;
    int client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(client, (struct sockaddr *)&to, sizeof to) != 0) return 1;
    printf("client %d\n", port_of(client));
    struct io_uring_cqe *cqe;
    if (io_uring_wait_cqe(ring, &cqe) != 0) return 1;
    int accepted = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    report("accept", accepted);
    if (accepted >= 0) close(accepted);
    close(client);
    close(listener);
  } else {
    fprintf(stderr, "unknown scenario %s\n", scenario);
    return 2;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: uring-workload <scenario>\n");
    return 2;
  }
  struct io_uring ring;
  int rc = io_uring_queue_init(8, &ring, 0);
  if (rc != 0) {
    fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-rc));
    return 1;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  rc = run(argv[1], &ring);
  io_uring_queue_exit(&ring);
  if (rc == 0) printf("done\n");
  return rc;
}

// The network workload behind test/fixtures and the live pipeline test: one scenario per
// run, on loopback only. Build: gcc -O1 -o fixture-workload fixture-workload.c
// The i386-* and socketcall-i386-* scenarios exist only in a 32-bit x86 build
// (gcc -m32, from Debian's gcc-multilib): scripts/capture-fixture.ts builds it for them.
// Usage: fixture-workload <scenario> [--hold]
// Prints "<name> <value>" lines for what the test checks (ports chosen by the kernel), then
// "done"; with --hold it then keeps its sockets open until stdin closes, so /proc can still
// show them while the audit records are read.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int port_of(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static struct sockaddr_in v4(const char *addr, int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, addr, &sa.sin_addr);
  return sa;
}

static struct sockaddr_in6 v6(const char *addr, int port) {
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
  inet_pton(AF_INET6, addr, &sa.sin6_addr);
  return sa;
}

// A listening (stream) or bound (dgram) socket on loopback at a kernel-chosen port.
static int server(int family, int type, int *port) {
  int fd = socket(family, type, 0);
  if (family == AF_INET) {
    struct sockaddr_in sa = v4("127.0.0.1", 0);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
  } else {
    struct sockaddr_in6 sa = v6("::1", 0);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
  }
  if (type == SOCK_STREAM) listen(fd, 16);
  *port = port_of(fd);
  printf("server %d\n", *port);
  return fd;
}

static void report(const char *what, int rc) { printf("%s %s\n", what, rc == 0 ? "ok" : strerror(errno)); }

static int connect4(int type, const char *addr, int port) {
  int fd = socket(AF_INET, type, 0);
  struct sockaddr_in sa = v4(addr, port);
  report("connect", connect(fd, (struct sockaddr *)&sa, sizeof sa));
  printf("local %d\n", port_of(fd));
  return fd;
}

static int connect6(int type, const char *addr, int port) {
  int fd = socket(AF_INET6, type, 0);
  struct sockaddr_in6 sa = v6(addr, port);
  report("connect", connect(fd, (struct sockaddr *)&sa, sizeof sa));
  printf("local %d\n", port_of(fd));
  return fd;
}

// Port 9 (discard) is closed on these machines: a refused connect.
static const int CLOSED_PORT = 9;

#if defined(__i386__)
// i386 has two ways into the socket calls: socketcall(2), which takes the call number
// (include/uapi/linux/net.h SYS_*) and a pointer to the arguments, and since Linux 4.3 a
// system call of its own per call. These make each explicitly, whatever glibc would pick.
enum { SC_SOCKET = 1, SC_BIND = 2, SC_CONNECT = 3, SC_LISTEN = 4, SC_ACCEPT = 5, SC_SENDTO = 11 };

static int sc(int call, unsigned long a0, unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
  unsigned long args[6] = {a0, a1, a2, a3, a4, a5};
  return syscall(SYS_socketcall, call, args);
}

static int socketcall_scenario(const char *scenario) {
  int port, srv, fd;
  char buf[] = "auditflow";
  if (!strcmp(scenario, "socketcall-i386-connect")) {
    server(AF_INET, SOCK_STREAM, &port);
    fd = sc(SC_SOCKET, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
    struct sockaddr_in sa = v4("127.0.0.1", port);
    report("connect", sc(SC_CONNECT, fd, (unsigned long)&sa, sizeof sa, 0, 0, 0));
    printf("local %d\n", port_of(fd));
  } else if (!strcmp(scenario, "socketcall-i386-refused")) {
    fd = sc(SC_SOCKET, AF_INET6, SOCK_STREAM, 0, 0, 0, 0);
    struct sockaddr_in6 sa = v6("::1", CLOSED_PORT);
    report("connect", sc(SC_CONNECT, fd, (unsigned long)&sa, sizeof sa, 0, 0, 0));
  } else if (!strcmp(scenario, "socketcall-i386-sendto")) {
    server(AF_INET, SOCK_DGRAM, &port);
    fd = sc(SC_SOCKET, AF_INET, SOCK_DGRAM, 0, 0, 0, 0);
    struct sockaddr_in sa = v4("127.0.0.1", port);
    sc(SC_SENDTO, fd, (unsigned long)buf, sizeof buf, 0, (unsigned long)&sa, sizeof sa);
    printf("local %d\n", port_of(fd));
  } else if (!strcmp(scenario, "socketcall-i386-accept")) {
    srv = sc(SC_SOCKET, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
    struct sockaddr_in any = v4("127.0.0.1", 0);
    sc(SC_BIND, srv, (unsigned long)&any, sizeof any, 0, 0, 0);
    sc(SC_LISTEN, srv, 16, 0, 0, 0, 0);
    port = port_of(srv);
    printf("server %d\n", port);
    connect4(SOCK_STREAM, "127.0.0.1", port);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    printf("accepted %d\n", sc(SC_ACCEPT, srv, (unsigned long)&ss, (unsigned long)&len, 0, 0, 0));
  } else if (!strcmp(scenario, "i386-connect")) {
    server(AF_INET, SOCK_STREAM, &port);
    fd = syscall(__NR_socket, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = v4("127.0.0.1", port);
    report("connect", syscall(__NR_connect, fd, &sa, sizeof sa));
    printf("local %d\n", port_of(fd));
  } else {
    return -1;
  }
  return 0;
}
#endif

static int run(const char *scenario) {
  int port, srv, fd;
  char buf[] = "auditflow";
#if defined(__i386__)
  if (socketcall_scenario(scenario) == 0) return 0;
#endif
  if (!strcmp(scenario, "connect-tcp4-ok")) {
    server(AF_INET, SOCK_STREAM, &port);
    connect4(SOCK_STREAM, "127.0.0.1", port);
  } else if (!strcmp(scenario, "connect-reuse-fd")) {
    // Three connects in a row on one fd, each socket closed at once: the next socket() gets the
    // same fd back, so a lookup of the fd made after the event may meet a later socket.
    server(AF_INET, SOCK_STREAM, &port);
    for (int round = 0; round < 3; ++round) close(connect4(SOCK_STREAM, "127.0.0.1", port));
  } else if (!strcmp(scenario, "connect-tcp4-refused")) {
    connect4(SOCK_STREAM, "127.0.0.1", CLOSED_PORT);
  } else if (!strcmp(scenario, "connect-tcp4-nonblock")) {
    server(AF_INET, SOCK_STREAM, &port);
    connect4(SOCK_STREAM | SOCK_NONBLOCK, "127.0.0.1", port);
  } else if (!strcmp(scenario, "connect-tcp6-ok")) {
    server(AF_INET6, SOCK_STREAM, &port);
    connect6(SOCK_STREAM, "::1", port);
  } else if (!strcmp(scenario, "connect-tcp6-refused")) {
    connect6(SOCK_STREAM, "::1", CLOSED_PORT);
  } else if (!strcmp(scenario, "connect-tcp6-nonblock")) {
    server(AF_INET6, SOCK_STREAM, &port);
    connect6(SOCK_STREAM | SOCK_NONBLOCK, "::1", port);
  } else if (!strcmp(scenario, "connect-ipv4-mapped")) {
    server(AF_INET, SOCK_STREAM, &port);
    connect6(SOCK_STREAM, "::ffff:127.0.0.1", port);
  } else if (!strncmp(scenario, "accept", 6)) {
    int six = strstr(scenario, "6-") != NULL;
    int four = !strncmp(scenario, "accept4", 7);
    int peer = strstr(scenario, "nopeer") == NULL;
    srv = server(six ? AF_INET6 : AF_INET, SOCK_STREAM, &port);
    fd = six ? connect6(SOCK_STREAM, "::1", port) : connect4(SOCK_STREAM, "127.0.0.1", port);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    struct sockaddr *addr = peer ? (struct sockaddr *)&ss : NULL;
    socklen_t *lenp = peer ? &len : NULL;
    int got = four ? accept4(srv, addr, lenp, SOCK_CLOEXEC) : accept(srv, addr, lenp);
    printf("accepted %d\n", got);
  } else if (!strcmp(scenario, "bind-ipv4")) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = v4("127.0.0.1", 47391);
    report("bind", bind(fd, (struct sockaddr *)&sa, sizeof sa));
  } else if (!strcmp(scenario, "bind-ipv6")) {
    fd = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 sa = v6("::1", 47392);
    report("bind", bind(fd, (struct sockaddr *)&sa, sizeof sa));
  } else if (!strcmp(scenario, "bind-port0")) {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = v4("127.0.0.1", 0);
    report("bind", bind(fd, (struct sockaddr *)&sa, sizeof sa));
    printf("local %d\n", port_of(fd));
  } else if (!strcmp(scenario, "sendto-udp4") || !strcmp(scenario, "sendto-repeat")) {
    server(AF_INET, SOCK_DGRAM, &port);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = v4("127.0.0.1", port);
    int times = !strcmp(scenario, "sendto-repeat") ? 5 : 1;
    for (int i = 0; i < times; i++) sendto(fd, buf, sizeof buf, 0, (struct sockaddr *)&sa, sizeof sa);
    printf("local %d\n", port_of(fd));
  } else if (!strcmp(scenario, "sendto-udp6")) {
    server(AF_INET6, SOCK_DGRAM, &port);
    fd = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 sa = v6("::1", port);
    sendto(fd, buf, sizeof buf, 0, (struct sockaddr *)&sa, sizeof sa);
    printf("local %d\n", port_of(fd));
  } else if (!strcmp(scenario, "sendmsg-name") || !strcmp(scenario, "sendmsg-noname")) {
    server(AF_INET, SOCK_DGRAM, &port);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = v4("127.0.0.1", port);
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (!strcmp(scenario, "sendmsg-name")) {
      msg.msg_name = &sa;
      msg.msg_namelen = sizeof sa;
    } else {
      connect(fd, (struct sockaddr *)&sa, sizeof sa);
    }
    sendmsg(fd, &msg, 0);
    printf("local %d\n", port_of(fd));
  } else if (!strcmp(scenario, "recvfrom-udp4") || !strcmp(scenario, "recvmsg-udp6")) {
    // A UDP server receiving one datagram from each of three senders, with their addresses.
    int v6only = !strcmp(scenario, "recvmsg-udp6");
    int family = v6only ? AF_INET6 : AF_INET;
    int receiver = server(family, SOCK_DGRAM, &port);
    for (int i = 0; i < 3; i++) {
      int sender = socket(family, SOCK_DGRAM, 0);
      struct sockaddr_in to4 = v4("127.0.0.1", port);
      struct sockaddr_in6 to6 = v6("::1", port);
      if (v6only) sendto(sender, buf, sizeof buf, 0, (struct sockaddr *)&to6, sizeof to6);
      else sendto(sender, buf, sizeof buf, 0, (struct sockaddr *)&to4, sizeof to4);
      printf("sender %d\n", port_of(sender));
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      if (v6only) {
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
        recvmsg(receiver, &msg, 0);
      } else {
        recvfrom(receiver, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
      }
      close(sender);
    }
  } else if (!strcmp(scenario, "udp-connected-send")) {
    server(AF_INET, SOCK_DGRAM, &port);
    fd = connect4(SOCK_DGRAM, "127.0.0.1", port);
    send(fd, buf, sizeof buf, 0);
  } else if (!strcmp(scenario, "unix-ignored")) {
    struct sockaddr_un path = {.sun_family = AF_UNIX};
    snprintf(path.sun_path, sizeof path.sun_path, "/tmp/auditflow-fixture-%d.sock", getpid());
    srv = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(srv, (struct sockaddr *)&path, sizeof path);
    listen(srv, 4);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    report("connect", connect(fd, (struct sockaddr *)&path, sizeof path));
    unlink(path.sun_path);
    // An abstract name: a leading NUL, its length given by addrlen (man 7 unix).
    struct sockaddr_un abstract = {.sun_family = AF_UNIX};
    const char name[] = "auditflow-fixture";
    memcpy(abstract.sun_path + 1, name, sizeof name - 1);
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + sizeof name - 1;
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(dg, (struct sockaddr *)&abstract, alen);
    int tx = socket(AF_UNIX, SOCK_DGRAM, 0);
    sendto(tx, buf, sizeof buf, 0, (struct sockaddr *)&abstract, alen);
  } else if (!strcmp(scenario, "netlink-ignored")) {
    fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    struct {
      struct nlmsghdr nh;
      struct rtgenmsg gen;
    } request = {.nh = {.nlmsg_len = sizeof request, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1}, .gen = {.rtgen_family = AF_UNSPEC}};
    sendto(fd, &request, sizeof request, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } else if (!strcmp(scenario, "socket-tcp-vs-udp")) {
    int udp_port;
    server(AF_INET, SOCK_STREAM, &port);
    server(AF_INET, SOCK_DGRAM, &udp_port);
    connect4(SOCK_STREAM, "127.0.0.1", port);
    connect4(SOCK_DGRAM, "127.0.0.1", udp_port);
  } else if (!strcmp(scenario, "comm-hex")) {
    // 15 bytes, the most TASK_COMM_LEN (16) holds: spaces and quotes make the kernel
    // hex-encode comm (kernel/audit.c audit_string_contains_control).
    prctl(PR_SET_NAME, "my \"odd\" name");
    connect4(SOCK_STREAM, "127.0.0.1", CLOSED_PORT);
  } else {
    fprintf(stderr, "unknown scenario %s\n", scenario);
    return 2;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <scenario> [--hold]\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  int rc = run(argv[1]);
  printf("done\n");
  if (rc == 0 && argc > 2 && !strcmp(argv[2], "--hold")) {
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
    }
  }
  return rc;
}

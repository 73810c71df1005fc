// Workload of the fault tests (test/kernel/faults-*.test.ts), on loopback only.
// Build: gcc -O1 -o fault-workload fault-workload.c
//
//   fault-workload connect <first-port> <count> [<progress-file> [<pause-us>]]
//       For i in 0..count-1: socket(AF_INET, SOCK_STREAM) and a blocking connect() to
//       127.0.0.1:<first-port + i>, then close(). Each connect has its own known remote port, so a
//       test can tell which of them became flows. Whatever connect() returns (refused when nothing
//       listens there) is one audited event, as is the socket() before it. Writes "<i>\n" to the
//       progress file (if given) every 256 connects, pauses <pause-us> microseconds after each
//       connect (default none), then prints "done <count>".
//   fault-workload exec <hex path> <hex argv0> [<hex argv1> ...]
//       execv() of the hex-decoded path with the hex-decoded argv: how a test runs a program whose
//       name and arguments hold bytes a JavaScript string cannot carry (invalid UTF-8).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *unhex(const char *hex) {
  size_t length = strlen(hex) / 2;
  char *bytes = malloc(length + 1);
  if (bytes == NULL) exit(2);
  for (size_t i = 0; i < length; i++) {
    unsigned int byte;
    if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
      fprintf(stderr, "not hex: %s\n", hex);
      exit(2);
    }
    bytes[i] = (char)byte;
  }
  bytes[length] = '\0';
  return bytes;
}

static int connect_ports(int first, int count, const char *progress_path, int pause_us) {
  int progress = progress_path == NULL ? -1 : open(progress_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  for (int i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      perror("socket");
      return 2;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)(first + i))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, (struct sockaddr *)&address, sizeof address);
    close(fd);
    if (pause_us > 0) usleep((useconds_t)pause_us);
    if (progress >= 0 && (i + 1) % 256 == 0) {
      char line[32];
      int n = snprintf(line, sizeof line, "%d\n", i + 1);
      if (write(progress, line, (size_t)n) != n) perror("progress");
    }
  }
  printf("done %d\n", count);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "connect") == 0) return connect_ports(atoi(argv[2]), atoi(argv[3]), argc >= 5 ? argv[4] : NULL, argc >= 6 ? atoi(argv[5]) : 0);
  if (argc >= 4 && strcmp(argv[1], "exec") == 0) {
    char **args = calloc((size_t)argc - 2, sizeof *args);
    if (args == NULL) return 2;
    for (int i = 3; i < argc; i++) args[i - 3] = unhex(argv[i]);
    execv(unhex(argv[2]), args);
    perror("execv");
    return 2;
  }
  fprintf(stderr, "usage: fault-workload connect <first-port> <count> [<progress-file>] | exec <hex path> <hex argv...>\n");
  return 2;
}

// Benchmark workload: N worker processes make one kind of network syscall on loopback as
// fast as they can for a number of seconds, then the parent prints the total.
//   workload connect <workers> <seconds>   TCP connect + accept + close
//   workload sendto  <workers> <seconds>   UDP sendto with an explicit address
// Prints "ops <total>" on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int loopback_socket(int type, struct sockaddr_in *address) {
  int fd = socket(AF_INET, type, 0);
  memset(address, 0, sizeof *address);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof *address;
  if (fd < 0 || bind(fd, (struct sockaddr *)address, length) < 0 || getsockname(fd, (struct sockaddr *)address, &length) < 0) {
    perror("listener");
    exit(2);
  }
  return fd;
}

static long run_connect(double deadline) {
  struct sockaddr_in address;
  int listener = loopback_socket(SOCK_STREAM, &address);
  if (listen(listener, 1024) < 0) {
    perror("listen");
    exit(2);
  }
  long ops = 0;
  while ((ops & 63) != 0 || now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
      perror("connect");
      exit(2);
    }
    int accepted = accept(listener, NULL, NULL);
    close(accepted);
    close(fd);
    ops++;
  }
  return ops;
}

static long run_sendto(double deadline) {
  struct sockaddr_in address;
  int receiver = loopback_socket(SOCK_DGRAM, &address);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  char byte = 'x';
  long ops = 0;
  while ((ops & 63) != 0 || now() < deadline) {
    sendto(fd, &byte, 1, MSG_DONTWAIT, (struct sockaddr *)&address, sizeof address);
    // Keep the receiver's buffer from filling so every send takes the same path.
    if ((ops & 15) == 0) while (recv(receiver, &byte, 1, MSG_DONTWAIT) > 0) {}
    ops++;
  }
  return ops;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: workload connect|sendto <workers> <seconds>\n");
    return 2;
  }
  const char *mode = argv[1];
  int workers = atoi(argv[2]);
  double deadline = now() + atof(argv[3]);
  int pipes[2];
  if (pipe(pipes) < 0) return 2;
  for (int i = 0; i < workers; i++) {
    if (fork() == 0) {
      long ops = strcmp(mode, "sendto") == 0 ? run_sendto(deadline) : run_connect(deadline);
      if (write(pipes[1], &ops, sizeof ops) != sizeof ops) _exit(2);
      _exit(0);
    }
  }
  long total = 0;
  for (int i = 0; i < workers; i++) {
    long ops = 0;
    if (read(pipes[0], &ops, sizeof ops) == sizeof ops) total += ops;
    wait(NULL);
  }
  printf("ops %ld\n", total);
  return 0;
}

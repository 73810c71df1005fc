// The workload of the live process-context tests (test/kernel/process-live.test.ts): runs its
// options in order, one action each, on loopback only.
//   --bind            bind a UDP socket to 127.0.0.1:0
//   --wait            read one line from stdin (the test moves this process first)
//   --connect PORT    TCP connect to 127.0.0.1:PORT, then print "connected <pid>"
//   --hold            wait until stdin closes
//   --spawn PROG ...  run PROG with the remaining arguments (stdin and stdout shared), wait for it
//   -- ...            the remaining arguments are only there to be seen in argv
// Build: gcc -O1 -Wall -o process-workload process-workload.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what) {
  perror(what);
  return 1;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char line[256];
  for (int i = 1; i < argc; i++) {
    const char *option = argv[i];
    if (!strcmp(option, "--")) break;
    if (!strcmp(option, "--bind")) {
      int fd = socket(AF_INET, SOCK_DGRAM, 0);
      struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
      inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
      if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return fail("bind");
    } else if (!strcmp(option, "--wait")) {
      if (!fgets(line, sizeof line, stdin)) return 1;
    } else if (!strcmp(option, "--connect") && i + 1 < argc) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[++i]))};
      inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
      if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return fail("connect");
      printf("connected %d\n", getpid());
    } else if (!strcmp(option, "--hold")) {
      while (fgets(line, sizeof line, stdin)) {
      }
    } else if (!strcmp(option, "--spawn") && i + 1 < argc) {
      pid_t child = fork();
      if (child < 0) return fail("fork");
      if (child == 0) {
        execv(argv[i + 1], argv + i + 1);
        _exit(127);
      }
      int status = 0;
      waitpid(child, &status, 0);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    } else {
      fprintf(stderr, "unknown option %s\n", option);
      return 2;
    }
  }
  return 0;
}

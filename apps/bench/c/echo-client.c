/*
 * The echo load generator, the same for every server: N connections, each
 * keeps DEPTH messages of SIZE bytes in flight (one, by default: send a
 * message, wait for all of its echo, send the next). Every byte of the echo
 * is checked; each message that has come back whole is one round trip and
 * is replaced by a new one, written together with the others that completed
 * in the same read.
 *
 *   echo-client PORT CONNECTIONS SIZE SECONDS [SERVER_PID [DEPTH]]
 *
 * Connects everything, then runs until every connection has completed a
 * round trip (and at least a fifth of SECONDS has passed): that warm-up is
 * not counted. Then counts the round trips completed in SECONDS and prints
 * one JSON line: roundTrips, seconds, perSecond, clientCpuMs, and
 * serverCpuMs over the same window when SERVER_PID is given (0: none; from
 * /proc/PID/stat). Exits 1 on any error, a wrong echo included.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct connection {
  int fd;
  unsigned long long sent;      /* bytes written so far */
  unsigned long long received;  /* bytes of echo read so far */
  size_t owed;                  /* bytes of whole messages not written yet */
  long completed;               /* round trips, for the warm-up */
};

/* DEPTH + 1 copies of the message back to back: the bytes at stream offset k
 * are pattern[k % size], so any run of up to DEPTH messages starting at any
 * offset is one contiguous span of it. */
static char *pattern;
static char *scratch;
static size_t size;
static size_t depth = 1;
static int epoll_fd;

static void fail(const char *what) {
  fprintf(stderr, "echo-client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double own_cpu_ms(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

/* utime + stime of a process, in ms; -1 when unreadable. */
static double process_cpu_ms(int pid) {
  if (pid <= 0) return -1;
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *file = fopen(path, "r");
  if (file == NULL) return -1;
  size_t n = fread(text, 1, sizeof text - 1, file);
  fclose(file);
  text[n] = '\0';
  char *end = strrchr(text, ')'); /* the command name may hold spaces */
  if (end == NULL) return -1;
  unsigned long utime, stime;
  /* after ")": state(3) ... utime(14) stime(15) */
  if (sscanf(end + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
  return (double)(utime + stime) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

static void watch(struct connection *c, unsigned events) {
  struct epoll_event event = {.events = events, .data.ptr = c};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event) < 0) fail("epoll_ctl");
}

/* Write what is owed; wait for writability if the kernel takes only part. */
static void send_rest(struct connection *c) {
  while (c->owed > 0) {
    ssize_t n = write(c->fd, pattern + c->sent % size, c->owed);
    if (n > 0) {
      c->sent += (unsigned long long)n;
      c->owed -= (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      watch(c, EPOLLIN | EPOLLOUT);
      return;
    } else {
      fail("write");
    }
  }
}

/* Read what has come back; returns how many round trips it completed (each replaced by a new message). */
static long receive(struct connection *c) {
  ssize_t n = read(c->fd, scratch, depth * size);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n < 0) fail("read");
  if (n == 0) {
    errno = ECONNRESET;
    fail("server closed the connection");
  }
  if (c->received + (unsigned long long)n > c->sent || memcmp(scratch, pattern + c->received % size, (size_t)n) != 0) {
    errno = EPROTO;
    fail("wrong echo");
  }
  long done = (long)((c->received + (unsigned long long)n) / size - c->received / size);
  c->received += (unsigned long long)n;
  if (done == 0) return 0;
  c->completed += done;
  c->owed += (size_t)done * size;
  send_rest(c);
  return done;
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 7) {
    fprintf(stderr, "usage: echo-client PORT CONNECTIONS SIZE SECONDS [SERVER_PID [DEPTH]]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int count = atoi(argv[2]);
  size = (size_t)atol(argv[3]);
  double seconds = atof(argv[4]);
  int server_pid = argc >= 6 ? atoi(argv[5]) : 0;
  long depth_arg = argc == 7 ? atol(argv[6]) : 1;
  if (port <= 0 || count <= 0 || size == 0 || seconds <= 0 || depth_arg < 1 || depth_arg > 1024) {
    fprintf(stderr, "echo-client: bad arguments\n");
    return 2;
  }
  depth = (size_t)depth_arg;
  pattern = malloc((depth + 1) * size);
  scratch = malloc(depth * size);
  if (pattern == NULL || scratch == NULL) fail("malloc");
  for (size_t i = 0; i < (depth + 1) * size; i++) pattern[i] = (char)('a' + (i % size) % 26);

  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) fail("epoll_create1");
  struct connection *connections = calloc((size_t)count, sizeof *connections);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  for (int i = 0; i < count; i++) {
    struct connection *c = &connections[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) fail("socket");
    if (connect(c->fd, (struct sockaddr *)&address, sizeof address) < 0) fail("connect");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) fail("fcntl");
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &event) < 0) fail("epoll_ctl");
  }
  for (int i = 0; i < count; i++) {
    connections[i].owed = depth * size;
    send_rest(&connections[i]);
  }

  struct epoll_event *events = calloc((size_t)count, sizeof *events);
  double started = now(), warm_until = started + seconds / 5, deadline = started + 30 + seconds;
  int warm = 0, cold = count;
  long round_trips = 0;
  double window_start = 0, server_start = 0, client_start = 0;
  for (;;) {
    int ready = epoll_wait(epoll_fd, events, count, 50);
    if (ready < 0 && errno != EINTR) fail("epoll_wait");
    for (int i = 0; i < ready; i++) {
      struct connection *c = events[i].data.ptr;
      if (events[i].events & EPOLLOUT) {
        watch(c, EPOLLIN);
        send_rest(c);
      }
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        long done = receive(c);
        if (done > 0) {
          if (warm) round_trips += done;
          else if (c->completed == done) cold--;
        }
      }
    }
    double t = now();
    if (!warm) {
      if (cold == 0 && t >= warm_until) {
        warm = 1;
        window_start = t;
        server_start = process_cpu_ms(server_pid);
        client_start = own_cpu_ms();
      } else if (t > deadline) {
        errno = ETIMEDOUT;
        fprintf(stderr, "echo-client: %d of %d connections never got an echo\n", cold, count);
        fail("warm-up");
      }
    } else if (t - window_start >= seconds) {
      double elapsed = t - window_start;
      double server_end = process_cpu_ms(server_pid);
      double client_ms = own_cpu_ms() - client_start;
      printf("{\"roundTrips\":%ld,\"seconds\":%.4f,\"perSecond\":%.1f,\"clientCpuMs\":%.1f", round_trips, elapsed,
             (double)round_trips / elapsed, client_ms);
      if (server_start >= 0 && server_end >= 0) printf(",\"serverCpuMs\":%.1f", server_end - server_start);
      printf("}\n");
      return 0;
    }
  }
}

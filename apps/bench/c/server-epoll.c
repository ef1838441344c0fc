/*
 * The practical limit for the network benchmarks: a single-threaded,
 * level-triggered epoll server in plain C, doing per event what an event loop
 * must do at least (one read, one write).
 *
 *   server-epoll echo|http
 *
 * Listens on 127.0.0.1 on a free port, prints "listening on 127.0.0.1:PORT",
 * runs until killed. echo: writes back every byte it reads. http: answers
 * every request (every "\r\n\r\n" seen) with the same fixed HTTP/1.1 200
 * response and keeps the connection open.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server-common.h"

#define READ_SIZE 65536
#define MAX_EVENTS 256

struct connection {
  int fd;
  int match;       /* http: how much of "\r\n\r\n" the last bytes matched */
  char *pending;   /* bytes the kernel did not take yet */
  size_t pending_length;
};

static int http_mode;
static int epoll_fd;

static void close_connection(struct connection *c) {
  close(c->fd);
  free(c->pending);
  free(c);
}

/* Write all of data, keeping what the kernel refuses; 0 on success, -1 when the peer is gone. */
static int send_all(struct connection *c, const char *data, size_t length) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = write(c->fd, data + done, length - done);
    if (n > 0) {
      done += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c->pending = realloc(c->pending, c->pending_length + length - done);
      memcpy(c->pending + c->pending_length, data + done, length - done);
      c->pending_length += length - done;
      struct epoll_event event = {.events = EPOLLOUT, .data.ptr = c};
      if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event) < 0) die("epoll_ctl");
      return 0;
    } else {
      return -1;
    }
  }
  return 0;
}

static void on_writable(struct connection *c) {
  char *data = c->pending;
  size_t length = c->pending_length;
  c->pending = NULL;
  c->pending_length = 0;
  struct epoll_event event = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event) < 0) die("epoll_ctl");
  int gone = send_all(c, data, length);
  free(data);
  if (gone) close_connection(c);
}

static void on_readable(struct connection *c) {
  static char buffer[READ_SIZE];
  static char responses[READ_SIZE];
  ssize_t n = read(c->fd, buffer, sizeof buffer);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    close_connection(c);
    return;
  }
  int gone;
  if (!http_mode) {
    gone = send_all(c, buffer, (size_t)n);
  } else {
    size_t count = request_ends(&c->match, buffer, (size_t)n);
    size_t length = 0;
    gone = 0;
    for (size_t i = 0; i < count && !gone; i++) {
      if (length + sizeof RESPONSE - 1 > sizeof responses) {
        gone = send_all(c, responses, length);
        length = 0;
      }
      memcpy(responses + length, RESPONSE, sizeof RESPONSE - 1);
      length += sizeof RESPONSE - 1;
    }
    if (!gone && length > 0) gone = send_all(c, responses, length);
  }
  if (gone) close_connection(c);
}

int main(int argc, char **argv) {
  if (argc != 2 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "http") != 0)) {
    fprintf(stderr, "usage: server-epoll echo|http\n");
    return 2;
  }
  http_mode = strcmp(argv[1], "http") == 0;
  int port;
  int listener = listen_on_loopback(SOCK_NONBLOCK | SOCK_CLOEXEC, &port);
  int one = 1;
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) die("epoll_create1");
  struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) < 0) die("epoll_ctl");
  printf("listening on 127.0.0.1:%d\n", port);
  fflush(stdout);

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < ready; i++) {
      struct connection *c = events[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct connection *fresh = calloc(1, sizeof *fresh);
          fresh->fd = fd;
          struct epoll_event watch = {.events = EPOLLIN, .data.ptr = fresh};
          if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &watch) < 0) die("epoll_ctl");
        }
      } else if (c->pending_length > 0) {
        on_writable(c);
      } else {
        on_readable(c);
      }
    }
  }
}

/*
 * What the two C benchmark servers (server-epoll.c, server-uring.c) share:
 * the fixed HTTP response and its request ends, fatal errors, and the
 * listening socket.
 */
#ifndef EVLOOP_BENCH_SERVER_COMMON_H
#define EVLOOP_BENCH_SERVER_COMMON_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/* A failed call: its errno, then exit. */
static inline void die(const char *what) {
  perror(what);
  exit(1);
}

/* A fatal condition with no errno: the message, then exit. */
static inline void fail(const char *message) {
  fprintf(stderr, "%s\n", message);
  exit(1);
}

/*
 * http: how many requests end ("\r\n\r\n") in data[0..n); *match carries
 * how much of that end the bytes before matched, from call to call.
 */
static inline size_t request_ends(int *match, const char *data, size_t n) {
  static const char END[] = "\r\n\r\n";
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    if (data[i] == END[*match]) {
      if (++*match == 4) {
        count++;
        *match = 0;
      }
    } else {
      *match = data[i] == '\r' ? 1 : 0;
    }
  }
  return count;
}

/* A socket listening on 127.0.0.1 on a free port (backlog 1024); `flags` are added to SOCK_STREAM. */
static inline int listen_on_loopback(int flags, int *port) {
  int listener = socket(AF_INET, SOCK_STREAM | flags, 0);
  if (listener < 0) die("socket");
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) die("bind");
  if (listen(listener, 1024) < 0) die("listen");
  socklen_t address_length = sizeof address;
  if (getsockname(listener, (struct sockaddr *)&address, &address_length) < 0) die("getsockname");
  *port = ntohs(address.sin_port);
  return listener;
}

#endif

/*
 * The io_uring counterpart of server-epoll.c: a single-threaded io_uring
 * server in plain C (raw syscalls, the kernel's own header, no liburing),
 * doing per message what a completion-based loop must do at least. It is
 * the floor for evloop's io_uring backend in the same way server-epoll.c is
 * the floor for its epoll backend.
 *
 *   server-uring echo|http [plain|registered]
 *
 * Same protocol and output as server-epoll. The ring is set up the way the
 * fastest variant measured for evloop's proactor was: DEFER_TASKRUN with
 * SINGLE_ISSUER and COOP_TASKRUN (each dropped when the kernel refuses it),
 * one multishot accept, one multishot receive per connection into a ring of
 * provided buffers (re-armed after ENOBUFS or when the kernel ends it), one
 * send in flight per connection with later bytes queued behind it, and one
 * io_uring_enter per iteration that submits everything and waits for one
 * completion.
 *
 * The second argument picks how bytes are sent:
 *   plain       IORING_OP_SEND from a private buffer per connection (default)
 *   registered  IORING_OP_WRITE_FIXED from a slot of one buffer registered
 *               with IORING_REGISTER_BUFFERS (the kernel skips mapping the
 *               user pages for each send); what evloop would gain from
 *               registered buffers, before its own extra copy into them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "server-common.h"

#define SQ_ENTRIES 4096
#define CQ_ENTRIES 16384
#define BUFFER_COUNT 4096 /* provided receive buffers, a power of two */
#define BUFFER_SIZE 4096
#define BUFFER_GROUP 1
#define SLOT_COUNT 2048 /* registered mode: one send slot per connection */
#define SLOT_SIZE 16384

/* What a completion is for: the low bits of user_data (connections are 16-byte aligned). */
enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };
#define OP_MASK 15ULL

struct connection {
  int fd;
  int match;          /* http: how much of "\r\n\r\n" the last bytes matched */
  int receiving;      /* a multishot receive is armed */
  int sending;        /* a send is in flight */
  int closing;        /* the peer is gone: free once nothing is in flight */
  int slot;           /* registered mode: this connection's send slot, or -1 */
  int fixed;          /* the send in flight is from the slot (WRITE_FIXED) */
  const char *sent;   /* the bytes of the send in flight: the slot or `out` */
  size_t sent_length, sent_done;
  char *out;          /* a private buffer for sends not from the slot */
  size_t out_capacity;
  char *queue;        /* bytes that arrived while a send was in flight */
  size_t queue_length, queue_capacity;
} __attribute__((aligned(16)));

static struct {
  int fd;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  unsigned sq_local_tail; /* SQEs filled in but not yet published */
  unsigned to_submit;
} ring;

static struct io_uring_buf_ring *buffer_ring;
static char *buffers;
static unsigned short buffer_tail;
static int http_mode, registered_mode, listener;
static char *slots;
static int free_slots[SLOT_COUNT], free_slot_count;

static int sys_setup(unsigned entries, struct io_uring_params *p) { return (int)syscall(__NR_io_uring_setup, entries, p); }
static int sys_enter(unsigned submit, unsigned wait, unsigned flags) {
  return (int)syscall(__NR_io_uring_enter, ring.fd, submit, wait, flags, NULL, 0);
}
static int sys_register(unsigned opcode, void *arg, unsigned count) {
  return (int)syscall(__NR_io_uring_register, ring.fd, opcode, arg, count);
}

static void setup_ring(void) {
  const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  const unsigned tries[] = {
      base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
      base | IORING_SETUP_COOP_TASKRUN,
      base,
  };
  struct io_uring_params p;
  ring.fd = -1;
  for (size_t i = 0; i < sizeof tries / sizeof tries[0] && ring.fd < 0; i++) {
    memset(&p, 0, sizeof p);
    p.flags = tries[i];
    p.cq_entries = CQ_ENTRIES;
    ring.fd = sys_setup(SQ_ENTRIES, &p);
    if (ring.fd < 0 && errno != EINVAL) die("io_uring_setup");
  }
  if (ring.fd < 0) die("io_uring_setup");
  if (!(p.features & IORING_FEAT_SINGLE_MMAP) || !(p.features & IORING_FEAT_NODROP)) fail("io_uring: kernel too old (needs 5.5 features)");
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  size_t size = sq_size > cq_size ? sq_size : cq_size;
  char *rings = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd, IORING_OFF_SQ_RING);
  if (rings == MAP_FAILED) die("mmap rings");
  ring.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring.fd,
                   IORING_OFF_SQES);
  if (ring.sqes == MAP_FAILED) die("mmap sqes");
  ring.sq_head = (unsigned *)(rings + p.sq_off.head);
  ring.sq_tail = (unsigned *)(rings + p.sq_off.tail);
  ring.sq_mask = (unsigned *)(rings + p.sq_off.ring_mask);
  ring.sq_array = (unsigned *)(rings + p.sq_off.array);
  ring.cq_head = (unsigned *)(rings + p.cq_off.head);
  ring.cq_tail = (unsigned *)(rings + p.cq_off.tail);
  ring.cq_mask = (unsigned *)(rings + p.cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *)(rings + p.cq_off.cqes);
  for (unsigned i = 0; i < p.sq_entries; i++) ring.sq_array[i] = i; /* slot i always holds SQE i */
  ring.sq_local_tail = *ring.sq_tail;
}

/* Hand every filled-in SQE to the kernel; wait for `wait` completions (0: do not wait). */
static void submit(unsigned wait) {
  __atomic_store_n(ring.sq_tail, ring.sq_local_tail, __ATOMIC_RELEASE);
  for (;;) {
    int n = sys_enter(ring.to_submit, wait, wait > 0 ? IORING_ENTER_GETEVENTS : 0);
    if (n >= 0) {
      ring.to_submit -= (unsigned)n < ring.to_submit ? (unsigned)n : ring.to_submit;
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EBUSY || errno == EAGAIN) return; /* completions overflowed: harvest first */
    die("io_uring_enter");
  }
}

static int sq_full(void) { return ring.sq_local_tail - __atomic_load_n(ring.sq_head, __ATOMIC_ACQUIRE) >= SQ_ENTRIES; }

static struct io_uring_sqe *next_sqe(void) {
  if (sq_full()) {
    submit(0);
    /* Only when the kernel would not take them (completions overflowed): never overwrite an unsubmitted entry. */
    if (sq_full()) fail("io_uring: submission queue full and not taken");
  }
  struct io_uring_sqe *sqe = &ring.sqes[ring.sq_local_tail & *ring.sq_mask];
  memset(sqe, 0, sizeof *sqe);
  ring.sq_local_tail++;
  ring.to_submit++;
  return sqe;
}

static void setup_buffers(void) {
  size_t ring_size = BUFFER_COUNT * sizeof(struct io_uring_buf);
  buffer_ring = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer_ring == MAP_FAILED) die("mmap buffer ring");
  buffers = malloc((size_t)BUFFER_COUNT * BUFFER_SIZE);
  if (buffers == NULL) die("malloc");
  struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)buffer_ring, .ring_entries = BUFFER_COUNT, .bgid = BUFFER_GROUP};
  if (sys_register(IORING_REGISTER_PBUF_RING, &reg, 1) < 0) die("IORING_REGISTER_PBUF_RING");
  for (unsigned i = 0; i < BUFFER_COUNT; i++) {
    struct io_uring_buf *b = &buffer_ring->bufs[i];
    b->addr = (uint64_t)(uintptr_t)(buffers + (size_t)i * BUFFER_SIZE);
    b->len = BUFFER_SIZE;
    b->bid = (unsigned short)i;
  }
  buffer_tail = BUFFER_COUNT;
  __atomic_store_n(&buffer_ring->tail, buffer_tail, __ATOMIC_RELEASE);
}

/* Give buffer `bid` back to the kernel. */
static void recycle(unsigned short bid) {
  struct io_uring_buf *b = &buffer_ring->bufs[buffer_tail & (BUFFER_COUNT - 1)];
  b->addr = (uint64_t)(uintptr_t)(buffers + (size_t)bid * BUFFER_SIZE);
  b->len = BUFFER_SIZE;
  b->bid = bid;
  buffer_tail++;
  __atomic_store_n(&buffer_ring->tail, buffer_tail, __ATOMIC_RELEASE);
}

static void setup_slots(void) {
  size_t size = (size_t)SLOT_COUNT * SLOT_SIZE;
  slots = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (slots == MAP_FAILED) die("mmap slots");
  struct iovec iov = {.iov_base = slots, .iov_len = size};
  if (sys_register(IORING_REGISTER_BUFFERS, &iov, 1) < 0) die("IORING_REGISTER_BUFFERS");
  for (int i = 0; i < SLOT_COUNT; i++) free_slots[i] = SLOT_COUNT - 1 - i;
  free_slot_count = SLOT_COUNT;
}

static void arm_accept(void) {
  struct io_uring_sqe *sqe = next_sqe();
  sqe->opcode = IORING_OP_ACCEPT;
  sqe->fd = listener;
  sqe->ioprio = IORING_ACCEPT_MULTISHOT;
  sqe->accept_flags = SOCK_CLOEXEC;
  sqe->user_data = OP_ACCEPT;
}

static void arm_recv(struct connection *c) {
  struct io_uring_sqe *sqe = next_sqe();
  sqe->opcode = IORING_OP_RECV;
  sqe->fd = c->fd;
  sqe->ioprio = IORING_RECV_MULTISHOT;
  sqe->flags = IOSQE_BUFFER_SELECT;
  sqe->buf_group = BUFFER_GROUP;
  sqe->user_data = (uint64_t)(uintptr_t)c | OP_RECV;
  c->receiving = 1;
}

static void start_send(struct connection *c) {
  struct io_uring_sqe *sqe = next_sqe();
  const char *from = c->sent + c->sent_done;
  unsigned length = (unsigned)(c->sent_length - c->sent_done);
  if (c->fixed) {
    sqe->opcode = IORING_OP_WRITE_FIXED;
    sqe->buf_index = 0;
    sqe->off = 0; /* sockets take no offset */
  } else {
    sqe->opcode = IORING_OP_SEND;
    sqe->msg_flags = MSG_NOSIGNAL;
  }
  sqe->fd = c->fd;
  sqe->addr = (uint64_t)(uintptr_t)from;
  sqe->len = length;
  sqe->user_data = (uint64_t)(uintptr_t)c | OP_SEND;
  c->sending = 1;
}

static void append(char **data, size_t *length, size_t *capacity, const char *bytes, size_t n) {
  if (*length + n > *capacity) {
    size_t grown = *capacity ? *capacity : 1024;
    while (grown < *length + n) grown *= 2;
    *data = realloc(*data, grown);
    if (*data == NULL) die("realloc");
    *capacity = grown;
  }
  memcpy(*data + *length, bytes, n);
  *length += n;
}

/* Send the queued bytes: copied into the registered slot when they fit, else by swapping `queue` and `out`. */
static void flush(struct connection *c) {
  if (c->sending || c->queue_length == 0) return;
  c->fixed = c->slot >= 0 && c->queue_length <= SLOT_SIZE;
  if (c->fixed) {
    char *slot = slots + (size_t)c->slot * SLOT_SIZE;
    memcpy(slot, c->queue, c->queue_length);
    c->sent = slot;
  } else {
    char *spare = c->out;
    size_t spare_capacity = c->out_capacity;
    c->out = c->queue;
    c->out_capacity = c->queue_capacity;
    c->queue = spare;
    c->queue_capacity = spare_capacity;
    c->sent = c->out;
  }
  c->sent_length = c->queue_length;
  c->sent_done = 0;
  c->queue_length = 0;
  start_send(c);
}

static void release(struct connection *c) {
  if (c->receiving || c->sending) return;
  close(c->fd);
  if (c->slot >= 0) free_slots[free_slot_count++] = c->slot;
  free(c->out);
  free(c->queue);
  free(c);
}

/* The peer is gone or failed: stop receiving and free once nothing is in flight. */
static void finish(struct connection *c) {
  if (!c->closing) {
    c->closing = 1;
    if (c->receiving) shutdown(c->fd, SHUT_RDWR); /* ends the multishot receive */
  }
  release(c);
}

static void on_bytes(struct connection *c, const char *data, size_t n) {
  if (!http_mode) {
    append(&c->queue, &c->queue_length, &c->queue_capacity, data, n);
    return;
  }
  for (size_t ends = request_ends(&c->match, data, n); ends > 0; ends--)
    append(&c->queue, &c->queue_length, &c->queue_capacity, RESPONSE, sizeof RESPONSE - 1);
}

static void on_completion(const struct io_uring_cqe *cqe) {
  unsigned op = (unsigned)(cqe->user_data & OP_MASK);
  struct connection *c = (struct connection *)(uintptr_t)(cqe->user_data & ~OP_MASK);
  int more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  switch (op) {
    case OP_ACCEPT: {
      if (cqe->res >= 0) {
        int one = 1;
        setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct connection *fresh = aligned_alloc(16, sizeof *fresh);
        if (fresh == NULL) die("aligned_alloc");
        memset(fresh, 0, sizeof *fresh);
        fresh->fd = cqe->res;
        fresh->slot = registered_mode && free_slot_count > 0 ? free_slots[--free_slot_count] : -1;
        arm_recv(fresh);
      }
      if (!more) arm_accept();
      return;
    }
    case OP_RECV: {
      if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned short bid = (unsigned short)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        if (cqe->res > 0 && !c->closing) on_bytes(c, buffers + (size_t)bid * BUFFER_SIZE, (size_t)cqe->res);
        recycle(bid);
      }
      if (!more) c->receiving = 0;
      if (c->closing) return release(c);
      if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS)) return finish(c);
      if (!more) arm_recv(c); /* the kernel ended it (ENOBUFS, or a full CQ): re-arm */
      flush(c);
      return;
    }
    case OP_SEND: {
      c->sending = 0;
      if (c->closing) return release(c);
      if (cqe->res < 0) return finish(c);
      c->sent_done += (size_t)cqe->res;
      if (c->sent_done < c->sent_length) return start_send(c); /* short send: the rest */
      flush(c);
      return;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "http") != 0) ||
      (argc == 3 && strcmp(argv[2], "plain") != 0 && strcmp(argv[2], "registered") != 0)) {
    fprintf(stderr, "usage: server-uring echo|http [plain|registered]\n");
    return 2;
  }
  http_mode = strcmp(argv[1], "http") == 0;
  signal(SIGPIPE, SIG_IGN); /* a write (WRITE_FIXED) to a closed peer raises it; SEND has MSG_NOSIGNAL */
  registered_mode = argc == 3 && strcmp(argv[2], "registered") == 0;
  int port;
  listener = listen_on_loopback(SOCK_CLOEXEC, &port);
  setup_ring();
  setup_buffers();
  if (registered_mode) setup_slots();
  arm_accept();
  printf("listening on 127.0.0.1:%d\n", port);
  fflush(stdout);

  for (;;) {
    submit(1);
    unsigned head = *ring.cq_head;
    unsigned tail = __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE);
    while (head != tail) {
      on_completion(&ring.cqes[head & *ring.cq_mask]);
      head++;
      /* Free the CQ entry at once: a long batch may let the kernel post more. */
      __atomic_store_n(ring.cq_head, head, __ATOMIC_RELEASE);
      if (head == tail) tail = __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE);
    }
  }
}

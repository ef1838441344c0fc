// A stand-in for <sys/event.h> on Linux, for the emulated test run only
// (see kqueue-emulation.cc). It declares the subset of kqueue that
// src/native/kqueue.cc uses, with macOS's field types and values.
#ifndef EVLOOP_TEST_EMULATED_SYS_EVENT_H_
#define EVLOOP_TEST_EMULATED_SYS_EVENT_H_

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kevent {
  uintptr_t ident;
  int16_t filter;
  uint16_t flags;
  uint32_t fflags;
  intptr_t data;
  void* udata;
};

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)

#define EV_ADD 0x0001
#define EV_DELETE 0x0002
// Some BSDs have no EV_RECEIPT; defining this takes it away, to test the
// one-change-per-call path of kqueue.cc.
#ifndef EVLOOP_EMULATE_NO_EV_RECEIPT
#define EV_RECEIPT 0x0040
#endif
#define EV_ERROR 0x4000
#define EV_EOF 0x8000

#define EV_SET(kevp, a, b, c, d, e, f) \
  do {                                 \
    struct kevent* kevp_ = (kevp);     \
    kevp_->ident = (a);                \
    kevp_->filter = (b);               \
    kevp_->flags = (c);                \
    kevp_->fflags = (d);               \
    kevp_->data = (e);                 \
    kevp_->udata = (f);                \
  } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent* changelist, int nchanges, struct kevent* eventlist, int nevents,
           const struct timespec* timeout);

#ifdef __cplusplus
}
#endif

#endif  // EVLOOP_TEST_EMULATED_SYS_EVENT_H_

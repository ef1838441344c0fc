// kqueue on macOS and the BSDs. Compiled on every platform (addon.cc exports
// only `unsupportedReason` where kqueue does not exist), so this file is
// empty elsewhere; scripts/cross-check.sh compiles and links it for macOS
// from Linux, and the tests run it on Linux over test/emulation.
//
// Semantics follow CPython's selectors.KqueueSelector: EVENT_READ is an
// EVFILT_READ filter and EVENT_WRITE an EVFILT_WRITE filter on the same fd,
// both level-triggered (no EV_CLEAR, no EV_ONESHOT). Unlike CPython, which
// reports each filter as its own (key, event) tuple, Wait merges the two
// filters of an fd into one (fd, events) pair, as the other backends report.
#include "evloop/platform.h"

#if defined(EVLOOP_HAS_KQUEUE)

#include "kqueue.h"

#include <fcntl.h>
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace evloop {

namespace {

constexpr int64_t kNanosPerSecond = 1000000000;
constexpr int64_t kNanosPerMilli = 1000000;

int64_t NowNanos() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * kNanosPerSecond + now.tv_nsec;
}

struct timespec ToTimespec(int64_t nanos) {
  struct timespec result;
  result.tv_sec = static_cast<time_t>(nanos / kNanosPerSecond);
  result.tv_nsec = static_cast<long>(nanos % kNanosPerSecond);
  return result;
}

// A change for one filter of `fd`. udata is left 0: Wait identifies an event
// by its ident (the fd), which kqueue always reports.
struct kevent Change(int fd, int filter, int flags) {
  struct kevent change = {};
  EV_SET(&change, fd, filter, flags, 0, 0, 0);
  return change;
}

int ToEvents(const struct kevent& event) {
  // EV_EOF and EV_ERROR ride on the filter that saw them: the reader or the
  // writer is woken and meets the end of file or the error on its own call.
  if (event.filter == EVFILT_READ) return kEventRead;
  if (event.filter == EVFILT_WRITE) return kEventWrite;
  return 0;
}

}  // namespace

Kqueue::~Kqueue() { Close(); }

Status Kqueue::Probe() {
  Kqueue kqueue;
  return kqueue.Open();
}

Status Kqueue::Open() {
  const int fd = kqueue();
  if (fd < 0) return Status::Errno(errno, "kqueue");
  // kqueue() has no close-on-exec flag on every platform (kqueuex and
  // kqueue1 are not portable), so set it right away.
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    const int error = errno;
    close(fd);
    return Status::Errno(error, "fcntl");
  }
  fd_ = fd;
  return Status::Ok();
}

int Kqueue::Apply(struct kevent* changes, int count, int* errors) {
  for (int i = 0; i < count; i++) errors[i] = 0;
  if (fd_ < 0) return -EBADF;
  // Registration never waits; a zero timeout also keeps a kernel that would
  // scan for events after the changes from blocking here.
  const struct timespec no_wait = {0, 0};
#ifdef EV_RECEIPT
  // With EV_RECEIPT each change comes back as an EV_ERROR entry whose data is
  // its errno (0 on success), every change is attempted even when an earlier
  // one fails, and no pending event is taken off the queue.
  struct kevent receipts[2];
  for (int i = 0; i < count; i++) changes[i].flags |= EV_RECEIPT;
  int received;
  do {
    received = kevent(fd_, changes, count, receipts, count, &no_wait);
  } while (received < 0 && errno == EINTR);
  if (received < 0) return -errno;
  for (int r = 0; r < received; r++) {
    if ((receipts[r].flags & EV_ERROR) == 0 || receipts[r].data == 0) continue;
    for (int i = 0; i < count; i++) {
      if (changes[i].filter == receipts[r].filter) errors[i] = static_cast<int>(receipts[r].data);
    }
  }
#else
  // Without EV_RECEIPT a failed change stops the rest of the list, so apply
  // the changes one at a time and read each error from errno.
  for (int i = 0; i < count; i++) {
    int result;
    do {
      result = kevent(fd_, &changes[i], 1, nullptr, 0, &no_wait);
    } while (result < 0 && errno == EINTR);
    if (result < 0) errors[i] = errno;
  }
#endif
  return 0;
}

Status Kqueue::Add(int fd, int events) {
  struct kevent changes[2];
  int count = 0;
  if (events & kEventRead) changes[count++] = Change(fd, EVFILT_READ, EV_ADD);
  if (events & kEventWrite) changes[count++] = Change(fd, EVFILT_WRITE, EV_ADD);
  int errors[2];
  const int result = Apply(changes, count, errors);
  if (result < 0) return Status::Errno(-result, "kevent");
  int failure = 0;
  struct kevent undo[2];
  int undo_count = 0;
  for (int i = 0; i < count; i++) {
    if (errors[i] != 0) {
      if (failure == 0) failure = errors[i];
    } else {
      undo[undo_count++] = Change(fd, changes[i].filter, EV_DELETE);
    }
  }
  if (failure == 0) return Status::Ok();
  // As CPython's register: a half-registered fd is taken back.
  if (undo_count > 0) {
    int ignored[2];
    Apply(undo, undo_count, ignored);
  }
  return Status::Errno(failure, "kevent");
}

Status Kqueue::Modify(int fd, int events) {
  struct kevent changes[2] = {
      Change(fd, EVFILT_READ, (events & kEventRead) ? EV_ADD : EV_DELETE),
      Change(fd, EVFILT_WRITE, (events & kEventWrite) ? EV_ADD : EV_DELETE),
  };
  int errors[2];
  const int result = Apply(changes, 2, errors);
  if (result < 0) return Status::Errno(-result, "kevent");
  int failure = 0;
  for (int i = 0; i < 2; i++) {
    const bool deleting = (changes[i].flags & EV_DELETE) != 0;
    if (errors[i] != 0 && !(deleting && errors[i] == ENOENT) && failure == 0) failure = errors[i];
  }
  if (failure == 0) return Status::Ok();
  // An add failed: put back a filter this call deleted, so the fd keeps the
  // events it had before and the caller's key still tells the truth.
  struct kevent restore[2];
  int restore_count = 0;
  for (int i = 0; i < 2; i++) {
    if ((changes[i].flags & EV_DELETE) != 0 && errors[i] == 0) {
      restore[restore_count++] = Change(fd, changes[i].filter, EV_ADD);
    }
  }
  if (restore_count > 0) {
    int ignored[2];
    Apply(restore, restore_count, ignored);
  }
  return Status::Errno(failure, "kevent");
}

Status Kqueue::Remove(int fd) {
  struct kevent changes[2] = {
      Change(fd, EVFILT_READ, EV_DELETE),
      Change(fd, EVFILT_WRITE, EV_DELETE),
  };
  int errors[2];
  const int result = Apply(changes, 2, errors);
  if (result < 0) return Status::Errno(-result, "kevent");
  for (int i = 0; i < 2; i++) {
    // Closing an fd removes its filters, so EBADF (closed) and ENOENT (this
    // filter was never added, or the number now names another file) are the
    // normal outcome of unregistering a closed file, as in CPython.
    if (errors[i] != 0 && errors[i] != ENOENT && errors[i] != EBADF) return Status::Errno(errors[i], "kevent");
  }
  return Status::Ok();
}

int Kqueue::Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status) {
  if (fd_ < 0 || capacity == 0) {
    *status = Status::Errno(fd_ < 0 ? EBADF : EINVAL, "kevent");
    return -1;
  }
  // One kevent per filter, and merging only shrinks the list: asking for at
  // most `capacity` kevents means every merged pair fits in `out`. A ready
  // filter left in the kernel is reported by the next call (level-triggered).
  const size_t max_events = std::min(capacity, static_cast<size_t>(INT_MAX));
  if (scratch_.size() < max_events * sizeof(struct kevent)) {
    scratch_.resize(max_events * sizeof(struct kevent));
  }
  auto* events = reinterpret_cast<struct kevent*>(scratch_.data());

  const int64_t deadline = timeout_ms > 0 ? NowNanos() + timeout_ms * kNanosPerMilli : 0;
  struct timespec timeout = ToTimespec(timeout_ms > 0 ? timeout_ms * kNanosPerMilli : 0);
  int count;
  for (;;) {
    count = kevent(fd_, nullptr, 0, events, static_cast<int>(max_events), timeout_ms < 0 ? nullptr : &timeout);
    if (count >= 0 || errno != EINTR) break;
    if (timeout_ms > 0) {
      const int64_t left = deadline - NowNanos();
      timeout = ToTimespec(left > 0 ? left : 0);
    }
  }
  if (count < 0) {
    *status = Status::Errno(errno, "kevent");
    return -1;
  }

  // The read and write filters of one fd arrive as separate kevents, in no
  // promised order: sort by fd, then fold neighbours into one pair.
  std::sort(events, events + count,
            [](const struct kevent& a, const struct kevent& b) { return a.ident < b.ident; });
  int pairs = 0;
  for (int i = 0; i < count; i++) {
    const int mask = ToEvents(events[i]);
    if (mask == 0) continue;
    const auto fd = static_cast<int32_t>(events[i].ident);
    if (pairs > 0 && out[2 * (pairs - 1)] == fd) {
      out[2 * (pairs - 1) + 1] |= mask;
    } else {
      out[2 * pairs] = fd;
      out[2 * pairs + 1] = mask;
      pairs++;
    }
  }
  return pairs;
}

void Kqueue::Close() {
  if (fd_ >= 0) {
    // Not retried on EINTR: on macOS and the BSDs the fd is gone either way.
    close(fd_);
    fd_ = -1;
  }
}

}  // namespace evloop

#endif  // defined(EVLOOP_HAS_KQUEUE)

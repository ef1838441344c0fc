// epoll on Linux. Compiled on every platform (addon.cc exports only
// `unsupportedReason` where epoll does not exist), so this file is empty
// elsewhere.
#include "evloop/platform.h"

#if defined(EVLOOP_HAS_EPOLL)

#include "epoll.h"

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace evloop {

namespace {

uint32_t ToEpollEvents(int events) {
  uint32_t result = 0;
  if (events & kEventRead) result |= EPOLLIN;
  if (events & kEventWrite) result |= EPOLLOUT;
  if (events & kEventPriority) result |= EPOLLPRI;
  return result;
}

// As CPython's selectors.EpollSelector: every bit other than EPOLLOUT
// (EPOLLIN, EPOLLHUP, EPOLLERR, EPOLLRDHUP, ...) makes the fd readable, and
// every bit other than EPOLLIN makes it writable, so an error or a hang-up
// wakes both readers and writers, which then see the error on their call.
// EPOLLPRI (reported only when asked for) is urgent data: priority only;
// an error or hang-up wakes a priority watcher too (it would spin otherwise).
int FromEpollEvents(uint32_t events) {
  int result = 0;
  if (events & ~static_cast<uint32_t>(EPOLLOUT | EPOLLPRI)) result |= kEventRead;
  if (events & ~static_cast<uint32_t>(EPOLLIN | EPOLLPRI)) result |= kEventWrite;
  if (events & (EPOLLPRI | EPOLLERR | EPOLLHUP)) result |= kEventPriority;
  return result;
}

int64_t NowMs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

}  // namespace

Status Epoll::Probe() {
  Epoll epoll;
  return epoll.Open();
}

Status Epoll::Open() {
  fd_ = epoll_create1(EPOLL_CLOEXEC);
  return fd_ < 0 ? Status::Errno(errno, "epoll_create1") : Status::Ok();
}

Status Epoll::Control(int op, int fd, int events) {
  if (fd_ < 0) return Status::Errno(EBADF, "epoll_ctl");
  struct epoll_event event = {};
  event.events = ToEpollEvents(events);
  event.data.fd = fd;
  return epoll_ctl(fd_, op, fd, &event) < 0 ? Status::Errno(errno, "epoll_ctl") : Status::Ok();
}

Status Epoll::Add(int fd, int events) { return Control(EPOLL_CTL_ADD, fd, events); }

Status Epoll::Modify(int fd, int events) { return Control(EPOLL_CTL_MOD, fd, events); }

Status Epoll::Remove(int fd) { return Control(EPOLL_CTL_DEL, fd, 0); }

int Epoll::Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status) {
  if (fd_ < 0 || capacity == 0) {
    *status = Status::Errno(fd_ < 0 ? EBADF : EINVAL, "epoll_wait");
    return -1;
  }
  const size_t max_events = capacity > 0x7fffffff ? 0x7fffffff : capacity;
  if (scratch_.size() < max_events * sizeof(struct epoll_event)) {
    scratch_.resize(max_events * sizeof(struct epoll_event));
  }
  auto* events = reinterpret_cast<struct epoll_event*>(scratch_.data());
  const int64_t deadline = timeout_ms > 0 ? NowMs() + timeout_ms : 0;
  int count;
  for (;;) {
    count = epoll_wait(fd_, events, static_cast<int>(max_events), timeout_ms);
    if (count >= 0 || errno != EINTR) break;
    if (timeout_ms > 0) {
      const int64_t left = deadline - NowMs();
      timeout_ms = left > 0 ? static_cast<int>(left) : 0;
    }
  }
  if (count < 0) {
    *status = Status::Errno(errno, "epoll_wait");
    return -1;
  }
  for (int i = 0; i < count; i++) {
    out[2 * i] = events[i].data.fd;
    out[2 * i + 1] = FromEpollEvents(events[i].events);
  }
  return count;
}

void Epoll::Close() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

}  // namespace evloop

#endif  // defined(EVLOOP_HAS_EPOLL)

// The epoll syscalls behind @evloop/selector-epoll, with no Node-API types:
// the mechanism that evloop/selector_binding.h (from @evloop/native-core)
// turns into the JavaScript class. The same members, with the same names, as
// every other backend's <mechanism>.h.
#ifndef EVLOOP_SELECTOR_EPOLL_EPOLL_H_
#define EVLOOP_SELECTOR_EPOLL_EPOLL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "evloop/status.h"

namespace evloop {

class Epoll {
 public:
  static constexpr const char* kName = "epoll";
  static constexpr bool kHasKernelFd = true;

  Epoll() = default;
  ~Epoll() { Close(); }
  Epoll(const Epoll&) = delete;
  Epoll& operator=(const Epoll&) = delete;

  // Opens and closes an epoll fd: proves epoll works here (a sandbox may
  // refuse it).
  static Status Probe();

  // Creates the epoll fd (close-on-exec).
  Status Open();
  Status Add(int fd, int events);
  Status Modify(int fd, int events);
  Status Remove(int fd);
  // Waits up to timeout_ms (negative: forever) and writes up to `capacity`
  // (fd, events) pairs into `out`. Returns the number of pairs, or -1 with
  // `*status` set. EINTR is retried with the time that is left.
  int Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status);
  // Closes the epoll fd; safe to call twice.
  void Close();
  // The epoll fd, pollable itself: libuv watches it while the loop is idle.
  int fd() const { return fd_; }

 private:
  Status Control(int op, int fd, int events);

  int fd_ = -1;
  // Scratch space for epoll_wait, grown when a larger output buffer comes in
  // and reused afterwards, so waiting allocates nothing per event.
  std::vector<unsigned char> scratch_;
};

}  // namespace evloop

#endif  // EVLOOP_SELECTOR_EPOLL_EPOLL_H_

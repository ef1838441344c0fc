// The kqueue syscalls behind @evloop/selector-kqueue, with no Node-API types:
// the mechanism that evloop/selector_binding.h (from @evloop/native-core)
// turns into the JavaScript class. The same members, with the same names, as
// every other backend's <mechanism>.h.
#ifndef EVLOOP_SELECTOR_KQUEUE_KQUEUE_H_
#define EVLOOP_SELECTOR_KQUEUE_KQUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "evloop/status.h"

struct kevent;

namespace evloop {

class Kqueue {
 public:
  static constexpr const char* kName = "kqueue";
  static constexpr bool kHasKernelFd = true;

  // Opens and closes a kqueue: proves kqueue works here.
  static Status Probe();

  Kqueue() = default;
  ~Kqueue();
  Kqueue(const Kqueue&) = delete;
  Kqueue& operator=(const Kqueue&) = delete;

  // Creates the kqueue fd and marks it close-on-exec.
  Status Open();
  // Adds an EVFILT_READ and/or EVFILT_WRITE filter for `fd`. When one of the
  // two fails, the other is taken back, so a failed Add leaves nothing behind.
  Status Add(int fd, int events);
  // Adds the filters `events` asks for and deletes the other one; deleting a
  // filter that was not there is not an error.
  Status Modify(int fd, int events);
  // Deletes both filters. A filter that was not there (ENOENT) or an fd that
  // was closed since (EBADF: the kernel already dropped its filters) is fine.
  Status Remove(int fd);
  // Waits up to timeout_ms (negative: forever) and writes up to `capacity`
  // (fd, events) pairs into `out`, one pair per fd: the separate read and
  // write kevents of an fd are merged. Returns the number of pairs, or -1
  // with `*status` set. EINTR is retried with the time that is left.
  int Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status);
  // Closes the kqueue fd; safe to call twice.
  void Close();
  // The kqueue fd, pollable itself: libuv watches it while the loop is idle.
  int fd() const { return fd_; }

 private:
  // Applies up to two changes in one kevent call; errors[i] receives the
  // errno of change i (0 when it was applied). Returns 0 or -errno when the
  // call itself failed.
  int Apply(struct kevent* changes, int count, int* errors);

  int fd_ = -1;
  // Scratch space for kevent results, grown when a larger output buffer
  // comes in and reused afterwards, so waiting allocates nothing per event.
  std::vector<unsigned char> scratch_;
};

}  // namespace evloop

#endif  // EVLOOP_SELECTOR_KQUEUE_KQUEUE_H_

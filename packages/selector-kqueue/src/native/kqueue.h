// The kqueue syscalls behind the selector, with no Node-API types. Every call
// returns 0 (or a count) on success and -errno on failure; last_syscall()
// names the call that failed, so addon.cc decides how the error reaches JS.
// The method names match the epoll backend's epoll.h.
#ifndef EVLOOP_SELECTOR_KQUEUE_KQUEUE_H_
#define EVLOOP_SELECTOR_KQUEUE_KQUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

struct kevent;

namespace evloop {

// The selector's event bits, as in @evloop/interface.
constexpr int kEventRead = 1;
constexpr int kEventWrite = 2;

class Kqueue {
 public:
  Kqueue() = default;
  ~Kqueue();
  Kqueue(const Kqueue&) = delete;
  Kqueue& operator=(const Kqueue&) = delete;

  // Creates the kqueue fd and marks it close-on-exec. Returns 0 or -errno.
  int Open();
  // Adds an EVFILT_READ and/or EVFILT_WRITE filter for `fd`. When one of the
  // two fails, the other is taken back, so a failed Add leaves nothing behind.
  int Add(int fd, int events);
  // Adds the filters `events` asks for and deletes the other one; deleting a
  // filter that was not there is not an error.
  int Modify(int fd, int events);
  // Deletes both filters. A filter that was not there (ENOENT) or an fd that
  // was closed since (EBADF: the kernel already dropped its filters) is fine.
  int Remove(int fd);
  // Waits up to timeout_ms (negative: forever) and writes up to `capacity`
  // (fd, events) pairs into `out`, one pair per fd: the separate read and
  // write kevents of an fd are merged. Returns the number of pairs or -errno.
  // EINTR is retried with the time that is left.
  int Wait(int32_t* out, size_t capacity, int timeout_ms);
  // Closes the kqueue fd; safe to call twice.
  void Close();
  int fd() const { return fd_; }

  // The syscall name that goes with the last error, for the thrown error.
  const char* last_syscall() const { return last_syscall_; }

 private:
  // Applies up to two changes in one kevent call; errors[i] receives the
  // errno of change i (0 when it was applied). Returns 0 or -errno when the
  // call itself failed.
  int Apply(struct kevent* changes, int count, int* errors);

  int fd_ = -1;
  const char* last_syscall_ = "";
  // Scratch space for kevent results, grown when a larger output buffer
  // comes in and reused afterwards, so waiting allocates nothing per event.
  std::vector<unsigned char> scratch_;
};

}  // namespace evloop

#endif  // EVLOOP_SELECTOR_KQUEUE_KQUEUE_H_

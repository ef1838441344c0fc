// The epoll syscalls behind the selector, with no Node-API types. Every call
// returns 0 (or a count) on success and -errno on failure, so the glue in
// addon.cc decides how an error reaches JavaScript.
#ifndef EVLOOP_SELECTOR_EPOLL_EPOLL_H_
#define EVLOOP_SELECTOR_EPOLL_EPOLL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace evloop {

// The selector's event bits, as in @evloop/interface.
constexpr int kEventRead = 1;
constexpr int kEventWrite = 2;

class Epoll {
 public:
  Epoll() = default;
  ~Epoll();
  Epoll(const Epoll&) = delete;
  Epoll& operator=(const Epoll&) = delete;

  // Creates the epoll fd (close-on-exec). Returns 0 or -errno.
  int Open();
  int Add(int fd, int events);
  int Modify(int fd, int events);
  int Remove(int fd);
  // Waits up to timeout_ms (negative: forever) and writes up to `capacity`
  // (fd, events) pairs into `out`. Returns the number of pairs or -errno.
  // EINTR is retried with the time that is left.
  int Wait(int32_t* out, size_t capacity, int timeout_ms);
  // Closes the epoll fd; safe to call twice.
  void Close();
  int fd() const { return fd_; }

  // The syscall name that goes with the last error, for the thrown error.
  const char* last_syscall() const { return last_syscall_; }

 private:
  int Control(int op, int fd, int events);

  int fd_ = -1;
  const char* last_syscall_ = "";
  // Scratch space for epoll_wait, grown when a larger output buffer comes in
  // and reused afterwards, so waiting allocates nothing per event.
  std::vector<unsigned char> scratch_;
};

}  // namespace evloop

#endif  // EVLOOP_SELECTOR_EPOLL_EPOLL_H_

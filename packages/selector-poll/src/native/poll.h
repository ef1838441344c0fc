// poll(2) registration set: the syscalls behind @evloop/selector-poll, with
// no Node-API types: the mechanism that evloop/selector_binding.h (from
// @evloop/native-core) turns into the JavaScript class, with the members
// every backend's <mechanism>.h has, plus the snapshot its helper thread
// waits on (evloop/idle_waiter.h).
#ifndef EVLOOP_POLL_H_
#define EVLOOP_POLL_H_

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <poll.h>

#include "evloop/status.h"

namespace evloop {

class PollSet {
 public:
  static constexpr const char* kName = "poll";
  static constexpr bool kHasKernelFd = false;
  static bool AcceptsWakeFd(int) { return true; }

  // Opens a pipe, polls it once and closes it: proves poll(2) works here.
  static Status Probe();

  // A copy of the registrations for the helper thread, with the wake pipe
  // in slot 0.
  class Snapshot {
   public:
    // Blocks until a registered fd has an event JS would be told about
    // (kReady), the wake pipe is readable (kWoken), the deadline passes
    // (kTimedOut), or poll fails (kFailed).
    WaitOutcome BlockUntilReady(int wake_fd, const Deadline& deadline, int* error);

   private:
    friend class PollSet;
    std::vector<pollfd> fds_;
  };

  // Nothing to create: the set lives in this process.
  Status Open() { return Status::Ok(); }
  Status Add(int fd, int events);
  Status Modify(int fd, int events);
  Status Remove(int fd);
  // Waits up to timeout_ms (-1: forever), writes up to `capacity` (fd, events)
  // pairs into `out` and returns how many; -1 with `*status` set on failure.
  int Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status);
  // Forgets every registration.
  void Close();
  // No kernel object.
  int fd() const { return -1; }
  Snapshot TakeSnapshot() const;

 private:
  // Writes the ready (fd, events) pairs of `polled` into `out`.
  int Collect(const std::vector<pollfd>& polled, int32_t* out, size_t capacity);

  std::vector<pollfd> fds_;
  std::vector<pollfd> scratch_;  // fds_ without closed fds, when only those answered
  std::unordered_map<int, size_t> index_;
  // Where the next Wait starts reporting, so that when more fds are ready
  // than `out` holds, the ones left over come first next time.
  size_t next_ = 0;
};

}  // namespace evloop

#endif  // EVLOOP_POLL_H_

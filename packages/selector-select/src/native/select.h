// select(2) registration set: the syscalls behind @evloop/selector-select,
// with no Node-API types: the mechanism that evloop/selector_binding.h (from
// @evloop/native-core) turns into the JavaScript class, with the members
// every backend's <mechanism>.h has, plus the snapshot its helper thread
// waits on (evloop/idle_waiter.h).
//
// An fd_set holds fds below FD_SETSIZE only; FD_SET on a larger fd writes
// past the set. Add() refuses such an fd before any fd_set is touched.
#ifndef EVLOOP_SELECT_H_
#define EVLOOP_SELECT_H_

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <sys/select.h>

#include "evloop/status.h"

namespace evloop {

class SelectSet {
 public:
  static constexpr const char* kName = "select";
  static constexpr bool kHasKernelFd = false;
  static constexpr int kFdLimit = FD_SETSIZE;
  static bool AcceptsWakeFd(int fd) { return fd >= 0 && fd < kFdLimit; }

  // Opens a pipe, selects on it once and closes it: proves select(2) works
  // here.
  static Status Probe();

  SelectSet();

  // A copy of the registrations for the helper thread.
  class Snapshot {
   public:
    // Blocks until a registered fd is ready (kReady), the wake pipe is
    // readable (kWoken), the deadline passes (kTimedOut), or select fails
    // (kFailed). The wake fd must be below FD_SETSIZE.
    WaitOutcome BlockUntilReady(int wake_fd, const Deadline& deadline, int* error);

   private:
    friend class SelectSet;
    fd_set read_;
    fd_set write_;
    fd_set except_;
    std::vector<int> fds_;
    int max_fd_ = -1;
  };

  // Nothing to create: the set lives in this process.
  Status Open() { return Status::Ok(); }
  // Fails with `range_error` set for fd >= FD_SETSIZE.
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
  void Store(int fd, int events);

  fd_set read_;
  fd_set write_;
  fd_set except_;                          // EVENT_PRIORITY: urgent data
  std::vector<int> fds_;                   // registered fds
  std::unordered_map<int, size_t> index_;  // fd -> slot in fds_
  int max_fd_ = -1;
  // Where the next Wait starts reporting, so that when more fds are ready
  // than `out` holds, the ones left over come first next time.
  size_t next_ = 0;
};

}  // namespace evloop

#endif  // EVLOOP_SELECT_H_

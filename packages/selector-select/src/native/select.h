// select(2) registration set: the syscalls behind @evloop/selector-select.
// No Node-API types here; addon.cc wraps this in SelectorWrap.
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

#include "idle_waiter.h"

namespace evloop {

class SelectSet {
 public:
  static constexpr const char* kName = "select";
  static constexpr int kFdLimit = FD_SETSIZE;
  static bool AcceptsWakeFd(int fd) { return fd >= 0 && fd < kFdLimit; }

  SelectSet();

  // A copy of the registrations for the helper thread.
  class Snapshot {
   public:
    // Blocks until a registered fd is ready (kReady), the wake pipe is
    // readable (kWoken), or select fails (kFailed). The wake fd must be
    // below FD_SETSIZE.
    WaitOutcome BlockUntilReady(int wake_fd, int* error);

   private:
    friend class SelectSet;
    fd_set read_;
    fd_set write_;
    std::vector<int> fds_;
    int max_fd_ = -1;
  };

  // Fails with `range_error` set for fd >= FD_SETSIZE.
  Status Add(int fd, int events);
  Status Modify(int fd, int events);
  Status Remove(int fd);
  // Waits up to timeout_ms (-1: forever), writes up to `capacity` (fd, events)
  // pairs into `out` and returns how many; -1 with `*status` set on failure.
  int Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status);
  void Clear();
  Snapshot TakeSnapshot() const;

 private:
  void Store(int fd, int events);

  fd_set read_;
  fd_set write_;
  std::vector<int> fds_;                   // registered fds
  std::unordered_map<int, size_t> index_;  // fd -> slot in fds_
  int max_fd_ = -1;
  // Where the next Wait starts reporting, so that when more fds are ready
  // than `out` holds, the ones left over come first next time.
  size_t next_ = 0;
};

// Opens a pipe, selects on it once and closes it: proves select(2) works here.
Status ProbeSelect();

}  // namespace evloop

#endif  // EVLOOP_SELECT_H_

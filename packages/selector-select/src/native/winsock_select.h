// select() over Winsock: the registration set of @evloop/selector-select on
// Windows, with the members select.h has on POSIX (no Node-API types).
//
// A Winsock fd_set is a counted array of FD_SETSIZE sockets (512 here, set in
// binding.gyp), not a bitmap: the limit is on how many sockets, whatever
// their handle values. FD_SET silently ignores a socket past the limit, so
// Add() refuses the one too many before any fd_set is touched. The helper
// thread's wake socket takes one slot of the read set, so
// kFdLimit = FD_SETSIZE - 1 sockets may be registered.
#ifndef EVLOOP_WINSOCK_SELECT_H_
#define EVLOOP_WINSOCK_SELECT_H_

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "evloop/status.h"

namespace evloop {

static_assert(FD_SETSIZE == 512, "binding.gyp defines FD_SETSIZE=512 for every file of this addon");

// Starts Winsock once per process; 0 or an errno.
int StartWinsock();

// The helper thread's wake signal on Windows: a connected loopback TCP pair,
// both non-blocking. select() waits on the read end with the registered
// sockets; Signal() sends a byte on the other. (select waits on sockets only,
// so an event object would not do.) Completes the DefaultWake that
// evloop/idle_waiter.h declares without a definition on Windows.
class DefaultWake {
 public:
  using Handle = SOCKET;
  static constexpr bool kHasFd = false;

  DefaultWake() = default;
  ~DefaultWake() { Close(); }
  DefaultWake(const DefaultWake&) = delete;
  DefaultWake& operator=(const DefaultWake&) = delete;

  // 0 or an errno; `*syscall` names the call that failed.
  int Open(const char** syscall);
  Handle handle() const { return read_; }
  void Signal();
  void Drain();
  void Close();

 private:
  SOCKET read_ = INVALID_SOCKET;
  SOCKET write_ = INVALID_SOCKET;
};

class SelectSet {
 public:
  static constexpr const char* kName = "select";
  static constexpr bool kHasKernelFd = false;
  static constexpr int kFdLimit = FD_SETSIZE - 1;

  // Starts Winsock, makes a UDP socket and selects on it once.
  static Status Probe();

  SelectSet() = default;

  class Snapshot {
   public:
    WaitOutcome BlockUntilReady(SOCKET wake, const Deadline& deadline, int* error);

   private:
    friend class SelectSet;
    std::vector<SOCKET> sockets_;
    std::vector<int> events_;
  };

  Status Open() { return Status::Ok(); }
  // Fails with `range_error` set when kFdLimit sockets are registered already.
  Status Add(int fd, int events);
  Status Modify(int fd, int events);
  Status Remove(int fd);
  int Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status);
  void Close();
  int fd() const { return -1; }
  Snapshot TakeSnapshot() const;

 private:
  std::vector<SOCKET> sockets_;
  std::vector<int> events_;                  // parallel to sockets_
  std::unordered_map<SOCKET, size_t> index_;  // socket -> slot
  size_t next_ = 0;
};

}  // namespace evloop

#endif  // EVLOOP_WINSOCK_SELECT_H_

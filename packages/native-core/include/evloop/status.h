// What a syscall wrapper returns, and the selector's event bits: the types a
// backend's <mechanism>.{h,cc} (the syscalls, no Node-API types) shares with
// the Node-API glue. No Node-API, no libuv, C++17.
#ifndef EVLOOP_STATUS_H_
#define EVLOOP_STATUS_H_

#include <string>
#include <utility>

namespace evloop {

// EVENT_READ and EVENT_WRITE of @evloop/interface.
constexpr int kEventRead = 1;
constexpr int kEventWrite = 2;

// The outcome of one call: success, an errno with the syscall that gave it,
// or an argument the mechanism cannot take at all (select's FD_SETSIZE),
// which JavaScript sees as a RangeError rather than an OSError.
struct Status {
  int error = 0;
  const char* syscall = "";
  std::string range_error;

  bool ok() const { return error == 0 && range_error.empty(); }
  static Status Ok() { return Status{}; }
  static Status Errno(int error, const char* syscall) { return Status{error, syscall, {}}; }
  static Status Range(std::string message) { return Status{0, "", std::move(message)}; }
};

}  // namespace evloop

#endif  // EVLOOP_STATUS_H_

// What a syscall wrapper returns, the selector's event bits, and the
// outcome and deadline of a helper thread's wait: the types a
// backend's <mechanism>.{h,cc} (the syscalls, no Node-API types) shares with
// the Node-API glue. No Node-API, no libuv, C++17.
#ifndef EVLOOP_STATUS_H_
#define EVLOOP_STATUS_H_

#include <chrono>
#include <cmath>
#include <string>
#include <utility>

namespace evloop {

// EVENT_READ, EVENT_WRITE and EVENT_PRIORITY of @evloop/interface.
constexpr int kEventRead = 1;
constexpr int kEventWrite = 2;
// Urgent (out-of-band) data or an exceptional condition: EPOLLPRI, POLLPRI,
// select's exceptfds. Backends without it never see it (the TypeScript
// selector refuses it first).
constexpr int kEventPriority = 4;

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

// What a helper thread's blocking wait ended with (idle_waiter.h): something
// JavaScript should hear about, the wake signal (the set changed, or stop),
// its deadline, or a failure the JS side's next wait() will report.
enum class WaitOutcome { kReady, kWoken, kTimedOut, kFailed };

// A point in time a wait must not end before, or none (wait forever).
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  Deadline() = default;
  // timeout_ms < 0: none.
  static Deadline In(int timeout_ms) {
    Deadline deadline;
    if (timeout_ms >= 0) {
      deadline.set_ = true;
      deadline.at_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
    }
    return deadline;
  }

  bool set() const { return set_; }
  // Milliseconds left, rounded up (so a wait never ends early); 0 once
  // passed; -1 without a deadline.
  int RemainingMs() const {
    if (!set_) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(at_ - Clock::now()).count();
    if (left <= 0) return 0;
    return left > 0x7fffffff ? 0x7fffffff : static_cast<int>(left);
  }

 private:
  bool set_ = false;
  Clock::time_point at_{};
};

}  // namespace evloop

#endif  // EVLOOP_STATUS_H_

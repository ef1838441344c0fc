// The helper thread that waits for readiness while the JS thread is idle.
//
// Shared verbatim by @evloop/selector-poll and @evloop/selector-select (each
// package is published on its own, so each carries a copy; a test in each
// package checks that the two copies stay identical). No Node-API types here.
//
// `Set` is the mechanism's registration set. It must provide:
//   typename Set::Snapshot                     a copy the thread can poll
//   static bool Set::AcceptsWakeFd(int fd)     whether the mechanism can poll fd
//   Snapshot Set::TakeSnapshot() const
//   WaitOutcome Snapshot::BlockUntilReady(int wake_fd, int* error)
//
// Protocol: the thread polls a snapshot plus the read end of a private wake
// pipe. Changing the set writes a byte to the pipe, so the thread takes a new
// snapshot. When something is ready the thread calls `notify` once and then
// sleeps until `Rearm()` (called once JS has handled that notification),
// because the readiness is level-triggered and polling again before JS has
// consumed it would spin.
#ifndef EVLOOP_IDLE_WAITER_H_
#define EVLOOP_IDLE_WAITER_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace evloop {

// What a mechanism call returns: 0, an errno with the syscall that gave it,
// or (select's FD_SETSIZE) an argument the mechanism cannot take at all.
struct Status {
  int error = 0;
  const char* syscall = "";
  std::string range_error;
  bool ok() const { return error == 0 && range_error.empty(); }
  static Status Errno(int error, const char* syscall) { return Status{error, syscall, {}}; }
};

enum class WaitOutcome { kReady, kWoken, kFailed };

constexpr int kEventRead = 1;   // EVENT_READ in @evloop/interface
constexpr int kEventWrite = 2;  // EVENT_WRITE

template <typename Set>
class IdleWaiter {
 public:
  explicit IdleWaiter(Set* set) : set_(set) {}
  ~IdleWaiter() { Stop(); }
  IdleWaiter(const IdleWaiter&) = delete;
  IdleWaiter& operator=(const IdleWaiter&) = delete;

  bool running() const { return thread_.joinable(); }
  int wake_fd() const { return wake_read_; }

  // Creates the wake pipe and starts the thread, armed. Returns 0 or an errno;
  // `*syscall` names the call that failed.
  int Start(std::function<void()> notify, const char** syscall) {
    if (running()) return 0;
    int fds[2];
    if (pipe(fds) != 0) {
      *syscall = "pipe";
      return errno;
    }
    for (int fd : fds) {
      int flags = fcntl(fd, F_GETFL);
      if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
          fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
        int error = errno;
        close(fds[0]);
        close(fds[1]);
        *syscall = "fcntl";
        return error;
      }
    }
    if (!Set::AcceptsWakeFd(fds[0])) {
      // select(2) cannot watch an fd >= FD_SETSIZE, and pipe() returned the
      // lowest free numbers, so there is no lower one to move it to.
      close(fds[0]);
      close(fds[1]);
      *syscall = "pipe";
      return EMFILE;
    }
    wake_read_ = fds[0];
    wake_write_ = fds[1];
    notify_ = std::move(notify);
    stopping_ = false;
    armed_ = true;
    // The thread starts with every signal blocked, so signals keep going to
    // Node's threads (and interrupt the JS thread's own waits) as before.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    int error = 0;
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& failure) {
      error = failure.code().value() != 0 ? failure.code().value() : EAGAIN;
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (error != 0) {
      ClosePipe();
      notify_ = nullptr;
      *syscall = "pthread_create";
    }
    return error;
  }

  // Stops and joins the thread and closes the pipe. Safe to call twice.
  void Stop() {
    if (!running()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    Wake();
    thread_.join();
    ClosePipe();
    notify_ = nullptr;
  }

  // Runs `change` on the set under the lock, then wakes the thread so that it
  // polls the new set. A thread that is not armed takes a fresh snapshot when
  // it is rearmed, so it needs no wake-up (and the write is saved: callbacks
  // that run inside onReady often add and remove fds).
  template <typename Change>
  auto Mutate(Change change) -> decltype(change(*static_cast<Set*>(nullptr))) {
    if (!running()) return change(*set_);
    decltype(change(*set_)) result;
    bool polling;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      result = change(*set_);
      polling = armed_;
    }
    if (polling) Wake();
    return result;
  }

  // JS has handled the last notification: the thread may poll again.
  void Rearm() {
    if (!running()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (armed_) return;
      armed_ = true;
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || armed_; });
      if (stopping_) return;
      lock.unlock();
      // Drain before the snapshot: a change made after the snapshot writes a
      // byte after this point, so the poll below sees it.
      DrainWakePipe();
      lock.lock();
      if (stopping_) return;
      typename Set::Snapshot snapshot = set_->TakeSnapshot();
      lock.unlock();
      int error = 0;
      WaitOutcome outcome = snapshot.BlockUntilReady(wake_read_, &error);
      lock.lock();
      if (stopping_) return;
      if (outcome == WaitOutcome::kWoken) continue;
      // Ready, or a failure the JS side's next wait() will report: tell JS
      // once, then sleep until it has handled that.
      armed_ = false;
      lock.unlock();
      notify_();
      lock.lock();
    }
  }

  void Wake() {
    if (wake_write_ < 0) return;
    char byte = 1;
    ssize_t written;
    do {
      written = write(wake_write_, &byte, 1);
    } while (written == -1 && errno == EINTR);
    // EAGAIN: the pipe is full, so the thread is already due to wake.
  }

  void DrainWakePipe() {
    char buffer[64];
    for (;;) {
      ssize_t got = read(wake_read_, buffer, sizeof buffer);
      if (got > 0) continue;
      if (got == -1 && errno == EINTR) continue;
      return;
    }
  }

  void ClosePipe() {
    if (wake_read_ >= 0) close(wake_read_);
    if (wake_write_ >= 0) close(wake_write_);
    wake_read_ = wake_write_ = -1;
  }

  Set* set_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
  std::function<void()> notify_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  bool stopping_ = false;
  bool armed_ = false;
};

}  // namespace evloop

#endif  // EVLOOP_IDLE_WAITER_H_

// The idle wait of a backend with no pollable kernel object (poll, select;
// later IOCP): a helper thread blocks on a copy of the registration set plus
// a private wake signal, and tells the JS thread through a Node-API
// thread-safe function when something is ready. Also how a kernel-fd backend
// waits where libuv's poll handles do not work (KernelFdSnapshot).
//
// IdleWaiter<Set, Wake> is the thread (no Node-API types). The Set is the
// mechanism's registration set; it provides
//   typename Set::Snapshot                 a copy the thread can wait on
//   Snapshot TakeSnapshot() const          taken under the waiter's lock
//   WaitOutcome Snapshot::BlockUntilReady(Wake::Handle wake, const Deadline&, int* error)
//   static bool AcceptsWakeFd(int fd)      (when Wake::kHasFd) whether the
//                                          mechanism can wait on that fd
// The Wake is how the JS thread interrupts the thread's wait: on POSIX a
// non-blocking pipe (WakePipe; an eventfd on Linux); an IOCP waiter posts a
// completion packet instead, with the same four members (Open, Signal,
// Drain, Close), its own Handle type, and Bind(Set*), called once before
// Open, to learn the port.
//
// The wake signal lives as long as the waiter, not as long as one watch: it
// is opened by the first Start() and closed by Close() (the set's close) or
// the destructor, never by Stop(). A loop stops watching at the end of every
// run; reopening the signal at the next run would take the lowest free fd
// numbers, which can be the number of an fd the user has just closed while
// the loop still watches it (addReader without removeReader), and the
// thread would then wait on its own wake signal in that fd's place.
//
// Protocol: the thread waits on a snapshot and the wake signal. Changing the
// set (Mutate) signals, so the thread takes a new snapshot. When something is
// ready, or the deadline passes, the thread calls `notify` once and then
// sleeps until Rearm() (called once JS has handled that notification),
// because readiness is level-triggered: waiting again before JS has consumed
// it would spin.
//
// ThreadWatch<Set> is the Node-API side: a thread-safe function that calls
// onReady on the JS thread and then rearms the thread.
#ifndef EVLOOP_IDLE_WAITER_H_
#define EVLOOP_IDLE_WAITER_H_

#include <napi.h>

#include <cerrno>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#ifndef _WIN32
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif
#endif

#include "evloop/errors.h"
#include "evloop/status.h"

namespace evloop {

#ifndef _WIN32

// The POSIX wake signal: a pipe, both ends non-blocking and close-on-exec.
// The thread waits for the read end to be readable.
class WakePipe {
 public:
  using Handle = int;
  static constexpr bool kHasFd = true;

  WakePipe() = default;
  ~WakePipe() { Close(); }
  WakePipe(const WakePipe&) = delete;
  WakePipe& operator=(const WakePipe&) = delete;

  // Returns 0 or an errno; `*syscall` names the call that failed.
  int Open(const char** syscall) {
#ifdef __linux__
    // One fd does both ends: a counter that is readable while non-zero.
    const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
      *syscall = "eventfd";
      return errno;
    }
    read_ = write_ = fd;
    return 0;
#else
    int fds[2];
    if (pipe(fds) != 0) {
      *syscall = "pipe";
      return errno;
    }
    for (int fd : fds) {
      const int flags = fcntl(fd, F_GETFL);
      if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
        const int error = errno;
        close(fds[0]);
        close(fds[1]);
        *syscall = "fcntl";
        return error;
      }
    }
    read_ = fds[0];
    write_ = fds[1];
    return 0;
#endif
  }

  Handle handle() const { return read_; }
  int fd() const { return read_; }

  // From any thread. A full pipe (EAGAIN) already means "wake up", as does
  // an eventfd counter at its maximum.
  void Signal() {
    if (write_ < 0) return;
#ifdef __linux__
    const uint64_t one = 1;
#else
    const char one = 1;
#endif
    ssize_t written;
    do {
      written = write(write_, &one, sizeof one);
    } while (written == -1 && errno == EINTR);
  }

  void Drain() {
#ifdef __linux__
    uint64_t buffer;  // one read resets the counter
#else
    char buffer[64];
#endif
    for (;;) {
      const ssize_t got = read(read_, &buffer, sizeof buffer);
      if (got > 0 || (got == -1 && errno == EINTR)) continue;
      return;
    }
  }

  void Close() {
    if (read_ >= 0) close(read_);
    if (write_ >= 0 && write_ != read_) close(write_);
    read_ = write_ = -1;
  }

 private:
  int read_ = -1;
  int write_ = -1;
};

// The snapshot of a mechanism whose kernel object is itself a pollable fd
// (epoll, kqueue, io_uring's eventfd): the thread waits for that fd, so a
// change to the set needs no new snapshot.
class KernelFdSnapshot {
 public:
  explicit KernelFdSnapshot(int fd) : fd_(fd) {}

  WaitOutcome BlockUntilReady(int wake_fd, const Deadline& deadline, int* error) const {
    for (;;) {
      struct pollfd fds[2] = {{wake_fd, POLLIN, 0}, {fd_, POLLIN, 0}};
      const int ready = poll(fds, 2, deadline.RemainingMs());
      if (ready < 0) {
        if (errno == EINTR) continue;
        *error = errno;
        return WaitOutcome::kFailed;
      }
      if (fds[0].revents != 0) return WaitOutcome::kWoken;
      if (fds[1].revents & POLLNVAL) {
        *error = EBADF;
        return WaitOutcome::kFailed;
      }
      if (fds[1].revents != 0) return WaitOutcome::kReady;
      if (ready == 0 && deadline.set()) return WaitOutcome::kTimedOut;
    }
  }

 private:
  int fd_;
};

// IdleWaiter's Set for an owner whose kernel object is a pollable fd (a
// selector's epoll or kqueue fd, io_uring's eventfd): the helper thread waits
// for that fd, which the kernel keeps up to date by itself. `kFd` reads it
// from the owner at each snapshot (it may be opened after the set is made).
template <typename Owner, int (Owner::*kFd)() const = &Owner::fd>
class KernelFdSet {
 public:
  using Snapshot = KernelFdSnapshot;
  explicit KernelFdSet(const Owner* owner) : owner_(owner) {}
  static bool AcceptsWakeFd(int) { return true; }
  Snapshot TakeSnapshot() const { return KernelFdSnapshot((owner_->*kFd)()); }

 private:
  const Owner* owner_;
};

using DefaultWake = WakePipe;

#else  // _WIN32

// No default on Windows: a waiter there names its wake signal (an IOCP
// waiter posts a completion packet), so using one without it fails to
// compile instead of picking a POSIX pipe.
class DefaultWake;

#endif  // _WIN32

namespace detail {
// Whether Wake has Bind(Set*): a wake signal that lives in the set's own
// kernel object (an IOCP waiter posts a packet to the set's port) is told
// which set it belongs to before it is opened.
template <typename Wake, typename Set, typename = void>
struct WakeBindsToSet : std::false_type {};
template <typename Wake, typename Set>
struct WakeBindsToSet<Wake, Set, std::void_t<decltype(std::declval<Wake&>().Bind(static_cast<Set*>(nullptr)))>>
    : std::true_type {};
}  // namespace detail

template <typename Set, typename Wake = DefaultWake>
class IdleWaiter {
 public:
  explicit IdleWaiter(Set* set) : set_(set) {
    if constexpr (detail::WakeBindsToSet<Wake, Set>::value) wake_.Bind(set);
  }
  ~IdleWaiter() { Close(); }
  IdleWaiter(const IdleWaiter&) = delete;
  IdleWaiter& operator=(const IdleWaiter&) = delete;

  bool running() const { return running_; }

  // Starts the thread, armed, with `deadline`, opening the wake signal first
  // if this is the first start. Returns 0 or an errno; `*syscall` names the
  // call that failed.
  int Start(std::function<void()> notify, Deadline deadline, const char** syscall) {
    if (running()) return 0;
    int error = 0;
    if (!wake_open_) {
      error = wake_.Open(syscall);
      if (error != 0) return error;
      if constexpr (Wake::kHasFd) {
        if (!Set::AcceptsWakeFd(wake_.fd())) {
          // select(2) cannot wait on an fd >= FD_SETSIZE, and the signal got
          // the lowest free numbers, so there is no lower one to move it to.
          wake_.Close();
          *syscall = "pipe";
          return EMFILE;
        }
      }
      wake_open_ = true;
    }
    notify_ = std::move(notify);
    stopping_ = false;
    armed_ = true;
    deadline_ = deadline;
#ifndef _WIN32
    // The thread starts with every signal blocked, so signals keep going to
    // Node's threads (and interrupt the JS thread's own waits) as before.
    // pthread_create reports failure as a number, so this builds without
    // C++ exceptions too.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    error = pthread_create(&thread_, nullptr, &IdleWaiter::ThreadMain, this);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    running_ = error == 0;
#else
#if defined(__cpp_exceptions) || defined(_CPPUNWIND)
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& failure) {
      error = failure.code().value() != 0 ? failure.code().value() : EAGAIN;
    }
#else
    thread_ = std::thread([this] { Run(); });
#endif
    running_ = error == 0;
#endif
    if (error != 0) {
      notify_ = nullptr;
      *syscall = "pthread_create";
    }
    return error;
  }

  // Stops and joins the thread; the wake signal stays open for the next
  // Start() (a byte left in it is drained before the next wait). Safe to
  // call twice.
  void Stop() {
    if (!running()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    wake_.Signal();
#ifndef _WIN32
    pthread_join(thread_, nullptr);
#else
    thread_.join();
#endif
    running_ = false;
    notify_ = nullptr;
  }

  // Stop(), then closes the wake signal: the set is going away.
  void Close() {
    Stop();
    if (!wake_open_) return;
    wake_.Close();
    wake_open_ = false;
  }

  // Runs `change` on the set under the lock, then wakes the thread so that it
  // waits on the new set. A thread that is not armed takes a fresh snapshot
  // when it is rearmed, so it needs no wake-up (and the write is saved:
  // callbacks that run inside onReady often add and remove fds).
  template <typename Change>
  auto Mutate(Change change) -> decltype(change(*static_cast<Set*>(nullptr))) {
    if (!running()) return change(*set_);
    bool polling;
    decltype(change(*set_)) result;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      result = change(*set_);
      polling = armed_;
    }
    if (polling) wake_.Signal();
    return result;
  }

  // A new deadline (none: Deadline()) for the thread's wait.
  void SetDeadline(Deadline deadline) {
    if (!running()) return;
    bool polling;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      deadline_ = deadline;
      deadline_generation_++;
      polling = armed_;
    }
    if (polling) wake_.Signal();
  }

  // JS has handled the last notification: the thread may wait again.
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
#ifndef _WIN32
  static void* ThreadMain(void* self) {
    static_cast<IdleWaiter*>(self)->Run();
    return nullptr;
  }
#endif

  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || armed_; });
      if (stopping_) return;
      lock.unlock();
      // Drain before the snapshot: a change made after the snapshot signals
      // after this point, so the wait below sees it.
      wake_.Drain();
      lock.lock();
      if (stopping_) return;
      typename Set::Snapshot snapshot = set_->TakeSnapshot();
      const Deadline deadline = deadline_;
      const unsigned generation = deadline_generation_;
      lock.unlock();
      int error = 0;
      const WaitOutcome outcome = snapshot.BlockUntilReady(wake_.handle(), deadline, &error);
      lock.lock();
      if (stopping_) return;
      if (outcome == WaitOutcome::kWoken) continue;
      // Ready, the deadline, or a failure the JS side's next wait() will
      // report: tell JS once, then sleep until it has handled that. A
      // deadline is met once (unless JS set a new one meanwhile).
      if (outcome == WaitOutcome::kTimedOut && generation == deadline_generation_) deadline_ = Deadline();
      armed_ = false;
      lock.unlock();
      notify_();
      lock.lock();
    }
  }

  Set* set_;
  Wake wake_;
  std::mutex mutex_;
  std::condition_variable cv_;
#ifndef _WIN32
  pthread_t thread_{};
#else
  std::thread thread_;
#endif
  bool running_ = false;
  bool wake_open_ = false;
  std::function<void()> notify_;
  Deadline deadline_;
  unsigned deadline_generation_ = 0;
  bool stopping_ = false;
  bool armed_ = false;
};

// The Node-API side of the helper-thread wait, for a binding object:
//   Start(env, onReady, deadline, resource)  starts the thread (first call)
//       or replaces the callback and the deadline; throws and returns false
//       on failure
//   Stop()  joins the thread and releases everything that kept the process
//       alive; the wake signal stays open for the next Start(); safe to call
//       twice
//   Close()  Stop(), and closes the wake signal (the set is going away);
//       the destructor and a worker's environment cleanup call it
//   Mutate(change)  changes the set under the thread's lock
// onReady runs on the JS thread through the thread-safe function (a callback
// scope: Promise jobs it queues run right after it); the thread waits again
// only once it has returned.
template <typename Set, typename Wake = DefaultWake>
class ThreadWatch {
 public:
  explicit ThreadWatch(Set* set) : waiter_(set) {}
  ~ThreadWatch() { Close(); }
  ThreadWatch(const ThreadWatch&) = delete;
  ThreadWatch& operator=(const ThreadWatch&) = delete;

  // While watched, `owner` (the binding's JS object) is held strongly, as a
  // libuv-watched one is (fd_watch.h): a selector whose last JS reference is
  // dropped while watched must not be collected, which would end the watch
  // and let Node exit under a caller that expects it to stay alive.
  bool Start(Napi::Env env, Napi::Object owner, Napi::Function on_ready, Deadline deadline, const char* resource_name) {
    on_ready_ = Napi::Persistent(on_ready);
    if (waiter_.running()) {
      waiter_.SetDeadline(deadline);
      return true;
    }
    Relay* relay = new Relay{this};
    napi_threadsafe_function function = nullptr;
    napi_value name = Napi::String::New(env, resource_name);
    if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, relay, FinalizeRelay, relay, CallJs,
                                        &function) != napi_ok) {
      delete relay;
      on_ready_.Reset();
      Napi::Error::New(env, "cannot create the thread-safe function of the idle wait").ThrowAsJavaScriptException();
      return false;
    }
    const char* syscall = "";
    const int error = waiter_.Start([function]() { napi_call_threadsafe_function(function, nullptr, napi_tsfn_nonblocking); },
                                    deadline, &syscall);
    if (error != 0) {
      relay->owner = nullptr;
      napi_release_threadsafe_function(function, napi_tsfn_release);
      on_ready_.Reset();
      ThrowSyscallError(env, error, syscall);
      return false;
    }
    function_ = function;
    relay_ = relay;
    env_ = env;
    owner_ = Napi::Persistent(owner);
    if (napi_add_env_cleanup_hook(env, OnEnvCleanup, this) == napi_ok) hooked_ = true;
    return true;
  }

  void Stop() { Stop(false); }

  void Close() {
    Stop(false);
    waiter_.Close();
  }

  template <typename Change>
  auto Mutate(Change change) -> decltype(change(*static_cast<Set*>(nullptr))) {
    return waiter_.Mutate(change);
  }

  bool running() const { return waiter_.running(); }

 private:
  // The thread-safe function's context. It outlives the watch when a call is
  // still queued after the watch is gone; `owner` is then null and the
  // function's finalizer frees it.
  struct Relay {
    ThreadWatch* owner;
  };

  static void CallJs(napi_env env, napi_value, void* context, void*) {
    auto* relay = static_cast<Relay*>(context);
    if (env == nullptr || relay == nullptr || relay->owner == nullptr) return;
    relay->owner->Deliver(env);
  }

  static void FinalizeRelay(napi_env, void* data, void*) { delete static_cast<Relay*>(data); }

  void Deliver(napi_env env) {
    if (on_ready_.IsEmpty() || !waiter_.running()) return;
    napi_value callback = on_ready_.Value();
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_value result;
    // An exception is left pending: Node reports it as uncaught once this
    // call returns, as for any callback.
    napi_call_function(env, undefined, callback, 0, nullptr, &result);
    // Rearm only now that onReady has returned: the loop's iteration (its
    // wait() and the callbacks that read or write) ran inside it. Rearming at
    // that wait() would let the thread see readiness the callbacks were about
    // to consume and report it again for nothing. If something is still ready
    // the thread reports it on a later turn of the libuv loop:
    // level-triggered, like a uv_poll_t, never a busy spin.
    waiter_.Rearm();
  }

  // Leaves nothing behind: thread joined, wake signal closed, thread-safe
  // function released (so it no longer keeps the process alive), cleanup hook
  // removed.
  void Stop(bool from_cleanup_hook) {
    waiter_.Stop();
    if (relay_ != nullptr) {
      relay_->owner = nullptr;
      relay_ = nullptr;
      napi_release_threadsafe_function(function_, napi_tsfn_release);
      function_ = nullptr;
    }
    if (hooked_) {
      hooked_ = false;
      if (!from_cleanup_hook) napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
    }
    on_ready_.Reset();
    owner_.Reset();
  }

  // The environment (a worker) is going away while watched: nothing of the
  // watch may outlive it.
  static void OnEnvCleanup(void* self) {
    auto* watch = static_cast<ThreadWatch*>(self);
    watch->Stop(true);
    watch->waiter_.Close();
  }

  IdleWaiter<Set, Wake> waiter_;
  napi_threadsafe_function function_ = nullptr;
  Relay* relay_ = nullptr;
  napi_env env_ = nullptr;
  Napi::FunctionReference on_ready_;
  Napi::ObjectReference owner_;
  bool hooked_ = false;
};

}  // namespace evloop

#endif  // EVLOOP_IDLE_WAITER_H_

// The guest loop's idle wait on a pollable kernel fd (an epoll fd, a kqueue
// fd, io_uring's eventfd): libuv watches the fd inside Node's own loop and
// calls a JavaScript function when it is readable, so the JS thread never
// blocks. An optional one-shot timer calls the same function when a timeout
// passes first (whole milliseconds, rounded up: see TimeoutMs in
// event_buffer.h).
//
//   Start(env, owner, fd, onReady, timeoutMs, "evloop.EpollSelector")
//       arms the watch (the first call creates the libuv handles, later calls
//       only replace the callback and restart the timer, or stop it with -1).
//       While armed the handles keep the process alive and `owner` (the
//       binding's JavaScript object) is held strongly, so it is not collected
//       while libuv can still call into it.
//   Stop()   disarms; the handles stay for a later Start and hold nothing.
//   Close()  releases the handles: call it before the fd is closed, since
//            the poll must leave libuv's own epoll/kqueue set first.
//
// The handles use the environment's loop (napi_get_uv_event_loop, never
// uv_default_loop), so a selector in a worker thread waits in that worker's
// loop; when the environment ends first, its cleanup hook closes them.
// onReady runs through napi_make_callback (Promise jobs it queues run right
// after it) on the global object, as a plain function would; an exception it
// throws is reported as an uncaught exception.
//
// POSIX only: Windows addons link against Node-API alone and wake
// JavaScript through a thread-safe function (see idle_waiter.h).
#ifndef EVLOOP_FD_WATCH_H_
#define EVLOOP_FD_WATCH_H_

#ifdef _WIN32
#error "evloop/fd_watch.h uses libuv's uv_poll_t on a POSIX fd; on Windows wait with evloop/idle_waiter.h"
#endif

#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <memory>

#include "evloop/errors.h"

namespace evloop {

// Calls `callback(...argv)` on the global object as a libuv callback of the
// guest loop calls JavaScript: through napi_make_callback (Promise jobs it
// queues run right after it), an exception it throws reported as an
// uncaught exception. The caller holds a handle scope. False when the call
// could not be made or threw.
inline bool CallFromLoop(napi_env env, napi_async_context context, napi_value callback, size_t argc, const napi_value* argv) {
  napi_value global;
  napi_value result;
  bool ok = napi_get_global(env, &global) == napi_ok && napi_make_callback(env, context, global, callback, argc, argv, &result) == napi_ok;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    ok = false;
  }
  return ok;
}

class FdWatch {
 public:
  FdWatch() = default;
  ~FdWatch() { Close(); }
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;

  // See above. On failure a JavaScript exception is pending and the result
  // is false; the watch is then as it was before the call.
  bool Start(Napi::Env env, Napi::Object owner, int fd, Napi::Function on_ready, int timeout_ms,
             const char* resource_name) {
    if (fd < 0) {
      ThrowSyscallError(env, EBADF, "uv_poll_init");
      return false;
    }
    if (handles_ != nullptr && fd != fd_) Close();  // another fd: start afresh
    // One async context for the watch's whole life: Close() may run inside
    // onReady while napi_make_callback still uses it.
    if (!context_) context_ = std::make_unique<Napi::AsyncContext>(env, resource_name);
    if (handles_ == nullptr && !Open(env, fd)) return false;
    if (!armed_) {
      const int result = uv_poll_start(&handles_->poll, UV_READABLE, OnPoll);
      if (result < 0) {
        ThrowSyscallError(env, -result, "uv_poll_start");
        return false;
      }
      armed_ = true;
      owner_ = Napi::Persistent(owner);
    }
    on_ready_ = Napi::Persistent(on_ready);
    if (timeout_ms >= 0) {
      uv_timer_start(&handles_->timer, OnTimer, static_cast<uint64_t>(timeout_ms), 0);
    } else {
      uv_timer_stop(&handles_->timer);
    }
    return true;
  }

  void Stop() {
    if (handles_ != nullptr) {
      uv_poll_stop(&handles_->poll);
      uv_timer_stop(&handles_->timer);
    }
    armed_ = false;
    on_ready_.Reset();
    owner_.Reset();
  }

  void Close() {
    Stop();
    if (handles_ != nullptr) {
      Release(handles_);
      handles_ = nullptr;
    }
    fd_ = -1;
  }

  bool armed() const { return armed_; }

 private:
  // Heap-allocated apart from the watch: uv_close finishes on a later loop
  // turn, when the binding may be gone. `owner` is cleared when the watch
  // lets go, and the last close callback frees the block.
  struct Handles {
    uv_poll_t poll;
    uv_timer_t timer;
    FdWatch* owner = nullptr;
    napi_async_cleanup_hook_handle teardown_hook = nullptr;
    int open_handles = 0;
    bool closing = false;
  };

  bool Open(Napi::Env env, int fd) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "this environment has no libuv loop").ThrowAsJavaScriptException();
      return false;
    }
    auto* handles = new Handles();
    const int result = uv_poll_init(loop, &handles->poll, fd);
    if (result < 0) {
      delete handles;
      ThrowSyscallError(env, -result, "uv_poll_init");
      return false;
    }
    uv_timer_init(loop, &handles->timer);
    handles->poll.data = handles;
    handles->timer.data = handles;
    handles->owner = this;
    handles->open_handles = 2;
    napi_add_async_cleanup_hook(env, OnTeardown, handles, &handles->teardown_hook);
    handles_ = handles;
    env_ = env;
    fd_ = fd;
    return true;
  }

  static void Release(Handles* handles) {
    handles->owner = nullptr;
    if (handles->closing) return;
    handles->closing = true;
    uv_poll_stop(&handles->poll);
    uv_timer_stop(&handles->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&handles->poll), OnClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&handles->timer), OnClosed);
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* handles = static_cast<Handles*>(handle->data);
    if (--handles->open_handles > 0) return;
    if (handles->teardown_hook != nullptr) napi_remove_async_cleanup_hook(handles->teardown_hook);
    delete handles;
  }

  // The environment (the main thread or a worker) ends while the handles
  // are open: close them now; Node waits until OnClosed removes this hook.
  static void OnTeardown(napi_async_cleanup_hook_handle, void* data) {
    auto* handles = static_cast<Handles*>(data);
    if (handles->owner != nullptr) {
      handles->owner->armed_ = false;
      handles->owner->handles_ = nullptr;
    }
    Release(handles);
  }

  static void OnPoll(uv_poll_t* poll, int status, int) {
    auto* handles = static_cast<Handles*>(poll->data);
    if (handles->owner != nullptr) handles->owner->Deliver(status < 0);
  }

  static void OnTimer(uv_timer_t* timer) {
    auto* handles = static_cast<Handles*>(timer->data);
    if (handles->owner != nullptr) handles->owner->Deliver(false);
  }

  void Deliver(bool poll_failed) {
    if (!armed_ || on_ready_.IsEmpty()) return;
    napi_env env = env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    // Local handles keep the callback and the owner alive through the call:
    // onReady may stop or close this watch, or drop the binding.
    napi_value callback = on_ready_.Value();
    napi_value owner = owner_.Value();
    static_cast<void>(owner);
    // On an error libuv has already stopped the poll: the watch ends, and
    // onReady runs once more, so that the loop's next wait reports the error.
    if (poll_failed) Stop();
    CallFromLoop(env, *context_, callback, 0, nullptr);
    napi_close_handle_scope(env, scope);
  }

  Handles* handles_ = nullptr;
  napi_env env_ = nullptr;
  int fd_ = -1;
  bool armed_ = false;
  Napi::FunctionReference on_ready_;
  Napi::ObjectReference owner_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace evloop

#endif  // EVLOOP_FD_WATCH_H_

// Node-API glue for the epoll selector: argument checks, errors and the
// libuv watch on the epoll fd. The syscalls live in epoll.cc.
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "epoll.h"

namespace evloop {
namespace {

// The one way a failed syscall reaches JavaScript: an Error with a numeric
// `errno` and a `syscall` name, which NativeSelector turns into an OSError.
void ThrowErrno(Napi::Env env, int error, const char* syscall) {
  Napi::Error exception = Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(error));
  exception.Value().Set("errno", Napi::Number::New(env, error));
  exception.Value().Set("syscall", Napi::String::New(env, syscall));
  exception.ThrowAsJavaScriptException();
}

class EpollBinding;

// The libuv watch on the epoll fd. It lives on the heap because uv_close
// finishes on a later loop turn: the wrapper may be closed or collected
// before then, so `owner` is cleared and the close callback frees it.
struct PollHandle {
  uv_poll_t poll;
  EpollBinding* owner;
  napi_async_cleanup_hook_handle cleanup_hook;
  bool closing;
};

class EpollBinding : public Napi::ObjectWrap<EpollBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Epoll",
                       {
                           InstanceMethod<&EpollBinding::Add>("add"),
                           InstanceMethod<&EpollBinding::Modify>("modify"),
                           InstanceMethod<&EpollBinding::Remove>("remove"),
                           InstanceMethod<&EpollBinding::Wait>("wait"),
                           InstanceMethod<&EpollBinding::Watch>("watch"),
                           InstanceMethod<&EpollBinding::Unwatch>("unwatch"),
                           InstanceMethod<&EpollBinding::Close>("close"),
                           InstanceMethod<&EpollBinding::Fileno>("fileno"),
                       });
  }

  explicit EpollBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EpollBinding>(info) {
    const int result = epoll_.Open();
    if (result < 0) ThrowErrno(info.Env(), -result, epoll_.last_syscall());
  }

  // Collected without close(): release the kernel object and the watch.
  ~EpollBinding() override { Shutdown(); }

 private:
  bool ReadFdAndEvents(const Napi::CallbackInfo& info, bool with_events, int* fd, int* events) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || (with_events && !info[1].IsNumber())) {
      Napi::TypeError::New(env, "expected (fd, events) numbers").ThrowAsJavaScriptException();
      return false;
    }
    *fd = info[0].As<Napi::Number>().Int32Value();
    *events = with_events ? info[1].As<Napi::Number>().Int32Value() : 0;
    if (*fd < 0 || (with_events && (*events == 0 || (*events & ~(kEventRead | kEventWrite)) != 0))) {
      Napi::RangeError::New(env, "invalid fd or events").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  void Control(const Napi::CallbackInfo& info, int (Epoll::*operation)(int, int)) {
    int fd, events;
    if (!ReadFdAndEvents(info, true, &fd, &events)) return;
    const int result = (epoll_.*operation)(fd, events);
    if (result < 0) ThrowErrno(info.Env(), -result, epoll_.last_syscall());
  }

  void Add(const Napi::CallbackInfo& info) { Control(info, &Epoll::Add); }
  void Modify(const Napi::CallbackInfo& info) { Control(info, &Epoll::Modify); }

  void Remove(const Napi::CallbackInfo& info) {
    int fd, events;
    if (!ReadFdAndEvents(info, false, &fd, &events)) return;
    const int result = epoll_.Remove(fd);
    if (result < 0) ThrowErrno(info.Env(), -result, epoll_.last_syscall());
  }

  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        !info[1].IsNumber()) {
      Napi::TypeError::New(env, "expected (Int32Array, timeoutMs)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Int32Array out = info[0].As<Napi::Int32Array>();
    if (out.ElementLength() < 2) {
      Napi::RangeError::New(env, "the output buffer holds no (fd, events) pair").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const double timeout = info[1].As<Napi::Number>().DoubleValue();
    int timeout_ms;
    if (!(timeout >= 0)) {
      timeout_ms = -1;  // negative or NaN: wait forever
    } else if (timeout > 0x7fffffff) {
      timeout_ms = 0x7fffffff;
    } else {
      timeout_ms = static_cast<int>(timeout);
      if (timeout_ms < timeout) timeout_ms++;  // round up, never wait less
    }
    const int count = epoll_.Wait(out.Data(), out.ElementLength() / 2, timeout_ms);
    if (count < 0) {
      ThrowErrno(env, -count, epoll_.last_syscall());
      return env.Undefined();
    }
    return Napi::Number::New(env, count);
  }

  // Arms (once) a libuv poll on the epoll fd; a later call only swaps the
  // callback. While armed the handle is ref'd and the wrapper is held
  // strongly, so a watched selector is neither collected nor let go of.
  void Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) {
      Napi::TypeError::New(env, "onReady must be a function").ThrowAsJavaScriptException();
      return;
    }
    if (epoll_.fd() < 0) {
      ThrowErrno(env, EBADF, "uv_poll_start");
      return;
    }
    on_ready_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (!async_context_) async_context_ = std::make_unique<Napi::AsyncContext>(env, "evloop.EpollSelector");
    if (watching_) return;
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        Napi::Error::New(env, "no libuv loop for this environment").ThrowAsJavaScriptException();
        return;
      }
      auto* handle = new PollHandle{};
      const int result = uv_poll_init(loop, &handle->poll, epoll_.fd());
      if (result < 0) {
        delete handle;
        ThrowErrno(env, -result, "uv_poll_init");
        return;
      }
      handle->poll.data = handle;
      handle->owner = this;
      napi_add_async_cleanup_hook(env, OnEnvironmentTeardown, handle, &handle->cleanup_hook);
      poll_ = handle;
    }
    const int result = uv_poll_start(&poll_->poll, UV_READABLE, OnPollReady);
    if (result < 0) {
      ThrowErrno(env, -result, "uv_poll_start");
      return;
    }
    watching_ = true;
    if (self_.IsEmpty()) self_ = Napi::Persistent(Value());
  }

  // Stops the poll (kept for a later watch) and lets the process exit.
  void Unwatch(const Napi::CallbackInfo&) { StopWatching(); }

  void Close(const Napi::CallbackInfo&) { Shutdown(); }

  Napi::Value Fileno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), epoll_.fd()); }

  void StopWatching() {
    if (watching_ && poll_ != nullptr) uv_poll_stop(&poll_->poll);
    watching_ = false;
    on_ready_.Reset();
    if (!self_.IsEmpty()) self_.Reset();
  }

  // close() and the destructor: the poll must leave libuv's epoll set before
  // the fd it watches is closed. The async context stays until the
  // destructor: close() may run inside onReady, while MakeCallback uses it.
  void Shutdown() {
    StopWatching();
    if (poll_ != nullptr) {
      ClosePollHandle(poll_);
      poll_ = nullptr;
    }
    epoll_.Close();
  }

  static void ClosePollHandle(PollHandle* handle) {
    handle->owner = nullptr;
    if (handle->closing) return;
    handle->closing = true;
    uv_poll_stop(&handle->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&handle->poll), OnPollClosed);
  }

  static void OnPollClosed(uv_handle_t* raw) {
    auto* handle = static_cast<PollHandle*>(raw->data);
    if (handle->cleanup_hook != nullptr) napi_remove_async_cleanup_hook(handle->cleanup_hook);
    delete handle;
  }

  // The environment (main thread or a worker) is going away while the handle
  // is still open: close it now; Node waits for the close callback.
  static void OnEnvironmentTeardown(napi_async_cleanup_hook_handle, void* data) {
    auto* handle = static_cast<PollHandle*>(data);
    if (handle->owner != nullptr) {
      handle->owner->watching_ = false;
      handle->owner->poll_ = nullptr;
    }
    ClosePollHandle(handle);
  }

  static void OnPollReady(uv_poll_t* raw, int, int) {
    auto* handle = static_cast<PollHandle*>(raw->data);
    EpollBinding* self = handle->owner;
    if (self == nullptr || !self->watching_ || self->on_ready_.IsEmpty()) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    // Held for the call: onReady may close or unwatch this selector. It is
    // called on the global object, as a plain function would be.
    Napi::Function callback = self->on_ready_.Value();
    callback.MakeCallback(env.Global(), {}, *self->async_context_);
    if (env.IsExceptionPending()) {
      Napi::Error error = env.GetAndClearPendingException();
      napi_fatal_exception(env, error.Value());
    }
  }

  Epoll epoll_;
  PollHandle* poll_ = nullptr;
  bool watching_ = false;
  Napi::FunctionReference on_ready_;
  Napi::ObjectReference self_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = EpollBinding::Define(env);
  exports.Set("Epoll", constructor);
  exports.Set("platformSupported", Napi::Boolean::New(env,
#ifdef __linux__
                                                       true
#else
                                                       false
#endif
                                                       ));
  return exports;
}

}  // namespace
}  // namespace evloop

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return evloop::Init(env, exports); }

NODE_API_MODULE(evloop_selector_epoll, InitModule)

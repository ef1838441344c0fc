// Node-API glue for the kqueue selector: argument checks, the one error
// helper, and the libuv watch on the kqueue fd. The syscalls live in
// kqueue.cc.
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "kqueue.h"

namespace evloop {
namespace {

// Every failed syscall reaches JavaScript this way: an Error carrying the
// positive `errno` and the `syscall` name; NativeSelector maps it to OSError.
void ThrowErrno(Napi::Env env, int error, const char* syscall) {
  Napi::Error exception = Napi::Error::New(env, std::string(syscall) + " failed: " + std::strerror(error));
  exception.Value().Set("errno", Napi::Number::New(env, error));
  exception.Value().Set("syscall", Napi::String::New(env, syscall));
  exception.ThrowAsJavaScriptException();
}

bool ReadInt(const Napi::CallbackInfo& info, size_t index, int* out) {
  if (!info[index].IsNumber()) {
    Napi::TypeError::New(info.Env(), "expected a number").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[index].As<Napi::Number>().Int32Value();
  return true;
}

class KqueueBinding;

// The uv_poll_t that watches the kqueue fd (a kqueue fd is readable while
// events are pending). It is heap-allocated on its own because uv_close ends
// on a later loop turn, after the binding may have been closed or collected:
// the binding clears `owner` when it lets go, and the close callback frees
// the handle.
struct Watcher {
  uv_poll_t poll;
  KqueueBinding* owner;
  napi_async_cleanup_hook_handle teardown_hook;
};

class KqueueBinding : public Napi::ObjectWrap<KqueueBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Kqueue",
                       {
                           InstanceMethod<&KqueueBinding::Add>("add"),
                           InstanceMethod<&KqueueBinding::Modify>("modify"),
                           InstanceMethod<&KqueueBinding::Remove>("remove"),
                           InstanceMethod<&KqueueBinding::Wait>("wait"),
                           InstanceMethod<&KqueueBinding::Watch>("watch"),
                           InstanceMethod<&KqueueBinding::Unwatch>("unwatch"),
                           InstanceMethod<&KqueueBinding::Close>("close"),
                           InstanceMethod<&KqueueBinding::Fileno>("fileno"),
                       });
  }

  explicit KqueueBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KqueueBinding>(info) {
    const int result = kqueue_.Open();
    if (result < 0) ThrowErrno(info.Env(), -result, kqueue_.last_syscall());
  }

  // Collected without close(). An armed watch holds the wrapper strongly,
  // so only an unarmed (or torn-down) watcher can be left here.
  ~KqueueBinding() override { Shutdown(); }

 private:
  void Add(const Napi::CallbackInfo& info) { Change(info, &Kqueue::Add); }
  void Modify(const Napi::CallbackInfo& info) { Change(info, &Kqueue::Modify); }

  void Change(const Napi::CallbackInfo& info, int (Kqueue::*change)(int, int)) {
    int fd, events;
    if (!ReadInt(info, 0, &fd) || !ReadInt(info, 1, &events)) return;
    if (fd < 0 || events == 0 || (events & ~(kEventRead | kEventWrite)) != 0) {
      Napi::RangeError::New(info.Env(), "invalid fd or events").ThrowAsJavaScriptException();
      return;
    }
    const int result = (kqueue_.*change)(fd, events);
    if (result < 0) ThrowErrno(info.Env(), -result, kqueue_.last_syscall());
  }

  void Remove(const Napi::CallbackInfo& info) {
    int fd;
    if (!ReadInt(info, 0, &fd)) return;
    if (fd < 0) {
      Napi::RangeError::New(info.Env(), "invalid fd").ThrowAsJavaScriptException();
      return;
    }
    const int result = kqueue_.Remove(fd);
    if (result < 0) ThrowErrno(info.Env(), -result, kqueue_.last_syscall());
  }

  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        !info[1].IsNumber()) {
      Napi::TypeError::New(env, "expected (Int32Array, timeoutMs)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Int32Array out = info[0].As<Napi::Int32Array>();
    const size_t capacity = out.ElementLength() / 2;
    if (capacity == 0) {
      Napi::RangeError::New(env, "the output buffer has no room for an (fd, events) pair")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // Negative or NaN: forever. Otherwise whole milliseconds, rounded up.
    const double requested = info[1].As<Napi::Number>().DoubleValue();
    int timeout_ms = -1;
    if (requested >= 0) timeout_ms = requested >= 0x7fffffff ? 0x7fffffff : static_cast<int>(std::ceil(requested));
    const int count = kqueue_.Wait(out.Data(), capacity, timeout_ms);
    if (count < 0) {
      ThrowErrno(env, -count, kqueue_.last_syscall());
      return env.Undefined();
    }
    return Napi::Number::New(env, count);
  }

  // Arms a libuv poll on the kqueue fd in this environment's loop. Once
  // armed, another call only replaces the callback. While armed the handle
  // is ref'd (the process stays alive) and the wrapper is held strongly.
  void Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) {
      Napi::TypeError::New(env, "onReady must be a function").ThrowAsJavaScriptException();
      return;
    }
    if (kqueue_.fd() < 0) {
      ThrowErrno(env, EBADF, "uv_poll_start");
      return;
    }
    on_ready_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (armed_) return;
    // One async context for the wrapper's life: close() may run inside
    // onReady while MakeCallback still uses it, so only the destructor ends it.
    if (!async_context_) async_context_ = std::make_unique<Napi::AsyncContext>(env, "evloop.KqueueSelector");
    if (watcher_ == nullptr && !CreateWatcher(env)) return;
    const int result = uv_poll_start(&watcher_->poll, UV_READABLE, OnReadable);
    if (result < 0) {
      on_ready_.Reset();
      ThrowErrno(env, -result, "uv_poll_start");
      return;
    }
    armed_ = true;
    self_ = Napi::Persistent(Value());
  }

  bool CreateWatcher(Napi::Env env) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      on_ready_.Reset();
      Napi::Error::New(env, "this environment has no libuv loop").ThrowAsJavaScriptException();
      return false;
    }
    auto* watcher = new Watcher{};
    const int result = uv_poll_init(loop, &watcher->poll, kqueue_.fd());
    if (result < 0) {
      delete watcher;
      on_ready_.Reset();
      ThrowErrno(env, -result, "uv_poll_init");
      return false;
    }
    watcher->poll.data = watcher;
    watcher->owner = this;
    napi_add_async_cleanup_hook(env, OnTeardown, watcher, &watcher->teardown_hook);
    watcher_ = watcher;
    return true;
  }

  void Unwatch(const Napi::CallbackInfo&) { Disarm(); }

  void Close(const Napi::CallbackInfo&) { Shutdown(); }

  Napi::Value Fileno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), kqueue_.fd()); }

  // Stops the poll but keeps the handle for a later watch(); a stopped
  // handle does not keep the process alive.
  void Disarm() {
    if (armed_ && watcher_ != nullptr) uv_poll_stop(&watcher_->poll);
    armed_ = false;
    on_ready_.Reset();
    self_.Reset();
  }

  // close() and the destructor. The handle leaves libuv's own kqueue
  // (uv_close stops it at once) before the fd it watches is closed.
  void Shutdown() {
    Disarm();
    if (watcher_ != nullptr) {
      Release(watcher_);
      watcher_ = nullptr;
    }
    kqueue_.Close();
  }

  static void Release(Watcher* watcher) {
    watcher->owner = nullptr;
    auto* handle = reinterpret_cast<uv_handle_t*>(&watcher->poll);
    if (!uv_is_closing(handle)) uv_close(handle, OnClosed);
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* watcher = static_cast<Watcher*>(handle->data);
    if (watcher->teardown_hook != nullptr) napi_remove_async_cleanup_hook(watcher->teardown_hook);
    delete watcher;
  }

  // The environment (the main thread or a worker) ends with the handle still
  // open: close it now; Node waits until OnClosed removes this hook.
  static void OnTeardown(napi_async_cleanup_hook_handle, void* data) {
    auto* watcher = static_cast<Watcher*>(data);
    if (watcher->owner != nullptr) {
      watcher->owner->armed_ = false;
      watcher->owner->watcher_ = nullptr;
    }
    Release(watcher);
  }

  static void OnReadable(uv_poll_t* poll, int status, int) {
    auto* watcher = static_cast<Watcher*>(poll->data);
    KqueueBinding* self = watcher->owner;
    if (self == nullptr || !self->armed_ || self->on_ready_.IsEmpty()) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    // Local handles keep the callback and the wrapper alive through the call:
    // onReady may unwatch, close or drop this selector.
    Napi::Function callback = self->on_ready_.Value();
    Napi::Object wrapper = self->self_.Value();
    static_cast<void>(wrapper);
    Napi::AsyncContext& context = *self->async_context_;
    // On an error libuv has already stopped the handle; the watch ends, and
    // onReady runs once more so that the loop's next wait reports the error.
    if (status < 0) self->Disarm();
    // Called on the global object, as a plain function is.
    callback.MakeCallback(env.Global(), {}, context);
    if (env.IsExceptionPending()) {
      Napi::Error error = env.GetAndClearPendingException();
      napi_fatal_exception(env, error.Value());
    }
  }

  Kqueue kqueue_;
  Watcher* watcher_ = nullptr;
  bool armed_ = false;
  Napi::FunctionReference on_ready_;
  Napi::ObjectReference self_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Kqueue", KqueueBinding::Define(env));
  return exports;
}

}  // namespace
}  // namespace evloop

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return evloop::Init(env, exports); }

NODE_API_MODULE(evloop_selector_kqueue, InitModule)

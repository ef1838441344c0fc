// Node-API glue shared by the selector backends that have no pollable kernel
// object (poll, select): one JS class wrapping a mechanism's registration set,
// implementing `NativeSelectorBinding` from @evloop/interface.
//
// Shared verbatim by @evloop/selector-poll and @evloop/selector-select (see
// idle_waiter.h for why there are two copies). The mechanism (`Set`) provides:
//   static constexpr const char* kName;
//   Status Add(int fd, int events), Modify(int fd, int events), Remove(int fd)
//   int Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status)
//   void Clear()
// plus what IdleWaiter needs.
#ifndef EVLOOP_SELECTOR_WRAP_H_
#define EVLOOP_SELECTOR_WRAP_H_

#include <napi.h>

#include <cstring>
#include <string>

#include "idle_waiter.h"

namespace evloop {

// The one place an OS error becomes a JS error: `{ errno, syscall }`, which
// the TypeScript NativeSelector turns into a typed OSError.
inline Napi::Value ThrowErrno(Napi::Env env, int error, const char* syscall) {
  Napi::Error js_error = Napi::Error::New(env, std::string(syscall) + " failed: " + std::strerror(error));
  js_error.Set("errno", Napi::Number::New(env, error));
  js_error.Set("syscall", Napi::String::New(env, syscall));
  js_error.ThrowAsJavaScriptException();
  return env.Undefined();
}

inline Napi::Value ThrowStatus(Napi::Env env, const Status& status) {
  if (!status.range_error.empty()) {
    Napi::RangeError::New(env, status.range_error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return ThrowErrno(env, status.error, status.syscall);
}

template <typename Set>
class SelectorWrap : public Napi::ObjectWrap<SelectorWrap<Set>> {
 public:
  static Napi::Function Define(Napi::Env env, const char* class_name) {
    using Self = SelectorWrap<Set>;
    return Self::DefineClass(env, class_name,
                             {
                                 Self::InstanceMethod("add", &Self::Add),
                                 Self::InstanceMethod("modify", &Self::Modify),
                                 Self::InstanceMethod("remove", &Self::Remove),
                                 Self::InstanceMethod("wait", &Self::Wait),
                                 Self::InstanceMethod("watch", &Self::Watch),
                                 Self::InstanceMethod("unwatch", &Self::Unwatch),
                                 Self::InstanceMethod("close", &Self::Close),
                                 Self::InstanceMethod("fileno", &Self::Fileno),
                             });
  }

  explicit SelectorWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<SelectorWrap<Set>>(info), env_(info.Env()) {}

  // Runs when the JS object is collected, possibly while watched.
  ~SelectorWrap() override { StopWatching(false); }

 private:
  // The TSFN's context. It outlives the wrapper when a notification is still
  // queued after the wrapper is gone; `owner` is then null and the TSFN's
  // finalizer frees it.
  struct Relay {
    SelectorWrap* owner;
  };

  static void CallJs(Napi::Env env, Napi::Function, Relay* relay, void*) {
    if (env == nullptr || relay == nullptr || relay->owner == nullptr) return;
    relay->owner->DeliverReady(env);
  }

  static void FinalizeRelay(Napi::Env, void*, Relay* relay) { delete relay; }

  using Notifier = Napi::TypedThreadSafeFunction<Relay, void, CallJs>;

  bool ReadArgs(const Napi::CallbackInfo& info, int count, int* fd, int* events) {
    Napi::Env env = info.Env();
    if (closed_) {
      Napi::Error::New(env, std::string(Set::kName) + " selector is closed").ThrowAsJavaScriptException();
      return false;
    }
    if (info.Length() < static_cast<size_t>(count) || !info[0].IsNumber() || (count > 1 && !info[1].IsNumber())) {
      Napi::TypeError::New(env, "expected numeric arguments").ThrowAsJavaScriptException();
      return false;
    }
    *fd = info[0].As<Napi::Number>().Int32Value();
    if (count > 1) *events = info[1].As<Napi::Number>().Int32Value();
    if (*fd < 0) {
      Napi::RangeError::New(env, "fd must be >= 0").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  // add/modify/remove: read (fd[, events]), change the set under the
  // waiter's lock (waking the helper thread), throw what the mechanism said.
  template <typename Change>
  Napi::Value ChangeSet(const Napi::CallbackInfo& info, int arg_count, Change change) {
    int fd = -1, events = 0;
    if (!ReadArgs(info, arg_count, &fd, &events)) return info.Env().Undefined();
    Status status = waiter_.Mutate([&](Set& set) { return change(set, fd, events); });
    if (!status.ok()) return ThrowStatus(info.Env(), status);
    return info.Env().Undefined();
  }

  Napi::Value Add(const Napi::CallbackInfo& info) {
    return ChangeSet(info, 2, [](Set& set, int fd, int events) { return set.Add(fd, events); });
  }

  Napi::Value Modify(const Napi::CallbackInfo& info) {
    return ChangeSet(info, 2, [](Set& set, int fd, int events) { return set.Modify(fd, events); });
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    return ChangeSet(info, 1, [](Set& set, int fd, int) { return set.Remove(fd); });
  }

  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) {
      Napi::Error::New(env, std::string(Set::kName) + " selector is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 2 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "wait(out: Int32Array, timeoutMs: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Int32Array out = info[0].As<Napi::Int32Array>();
    int timeout_ms = info[1].As<Napi::Number>().Int32Value();
    if (timeout_ms < 0) timeout_ms = -1;
    Status status;
    // The set is only changed on this thread, so reading it here needs no lock.
    int count = set_.Wait(out.Data(), out.ElementLength() / 2, timeout_ms, &status);
    if (count < 0) return ThrowStatus(env, status);
    return Napi::Number::New(env, count);
  }

  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) {
      Napi::Error::New(env, std::string(Set::kName) + " selector is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "onReady must be a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    on_ready_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (waiter_.running()) return env.Undefined();  // only the callback changes

    Relay* relay = new Relay{this};
    std::string resource = std::string("evloop.") + Set::kName + ".watch";
    Notifier notifier = Notifier::New(env, resource, 0, 1, relay, &SelectorWrap::FinalizeRelay, static_cast<void*>(nullptr));
    if (env.IsExceptionPending()) {  // the TSFN was not created, nor its finalizer
      delete relay;
      on_ready_.Reset();
      return env.Undefined();
    }
    const char* syscall = "";
    int error = waiter_.Start([notifier]() mutable { notifier.NonBlockingCall(); }, &syscall);
    if (error != 0) {
      relay->owner = nullptr;
      notifier.Release();
      on_ready_.Reset();
      return ThrowErrno(env, error, syscall);
    }
    notifier_ = notifier;
    relay_ = relay;
    if (napi_add_env_cleanup_hook(env, &SelectorWrap::OnEnvCleanup, this) == napi_ok) hooked_ = true;
    return env.Undefined();
  }

  Napi::Value Unwatch(const Napi::CallbackInfo& info) {
    StopWatching(false);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    StopWatching(false);
    set_.Clear();
    closed_ = true;
    return info.Env().Undefined();
  }

  Napi::Value Fileno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), -1); }

  // On the JS thread, through the TSFN (a callback scope: Promise jobs queued
  // by onReady run right after it).
  void DeliverReady(Napi::Env env) {
    if (on_ready_.IsEmpty() || !waiter_.running()) return;
    on_ready_.Value().Call(env.Undefined(), {});
    // Rearm only now that onReady has returned: the loop's iteration (its
    // wait() and the callbacks that read or write) ran inside it. Rearming at
    // that wait() would let the thread see readiness the callbacks were about
    // to consume and report it again for nothing. If an fd is still ready the
    // thread reports it on a later turn of the libuv loop: level-triggered,
    // like a uv_poll_t, never a busy spin.
    waiter_.Rearm();
  }

  // Leaves nothing behind: thread joined, wake pipe closed, TSFN released
  // (so it no longer keeps the process alive), cleanup hook removed.
  void StopWatching(bool from_cleanup_hook) {
    waiter_.Stop();
    if (relay_ != nullptr) {
      relay_->owner = nullptr;
      relay_ = nullptr;
      notifier_.Release();
    }
    if (hooked_) {
      hooked_ = false;
      if (!from_cleanup_hook) napi_remove_env_cleanup_hook(env_, &SelectorWrap::OnEnvCleanup, this);
    }
    on_ready_.Reset();
  }

  // The env (a worker) is going away while watched.
  static void OnEnvCleanup(void* self) { static_cast<SelectorWrap*>(self)->StopWatching(true); }

  napi_env env_;
  Set set_;
  IdleWaiter<Set> waiter_{&set_};
  Notifier notifier_;
  Relay* relay_ = nullptr;
  Napi::FunctionReference on_ready_;
  bool hooked_ = false;
  bool closed_ = false;
};

}  // namespace evloop

#endif  // EVLOOP_SELECTOR_WRAP_H_

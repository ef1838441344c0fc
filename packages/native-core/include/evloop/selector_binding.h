// The one Node-API class behind every selector backend, implementing
// @evloop/interface's NativeSelectorBinding:
//
//   new Selector([{ helperThread: true }])
//   add(fd, events)  modify(fd, events)  remove(fd)
//   wait(out: Int32Array, timeoutMs) -> pairs written (event_buffer.h)
//   watch(onReady[, timeoutMs])  unwatch()  close()  fileno()
//
// A backend supplies only its mechanism, a class with no Node-API types
// (mio's one file per backend), with these members:
//
//   static constexpr const char* kName;     "epoll", used in messages
//   static constexpr bool kHasKernelFd;     whether fd() is a pollable fd
//   Status Open();                           create the kernel object, if any
//   Status Add(int fd, int events);          events: kEventRead | kEventWrite
//   Status Modify(int fd, int events);
//   Status Remove(int fd);
//   int Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status);
//                                            pairs written, or -1 and *status
//   void Close();                            safe to call twice
//   int fd() const;                          the kernel fd, or -1
//   static Status Probe();                   proves the mechanism works here
// and, without a kernel fd, what IdleWaiter needs from a Set (idle_waiter.h).
//
// How an idle loop waits (watch): a mechanism with a pollable kernel fd is
// watched by libuv (fd_watch.h); one without, or one made with
// { helperThread: true } (for runtimes whose libuv poll handles do not
// work), waits on a helper thread (idle_waiter.h). The mechanism is changed
// under the helper thread's lock while it waits on a copy of the set.
#ifndef EVLOOP_SELECTOR_BINDING_H_
#define EVLOOP_SELECTOR_BINDING_H_

#include <napi.h>

#include <cerrno>
#include <string>
#include <type_traits>

#include "evloop/errors.h"
#include "evloop/event_buffer.h"
#include "evloop/idle_waiter.h"
#include "evloop/status.h"
#ifndef _WIN32
#include <sys/stat.h>

#include "evloop/fd_watch.h"
#endif

namespace evloop {

template <typename Mechanism>
class SelectorBinding : public Napi::ObjectWrap<SelectorBinding<Mechanism>> {
  using Self = SelectorBinding<Mechanism>;
  static constexpr bool kHasKernelFd = Mechanism::kHasKernelFd;
#ifdef _WIN32
  static_assert(!kHasKernelFd, "a kernel-fd mechanism is watched through libuv, which Windows addons do not use");
  using WaitSet = Mechanism;
#else
  using WaitSet = std::conditional_t<kHasKernelFd, KernelFdSet<Mechanism>, Mechanism>;
#endif

 public:
  static Napi::Function Define(Napi::Env env, const char* class_name) {
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
#ifndef _WIN32
                                 Self::InstanceMethod("identity", &Self::Identity),
#endif
                             });
  }

  explicit SelectorBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Self>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsUndefined()) {
      if (!info[0].IsObject()) {
        closed_ = true;
        Napi::TypeError::New(env, "options must be an object").ThrowAsJavaScriptException();
        return;
      }
      Napi::Value helper = info[0].As<Napi::Object>().Get("helperThread");
      if (!helper.IsUndefined() && !helper.IsBoolean()) {
        closed_ = true;
        Napi::TypeError::New(env, "options.helperThread must be a boolean").ThrowAsJavaScriptException();
        return;
      }
      if (helper.IsBoolean() && helper.As<Napi::Boolean>().Value()) helper_thread_ = true;
    }
    const Status status = mechanism_.Open();
    if (!status.ok()) {
      closed_ = true;
      ThrowStatus(env, status);
    }
  }

  // Collected without close(). A watched binding is held strongly (by its
  // libuv handles or its helper thread's watch), so only an unwatched one
  // gets here, or any one when the environment is torn down.
  ~SelectorBinding() override { Shutdown(); }

 private:
  // An operation on a closed selector fails as a syscall on a closed fd.
  bool CheckOpen(Napi::Env env) {
    if (!closed_) return true;
    ThrowSyscallError(env, EBADF, Mechanism::kName);
    return false;
  }

  // (fd[, events]) as the TypeScript layer passes them, checked again here so
  // that nothing a caller passes reaches a syscall unchecked.
  bool ReadTarget(const Napi::CallbackInfo& info, bool with_events, int* fd, int* events) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || (with_events && !info[1].IsNumber())) {
      Napi::TypeError::New(env, with_events ? "expected (fd: number, events: number)" : "expected (fd: number)")
          .ThrowAsJavaScriptException();
      return false;
    }
    const double number = info[0].As<Napi::Number>().DoubleValue();
    if (!(number >= 0 && number <= 0x7fffffff) || number != static_cast<double>(static_cast<int>(number))) {
      Napi::RangeError::New(env, "fd must be an integer in [0, 2147483647]").ThrowAsJavaScriptException();
      return false;
    }
    *fd = static_cast<int>(number);
    *events = 0;
    if (with_events) {
      const double mask = info[1].As<Napi::Number>().DoubleValue();
      const double all = kEventRead | kEventWrite | kEventPriority;
      if (!(mask >= 1 && mask <= all && mask == static_cast<double>(static_cast<int>(mask)))) {
        Napi::RangeError::New(env, "events must be a mask of EVENT_READ, EVENT_WRITE and EVENT_PRIORITY").ThrowAsJavaScriptException();
        return false;
      }
      *events = static_cast<int>(mask);
    }
    return CheckOpen(env);
  }

  template <typename Change>
  Napi::Value ChangeSet(const Napi::CallbackInfo& info, bool with_events, Change change) {
    int fd, events;
    if (!ReadTarget(info, with_events, &fd, &events)) return info.Env().Undefined();
    Status status;
    if constexpr (kHasKernelFd) {
      status = change(mechanism_, fd, events);  // the kernel's set needs no lock
    } else {
      status = thread_watch_.Mutate([&](Mechanism& mechanism) { return change(mechanism, fd, events); });
    }
    if (!status.ok()) ThrowStatus(info.Env(), status);
    return info.Env().Undefined();
  }

  Napi::Value Add(const Napi::CallbackInfo& info) {
    return ChangeSet(info, true, [](Mechanism& mechanism, int fd, int events) { return mechanism.Add(fd, events); });
  }

  Napi::Value Modify(const Napi::CallbackInfo& info) {
    return ChangeSet(info, true,
                     [](Mechanism& mechanism, int fd, int events) { return mechanism.Modify(fd, events); });
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    return ChangeSet(info, false, [](Mechanism& mechanism, int fd, int) { return mechanism.Remove(fd); });
  }

  // The set is only changed on this thread, so reading it here needs no lock.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EventBuffer buffer;
    int timeout_ms;
    if (!ReadWaitArguments(info, 0, &buffer, &timeout_ms) || !CheckOpen(env)) return env.Undefined();
    Status status;
    const int count = mechanism_.Wait(buffer.out, buffer.capacity, timeout_ms, &status);
    if (count < 0) {
      ThrowStatus(env, status);
      return env.Undefined();
    }
    return Napi::Number::New(env, count);
  }

  // watch(onReady[, timeoutMs]): onReady is called from Node's loop when a
  // wait() would find events, and, with a timeout, once it passes first.
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction() || !(info[1].IsUndefined() || info[1].IsNumber())) {
      Napi::TypeError::New(env, "expected (onReady: function, timeoutMs?: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!CheckOpen(env)) return env.Undefined();
    const int timeout_ms = info[1].IsNumber() ? TimeoutMs(info[1].As<Napi::Number>().DoubleValue()) : -1;
    Napi::Function on_ready = info[0].As<Napi::Function>();
#ifndef _WIN32
    if (kHasKernelFd && !helper_thread_) {
      fd_watch_.Start(env, this->Value(), mechanism_.fd(), on_ready, timeout_ms, ResourceName());
      return env.Undefined();
    }
#endif
    thread_watch_.Start(env, this->Value(), on_ready, Deadline::In(timeout_ms), ResourceName());
    return env.Undefined();
  }

  Napi::Value Unwatch(const Napi::CallbackInfo& info) {
    StopWatching();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Fileno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), mechanism_.fd()); }

#ifndef _WIN32
  // identity(fd): "st_dev:st_ino" of the open file behind fd (fstat), so the
  // TypeScript selector can tell, for a backend that watches by fd number,
  // that the number now names another file. EBADF when fd is closed.
  Napi::Value Identity(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd;
    int events;
    if (!ReadTarget(info, false, &fd, &events)) return env.Undefined();
    struct stat status;
    if (fstat(fd, &status) != 0) {
      ThrowErrno(env, "fstat");
      return env.Undefined();
    }
    return Napi::String::New(env, std::to_string(static_cast<unsigned long long>(status.st_dev)) + ":" +
                                      std::to_string(static_cast<unsigned long long>(status.st_ino)));
  }
#endif

  void StopWatching() {
#ifndef _WIN32
    fd_watch_.Stop();
#endif
    thread_watch_.Stop();
  }

  // The watch ends (libuv's handles closed, the thread joined) before the fd
  // it waits on is closed.
  void Shutdown() {
#ifndef _WIN32
    fd_watch_.Close();
#endif
    thread_watch_.Close();
    mechanism_.Close();
    closed_ = true;
  }

  static const char* ResourceName() {
    static const std::string name = std::string("evloop.") + Mechanism::kName + ".watch";
    return name.c_str();
  }

  WaitSet* wait_set() {
#ifndef _WIN32
    if constexpr (!std::is_same_v<WaitSet, Mechanism>) return &kernel_set_;
#endif
    if constexpr (std::is_same_v<WaitSet, Mechanism>) return &mechanism_;
  }

  Mechanism mechanism_;
#ifndef _WIN32
  KernelFdSet<Mechanism> kernel_set_{&mechanism_};
  FdWatch fd_watch_;
#endif
  ThreadWatch<WaitSet> thread_watch_{wait_set()};
  bool helper_thread_ = !kHasKernelFd;
  bool closed_ = false;
};

// What every selector addon exports where its mechanism exists: the class as
// `Selector` and `probe()` (for `available()`: throws what Mechanism::Probe
// found wrong).
template <typename Mechanism>
Napi::Object ExportSelector(Napi::Env env, Napi::Object exports, const char* class_name) {
  exports.Set("Selector", SelectorBinding<Mechanism>::Define(env, class_name));
  exports.Set("probe", Napi::Function::New(
                           env,
                           [](const Napi::CallbackInfo& info) -> Napi::Value {
                             const Status status = Mechanism::Probe();
                             if (!status.ok()) ThrowStatus(info.Env(), status);
                             return info.Env().Undefined();
                           },
                           "probe"));
  return exports;
}

}  // namespace evloop

#endif  // EVLOOP_SELECTOR_BINDING_H_

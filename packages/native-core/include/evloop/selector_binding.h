// The one Node-API class behind every selector backend, implementing
// @evloop/interface's NativeSelectorBinding:
//
//   add(fd, events)  modify(fd, events)  remove(fd)
//   wait(out: Int32Array, timeoutMs) -> pairs written (event_buffer.h)
//   watch(onReady[, timeoutMs])  unwatch()  close()  fileno()
//
// A backend supplies only its mechanism, a class with no Node-API types
// (mio's one file per backend), with these members:
//
//   static constexpr const char* kName;    "epoll", used in messages
//   Status Open();                          create the kernel object, if any
//   Status Add(int fd, int events);         events: kEventRead | kEventWrite
//   Status Modify(int fd, int events);
//   Status Remove(int fd);
//   int Wait(int32_t* out, size_t capacity, int timeout_ms, Status* status);
//                                           pairs written, or -1 and *status
//   void Close();                           safe to call twice
//   int fd() const;                         the pollable kernel fd, or -1
//
// How an idle loop waits (watch): a mechanism with a pollable kernel fd is
// watched by libuv (fd_watch.h).
#ifndef EVLOOP_SELECTOR_BINDING_H_
#define EVLOOP_SELECTOR_BINDING_H_

#include <napi.h>

#include <cerrno>
#include <string>

#include "evloop/errors.h"
#include "evloop/event_buffer.h"
#include "evloop/fd_watch.h"
#include "evloop/status.h"

namespace evloop {

template <typename Mechanism>
class SelectorBinding : public Napi::ObjectWrap<SelectorBinding<Mechanism>> {
  using Self = SelectorBinding<Mechanism>;

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
                             });
  }

  explicit SelectorBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Self>(info) {
    const Status status = mechanism_.Open();
    if (!status.ok()) {
      closed_ = true;
      ThrowStatus(info.Env(), status);
    }
  }

  // Collected without close(). A watched binding is held strongly, so only
  // an unwatched (or torn-down) one gets here.
  ~SelectorBinding() override { Shutdown(); }

 private:
  // An operation on a closed selector fails as a syscall on a closed fd.
  bool CheckOpen(Napi::Env env) {
    if (!closed_) return true;
    ThrowSyscallError(env, EBADF, Mechanism::kName);
    return false;
  }

  // (fd[, events]) as the TypeScript layer passes them, checked again here so
  // that nothing a caller passes can reach a syscall unchecked.
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
      if (!(mask == kEventRead || mask == kEventWrite || mask == (kEventRead | kEventWrite))) {
        Napi::RangeError::New(env, "events must be EVENT_READ, EVENT_WRITE or both").ThrowAsJavaScriptException();
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
    const Status status = change(mechanism_, fd, events);
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

  // watch(onReady[, timeoutMs]): see fd_watch.h.
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction() || !(info[1].IsUndefined() || info[1].IsNumber())) {
      Napi::TypeError::New(env, "expected (onReady: function, timeoutMs?: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!CheckOpen(env)) return env.Undefined();
    const int timeout_ms = info[1].IsNumber() ? TimeoutMs(info[1].As<Napi::Number>().DoubleValue()) : -1;
    fd_watch_.Start(env, this->Value(), mechanism_.fd(), info[0].As<Napi::Function>(), timeout_ms, kResourceName());
    return env.Undefined();
  }

  Napi::Value Unwatch(const Napi::CallbackInfo& info) {
    fd_watch_.Stop();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Fileno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), mechanism_.fd()); }

  // The watch leaves libuv before the fd it watches is closed.
  void Shutdown() {
    fd_watch_.Close();
    mechanism_.Close();
    closed_ = true;
  }

  static const char* kResourceName() {
    static const std::string name = std::string("evloop.") + Mechanism::kName + ".watch";
    return name.c_str();
  }

  Mechanism mechanism_;
  FdWatch fd_watch_;
  bool closed_ = false;
};

}  // namespace evloop

#endif  // EVLOOP_SELECTOR_BINDING_H_

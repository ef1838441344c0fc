// Node-API glue for the io_uring proactor: argument unpacking, errors
// (evloop/errors.h) and the idle wait on the ring's eventfd (libuv's, through
// evloop/fd_watch.h, or a helper thread's, through evloop/idle_waiter.h).
// The ring lives in uring.cc, the socket addresses in sockaddr.cc.
// Operation buffers belong to JavaScript: the UringProactor wrapper keeps
// each one referenced until its completion has been harvested, so nothing
// here owns or frees them. Where io_uring does not exist the module exports
// only `unsupportedReason` (evloop/platform.h).
#include <napi.h>

#include "evloop/platform.h"

#if defined(__linux__)
#include <uv.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "evloop/arguments.h"
#include "evloop/errors.h"
#include "evloop/fd_watch.h"
#include "evloop/idle_waiter.h"
#include "evloop/sendfile.h"
#include "sockaddr.h"
#include "uring.h"
#include "uv_idle_time.h"

namespace evloop {
namespace {

// Results of RingBinding::Sendfile that are no errno: a blocking socket, a
// file that is not a regular one.
constexpr int kSendfileBlocking = -(1 << 20);
constexpr int kSendfileNotRegular = -(1 << 20) - 1;

// The arguments of sendfileStart/sendfile from index `first`: (sockFd,
// fileFd, offset, count, identity), identity a Float64Array of 4.
struct SendfileArguments {
  int sock = -1;
  int file = -1;
  double offset = 0;
  double count = 0;
  double* identity = nullptr;
};

bool ReadSendfileArguments(const Napi::CallbackInfo& info, size_t first, SendfileArguments* out) {
  Napi::Env env = info.Env();
  if (!info[first].IsNumber() || !info[first + 1].IsNumber() || !info[first + 2].IsNumber() || !info[first + 3].IsNumber() ||
      !info[first + 4].IsTypedArray() || info[first + 4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[first + 4].As<Napi::TypedArray>().ElementLength() < 4) {
    ThrowType(env, "expected (sockFd, fileFd, offset, count, identity)");
    return false;
  }
  out->sock = info[first].As<Napi::Number>().Int32Value();
  out->file = info[first + 1].As<Napi::Number>().Int32Value();
  out->offset = info[first + 2].As<Napi::Number>().DoubleValue();
  out->count = info[first + 3].As<Napi::Number>().DoubleValue();
  Napi::Float64Array identity = info[first + 4].As<Napi::Float64Array>();
  out->identity = identity.Data();
  if (!(out->offset >= 0 && out->offset <= 9007199254740991.0) || !(out->count > 0)) {
    Napi::RangeError::New(env, "offset and count out of range").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// One sendfile(2) from the file at `offset` (its own position is not moved)
// into the socket. Returns the bytes sent or -errno. identity[0..3] are the
// socket's and the file's inode numbers, then their devices: when identity[0]
// is not 0 (a step after a poll: the caller may have closed an fd whose
// number was then reused) both fds must still name those files, else -EBADF
// and nothing is sent; a first step's -EAGAIN fills them in. A blocking socket returns
// kSendfileBlocking without sending (sendfile(2) would block the loop), a
// file sendfile(2) cannot read (a pipe) kSendfileNotRegular.
double SendfileNow(const SendfileArguments& arguments) {
  double* identity = arguments.identity;
  struct stat sock_stat;
  struct stat file_stat;
  const bool retry = identity[0] != 0;
  if (retry) {
    if (fstat(arguments.sock, &sock_stat) != 0 || fstat(arguments.file, &file_stat) != 0) return -errno;
    if (static_cast<double>(sock_stat.st_ino) != identity[0] || static_cast<double>(file_stat.st_ino) != identity[1] ||
        static_cast<double>(sock_stat.st_dev) != identity[2] || static_cast<double>(file_stat.st_dev) != identity[3]) {
      return -EBADF;
    }
  } else {
    const int flags = fcntl(arguments.sock, F_GETFL);
    if (flags < 0) return -errno;
    if ((flags & O_NONBLOCK) == 0) return kSendfileBlocking;
  }
  // (Clamped before the cast: count is a double from JavaScript.)
  const size_t count = arguments.count > evloop::kMaxSendfileStep ? evloop::kMaxSendfileStep : static_cast<size_t>(arguments.count);
  const ssize_t sent = evloop::SendFile(arguments.sock, arguments.file, static_cast<int64_t>(arguments.offset), count);
  if (sent >= 0) return static_cast<double>(sent);
  const int error = errno;
  if (error == EAGAIN && !retry) {
    if (fstat(arguments.sock, &sock_stat) != 0 || fstat(arguments.file, &file_stat) != 0) return -errno;
    identity[0] = static_cast<double>(sock_stat.st_ino);
    identity[1] = static_cast<double>(file_stat.st_ino);
    identity[2] = static_cast<double>(sock_stat.st_dev);
    identity[3] = static_cast<double>(file_stat.st_dev);
  }
  if ((error == EINVAL || error == ESPIPE) && fstat(arguments.file, &file_stat) == 0 && !S_ISREG(file_stat.st_mode)) {
    return kSendfileNotRegular;
  }
  return -error;
}

// The per-operation scratch buffer (see sockaddr.h), 8-byte aligned.
uint8_t* ReadScratch(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsTypedArray()) {
    ThrowType(info.Env(), "expected a scratch buffer");
    return nullptr;
  }
  Napi::TypedArray array = info[index].As<Napi::TypedArray>();
  uint8_t* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  if (array.ByteLength() < kScratchSize || (reinterpret_cast<uintptr_t>(data) & 7) != 0) {
    Napi::RangeError::New(info.Env(), "the scratch buffer must be 256 bytes, 8-byte aligned").ThrowAsJavaScriptException();
    return nullptr;
  }
  return data;
}

class RingBinding;

// What happens in libuv's prepare phase, right before libuv polls (and may
// block), for a ring whose loop runs in Node's libuv loop.
//
// While the loop waits for its operations (watch() until unwatch()) and
// libuv is about to block, the wait happens in the ring instead: one
// io_uring_enter submits what was queued and sleeps until a completion, with
// a one-shot poll of libuv's own backend fd among the operations and
// libuv's timeout as the bound. A completion of the loop's is handed to
// JavaScript from here (onReady(true)), and the wait starts again; libuv's
// poll goes on only when libuv has events or a timer due. The kernel wakes
// a thread that waits in the ring directly, where a DEFER_TASKRUN ring's
// eventfd may be signalled a grace period late (docs/backends.md), and a
// round trip costs one io_uring_enter instead of libuv's epoll_wait, an
// eventfd read and an io_uring_enter. The eventfd is switched off meanwhile
// (its signal would make libuv's fd readable and end the wait) and back on
// whenever libuv may block without this wait.
//
// Otherwise (no watch, or a kernel without IORING_CQ_EVENTFD_DISABLED or
// EXT_ARG) what was queued is submitted before libuv blocks, so an idle loop
// never leaves an operation unsubmitted; when libuv is not going to block
// (the loop's next iteration is already due) the loop's own poll submits,
// and one io_uring_enter per iteration is kept.
//
// libuv handles, unref'd; heap-allocated since uv_close finishes later.
class IdleWait {
 public:
  ~IdleWait() { Close(); }
  bool Start(Napi::Env env, Ring* ring) {
    if (handle_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        Napi::Error::New(env, "this environment has no libuv loop").ThrowAsJavaScriptException();
        return false;
      }
      handle_ = new Handle{};
      uv_prepare_init(loop, &handle_->prepare);
      uv_idle_init(loop, &handle_->idle);
      uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->prepare));
      uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->idle));
      handle_->prepare.data = handle_;
      handle_->idle.data = handle_;
      handle_->env = env;
      napi_add_async_cleanup_hook(env, OnTeardown, handle_, &handle_->teardown_hook);
    }
    handle_->ring = ring;
    handle_->owner = this;
    uv_prepare_start(&handle_->prepare, OnPrepare);
    return true;
  }
  // The loop waits for its operations: wait in the ring where the kernel
  // allows it, and call onReady(true) when completions are there.
  void Wait(Napi::Env env, Napi::Function on_ready) {
    if (!context_) context_ = std::make_unique<Napi::AsyncContext>(env, "evloop.UringProactor");
    if (on_ready_.IsEmpty()) waiting_here_++;
    on_ready_ = Napi::Persistent(on_ready);
  }
  void Stop() {
    ClearOnReady();
    if (handle_ == nullptr) return;
    uv_prepare_stop(&handle_->prepare);
    uv_idle_stop(&handle_->idle);
    if (handle_->ring != nullptr) handle_->ring->SetEventFdEnabled(true);
  }
  void Close() {
    ClearOnReady();
    if (handle_ == nullptr) return;
    Release(handle_);
    handle_ = nullptr;
  }

 private:
  // How many rings of this thread (one libuv loop per thread) have a loop
  // waiting for them. Only a ring that is alone in that waits in itself:
  // while it sleeps in io_uring_enter with its eventfd off, another ring's
  // completions could not end the wait, their eventfds being off too. With
  // two, both wait on their eventfds in libuv.
  static inline thread_local int waiting_here_ = 0;
  void ClearOnReady() {
    if (on_ready_.IsEmpty()) return;
    waiting_here_--;
    on_ready_.Reset();
  }

  struct Handle {
    uv_prepare_t prepare;
    uv_idle_t idle;
    Ring* ring = nullptr;
    IdleWait* owner = nullptr;
    napi_env env = nullptr;
    napi_async_cleanup_hook_handle teardown_hook = nullptr;
    int open_handles = 2;
    bool closing = false;
    // onReady(true) was called and left the completions up to this CQ tail
    // in the ring.
    bool untaken = false;
    unsigned untaken_tail = 0;
  };
  static void Release(Handle* handle) {
    if (handle->ring != nullptr) handle->ring->SetEventFdEnabled(true);
    handle->ring = nullptr;
    handle->owner = nullptr;
    if (handle->closing) return;
    handle->closing = true;
    uv_prepare_stop(&handle->prepare);
    uv_idle_stop(&handle->idle);
    uv_close(reinterpret_cast<uv_handle_t*>(&handle->prepare), OnClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&handle->idle), OnClosed);
  }
  static void OnClosed(uv_handle_t* raw) {
    auto* handle = static_cast<Handle*>(raw->data);
    if (--handle->open_handles > 0) return;
    if (handle->teardown_hook != nullptr) napi_remove_async_cleanup_hook(handle->teardown_hook);
    delete handle;
  }
  static void OnTeardown(napi_async_cleanup_hook_handle, void* data) {
    auto* handle = static_cast<Handle*>(data);
    if (handle->owner != nullptr) {
      handle->owner->ClearOnReady();
      handle->owner->handle_ = nullptr;
    }
    Release(handle);
  }
  // Started so that libuv's next poll does not block (see OnPrepare); one
  // turn only.
  static void OnIdle(uv_idle_t* idle) { uv_idle_stop(idle); }

  static void OnPrepare(uv_prepare_t* prepare) {
    auto* handle = static_cast<Handle*>(prepare->data);
    Ring* ring = handle->ring;
    if (ring == nullptr) return;
    uv_loop_t* loop = prepare->loop;
    const bool waiting = handle->owner != nullptr && !handle->owner->on_ready_.IsEmpty() && ring->CanWaitInRing() && waiting_here_ == 1;
    if (!waiting) {
      // The eventfd wakes libuv: switched back on if this ring waited in
      // itself before (another ring's loop now waits too), and written for
      // what came while it was off.
      if (ring->SetEventFdEnabled(true) && (ring->SkipInternal() || ring->TaskWorkPending())) ring->SignalEventFd();
      if (ring->queued() > 0 && MayBlock(loop)) ring->Flush();
      return;
    }
    if (WatchersChanged(loop)) {
      // libuv applies them in its poll, and blocks there for the real
      // timeout: make that poll not block, and wait in the ring on the
      // next turn, when libuv's fd watches the new fds too.
      uv_idle_start(&handle->idle, OnIdle);
      return;
    }
    ring->SetEventFdEnabled(false);
    // The loop polled the ring since the last prepare phase: it is busy,
    // and its next iteration is due before libuv can block. That poll took
    // whatever onReady was called for before and not taken then.
    const bool busy = ring->TakeHarvested();
    if (busy) handle->untaken = false;
    // Whether the eventfd is signalled for what the ring holds when libuv
    // is left to block: not when onReady was already called for it.
    bool tell = true;
    for (bool first = true;; first = false) {
      // Completion work the kernel flagged (a DEFER_TASKRUN ring posts only
      // inside io_uring_enter): post it, since the backend poll's may be
      // among it and the loop's poll enters only for operations of its own.
      if (ring->TaskWorkPending() && ring->Enter(0) < 0) break;
      const bool completions = ring->SkipInternal();
      if (ring->TakeBackendReady()) {
        // libuv has events. Its poll takes them without blocking (the
        // idle handle), and the next prepare phase waits in the ring again:
        // had something else read them meanwhile, libuv would block with
        // the eventfd off.
        uv_idle_start(&handle->idle, OnIdle);
        return;
      }
      if (completions && handle->untaken && ring->cq_tail() == handle->untaken_tail) {
        // onReady was called for these and did not poll: no wait in the
        // ring can start while they are there (they satisfy it at once),
        // so libuv waits, on the eventfd, for a completion after them.
        tell = false;
        break;
      }
      handle->untaken = false;
      // libuv will not block (something else is due, or the loop's own
      // next iteration): the loop polls when it runs, or the next prepare
      // phase looks again.
      if ((!completions || (first && busy)) && uv_backend_timeout(loop) == 0) return;
      // libuv's events end the wait in the ring and the run of deliveries.
      if (ring->ArmBackendPoll(uv_backend_fd(loop)) < 0) break;
      if (completions) {
        // The loop's poll takes them (and submits what is queued).
        const bool delivered = Deliver(handle);
        if (handle->ring != ring || handle->owner == nullptr || handle->owner->on_ready_.IsEmpty()) return;  // unwatched or closed
        if (!delivered) break;
        // A poll in that call took everything the ring held then. What is
        // there now came after it: an operation its callbacks started, or
        // task work, completed inside an io_uring_enter of theirs (a
        // transport's close enters through cancelFd, hasCompletions() does).
        // Nobody was told of those, so they are not "untaken": the next
        // round (or prepare phase) delivers them. Marking them untaken left
        // them in the ring until something else woke the loop (the soak's
        // hang; proactor-event-loop.test.ts).
        const bool polled = ring->TakeHarvested();
        if (!polled && ring->SkipInternal()) {
          handle->untaken = true;
          handle->untaken_tail = ring->cq_tail();
          tell = false;
          break;
        }
      } else {
        // libuv would have blocked here, counting the time as idle: so is
        // the wait in the ring (uv_idle_time.h).
        const bool counted = UvIdleTime::Begin(loop);
        const int entered = ring->Enter(uv_backend_timeout(loop));
        if (counted) UvIdleTime::End(loop);
        if (entered < 0) break;
      }
      // libuv's clock moves only here or after its poll: a timer may be due.
      uv_update_time(loop);
      // Something else is due (a timer, an immediate): libuv runs it
      // without blocking, and the next prepare phase looks again. A 0 for
      // fd watchers the callbacks changed would not keep libuv from
      // blocking (WatchersChanged) with the eventfd off: the idle handle does.
      if (uv_backend_timeout(loop) == 0) {
        if (WatchersChanged(loop)) uv_idle_start(&handle->idle, OnIdle);
        return;
      }
    }
    // libuv may block in its own poll now: the eventfd wakes it for what
    // the ring holds or gets meanwhile. What onReady was called for needs
    // no wake-up more: a signal from before is read, and only completions
    // after those (the CQ tail moved) signal it again.
    if (!tell) ring->DrainEventFd();
    ring->SetEventFdEnabled(true);
    const bool more = tell ? ring->SkipInternal() : ring->cq_tail() != handle->untaken_tail;
    if (more || ring->TaskWorkPending()) ring->SignalEventFd();
  }

  // Calls onReady(true) as a libuv callback would. False when the wait
  // ended (unwatch, close) or the callback threw.
  static bool Deliver(Handle* handle) {
    IdleWait* owner = handle->owner;
    if (owner == nullptr || owner->on_ready_.IsEmpty()) return false;
    napi_env env = handle->env;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
    // A local handle keeps the callback alive through the call, which may
    // unwatch (resetting the reference) or close the ring.
    napi_value callback = owner->on_ready_.Value();
    napi_value argument;
    const bool ok = napi_get_boolean(env, true, &argument) == napi_ok && CallFromLoop(env, *owner->context_, callback, 1, &argument);
    napi_close_handle_scope(env, scope);
    return ok && handle->owner != nullptr && !handle->owner->on_ready_.IsEmpty();
  }

  // uv_backend_timeout() also answers 0 while fd watchers changed since the
  // last poll ("call uv_run to update the backend"): libuv applies those
  // changes in the poll and then blocks for the real timeout, so that 0
  // says nothing. Taking it for "will not block" left a receive
  // unsubmitted while libuv slept until a timer (5 s in a TLS test). The
  // queue is the loop's own field (two pointers, empty when the first
  // points at itself, in every libuv since 1.0).
  static bool WatchersChanged(uv_loop_t* loop) {
    const void* const* watchers = reinterpret_cast<const void* const*>(&loop->watcher_queue);
    return watchers[0] != static_cast<const void*>(watchers);
  }
  // Whether libuv may block in the poll that follows.
  static bool MayBlock(uv_loop_t* loop) { return uv_backend_timeout(loop) != 0 || WatchersChanged(loop); }

  Handle* handle_ = nullptr;
  Napi::FunctionReference on_ready_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

class RingBinding : public Napi::ObjectWrap<RingBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Ring",
                       {
                           InstanceMethod<&RingBinding::Features>("features"),
                           InstanceMethod<&RingBinding::Recv>("recv"),
                           InstanceMethod<&RingBinding::Send>("send"),
                           InstanceMethod<&RingBinding::Read>("read"),
                           InstanceMethod<&RingBinding::Write>("write"),
                           InstanceMethod<&RingBinding::RecvMsg>("recvmsg"),
                           InstanceMethod<&RingBinding::SendMsg>("sendmsg"),
                           InstanceMethod<&RingBinding::Accept>("accept"),
                           InstanceMethod<&RingBinding::AcceptMultishot>("acceptMultishot"),
                           InstanceMethod<&RingBinding::RecvMultishot>("recvMultishot"),
                           InstanceMethod<&RingBinding::RecvReadiness>("recvReadiness"),
                           InstanceMethod<&RingBinding::SetupBuffers>("setupBuffers"),
                           InstanceMethod<&RingBinding::Recycle>("recycle"),
                           InstanceMethod<&RingBinding::KeepBuffers>("keepBuffers"),
                           InstanceMethod<&RingBinding::Connect>("connect"),
                           InstanceMethod<&RingBinding::PollAdd>("pollAdd"),
                           InstanceMethod<&RingBinding::PriorityPollAdd>("priorityPollAdd"),
                           InstanceMethod<&RingBinding::Nop>("nop"),
                           InstanceMethod<&RingBinding::SendfileStart>("sendfileStart"),
                           InstanceMethod<&RingBinding::Sendfile>("sendfile"),
                           InstanceMethod<&RingBinding::Cancel>("cancel"),
                           InstanceMethod<&RingBinding::Submit>("submit"),
                           InstanceMethod<&RingBinding::Flush>("flush"),
                           InstanceMethod<&RingBinding::Ready>("ready"),
                           InstanceMethod<&RingBinding::Harvest>("harvest"),
                           InstanceMethod<&RingBinding::PollInto>("pollInto"),
                           InstanceMethod<&RingBinding::Watch>("watch"),
                           InstanceMethod<&RingBinding::Unwatch>("unwatch"),
                           InstanceMethod<&RingBinding::Drain>("drain"),
                           InstanceMethod<&RingBinding::Close>("close"),
                           InstanceMethod<&RingBinding::Fileno>("fileno"),
                       });
  }

  // new Ring(entries, preferDeferTaskrun[, onQueued]). With onQueued the
  // idle wait runs on a helper thread (no libuv handle is ever made, for
  // runtimes without libuv), and onQueued() is called when an operation is
  // queued while none was: there is no libuv prepare hook to submit before
  // the runtime blocks, so JavaScript flushes (flush()) before it idles.
  explicit RingBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBinding>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsBoolean() || !(info[2].IsUndefined() || info[2].IsFunction()) ||
        !(info[3].IsUndefined() || info[3].IsBoolean())) {
      ThrowType(env, "expected (entries, preferDeferTaskrun[, onQueued[, idleWaitInRing]])");
      return;
    }
    idle_wait_in_ring_ = !info[2].IsFunction() && (info[3].IsUndefined() || info[3].As<Napi::Boolean>().Value());
    if (info[2].IsFunction()) {
      helper_thread_ = true;
      on_queued_ = Napi::Persistent(info[2].As<Napi::Function>());
      ring_.SetOnFirstQueued(&RingBinding::OnFirstQueued, this);
    }
    const unsigned entries = info[0].As<Napi::Number>().Uint32Value();
    // A ring in Node's libuv loop waits in the ring (IdleWait), where the
    // kernel wakes the thread at once, unless told not to; the helper
    // thread waits on the eventfd.
    int result = ring_.OpenWithEventFd(entries, info[1].As<Napi::Boolean>().Value(), idle_wait_in_ring_);
    if (result == 0) result = ring_.Probe();
    if (result < 0) {
      ThrowSyscallError(env, -result, ring_.last_syscall());
      ring_.Close();
    }
  }

  ~RingBinding() override { Shutdown(); }

 private:
  Napi::Value Features(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const RingFeatures& features = ring_.features();
    Napi::Object out = Napi::Object::New(env);
    out.Set("deferTaskrun", features.defer_taskrun);
    out.Set("deferTaskrunDeclined", features.defer_taskrun_declined);
    out.Set("coopTaskrun", features.coop_taskrun);
    out.Set("taskrunFlag", features.taskrun_flag);
    out.Set("idleWaitInRing", idle_wait_in_ring_ && ring_.CanWaitInRing());
    out.Set("submitAll", features.submit_all);
    out.Set("extArg", features.ext_arg);
    out.Set("nodrop", features.nodrop);
    out.Set("sqEntries", features.sq_entries);
    out.Set("cqEntries", features.cq_entries);
    out.Set("multishotAccept", ring_.Supports(IORING_OP_ACCEPT) && ring_.Supports(IORING_OP_SOCKET));
    out.Set("providedBufferRings", ring_.Supports(IORING_OP_SOCKET));
    out.Set("asyncCancel", ring_.Supports(IORING_OP_ASYNC_CANCEL));
    out.Set("sendZeroCopy", ring_.Supports(IORING_OP_SEND_ZC));
    return out;
  }

  // The common start of every operation: (token, fd, ...) and a fresh SQE.
  io_uring_sqe* Start(const Napi::CallbackInfo& info, uint8_t opcode) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsNumber()) {
      ThrowType(env, "expected (token, fd, ...)");
      return nullptr;
    }
    const int32_t token = info[0].As<Napi::Number>().Int32Value();
    const int32_t fd = info[1].As<Napi::Number>().Int32Value();
    if (token <= 0) {
      Napi::RangeError::New(env, "token must be a positive int32").ThrowAsJavaScriptException();
      return nullptr;
    }
    int error = 0;
    io_uring_sqe* sqe = ring_.NextSqe(static_cast<uint64_t>(token), &error);
    if (sqe == nullptr) {
      ThrowSyscallError(env, -error, "io_uring_enter");
      return nullptr;
    }
    sqe->opcode = opcode;
    sqe->fd = fd;
    return sqe;
  }

  // Unpacks everything before taking an SQE, so a bad argument never leaves
  // a half-filled entry in the queue.
  void Transfer(const Napi::CallbackInfo& info, uint8_t opcode, bool positioned) {
    uint8_t* data;
    size_t length;
    if (!ReadSpan(info, 2, &data, &length)) return;
    if (!info[5].IsNumber()) {
      ThrowType(info.Env(), positioned ? "expected a file position" : "expected flags");
      return;
    }
    const double extra = info[5].As<Napi::Number>().DoubleValue();
    io_uring_sqe* sqe = Start(info, opcode);
    if (sqe == nullptr) return;
    sqe->addr = reinterpret_cast<uint64_t>(data);
    sqe->len = static_cast<uint32_t>(length);
    if (positioned) {
      sqe->off = extra < 0 ? static_cast<uint64_t>(-1) : static_cast<uint64_t>(extra);
    } else {
      sqe->msg_flags = static_cast<uint32_t>(extra);
    }
  }

  // recv(token, fd, buffer, offset, length, flags)
  void Recv(const Napi::CallbackInfo& info) { Transfer(info, IORING_OP_RECV, false); }
  // send(token, fd, buffer, offset, length, flags)
  void Send(const Napi::CallbackInfo& info) { Transfer(info, IORING_OP_SEND, false); }
  // read(token, fd, buffer, offset, length, position): position -1 is the file's own.
  void Read(const Napi::CallbackInfo& info) { Transfer(info, IORING_OP_READ, true); }
  void Write(const Napi::CallbackInfo& info) { Transfer(info, IORING_OP_WRITE, true); }

  // recvmsg/sendmsg(token, fd, buffer, offset, length, flags, scratch, addressLength)
  void Message(const Napi::CallbackInfo& info, uint8_t opcode) {
    uint8_t* data;
    size_t length;
    if (!ReadSpan(info, 2, &data, &length)) return;
    uint8_t* scratch = ReadScratch(info, 6);
    if (scratch == nullptr) return;
    if (!info[5].IsNumber() || !info[7].IsNumber()) {
      ThrowType(info.Env(), "expected flags and an address length");
      return;
    }
    const uint32_t flags = info[5].As<Napi::Number>().Uint32Value();
    const int32_t address_length = info[7].As<Napi::Number>().Int32Value();
    auto* message = reinterpret_cast<msghdr*>(scratch + kScratchMsghdr);
    auto* vector = reinterpret_cast<iovec*>(scratch + kScratchIovec);
    std::memset(message, 0, sizeof(*message));
    vector->iov_base = data;
    vector->iov_len = length;
    message->msg_iov = vector;
    message->msg_iovlen = 1;
    if (opcode == IORING_OP_RECVMSG) {
      message->msg_name = scratch + kScratchAddress;
      message->msg_namelen = sizeof(sockaddr_storage);
    } else if (address_length > 0) {
      message->msg_name = scratch + kScratchAddress;
      message->msg_namelen = static_cast<socklen_t>(address_length);
    }
    io_uring_sqe* sqe = Start(info, opcode);
    if (sqe == nullptr) return;
    sqe->addr = reinterpret_cast<uint64_t>(message);
    sqe->len = 1;
    sqe->msg_flags = flags;
  }
  void RecvMsg(const Napi::CallbackInfo& info) { Message(info, IORING_OP_RECVMSG); }
  void SendMsg(const Napi::CallbackInfo& info) { Message(info, IORING_OP_SENDMSG); }

  // accept(token, fd, scratch): the peer address lands in the scratch buffer;
  // the new socket is non-blocking and close-on-exec.
  void Accept(const Napi::CallbackInfo& info) {
    uint8_t* scratch = ReadScratch(info, 2);
    if (scratch == nullptr) return;
    auto* length = reinterpret_cast<socklen_t*>(scratch + kScratchAddressLength);
    *length = sizeof(sockaddr_storage);
    io_uring_sqe* sqe = Start(info, IORING_OP_ACCEPT);
    if (sqe == nullptr) return;
    sqe->addr = reinterpret_cast<uint64_t>(scratch + kScratchAddress);
    sqe->addr2 = reinterpret_cast<uint64_t>(length);
    sqe->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  }

  // acceptMultishot(token, fd): one operation that completes once per
  // connection (IORING_CQE_F_MORE while it goes on); no peer address.
  void AcceptMultishot(const Napi::CallbackInfo& info) {
    io_uring_sqe* sqe = Start(info, IORING_OP_ACCEPT);
    if (sqe == nullptr) return;
    sqe->ioprio |= IORING_ACCEPT_MULTISHOT;
    sqe->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  }

  // recvMultishot(token, fd): one receive that completes once per arrival,
  // each into a provided buffer (IORING_CQE_F_BUFFER, its id in the flags'
  // upper 16 bits), IORING_CQE_F_MORE while it goes on. ENOBUFS ends it when
  // every buffer is taken: recycle, then start it again.
  void RecvMultishot(const Napi::CallbackInfo& info) {
    if (ring_.buffers() == nullptr) {
      ThrowSyscallError(info.Env(), ENOBUFS, "io_uring_register");
      return;
    }
    io_uring_sqe* sqe = Start(info, IORING_OP_RECV);
    if (sqe == nullptr) return;
    sqe->ioprio |= IORING_RECV_MULTISHOT;
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
  }

  // recvReadiness(token, fd): a receive driven by readiness, for bulk
  // streams: a multishot POLLIN poll whose completions the harvest turns
  // into recv(2)s straight into its slab (no provided buffer, no copy),
  // reported as a multishot receive's are. Needs a harvest with a slab.
  void RecvReadiness(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsNumber()) {
      ThrowType(env, "expected (token, fd)");
      return;
    }
    const int32_t token = info[0].As<Napi::Number>().Int32Value();
    if (token <= 0) {
      Napi::RangeError::New(env, "token must be a positive int32").ThrowAsJavaScriptException();
      return;
    }
    const int result = ring_.PollReceive(static_cast<uint32_t>(token), info[1].As<Napi::Number>().Int32Value());
    if (result < 0) ThrowSyscallError(env, -result, "io_uring_enter");
  }

  // setupBuffers(count, size): the provided-buffer ring, and the memory its
  // buffers live in as an ArrayBuffer JavaScript copies received bytes out of
  // (valid while the ring is open); throws where the kernel has no buffer rings.
  Napi::Value SetupBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsNumber()) {
      ThrowType(env, "expected (count, size)");
      return env.Undefined();
    }
    const int result = ring_.SetupBufferRing(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Uint32Value());
    if (result < 0) {
      ThrowSyscallError(env, -result, ring_.last_syscall());
      return env.Undefined();
    }
    return Napi::ArrayBuffer::New(env, ring_.buffers(), static_cast<size_t>(ring_.buffer_count()) * ring_.buffer_size());
  }

  // recycle(bid): the bytes of buffer `bid` were copied out; the kernel may reuse it.
  void Recycle(const Napi::CallbackInfo& info) { ring_.RecycleBuffer(info[0].As<Napi::Number>().Uint32Value()); }

  void KeepBuffers(const Napi::CallbackInfo&) { ring_.KeepBuffersOnClose(); }

  // connect(token, fd, scratch, addressLength): the address was encoded first.
  void Connect(const Napi::CallbackInfo& info) {
    uint8_t* scratch = ReadScratch(info, 2);
    if (scratch == nullptr) return;
    if (!info[3].IsNumber()) {
      ThrowType(info.Env(), "expected an address length");
      return;
    }
    const uint32_t length = info[3].As<Napi::Number>().Uint32Value();
    io_uring_sqe* sqe = Start(info, IORING_OP_CONNECT);
    if (sqe == nullptr) return;
    sqe->addr = reinterpret_cast<uint64_t>(scratch + kScratchAddress);
    sqe->off = length;
  }

  // pollAdd(token, fd, pollMask): one shot; the completion's result is the revents.
  void PollAdd(const Napi::CallbackInfo& info) {
    if (!info[2].IsNumber()) {
      ThrowType(info.Env(), "expected a poll mask");
      return;
    }
    const uint32_t mask = info[2].As<Napi::Number>().Uint32Value();
    io_uring_sqe* sqe = Start(info, IORING_OP_POLL_ADD);
    if (sqe == nullptr) return;
    sqe->poll32_events = mask;
  }

  // priorityPollAdd(token, fd, epollEvents): a one-shot poll for events
  // io_uring's own poll misses: a POLLPRI IORING_OP_POLL_ADD on a TCP socket
  // never completes when urgent data arrives, while epoll reports EPOLLPRI.
  // `fd` goes into an epoll instance of its own (level-triggered, the events
  // asked for), and the ring polls that instance for input under `token`.
  // Returns the instance's fd, which the caller hands to
  // takePriorityEvents() once the operation is over (completed or
  // cancelled), or closes itself if the ring is closed first.
  Napi::Value PriorityPollAdd(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[1].IsNumber() || !info[2].IsNumber()) {
      ThrowType(env, "expected (token, fd, epollEvents)");
      return env.Undefined();
    }
    // The instance first: an entry is taken (Start) only once it exists, so
    // a failure never leaves a half-filled entry in the queue.
    const int instance = epoll_create1(EPOLL_CLOEXEC);
    if (instance < 0) {
      ThrowSyscallError(env, errno, "epoll_create1");
      return env.Undefined();
    }
    epoll_event event{};
    event.events = info[2].As<Napi::Number>().Uint32Value();
    if (epoll_ctl(instance, EPOLL_CTL_ADD, info[1].As<Napi::Number>().Int32Value(), &event) < 0) {
      const int error = errno;
      close(instance);
      ThrowSyscallError(env, error, "epoll_ctl");
      return env.Undefined();
    }
    io_uring_sqe* sqe = Start(info, IORING_OP_POLL_ADD);
    if (sqe == nullptr) {
      close(instance);
      return env.Undefined();
    }
    sqe->fd = instance;
    sqe->poll32_events = POLLIN;
    return Napi::Number::New(env, instance);
  }

  // nop(token, -1)
  void Nop(const Napi::CallbackInfo& info) { Start(info, IORING_OP_NOP); }

  // sendfileStart(token, sockFd, fileFd, offset, count, identity): the
  // first step of the proactor's sendfile (io_uring has no sendfile opcode).
  // Takes a submission entry first, so that nothing is sent that no
  // completion would report, then calls SendfileNow: on -EAGAIN the entry
  // becomes a POLLOUT poll of the socket under `token`, otherwise a no-op
  // under `token` (the caller keeps the result for its completion), or an
  // internal no-op for kSendfileBlocking and kSendfileNotRegular (nothing was
  // started). Returns SendfileNow's result.
  Napi::Value SendfileStart(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) {
      ThrowType(env, "expected (token, sockFd, fileFd, offset, count, identity)");
      return env.Undefined();
    }
    const int32_t token = info[0].As<Napi::Number>().Int32Value();
    SendfileArguments arguments;
    if (token <= 0 || !ReadSendfileArguments(info, 1, &arguments)) {
      if (!env.IsExceptionPending()) Napi::RangeError::New(env, "token must be a positive int32").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int error = 0;
    io_uring_sqe* sqe = ring_.NextSqe(static_cast<uint64_t>(token), &error);
    if (sqe == nullptr) {
      ThrowSyscallError(env, -error, "io_uring_enter");
      return env.Undefined();
    }
    const double result = SendfileNow(arguments);
    if (result == -EAGAIN) {
      sqe->opcode = IORING_OP_POLL_ADD;
      sqe->fd = arguments.sock;
      sqe->poll32_events = POLLOUT;
    } else {
      sqe->opcode = IORING_OP_NOP;
      sqe->fd = -1;
      if (result == kSendfileBlocking || result == kSendfileNotRegular) sqe->user_data = kInternalTag;
    }
    return Napi::Number::New(env, result);
  }

  // sendfile(sockFd, fileFd, offset, count, identity): SendfileNow, for a
  // step after its poll completed (identity filled in by sendfileStart).
  Napi::Value Sendfile(const Napi::CallbackInfo& info) {
    SendfileArguments arguments;
    if (!ReadSendfileArguments(info, 0, &arguments)) return info.Env().Undefined();
    return Napi::Number::New(info.Env(), SendfileNow(arguments));
  }

  // cancel(token): queues an IORING_OP_ASYNC_CANCEL (of the token's
  // readiness poll when it has one, which then reads nothing more); its own
  // completion is internal.
  void Cancel(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber()) {
      ThrowType(info.Env(), "expected a token");
      return;
    }
    const int result = ring_.CancelToken(static_cast<uint32_t>(info[0].As<Napi::Number>().Int32Value()));
    if (result < 0) ThrowSyscallError(info.Env(), -result, "io_uring_enter");
  }

  // submit(waitMs): one io_uring_enter (0 polls, negative waits forever).
  void Submit(const Napi::CallbackInfo& info) {
    if (!info[0].IsNumber()) {
      ThrowType(info.Env(), "expected waitMs");
      return;
    }
    const int result = ring_.Enter(info[0].As<Napi::Number>().Int32Value());
    if (result < 0) ThrowSyscallError(info.Env(), -result, ring_.last_syscall());
  }

  // flush(): submits what is queued, if anything (one io_uring_enter, which
  // also runs completion work the kernel flagged); otherwise no syscall.
  void Flush(const Napi::CallbackInfo& info) {
    if (ring_.queued() == 0) return;
    const int result = ring_.Flush();
    if (result < 0) ThrowSyscallError(info.Env(), -result, ring_.last_syscall());
  }

  // ready(): submits what is queued and lets the kernel post what it has
  // (a DEFER_TASKRUN ring posts only inside io_uring_enter), without
  // taking any completion; true when some wait in the ring.
  Napi::Value Ready(const Napi::CallbackInfo& info) {
    int result = ring_.Enter(0);
    // What that submission completed at once (a loopback connect, an accept
    // it made ready) is often task work the kernel queued during it, which a
    // DEFER_TASKRUN ring posts only inside a GETEVENTS entry: one more entry
    // posts it, so that "nothing has completed" is not said of I/O already
    // done in the kernel.
    if (result >= 0 && !ring_.HasCompletions() && ring_.TaskWorkPending()) result = ring_.Enter(0);
    if (result < 0) {
      ThrowSyscallError(info.Env(), -result, ring_.last_syscall());
      return info.Env().Undefined();
    }
    return Napi::Boolean::New(info.Env(), ring_.HasCompletions());
  }

  // harvest(out: Int32Array, start[, slab, offset, length]):
  // (token, result, flags) triplets from index `start`; returns how many it
  // wrote. With a slab, the bytes of provided-buffer completions are copied
  // into slab[offset, offset + length), in completion order, and each buffer goes
  // back to the kernel at once; the result is then -(count + 1) when the
  // slab ran out of room (the completion that did not fit stays in the ring).
  Napi::Value Harvest(const Napi::CallbackInfo& info) { return HarvestFrom(info, 0); }

  // pollInto(waitMs, drain, out, start[, slab, offset, length]): one poll in
  // one call: reads the eventfd first when `drain` (a wake-up started this
  // poll), makes the io_uring_enter of submit(waitMs), then harvests as
  // harvest(out, start[, slab, offset, length]) does.
  Napi::Value PollInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsBoolean()) {
      ThrowType(env, "expected (waitMs, drain, Int32Array, start)");
      return env.Undefined();
    }
    if (info[1].As<Napi::Boolean>().Value()) ring_.DrainEventFd();
    const int result = ring_.Enter(info[0].As<Napi::Number>().Int32Value());
    if (result < 0) {
      ThrowSyscallError(env, -result, ring_.last_syscall());
      return env.Undefined();
    }
    return HarvestFrom(info, 2);
  }

  // The harvest of harvest() and pollInto(), its arguments from index `first`.
  Napi::Value HarvestFrom(const Napi::CallbackInfo& info, size_t first) {
    Napi::Env env = info.Env();
    if (!info[first].IsTypedArray() || info[first].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        !info[first + 1].IsNumber()) {
      ThrowType(env, "expected (Int32Array, start)");
      return env.Undefined();
    }
    Napi::Int32Array out = info[first].As<Napi::Int32Array>();
    const uint32_t start = info[first + 1].As<Napi::Number>().Uint32Value();
    const size_t capacity = out.ElementLength() / 3;
    HarvestSlab slab;
    const bool with_slab = info.Length() > first + 2 && !info[first + 2].IsUndefined();
    if (with_slab) {
      uint8_t* data;
      size_t length;
      if (!ReadSpan(info, first + 2, &data, &length)) return env.Undefined();
      slab.data = data;
      slab.size = length;
    }
    if (start >= capacity) return Napi::Number::New(env, 0);
    const unsigned count = ring_.Harvest(out.Data() + 3 * start, static_cast<unsigned>(capacity - start), with_slab ? &slab : nullptr);
    return Napi::Number::New(env, slab.full ? -static_cast<double>(count) - 1 : count);
  }

  // watch(onReady): the eventfd is readable once a completion is posted.
  // The wrapper's onReady calls drain() before polling, so a completion
  // posted after the drain wakes the loop again.
  void Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) {
      ThrowType(env, "onReady must be a function");
      return;
    }
    if (helper_thread_) {
      if (!thread_watch_.Start(env, Value(), info[0].As<Napi::Function>(), Deadline(), "evloop.UringProactor")) return;
      on_ready_ = Napi::Persistent(info[0].As<Napi::Function>());
      return;
    }
    if (!watch_.Start(env, Value(), ring_.event_fd(), info[0].As<Napi::Function>(), -1, "evloop.UringProactor")) return;
    if (!idle_wait_.Start(env, &ring_)) return;
    if (idle_wait_in_ring_) idle_wait_.Wait(env, info[0].As<Napi::Function>());
  }

  void Unwatch(const Napi::CallbackInfo&) {
    if (helper_thread_) {
      thread_watch_.Stop();
      on_ready_.Reset();
      return;
    }
    watch_.Stop();
    idle_wait_.Stop();
  }

  void Drain(const Napi::CallbackInfo&) { ring_.DrainEventFd(); }
  void Close(const Napi::CallbackInfo&) { Shutdown(); }
  Napi::Value Fileno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ring_.fd()); }

  // The ring's hook (helper-thread wait): an entry is being queued while none
  // was. Runs on the JS thread, inside the binding call that queues it,
  // before the entry is filled in. onQueued only schedules a flush; should
  // it throw all the same (a stack overflow), the exception must not reach
  // the caller, which would take the operation for not started while the
  // kernel gets it: it is cleared, and the helper thread's deadline set to
  // now instead, so the loop wakes and its poll submits.
  static void OnFirstQueued(void* data) {
    auto* self = static_cast<RingBinding*>(data);
    if (self->on_queued_.IsEmpty()) return;
    napi_env env = self->Env();
    napi_value undefined;
    napi_value result;
    napi_get_undefined(env, &undefined);
    if (napi_call_function(env, undefined, self->on_queued_.Value(), 0, nullptr, &result) == napi_ok) return;
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    if (self->thread_watch_.running() && !self->on_ready_.IsEmpty()) {
      self->thread_watch_.Start(self->Env(), self->Value(), self->on_ready_.Value(), Deadline::In(0), "evloop.UringProactor");
    }
  }

  // The watch must leave libuv (or its thread be joined) before the eventfd
  // it polls is closed.
  void Shutdown() {
    if (helper_thread_) {
      thread_watch_.Close();
      on_ready_.Reset();
      on_queued_.Reset();
      ring_.SetOnFirstQueued(nullptr, nullptr);
    } else {
      watch_.Close();
      idle_wait_.Close();
    }
    ring_.Close();
  }

  Ring ring_;
  FdWatch watch_;
  IdleWait idle_wait_;
  // The helper-thread wait, made with onQueued.
  bool helper_thread_ = false;
  // The idle wait in the ring (IdleWait) rather than in libuv on the eventfd.
  bool idle_wait_in_ring_ = true;
  // The helper-thread wait (idle_waiter.h) polls the ring's eventfd, which
  // the kernel signals when a completion is posted and, on a DEFER_TASKRUN
  // ring, when completion work is queued for the submitting thread (the JS
  // thread runs it in its next poll's io_uring_enter; the helper thread
  // never enters the ring).
  using EventFdSet = KernelFdSet<Ring, &Ring::event_fd>;
  EventFdSet event_fd_set_{&ring_};
  ThreadWatch<EventFdSet> thread_watch_{&event_fd_set_};
  Napi::FunctionReference on_queued_;
  Napi::FunctionReference on_ready_;
};
// encodeAddress(scratch, family, host | path bytes, port, flowinfo, scopeId):
// the address length, or throws EINVAL/EAFNOSUPPORT.
Napi::Value EncodeAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* scratch = ReadScratch(info, 0);
  if (scratch == nullptr) return env.Undefined();
  auto* storage = reinterpret_cast<sockaddr_storage*>(scratch + kScratchAddress);
  const int family = info[1].ToNumber().Int32Value();
  int result;
  if (family == AF_UNIX) {
    if (!info[2].IsTypedArray()) {
      ThrowType(env, "a Unix address is bytes");
      return env.Undefined();
    }
    Napi::TypedArray path = info[2].As<Napi::TypedArray>();
    result = EncodeUnixAddress(static_cast<const char*>(path.ArrayBuffer().Data()) + path.ByteOffset(), path.ByteLength(), storage);
  } else {
    if (!info[2].IsString() || !info[3].IsNumber()) {
      ThrowType(env, "expected (host, port)");
      return env.Undefined();
    }
    result = EncodeInetAddress(family, info[2].As<Napi::String>().Utf8Value(), info[3].As<Napi::Number>().Int32Value(),
                               info[4].ToNumber().Uint32Value(), info[5].ToNumber().Uint32Value(), storage);
  }
  if (result < 0) {
    ThrowSyscallError(env, -result, "inet_pton");
    return env.Undefined();
  }
  return Napi::Number::New(env, result);
}

// decodeAddress(scratch, fromMessage): the address an accept (false) or a
// recvmsg (true) wrote; null when there is none.
Napi::Value DecodeAddressValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* scratch = ReadScratch(info, 0);
  if (scratch == nullptr) return env.Undefined();
  socklen_t length;
  if (info[1].ToBoolean().Value()) {
    length = reinterpret_cast<msghdr*>(scratch + kScratchMsghdr)->msg_namelen;
  } else {
    length = *reinterpret_cast<socklen_t*>(scratch + kScratchAddressLength);
  }
  DecodedAddress decoded;
  if (length == 0 || !DecodeAddress(*reinterpret_cast<sockaddr_storage*>(scratch + kScratchAddress), length, &decoded)) {
    return env.Null();
  }
  if (decoded.family == AF_UNIX) {
    if (decoded.host.empty()) return env.Null();
    return Napi::Buffer<char>::Copy(env, decoded.host.data(), decoded.host.size());
  }
  Napi::Array out = Napi::Array::New(env, decoded.family == AF_INET6 ? 4 : 2);
  out.Set(0u, Napi::String::New(env, decoded.host));
  out.Set(1u, Napi::Number::New(env, decoded.port));
  if (decoded.family == AF_INET6) {
    out.Set(2u, Napi::Number::New(env, decoded.flowinfo));
    out.Set(3u, Napi::Number::New(env, decoded.scope_id));
  }
  return out;
}

// socketFamily(fd): SO_DOMAIN, for an address given without a family.
Napi::Value SocketFamily(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int domain = 0;
  socklen_t size = sizeof(domain);
  if (getsockopt(info[0].ToNumber().Int32Value(), SOL_SOCKET, SO_DOMAIN, &domain, &size) < 0) {
    ThrowSyscallError(env, errno, "getsockopt");
    return env.Undefined();
  }
  return Napi::Number::New(env, domain);
}

// probeUsable(): null when a ring can be set up and runs a no-op, else the
// error (errno, syscall) that stopped it.
Napi::Value ProbeUsableValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* syscall = "";
  const int result = ProbeUsable(&syscall);
  if (result == 0) return env.Null();
  Napi::Object error = Napi::Object::New(env);
  error.Set("errno", -result);
  error.Set("syscall", syscall);
  error.Set("message", std::string(syscall) + ": " + std::strerror(-result));
  return error;
}

// eventFdSignalsAtOnce(deferTaskrun): with true, DeferredEventFdAtOnce
// (what rings set up with DEFER_TASKRUN go by; null without it here); with
// false, Ring::EventFdSignalsAtOnce measured now on a fresh ring without it.
Napi::Value EventFdSignalsAtOnceValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBoolean()) {
    ThrowType(env, "deferTaskrun must be a boolean");
    return env.Undefined();
  }
  if (info[0].As<Napi::Boolean>().Value()) {
    const int answer = DeferredEventFdAtOnce();
    return answer < 0 ? env.Null() : Napi::Boolean::New(env, answer == 1);
  }
  Ring ring;
  if (ring.Open(8, false) != 0 || ring.RegisterEventFd() != 0) return env.Null();
  return Napi::Boolean::New(env, ring.EventFdSignalsAtOnce());
}

// waitsInRing(): whether a ring here can hold the idle wait itself
// (Ring::CanWaitInRing on a small ring set up without DEFER_TASKRUN), once
// per process: what the kernel offers does not change while it runs.
Napi::Value WaitsInRingValue(const Napi::CallbackInfo& info) {
  static const bool waits = [] {
    Ring ring;
    return ring.Open(2, false) == 0 && ring.RegisterEventFd() == 0 && ring.CanWaitInRing();
  }();
  return Napi::Boolean::New(info.Env(), waits);
}

// takePriorityEvents(instance): what the epoll instance of a
// priorityPollAdd reports ready now (epoll events, which share poll(2)'s
// bits on Linux; 0 when nothing), then closes it.
Napi::Value TakePriorityEventsValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowType(env, "expected an epoll fd");
    return env.Undefined();
  }
  const int instance = info[0].As<Napi::Number>().Int32Value();
  epoll_event event{};
  int ready;
  do {
    ready = epoll_wait(instance, &event, 1, 0);
  } while (ready < 0 && errno == EINTR);
  close(instance);
  return Napi::Number::New(env, ready > 0 ? event.events : 0);
}

// idleTimeCounted(): whether this thread's waits in the ring are added to
// libuv's idle time (uv_idle_time.h); null until the first one.
Napi::Value IdleTimeCountedValue(const Napi::CallbackInfo& info) {
  const int counted = UvIdleTime::Counted();
  return counted < 0 ? info.Env().Null() : Napi::Boolean::New(info.Env(), counted == 1);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Ring", RingBinding::Define(env));
  exports.Set("waitsInRing", Napi::Function::New<WaitsInRingValue>(env, "waitsInRing"));
  exports.Set("idleTimeCounted", Napi::Function::New<IdleTimeCountedValue>(env, "idleTimeCounted"));
  exports.Set("takePriorityEvents", Napi::Function::New<TakePriorityEventsValue>(env, "takePriorityEvents"));
  exports.Set("eventFdSignalsAtOnce", Napi::Function::New<EventFdSignalsAtOnceValue>(env, "eventFdSignalsAtOnce"));
  exports.Set("encodeAddress", Napi::Function::New<EncodeAddress>(env, "encodeAddress"));
  exports.Set("decodeAddress", Napi::Function::New<DecodeAddressValue>(env, "decodeAddress"));
  exports.Set("socketFamily", Napi::Function::New<SocketFamily>(env, "socketFamily"));
  exports.Set("probeUsable", Napi::Function::New<ProbeUsableValue>(env, "probeUsable"));
  exports.Set("scratchSize", Napi::Number::New(env, kScratchSize));
  return exports;
}

}  // namespace
}  // namespace evloop

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) { return evloop::Init(env, exports); }
}  // namespace

#else

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportUnsupported(env, exports, "io_uring", "Linux 5.6 or later");
}

}  // namespace

#endif

NODE_API_MODULE(proactor_uring, Init)

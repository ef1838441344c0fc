// The time an idle uring loop waits in the ring, counted as libuv's idle
// time, so that Node's event-loop utilization (performance.
// eventLoopUtilization(), uv_metrics_idle_time) reads the same as when libuv
// blocks in its own poll.
//
// libuv counts as idle only the time its poll blocks, and has no call for an
// embedder that blocks elsewhere (here, in libuv's prepare phase, where libuv
// would have blocked) to add to it. The count lives in the loop's internal
// fields (loop->internal_fields): the loop's flags, then the metrics
// uv_metrics_info() copies out, the time the current wait began (0 when none)
// and the idle time so far, under a mutex. That layout has been the same in
// every libuv from 1.45 (the first with uv_metrics_info) through 1.52, which
// Node 20 to 24 ship. Nothing is written on the layout's word alone: before
// the first wait is counted, what it says is checked against libuv's public
// readers on this very loop (uv_metrics_info() returns the same bytes,
// uv_metrics_idle_time() the same idle time, no wait in progress, at least one
// iteration run). A libuv where that does not hold, or that does not count
// idle time at all (UV_METRICS_IDLE_TIME not set), is never written to: the
// wait is then counted as busy time, as it was before this file.
//
// One loop per thread; the verdict is kept per thread, for its loop.
#ifndef EVLOOP_PROACTOR_URING_UV_IDLE_TIME_H_
#define EVLOOP_PROACTOR_URING_UV_IDLE_TIME_H_

#include <uv.h>

#include <cstdint>
#include <cstring>

namespace evloop {

class UvIdleTime {
 public:
  // A wait that libuv would count as idle begins. Returns whether it is
  // being counted (then End() must follow on the same loop).
  static bool Begin(uv_loop_t* loop) {
    Fields* fields = Usable(loop);
    if (fields == nullptr) return false;
    const uint64_t now = uv_hrtime();
    uv_mutex_lock(&fields->metrics.lock);
    fields->metrics.entry_time = now;
    uv_mutex_unlock(&fields->metrics.lock);
    return true;
  }
  // The wait ends: its length is added to the idle time, as libuv adds its
  // poll's.
  static void End(uv_loop_t* loop) {
    auto* fields = static_cast<Fields*>(loop->internal_fields);
    const uint64_t now = uv_hrtime();
    uv_mutex_lock(&fields->metrics.lock);
    if (fields->metrics.entry_time != 0) fields->metrics.idle_time += now - fields->metrics.entry_time;
    fields->metrics.entry_time = 0;
    uv_mutex_unlock(&fields->metrics.lock);
  }
  // Whether waits in this thread's loop are counted: 1 or 0, -1 until the
  // first wait has been looked at.
  static int Counted() { return verdict_ == Verdict::kUnknown ? -1 : verdict_ == Verdict::kYes; }

 private:
  // libuv's uv__loop_metrics_t and the head of uv__loop_internal_fields_t
  // (src/uv-common.h), 1.45 and later.
  struct Metrics {
    uv_metrics_t info;
    uint64_t entry_time;
    uint64_t idle_time;
    uv_mutex_t lock;
  };
  struct Fields {
    unsigned int flags;
    Metrics metrics;
  };
  enum class Verdict { kUnknown, kYes, kNo };

  static Fields* Usable(uv_loop_t* loop) {
    if (loop != loop_) {
      loop_ = loop;
      verdict_ = Verdict::kUnknown;
    }
    if (verdict_ == Verdict::kUnknown) verdict_ = Check(loop);
    return verdict_ == Verdict::kYes ? static_cast<Fields*>(loop->internal_fields) : nullptr;
  }
  static Verdict Check(uv_loop_t* loop) {
    const unsigned version = uv_version();
    if ((version >> 16) != 1 || ((version >> 8) & 0xff) < 45) return Verdict::kNo;
    auto* fields = static_cast<Fields*>(loop->internal_fields);
    if (fields == nullptr) return Verdict::kNo;
    if ((fields->flags & UV_METRICS_IDLE_TIME) == 0) return Verdict::kNo;
    uv_metrics_t info;
    if (uv_metrics_info(loop, &info) != 0) return Verdict::kNo;
    // Before the first iteration everything may still be zero, which would
    // prove nothing: look again on a later wait.
    if (info.loop_count == 0) return Verdict::kUnknown;
    // Read without the lock, whose place is not vouched for yet: only this
    // thread (the loop's) writes these fields, as libuv notes, and other
    // threads only read them.
    const bool same_info = std::memcmp(&info, &fields->metrics.info, sizeof info) == 0;
    const uint64_t entry_time = fields->metrics.entry_time;
    const uint64_t idle_time = fields->metrics.idle_time;
    return same_info && entry_time == 0 && idle_time == uv_metrics_idle_time(loop) ? Verdict::kYes : Verdict::kNo;
  }

  static inline thread_local uv_loop_t* loop_ = nullptr;
  static inline thread_local Verdict verdict_ = Verdict::kUnknown;
};

}  // namespace evloop

#endif  // EVLOOP_PROACTOR_URING_UV_IDLE_TIME_H_

// Events cross the native boundary in bulk: JavaScript hands the addon a
// preallocated Int32Array and the addon writes (token, events) pairs into
// it, returning how many it wrote, so no object is made per event. For a
// selector the token is the fd and `events` a mask of kEventRead and
// kEventWrite; a proactor may put a completion's token and result there.
//
// One timeout rule for every wait: milliseconds from JavaScript (possibly
// fractional) become whole milliseconds rounded UP, so a wait never ends
// before it was asked to (as asyncio's selectors and mio round); negative or
// NaN means "forever" (-1), and the largest wait is INT32_MAX milliseconds.
#ifndef EVLOOP_EVENT_BUFFER_H_
#define EVLOOP_EVENT_BUFFER_H_

#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace evloop {

constexpr int kMaxTimeoutMs = 0x7fffffff;

// The timeout rule above.
inline int TimeoutMs(double milliseconds) {
  if (!(milliseconds >= 0)) return -1;
  if (milliseconds >= static_cast<double>(kMaxTimeoutMs)) return kMaxTimeoutMs;
  return static_cast<int>(std::ceil(milliseconds));
}

// Where a wait writes its pairs: out[2 * i] is the token, out[2 * i + 1]
// the events; at most `capacity` pairs.
struct EventBuffer {
  int32_t* out = nullptr;
  size_t capacity = 0;

  void Put(size_t index, int32_t token, int32_t events) const {
    out[2 * index] = token;
    out[2 * index + 1] = events;
  }
};

// Reads `wait(out: Int32Array, timeoutMs: number)` arguments from `first`
// on. On a bad argument it sets a TypeError or RangeError as the pending
// exception and returns false.
inline bool ReadWaitArguments(const Napi::CallbackInfo& info, size_t first, EventBuffer* buffer, int* timeout_ms) {
  Napi::Env env = info.Env();
  if (info.Length() < first + 2 || !info[first].IsTypedArray() ||
      info[first].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !info[first + 1].IsNumber()) {
    Napi::TypeError::New(env, "expected (out: Int32Array, timeoutMs: number)").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Int32Array array = info[first].As<Napi::Int32Array>();
  if (array.ElementLength() < 2) {
    Napi::RangeError::New(env, "out has no room for a (token, events) pair").ThrowAsJavaScriptException();
    return false;
  }
  buffer->out = array.Data();
  buffer->capacity = array.ElementLength() / 2;
  *timeout_ms = TimeoutMs(info[first + 1].As<Napi::Number>().DoubleValue());
  return true;
}

}  // namespace evloop

#endif  // EVLOOP_EVENT_BUFFER_H_

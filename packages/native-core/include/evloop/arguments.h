// Argument unpacking every proactor addon shares. The TypeScript wrapper has
// checked types and ranges already (`@evloop/interface`'s proactor
// arguments); these checks are what keeps a wrong call from reading outside
// a buffer, so they stay even where the wrapper makes them unreachable.
#ifndef EVLOOP_ARGUMENTS_H_
#define EVLOOP_ARGUMENTS_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace evloop {

// Throws a TypeError; false, so that a check can `return ThrowType(...)`.
inline bool ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return false;
}

// The bytes [offset, offset + length) of a TypedArray or Buffer argument
// given as (buffer, offset, length) from `index` on; at most INT32_MAX bytes,
// as a completion's result is an int32.
inline bool ReadSpan(const Napi::CallbackInfo& info, size_t index, uint8_t** data, size_t* length) {
  Napi::Env env = info.Env();
  if (!info[index].IsTypedArray() || !info[index + 1].IsNumber() || !info[index + 2].IsNumber()) {
    return ThrowType(env, "expected (buffer, offset, length)");
  }
  Napi::TypedArray array = info[index].As<Napi::TypedArray>();
  const double offset = info[index + 1].As<Napi::Number>().DoubleValue();
  const double size = info[index + 2].As<Napi::Number>().DoubleValue();
  const double total = static_cast<double>(array.ByteLength());
  if (!(offset >= 0) || !(size >= 0) || offset + size > total || size > 0x7fffffff) {
    Napi::RangeError::New(env, "offset and length must lie within the buffer").ThrowAsJavaScriptException();
    return false;
  }
  uint8_t* base = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  *data = base + static_cast<size_t>(offset);
  *length = static_cast<size_t>(size);
  return true;
}

}  // namespace evloop

#endif  // EVLOOP_ARGUMENTS_H_

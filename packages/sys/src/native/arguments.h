// Argument checks shared by @evloop/sys's two Node-API glue files (addon.cc on
// POSIX, win_addon.cc on Windows): a wrong argument is a TypeError or a
// RangeError naming it, thrown as a C++ exception (this package builds with
// Node-API C++ exceptions on), and buffers arrive as (pointer, length).
#ifndef EVLOOP_SYS_ARGUMENTS_H_
#define EVLOOP_SYS_ARGUMENTS_H_

#include <napi.h>

#include <climits>
#include <cstdint>
#include <string>

namespace evloop_sys {

[[noreturn]] inline void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

[[noreturn]] inline void ThrowRange(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

// The hot calls (send and recv on every read and write) take their
// arguments with one Node-API call each: a number with
// napi_get_value_double (which also says when it is not one), bytes with
// napi_get_typedarray_info (type, length and the offset-adjusted pointer at
// once). What these do not accept goes to the checked forms below, which
// throw the TypeError or RangeError naming the argument. Each Node-API call
// is a crossing into V8 of its own; the checked forms make two to five.
inline bool FastInteger(napi_env env, napi_value value, int64_t min, int64_t max, int64_t* out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return false;
  // NaN fails both comparisons; the cast is in range once they hold.
  if (!(number >= static_cast<double>(min) && number <= static_cast<double>(max))) return false;
  int64_t integer = static_cast<int64_t>(number);
  if (static_cast<double>(integer) != number) return false;
  *out = integer;
  return true;
}

struct Bytes {
  uint8_t* data;
  size_t length;
};

inline bool FastBytes(napi_env env, napi_value value, Bytes* out) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) != napi_ok) return false;
  size_t element;
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      element = 1;
      break;
    case napi_int16_array:
    case napi_uint16_array:
      element = 2;
      break;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      element = 4;
      break;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      element = 8;
      break;
    default:
      return false;  // a kind this header does not know: the checked form sizes it
  }
  *out = Bytes{static_cast<uint8_t*>(data), length * element};
  return true;
}

// An integral number in [min, max] at `index`.
inline int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max) {
  int64_t fast;
  if (FastInteger(info.Env(), info[index], min, max, &fast)) return fast;
  Napi::Value value = info[index];
  if (!value.IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (number != number || number < static_cast<double>(min) || number > static_cast<double>(max) ||
      number != static_cast<double>(static_cast<int64_t>(number))) {
    ThrowRange(info.Env(), std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                               std::to_string(max) + "]");
  }
  return static_cast<int64_t>(number);
}

inline int IntArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  return static_cast<int>(IntegerArg(info, index, name, INT_MIN, INT_MAX));
}

inline bool BoolArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (!info[index].IsBoolean()) ThrowType(info.Env(), std::string(name) + " must be a boolean");
  return info[index].As<Napi::Boolean>().Value();
}

// Any TypedArray, DataView or ArrayBuffer, as bytes.
inline Bytes BytesOf(Napi::Env env, Napi::Value value, const char* name) {
  if (value.IsTypedArray()) {
    Napi::TypedArray array = value.As<Napi::TypedArray>();
    Napi::ArrayBuffer buffer = array.ArrayBuffer();
    return Bytes{static_cast<uint8_t*>(buffer.Data()) + array.ByteOffset(), array.ByteLength()};
  }
  if (value.IsDataView()) {
    Napi::DataView view = value.As<Napi::DataView>();
    return Bytes{static_cast<uint8_t*>(view.Data()), view.ByteLength()};
  }
  if (value.IsArrayBuffer()) {
    Napi::ArrayBuffer buffer = value.As<Napi::ArrayBuffer>();
    return Bytes{static_cast<uint8_t*>(buffer.Data()), buffer.ByteLength()};
  }
  ThrowType(env, std::string(name) + " must be a Uint8Array, Buffer, TypedArray, DataView or ArrayBuffer");
}

// (buffer, offset, length) at `index`: the bytes [offset, offset + length) of the buffer.
inline Bytes SpanArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Bytes fast;
  int64_t fastOffset;
  int64_t fastLength;
  if (FastBytes(info.Env(), info[index], &fast) &&
      FastInteger(info.Env(), info[index + 1], 0, static_cast<int64_t>(fast.length), &fastOffset) &&
      FastInteger(info.Env(), info[index + 2], 0, static_cast<int64_t>(fast.length) - fastOffset, &fastLength)) {
    return Bytes{fast.data + fastOffset, static_cast<size_t>(fastLength)};
  }
  Bytes whole = BytesOf(info.Env(), info[index], name);
  int64_t offset = IntegerArg(info, index + 1, "offset", 0, static_cast<int64_t>(whole.length));
  int64_t length = IntegerArg(info, index + 2, "length", 0, static_cast<int64_t>(whole.length) - offset);
  return Bytes{whole.data + offset, static_cast<size_t>(length)};
}

}  // namespace evloop_sys

#endif  // EVLOOP_SYS_ARGUMENTS_H_

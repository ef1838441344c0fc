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

struct Bytes {
  uint8_t* data;
  size_t length;
};

// send and recv read their arguments on every read and write, so each
// argument costs one Node-API call where it can: a number is one
// napi_get_value_double (which also reports "not a number"), and a
// Uint8Array or Buffer one napi_get_typedarray_info (its length and its
// offset-adjusted pointer at once). Other kinds of bytes take the longer
// way below. Before, a send made about a dozen crossings into V8.

// An integral number in [min, max] at `index`.
inline int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max) {
  double number;
  if (napi_get_value_double(info.Env(), info[index], &number) != napi_ok) ThrowType(info.Env(), std::string(name) + " must be a number");
  // NaN fails every comparison, so it is refused here too.
  if (!(number >= static_cast<double>(min) && number <= static_cast<double>(max)) ||
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
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) == napi_ok && type == napi_uint8_array) {
    return Bytes{static_cast<uint8_t*>(data), length};
  }
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
  Bytes whole = BytesOf(info.Env(), info[index], name);
  int64_t offset = IntegerArg(info, index + 1, "offset", 0, static_cast<int64_t>(whole.length));
  int64_t length = IntegerArg(info, index + 2, "length", 0, static_cast<int64_t>(whole.length) - offset);
  return Bytes{whole.data + offset, static_cast<size_t>(length)};
}

}  // namespace evloop_sys

#endif  // EVLOOP_SYS_ARGUMENTS_H_

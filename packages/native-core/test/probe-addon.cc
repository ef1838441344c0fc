// A test addon over the headers alone, built by headers.test.ts: it exposes
// the pieces of evloop/*.h that need no backend, so the test can hold them to
// what the TypeScript side expects.
#include <napi.h>

#include "evloop/arguments.h"
#include "evloop/errors.h"
#include "evloop/event_buffer.h"
#include "evloop/platform.h"

namespace {

// errorFor(errno, syscall): the error object SyscallError makes.
Napi::Value ErrorFor(const Napi::CallbackInfo& info) {
  return evloop::SyscallError(info.Env(), info[0].As<Napi::Number>().Int32Value(),
                              info[1].As<Napi::String>().Utf8Value().c_str())
      .Value();
}

// throwStatus(errno, syscall, rangeError): what ThrowStatus throws.
Napi::Value ThrowStatus(const Napi::CallbackInfo& info) {
  const std::string syscall = info[1].As<Napi::String>().Utf8Value();
  evloop::Status status = evloop::Status::Errno(info[0].As<Napi::Number>().Int32Value(), syscall.c_str());
  if (info[2].IsString()) status = evloop::Status::Range(info[2].As<Napi::String>().Utf8Value());
  evloop::ThrowStatus(info.Env(), status);
  return info.Env().Undefined();
}

// timeoutMs(ms): the one timeout rule.
Napi::Value TimeoutMs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), evloop::TimeoutMs(info[0].As<Napi::Number>().DoubleValue()));
}

// fill(out, timeoutMs, count): reads wait() arguments and writes `count`
// pairs (i, -i); returns [capacity, timeoutMs].
Napi::Value Fill(const Napi::CallbackInfo& info) {
  evloop::EventBuffer buffer;
  int timeout_ms;
  if (!evloop::ReadWaitArguments(info, 0, &buffer, &timeout_ms)) return info.Env().Undefined();
  const size_t count = info[2].As<Napi::Number>().Uint32Value();
  for (size_t i = 0; i < count && i < buffer.capacity; i++) buffer.Put(i, static_cast<int32_t>(i), -static_cast<int32_t>(i));
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(buffer.capacity)));
  result.Set(1u, Napi::Number::New(info.Env(), timeout_ms));
  return result;
}

// span(buffer, offset, length): [where the span starts within buffer's
// bytes, its length] as ReadSpan reads them.
Napi::Value Span(const Napi::CallbackInfo& info) {
  uint8_t* data = nullptr;
  size_t length = 0;
  if (!evloop::ReadSpan(info, 0, &data, &length)) return info.Env().Undefined();
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  const uint8_t* base = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(data - base)));
  result.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(length)));
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("span", Napi::Function::New(env, Span));
  exports.Set("errorFor", Napi::Function::New(env, ErrorFor));
  exports.Set("throwStatus", Napi::Function::New(env, ThrowStatus));
  exports.Set("timeoutMs", Napi::Function::New(env, TimeoutMs));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("platform", Napi::String::New(env, EVLOOP_PLATFORM));
  Napi::Object unsupported = evloop::ExportUnsupported(env, Napi::Object::New(env), "kqueue", "macOS or a BSD");
  exports.Set("unsupported", unsupported);
  return exports;
}

}  // namespace

NODE_API_MODULE(evloop_native_core_probe, Init)

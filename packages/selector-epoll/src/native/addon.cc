// Node-API entry point of @evloop/selector-epoll: the Selector class (the
// shared binding over epoll.h) and probe(), or, where epoll does not exist,
// only `unsupportedReason`.
#include <napi.h>

#include "evloop/platform.h"

#if defined(__linux__)

#include "epoll.h"
#include "evloop/errors.h"
#include "evloop/selector_binding.h"

namespace {

// available(): opens and closes an epoll fd, so a kernel or sandbox without
// epoll says so.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  evloop::Epoll epoll;
  const evloop::Status status = epoll.Open();
  if (!status.ok()) evloop::ThrowStatus(info.Env(), status);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Selector", evloop::SelectorBinding<evloop::Epoll>::Define(env, "EpollSelectorBinding"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  return exports;
}

}  // namespace

#else

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportUnsupported(env, exports, "epoll", "Linux or Android");
}

}  // namespace

#endif

NODE_API_MODULE(selector_epoll, Init)

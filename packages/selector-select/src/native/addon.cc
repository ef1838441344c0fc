// Node-API entry point of @evloop/selector-select: the binding class, the
// probe used by `backend.available()`, and FD_SETSIZE.
#include <napi.h>

#if defined(_WIN32)

// Winsock select() is planned, not written: the addon still builds so the
// package installs, and says why it cannot work yet.
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("unsupportedReason", Napi::String::New(env, "select over Winsock is not implemented yet"));
  return exports;
}

#else

#include "select.h"
#include "selector_wrap.h"

static Napi::Value Probe(const Napi::CallbackInfo& info) {
  evloop::Status status = evloop::ProbeSelect();
  if (!status.ok()) return evloop::ThrowStatus(info.Env(), status);
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Selector", evloop::SelectorWrap<evloop::SelectSet>::Define(env, "SelectSelectorBinding"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("FD_SETSIZE", Napi::Number::New(env, evloop::SelectSet::kFdLimit));
  return exports;
}

#endif

NODE_API_MODULE(selector_select, Init)

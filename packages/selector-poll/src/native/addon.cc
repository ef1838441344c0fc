// Node-API entry point of @evloop/selector-poll: the binding class and the
// probe used by `backend.available()`.
#include <napi.h>

#if defined(_WIN32)

// Windows has no poll(2) (WSAPoll is a different, socket-only call): the
// addon still builds so the package installs, and says why it cannot work.
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("unsupportedReason", Napi::String::New(env, "poll(2) does not exist on Windows"));
  return exports;
}

#else

#include "poll.h"
#include "selector_wrap.h"

static Napi::Value Probe(const Napi::CallbackInfo& info) {
  evloop::Status status = evloop::ProbePoll();
  if (!status.ok()) return evloop::ThrowStatus(info.Env(), status);
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Selector", evloop::SelectorWrap<evloop::PollSet>::Define(env, "PollSelectorBinding"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  return exports;
}

#endif

NODE_API_MODULE(selector_poll, Init)

// Node-API entry point of @evloop/selector-poll: the binding class and the
// probe used by `backend.available()`.
#include <napi.h>

#include "poll.h"
#include "selector_wrap.h"

namespace {

Napi::Value Probe(const Napi::CallbackInfo& info) {
  evloop::Status status = evloop::ProbePoll();
  if (!status.ok()) return evloop::ThrowStatus(info.Env(), status);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Selector", evloop::SelectorWrap<evloop::PollSet>::Define(env, "PollSelectorBinding"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  return exports;
}

}  // namespace

NODE_API_MODULE(selector_poll, Init)

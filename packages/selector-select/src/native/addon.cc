// Node-API entry point of @evloop/selector-select: `Selector` (the shared
// binding of @evloop/native-core over select.h, waiting on a helper thread),
// `probe()` and `FD_SETSIZE`, or, where select is not written yet (Winsock),
// only `unsupportedReason`.
#include <napi.h>

#include "evloop/platform.h"

#if defined(EVLOOP_HAS_POSIX)

#include "evloop/selector_binding.h"
#include "select.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  evloop::ExportSelector<evloop::SelectSet>(env, exports, "SelectSelectorBinding");
  exports.Set("FD_SETSIZE", Napi::Number::New(env, evloop::SelectSet::kFdLimit));
  return exports;
}

#else

// select over Winsock is planned, not written.
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportUnsupported(env, exports, "select(2)", "a POSIX system (Winsock select is not written yet)");
}

#endif

NODE_API_MODULE(selector_select, Init)

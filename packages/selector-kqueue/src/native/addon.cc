// Node-API entry point of @evloop/selector-kqueue: `Selector` (the shared
// binding of @evloop/native-core over kqueue.h) and `probe()`, or, where
// kqueue does not exist, only `unsupportedReason`.
#include <napi.h>

#include "evloop/platform.h"

#if defined(EVLOOP_HAS_KQUEUE)

#include "evloop/selector_binding.h"
#include "kqueue.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportSelector<evloop::Kqueue>(env, exports, "KqueueSelectorBinding");
}

#else

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportUnsupported(env, exports, "kqueue", "macOS or a BSD");
}

#endif

NODE_API_MODULE(selector_kqueue, Init)

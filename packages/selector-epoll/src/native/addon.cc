// Node-API entry point of @evloop/selector-epoll: `Selector` (the shared
// binding of @evloop/native-core over epoll.h) and `probe()`, or, where
// epoll does not exist, only `unsupportedReason`.
#include <napi.h>

#include "evloop/platform.h"

#if defined(EVLOOP_HAS_EPOLL)

#include "epoll.h"
#include "evloop/selector_binding.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportSelector<evloop::Epoll>(env, exports, "EpollSelectorBinding");
}

#else

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportUnsupported(env, exports, "epoll", "Linux or Android");
}

#endif

NODE_API_MODULE(selector_epoll, Init)

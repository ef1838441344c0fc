// Node-API entry point of @evloop/selector-poll: `Selector` (the shared
// binding of @evloop/native-core over poll.h, waiting on a helper thread)
// and `probe()`, or, where poll(2) does not exist, only `unsupportedReason`.
#include <napi.h>

#include "evloop/platform.h"

#if defined(EVLOOP_HAS_POSIX)

#include "evloop/selector_binding.h"
#include "poll.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportSelector<evloop::PollSet>(env, exports, "PollSelectorBinding");
}

#else

// WSAPoll is a different, socket-only call.
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportUnsupported(env, exports, "poll(2)", "a POSIX system");
}

#endif

NODE_API_MODULE(selector_poll, Init)

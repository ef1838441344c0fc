// Node-API entry point of @evloop/selector-select on Windows: `Selector`
// (native-core's shared binding over winsock_select.h, waiting on a helper
// thread woken through a loopback socket), `probe()` and `FD_SETSIZE`. The
// same exports as addon.cc on POSIX.
#include <napi.h>

#include "winsock_select.h"
#include "evloop/selector_binding.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const int started = evloop::StartWinsock();
  if (started != 0) {
    evloop::ThrowSyscallError(env, started, "WSAStartup");
    return exports;
  }
  evloop::ExportSelector<evloop::SelectSet>(env, exports, "SelectSelectorBinding");
  exports.Set("FD_SETSIZE", Napi::Number::New(env, FD_SETSIZE));
  return exports;
}

NODE_API_MODULE(selector_select, Init)

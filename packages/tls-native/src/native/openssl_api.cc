// Finds the OpenSSL functions of openssl_api.h in the running process: with
// dlsym on POSIX; on Windows node.exe exports them, so GetProcAddress on the
// process's own module finds them (no OpenSSL is linked or bundled).
#include "openssl_api.h"

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN  // no wincrypt.h, whose X509_NAME and friends are macros
#endif
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace evloop_tls {

namespace {
OpenSslApi api;
bool loaded = false;
}  // namespace

std::string LoadOpenSsl() {
  if (loaded) return "";
  OpenSslApi found;
#if defined(_WIN32)
  HMODULE self = GetModuleHandleW(nullptr);
#define EVLOOP_OPENSSL_LOOKUP(name) reinterpret_cast<void*>(GetProcAddress(self, #name))
#else
#define EVLOOP_OPENSSL_LOOKUP(name) dlsym(RTLD_DEFAULT, #name)
#endif
#define EVLOOP_OPENSSL_FIND(name)                                                                   \
  found.name = reinterpret_cast<decltype(&::name)>(EVLOOP_OPENSSL_LOOKUP(name));                    \
  if (found.name == nullptr) return "this runtime does not export the OpenSSL function " #name;
  EVLOOP_OPENSSL_FUNCTIONS(EVLOOP_OPENSSL_FIND)
#undef EVLOOP_OPENSSL_FIND
#undef EVLOOP_OPENSSL_LOOKUP
  unsigned long version = found.OpenSSL_version_num();
  if (version < 0x30000000UL || version >= 0x40000000UL) {
    return "the runtime's OpenSSL is not 3.x (the addon is built for OpenSSL 3's ABI)";
  }
  api = found;
  loaded = true;
  return "";
}

const OpenSslApi& ossl() { return api; }

}  // namespace evloop_tls

// Finds the OpenSSL functions of openssl_api.h in the running process.
#include "openssl_api.h"

#if defined(_WIN32)
#error "the native TLS addon is POSIX-only: on Windows evloop uses its JavaScript TLS path"
#endif

#include <dlfcn.h>

namespace evloop_tls {

namespace {
OpenSslApi api;
bool loaded = false;
}  // namespace

std::string LoadOpenSsl() {
  if (loaded) return "";
  OpenSslApi found;
#define EVLOOP_OPENSSL_FIND(name)                                                                   \
  found.name = reinterpret_cast<decltype(&::name)>(dlsym(RTLD_DEFAULT, #name));                     \
  if (found.name == nullptr) return "this runtime does not export the OpenSSL function " #name;
  EVLOOP_OPENSSL_FUNCTIONS(EVLOOP_OPENSSL_FIND)
#undef EVLOOP_OPENSSL_FIND
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

// One way for an addon to say "not on this platform". Every backend's addon
// compiles everywhere; where its mechanism does not exist, its module
// exports nothing but `unsupportedReason`, a sentence naming the mechanism,
// this platform and the platforms it needs, and the package's TypeScript
// reports that sentence from `available()` and throws it from the
// constructor. The build scripts skip compiling there altogether, so this
// sentence is what a forced build or a prebuilt stub says.
#ifndef EVLOOP_PLATFORM_H_
#define EVLOOP_PLATFORM_H_

#include <napi.h>

#include <string>

// process.platform's name for the platform this file is compiled for.
#if defined(_WIN32)
#define EVLOOP_PLATFORM "win32"
#elif defined(__ANDROID__)
#define EVLOOP_PLATFORM "android"
#elif defined(__linux__)
#define EVLOOP_PLATFORM "linux"
#elif defined(__APPLE__)
#define EVLOOP_PLATFORM "darwin"
#elif defined(__FreeBSD__)
#define EVLOOP_PLATFORM "freebsd"
#elif defined(__OpenBSD__)
#define EVLOOP_PLATFORM "openbsd"
#elif defined(__NetBSD__)
#define EVLOOP_PLATFORM "netbsd"
#elif defined(__sun)
#define EVLOOP_PLATFORM "sunos"
#elif defined(_AIX)
#define EVLOOP_PLATFORM "aix"
#else
#define EVLOOP_PLATFORM "this platform"
#endif

namespace evloop {

// "<mechanism> does not exist on <platform>; it needs <platforms>", the
// sentence the TypeScript side builds for the same case.
inline std::string UnsupportedReason(const char* mechanism, const char* platforms) {
  return std::string(mechanism) + " does not exist on " + EVLOOP_PLATFORM + "; it needs " + platforms;
}

// The whole module where the mechanism does not exist.
inline Napi::Object ExportUnsupported(Napi::Env env, Napi::Object exports, const char* mechanism,
                                      const char* platforms) {
  exports.Set("unsupportedReason", Napi::String::New(env, UnsupportedReason(mechanism, platforms)));
  return exports;
}

}  // namespace evloop

#endif  // EVLOOP_PLATFORM_H_

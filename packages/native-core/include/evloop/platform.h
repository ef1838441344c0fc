// Which platform an addon is compiled for, and one way to say "not on this
// platform". No Node-API types are needed here, so a backend's syscall file
// can test the same macros as its addon.cc.
//
// Every backend's addon compiles everywhere. Where its mechanism does not
// exist, the module exports nothing but `unsupportedReason`
// (ExportUnsupported), a sentence naming the mechanism, this platform and
// what it needs; the package's TypeScript gives the same sentence from
// `available()` and throws it from the constructor. The build script
// (`evloop-native`) skips compiling there altogether, so this sentence is
// what a forced build or a prebuilt stub says.
#ifndef EVLOOP_PLATFORM_H_
#define EVLOOP_PLATFORM_H_

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

// The mechanisms this platform has. EVLOOP_KQUEUE_EMULATION (the kqueue
// backend's tests on Linux) counts as having kqueue.
#if defined(__linux__)
#define EVLOOP_HAS_EPOLL 1
#endif
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__) || defined(EVLOOP_KQUEUE_EMULATION)
#define EVLOOP_HAS_KQUEUE 1
#endif
#if !defined(_WIN32)
#define EVLOOP_HAS_POSIX 1
#endif

namespace evloop {

// "<mechanism> does not exist on <platform>; it needs <what>".
inline std::string UnsupportedReason(const char* mechanism, const char* needs) {
  return std::string(mechanism) + " does not exist on " + EVLOOP_PLATFORM + "; it needs " + needs;
}

// The whole module where the mechanism does not exist (Env and Object are
// Napi::Env and Napi::Object; a template, so this header needs no napi.h).
template <typename Env, typename Object>
Object ExportUnsupported(Env, Object exports, const char* mechanism, const char* needs) {
  exports.Set("unsupportedReason", UnsupportedReason(mechanism, needs));
  return exports;
}

}  // namespace evloop

#endif  // EVLOOP_PLATFORM_H_

// The one way a failed OS call reaches JavaScript: an Error carrying
//   errno    the positive error number (a POSIX errno; on Windows the errno
//            a Win32 or Winsock error maps to, with the original in `winerror`)
//   code     its symbolic name, as Node's os.constants.errno names it ("ECONNRESET")
//   syscall  the call that failed ("epoll_ctl")
// and the message "<syscall> <code> (<description>)". @evloop/interface's
// toOSError() turns that shape into the typed OSError subclass.
//
// Works with node-addon-api in either exception mode: SyscallError() builds
// the error (throw it as a C++ exception under NAPI_CPP_EXCEPTIONS), and
// ThrowSyscallError() sets it as the pending JavaScript exception (then
// return from the callback).
#ifndef EVLOOP_ERRORS_H_
#define EVLOOP_ERRORS_H_

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "evloop/status.h"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <windows.h>
#endif

namespace evloop {

namespace detail {

struct ErrnoName {
  int number;
  const char* name;
};

// Node's os.constants.errno, in its order: where two names share a number
// (EAGAIN and EWOULDBLOCK, ENOTSUP and EOPNOTSUPP on Linux) the first one
// wins, as it does in @evloop/interface's errnoName().
inline const ErrnoName* ErrnoNames(size_t* count) {
  static const ErrnoName names[] = {
#define EVLOOP_ERRNO_NAME(name) {name, #name},
      EVLOOP_ERRNO_NAME(E2BIG) EVLOOP_ERRNO_NAME(EACCES) EVLOOP_ERRNO_NAME(EADDRINUSE)
      EVLOOP_ERRNO_NAME(EADDRNOTAVAIL) EVLOOP_ERRNO_NAME(EAFNOSUPPORT) EVLOOP_ERRNO_NAME(EAGAIN)
      EVLOOP_ERRNO_NAME(EALREADY) EVLOOP_ERRNO_NAME(EBADF) EVLOOP_ERRNO_NAME(EBADMSG)
      EVLOOP_ERRNO_NAME(EBUSY) EVLOOP_ERRNO_NAME(ECANCELED) EVLOOP_ERRNO_NAME(ECHILD)
      EVLOOP_ERRNO_NAME(ECONNABORTED) EVLOOP_ERRNO_NAME(ECONNREFUSED) EVLOOP_ERRNO_NAME(ECONNRESET)
      EVLOOP_ERRNO_NAME(EDEADLK) EVLOOP_ERRNO_NAME(EDESTADDRREQ) EVLOOP_ERRNO_NAME(EDOM)
#ifdef EDQUOT
      EVLOOP_ERRNO_NAME(EDQUOT)
#endif
      EVLOOP_ERRNO_NAME(EEXIST) EVLOOP_ERRNO_NAME(EFAULT) EVLOOP_ERRNO_NAME(EFBIG)
      EVLOOP_ERRNO_NAME(EHOSTUNREACH) EVLOOP_ERRNO_NAME(EIDRM) EVLOOP_ERRNO_NAME(EILSEQ)
      EVLOOP_ERRNO_NAME(EINPROGRESS) EVLOOP_ERRNO_NAME(EINTR) EVLOOP_ERRNO_NAME(EINVAL)
      EVLOOP_ERRNO_NAME(EIO) EVLOOP_ERRNO_NAME(EISCONN) EVLOOP_ERRNO_NAME(EISDIR)
      EVLOOP_ERRNO_NAME(ELOOP) EVLOOP_ERRNO_NAME(EMFILE) EVLOOP_ERRNO_NAME(EMLINK)
      EVLOOP_ERRNO_NAME(EMSGSIZE)
#ifdef EMULTIHOP
      EVLOOP_ERRNO_NAME(EMULTIHOP)
#endif
      EVLOOP_ERRNO_NAME(ENAMETOOLONG) EVLOOP_ERRNO_NAME(ENETDOWN) EVLOOP_ERRNO_NAME(ENETRESET)
      EVLOOP_ERRNO_NAME(ENETUNREACH) EVLOOP_ERRNO_NAME(ENFILE) EVLOOP_ERRNO_NAME(ENOBUFS)
#ifdef ENODATA
      EVLOOP_ERRNO_NAME(ENODATA)
#endif
      EVLOOP_ERRNO_NAME(ENODEV) EVLOOP_ERRNO_NAME(ENOENT) EVLOOP_ERRNO_NAME(ENOEXEC)
      EVLOOP_ERRNO_NAME(ENOLCK)
#ifdef ENOLINK
      EVLOOP_ERRNO_NAME(ENOLINK)
#endif
      EVLOOP_ERRNO_NAME(ENOMEM) EVLOOP_ERRNO_NAME(ENOMSG) EVLOOP_ERRNO_NAME(ENOPROTOOPT)
      EVLOOP_ERRNO_NAME(ENOSPC)
#ifdef ENOSR
      EVLOOP_ERRNO_NAME(ENOSR)
#endif
#ifdef ENOSTR
      EVLOOP_ERRNO_NAME(ENOSTR)
#endif
      EVLOOP_ERRNO_NAME(ENOSYS) EVLOOP_ERRNO_NAME(ENOTCONN) EVLOOP_ERRNO_NAME(ENOTDIR)
      EVLOOP_ERRNO_NAME(ENOTEMPTY) EVLOOP_ERRNO_NAME(ENOTSOCK) EVLOOP_ERRNO_NAME(ENOTSUP)
      EVLOOP_ERRNO_NAME(ENOTTY) EVLOOP_ERRNO_NAME(ENXIO) EVLOOP_ERRNO_NAME(EOPNOTSUPP)
      EVLOOP_ERRNO_NAME(EOVERFLOW) EVLOOP_ERRNO_NAME(EPERM) EVLOOP_ERRNO_NAME(EPIPE)
      EVLOOP_ERRNO_NAME(EPROTO) EVLOOP_ERRNO_NAME(EPROTONOSUPPORT) EVLOOP_ERRNO_NAME(EPROTOTYPE)
      EVLOOP_ERRNO_NAME(ERANGE) EVLOOP_ERRNO_NAME(EROFS) EVLOOP_ERRNO_NAME(ESPIPE)
      EVLOOP_ERRNO_NAME(ESRCH)
#ifdef ESTALE
      EVLOOP_ERRNO_NAME(ESTALE)
#endif
#ifdef ETIME
      EVLOOP_ERRNO_NAME(ETIME)
#endif
      EVLOOP_ERRNO_NAME(ETIMEDOUT) EVLOOP_ERRNO_NAME(ETXTBSY) EVLOOP_ERRNO_NAME(EWOULDBLOCK)
      EVLOOP_ERRNO_NAME(EXDEV)
#undef EVLOOP_ERRNO_NAME
  };
  *count = sizeof(names) / sizeof(names[0]);
  return names;
}

}  // namespace detail

// The symbolic name of an errno ("EBADF"), or "E<n>" for a number Node has
// no name for (as @evloop/interface's errnoName()).
inline std::string ErrnoCode(int error) {
  size_t count = 0;
  const detail::ErrnoName* names = detail::ErrnoNames(&count);
  for (size_t i = 0; i < count; i++) {
    if (names[i].number == error) return names[i].name;
  }
  return "E" + std::to_string(error);
}

// The error object for a failed call: { errno, code, syscall }, see above.
inline Napi::Error SyscallError(Napi::Env env, int error, const char* syscall) {
  const std::string code = ErrnoCode(error);
  Napi::Error exception =
      Napi::Error::New(env, std::string(syscall) + " " + code + " (" + std::strerror(error) + ")");
  exception.Set("errno", Napi::Number::New(env, error));
  exception.Set("code", Napi::String::New(env, code));
  exception.Set("syscall", Napi::String::New(env, syscall));
  return exception;
}

// Sets that error as the pending JavaScript exception; the caller returns.
inline void ThrowSyscallError(Napi::Env env, int error, const char* syscall) {
  SyscallError(env, error, syscall).ThrowAsJavaScriptException();
}

// ThrowSyscallError with the calling thread's errno, read before anything
// else can change it.
inline void ThrowErrno(Napi::Env env, const char* syscall) {
  const int error = errno;
  ThrowSyscallError(env, error, syscall);
}

// A Status that is not ok(): its RangeError, or its OSError shape.
inline void ThrowStatus(Napi::Env env, const Status& status) {
  if (!status.range_error.empty()) {
    Napi::RangeError::New(env, status.range_error).ThrowAsJavaScriptException();
  } else {
    ThrowSyscallError(env, status.error, status.syscall);
  }
}

#ifdef _WIN32

// The errno a Win32 or Winsock error stands for (MSVC's <errno.h> numbers,
// which are Node's os.constants.errno on Windows); EIO when none fits.
inline int ErrnoFromWin32(unsigned long error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
    case ERROR_MOD_NOT_FOUND:
      return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case WSAEACCES:
      return EACCES;
    case ERROR_INVALID_HANDLE:
    case WSAEBADF:
      return EBADF;
    case WSAENOTSOCK:
      return ENOTSOCK;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
      return ENOMEM;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return EEXIST;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_FLAGS:
    case WSAEINVAL:
      return EINVAL;
    case ERROR_TOO_MANY_OPEN_FILES:
    case WSAEMFILE:
      return EMFILE;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED:
      return EPIPE;
    case ERROR_OPERATION_ABORTED:  // also WSA_OPERATION_ABORTED
      return ECANCELED;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
      return ENOSYS;
    case ERROR_SEM_TIMEOUT:
    case WAIT_TIMEOUT:
    case WSAETIMEDOUT:
      return ETIMEDOUT;
    case ERROR_IO_PENDING:
    case WSAEWOULDBLOCK:
      return EAGAIN;
    case WSAEINPROGRESS:
      return EINPROGRESS;
    case WSAEALREADY:
      return EALREADY;
    case WSAEINTR:
      return EINTR;
    case WSAEFAULT:
      return EFAULT;
    case WSAEDESTADDRREQ:
      return EDESTADDRREQ;
    case WSAEMSGSIZE:
      return EMSGSIZE;
    case WSAEPROTOTYPE:
      return EPROTOTYPE;
    case WSAENOPROTOOPT:
      return ENOPROTOOPT;
    case WSAEPROTONOSUPPORT:
      return EPROTONOSUPPORT;
    case WSAEOPNOTSUPP:
      return EOPNOTSUPP;
    case WSAEAFNOSUPPORT:
    case WSAEPFNOSUPPORT:
      return EAFNOSUPPORT;
    case WSAEADDRINUSE:
      return EADDRINUSE;
    case WSAEADDRNOTAVAIL:
      return EADDRNOTAVAIL;
    case WSAENETDOWN:
      return ENETDOWN;
    case WSAENETUNREACH:
    case ERROR_NETWORK_UNREACHABLE:
      return ENETUNREACH;
    case WSAENETRESET:
      return ENETRESET;
    case WSAECONNABORTED:
    case ERROR_CONNECTION_ABORTED:
      return ECONNABORTED;
    case WSAECONNRESET:
    case ERROR_NETNAME_DELETED:
      return ECONNRESET;
    case WSAENOBUFS:
      return ENOBUFS;
    case WSAEISCONN:
      return EISCONN;
    case WSAENOTCONN:
      return ENOTCONN;
    case WSAESHUTDOWN:
      return EPIPE;
    case WSAECONNREFUSED:
    case ERROR_CONNECTION_REFUSED:
      return ECONNREFUSED;
    case WSAEHOSTUNREACH:
    case ERROR_HOST_UNREACHABLE:
      return EHOSTUNREACH;
    case WSAENAMETOOLONG:
    case ERROR_FILENAME_EXCED_RANGE:
      return ENAMETOOLONG;
    default:
      return EIO;
  }
}

// The error object for a failed Win32 or Winsock call: the same shape as
// SyscallError (errno mapped, its code, syscall), plus `winerror`, the
// original number, as Python's OSError on Windows.
inline Napi::Error Win32Error(Napi::Env env, unsigned long error, const char* syscall) {
  Napi::Error exception = SyscallError(env, ErrnoFromWin32(error), syscall);
  exception.Set("winerror", Napi::Number::New(env, static_cast<double>(error)));
  return exception;
}

inline void ThrowWin32Error(Napi::Env env, unsigned long error, const char* syscall) {
  Win32Error(env, error, syscall).ThrowAsJavaScriptException();
}

#endif  // _WIN32

}  // namespace evloop

#endif  // EVLOOP_ERRORS_H_

// Node-API glue for @evloop/sys: argument checks, buffers and addresses in,
// numbers out. The syscalls themselves live in posix_sys.cc. OS failures are
// numbers: the data-path calls (read, write, sendfile, send, recv, sendto, recvfrom,
// sendmsg, recvmsg, accept, connect) return -errno, because EAGAIN is routine
// there and a C++ exception plus an Error object costs ~10 us; every other
// call throws @evloop/native-core's one error shape (evloop/errors.h: an
// Error with numeric `errno`, its `code` and the `syscall`). The TypeScript
// layer turns both into typed OSErrors. Where there are no POSIX sockets
// (Windows, not written yet) the module exports only `unsupportedReason`.
#include <napi.h>

#include "evloop/platform.h"

#if defined(EVLOOP_HAS_POSIX)

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <vector>

#include "evloop/errors.h"
#include "arguments.h"
#include "posix_sys.h"

namespace {

using evloop_sys::Ancillary;
using evloop_sys::AddressStatus;
using evloop_sys::DecodedAddress;
using evloop_sys::SockAddr;
using evloop_sys::BoolArg;
using evloop_sys::Bytes;
using evloop_sys::BytesOf;
using evloop_sys::IntArg;
using evloop_sys::IntegerArg;
using evloop_sys::SpanArg;
using evloop_sys::ThrowRange;
using evloop_sys::ThrowType;

int FdArg(const Napi::CallbackInfo& info, size_t index) {
  return static_cast<int>(IntegerArg(info, index, "fd", 0, INT_MAX));
}

// (family, host-or-path, port, flowinfo, scopeId) at `index`.
SockAddr AddressArg(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  int family = IntArg(info, index, "family");
  SockAddr address;
  AddressStatus status;
  if (family == AF_UNIX) {
    Bytes path = BytesOf(env, info[index + 1], "path");
    status = evloop_sys::MakeUnixAddress(reinterpret_cast<const char*>(path.data), path.length, &address);
    if (status == AddressStatus::kPathTooLong) {
      ThrowRange(env, "path is too long for AF_UNIX (" + std::to_string(path.length) + " bytes, at most " +
                          std::to_string(evloop_sys::MaxUnixPathLength(path.length > 0 && path.data[0] == 0)) + ")");
    }
    if (status == AddressStatus::kEmbeddedNul) ThrowRange(env, "path must not contain a NUL byte");
    return address;
  }
  if (family != AF_INET && family != AF_INET6) ThrowRange(env, "family " + std::to_string(family) + " is not supported");
  if (!info[index + 1].IsString()) ThrowType(env, "host must be a string");
  std::string host = info[index + 1].As<Napi::String>().Utf8Value();
  if (host.find('\0') != std::string::npos) ThrowRange(env, "host must not contain a NUL character");
  int port = static_cast<int>(IntegerArg(info, index + 2, "port", 0, 65535));
  uint32_t flowinfo = static_cast<uint32_t>(IntegerArg(info, index + 3, "flowinfo", 0, 0xFFFFF));
  uint32_t scope = static_cast<uint32_t>(IntegerArg(info, index + 4, "scopeId", 0, UINT32_MAX));
  status = evloop_sys::MakeInetAddress(family, host.c_str(), port, flowinfo, scope, &address);
  if (status == AddressStatus::kNotNumericHost) {
    ThrowRange(env, "host '" + host + "' is not a numeric " + (family == AF_INET ? "IPv4" : "IPv6") +
                        " address; resolve names with loop.getaddrinfo() first");
  }
  if (status == AddressStatus::kBadScope) ThrowRange(env, "host '" + host + "' names an unknown interface");
  if (status != AddressStatus::kOk) ThrowRange(env, "bad address");
  return address;
}

// [host, port] for IPv4, [host, port, flowinfo, scopeId] for IPv6, a Buffer
// of path bytes for AF_UNIX, null when there is no address, else the family number.
Napi::Value AddressValue(Napi::Env env, const SockAddr& address) {
  DecodedAddress decoded;
  if (!evloop_sys::DecodeAddress(address, &decoded)) return Napi::Number::New(env, address.storage.ss_family);
  if (decoded.family == AF_UNSPEC) return env.Null();
  if (decoded.family == AF_UNIX) {
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(decoded.path), decoded.path_length);
  }
  Napi::Array result = Napi::Array::New(env, decoded.family == AF_INET6 ? 4 : 2);
  result.Set(0u, Napi::String::New(env, decoded.host));
  result.Set(1u, Napi::Number::New(env, decoded.port));
  if (decoded.family == AF_INET6) {
    result.Set(2u, Napi::Number::New(env, decoded.flowinfo));
    result.Set(3u, Napi::Number::New(env, decoded.scope_id));
  }
  return result;
}

// A byte count, or -errno on failure (the data-path convention).
Napi::Value CountOrErrno(Napi::Env env, ssize_t n) {
  return Napi::Number::New(env, n == -1 ? -static_cast<double>(errno) : static_cast<double>(n));
}

Napi::Value PairValue(Napi::Env env, int first, int second) {
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, first));
  result.Set(1u, Napi::Number::New(env, second));
  return result;
}

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  bool nonblocking = BoolArg(info, 0, "nonblocking");
  int fds[2];
  if (evloop_sys::MakePipe(fds, nonblocking) == -1) throw evloop::SyscallError(info.Env(), errno, "pipe");
  return PairValue(info.Env(), fds[0], fds[1]);
}

Napi::Value OpenPtyPair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (evloop_sys::OpenPty(fds) == -1) throw evloop::SyscallError(info.Env(), errno, "openpty");
  return PairValue(info.Env(), fds[0], fds[1]);
}

Napi::Value Socket(const Napi::CallbackInfo& info) {
  int family = IntArg(info, 0, "family");
  int type = IntArg(info, 1, "type");
  int protocol = IntArg(info, 2, "proto");
  bool nonblocking = BoolArg(info, 3, "nonblocking");
  int fd = evloop_sys::MakeSocket(family, type, protocol, nonblocking);
  if (fd == -1) throw evloop::SyscallError(info.Env(), errno, "socket");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int family = IntArg(info, 0, "family");
  int type = IntArg(info, 1, "type");
  int protocol = IntArg(info, 2, "proto");
  bool nonblocking = BoolArg(info, 3, "nonblocking");
  int fds[2];
  if (evloop_sys::MakeSocketPair(family, type, protocol, nonblocking, fds) == -1) {
    throw evloop::SyscallError(info.Env(), errno, "socketpair");
  }
  return PairValue(info.Env(), fds[0], fds[1]);
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "buffer");
  return CountOrErrno(info.Env(), evloop_sys::ReadFd(fd, span.data, span.length));
}

// sendfile(outFd, inFd, offset, count): a count, or -errno.
Napi::Value SendFile(const Napi::CallbackInfo& info) {
  constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;
  int out_fd = static_cast<int>(IntegerArg(info, 0, "outFd", 0, INT_MAX));
  int in_fd = static_cast<int>(IntegerArg(info, 1, "inFd", 0, INT_MAX));
  int64_t offset = IntegerArg(info, 2, "offset", 0, kMaxSafeInteger);
  int64_t count = IntegerArg(info, 3, "count", 0, kMaxSafeInteger);
  return CountOrErrno(info.Env(), evloop_sys::SendFile(out_fd, in_fd, offset, static_cast<size_t>(count)));
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "data");
  return CountOrErrno(info.Env(), evloop_sys::WriteFd(fd, span.data, span.length));
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  if (evloop_sys::CloseFd(FdArg(info, 0)) == -1) throw evloop::SyscallError(info.Env(), errno, "close");
  return info.Env().Undefined();
}

Napi::Value Dup(const Napi::CallbackInfo& info) {
  int fd = evloop_sys::DupFd(FdArg(info, 0));
  if (fd == -1) throw evloop::SyscallError(info.Env(), errno, "dup");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value SetBlocking(const Napi::CallbackInfo& info) {
  if (evloop_sys::SetBlocking(FdArg(info, 0), BoolArg(info, 1, "blocking")) == -1) {
    throw evloop::SyscallError(info.Env(), errno, "fcntl");
  }
  return info.Env().Undefined();
}

Napi::Value GetBlocking(const Napi::CallbackInfo& info) {
  int result = evloop_sys::GetBlocking(FdArg(info, 0));
  if (result == -1) throw evloop::SyscallError(info.Env(), errno, "fcntl");
  return Napi::Boolean::New(info.Env(), result == 1);
}

Napi::Value SetInheritable(const Napi::CallbackInfo& info) {
  if (evloop_sys::SetInheritable(FdArg(info, 0), BoolArg(info, 1, "inheritable")) == -1) {
    throw evloop::SyscallError(info.Env(), errno, "fcntl");
  }
  return info.Env().Undefined();
}

Napi::Value GetInheritable(const Napi::CallbackInfo& info) {
  int result = evloop_sys::GetInheritable(FdArg(info, 0));
  if (result == -1) throw evloop::SyscallError(info.Env(), errno, "fcntl");
  return Napi::Boolean::New(info.Env(), result == 1);
}

Napi::Value Bind(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  SockAddr address = AddressArg(info, 1);
  if (evloop_sys::BindFd(fd, address) == -1) throw evloop::SyscallError(info.Env(), errno, "bind");
  return info.Env().Undefined();
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  SockAddr address = AddressArg(info, 1);
  return CountOrErrno(info.Env(), evloop_sys::ConnectFd(fd, address));
}

Napi::Value Listen(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int backlog = static_cast<int>(IntegerArg(info, 1, "backlog", 0, INT_MAX));
  if (evloop_sys::ListenFd(fd, backlog) == -1) throw evloop::SyscallError(info.Env(), errno, "listen");
  return info.Env().Undefined();
}

Napi::Value Accept(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  bool nonblocking = BoolArg(info, 1, "nonblocking");
  SockAddr peer;
  int client = evloop_sys::AcceptFd(fd, nonblocking, &peer);
  if (client == -1) return CountOrErrno(info.Env(), -1);
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, Napi::Number::New(info.Env(), client));
  result.Set(1u, AddressValue(info.Env(), peer));
  return result;
}

Napi::Value Send(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "data");
  int flags = IntArg(info, 4, "flags");
  return CountOrErrno(info.Env(), evloop_sys::SendFd(fd, span.data, span.length, flags));
}

Napi::Value Recv(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "buffer");
  int flags = IntArg(info, 4, "flags");
  return CountOrErrno(info.Env(), evloop_sys::RecvFd(fd, span.data, span.length, flags));
}

Napi::Value SendTo(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "data");
  int flags = IntArg(info, 4, "flags");
  SockAddr address = AddressArg(info, 5);
  return CountOrErrno(info.Env(), evloop_sys::SendToFd(fd, span.data, span.length, flags, address));
}

Napi::Value RecvFrom(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "buffer");
  int flags = IntArg(info, 4, "flags");
  SockAddr from;
  ssize_t n = evloop_sys::RecvFromFd(fd, span.data, span.length, flags, &from);
  if (n == -1) return CountOrErrno(info.Env(), -1);
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(n)));
  result.Set(1u, AddressValue(info.Env(), from));
  return result;
}

Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int how = IntArg(info, 1, "how");
  if (evloop_sys::ShutdownFd(fd, how) == -1) throw evloop::SyscallError(info.Env(), errno, "shutdown");
  return info.Env().Undefined();
}

Napi::Value GetSockName(const Napi::CallbackInfo& info) {
  SockAddr address;
  if (evloop_sys::GetSockName(FdArg(info, 0), &address) == -1) throw evloop::SyscallError(info.Env(), errno, "getsockname");
  return AddressValue(info.Env(), address);
}

Napi::Value GetPeerName(const Napi::CallbackInfo& info) {
  SockAddr address;
  if (evloop_sys::GetPeerName(FdArg(info, 0), &address) == -1) throw evloop::SyscallError(info.Env(), errno, "getpeername");
  return AddressValue(info.Env(), address);
}

Napi::Value SetSockOptInt(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int level = IntArg(info, 1, "level");
  int name = IntArg(info, 2, "optname");
  int value = IntArg(info, 3, "value");
  if (evloop_sys::SetSockOpt(fd, level, name, &value, sizeof(value)) == -1) throw evloop::SyscallError(info.Env(), errno, "setsockopt");
  return info.Env().Undefined();
}

Napi::Value SetSockOptBytes(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int level = IntArg(info, 1, "level");
  int name = IntArg(info, 2, "optname");
  Bytes span = SpanArg(info, 3, "value");
  if (evloop_sys::SetSockOpt(fd, level, name, span.data, static_cast<socklen_t>(span.length)) == -1) {
    throw evloop::SyscallError(info.Env(), errno, "setsockopt");
  }
  return info.Env().Undefined();
}

Napi::Value GetSockOptInt(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int level = IntArg(info, 1, "level");
  int name = IntArg(info, 2, "optname");
  int value = 0;
  socklen_t length = sizeof(value);
  if (evloop_sys::GetSockOpt(fd, level, name, &value, &length) == -1) throw evloop::SyscallError(info.Env(), errno, "getsockopt");
  // Some options (e.g. on BSD) answer with a single byte.
  if (length == 1) value = *reinterpret_cast<unsigned char*>(&value);
  return Napi::Number::New(info.Env(), value);
}

Napi::Value GetSockOptBytes(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int level = IntArg(info, 1, "level");
  int name = IntArg(info, 2, "optname");
  Bytes span = SpanArg(info, 3, "buffer");
  socklen_t length = static_cast<socklen_t>(span.length);
  if (evloop_sys::GetSockOpt(fd, level, name, span.data, &length) == -1) throw evloop::SyscallError(info.Env(), errno, "getsockopt");
  return Napi::Number::New(info.Env(), length);
}

Napi::Value SocketInfo(const Napi::CallbackInfo& info) {
  int family, type, protocol;
  if (evloop_sys::SocketInfo(FdArg(info, 0), &family, &type, &protocol) == -1) {
    throw evloop::SyscallError(info.Env(), errno, "getsockopt");
  }
  Napi::Array result = Napi::Array::New(info.Env(), 3);
  result.Set(0u, Napi::Number::New(info.Env(), family));
  result.Set(1u, Napi::Number::New(info.Env(), type));
  result.Set(2u, Napi::Number::New(info.Env(), protocol));
  return result;
}

constexpr int64_t kMaxControl = 1 << 20;

Napi::Value CmsgSpace(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(evloop_sys::ControlSpace(
                                           static_cast<size_t>(IntegerArg(info, 0, "length", 0, kMaxControl)))));
}

Napi::Value CmsgLen(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(evloop_sys::ControlLength(
                                           static_cast<size_t>(IntegerArg(info, 0, "length", 0, kMaxControl)))));
}

// sendmsg(fd, buffers, ancillary, flags, [family, host-or-path, port, flowinfo, scopeId])
// where ancillary is an array of [level, type, bytes].
Napi::Value SendMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  if (!info[1].IsArray()) ThrowType(env, "buffers must be an array of byte buffers");
  if (!info[2].IsArray()) ThrowType(env, "ancdata must be an array of [level, type, data]");
  Napi::Array buffer_list = info[1].As<Napi::Array>();
  Napi::Array ancillary_list = info[2].As<Napi::Array>();
  int flags = IntArg(info, 3, "flags");
  if (buffer_list.Length() > 1024) ThrowRange(env, "buffers must hold at most 1024 items");
  if (ancillary_list.Length() > 64) ThrowRange(env, "ancdata must hold at most 64 items");
  std::vector<iovec> buffers(buffer_list.Length());
  for (uint32_t i = 0; i < buffer_list.Length(); i++) {
    Bytes bytes = BytesOf(env, buffer_list.Get(i), "buffers[i]");
    buffers[i].iov_base = bytes.data;
    buffers[i].iov_len = bytes.length;
  }
  std::vector<Ancillary> items(ancillary_list.Length());
  size_t control_total = 0;
  for (uint32_t i = 0; i < ancillary_list.Length(); i++) {
    Napi::Value item = ancillary_list.Get(i);
    if (!item.IsArray() || item.As<Napi::Array>().Length() != 3) ThrowType(env, "ancdata items must be [level, type, data]");
    Napi::Array triple = item.As<Napi::Array>();
    Napi::Value level = triple.Get(0u), type = triple.Get(1u);
    if (!level.IsNumber() || !type.IsNumber()) ThrowType(env, "ancdata level and type must be numbers");
    Bytes data = BytesOf(env, triple.Get(2u), "ancdata data");
    control_total += data.length;
    if (control_total > kMaxControl) ThrowRange(env, "ancdata is too large");
    items[i] = Ancillary{level.As<Napi::Number>().Int32Value(), type.As<Napi::Number>().Int32Value(), data.data,
                         data.length};
  }
  std::vector<uint8_t> control;
  evloop_sys::BuildControl(items.data(), items.size(), &control);
  SockAddr address;
  bool has_address = info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull();
  if (has_address) address = AddressArg(info, 4);
  ssize_t n = evloop_sys::SendMsgFd(fd, buffers.data(), buffers.size(), control.data(), control.size(), flags,
                                    has_address ? &address : nullptr);
  return CountOrErrno(env, n);
}

// recvmsg(fd, buffer, offset, length, ancbufsize, flags) -> [n, ancdata, msgFlags, address]
Napi::Value RecvMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "buffer");
  size_t control_size = static_cast<size_t>(IntegerArg(info, 4, "ancbufsize", 0, kMaxControl));
  int flags = IntArg(info, 5, "flags");
  std::vector<uint8_t> control(control_size);
  iovec buffer = {span.data, span.length};
  SockAddr from;
  int message_flags = 0;
  ssize_t n = evloop_sys::RecvMsgFd(fd, &buffer, 1, control.data(), &control_size, flags, &from, &message_flags);
  if (n == -1) return CountOrErrno(env, -1);
  std::vector<Ancillary> items;
  evloop_sys::ParseControl(control.data(), control_size, &items);
  Napi::Array ancillary = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); i++) {
    Napi::Array triple = Napi::Array::New(env, 3);
    triple.Set(0u, Napi::Number::New(env, items[i].level));
    triple.Set(1u, Napi::Number::New(env, items[i].type));
    triple.Set(2u, Napi::Buffer<uint8_t>::Copy(env, items[i].data, items[i].length));
    ancillary.Set(static_cast<uint32_t>(i), triple);
  }
  Napi::Array result = Napi::Array::New(env, 4);
  result.Set(0u, Napi::Number::New(env, static_cast<double>(n)));
  result.Set(1u, ancillary);
  result.Set(2u, Napi::Number::New(env, message_flags));
  result.Set(3u, AddressValue(env, from));
  return result;
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object constants = Napi::Object::New(env);
#define EVLOOP_CONSTANT(name) constants.Set(#name, Napi::Number::New(env, name))
  EVLOOP_CONSTANT(AF_UNSPEC);
  EVLOOP_CONSTANT(AF_INET);
  EVLOOP_CONSTANT(AF_INET6);
  EVLOOP_CONSTANT(AF_UNIX);
  EVLOOP_CONSTANT(SOCK_STREAM);
  EVLOOP_CONSTANT(SOCK_DGRAM);
  EVLOOP_CONSTANT(SOCK_RAW);
  EVLOOP_CONSTANT(SOCK_SEQPACKET);
#ifdef SOCK_NONBLOCK
  EVLOOP_CONSTANT(SOCK_NONBLOCK);
  EVLOOP_CONSTANT(SOCK_CLOEXEC);
#endif
  EVLOOP_CONSTANT(SOL_SOCKET);
  EVLOOP_CONSTANT(SO_REUSEADDR);
#ifdef SO_REUSEPORT
  EVLOOP_CONSTANT(SO_REUSEPORT);
#endif
  EVLOOP_CONSTANT(SO_BROADCAST);
  EVLOOP_CONSTANT(SO_ERROR);
  EVLOOP_CONSTANT(SO_KEEPALIVE);
  EVLOOP_CONSTANT(SO_RCVBUF);
  EVLOOP_CONSTANT(SO_SNDBUF);
  EVLOOP_CONSTANT(SO_LINGER);
  EVLOOP_CONSTANT(SO_TYPE);
  EVLOOP_CONSTANT(SO_RCVLOWAT);
  EVLOOP_CONSTANT(SO_SNDLOWAT);
  EVLOOP_CONSTANT(SO_RCVTIMEO);
  EVLOOP_CONSTANT(SO_SNDTIMEO);
  EVLOOP_CONSTANT(SO_ACCEPTCONN);
  EVLOOP_CONSTANT(SO_OOBINLINE);
  EVLOOP_CONSTANT(SO_DONTROUTE);
#ifdef SO_PASSCRED
  EVLOOP_CONSTANT(SO_PASSCRED);
  EVLOOP_CONSTANT(SO_PEERCRED);
#endif
#ifdef SO_DOMAIN
  EVLOOP_CONSTANT(SO_DOMAIN);
#endif
#ifdef SO_PROTOCOL
  EVLOOP_CONSTANT(SO_PROTOCOL);
#endif
#ifdef SO_NOSIGPIPE
  EVLOOP_CONSTANT(SO_NOSIGPIPE);
#endif
  EVLOOP_CONSTANT(SCM_RIGHTS);
#ifdef SCM_CREDENTIALS
  EVLOOP_CONSTANT(SCM_CREDENTIALS);
#endif
  EVLOOP_CONSTANT(IPPROTO_IP);
  EVLOOP_CONSTANT(IPPROTO_TCP);
  EVLOOP_CONSTANT(IPPROTO_UDP);
  EVLOOP_CONSTANT(IPPROTO_IPV6);
  EVLOOP_CONSTANT(IPV6_V6ONLY);
  EVLOOP_CONSTANT(IP_TTL);
  EVLOOP_CONSTANT(IP_TOS);
  EVLOOP_CONSTANT(IP_MULTICAST_TTL);
  EVLOOP_CONSTANT(IP_MULTICAST_LOOP);
  EVLOOP_CONSTANT(IPV6_UNICAST_HOPS);
  EVLOOP_CONSTANT(TCP_NODELAY);
#ifdef TCP_KEEPIDLE
  EVLOOP_CONSTANT(TCP_KEEPIDLE);
#endif
#ifdef TCP_KEEPALIVE
  EVLOOP_CONSTANT(TCP_KEEPALIVE);
#endif
#ifdef TCP_KEEPINTVL
  EVLOOP_CONSTANT(TCP_KEEPINTVL);
#endif
#ifdef TCP_KEEPCNT
  EVLOOP_CONSTANT(TCP_KEEPCNT);
#endif
  EVLOOP_CONSTANT(SHUT_RD);
  EVLOOP_CONSTANT(SHUT_WR);
  EVLOOP_CONSTANT(SHUT_RDWR);
  EVLOOP_CONSTANT(MSG_PEEK);
  EVLOOP_CONSTANT(MSG_DONTWAIT);
  EVLOOP_CONSTANT(MSG_OOB);
  EVLOOP_CONSTANT(MSG_WAITALL);
  EVLOOP_CONSTANT(MSG_TRUNC);
  EVLOOP_CONSTANT(MSG_CTRUNC);
  EVLOOP_CONSTANT(MSG_EOR);
  EVLOOP_CONSTANT(MSG_DONTROUTE);
#ifdef MSG_NOSIGNAL
  EVLOOP_CONSTANT(MSG_NOSIGNAL);
#endif
#ifdef MSG_CMSG_CLOEXEC
  EVLOOP_CONSTANT(MSG_CMSG_CLOEXEC);
#endif
  EVLOOP_CONSTANT(SOMAXCONN);
  EVLOOP_CONSTANT(INADDR_ANY);
  EVLOOP_CONSTANT(INADDR_LOOPBACK);
#undef EVLOOP_CONSTANT
  constants.Set("SUN_PATH_MAX", Napi::Number::New(env, static_cast<double>(evloop_sys::MaxUnixPathLength(false))));
  return constants;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", Constants(env));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("openpty", Napi::Function::New(env, OpenPtyPair, "openpty"));
  exports.Set("socket", Napi::Function::New(env, Socket, "socket"));
  exports.Set("socketpair", Napi::Function::New(env, SocketPair, "socketpair"));
  exports.Set("read", Napi::Function::New(env, Read, "read"));
  exports.Set("write", Napi::Function::New(env, Write, "write"));
  exports.Set("sendfile", Napi::Function::New(env, SendFile, "sendfile"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
  exports.Set("setBlocking", Napi::Function::New(env, SetBlocking, "setBlocking"));
  exports.Set("getBlocking", Napi::Function::New(env, GetBlocking, "getBlocking"));
  exports.Set("setInheritable", Napi::Function::New(env, SetInheritable, "setInheritable"));
  exports.Set("getInheritable", Napi::Function::New(env, GetInheritable, "getInheritable"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("send", Napi::Function::New(env, Send, "send"));
  exports.Set("recv", Napi::Function::New(env, Recv, "recv"));
  exports.Set("sendto", Napi::Function::New(env, SendTo, "sendto"));
  exports.Set("recvfrom", Napi::Function::New(env, RecvFrom, "recvfrom"));
  exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
  exports.Set("getsockname", Napi::Function::New(env, GetSockName, "getsockname"));
  exports.Set("getpeername", Napi::Function::New(env, GetPeerName, "getpeername"));
  exports.Set("setsockoptInt", Napi::Function::New(env, SetSockOptInt, "setsockoptInt"));
  exports.Set("setsockoptBytes", Napi::Function::New(env, SetSockOptBytes, "setsockoptBytes"));
  exports.Set("getsockoptInt", Napi::Function::New(env, GetSockOptInt, "getsockoptInt"));
  exports.Set("getsockoptBytes", Napi::Function::New(env, GetSockOptBytes, "getsockoptBytes"));
  exports.Set("socketInfo", Napi::Function::New(env, SocketInfo, "socketInfo"));
  exports.Set("cmsgSpace", Napi::Function::New(env, CmsgSpace, "cmsgSpace"));
  exports.Set("cmsgLen", Napi::Function::New(env, CmsgLen, "cmsgLen"));
  exports.Set("sendmsg", Napi::Function::New(env, SendMsg, "sendmsg"));
  exports.Set("recvmsg", Napi::Function::New(env, RecvMsg, "recvmsg"));
  return exports;
}

}  // namespace

#else  // !EVLOOP_HAS_POSIX

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportUnsupported(env, exports, "POSIX sockets", "a POSIX system (Winsock is not written yet)");
}

}  // namespace

#endif

NODE_API_MODULE(evloop_sys, Init)

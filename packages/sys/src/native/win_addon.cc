// Node-API glue for @evloop/sys on Windows: the same module shape as
// addon.cc (POSIX), over Winsock (winsock_sys.cc). A SOCKET handle is the
// "fd"; so is a named pipe's HANDLE (win_pipe.cc). The data-path calls return -errno, the others throw evloop/errors.h's
// one error shape (errno mapped from the WSA error). What Windows lacks (pipes
// as CRT fds, PTYs, Unix sockets' SCM_RIGHTS, sendmsg/recvmsg) is not exported:
// the TypeScript layer raises NotImplementedError for it.
#include <napi.h>

#include <climits>
#include <cstdint>
#include <string>

#include "evloop/errors.h"
#include "arguments.h"
#include "win_pipe.h"
#include "winsock_sys.h"

// Windows SDK values (ws2def.h, ws2ipdef.h) that older MinGW-w64 headers lack.
#ifndef MSG_TRUNC
#define MSG_TRUNC 0x0100
#endif
#ifndef MSG_CTRUNC
#define MSG_CTRUNC 0x0200
#endif
#ifndef TCP_KEEPCNT
#define TCP_KEEPCNT 16
#endif
#ifndef TCP_KEEPINTVL
#define TCP_KEEPINTVL 17
#endif
#ifndef TCP_KEEPIDLE
#define TCP_KEEPIDLE 3  // TCP_KEEPALIVE
#endif

namespace {

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

constexpr int64_t kMaxSafeInteger = 9007199254740991LL;

// A SOCKET handle: a pointer-sized integer, exact in a double.
int64_t FdArg(const Napi::CallbackInfo& info, size_t index) { return IntegerArg(info, index, "fd", 0, kMaxSafeInteger); }

// (family, host, port, flowinfo, scopeId) at `index`; AF_INET and AF_INET6 only.
SockAddr AddressArg(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  int family = IntArg(info, index, "family");
  if (family != AF_INET && family != AF_INET6) ThrowRange(env, "family " + std::to_string(family) + " is not supported on Windows");
  if (!info[index + 1].IsString()) ThrowType(env, "host must be a string");
  std::string host = info[index + 1].As<Napi::String>().Utf8Value();
  if (host.find('\0') != std::string::npos) ThrowRange(env, "host must not contain a NUL character");
  int port = static_cast<int>(IntegerArg(info, index + 2, "port", 0, 65535));
  uint32_t flowinfo = static_cast<uint32_t>(IntegerArg(info, index + 3, "flowinfo", 0, 0xFFFFF));
  uint32_t scope = static_cast<uint32_t>(IntegerArg(info, index + 4, "scopeId", 0, UINT32_MAX));
  SockAddr address;
  AddressStatus status = evloop_sys::MakeInetAddress(family, host.c_str(), port, flowinfo, scope, &address);
  if (status == AddressStatus::kNotNumericHost) {
    ThrowRange(env, "host '" + host + "' is not a numeric " + (family == AF_INET ? "IPv4" : "IPv6") +
                        " address; resolve names with loop.getaddrinfo() first");
  }
  if (status == AddressStatus::kBadScope) ThrowRange(env, "host '" + host + "' names an unknown interface");
  if (status != AddressStatus::kOk) ThrowRange(env, "bad address");
  return address;
}

Napi::Value AddressValue(Napi::Env env, const SockAddr& address) {
  DecodedAddress decoded;
  if (!evloop_sys::DecodeAddress(address, &decoded)) return Napi::Number::New(env, address.storage.ss_family);
  if (decoded.family == AF_UNSPEC) return env.Null();
  Napi::Array result = Napi::Array::New(env, decoded.family == AF_INET6 ? 4 : 2);
  result.Set(0u, Napi::String::New(env, decoded.host));
  result.Set(1u, Napi::Number::New(env, decoded.port));
  if (decoded.family == AF_INET6) {
    result.Set(2u, Napi::Number::New(env, decoded.flowinfo));
    result.Set(3u, Napi::Number::New(env, decoded.scope_id));
  }
  return result;
}

// A count, or -errno (the data-path convention). `error` is taken by
// reference so that it is read after the call in the same argument list has
// set it (argument evaluation order is unspecified).
Napi::Value CountOrErrno(Napi::Env env, int64_t n, const int& error) {
  return Napi::Number::New(env, n == -1 ? -static_cast<double>(error) : static_cast<double>(n));
}

Napi::Value Fd(Napi::Env env, int64_t fd) { return Napi::Number::New(env, static_cast<double>(fd)); }

void Check(Napi::Env env, int result, const int& error, const char* syscall) {
  if (result == -1) throw evloop::SyscallError(env, error, syscall);
}

Napi::Value Socket(const Napi::CallbackInfo& info) {
  int family = IntArg(info, 0, "family");
  int type = IntArg(info, 1, "type");
  int protocol = IntArg(info, 2, "proto");
  bool nonblocking = BoolArg(info, 3, "nonblocking");
  int error = 0;
  int64_t fd = evloop_sys::MakeSocket(family, type, protocol, nonblocking, &error);
  Check(info.Env(), fd == -1 ? -1 : 0, error, "socket");
  return Fd(info.Env(), fd);
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = IntArg(info, 0, "family");
  int type = IntArg(info, 1, "type");
  int protocol = IntArg(info, 2, "proto");
  bool nonblocking = BoolArg(info, 3, "nonblocking");
  if (family != AF_INET && family != AF_INET6) ThrowRange(env, "socketpair on Windows supports AF_INET and AF_INET6 only");
  if (type != SOCK_STREAM) ThrowRange(env, "socketpair on Windows supports SOCK_STREAM only");
  int error = 0;
  int64_t fds[2];
  Check(env, evloop_sys::MakeSocketPair(family, type, protocol, nonblocking, fds, &error), error, "socketpair");
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Fd(env, fds[0]));
  result.Set(1u, Fd(env, fds[1]));
  return result;
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "buffer");
  int error = 0;
  return CountOrErrno(info.Env(), evloop_sys::RecvSocket(fd, span.data, span.length, 0, &error), error);
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "data");
  int error = 0;
  return CountOrErrno(info.Env(), evloop_sys::SendSocket(fd, span.data, span.length, 0, &error), error);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int error = 0;
  const char* syscall = "closesocket";
  const int result = evloop_sys::CloseSocketOrHandle(FdArg(info, 0), &error, &syscall);
  Check(info.Env(), result, error, syscall);
  return info.Env().Undefined();
}

// A pipe name argument: a non-empty string without NUL, as UTF-16.
std::u16string PipeNameArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsString()) ThrowType(info.Env(), "name must be a string");
  std::u16string name = info[index].As<Napi::String>().Utf16Value();
  if (name.empty() || name.find(u'\0') != std::u16string::npos) ThrowRange(info.Env(), "name must be non-empty, without NUL");
  return name;
}

// createPipeServer(name, mode): the server end's HANDLE; mode 1 reads, 2 writes, 3 both.
Napi::Value CreatePipeServer(const Napi::CallbackInfo& info) {
  const std::u16string name = PipeNameArg(info, 0);
  int error = 0;
  const int64_t handle =
      evloop_sys::CreatePipeServer(reinterpret_cast<const wchar_t*>(name.c_str()), static_cast<int>(IntegerArg(info, 1, "mode", 1, 3)), &error);
  Check(info.Env(), handle == -1 ? -1 : 0, error, "CreateNamedPipeW");
  return Fd(info.Env(), handle);
}

// openPipeClient(name, write): a client end's HANDLE (overlapped).
Napi::Value OpenPipeClient(const Napi::CallbackInfo& info) {
  const std::u16string name = PipeNameArg(info, 0);
  int error = 0;
  const int64_t handle =
      evloop_sys::OpenPipeClient(reinterpret_cast<const wchar_t*>(name.c_str()), BoolArg(info, 1, "write"), &error);
  Check(info.Env(), handle == -1 ? -1 : 0, error, "CreateFileW");
  return Fd(info.Env(), handle);
}

Napi::Value ConnectPipeServer(const Napi::CallbackInfo& info) {
  int error = 0;
  Check(info.Env(), evloop_sys::ConnectPipeServer(FdArg(info, 0), &error), error, "ConnectNamedPipe");
  return info.Env().Undefined();
}

Napi::Value FileType(const Napi::CallbackInfo& info) {
  int error = 0;
  const int type = evloop_sys::HandleFileType(FdArg(info, 0), &error);
  Check(info.Env(), type, error, "GetFileType");
  return Napi::Number::New(info.Env(), type);
}

Napi::Value Dup(const Napi::CallbackInfo& info) {
  int error = 0;
  int64_t fd = evloop_sys::DupSocket(FdArg(info, 0), &error);
  Check(info.Env(), fd == -1 ? -1 : 0, error, "WSADuplicateSocket");
  return Fd(info.Env(), fd);
}

Napi::Value SetBlocking(const Napi::CallbackInfo& info) {
  int error = 0;
  Check(info.Env(), evloop_sys::SetBlocking(FdArg(info, 0), BoolArg(info, 1, "blocking"), &error), error, "ioctlsocket");
  return info.Env().Undefined();
}

Napi::Value GetBlocking(const Napi::CallbackInfo& info) {
  int error = 0;
  int result = evloop_sys::GetBlocking(FdArg(info, 0), &error);
  Check(info.Env(), result, error, "getsockopt");
  return Napi::Boolean::New(info.Env(), result == 1);
}

Napi::Value SetInheritable(const Napi::CallbackInfo& info) {
  int error = 0;
  Check(info.Env(), evloop_sys::SetInheritable(FdArg(info, 0), BoolArg(info, 1, "inheritable"), &error), error,
        "SetHandleInformation");
  return info.Env().Undefined();
}

Napi::Value GetInheritable(const Napi::CallbackInfo& info) {
  int error = 0;
  int result = evloop_sys::GetInheritable(FdArg(info, 0), &error);
  Check(info.Env(), result, error, "GetHandleInformation");
  return Napi::Boolean::New(info.Env(), result == 1);
}

Napi::Value Bind(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  SockAddr address = AddressArg(info, 1);
  int error = 0;
  Check(info.Env(), evloop_sys::BindSocket(fd, address, &error), error, "bind");
  return info.Env().Undefined();
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  SockAddr address = AddressArg(info, 1);
  int error = 0;
  return CountOrErrno(info.Env(), evloop_sys::ConnectSocket(fd, address, &error), error);
}

Napi::Value Listen(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  int backlog = static_cast<int>(IntegerArg(info, 1, "backlog", 0, INT_MAX));
  int error = 0;
  Check(info.Env(), evloop_sys::ListenSocket(fd, backlog, &error), error, "listen");
  return info.Env().Undefined();
}

Napi::Value Accept(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  bool nonblocking = BoolArg(info, 1, "nonblocking");
  SockAddr peer;
  int error = 0;
  int64_t client = evloop_sys::AcceptSocket(fd, nonblocking, &peer, &error);
  if (client == -1) return CountOrErrno(info.Env(), -1, error);
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, Fd(info.Env(), client));
  result.Set(1u, AddressValue(info.Env(), peer));
  return result;
}

Napi::Value Send(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "data");
  int flags = IntArg(info, 4, "flags");
  int error = 0;
  return CountOrErrno(info.Env(), evloop_sys::SendSocket(fd, span.data, span.length, flags, &error), error);
}

Napi::Value Recv(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "buffer");
  int flags = IntArg(info, 4, "flags");
  int error = 0;
  return CountOrErrno(info.Env(), evloop_sys::RecvSocket(fd, span.data, span.length, flags, &error), error);
}

Napi::Value SendTo(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "data");
  int flags = IntArg(info, 4, "flags");
  SockAddr address = AddressArg(info, 5);
  int error = 0;
  return CountOrErrno(info.Env(), evloop_sys::SendToSocket(fd, span.data, span.length, flags, address, &error), error);
}

Napi::Value RecvFrom(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  Bytes span = SpanArg(info, 1, "buffer");
  int flags = IntArg(info, 4, "flags");
  SockAddr from;
  int error = 0;
  int64_t n = evloop_sys::RecvFromSocket(fd, span.data, span.length, flags, &from, &error);
  if (n == -1) return CountOrErrno(info.Env(), -1, error);
  Napi::Array result = Napi::Array::New(info.Env(), 2);
  result.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(n)));
  result.Set(1u, AddressValue(info.Env(), from));
  return result;
}

Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  int how = IntArg(info, 1, "how");
  int error = 0;
  Check(info.Env(), evloop_sys::ShutdownSocket(fd, how, &error), error, "shutdown");
  return info.Env().Undefined();
}

Napi::Value GetSockName(const Napi::CallbackInfo& info) {
  SockAddr address;
  int error = 0;
  Check(info.Env(), evloop_sys::GetSockName(FdArg(info, 0), &address, &error), error, "getsockname");
  return AddressValue(info.Env(), address);
}

Napi::Value GetPeerName(const Napi::CallbackInfo& info) {
  SockAddr address;
  int error = 0;
  Check(info.Env(), evloop_sys::GetPeerName(FdArg(info, 0), &address, &error), error, "getpeername");
  return AddressValue(info.Env(), address);
}

Napi::Value SetSockOptInt(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  int level = IntArg(info, 1, "level");
  int name = IntArg(info, 2, "optname");
  int value = IntArg(info, 3, "value");
  int error = 0;
  Check(info.Env(), evloop_sys::SetSockOpt(fd, level, name, &value, sizeof(value), &error), error, "setsockopt");
  return info.Env().Undefined();
}

Napi::Value SetSockOptBytes(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  int level = IntArg(info, 1, "level");
  int name = IntArg(info, 2, "optname");
  Bytes span = SpanArg(info, 3, "value");
  if (span.length > INT_MAX) ThrowRange(info.Env(), "value is too large");
  int error = 0;
  Check(info.Env(), evloop_sys::SetSockOpt(fd, level, name, span.data, static_cast<int>(span.length), &error), error,
        "setsockopt");
  return info.Env().Undefined();
}

Napi::Value GetSockOptInt(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  int level = IntArg(info, 1, "level");
  int name = IntArg(info, 2, "optname");
  int value = 0;
  int length = sizeof(value);
  int error = 0;
  Check(info.Env(), evloop_sys::GetSockOpt(fd, level, name, &value, &length, &error), error, "getsockopt");
  // Boolean options may answer with a single byte.
  if (length == 1) value = *reinterpret_cast<unsigned char*>(&value);
  // SO_ERROR holds a WSA error: give its errno, as every other error here, so
  // a connect's outcome reads the same as on POSIX.
  if (level == SOL_SOCKET && name == SO_ERROR && value != 0) value = evloop::ErrnoFromWin32(static_cast<unsigned long>(value));
  return Napi::Number::New(info.Env(), value);
}

Napi::Value GetSockOptBytes(const Napi::CallbackInfo& info) {
  int64_t fd = FdArg(info, 0);
  int level = IntArg(info, 1, "level");
  int name = IntArg(info, 2, "optname");
  Bytes span = SpanArg(info, 3, "buffer");
  int length = span.length > INT_MAX ? INT_MAX : static_cast<int>(span.length);
  int error = 0;
  Check(info.Env(), evloop_sys::GetSockOpt(fd, level, name, span.data, &length, &error), error, "getsockopt");
  return Napi::Number::New(info.Env(), length);
}

Napi::Value SocketInfo(const Napi::CallbackInfo& info) {
  int family, type, protocol, error = 0;
  Check(info.Env(), evloop_sys::SocketInfo(FdArg(info, 0), &family, &type, &protocol, &error), error, "getsockopt");
  Napi::Array result = Napi::Array::New(info.Env(), 3);
  result.Set(0u, Napi::Number::New(info.Env(), family));
  result.Set(1u, Napi::Number::New(info.Env(), type));
  result.Set(2u, Napi::Number::New(info.Env(), protocol));
  return result;
}

Napi::Object Constants(Napi::Env env) {
  Napi::Object constants = Napi::Object::New(env);
#define EVLOOP_CONSTANT(name) constants.Set(#name, Napi::Number::New(env, static_cast<double>(name)))
  EVLOOP_CONSTANT(AF_UNSPEC);
  EVLOOP_CONSTANT(AF_INET);
  EVLOOP_CONSTANT(AF_INET6);
  EVLOOP_CONSTANT(AF_UNIX);
  EVLOOP_CONSTANT(SOCK_STREAM);
  EVLOOP_CONSTANT(SOCK_DGRAM);
  EVLOOP_CONSTANT(SOCK_RAW);
  EVLOOP_CONSTANT(SOCK_SEQPACKET);
  EVLOOP_CONSTANT(SOL_SOCKET);
  EVLOOP_CONSTANT(SO_REUSEADDR);
  EVLOOP_CONSTANT(SO_EXCLUSIVEADDRUSE);
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
  EVLOOP_CONSTANT(TCP_KEEPIDLE);
  EVLOOP_CONSTANT(TCP_KEEPINTVL);
  EVLOOP_CONSTANT(TCP_KEEPCNT);
  // shutdown(): SD_RECEIVE, SD_SEND, SD_BOTH under their POSIX names.
  constants.Set("SHUT_RD", Napi::Number::New(env, SD_RECEIVE));
  constants.Set("SHUT_WR", Napi::Number::New(env, SD_SEND));
  constants.Set("SHUT_RDWR", Napi::Number::New(env, SD_BOTH));
  EVLOOP_CONSTANT(MSG_PEEK);
  EVLOOP_CONSTANT(MSG_OOB);
  EVLOOP_CONSTANT(MSG_WAITALL);
  EVLOOP_CONSTANT(MSG_TRUNC);
  EVLOOP_CONSTANT(MSG_CTRUNC);
  EVLOOP_CONSTANT(MSG_DONTROUTE);
  EVLOOP_CONSTANT(SOMAXCONN);
  EVLOOP_CONSTANT(INADDR_ANY);
  EVLOOP_CONSTANT(INADDR_LOOPBACK);
#undef EVLOOP_CONSTANT
  return constants;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const int started = evloop_sys::StartWinsock();
  if (started != 0) throw evloop::SyscallError(env, started, "WSAStartup");
  exports.Set("constants", Constants(env));
#define EVLOOP_EXPORT(name, function) exports.Set(name, Napi::Function::New(env, function, name))
  EVLOOP_EXPORT("socket", Socket);
  EVLOOP_EXPORT("socketpair", SocketPair);
  EVLOOP_EXPORT("read", Read);
  EVLOOP_EXPORT("write", Write);
  EVLOOP_EXPORT("close", Close);
  EVLOOP_EXPORT("dup", Dup);
  EVLOOP_EXPORT("createPipeServer", CreatePipeServer);
  EVLOOP_EXPORT("openPipeClient", OpenPipeClient);
  EVLOOP_EXPORT("connectPipeServer", ConnectPipeServer);
  EVLOOP_EXPORT("fileType", FileType);
  EVLOOP_EXPORT("setBlocking", SetBlocking);
  EVLOOP_EXPORT("getBlocking", GetBlocking);
  EVLOOP_EXPORT("setInheritable", SetInheritable);
  EVLOOP_EXPORT("getInheritable", GetInheritable);
  EVLOOP_EXPORT("bind", Bind);
  EVLOOP_EXPORT("connect", Connect);
  EVLOOP_EXPORT("listen", Listen);
  EVLOOP_EXPORT("accept", Accept);
  EVLOOP_EXPORT("send", Send);
  EVLOOP_EXPORT("recv", Recv);
  EVLOOP_EXPORT("sendto", SendTo);
  EVLOOP_EXPORT("recvfrom", RecvFrom);
  EVLOOP_EXPORT("shutdown", Shutdown);
  EVLOOP_EXPORT("getsockname", GetSockName);
  EVLOOP_EXPORT("getpeername", GetPeerName);
  EVLOOP_EXPORT("setsockoptInt", SetSockOptInt);
  EVLOOP_EXPORT("setsockoptBytes", SetSockOptBytes);
  EVLOOP_EXPORT("getsockoptInt", GetSockOptInt);
  EVLOOP_EXPORT("getsockoptBytes", GetSockOptBytes);
  EVLOOP_EXPORT("socketInfo", SocketInfo);
#undef EVLOOP_EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(evloop_sys, Init)

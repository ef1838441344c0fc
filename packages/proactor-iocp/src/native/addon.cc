// Node-API glue for the IOCP proactor: argument unpacking, the operations in
// flight by token, errors (evloop/errors.h's one Win32/WSA table) and the
// idle wait (evloop/idle_waiter.h's helper thread, woken back into
// JavaScript through a thread-safe function: Node-API only, no libuv). The
// port lives in iocp.cc. Operation buffers belong to JavaScript: the
// IocpProactor wrapper keeps each one referenced until its completion has
// been harvested. Where IOCP does not exist the module exports only
// `unsupportedReason` (evloop/platform.h).
#include <napi.h>

#include "evloop/platform.h"

#ifdef _WIN32
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "evloop/arguments.h"
#include "evloop/errors.h"
#include "evloop/idle_waiter.h"
#include "iocp.h"

namespace evloop {
namespace {

// Integer argument `index`, already checked by the TypeScript wrapper.
double NumberArg(const Napi::CallbackInfo& info, size_t index) {
  return info[index].IsNumber() ? info[index].As<Napi::Number>().DoubleValue() : -1;
}

// The bytes of a (buffer, offset, length) argument as a WSABUF.
bool ReadWsaBuf(const Napi::CallbackInfo& info, size_t index, WSABUF* out) {
  uint8_t* data = nullptr;
  size_t length = 0;
  if (!ReadSpan(info, index, &data, &length)) return false;
  out->buf = reinterpret_cast<char*>(data);
  out->len = static_cast<ULONG>(length);
  return true;
}

// (family, host, port, flowinfo, scopeId) arguments into `op`'s address.
bool ReadAddress(const Napi::CallbackInfo& info, size_t index, IocpOperation* op) {
  Napi::Env env = info.Env();
  if (!info[index + 1].IsString()) return ThrowType(env, "address host must be a string");
  const int family = static_cast<int>(NumberArg(info, index));
  const std::string host = info[index + 1].As<Napi::String>().Utf8Value();
  const int port = static_cast<int>(NumberArg(info, index + 2));
  const uint32_t flowinfo = static_cast<uint32_t>(NumberArg(info, index + 3));
  const uint32_t scope_id = static_cast<uint32_t>(NumberArg(info, index + 4));
  if (port < 0 || port > 65535) {
    Napi::RangeError::New(env, "address port must be an integer in [0, 65535]").ThrowAsJavaScriptException();
    return false;
  }
  if (!EncodeAddress(family, host.c_str(), port, flowinfo, scope_id, &op->address, &op->address_length)) {
    const std::string message = std::string("address host must be a numeric IPv") + (family == AF_INET6 ? "6" : "4") +
                                " address, got '" + host + "'";
    Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value AddressValue(Napi::Env env, const sockaddr_storage& address) {
  DecodedAddress decoded;
  if (!DecodeAddress(address, &decoded)) return env.Null();
  Napi::Array result = Napi::Array::New(env, decoded.family == AF_INET6 ? 4 : 2);
  result.Set(0u, Napi::String::New(env, decoded.host));
  result.Set(1u, Napi::Number::New(env, decoded.port));
  if (decoded.family == AF_INET6) {
    result.Set(2u, Napi::Number::New(env, decoded.flowinfo));
    result.Set(3u, Napi::Number::New(env, decoded.scope_id));
  }
  return result;
}

// libuv's uv_get_osfhandle from the executable (node.exe exports it), or
// null in a host that does not.
using FileHandleGetter = HANDLE (*)(int);
FileHandleGetter FileHandleFunction() {
  static const FileHandleGetter getter =
      reinterpret_cast<FileHandleGetter>(GetProcAddress(GetModuleHandleW(nullptr), "uv_get_osfhandle"));
  return getter;
}

class PortBinding : public Napi::ObjectWrap<PortBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IocpPortBinding",
                       {
                           InstanceMethod<&PortBinding::Recv>("recv"),
                           InstanceMethod<&PortBinding::Send>("send"),
                           InstanceMethod<&PortBinding::RecvFrom>("recvfrom"),
                           InstanceMethod<&PortBinding::SendTo>("sendto"),
                           InstanceMethod<&PortBinding::Accept>("accept"),
                           InstanceMethod<&PortBinding::Connect>("connect"),
                           InstanceMethod<&PortBinding::PollAdd>("pollAdd"),
                           InstanceMethod<&PortBinding::Sendfile>("sendfile"),
                           InstanceMethod<&PortBinding::Read>("read"),
                           InstanceMethod<&PortBinding::Write>("write"),
                           InstanceMethod<&PortBinding::Cancel>("cancel"),
                           InstanceMethod<&PortBinding::Harvest>("harvest"),
                           InstanceMethod<&PortBinding::Address>("address"),
                           InstanceMethod<&PortBinding::Watch>("watch"),
                           InstanceMethod<&PortBinding::Unwatch>("unwatch"),
                           InstanceMethod<&PortBinding::Close>("close"),
                       });
  }

  explicit PortBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PortBinding>(info), watch_(&port_) {
    const Status status = port_.Open();
    if (!status.ok()) ThrowStatus(info.Env(), status);
  }

  ~PortBinding() override {
    watch_.Close();
    // Garbage-collected without close(): what the kernel may still hold is
    // left alone, as close() leaves it.
    ReleaseHarvested();
    port_.Close();
  }

 private:
  // recv(token, handle, buffer, offset, length, flags)
  Napi::Value Recv(const Napi::CallbackInfo& info) { return StartData(info, OpKind::kRecv, false); }
  // send(token, handle, buffer, offset, length, flags)
  Napi::Value Send(const Napi::CallbackInfo& info) { return StartData(info, OpKind::kSend, false); }
  // recvfrom(token, handle, buffer, offset, length, flags)
  Napi::Value RecvFrom(const Napi::CallbackInfo& info) { return StartData(info, OpKind::kRecvFrom, false); }
  // sendto(token, handle, buffer, offset, length, flags, family, host, port, flowinfo, scopeId)
  Napi::Value SendTo(const Napi::CallbackInfo& info) { return StartData(info, OpKind::kSendTo, true); }

  Napi::Value StartData(const Napi::CallbackInfo& info, OpKind kind, bool addressed) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    auto* op = new IocpOperation();
    op->kind = kind;
    op->flags = static_cast<DWORD>(NumberArg(info, 5));
    if (!ReadWsaBuf(info, 2, &op->buffer) || (addressed && !ReadAddress(info, 6, op))) {
      delete op;
      return info.Env().Undefined();
    }
    return Begin(info, op);
  }

  // read(token, handle, buffer, offset, length, position): ReadFile; position -1 for none.
  Napi::Value Read(const Napi::CallbackInfo& info) { return StartFile(info, OpKind::kRead); }
  // write(token, handle, buffer, offset, length, position): WriteFile.
  Napi::Value Write(const Napi::CallbackInfo& info) { return StartFile(info, OpKind::kWrite); }

  Napi::Value StartFile(const Napi::CallbackInfo& info, OpKind kind) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    auto* op = new IocpOperation();
    op->kind = kind;
    const double position = NumberArg(info, 5);
    op->position = position >= 0 && position <= 9007199254740991.0 ? static_cast<int64_t>(position) : -1;
    if (!ReadWsaBuf(info, 2, &op->buffer)) {
      delete op;
      return info.Env().Undefined();
    }
    return Begin(info, op);
  }

  // accept(token, handle)
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    auto* op = new IocpOperation();
    op->kind = OpKind::kAccept;
    return Begin(info, op);
  }

  // connect(token, handle, family, host, port, flowinfo, scopeId)
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    auto* op = new IocpOperation();
    op->kind = OpKind::kConnect;
    if (!ReadAddress(info, 2, op)) {
      delete op;
      return info.Env().Undefined();
    }
    return Begin(info, op);
  }

  // pollAdd(token, base, events): an AFD poll of `base` (from baseSocket;
  // -1, a handle that is not open, completes with EBADF, as a poll of a
  // closed fd does) for EVENT_READ/EVENT_WRITE.
  Napi::Value PollAdd(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    const double base = NumberArg(info, 1);
    auto* op = new IocpOperation();
    op->kind = OpKind::kPoll;
    op->poll_socket = base >= 0 ? static_cast<SOCKET>(base) : INVALID_SOCKET;
    op->wanted = static_cast<int>(NumberArg(info, 2)) & 3;
    return Begin(info, op);
  }

  // sendfile(token, handle, fd, offset, count): TransmitFile of `count`
  // (> 0) bytes of the file behind the C runtime fd `fd` (node:fs's), from
  // `offset`. Node's fds are its own C runtime's: libuv's uv_get_osfhandle,
  // which node.exe exports, gives the HANDLE (looked up at run time, so the
  // addon still links against Node-API alone).
  Napi::Value Sendfile(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    const auto get_handle = FileHandleFunction();
    if (get_handle == nullptr) {
      ThrowWin32Error(info.Env(), ERROR_PROC_NOT_FOUND, "uv_get_osfhandle");
      return info.Env().Undefined();
    }
    const HANDLE file = get_handle(static_cast<int>(NumberArg(info, 2)));
    if (file == INVALID_HANDLE_VALUE || file == nullptr) {
      ThrowWin32Error(info.Env(), ERROR_INVALID_HANDLE, "uv_get_osfhandle");
      return info.Env().Undefined();
    }
    auto* op = new IocpOperation();
    op->kind = OpKind::kTransmitFile;
    op->file = file;
    op->file_offset = static_cast<uint64_t>(NumberArg(info, 3));
    op->transmit_count = static_cast<DWORD>(NumberArg(info, 4));
    return Begin(info, op);
  }

  Napi::Value Begin(const Napi::CallbackInfo& info, IocpOperation* op) {
    op->token = static_cast<int32_t>(NumberArg(info, 0));
    op->handle = static_cast<uintptr_t>(NumberArg(info, 1));
    const Status status = port_.Start(op);
    if (!status.ok()) {
      IocpPort::Release(op);
      ThrowStatus(info.Env(), status);
      return info.Env().Undefined();
    }
    in_flight_[op->token] = op;
    return info.Env().Undefined();
  }

  // cancel(token): whether it was in flight.
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    auto found = in_flight_.find(static_cast<int32_t>(NumberArg(info, 0)));
    if (found == in_flight_.end() || !port_.open()) return Napi::Boolean::New(info.Env(), false);
    port_.Cancel(found->second);
    return Napi::Boolean::New(info.Env(), true);
  }

  // harvest(out: Int32Array, timeoutMs): (token, result, 0) triplets; the
  // previous harvest's operations are freed first.
  Napi::Value Harvest(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      ThrowType(env, "expected an Int32Array");
      return env.Undefined();
    }
    ReleaseHarvested();
    Napi::Int32Array out = info[0].As<Napi::Int32Array>();
    const size_t capacity = out.ElementLength() / 3;
    const int timeout_ms = static_cast<int>(NumberArg(info, 1));
    completions_.resize(capacity);
    Status status;
    const int count = port_.Harvest(completions_.data(), capacity, timeout_ms, &status);
    if (count < 0) {
      ThrowStatus(env, status);
      return env.Undefined();
    }
    int32_t* data = out.Data();
    harvested_.clear();
    for (int i = 0; i < count; i++) {
      const IocpCompletion& done = completions_[i];
      data[i * 3] = done.operation->token;
      data[i * 3 + 1] = done.error == 0 ? done.result : -ErrnoFromWin32(done.error);
      data[i * 3 + 2] = 0;
      in_flight_.erase(done.operation->token);
      harvested_.push_back(done.operation);
    }
    return Napi::Number::New(env, count);
  }

  // address(index): the sender (recvfrom) or peer (accept) of completion
  // `index` of the last harvest, or null.
  Napi::Value Address(const Napi::CallbackInfo& info) {
    const double index = NumberArg(info, 0);
    if (!(index >= 0) || index >= static_cast<double>(harvested_.size())) return info.Env().Null();
    const IocpOperation* op = harvested_[static_cast<size_t>(index)];
    if (op->kind != OpKind::kRecvFrom && op->kind != OpKind::kAccept) return info.Env().Null();
    return AddressValue(info.Env(), op->address);
  }

  Napi::Value Watch(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info.Env())) return info.Env().Undefined();
    if (!info[0].IsFunction()) {
      ThrowType(info.Env(), "onReady must be a function");
      return info.Env().Undefined();
    }
    watch_.Start(info.Env(), this->Value(), info[0].As<Napi::Function>(), Deadline(), "evloop.iocp");
    return info.Env().Undefined();
  }

  Napi::Value Unwatch(const Napi::CallbackInfo& info) {
    watch_.Stop();
    return info.Env().Undefined();
  }

  // close(): the port goes; operations still in flight are the kernel's and
  // are never freed (their memory stays for the life of the process).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    watch_.Close();
    ReleaseHarvested();
    in_flight_.clear();
    port_.Close();
    return info.Env().Undefined();
  }

  bool CheckOpen(Napi::Env env) {
    if (port_.open()) return true;
    Napi::Error::New(env, "the completion port is closed").ThrowAsJavaScriptException();
    return false;
  }

  void ReleaseHarvested() {
    for (IocpOperation* op : harvested_) IocpPort::Release(op);
    harvested_.clear();
  }

  IocpPort port_;
  ThreadWatch<IocpPort, IocpWake> watch_;
  std::unordered_map<int32_t, IocpOperation*> in_flight_;
  std::vector<IocpCompletion> completions_;
  std::vector<IocpOperation*> harvested_;
};

// null when a port can be made and a packet goes through it, else
// { errno, syscall, message }.
Napi::Value ProbeUsable(const Napi::CallbackInfo& info) {
  const Status status = IocpPort::Probe();
  if (status.ok()) return info.Env().Null();
  Napi::Error error = SyscallError(info.Env(), status.error, status.syscall);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("errno", Napi::Number::New(info.Env(), status.error));
  result.Set("syscall", Napi::String::New(info.Env(), status.syscall));
  result.Set("message", error.Get("message"));
  return result;
}

// socketFamily(handle): AF_INET or AF_INET6 (or throws the OSError).
Napi::Value SocketFamilyOf(const Napi::CallbackInfo& info) {
  unsigned long error = 0;
  const int family = SocketFamily(static_cast<SOCKET>(NumberArg(info, 0)), &error);
  if (family < 0) {
    ThrowWin32Error(info.Env(), error, "getsockopt");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), family);
}

// baseSocket(handle): the base socket AFD polls for `handle`, -1 when the
// handle is not open, or throws ENOTSOCK for a handle that is open but no
// socket.
Napi::Value BaseSocketOf(const Napi::CallbackInfo& info) {
  const SOCKET socket = static_cast<SOCKET>(NumberArg(info, 0));
  SOCKET base = INVALID_SOCKET;
  if (BaseSocket(socket, &base) == 0) return Napi::Number::New(info.Env(), static_cast<double>(base));
  if (GetFileType(reinterpret_cast<HANDLE>(socket)) != FILE_TYPE_UNKNOWN || GetLastError() == NO_ERROR) {
    ThrowWin32Error(info.Env(), WSAENOTSOCK, "WSAIoctl");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), -1);
}

// closeSocket(handle): for a connection accepted while the proactor closed.
Napi::Value CloseSocket(const Napi::CallbackInfo& info) {
  closesocket(static_cast<SOCKET>(NumberArg(info, 0)));
  return info.Env().Undefined();
}

}  // namespace
}  // namespace evloop

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (evloop::StartWinsock() != 0) {
    evloop::ThrowSyscallError(env, EIO, "WSAStartup");
    return exports;
  }
  exports.Set("Port", evloop::PortBinding::Define(env));
  exports.Set("probeUsable", Napi::Function::New<evloop::ProbeUsable>(env, "probeUsable"));
  exports.Set("socketFamily", Napi::Function::New<evloop::SocketFamilyOf>(env, "socketFamily"));
  exports.Set("closeSocket", Napi::Function::New<evloop::CloseSocket>(env, "closeSocket"));
  exports.Set("baseSocket", Napi::Function::New<evloop::BaseSocketOf>(env, "baseSocket"));
  exports.Set("fileHandles", Napi::Boolean::New(env, evloop::FileHandleFunction() != nullptr));
  exports.Set("AF_INET", Napi::Number::New(env, AF_INET));
  exports.Set("AF_INET6", Napi::Number::New(env, AF_INET6));
  return exports;
}

#else

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return evloop::ExportUnsupported(env, exports, "IOCP", "Windows");
}

#endif

NODE_API_MODULE(proactor_iocp, Init)

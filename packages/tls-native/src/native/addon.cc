// Node-API glue of @evloop/tls-native: `Context` (an SSL_CTX) and
// `Connection` (an SSL over two memory BIOs), or, where the running
// process does not export OpenSSL 3, only `unsupportedReason`.
#include <napi.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#ifndef _WIN32
#include <cerrno>
#include <sys/socket.h>
#include <sys/stat.h>
#endif

#include "tls_engine.h"

namespace evloop_tls {

namespace {

// Bytes of a Uint8Array argument (any view over an ArrayBuffer).
struct Bytes {
  const uint8_t* data = nullptr;
  size_t length = 0;
};

Bytes BytesArgument(const Napi::CallbackInfo& info, size_t index, const char* name, bool nullable = false) {
  Napi::Value value = info[index];
  if (nullable && (value.IsNull() || value.IsUndefined())) return Bytes();
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Uint8Array");
  }
  Napi::Uint8Array array = value.As<Napi::Uint8Array>();
  Bytes bytes;
  bytes.data = array.Data();
  bytes.length = array.ByteLength();
  return bytes;
}

std::string StringArgument(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (!info[index].IsString()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  return info[index].As<Napi::String>().Utf8Value();
}

bool BooleanArgument(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (!info[index].IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a boolean");
  return info[index].As<Napi::Boolean>().Value();
}

int32_t IntArgument(const Napi::CallbackInfo& info, size_t index, const char* name, int32_t minimum, int32_t maximum) {
  if (!info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double value = info[index].As<Napi::Number>().DoubleValue();
  if (!(value >= minimum && value <= maximum) || value != static_cast<double>(static_cast<int32_t>(value))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer from " + std::to_string(minimum) + " to " + std::to_string(maximum));
  }
  return static_cast<int32_t>(value);
}

Napi::Object ErrorObject(Napi::Env env, const TlsError& error) {
  Napi::Object object = Napi::Error::New(env, error.message).Value();
  object.Set("code", error.code);
  object.Set("reason", error.reason);
  if (!error.verify) object.Set("library", error.library);
  object.Set("verify", error.verify);
  return object;
}

// Per Node environment (the main thread, each worker).
struct AddonData {
  Napi::FunctionReference context_constructor;
  // The slab JS hands out views of: plaintext and ciphertext are written
  // into it at the offset each call gives, so no call allocates a Buffer.
  Napi::ObjectReference slab_ref;
  uint8_t* slab = nullptr;     // refreshed from slab_ref by every call
  size_t slab_length = 0;
  // Where each call reports: see kState* below.
  Napi::ObjectReference state_ref;
  int32_t* state = nullptr;
  size_t state_length = 0;
};

// The Int32Array setSlab() was given, written by feed/write/shutdown.
enum StateIndex : int {
  kStatePlaintextLength = 0,   // at the offset given
  kStateCiphertextOffset = 1,  // in the slab, or -1: it did not fit, drain() it
  kStateCiphertextLength = 2,
  kStateBufferedIn = 3,        // ciphertext from the peer not decrypted yet
  kStateNextOffset = 4,        // the slab offset after what this call wrote
  kStateLength = 5,
  kStateSent = 5,              // writeSend: bytes the socket took, -errno, or kNotSent
  kStateLengthForSend = 6,
};
// writeSend sent nothing: the records did not go into the slab (or Windows).
constexpr int32_t kNotSent = INT32_MIN;

#ifndef _WIN32
// Whether fd is a stream socket (checked once per connection and fd: sending
// on whatever fd a caller names must not write into a file or a pipe).
bool IsStreamSocket(int fd) {
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode)) return false;
  int type = 0;
  socklen_t length = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM;
}

#ifdef MSG_NOSIGNAL
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;  // macOS: @evloop/sys sets SO_NOSIGPIPE on its sockets
#endif

// One send(2), as the socket transport's: the count taken, 0 when it would block, or -errno.
int32_t SendOnce(int fd, const uint8_t* bytes, size_t length) {
  ssize_t sent;
  do sent = send(fd, bytes, length, kSendFlags);
  while (sent == -1 && errno == EINTR);
  if (sent >= 0) return static_cast<int32_t>(sent);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  return -errno;
}
#endif

}  // namespace

class ContextWrap : public Napi::ObjectWrap<ContextWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Context",
                       {
                           InstanceMethod<&ContextWrap::SetProtocolVersions>("setProtocolVersions"),
                           InstanceMethod<&ContextWrap::SetCiphers>("setCiphers"),
                           InstanceMethod<&ContextWrap::AddCaPem>("addCaPem"),
                           InstanceMethod<&ContextWrap::UseCertificateChain>("useCertificateChain"),
                           InstanceMethod<&ContextWrap::SetAlpn>("setAlpn"),
                       });
  }

  explicit ContextWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ContextWrap>(info) {
    bool server_side = BooleanArgument(info, 0, "serverSide");
    context_ = std::make_unique<TlsContext>(server_side);
    if (!context_->ok()) throw Napi::Error(info.Env(), ErrorObject(info.Env(), context_->error()));
  }

  TlsContext& context() { return *context_; }

 private:
  void Check(const Napi::CallbackInfo& info, bool ok) {
    if (!ok) throw Napi::Error(info.Env(), ErrorObject(info.Env(), context_->error()));
  }

  void SetProtocolVersions(const Napi::CallbackInfo& info) {
    int minimum = IntArgument(info, 0, "minimum", TLS1_2_VERSION, TLS1_3_VERSION);
    int maximum = IntArgument(info, 1, "maximum", TLS1_2_VERSION, TLS1_3_VERSION);
    Check(info, context_->SetProtocolVersions(minimum, maximum));
  }

  void SetCiphers(const Napi::CallbackInfo& info) {
    std::string list = StringArgument(info, 0, "list");
    std::string suites = StringArgument(info, 1, "suites");
    if (list.find('\0') != std::string::npos || suites.find('\0') != std::string::npos) throw Napi::TypeError::New(info.Env(), "ciphers must not contain NUL");
    Check(info, context_->SetCiphers(list, suites));
  }

  Napi::Value AddCaPem(const Napi::CallbackInfo& info) {
    Bytes pem = BytesArgument(info, 0, "pem");
    int added = context_->AddCaPem(pem.data, pem.length);
    Check(info, added >= 0);
    return Napi::Number::New(info.Env(), added);
  }

  void UseCertificateChain(const Napi::CallbackInfo& info) {
    Bytes cert = BytesArgument(info, 0, "cert");
    Bytes key = BytesArgument(info, 1, "key");
    std::string passphrase;
    bool has_passphrase = !(info[2].IsNull() || info[2].IsUndefined());
    if (has_passphrase) passphrase = StringArgument(info, 2, "passphrase");
    Check(info, context_->UseCertificateChain(cert.data, cert.length, key.data, key.length, has_passphrase ? passphrase.c_str() : nullptr));
  }

  void SetAlpn(const Napi::CallbackInfo& info) {
    Bytes wire = BytesArgument(info, 0, "protocols");
    // Wire format: each name prefixed by its length (1..255), nothing left over.
    size_t offset = 0;
    while (offset < wire.length) {
      size_t length = wire.data[offset];
      if (length == 0 || offset + 1 + length > wire.length) throw Napi::RangeError::New(info.Env(), "protocols must be ALPN wire format");
      offset += 1 + length;
    }
    if (wire.length == 0 || wire.length > 65535) throw Napi::RangeError::New(info.Env(), "protocols must be ALPN wire format");
    context_->SetAlpn(wire.data, wire.length);
  }

  std::unique_ptr<TlsContext> context_;
};

class ConnectionWrap : public Napi::ObjectWrap<ConnectionWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Connection",
                       {
                           InstanceMethod<&ConnectionWrap::Feed>("feed"),
                           InstanceMethod<&ConnectionWrap::Write>("write"),
                           InstanceMethod<&ConnectionWrap::WriteSend>("writeSend"),
                           InstanceMethod<&ConnectionWrap::Shutdown>("shutdown"),
                           InstanceMethod<&ConnectionWrap::Info>("info"),
                           InstanceMethod<&ConnectionWrap::PeerCertificate>("peerCertificate"),
                           InstanceMethod<&ConnectionWrap::ExportKeyingMaterial>("exportKeyingMaterial"),
                           InstanceMethod<&ConnectionWrap::Drain>("drain"),
                           InstanceMethod<&ConnectionWrap::Error>("error"),
                           InstanceMethod<&ConnectionWrap::Destroy>("destroy"),
                       });
  }

  // new Connection(context, verifyMode, hostname, checkHostname, sni)
  explicit ConnectionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnectionWrap>(info) {
    Napi::Env env = info.Env();
    AddonData* data = env.GetInstanceData<AddonData>();
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(data->context_constructor.Value())) throw Napi::TypeError::New(env, "context must be a Context");
    ContextWrap* context = ContextWrap::Unwrap(info[0].As<Napi::Object>());
    int verify_mode = IntArgument(info, 1, "verifyMode", 0, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    std::string hostname = StringArgument(info, 2, "hostname");
    if (hostname.find('\0') != std::string::npos || hostname.size() > 255) throw Napi::RangeError::New(env, "hostname must be at most 255 bytes, without NUL");
    bool check_hostname = BooleanArgument(info, 3, "checkHostname");
    bool sni = BooleanArgument(info, 4, "sni");
    // The context (its SSL_CTX and ALPN list) lives as long as this connection.
    context_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
    connection_ = std::make_unique<TlsConnection>(context->context(), verify_mode, hostname, check_hostname, sni);
    if (!connection_->ok()) throw Napi::Error(env, ErrorObject(env, connection_->error()));
  }

 private:
  TlsConnection& Live(const Napi::CallbackInfo& info) {
    if (!connection_) throw Napi::Error::New(info.Env(), "the TLS connection is destroyed");
    return *connection_;
  }

  // The slab and the offset a call writes at (checked), or throws.
  static AddonData& Slab(const Napi::CallbackInfo& info, size_t index, size_t* offset) {
    AddonData& data = *info.Env().GetInstanceData<AddonData>();
    if (data.state == nullptr) throw Napi::Error::New(info.Env(), "setSlab() has not been called");
    // Looked up on every call: the slab's views are handed to user code, which
    // could detach its ArrayBuffer (then its length reads 0 and nothing is written).
    Napi::Uint8Array slab = data.slab_ref.Value().As<Napi::Uint8Array>();
    data.slab = slab.Data();
    data.slab_length = data.slab == nullptr ? 0 : slab.ByteLength();
    if (!info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), "offset must be a number");
    double value = info[index].As<Napi::Number>().DoubleValue();
    if (!(value >= 0 && value <= static_cast<double>(data.slab_length)) || value != static_cast<double>(static_cast<size_t>(value))) {
      throw Napi::RangeError::New(info.Env(), "offset must be an integer within the slab");
    }
    *offset = static_cast<size_t>(value);
    return data;
  }

  // Ciphertext to send: into the slab at `offset` when it fits, else left for drain().
  static void PlaceCiphertext(AddonData& data, TlsConnection& connection, size_t offset) {
    size_t pending = connection.pending_ciphertext_out();
    data.state[kStateCiphertextLength] = static_cast<int32_t>(pending > INT32_MAX ? INT32_MAX : pending);
    if (pending == 0) {
      data.state[kStateCiphertextOffset] = static_cast<int32_t>(offset);
      data.state[kStateNextOffset] = static_cast<int32_t>(offset);
      return;
    }
    if (pending <= data.slab_length - offset && pending <= INT32_MAX) {
      connection.ReadCiphertext(data.slab + offset, pending);
      data.state[kStateCiphertextOffset] = static_cast<int32_t>(offset);
      data.state[kStateNextOffset] = static_cast<int32_t>(offset + pending);
      return;
    }
    data.state[kStateCiphertextOffset] = -1;
    data.state[kStateNextOffset] = static_cast<int32_t>(offset);
  }

  // feed(data | null, readPlaintext, offset) -> flags; plaintext at offset, then the ciphertext (see the state).
  Napi::Value Feed(const Napi::CallbackInfo& info) {
    TlsConnection& connection = Live(info);
    Bytes input = BytesArgument(info, 0, "data", true);
    bool read_plaintext = BooleanArgument(info, 1, "readPlaintext");
    size_t offset = 0;
    AddonData& data = Slab(info, 2, &offset);
    size_t plaintext = 0;
    int flags = connection.Feed(input.data, input.length, read_plaintext, data.slab + offset, data.slab_length - offset, &plaintext);
    data.state[kStatePlaintextLength] = static_cast<int32_t>(plaintext);
    size_t pending_in = connection.pending_ciphertext_in();
    data.state[kStateBufferedIn] = static_cast<int32_t>(pending_in > INT32_MAX ? INT32_MAX : pending_in);
    PlaceCiphertext(data, connection, offset + plaintext);
    return Napi::Number::New(info.Env(), flags);
  }

  // write(data, offset) -> bytes taken (all, or 0 until OpenSSL has read), or -1 (error()); the ciphertext as the state says.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    TlsConnection& connection = Live(info);
    Bytes input = BytesArgument(info, 0, "data");
    size_t offset = 0;
    AddonData& data = Slab(info, 1, &offset);
    size_t placed = 0;
    long taken = WriteIntoSlab(connection, data, offset, input, &placed);
    return Napi::Number::New(info.Env(), static_cast<double>(taken));
  }

  // SSL_write of `input`, its records straight into the slab at `offset`
  // while they fit (the usual case: JS asks for room enough); the state says
  // where the ciphertext is. `*placed` is its length when it is all in the
  // slab in one piece, else 0 (then it went through PlaceCiphertext).
  static long WriteIntoSlab(TlsConnection& connection, AddonData& data, size_t offset, const Bytes& input, size_t* placed) {
    connection.BeginDirectOutput(data.slab + offset, data.slab_length - offset);
    long taken = connection.Write(input.data, input.length);
    size_t direct = connection.EndDirectOutput();
    if (direct > 0 && connection.pending_ciphertext_out() == 0) {
      data.state[kStateCiphertextOffset] = static_cast<int32_t>(offset);
      data.state[kStateCiphertextLength] = static_cast<int32_t>(direct);
      data.state[kStateNextOffset] = static_cast<int32_t>(offset + direct);
      *placed = direct;
    } else {
      PlaceCiphertext(data, connection, offset);
      *placed = 0;
    }
    return taken;
  }

  // writeSend(data, offset, fd) -> as write(), then the records (when they
  // went into the slab) are sent on the stream socket fd with one send(2):
  // state[5] says how many bytes it took (0 when it would block), -errno, or
  // INT32_MIN when nothing was sent (the records did not fit in the slab, or
  // Windows). The caller buffers what is left, in order, as its transport would.
  Napi::Value WriteSend(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TlsConnection& connection = Live(info);
    Bytes input = BytesArgument(info, 0, "data");
    size_t offset = 0;
    AddonData& data = Slab(info, 1, &offset);
    int32_t fd = IntArgument(info, 2, "fd", 0, INT32_MAX);
    if (data.state_length < kStateLengthForSend) throw Napi::RangeError::New(env, "writeSend() needs a state of at least 6 elements (setSlab)");
#ifdef _WIN32
    (void)fd;
#else
    if (fd != checked_fd_) {
      if (!IsStreamSocket(fd)) throw Napi::TypeError::New(env, "fd must be a stream socket");
      checked_fd_ = fd;
    }
#endif
    data.state[kStateSent] = kNotSent;
    size_t placed = 0;
    long taken = WriteIntoSlab(connection, data, offset, input, &placed);
#ifndef _WIN32
    if (placed > 0) data.state[kStateSent] = SendOnce(fd, data.slab + offset, placed);
#endif
    return Napi::Number::New(env, static_cast<double>(taken));
  }

  // shutdown(offset): queues our close_notify; the ciphertext as the state says.
  void Shutdown(const Napi::CallbackInfo& info) {
    TlsConnection& connection = Live(info);
    size_t offset = 0;
    AddonData& data = Slab(info, 0, &offset);
    connection.Shutdown();
    PlaceCiphertext(data, connection, offset);
  }

  // drain(target) -> bytes: the ciphertext that did not fit in the slab, into target (at least that long).
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    TlsConnection& connection = Live(info);
    Napi::Value value = info[0];
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(info.Env(), "target must be a Uint8Array");
    Napi::Uint8Array target = value.As<Napi::Uint8Array>();
    size_t pending = connection.pending_ciphertext_out();
    if (target.ByteLength() < pending) throw Napi::RangeError::New(info.Env(), "target is shorter than the ciphertext waiting");
    return Napi::Number::New(info.Env(), connection.ReadCiphertext(target.Data(), pending));
  }

  // The error of the last call that failed.
  Napi::Value Error(const Napi::CallbackInfo& info) {
    return ErrorObject(info.Env(), Live(info).error());
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TlsConnection& connection = Live(info);
    Napi::Object result = Napi::Object::New(env);
    result.Set("version", connection.Version());
    result.Set("cipher", connection.CipherName());
    result.Set("standardName", connection.CipherStandardName());
    result.Set("bits", connection.CipherBits());
    std::string alpn = connection.Alpn();
    result.Set("alpn", alpn.empty() ? env.Null() : Napi::String::New(env, alpn).As<Napi::Value>());
    std::string servername = connection.ServerName();
    result.Set("servername", servername.empty() ? env.Null() : Napi::String::New(env, servername).As<Napi::Value>());
    return result;
  }

  Napi::Value PeerCertificate(const Napi::CallbackInfo& info) {
    std::vector<uint8_t> der = Live(info).PeerCertificate();
    if (der.empty()) return info.Env().Null();
    return Napi::Buffer<uint8_t>::Copy(info.Env(), der.data(), der.size());
  }

  // exportKeyingMaterial(length, label, context | null) -> Buffer
  Napi::Value ExportKeyingMaterial(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TlsConnection& connection = Live(info);
    int length = IntArgument(info, 0, "length", 1, 1 << 20);
    std::string label = StringArgument(info, 1, "label");
    Bytes context = BytesArgument(info, 2, "context", true);
    bool use_context = !(info[2].IsNull() || info[2].IsUndefined());
    if (!connection.established()) throw Napi::Error::New(env, "the TLS handshake has not completed");
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(length));
    if (!connection.ExportKeyingMaterial(out.Data(), static_cast<size_t>(length), label, context.data, context.length, use_context)) {
      throw Napi::Error(env, ErrorObject(env, connection.error()));
    }
    return out;
  }

  // Frees the SSL now (the connection is over); later calls throw.
  void Destroy(const Napi::CallbackInfo& info) {
    connection_.reset();
    context_ref_.Reset();
  }

  std::unique_ptr<TlsConnection> connection_;
  Napi::ObjectReference context_ref_;
  int32_t checked_fd_ = -1;  // writeSend's fd, found to be a stream socket
};

// setSlab(slab, state): the Uint8Array calls write into from now on, and the
// Int32Array (at least 5 long) they report in. Both are kept alive here.
static void SetSlab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& data = *env.GetInstanceData<AddonData>();
  Napi::Value slab = info[0];
  Napi::Value state = info[1];
  if (!slab.IsTypedArray() || slab.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "slab must be a Uint8Array");
  if (!state.IsTypedArray() || state.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) throw Napi::TypeError::New(env, "state must be an Int32Array");
  Napi::Uint8Array bytes = slab.As<Napi::Uint8Array>();
  Napi::Int32Array words = state.As<Napi::Int32Array>();
  if (words.ElementLength() < kStateLength) throw Napi::RangeError::New(env, "state must have at least 5 elements");
  if (bytes.ByteLength() > INT32_MAX) throw Napi::RangeError::New(env, "slab must be at most 2 GiB");
  data.slab_ref = Napi::Persistent(bytes.As<Napi::Object>());
  data.state_ref = Napi::Persistent(words.As<Napi::Object>());
  data.slab = bytes.Data();
  data.slab_length = bytes.ByteLength();
  data.state = words.Data();
  data.state_length = words.ElementLength();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::string why = LoadOpenSsl();
  if (!why.empty()) {
    exports.Set("unsupportedReason", why);
    return exports;
  }
  Napi::Function context = ContextWrap::Define(env);
  auto* data = new AddonData();
  data->context_constructor = Napi::Persistent(context);
  env.SetInstanceData(data);
  exports.Set("Context", context);
  exports.Set("Connection", ConnectionWrap::Define(env));
  exports.Set("setSlab", Napi::Function::New(env, SetSlab, "setSlab"));
  exports.Set("openSslVersion", Napi::Number::New(env, static_cast<double>(ossl().OpenSSL_version_num())));
  exports.Set("TLS1_2_VERSION", Napi::Number::New(env, TLS1_2_VERSION));
  exports.Set("TLS1_3_VERSION", Napi::Number::New(env, TLS1_3_VERSION));
  exports.Set("SSL_VERIFY_PEER", Napi::Number::New(env, SSL_VERIFY_PEER));
  exports.Set("SSL_VERIFY_FAIL_IF_NO_PEER_CERT", Napi::Number::New(env, SSL_VERIFY_FAIL_IF_NO_PEER_CERT));
  return exports;
}

}  // namespace evloop_tls

static Napi::Object InitTls(Napi::Env env, Napi::Object exports) { return evloop_tls::Init(env, exports); }

NODE_API_MODULE(evloop_tls, InitTls)

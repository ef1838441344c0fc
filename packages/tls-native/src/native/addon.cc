// Node-API glue of @evloop/tls-native: `Context` (an SSL_CTX) and
// `Connection` (an SSL over two memory BIOs), or, where the running
// process does not export OpenSSL 3, only `unsupportedReason`.
#include <napi.h>

#include <cstring>
#include <memory>
#include <string>

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
  PlaintextScratch scratch;
};

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
                           InstanceMethod<&ConnectionWrap::Shutdown>("shutdown"),
                           InstanceMethod<&ConnectionWrap::Info>("info"),
                           InstanceMethod<&ConnectionWrap::PeerCertificate>("peerCertificate"),
                           InstanceMethod<&ConnectionWrap::ExportKeyingMaterial>("exportKeyingMaterial"),
                           InstanceMethod<&ConnectionWrap::Destroy>("destroy"),
                       });
  }

  // new Connection(context, verifyMode, hostname, checkHostname, sni, results)
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
    if (!info[5].IsArray()) throw Napi::TypeError::New(env, "results must be an array");
    // The context (its SSL_CTX and ALPN list) lives as long as this connection.
    context_ref_ = Napi::Persistent(info[0].As<Napi::Object>());
    results_ = Napi::Persistent(info[5].As<Napi::Object>());
    connection_ = std::make_unique<TlsConnection>(context->context(), verify_mode, hostname, check_hostname, sni);
    if (!connection_->ok()) throw Napi::Error(env, ErrorObject(env, connection_->error()));
  }

 private:
  TlsConnection& Live(const Napi::CallbackInfo& info) {
    if (!connection_) throw Napi::Error::New(info.Env(), "the TLS connection is destroyed");
    return *connection_;
  }

  Napi::Value Ciphertext(Napi::Env env, TlsConnection& connection) {
    size_t pending = connection.pending_ciphertext_out();
    if (pending == 0) return env.Null();
    Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(env, pending);
    int read = connection.ReadCiphertext(buffer.Data(), pending);
    if (static_cast<size_t>(read) != pending) throw Napi::Error::New(env, "short read from the outgoing memory BIO");
    return buffer;
  }

  // feed(data | null, readPlaintext) -> flags; results = [plaintext | null, ciphertext | null, error | null, ciphertext buffered in]
  Napi::Value Feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TlsConnection& connection = Live(info);
    Bytes data = BytesArgument(info, 0, "data", true);
    bool read_plaintext = BooleanArgument(info, 1, "readPlaintext");
    PlaintextScratch& scratch = env.GetInstanceData<AddonData>()->scratch;
    int flags = connection.Feed(data.data, data.length, read_plaintext, scratch);
    Napi::Object results = results_.Value();
    size_t plaintext = connection.plaintext_length();
    results.Set(0u, plaintext == 0 ? env.Null() : Napi::Buffer<uint8_t>::Copy(env, scratch.data.get(), plaintext).As<Napi::Value>());
    results.Set(1u, Ciphertext(env, connection));
    results.Set(2u, (flags & kFailed) != 0 ? ErrorObject(env, connection.error()).As<Napi::Value>() : env.Null());
    results.Set(3u, Napi::Number::New(env, static_cast<double>(connection.pending_ciphertext_in())));
    return Napi::Number::New(env, flags);
  }

  // write(data) -> bytes taken (or -1: results[2] says why); results[1] = ciphertext | null
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TlsConnection& connection = Live(info);
    Bytes data = BytesArgument(info, 0, "data");
    long taken = connection.Write(data.data, data.length);
    Napi::Object results = results_.Value();
    results.Set(1u, Ciphertext(env, connection));
    results.Set(2u, taken < 0 ? ErrorObject(env, connection.error()).As<Napi::Value>() : env.Null());
    return Napi::Number::New(env, static_cast<double>(taken));
  }

  // shutdown() -> ciphertext (close_notify) | null
  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    TlsConnection& connection = Live(info);
    connection.Shutdown();
    return Ciphertext(info.Env(), connection);
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
    results_.Reset();
  }

  std::unique_ptr<TlsConnection> connection_;
  Napi::ObjectReference context_ref_;
  Napi::ObjectReference results_;
};

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

// TLS over in-memory BIOs: see tls_engine.h.
#include "tls_engine.h"

#include <climits>
#include <cstdio>
#include <cstring>
#include <new>

namespace evloop_tls {

namespace {

// Node's code prefix for an OpenSSL library (node's crypto error decoration).
const char* LibraryPrefix(int library) {
  switch (library) {
    case ERR_LIB_SSL: return "SSL_";
    case ERR_LIB_X509: return "X509_";
    case ERR_LIB_X509V3: return "X509V3_";
    case ERR_LIB_PEM: return "PEM_";
    case ERR_LIB_ASN1: return "ASN1_";
    case ERR_LIB_EVP: return "EVP_";
    case ERR_LIB_BIO: return "BIO_";
    case ERR_LIB_SYS: return "SYS_";
    case ERR_LIB_RSA: return "RSA_";
    case ERR_LIB_EC: return "EC_";
    case ERR_LIB_CRYPTO: return "CRYPTO_";
    case ERR_LIB_BUF: return "BUF_";
    case ERR_LIB_OBJ: return "OBJ_";
    case ERR_LIB_PKCS12: return "PKCS12_";
    default: return "";
  }
}

// The earliest error on OpenSSL's queue (the queue is emptied), as Node shows it.
TlsError ErrorFromQueue(const char* fallback) {
  const OpenSslApi& o = ossl();
  unsigned long first = o.ERR_get_error();
  while (o.ERR_get_error() != 0) {
  }
  TlsError error;
  if (first == 0) {
    error.code = "ERR_SSL";
    error.message = fallback;
    error.library = "SSL routines";
    error.reason = fallback;
    return error;
  }
  const char* library = o.ERR_lib_error_string(first);
  const char* reason = o.ERR_reason_error_string(first);
  error.library = library != nullptr ? library : "";
  char number[24];
  std::snprintf(number, sizeof number, "%08lX", first);
  if (reason != nullptr) {
    error.reason = reason;
  } else {
    error.reason = std::string("reason(") + std::to_string(ERR_GET_REASON(first)) + ")";
  }
  error.message = std::string("error:") + number + ":" + error.library + "::" + error.reason;
  std::string code = std::string("ERR_") + LibraryPrefix(ERR_GET_LIB(first));
  for (char c : error.reason) code += c == ' ' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  error.code = code;
  return error;
}

// Clears what OpenSSL's error queue holds, if anything (peeking is cheaper
// than clearing the queue's every slot on each call).
void ClearErrors(const OpenSslApi& o) {
  if (o.ERR_peek_error() != 0) o.ERR_clear_error();
}

CiphertextPipe* PipeOf(BIO* bio) { return static_cast<CiphertextPipe*>(ossl().BIO_get_data(bio)); }

int PipeCreate(BIO* bio) {
  ossl().BIO_set_init(bio, 1);
  return 1;
}

// OpenSSL asks for ciphertext: what was kept, then the caller's bytes; none yet is "retry".
int PipeRead(BIO* bio, char* into, int length) {
  const OpenSslApi& o = ossl();
  o.BIO_clear_flags(bio, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
  if (length <= 0) return 0;
  int read = PipeOf(bio)->Read(reinterpret_cast<uint8_t*>(into), static_cast<size_t>(length));
  if (read > 0) return read;
  o.BIO_set_flags(bio, BIO_FLAGS_READ | BIO_FLAGS_SHOULD_RETRY);
  return -1;
}

// OpenSSL hands over a record (or part of one): always taken whole.
int PipeWrite(BIO* bio, const char* data, int length) {
  ossl().BIO_clear_flags(bio, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
  if (length <= 0) return 0;
  return PipeOf(bio)->Write(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(length)) ? length : -1;
}

long PipeControl(BIO* bio, int command, long, void*, bool incoming) {
  switch (command) {
    case BIO_CTRL_PENDING: {
      CiphertextPipe* pipe = PipeOf(bio);
      size_t pending = incoming ? pipe->incoming() : pipe->outgoing();
      return pending > LONG_MAX ? LONG_MAX : static_cast<long>(pending);
    }
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

long PipeControlIn(BIO* bio, int command, long number, void* pointer) { return PipeControl(bio, command, number, pointer, true); }
long PipeControlOut(BIO* bio, int command, long number, void* pointer) { return PipeControl(bio, command, number, pointer, false); }

// The two BIO methods, made once (they live as long as the process).
struct PipeMethods {
  BIO_METHOD* in = nullptr;
  BIO_METHOD* out = nullptr;
};

const PipeMethods& Methods() {
  static const PipeMethods methods = [] {
    const OpenSslApi& o = ossl();
    PipeMethods made;
    int index = o.BIO_get_new_index();
    if (index <= 0) return made;
    made.in = o.BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "evloop ciphertext in");
    made.out = o.BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "evloop ciphertext out");
    if (made.in == nullptr || made.out == nullptr) return PipeMethods();
    o.BIO_meth_set_create(made.in, PipeCreate);
    o.BIO_meth_set_read(made.in, PipeRead);
    o.BIO_meth_set_ctrl(made.in, PipeControlIn);
    o.BIO_meth_set_create(made.out, PipeCreate);
    o.BIO_meth_set_write(made.out, PipeWrite);
    o.BIO_meth_set_ctrl(made.out, PipeControlOut);
    return made;
  }();
  return methods;
}

}  // namespace

// --- CiphertextPipe -------------------------------------------------------------

int CiphertextPipe::Read(uint8_t* into, size_t length) {
  size_t done = 0;
  size_t kept = in.size() - in_start;
  if (kept > 0) {
    size_t take = kept < length ? kept : length;
    std::memcpy(into, in.data() + in_start, take);
    in_start += take;
    done = take;
    if (in_start == in.size()) {
      in.clear();
      in_start = 0;
    }
  }
  if (done < length && feeding_length > 0) {
    size_t take = feeding_length < length - done ? feeding_length : length - done;
    std::memcpy(into + done, feeding, take);
    feeding += take;
    feeding_length -= take;
    done += take;
  }
  return static_cast<int>(done);
}

bool CiphertextPipe::Write(const uint8_t* data, size_t length) {
  try {
    if (direct != nullptr) {
      if (length <= direct_room - direct_length) {
        std::memcpy(direct + direct_length, data, length);
        direct_length += length;
        return true;
      }
      // It does not all fit: what went to the region moves to the buffer, in order.
      out.insert(out.end(), direct, direct + direct_length);
      direct = nullptr;
      direct_room = direct_length = 0;
    }
    if (out_start == out.size()) {
      out.clear();
      out_start = 0;
    }
    out.insert(out.end(), data, data + length);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

bool CiphertextPipe::KeepUnread() {
  const uint8_t* rest = feeding;
  size_t rest_length = feeding_length;
  feeding = nullptr;
  feeding_length = 0;
  if (rest_length == 0) return true;
  try {
    if (in_start > 0) {
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(in_start));
      in_start = 0;
    }
    in.insert(in.end(), rest, rest + rest_length);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

const char* VerifyCodeName(long code) {
  switch (code) {
#define EVLOOP_VERIFY_CODE(name) \
  case X509_V_ERR_##name:        \
    return #name;
    EVLOOP_VERIFY_CODE(UNABLE_TO_GET_ISSUER_CERT)
    EVLOOP_VERIFY_CODE(UNABLE_TO_GET_CRL)
    EVLOOP_VERIFY_CODE(UNABLE_TO_DECRYPT_CERT_SIGNATURE)
    EVLOOP_VERIFY_CODE(UNABLE_TO_DECRYPT_CRL_SIGNATURE)
    EVLOOP_VERIFY_CODE(UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY)
    EVLOOP_VERIFY_CODE(CERT_SIGNATURE_FAILURE)
    EVLOOP_VERIFY_CODE(CRL_SIGNATURE_FAILURE)
    EVLOOP_VERIFY_CODE(CERT_NOT_YET_VALID)
    EVLOOP_VERIFY_CODE(CERT_HAS_EXPIRED)
    EVLOOP_VERIFY_CODE(CRL_NOT_YET_VALID)
    EVLOOP_VERIFY_CODE(CRL_HAS_EXPIRED)
    EVLOOP_VERIFY_CODE(ERROR_IN_CERT_NOT_BEFORE_FIELD)
    EVLOOP_VERIFY_CODE(ERROR_IN_CERT_NOT_AFTER_FIELD)
    EVLOOP_VERIFY_CODE(ERROR_IN_CRL_LAST_UPDATE_FIELD)
    EVLOOP_VERIFY_CODE(ERROR_IN_CRL_NEXT_UPDATE_FIELD)
    EVLOOP_VERIFY_CODE(OUT_OF_MEM)
    EVLOOP_VERIFY_CODE(DEPTH_ZERO_SELF_SIGNED_CERT)
    EVLOOP_VERIFY_CODE(SELF_SIGNED_CERT_IN_CHAIN)
    EVLOOP_VERIFY_CODE(UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
    EVLOOP_VERIFY_CODE(UNABLE_TO_VERIFY_LEAF_SIGNATURE)
    EVLOOP_VERIFY_CODE(CERT_CHAIN_TOO_LONG)
    EVLOOP_VERIFY_CODE(CERT_REVOKED)
    EVLOOP_VERIFY_CODE(INVALID_CA)
    EVLOOP_VERIFY_CODE(PATH_LENGTH_EXCEEDED)
    EVLOOP_VERIFY_CODE(INVALID_PURPOSE)
    EVLOOP_VERIFY_CODE(CERT_UNTRUSTED)
    EVLOOP_VERIFY_CODE(CERT_REJECTED)
#undef EVLOOP_VERIFY_CODE
    // Node reports a wrong name with the code of its own check.
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "ERR_TLS_CERT_ALTNAME_INVALID";
    default:
      return "UNSPECIFIED";
  }
}

// --- TlsContext -----------------------------------------------------------------

TlsContext::TlsContext(bool server_side) : server_side_(server_side) {
  const OpenSslApi& o = ossl();
  o.ERR_clear_error();
  ctx_ = o.SSL_CTX_new(o.TLS_method());
  if (ctx_ == nullptr) {
    error_ = ErrorFromQueue("SSL_CTX_new failed");
    return;
  }
  o.SSL_CTX_set_options(ctx_, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Sessions are not resumed (yet): no client cache; a server still issues tickets.
  o.SSL_CTX_ctrl(ctx_, SSL_CTRL_SET_SESS_CACHE_MODE, server_side ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF, nullptr);
  o.SSL_CTX_ctrl(ctx_, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, nullptr);
  // SSL_write takes all it is given or nothing; the buffer may move between retries.
  o.SSL_CTX_ctrl(ctx_, SSL_CTRL_MODE, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, nullptr);
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) ossl().SSL_CTX_free(ctx_);
}

bool TlsContext::Fail(const char* what) {
  error_ = ErrorFromQueue(what);
  return false;
}

bool TlsContext::SetProtocolVersions(int minimum, int maximum) {
  const OpenSslApi& o = ossl();
  o.ERR_clear_error();
  if (o.SSL_CTX_ctrl(ctx_, SSL_CTRL_SET_MIN_PROTO_VERSION, minimum, nullptr) != 1) return Fail("cannot set the minimum version");
  if (o.SSL_CTX_ctrl(ctx_, SSL_CTRL_SET_MAX_PROTO_VERSION, maximum, nullptr) != 1) return Fail("cannot set the maximum version");
  return true;
}

bool TlsContext::SetCiphers(const std::string& list, const std::string& suites) {
  const OpenSslApi& o = ossl();
  o.ERR_clear_error();
  if (!suites.empty() && o.SSL_CTX_set_ciphersuites(ctx_, suites.c_str()) != 1) return Fail("no TLS 1.3 cipher suite matched");
  if (o.SSL_CTX_set_cipher_list(ctx_, list.c_str()) != 1) {
    // An empty TLS 1.2 list next to TLS 1.3 suites is what was asked for (as Node).
    if (!(list.empty() && !suites.empty())) return Fail("no cipher matched");
    o.ERR_clear_error();
  }
  return true;
}

int TlsContext::AddCaPem(const uint8_t* data, size_t length) {
  const OpenSslApi& o = ossl();
  if (length > INT_MAX) return -1;
  o.ERR_clear_error();
  BIO* bio = o.BIO_new_mem_buf(data, static_cast<int>(length));
  if (bio == nullptr) {
    Fail("out of memory");
    return -1;
  }
  X509_STORE* store = o.SSL_CTX_get_cert_store(ctx_);
  int added = 0;
  while (X509* cert = o.PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    // A certificate already in the store is not an error (OpenSSL 3 ignores duplicates).
    o.X509_STORE_add_cert(store, cert);
    o.X509_free(cert);
    added++;
  }
  o.BIO_free(bio);
  o.ERR_clear_error();  // the end of the PEM text is reported as an error
  return added;
}

bool TlsContext::UseCertificateChain(const uint8_t* cert, size_t cert_length, const uint8_t* key, size_t key_length, const char* passphrase) {
  const OpenSslApi& o = ossl();
  if (cert_length > INT_MAX || key_length > INT_MAX) return false;
  o.ERR_clear_error();
  BIO* bio = o.BIO_new_mem_buf(cert, static_cast<int>(cert_length));
  if (bio == nullptr) return Fail("out of memory");
  X509* leaf = o.PEM_read_bio_X509_AUX(bio, nullptr, nullptr, nullptr);
  if (leaf == nullptr) {
    o.BIO_free(bio);
    return Fail("no certificate in the certificate chain");
  }
  bool ok = o.SSL_CTX_use_certificate(ctx_, leaf) == 1;
  o.X509_free(leaf);
  if (!ok) {
    o.BIO_free(bio);
    return Fail("cannot use the certificate");
  }
  while (X509* extra = o.PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    // The context takes ownership of a chain certificate it accepts.
    if (o.SSL_CTX_ctrl(ctx_, SSL_CTRL_EXTRA_CHAIN_CERT, 0, extra) != 1) {
      o.X509_free(extra);
      o.BIO_free(bio);
      return Fail("cannot add a chain certificate");
    }
  }
  o.BIO_free(bio);
  o.ERR_clear_error();
  bio = o.BIO_new_mem_buf(key, static_cast<int>(key_length));
  if (bio == nullptr) return Fail("out of memory");
  // With no callback, OpenSSL takes the last argument as the passphrase.
  EVP_PKEY* pkey = o.PEM_read_bio_PrivateKey(bio, nullptr, nullptr, const_cast<char*>(passphrase != nullptr ? passphrase : ""));
  o.BIO_free(bio);
  if (pkey == nullptr) return Fail("cannot read the private key");
  ok = o.SSL_CTX_use_PrivateKey(ctx_, pkey) == 1;
  o.EVP_PKEY_free(pkey);
  if (!ok) return Fail("cannot use the private key");
  if (o.SSL_CTX_check_private_key(ctx_) != 1) return Fail("the private key does not match the certificate");
  return true;
}

void TlsContext::SetAlpn(const uint8_t* wire, size_t length) {
  alpn_.assign(reinterpret_cast<const char*>(wire), length);
  if (server_side_) ossl().SSL_CTX_set_alpn_select_cb(ctx_, &TlsContext::SelectAlpn, this);
}

int TlsContext::SelectAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_length, const unsigned char* in, unsigned int in_length, void* arg) {
  const TlsContext* self = static_cast<const TlsContext*>(arg);
  const std::string& ours = self->alpn_;
  unsigned char* selected = nullptr;
  int result = ossl().SSL_select_next_proto(&selected, out_length, reinterpret_cast<const unsigned char*>(ours.data()), static_cast<unsigned int>(ours.size()), in, in_length);
  // No protocol in common: go on without ALPN (as Node's servers do).
  if (result != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// --- TlsConnection --------------------------------------------------------------

TlsConnection::TlsConnection(const TlsContext& context, int verify_mode, const std::string& hostname, bool check_hostname, bool sni) : hostname_(hostname) {
  const OpenSslApi& o = ossl();
  o.ERR_clear_error();
  ssl_ = o.SSL_new(context.ctx());
  if (ssl_ == nullptr) {
    error_ = ErrorFromQueue("SSL_new failed");
    return;
  }
  const PipeMethods& methods = Methods();
  BIO* incoming = methods.in != nullptr ? o.BIO_new(methods.in) : nullptr;
  BIO* outgoing = methods.out != nullptr ? o.BIO_new(methods.out) : nullptr;
  if (incoming == nullptr || outgoing == nullptr) {
    if (incoming != nullptr) o.BIO_free(incoming);
    if (outgoing != nullptr) o.BIO_free(outgoing);
    o.SSL_free(ssl_);
    ssl_ = nullptr;
    error_ = ErrorFromQueue("BIO_new failed");
    return;
  }
  o.BIO_set_data(incoming, &pipe_);
  o.BIO_set_data(outgoing, &pipe_);
  o.SSL_set_bio(ssl_, incoming, outgoing);
  o.SSL_set_verify(ssl_, verify_mode, nullptr);
  if (context.server_side()) {
    o.SSL_set_accept_state(ssl_);
    return;
  }
  o.SSL_set_connect_state(ssl_);
  if (sni && !hostname.empty()) o.SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(hostname.c_str()));
  if (check_hostname && !hostname.empty()) {
    X509_VERIFY_PARAM* param = o.SSL_get0_param(ssl_);
    o.X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    // An address is matched against the certificate's IP SANs, a name against its DNS names.
    if (o.X509_VERIFY_PARAM_set1_ip_asc(param, hostname.c_str()) != 1) {
      o.ERR_clear_error();
      o.X509_VERIFY_PARAM_set1_host(param, hostname.c_str(), hostname.size());
    }
  }
  const std::string& alpn = context.alpn();
  // SSL_set_alpn_protos returns 0 on success.
  if (!alpn.empty()) o.SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(alpn.data()), static_cast<unsigned int>(alpn.size()));
}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) ossl().SSL_free(ssl_);  // frees both BIOs
}

int TlsConnection::Fail(int ssl_result) {
  const OpenSslApi& o = ossl();
  failed_ = true;
  long verify = o.SSL_get_verify_result(ssl_);
  int ssl_error = o.SSL_get_error(ssl_, ssl_result);
  unsigned long first = o.ERR_peek_error();
  bool verify_failed = ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED;
  if (!established_ && verify_failed && verify != X509_V_OK) {
    while (o.ERR_get_error() != 0) {
    }
    error_ = TlsError();
    error_.verify = true;
    error_.code = VerifyCodeName(verify);
    error_.reason = error_.code;
    const char* words = o.X509_verify_cert_error_string(verify);
    error_.message = words != nullptr ? words : "certificate verify failed";
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      error_.message = "Hostname/IP does not match certificate's altnames: Host: " + hostname_ + ". is not in the cert's altnames";
    }
    return kFailed;
  }
  error_ = ErrorFromQueue(ssl_error == SSL_ERROR_SYSCALL ? "unexpected end of the TLS stream" : "TLS failure");
  return kFailed;
}

int TlsConnection::Feed(const uint8_t* data, size_t length, bool read_plaintext, uint8_t* out, size_t room, size_t* plaintext_length) {
  *plaintext_length = 0;
  if (failed_) return kFailed;
  // OpenSSL reads the caller's bytes in place; whatever it leaves unread is kept.
  pipe_.feeding = data;
  pipe_.feeding_length = length;
  int flags = Process(read_plaintext, out, room, plaintext_length);
  if (!pipe_.KeepUnread()) {
    error_ = TlsError();
    error_.code = "ERR_SSL";
    error_.message = error_.reason = "out of memory";
    error_.library = "SSL routines";
    failed_ = true;
    flags |= kFailed;
  }
  return flags;
}

int TlsConnection::Process(bool read_plaintext, uint8_t* out, size_t room, size_t* plaintext_length) {
  const OpenSslApi& o = ossl();
  int flags = 0;
  ClearErrors(o);
  if (!established_) {
    int result = o.SSL_do_handshake(ssl_);
    if (result == 1) {
      established_ = true;
      flags |= kHandshakeDone;
    } else {
      int ssl_error = o.SSL_get_error(ssl_, result);
      if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) return flags;
      return flags | Fail(result);
    }
  }
  if (!read_plaintext || peer_closed_) return flags;
  size_t used = 0;
  for (;;) {
    if (used == room) {
      // Out of room: more may be waiting (decrypted, or whole records in the BIO).
      if (o.SSL_pending(ssl_) > 0 || pipe_.incoming() > 0) flags |= kMorePlaintext;
      break;
    }
    size_t space = room - used;
    int result = o.SSL_read(ssl_, out + used, space > INT_MAX ? INT_MAX : static_cast<int>(space));
    if (result > 0) {
      used += static_cast<size_t>(result);
      // Nothing decrypted is left and no byte is waiting: spare the call that would say so.
      if (o.SSL_pending(ssl_) == 0 && pipe_.incoming() == 0) break;
      continue;
    }
    int ssl_error = o.SSL_get_error(ssl_, result);
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) break;
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      flags |= kPeerClosed;
      break;
    }
    *plaintext_length = used;
    return flags | Fail(result);
  }
  *plaintext_length = used;
  return flags;
}

long TlsConnection::Write(const uint8_t* data, size_t length) {
  const OpenSslApi& o = ossl();
  if (failed_) return -1;
  size_t done = 0;
  ClearErrors(o);
  while (done < length) {
    size_t rest = length - done;
    int piece = rest > (1u << 30) ? (1 << 30) : static_cast<int>(rest);
    int result = o.SSL_write(ssl_, data + done, piece);
    if (result > 0) {
      done += static_cast<size_t>(result);
      continue;
    }
    int ssl_error = o.SSL_get_error(ssl_, result);
    // Renegotiation or a key update waiting for the peer: the caller retries after the next Feed.
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) break;
    Fail(result);
    return -1;
  }
  return static_cast<long>(done);
}

int TlsConnection::Shutdown() {
  const OpenSslApi& o = ossl();
  if (failed_) return kFailed;
  o.ERR_clear_error();
  int result = o.SSL_shutdown(ssl_);
  if (result < 0) {
    int ssl_error = o.SSL_get_error(ssl_, result);
    if (ssl_error != SSL_ERROR_WANT_READ && ssl_error != SSL_ERROR_WANT_WRITE) {
      // Nothing more can be sent; the caller closes the connection anyway.
      while (o.ERR_get_error() != 0) {
      }
    }
  }
  return 0;
}

size_t TlsConnection::pending_ciphertext_out() const { return pipe_.outgoing(); }

size_t TlsConnection::pending_ciphertext_in() const { return pipe_.incoming(); }

int TlsConnection::ReadCiphertext(uint8_t* into, size_t length) {
  // Only what waits in the buffer (Write's region is the caller's already).
  size_t waiting = pipe_.out.size() - pipe_.out_start;
  size_t take = length < waiting ? length : waiting;
  if (take > INT_MAX) take = INT_MAX;
  if (take == 0) return 0;
  std::memcpy(into, pipe_.out.data() + pipe_.out_start, take);
  pipe_.out_start += take;
  if (pipe_.out_start == pipe_.out.size()) {
    pipe_.out.clear();
    pipe_.out_start = 0;
  }
  return static_cast<int>(take);
}

void TlsConnection::BeginDirectOutput(uint8_t* region, size_t room) {
  if (pipe_.out_start != pipe_.out.size()) return;  // earlier bytes go first
  pipe_.direct = region;
  pipe_.direct_room = room;
  pipe_.direct_length = 0;
}

size_t TlsConnection::EndDirectOutput() {
  size_t placed = pipe_.direct != nullptr ? pipe_.direct_length : 0;
  pipe_.direct = nullptr;
  pipe_.direct_room = pipe_.direct_length = 0;
  return placed;
}

std::string TlsConnection::Version() const {
  const char* version = ossl().SSL_get_version(ssl_);
  return version != nullptr ? version : "";
}

std::string TlsConnection::CipherName() const {
  const SSL_CIPHER* cipher = ossl().SSL_get_current_cipher(ssl_);
  const char* name = cipher != nullptr ? ossl().SSL_CIPHER_get_name(cipher) : nullptr;
  return name != nullptr ? name : "";
}

std::string TlsConnection::CipherStandardName() const {
  const SSL_CIPHER* cipher = ossl().SSL_get_current_cipher(ssl_);
  const char* name = cipher != nullptr ? ossl().SSL_CIPHER_standard_name(cipher) : nullptr;
  return name != nullptr ? name : "";
}

int TlsConnection::CipherBits() const {
  const SSL_CIPHER* cipher = ossl().SSL_get_current_cipher(ssl_);
  return cipher != nullptr ? ossl().SSL_CIPHER_get_bits(cipher, nullptr) : 0;
}

std::string TlsConnection::Alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  ossl().SSL_get0_alpn_selected(ssl_, &data, &length);
  return data != nullptr ? std::string(reinterpret_cast<const char*>(data), length) : std::string();
}

std::string TlsConnection::ServerName() const {
  const char* name = ossl().SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? name : "";
}

std::vector<uint8_t> TlsConnection::PeerCertificate() const {
  const OpenSslApi& o = ossl();
  std::vector<uint8_t> der;
  X509* cert = o.SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return der;
  int length = o.i2d_X509(cert, nullptr);
  if (length > 0) {
    der.resize(static_cast<size_t>(length));
    unsigned char* cursor = der.data();
    o.i2d_X509(cert, &cursor);
  }
  o.X509_free(cert);
  return der;
}

bool TlsConnection::ExportKeyingMaterial(uint8_t* out, size_t length, const std::string& label, const uint8_t* context, size_t context_length, bool use_context) {
  const OpenSslApi& o = ossl();
  o.ERR_clear_error();
  int result = o.SSL_export_keying_material(ssl_, out, length, label.data(), label.size(), context, context_length, use_context ? 1 : 0);
  if (result != 1) {
    error_ = ErrorFromQueue("cannot export keying material");
    return false;
  }
  return true;
}

}  // namespace evloop_tls

// TLS over in-memory BIOs (what asyncio's sslproto and uvloop do): OpenSSL
// reads ciphertext from one in-memory BIO and writes ciphertext to another;
// the event loop moves the bytes. No Node-API types here (addon.cc is the glue).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "openssl_api.h"

namespace evloop_tls {

// An OpenSSL failure as Node describes it: `code` is Node's code
// ('ERR_SSL_WRONG_VERSION_NUMBER', or for a certificate that did not verify
// 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID'...), `verify` says which.
struct TlsError {
  std::string code;
  std::string message;
  std::string library;  // OpenSSL's library name ('SSL routines'), empty for a verify error
  std::string reason;   // OpenSSL's reason, or the verify code
  bool verify = false;
};

// Settings shared by connections: the SSL_CTX.
class TlsContext {
 public:
  explicit TlsContext(bool server_side);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool ok() const { return ctx_ != nullptr; }
  bool server_side() const { return server_side_; }
  SSL_CTX* ctx() const { return ctx_; }
  const std::string& alpn() const { return alpn_; }
  const TlsError& error() const { return error_; }

  // TLS1_2_VERSION / TLS1_3_VERSION.
  bool SetProtocolVersions(int minimum, int maximum);
  // OpenSSL cipher list (TLS 1.2) and TLS 1.3 suites, as Node splits its `ciphers` option.
  bool SetCiphers(const std::string& list, const std::string& suites);
  // Trusts every certificate of a PEM text; returns how many, or -1.
  int AddCaPem(const uint8_t* data, size_t length);
  // Our certificate (then its chain) and private key, PEM; passphrase may be null.
  bool UseCertificateChain(const uint8_t* cert, size_t cert_length, const uint8_t* key, size_t key_length, const char* passphrase);
  // ALPN protocols in wire format (length-prefixed names).
  void SetAlpn(const uint8_t* wire, size_t length);

 private:
  static int SelectAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_length, const unsigned char* in, unsigned int in_length, void* arg);
  bool Fail(const char* what);

  SSL_CTX* ctx_ = nullptr;
  bool server_side_;
  std::string alpn_;
  TlsError error_;
};

enum TlsFlags : int {
  kHandshakeDone = 1,  // the handshake completed during this call
  kPeerClosed = 2,     // the peer's close_notify arrived
  kFailed = 4,         // error() says why; the connection is unusable
  kMorePlaintext = 8,  // the plaintext did not all fit: feed again (with no data) into fresh room
};

// The ciphertext both ways, behind the two BIOs OpenSSL reads and writes
// (pipe BIOs, not memory BIOs: those copy every byte in, clear the room for
// it, and copy it out again). Incoming: the caller's bytes are read in place
// during Feed; only what OpenSSL left unread (a partial record, or all while
// plaintext is not read) is kept. Outgoing: records go straight into the
// region the caller gave (its slab) while they fit, else to a buffer it drains.
struct CiphertextPipe {
  std::vector<uint8_t> in;         // kept from earlier feeds: [in_start, in.size())
  size_t in_start = 0;
  const uint8_t* feeding = nullptr;  // the caller's bytes, during Feed only
  size_t feeding_length = 0;
  uint8_t* direct = nullptr;       // the caller's region, during Write only
  size_t direct_room = 0;
  size_t direct_length = 0;
  std::vector<uint8_t> out;        // not placed yet: [out_start, out.size())
  size_t out_start = 0;

  size_t incoming() const { return in.size() - in_start + feeding_length; }
  size_t outgoing() const { return direct_length + out.size() - out_start; }
  int Read(uint8_t* into, size_t length);
  bool Write(const uint8_t* data, size_t length);
  // Keeps the part of the caller's bytes OpenSSL did not read; false when out of memory.
  bool KeepUnread();
};

// One connection: an SSL with a pipe BIO each way.
class TlsConnection {
 public:
  // verify_mode: SSL_VERIFY_* bits. hostname: matched against the peer's
  // certificate when check_hostname (a name or an IP address); sni: sent as SNI.
  TlsConnection(const TlsContext& context, int verify_mode, const std::string& hostname, bool check_hostname, bool sni);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  bool established() const { return established_; }
  const TlsError& error() const { return error_; }

  // Ciphertext from the peer (may be empty); runs the handshake, then
  // (when read_plaintext) decrypts all that is complete into out[0, room),
  // setting *plaintext_length.
  int Feed(const uint8_t* data, size_t length, bool read_plaintext, uint8_t* out, size_t room, size_t* plaintext_length);
  // Encrypts; returns the bytes taken (all, or 0 while OpenSSL needs to read first), or -1 (error()).
  long Write(const uint8_t* data, size_t length);
  // Queues our close_notify; returns flags (kFailed on error).
  int Shutdown();

  size_t pending_ciphertext_out() const;
  size_t pending_ciphertext_in() const;
  int ReadCiphertext(uint8_t* into, size_t length);
  // Write() puts its records into region[0, room) while they fit (none may be
  // waiting); EndDirectOutput() says how many bytes went there (0 when they
  // did not all fit: then all of it waits for ReadCiphertext).
  void BeginDirectOutput(uint8_t* region, size_t room);
  size_t EndDirectOutput();

  std::string Version() const;
  std::string CipherName() const;
  std::string CipherStandardName() const;
  int CipherBits() const;
  std::string Alpn() const;
  std::string ServerName() const;
  // The peer's certificate, DER; empty when there is none.
  std::vector<uint8_t> PeerCertificate() const;
  bool ExportKeyingMaterial(uint8_t* out, size_t length, const std::string& label, const uint8_t* context, size_t context_length, bool use_context);

 private:
  int Fail(int ssl_result);
  // Feed's work once the caller's bytes are readable: the handshake, then the plaintext.
  int Process(bool read_plaintext, uint8_t* out, size_t room, size_t* plaintext_length);

  SSL* ssl_ = nullptr;
  CiphertextPipe pipe_;  // the BIOs (owned by ssl_) point at it
  bool established_ = false;
  bool peer_closed_ = false;
  bool failed_ = false;
  std::string hostname_;
  TlsError error_;
};

// Node's name for an X509_V_ERR_* code ('CERT_HAS_EXPIRED').
const char* VerifyCodeName(long code);

}  // namespace evloop_tls

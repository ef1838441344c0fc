// The OpenSSL functions this addon uses, found at load time in the running
// process (Node exports the OpenSSL it links; a distribution's Node brings
// its shared libssl into the global scope). Nothing is linked against
// OpenSSL: a runtime without these symbols (Bun, Deno, a Node built without
// crypto) leaves the addon loadable, reporting which symbol is missing, and
// evloop keeps its JavaScript TLS path. Every call goes through `ossl()`,
// so a function missing from this list does not compile.
#pragma once

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>

#define EVLOOP_OPENSSL_FUNCTIONS(X)                                                                              \
  X(OpenSSL_version_num)                                                                                         \
  X(TLS_method)                                                                                                  \
  X(SSL_CTX_new)                                                                                                 \
  X(SSL_CTX_free)                                                                                                \
  X(SSL_CTX_ctrl)                                                                                                \
  X(SSL_CTX_set_options)                                                                                         \
  X(SSL_CTX_set_cipher_list)                                                                                     \
  X(SSL_CTX_set_ciphersuites)                                                                                    \
  X(SSL_CTX_get_cert_store)                                                                                      \
  X(SSL_CTX_use_certificate)                                                                                     \
  X(SSL_CTX_use_PrivateKey)                                                                                      \
  X(SSL_CTX_check_private_key)                                                                                   \
  X(SSL_CTX_set_alpn_select_cb)                                                                                  \
  X(SSL_select_next_proto)                                                                                       \
  X(X509_STORE_add_cert)                                                                                         \
  X(PEM_read_bio_X509)                                                                                           \
  X(PEM_read_bio_X509_AUX)                                                                                       \
  X(PEM_read_bio_PrivateKey)                                                                                     \
  X(X509_free)                                                                                                   \
  X(EVP_PKEY_free)                                                                                               \
  X(i2d_X509)                                                                                                    \
  X(X509_verify_cert_error_string)                                                                               \
  X(BIO_new)                                                                                                     \
  X(BIO_new_mem_buf)                                                                                             \
  X(BIO_s_mem)                                                                                                   \
  X(BIO_free)                                                                                                    \
  X(BIO_read)                                                                                                    \
  X(BIO_write)                                                                                                   \
  X(BIO_ctrl)                                                                                                    \
  X(BIO_ctrl_pending)                                                                                            \
  X(BIO_get_new_index)                                                                                           \
  X(BIO_meth_new)                                                                                                \
  X(BIO_meth_set_write)                                                                                          \
  X(BIO_meth_set_read)                                                                                           \
  X(BIO_meth_set_ctrl)                                                                                           \
  X(BIO_meth_set_create)                                                                                         \
  X(BIO_set_data)                                                                                                \
  X(BIO_get_data)                                                                                                \
  X(BIO_set_init)                                                                                                \
  X(BIO_set_flags)                                                                                               \
  X(BIO_clear_flags)                                                                                             \
  X(SSL_new)                                                                                                     \
  X(SSL_free)                                                                                                    \
  X(SSL_set_bio)                                                                                                 \
  X(SSL_set_connect_state)                                                                                       \
  X(SSL_set_accept_state)                                                                                        \
  X(SSL_set_verify)                                                                                              \
  X(SSL_ctrl)                                                                                                    \
  X(SSL_do_handshake)                                                                                            \
  X(SSL_is_init_finished)                                                                                        \
  X(SSL_read)                                                                                                    \
  X(SSL_write)                                                                                                   \
  X(SSL_shutdown)                                                                                                \
  X(SSL_get_error)                                                                                               \
  X(SSL_get_shutdown)                                                                                            \
  X(SSL_pending)                                                                                                 \
  X(SSL_set_alpn_protos)                                                                                         \
  X(SSL_get0_alpn_selected)                                                                                      \
  X(SSL_get_version)                                                                                             \
  X(SSL_get_current_cipher)                                                                                      \
  X(SSL_CIPHER_get_name)                                                                                         \
  X(SSL_CIPHER_standard_name)                                                                                    \
  X(SSL_CIPHER_get_bits)                                                                                         \
  X(SSL_get1_peer_certificate)                                                                                   \
  X(SSL_get_verify_result)                                                                                       \
  X(SSL_get0_param)                                                                                              \
  X(SSL_get_servername)                                                                                          \
  X(SSL_export_keying_material)                                                                                  \
  X(X509_VERIFY_PARAM_set1_host)                                                                                 \
  X(X509_VERIFY_PARAM_set1_ip_asc)                                                                               \
  X(X509_VERIFY_PARAM_set_hostflags)                                                                             \
  X(ERR_get_error)                                                                                               \
  X(ERR_peek_error)                                                                                              \
  X(ERR_clear_error)                                                                                             \
  X(ERR_reason_error_string)                                                                                     \
  X(ERR_lib_error_string)

namespace evloop_tls {

struct OpenSslApi {
#define EVLOOP_OPENSSL_MEMBER(name) decltype(&::name) name = nullptr;
  EVLOOP_OPENSSL_FUNCTIONS(EVLOOP_OPENSSL_MEMBER)
#undef EVLOOP_OPENSSL_MEMBER
};

// Looks every function up once. Returns "" when all were found and the
// OpenSSL is 3.x, else why the addon cannot be used.
std::string LoadOpenSsl();

// The table; valid only after LoadOpenSsl() returned "".
const OpenSslApi& ossl();

}  // namespace evloop_tls

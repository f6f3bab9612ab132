// OsslPtr<T>: a unique_ptr that frees an OpenSSL object with its own free function.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace scytale::crypto::internal {

template <class T>
struct OsslDeleter;
template <>
struct OsslDeleter<EVP_CIPHER_CTX> {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
template <>
struct OsslDeleter<EVP_CIPHER> {
  void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
};
template <>
struct OsslDeleter<EVP_KDF> {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
template <>
struct OsslDeleter<EVP_KDF_CTX> {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
template <>
struct OsslDeleter<EVP_MAC> {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
template <>
struct OsslDeleter<EVP_MAC_CTX> {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};

template <>
struct OsslDeleter<X509> {
  void operator()(X509* p) const { X509_free(p); }
};
template <>
struct OsslDeleter<BIO> {
  void operator()(BIO* p) const { BIO_free(p); }
};

template <>
struct OsslDeleter<EVP_PKEY> {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
template <>
struct OsslDeleter<EVP_PKEY_CTX> {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
template <>
struct OsslDeleter<EVP_MD_CTX> {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
template <>
struct OsslDeleter<EVP_MD> {
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
};
// Big numbers may hold private scalars: always wipe.
template <>
struct OsslDeleter<BIGNUM> {
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
template <>
struct OsslDeleter<BN_CTX> {
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
};
template <>
struct OsslDeleter<EC_GROUP> {
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
};
template <>
struct OsslDeleter<EC_POINT> {
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
};
template <>
struct OsslDeleter<OSSL_PARAM_BLD> {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
// OSSL_PARAM_free wipes the secure block that holds BN_secure_new values pushed by the builder.
template <>
struct OsslDeleter<OSSL_PARAM> {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
// The PKCS#8 structure's free wipes the private-key octet string.
template <>
struct OsslDeleter<PKCS8_PRIV_KEY_INFO> {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const { PKCS8_PRIV_KEY_INFO_free(p); }
};

template <class T>
using OsslPtr = std::unique_ptr<T, OsslDeleter<T>>;

// Drains OpenSSL's thread-local error queue into a readable string (never secret data).
std::string DrainErrors();

}  // namespace scytale::crypto::internal

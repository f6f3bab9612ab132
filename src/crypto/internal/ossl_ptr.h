// OsslPtr<T>: a unique_ptr that frees an OpenSSL object with its own free function.
#pragma once

#include <openssl/evp.h>
#include <openssl/kdf.h>

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

template <class T>
using OsslPtr = std::unique_ptr<T, OsslDeleter<T>>;

// Drains OpenSSL's thread-local error queue into a readable string (never secret data).
std::string DrainErrors();

}  // namespace scytale::crypto::internal

// internal::PkeyHolder: the EVP_PKEY behind crypto::PublicKey and crypto::PrivateKey.
#pragma once

#include <openssl/evp.h>

#include <optional>
#include <span>

#include "crypto/asymmetric.h"
#include "crypto/internal/ossl_ptr.h"

namespace scytale::crypto::internal {

// Owns one EVP_PKEY, never modified after construction: OpenSSL 3 allows concurrent
// sign/verify/derive operations on a shared const key, each with its own EVP_PKEY_CTX.
struct PkeyHolder {
  OsslPtr<EVP_PKEY> pkey;
  // Computed once at construction; nullopt for keys outside KeyPairType (e.g. RSA-1024, P-224,
  // or EC keys with explicit curve parameters).
  std::optional<KeyPairType> type;
  // The DER SubjectPublicKeyInfo, encoded once at construction (OpenSSL 3.0's encoder costs
  // ~100 us a call); empty only if encoding failed.
  Bytes spki;
};

// RSAES-OAEP decryption with a label, for the Wycheproof vectors that carry one. Scytale itself
// always uses the empty label (crypto::RsaOaepDecrypt).
Result<SecretBytes> RsaOaepDecryptWithLabel(const PrivateKey& key, HashAlgorithm hash,
                                            std::span<const uint8_t> label,
                                            std::span<const uint8_t> ciphertext);

}  // namespace scytale::crypto::internal

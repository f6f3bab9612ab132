// The key specs Scytale offers, the key usages each allows, and the algorithms each usage
// brings (KeyMetadata's EncryptionAlgorithms, SigningAlgorithms, MacAlgorithms,
// KeyAgreementAlgorithms), as AWS KMS documents them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/asymmetric.h"
#include "crypto/crypto.h"

namespace scytale::kms::internal {

struct KeySpecInfo {
  std::string_view spec;
  std::vector<std::string_view> usages;  // the KeyUsage values CreateKey accepts
  std::optional<crypto::KeyPairType> pair;  // asymmetric specs
  size_t hmac_key_bytes = 0;                // HMAC specs
};

// nullopt for a spec AWS has that Scytale does not offer (ML_DSA_*: OpenSSL 3.0 has no ML-DSA).
const KeySpecInfo* FindKeySpec(std::string_view spec);

// Checks spec × usage for CreateKey: kUnsupportedOperation for a spec not offered, kValidation
// for a usage the spec does not allow.
Status CheckSpecAndUsage(std::string_view spec, std::string_view usage);

// Fresh key material for a key of this spec: 32 random bytes (SYMMETRIC_DEFAULT), the HMAC key
// length of the spec in random bytes, or a new key pair's private key as PKCS#8 DER.
Result<crypto::SecretBytes> NewKeyMaterial(std::string_view spec);

std::vector<std::string> EncryptionAlgorithmsOf(std::string_view spec, std::string_view usage);
std::vector<std::string> SigningAlgorithmsOf(std::string_view spec, std::string_view usage);
std::vector<std::string> MacAlgorithmsOf(std::string_view spec, std::string_view usage);
std::vector<std::string> KeyAgreementAlgorithmsOf(std::string_view spec, std::string_view usage);

struct SigningAlgorithm {
  crypto::SignatureScheme scheme;
  crypto::HashAlgorithm hash;
};
std::optional<SigningAlgorithm> FindSigningAlgorithm(std::string_view name);
// HMAC_SHA_256 → kSha256.
std::optional<crypto::HashAlgorithm> FindMacAlgorithm(std::string_view name);
// RSAES_OAEP_SHA_1 → kSha1, RSAES_OAEP_SHA_256 → kSha256.
std::optional<crypto::HashAlgorithm> FindOaepAlgorithm(std::string_view name);

}  // namespace scytale::kms::internal

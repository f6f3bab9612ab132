#include "kms/internal/key_spec.h"

#include <algorithm>
#include <array>

namespace scytale::kms::internal {
namespace {

using crypto::HashAlgorithm;
using crypto::KeyPairType;
using crypto::SignatureScheme;

constexpr std::string_view kEncryptDecrypt = "ENCRYPT_DECRYPT";
constexpr std::string_view kSignVerify = "SIGN_VERIFY";
constexpr std::string_view kMac = "GENERATE_VERIFY_MAC";
constexpr std::string_view kKeyAgreement = "KEY_AGREEMENT";

const std::vector<KeySpecInfo>& Specs() {
  static const std::vector<KeySpecInfo> specs = {
      {"SYMMETRIC_DEFAULT", {kEncryptDecrypt}, std::nullopt, 0},
      {"RSA_2048", {kEncryptDecrypt, kSignVerify}, KeyPairType::kRsa2048, 0},
      {"RSA_3072", {kEncryptDecrypt, kSignVerify}, KeyPairType::kRsa3072, 0},
      {"RSA_4096", {kEncryptDecrypt, kSignVerify}, KeyPairType::kRsa4096, 0},
      {"ECC_NIST_P256", {kSignVerify, kKeyAgreement}, KeyPairType::kEcP256, 0},
      {"ECC_NIST_P384", {kSignVerify, kKeyAgreement}, KeyPairType::kEcP384, 0},
      {"ECC_NIST_P521", {kSignVerify, kKeyAgreement}, KeyPairType::kEcP521, 0},
      {"ECC_SECG_P256K1", {kSignVerify}, KeyPairType::kEcSecp256k1, 0},
      {"ECC_NIST_EDWARDS25519", {kSignVerify}, KeyPairType::kEd25519, 0},
      {"SM2", {kEncryptDecrypt, kSignVerify, kKeyAgreement}, KeyPairType::kSm2, 0},
      {"HMAC_224", {kMac}, std::nullopt, 28},
      {"HMAC_256", {kMac}, std::nullopt, 32},
      {"HMAC_384", {kMac}, std::nullopt, 48},
      {"HMAC_512", {kMac}, std::nullopt, 64},
  };
  return specs;
}

bool IsRsa(std::string_view spec) { return spec.starts_with("RSA_"); }

}  // namespace

const KeySpecInfo* FindKeySpec(std::string_view spec) {
  for (const auto& info : Specs()) {
    if (info.spec == spec) {
      return &info;
    }
  }
  return nullptr;
}

Status CheckSpecAndUsage(std::string_view spec, std::string_view usage) {
  const KeySpecInfo* info = FindKeySpec(spec);
  if (info == nullptr) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "KeySpec " + std::string(spec) + " is not supported by this server.");
  }
  if (spec == "SM2" && usage != kSignVerify) {
    // SM2PKE encryption and SM2 key agreement are not in OpenSSL 3.0's EVP interfaces as AWS
    // uses them; SM2 signatures are.
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "KeySpec SM2 with KeyUsage " + std::string(usage) +
                         " is not supported by this server.");
  }
  if (std::find(info->usages.begin(), info->usages.end(), usage) == info->usages.end()) {
    return MakeError(ErrorCode::kValidation, "KeyUsage " + std::string(usage) +
                                                 " is not compatible with KeySpec " +
                                                 std::string(spec) + ".");
  }
  return Ok();
}

Result<crypto::SecretBytes> NewKeyMaterial(std::string_view spec) {
  const KeySpecInfo* info = FindKeySpec(spec);
  if (info == nullptr) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "KeySpec " + std::string(spec) + " is not supported by this server.");
  }
  if (info->pair) {
    SCY_ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::Generate(*info->pair));
    return key.ToPkcs8();
  }
  return crypto::RandomSecret(info->hmac_key_bytes != 0 ? info->hmac_key_bytes : 32);
}

std::vector<std::string> EncryptionAlgorithmsOf(std::string_view spec, std::string_view usage) {
  if (usage != kEncryptDecrypt) {
    return {};
  }
  if (spec == "SYMMETRIC_DEFAULT") {
    return {"SYMMETRIC_DEFAULT"};
  }
  if (IsRsa(spec)) {
    return {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
  }
  return {};
}

std::vector<std::string> SigningAlgorithmsOf(std::string_view spec, std::string_view usage) {
  if (usage != kSignVerify) {
    return {};
  }
  if (IsRsa(spec)) {
    return {"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",        "RSASSA_PSS_SHA_512"};
  }
  if (spec == "ECC_NIST_P256" || spec == "ECC_SECG_P256K1") {
    return {"ECDSA_SHA_256"};
  }
  if (spec == "ECC_NIST_P384") {
    return {"ECDSA_SHA_384"};
  }
  if (spec == "ECC_NIST_P521") {
    return {"ECDSA_SHA_512"};
  }
  if (spec == "ECC_NIST_EDWARDS25519") {
    // ED25519_PH_SHA_512 (Ed25519ph) needs OpenSSL 3.2; Debian 12 has 3.0.
    return {"ED25519_SHA_512"};
  }
  if (spec == "SM2") {
    return {"SM2DSA"};
  }
  return {};
}

std::vector<std::string> MacAlgorithmsOf(std::string_view spec, std::string_view usage) {
  if (usage != kMac || !spec.starts_with("HMAC_")) {
    return {};
  }
  return {"HMAC_SHA_" + std::string(spec.substr(5))};
}

std::vector<std::string> KeyAgreementAlgorithmsOf(std::string_view spec,
                                                  std::string_view usage) {
  if (usage != kKeyAgreement || spec.starts_with("RSA_") || spec.starts_with("HMAC_")) {
    return {};
  }
  return {"ECDH"};
}

std::optional<SigningAlgorithm> FindSigningAlgorithm(std::string_view name) {
  struct Entry {
    std::string_view name;
    SigningAlgorithm algorithm;
  };
  static constexpr std::array<Entry, 11> kTable = {{
      {"RSASSA_PSS_SHA_256", {SignatureScheme::kRsaPss, HashAlgorithm::kSha256}},
      {"RSASSA_PSS_SHA_384", {SignatureScheme::kRsaPss, HashAlgorithm::kSha384}},
      {"RSASSA_PSS_SHA_512", {SignatureScheme::kRsaPss, HashAlgorithm::kSha512}},
      {"RSASSA_PKCS1_V1_5_SHA_256", {SignatureScheme::kRsaPkcs1v15, HashAlgorithm::kSha256}},
      {"RSASSA_PKCS1_V1_5_SHA_384", {SignatureScheme::kRsaPkcs1v15, HashAlgorithm::kSha384}},
      {"RSASSA_PKCS1_V1_5_SHA_512", {SignatureScheme::kRsaPkcs1v15, HashAlgorithm::kSha512}},
      {"ECDSA_SHA_256", {SignatureScheme::kEcdsa, HashAlgorithm::kSha256}},
      {"ECDSA_SHA_384", {SignatureScheme::kEcdsa, HashAlgorithm::kSha384}},
      {"ECDSA_SHA_512", {SignatureScheme::kEcdsa, HashAlgorithm::kSha512}},
      {"ED25519_SHA_512", {SignatureScheme::kEd25519, HashAlgorithm::kSha512}},
      {"SM2DSA", {SignatureScheme::kSm2, HashAlgorithm::kSm3}},
  }};
  for (const auto& e : kTable) {
    if (e.name == name) {
      return e.algorithm;
    }
  }
  return std::nullopt;
}

std::optional<crypto::HashAlgorithm> FindMacAlgorithm(std::string_view name) {
  if (name == "HMAC_SHA_224") return HashAlgorithm::kSha224;
  if (name == "HMAC_SHA_256") return HashAlgorithm::kSha256;
  if (name == "HMAC_SHA_384") return HashAlgorithm::kSha384;
  if (name == "HMAC_SHA_512") return HashAlgorithm::kSha512;
  return std::nullopt;
}

std::optional<crypto::HashAlgorithm> FindOaepAlgorithm(std::string_view name) {
  if (name == "RSAES_OAEP_SHA_1") return HashAlgorithm::kSha1;
  if (name == "RSAES_OAEP_SHA_256") return HashAlgorithm::kSha256;
  return std::nullopt;
}

}  // namespace scytale::kms::internal

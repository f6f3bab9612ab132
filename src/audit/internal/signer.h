// The audit signing key: Ed25519 through OpenSSL 3 EVP. The private key is stored only wrapped
// by the root keystore; the public key (PEM) is written beside the logs so that anyone can
// check digests without the root.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "audit/audit.h"
#include "common/encoding.h"
#include "common/result.h"
#include "keystore/keystore.h"

namespace scytale::audit::internal {

class Signer {
 public:
  // Unwraps the key in `path`, or creates one (and writes it wrapped) when `path` is absent.
  // kInvalidState when the file exists but does not unwrap under `root`.
  static Result<std::unique_ptr<Signer>> LoadOrCreate(const std::filesystem::path& path,
                                                      keystore::RootKeystore* root, Env* env);
  virtual ~Signer() = default;
  // An Ed25519 signature (64 bytes) over `data`. Thread-safe.
  virtual Result<Bytes> Sign(std::span<const uint8_t> data) const = 0;
  // SubjectPublicKeyInfo PEM.
  virtual const std::string& PublicKeyPem() const = 0;
};

// Ok when `signature` is a valid Ed25519 signature of `data` under the PEM public key;
// kInvalidSignature when not, kValidation when the PEM is not an Ed25519 public key.
Status VerifySignature(std::string_view public_key_pem, std::span<const uint8_t> data,
                       std::span<const uint8_t> signature);

// Lowercase hex SHA-256.
std::string Sha256Hex(std::string_view data);

}  // namespace scytale::audit::internal

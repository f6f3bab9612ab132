// keystore/: the root of trust. The root key wraps every backing key version and every stored
// secret; it never leaves the keystore. Backends: `soft` (a sealed file in the data directory)
// and later `pkcs11` (a non-extractable key inside an HSM token, where wrap/unwrap run inside
// the token). Both answer the same interface.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/encoding.h"
#include "common/result.h"
#include "crypto/crypto.h"

namespace scytale::keystore {

class RootKeystore {
 public:
  virtual ~RootKeystore() = default;

  // Encrypts `plaintext` under the root key, bound to `aad` (e.g. a key ARN and version id, so
  // a wrapped row cannot be moved to another key). Thread-safe.
  virtual Result<Bytes> Wrap(const crypto::SecretBytes& plaintext,
                             std::span<const uint8_t> aad) = 0;
  // Reverses Wrap. kInvalidCiphertext when `wrapped` was not made by this root with this `aad`.
  // Thread-safe.
  virtual Result<crypto::SecretBytes> Unwrap(std::span<const uint8_t> wrapped,
                                             std::span<const uint8_t> aad) = 0;
  // A short description for logs ("soft:/path/root.key (sealed)"); never secret.
  virtual std::string Describe() const = 0;
};

struct SoftOptions {
  std::filesystem::path path;  // the root key file; created (0600) on first open
  // When set, the root key is sealed with a key derived from it by scrypt; the file can be
  // opened only with the same passphrase. When unset, the file holds the key in the clear
  // (protected by file permissions only).
  std::optional<std::string> passphrase;
  crypto::ScryptParams scrypt;  // only used when the file is created
};

// Opens (or creates) the soft root key. The key lives in locked, non-dumpable memory when
// crypto::InitLockedMemory succeeded. Errors: kInvalidState for a wrong passphrase, a sealed
// file without a passphrase or a corrupt file; kInternal for I/O failures.
Result<std::unique_ptr<RootKeystore>> OpenSoftKeystore(const SoftOptions& options);

}  // namespace scytale::keystore

// keystore/: the root of trust. The root key wraps every backing key version and every stored
// secret; it never leaves the keystore. Backends: `soft` (a sealed file in the data directory)
// and `pkcs11` (a non-extractable key inside an HSM token, where wrap/unwrap run inside the
// token). Both answer the same interface.
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

// The pkcs11 root: a non-extractable, sensitive AES-256 secret key object inside a PKCS#11 token
// (an HSM, or SoftHSM2 in tests), found by its CKA_LABEL. Wrap and unwrap run inside the token
// (CKM_AES_GCM, 12-byte IV from crypto::RandomBytes, the aad as GCM's AAD, 128-bit tag); the key
// value never enters this process. Wrapped blobs:
//
//   +------+---------+----------------------------------------------+
//   | 0x02 | iv 12 B | AES-256-GCM(root, plaintext, aad) || tag 16 B |
//   +------+---------+----------------------------------------------+
//
// (0x01 is the soft root's format, so a blob says which kind of root made it.)
struct Pkcs11Options {
  std::filesystem::path module;  // the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;       // CK_TOKEN_INFO.label of the token (trailing blanks ignored)
  std::string key_label;         // CKA_LABEL of the root key object
  // The token user's PIN. Comes from SCYTALE_PKCS11_PIN or a 0600 file (ReadPkcs11Pin), never
  // from a command-line flag, where every user of the machine could read it in /proc.
  crypto::SecretBytes pin;
  // Logged-in sessions kept open; a PKCS#11 session runs one operation at a time, so this bounds
  // the number of concurrent wraps/unwraps.
  int session_pool_size = 8;
};

// The PIN from the 0600 file `pin_file` when given (one trailing newline is dropped), else from
// the environment variable SCYTALE_PKCS11_PIN. kInvalidState when neither is set, the file is
// readable by group or others, or it is empty. Messages never contain the PIN.
Result<crypto::SecretBytes> ReadPkcs11Pin(const std::optional<std::filesystem::path>& pin_file);

// Loads the module (dlopen), finds the token by label, logs in with the PIN and finds the root key
// by label. kInvalidState when an option is missing. Otherwise kInternal, with a message that
// names what is wrong and never contains the PIN: the
// module cannot be loaded or initialized, no token has that label, the PIN is wrong or locked, no
// AES key (or more than one) has that label, or the key is extractable or not sensitive.
// The keystore is thread-safe; it closes its sessions (and finalizes the module once no keystore
// of this process uses it) when destroyed.
Result<std::unique_ptr<RootKeystore>> OpenPkcs11Keystore(const Pkcs11Options& options);

// `scytale init --keystore pkcs11`: generates the root key inside the token (CKM_AES_KEY_GEN,
// 32 bytes, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_ENCRYPT and
// CKA_DECRYPT only). kAlreadyExists when a key with that label exists (it is never replaced);
// other errors as OpenPkcs11Keystore.
Status CreatePkcs11RootKey(const Pkcs11Options& options);

// Keys inside a PKCS#11 token, for custom key stores (AWS_CLOUDHSM type): each KMS key of such a
// store is one non-extractable, sensitive AES-256 secret key object in the token, found by its
// CKA_LABEL (the KMS key id). Encryption and decryption run inside the token (CKM_AES_GCM); the
// key values never enter this process. Shares module loading and the session pool with the
// pkcs11 root keystore. Thread-safe; closing (destroying) it closes its sessions, which logs the
// application out of the token once no other session of the process is open there.
class TokenKeys {
 public:
  virtual ~TokenKeys() = default;

  // Generates a new key object labelled `label` (CKM_AES_KEY_GEN, 32 bytes, CKA_TOKEN,
  // CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_ENCRYPT and CKA_DECRYPT only).
  // kAlreadyExists when the token already holds a secret key with that label.
  virtual Status GenerateKey(const std::string& label) = 0;
  // AES-256-GCM inside the token under the key labelled `label`, with the 12-byte `iv` and
  // `aad`: returns ciphertext || 16-byte tag. kKeyUnavailable when no key has that label.
  virtual Result<Bytes> Encrypt(const std::string& label, std::span<const uint8_t> iv,
                                std::span<const uint8_t> aad,
                                std::span<const uint8_t> plaintext) = 0;
  // Reverses Encrypt. kInvalidCiphertext when the tag fails (another key, iv or aad, or
  // tampering); kKeyUnavailable when no key has that label.
  virtual Result<crypto::SecretBytes> Decrypt(const std::string& label,
                                              std::span<const uint8_t> iv,
                                              std::span<const uint8_t> aad,
                                              std::span<const uint8_t> ciphertext_and_tag) = 0;
  // `size` bytes from the token's random number generator (C_GenerateRandom).
  virtual Result<crypto::SecretBytes> GenerateRandom(size_t size) = 0;
  // Destroys every secret key object labelled `label`. kNotFound when there is none.
  virtual Status DestroyKey(const std::string& label) = 0;
  // "pkcs11:<token label>" for logs; never secret.
  virtual std::string Describe() const = 0;
};

struct Pkcs11TokenOptions {
  std::filesystem::path module;
  std::string token_label;
  crypto::SecretBytes pin;  // the token user's PIN
  int session_pool_size = 4;
};

// Why a token could not be opened, so that a custom key store can report AWS's
// ConnectionErrorCode (ModuleUnavailable: NETWORK_ERRORS, TokenNotFound: CLUSTER_NOT_FOUND,
// PinIncorrect: INVALID_CREDENTIALS, PinLocked: USER_LOCKED_OUT, UserPinNotInitialized:
// USER_NOT_FOUND, Other: INTERNAL_ERROR).
enum class TokenFailure {
  kNone,
  kModuleUnavailable,
  kTokenNotFound,
  kPinIncorrect,
  kPinLocked,
  kUserPinNotInitialized,
  kOther,
};

// Loads the module, finds the token by label and logs in (read-write sessions). Errors are
// kInternal with a message that never contains the PIN; `out_failure`, when given, says which
// step failed (kNone on success).
Result<std::unique_ptr<TokenKeys>> OpenPkcs11TokenKeys(const Pkcs11TokenOptions& options,
                                                       TokenFailure* out_failure = nullptr);

}  // namespace scytale::keystore

// crypto/: RAII over OpenSSL 3. No primitive is written here; every one is OpenSSL's.
// All functions are thread-safe. Secrets come in and go out as SecretBytes.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/result.h"

namespace scytale::crypto {

// A token whose only purpose is to make every read of secret bytes greppable.
class KeyAccess {
 public:
  static KeyAccess Grant() { return KeyAccess(); }

 private:
  KeyAccess() = default;
};

// Move-only bytes that are wiped (OPENSSL_cleanse) when freed. Locked secrets live in
// OpenSSL's secure heap (mlocked, excluded from core dumps) when it was initialised; the root
// key uses that. == compares in constant time; operator<< prints "[redacted]".
class SecretBytes {
 public:
  enum class Memory { kOrdinary, kLocked };

  SecretBytes() = default;
  explicit SecretBytes(size_t size, Memory memory = Memory::kOrdinary);
  SecretBytes(std::span<const uint8_t> data, Memory memory = Memory::kOrdinary);
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  SecretBytes Clone() const;
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> Reveal(KeyAccess) const { return {data_, size_}; }
  std::span<uint8_t> MutableReveal(KeyAccess) { return {data_, size_}; }

  friend bool operator==(const SecretBytes& a, const SecretBytes& b);
  friend std::ostream& operator<<(std::ostream& os, const SecretBytes&) {
    return os << "[redacted]";
  }

 private:
  void Release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  Memory memory_ = Memory::kOrdinary;
};

// Sets up OpenSSL's secure heap for Memory::kLocked. Returns false (and SecretBytes falls back
// to ordinary memory) when the process may not lock that much memory.
bool InitLockedMemory(size_t bytes);

// The reasons OpenSSL has queued on this thread ("error:0480006C:PEM routines::no start line"),
// oldest first and joined by "; ", for the message of an error; empties the queue.
std::string DrainOpenSslErrors();

// Constant-time comparison of equal-length buffers; false when lengths differ.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

// CSPRNG (RAND_priv_bytes for secrets, RAND_bytes for public values such as ids and IVs).
Result<SecretBytes> RandomSecret(size_t size);
Result<Bytes> RandomBytes(size_t size);

// SHA-256 of data.
std::array<uint8_t, 32> Sha256(std::span<const uint8_t> data);
// HMAC-SHA256(key, data).
std::array<uint8_t, 32> HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

// AES-GCM with a 16-byte tag. Scytale uses 32-byte keys and 12-byte IVs (kAesGcmIvSize); the
// other AES key sizes and IV lengths are accepted so that every Wycheproof vector runs.
// Seal returns ciphertext || tag. Open takes ciphertext || tag and returns the plaintext, or
// kInvalidCiphertext (never partial output) when the tag does not verify.
inline constexpr size_t kAesGcmIvSize = 12;
inline constexpr size_t kAesGcmTagSize = 16;
Result<Bytes> AesGcmSeal(const SecretBytes& key, std::span<const uint8_t> iv,
                         std::span<const uint8_t> plaintext, std::span<const uint8_t> aad);
Result<SecretBytes> AesGcmOpen(const SecretBytes& key, std::span<const uint8_t> iv,
                               std::span<const uint8_t> ciphertext_and_tag,
                               std::span<const uint8_t> aad);

// AES key wrap with padding (RFC 5649; PKCS#11's CKM_AES_KEY_WRAP_KWP, OpenSSL's
// id-aes*-wrap-pad) under a 16-, 24- or 32-byte key-encryption key: how key material arrives
// for import with the RSA_AES_KEY_WRAP_* algorithms. Unwrap returns kInvalidCiphertext (never
// partial output) when the integrity check fails.
Result<Bytes> AesKeyWrapPad(const SecretBytes& kek, const SecretBytes& plaintext);
Result<SecretBytes> AesKeyUnwrapPad(const SecretBytes& kek, std::span<const uint8_t> wrapped);

// HKDF-SHA256 (RFC 5869), extract-and-expand.
Result<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::span<const uint8_t> salt,
                               std::span<const uint8_t> info, size_t out_len);

// The DER encoding of the one X.509 certificate in PEM text (a CloudHSM trust anchor, compared
// by value). kValidation when `pem` holds no parsable certificate.
Result<Bytes> CertificatePemToDer(std::string_view pem);

// scrypt (RFC 7914) for turning a passphrase into a key-encryption key.
struct ScryptParams {
  uint64_t n = 1 << 15;
  uint64_t r = 8;
  uint64_t p = 1;
};
Result<SecretBytes> Scrypt(std::string_view passphrase, std::span<const uint8_t> salt,
                           const ScryptParams& params, size_t out_len);

}  // namespace scytale::crypto

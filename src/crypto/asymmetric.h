// crypto/asymmetric.h: public-key cryptography and HMAC over OpenSSL 3 EVP, for asymmetric and
// HMAC KMS keys. Key pairs as AWS KMS offers them (RSA 2048/3072/4096, NIST P-256/384/521,
// secp256k1, Ed25519, SM2), signatures in AWS's encodings (DER for ECDSA and SM2, raw 64 bytes
// for Ed25519), RSA-OAEP, ECDH and HMAC-SHA-2. No primitive is written here.
//
// Private keys travel as PKCS#8 DER in SecretBytes; public keys as DER SubjectPublicKeyInfo.
// All functions are thread-safe; PrivateKey and PublicKey are immutable after construction.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "common/encoding.h"
#include "common/result.h"
#include "crypto/crypto.h"

namespace scytale::crypto {

enum class KeyPairType {
  kRsa2048,
  kRsa3072,
  kRsa4096,
  kEcP256,
  kEcP384,
  kEcP521,
  kEcSecp256k1,
  kEd25519,
  kSm2,
};

// "RSA_2048", ... as the KMS KeySpec / DataKeyPairSpec names them; nullopt for other names.
std::optional<KeyPairType> KeyPairTypeFromSpec(std::string_view spec);

namespace internal {
struct PkeyHolder;
}  // namespace internal

class PublicKey {
 public:
  // DER SubjectPublicKeyInfo. kValidation when it does not parse.
  static Result<PublicKey> FromDer(std::span<const uint8_t> spki);
  // A raw 32-byte Ed25519 public key (tests: Wycheproof gives them so).
  static Result<PublicKey> FromRawEd25519(std::span<const uint8_t> raw);
  // The type of the key, when it is one of KeyPairType (nullopt for, e.g., a P-224 key).
  std::optional<KeyPairType> type() const;
  Result<Bytes> ToDer() const;
  const internal::PkeyHolder& holder() const { return *pkey_; }

 private:
  explicit PublicKey(std::shared_ptr<const internal::PkeyHolder> pkey) : pkey_(std::move(pkey)) {}
  std::shared_ptr<const internal::PkeyHolder> pkey_;
  friend class PrivateKey;
};

class PrivateKey {
 public:
  static Result<PrivateKey> Generate(KeyPairType type);
  // PKCS#8 DER (PrivateKeyInfo). kValidation when it does not parse.
  static Result<PrivateKey> FromPkcs8(const SecretBytes& der);
  // An EC private key from its scalar (big-endian) on the curve of `type` (tests: Wycheproof's
  // ECDH vectors give them so).
  static Result<PrivateKey> FromEcScalar(KeyPairType type, std::span<const uint8_t> scalar);
  KeyPairType type() const { return type_; }
  Result<SecretBytes> ToPkcs8() const;
  PublicKey Public() const;
  const internal::PkeyHolder& holder() const { return *pkey_; }

 private:
  PrivateKey(std::shared_ptr<const internal::PkeyHolder> pkey, KeyPairType type)
      : pkey_(std::move(pkey)), type_(type) {}
  std::shared_ptr<const internal::PkeyHolder> pkey_;
  KeyPairType type_;
};

enum class HashAlgorithm { kSha1, kSha224, kSha256, kSha384, kSha512, kSm3 };
// Digest length in bytes.
size_t DigestSize(HashAlgorithm hash);
Result<Bytes> Digest(HashAlgorithm hash, std::span<const uint8_t> data);

enum class SignatureScheme {
  kRsaPss,        // salt length = digest length, MGF1 with the same hash
  kRsaPkcs1v15,
  kEcdsa,         // DER-encoded (r, s)
  kEd25519,       // pure Ed25519 over the message (hash must be kSha512; no DIGEST input)
  kSm2,           // SM2DSA with the default distinguishing id, DER-encoded (hash kSm3)
};

// Signs `data`: the message itself (is_digest false; hashed with `hash` first, except for
// Ed25519) or its digest already computed with `hash` (is_digest true; never hashed again; its
// length must be DigestSize(hash), else kValidation). kValidation when the scheme does not fit
// the key.
Result<Bytes> Sign(const PrivateKey& key, SignatureScheme scheme, HashAlgorithm hash,
                   std::span<const uint8_t> data, bool is_digest);
// The same inputs; true when `signature` is valid. Malformed signatures are simply invalid
// (false), never an error; errors are for keys and schemes that do not fit.
Result<bool> Verify(const PublicKey& key, SignatureScheme scheme, HashAlgorithm hash,
                    std::span<const uint8_t> data, bool is_digest,
                    std::span<const uint8_t> signature);

// RSAES-OAEP with MGF1 over the same hash (kSha1 or kSha256), empty label.
// Encrypt: kValidation when the plaintext is too long for the key.
Result<Bytes> RsaOaepEncrypt(const PublicKey& key, HashAlgorithm hash,
                             std::span<const uint8_t> plaintext);
// kInvalidCiphertext when decryption fails (no detail about why).
Result<SecretBytes> RsaOaepDecrypt(const PrivateKey& key, HashAlgorithm hash,
                                   std::span<const uint8_t> ciphertext);
// The largest plaintext RsaOaepEncrypt takes for this key and hash.
size_t RsaOaepMaxPlaintext(const PublicKey& key, HashAlgorithm hash);

// ECDH: the raw shared secret (x coordinate). kValidation when the peer key is not on the same
// curve or is invalid.
Result<SecretBytes> Ecdh(const PrivateKey& key, const PublicKey& peer);

// HMAC with SHA-224/256/384/512 (any key length).
Result<Bytes> Hmac(HashAlgorithm hash, const SecretBytes& key, std::span<const uint8_t> data);
// Constant-time check of a tag of the full length.
Result<bool> HmacVerify(HashAlgorithm hash, const SecretBytes& key,
                        std::span<const uint8_t> data, std::span<const uint8_t> tag);

}  // namespace scytale::crypto

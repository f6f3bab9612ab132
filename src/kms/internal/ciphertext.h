// The symmetric ciphertext blob: self-describing, versioned, bound to its key and context.
//
//   +------+--------+-------------+------------+--------+--------+-------------+--------+
//   | 0x01 | arnlen | key ARN     | version id | salt   | IV     | ciphertext  | tag    |
//   | 1 B  | 1 B    | arnlen B    | 32 B       | 16 B   | 12 B   | n B         | 16 B   |
//   +------+--------+-------------+------------+--------+--------+-------------+--------+
//   |<------------------------- header ------------------------>|
//
// - key ARN: arn:aws:kms:<region>:<account>:key/<id>, ASCII, so Decrypt needs no KeyId and a
//   blob from another account or region is recognised as such.
// - version id: the backing key version (its 64-hex id, as 32 raw bytes).
// - message key = HKDF-SHA256(ikm = backing key, salt, info = "scytale/v1/message-key"), so
//   one backing key never encrypts unbounded data directly.
// - AES-256-GCM(message key, IV) over the plaintext, with AAD = header || canonical context.
// - canonical context: u16 count, then for each pair in byte-wise order of keys:
//   u16 key length, key, u16 value length, value (big-endian, UTF-8, case-sensitive).
//
// Any bit flip anywhere, another context, or another key's material fails the tag.
//
// A key in a custom key store has the same blob, but its AEAD runs inside the store's PKCS#11
// token: AES-256-GCM under the token's key object itself, with the same IV and AAD. The salt is
// still random and authenticated, but derives nothing (a token cannot be relied on to derive
// keys), so such a key follows GCM's limit of 2^32 random-IV messages per key (NIST SP 800-38D).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>

#include "common/encoding.h"
#include "common/result.h"
#include "crypto/crypto.h"

namespace scytale::kms::internal {

using EncryptionContext = std::map<std::string, std::string>;

inline constexpr uint8_t kBlobVersion = 1;
inline constexpr size_t kVersionIdSize = 32;
inline constexpr size_t kSaltSize = 16;

struct BlobHeader {
  std::string key_arn;
  std::string version_id;  // 64 lowercase hex characters
};

struct ParsedBlob {
  BlobHeader header;
  std::span<const uint8_t> header_bytes;
  std::span<const uint8_t> salt;
  std::span<const uint8_t> iv;
  std::span<const uint8_t> ciphertext_and_tag;
};

// The canonical encoding of an encryption context (see above).
Bytes CanonicalContext(const EncryptionContext& context);

// Encrypts under `backing_key`. kInternal only if the RNG or OpenSSL fails.
Result<Bytes> SealBlob(const BlobHeader& header, const crypto::SecretBytes& backing_key,
                       std::span<const uint8_t> plaintext, const EncryptionContext& context);

// The AEAD inside the framing, for material that cannot leave its token: returns
// ciphertext || tag of `plaintext` under `iv` and `aad` (salt: the blob's, for those that derive
// from it).
using BlobSealer = std::function<Result<Bytes>(
    std::span<const uint8_t> salt, std::span<const uint8_t> iv, std::span<const uint8_t> aad,
    std::span<const uint8_t> plaintext)>;
// Reverses a BlobSealer: kInvalidCiphertext when the tag fails.
using BlobOpener = std::function<Result<crypto::SecretBytes>(
    std::span<const uint8_t> salt, std::span<const uint8_t> iv, std::span<const uint8_t> aad,
    std::span<const uint8_t> ciphertext_and_tag)>;

// SealBlob and OpenBlob with the AEAD given (same header, salt, IV and AAD).
Result<Bytes> SealBlobWith(const BlobHeader& header, std::span<const uint8_t> plaintext,
                           const EncryptionContext& context, const BlobSealer& seal);
Result<crypto::SecretBytes> OpenBlobWith(const ParsedBlob& blob, const EncryptionContext& context,
                                         const BlobOpener& open);

// Splits a blob without decrypting it. kInvalidCiphertext for anything malformed. The spans
// point into `blob`.
Result<ParsedBlob> ParseBlob(std::span<const uint8_t> blob);

// Decrypts a parsed blob. kInvalidCiphertext when the tag fails (tampering, another context,
// another key); no partial plaintext is ever returned.
Result<crypto::SecretBytes> OpenBlob(const ParsedBlob& blob, const crypto::SecretBytes& backing_key,
                                     const EncryptionContext& context);

}  // namespace scytale::kms::internal

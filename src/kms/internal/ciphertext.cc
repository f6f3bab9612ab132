#include "kms/internal/ciphertext.h"

namespace scytale::kms::internal {
namespace {

constexpr std::string_view kMessageKeyInfo = "scytale/v1/message-key";
constexpr size_t kMaxArnSize = 255;

void PutU16(Bytes& out, size_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

Result<crypto::SecretBytes> MessageKey(const crypto::SecretBytes& backing_key,
                                       std::span<const uint8_t> salt) {
  return crypto::HkdfSha256(backing_key, salt, AsBytes(kMessageKeyInfo), 32);
}

Bytes Aad(std::span<const uint8_t> header, const EncryptionContext& context) {
  Bytes aad(header.begin(), header.end());
  Bytes canonical = CanonicalContext(context);
  aad.insert(aad.end(), canonical.begin(), canonical.end());
  return aad;
}

Error Invalid() { return MakeError(ErrorCode::kInvalidCiphertext, ""); }

}  // namespace

Bytes CanonicalContext(const EncryptionContext& context) {
  // std::map<std::string> orders keys byte-wise, which is the canonical order.
  Bytes out;
  PutU16(out, context.size());
  for (const auto& [k, v] : context) {
    PutU16(out, k.size());
    out.insert(out.end(), k.begin(), k.end());
    PutU16(out, v.size());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

Result<Bytes> SealBlobWith(const BlobHeader& header, std::span<const uint8_t> plaintext,
                           const EncryptionContext& context, const BlobSealer& seal) {
  auto version = HexDecode(header.version_id);
  if (header.key_arn.size() > kMaxArnSize || !version || version->size() != kVersionIdSize) {
    return MakeError(ErrorCode::kInternal, "key ARN or version id does not fit the blob");
  }
  Bytes blob;
  blob.reserve(2 + header.key_arn.size() + kVersionIdSize + kSaltSize + crypto::kAesGcmIvSize +
               plaintext.size() + crypto::kAesGcmTagSize);
  blob.push_back(kBlobVersion);
  blob.push_back(static_cast<uint8_t>(header.key_arn.size()));
  blob.insert(blob.end(), header.key_arn.begin(), header.key_arn.end());
  blob.insert(blob.end(), version->begin(), version->end());
  SCY_ASSIGN_OR_RETURN(Bytes salt_and_iv, crypto::RandomBytes(kSaltSize + crypto::kAesGcmIvSize));
  blob.insert(blob.end(), salt_and_iv.begin(), salt_and_iv.end());
  std::span<const uint8_t> salt = std::span(salt_and_iv).first(kSaltSize);
  std::span<const uint8_t> iv = std::span(salt_and_iv).subspan(kSaltSize);
  SCY_ASSIGN_OR_RETURN(Bytes sealed, seal(salt, iv, Aad(blob, context), plaintext));
  blob.insert(blob.end(), sealed.begin(), sealed.end());
  return blob;
}

Result<Bytes> SealBlob(const BlobHeader& header, const crypto::SecretBytes& backing_key,
                       std::span<const uint8_t> plaintext, const EncryptionContext& context) {
  return SealBlobWith(
      header, plaintext, context,
      [&](std::span<const uint8_t> salt, std::span<const uint8_t> iv,
          std::span<const uint8_t> aad, std::span<const uint8_t> pt) -> Result<Bytes> {
        SCY_ASSIGN_OR_RETURN(crypto::SecretBytes message_key, MessageKey(backing_key, salt));
        return crypto::AesGcmSeal(message_key, iv, pt, aad);
      });
}

Result<ParsedBlob> ParseBlob(std::span<const uint8_t> blob) {
  if (blob.size() < 2 || blob[0] != kBlobVersion) {
    return Invalid();
  }
  size_t arn_len = blob[1];
  size_t header_len = 2 + arn_len + kVersionIdSize + kSaltSize + crypto::kAesGcmIvSize;
  if (arn_len == 0 || blob.size() < header_len + crypto::kAesGcmTagSize) {
    return Invalid();
  }
  ParsedBlob out;
  out.header.key_arn = std::string(AsString(blob.subspan(2, arn_len)));
  for (char c : out.header.key_arn) {
    if (c < 0x21 || c > 0x7e) {
      return Invalid();
    }
  }
  out.header.version_id = HexEncode(blob.subspan(2 + arn_len, kVersionIdSize));
  out.header_bytes = blob.first(header_len);
  out.salt = blob.subspan(2 + arn_len + kVersionIdSize, kSaltSize);
  out.iv = blob.subspan(2 + arn_len + kVersionIdSize + kSaltSize, crypto::kAesGcmIvSize);
  out.ciphertext_and_tag = blob.subspan(header_len);
  return out;
}

Result<crypto::SecretBytes> OpenBlobWith(const ParsedBlob& blob, const EncryptionContext& context,
                                         const BlobOpener& open) {
  auto plaintext = open(blob.salt, blob.iv, Aad(blob.header_bytes, context), blob.ciphertext_and_tag);
  if (!plaintext && plaintext.error().code == ErrorCode::kInvalidCiphertext) {
    return Invalid();
  }
  return plaintext;
}

Result<crypto::SecretBytes> OpenBlob(const ParsedBlob& blob, const crypto::SecretBytes& backing_key,
                                     const EncryptionContext& context) {
  return OpenBlobWith(
      blob, context,
      [&](std::span<const uint8_t> salt, std::span<const uint8_t> iv,
          std::span<const uint8_t> aad,
          std::span<const uint8_t> sealed) -> Result<crypto::SecretBytes> {
        SCY_ASSIGN_OR_RETURN(crypto::SecretBytes message_key, MessageKey(backing_key, salt));
        auto plaintext = crypto::AesGcmOpen(message_key, iv, sealed, aad);
        if (!plaintext) {
          return Invalid();
        }
        return plaintext;
      });
}

}  // namespace scytale::kms::internal

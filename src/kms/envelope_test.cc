// Encrypt, Decrypt, ReEncrypt, data keys and random bytes through the service layer.
#include <gtest/gtest.h>

#include "kms/kms.h"
#include "kms/testing/service_fixture.h"

namespace scytale::kms {
namespace {

using crypto::KeyAccess;
using crypto::SecretBytes;

class EnvelopeTest : public testing::ServiceFixture {
 protected:
  EncryptResponse EncryptText(const std::string& key, std::string_view text,
                              EncryptionContext context = {}) {
    EncryptRequest req;
    req.key_id = key;
    req.plaintext = SecretBytes(AsBytes(text));
    req.context = std::move(context);
    auto r = service_->Encrypt(Ctx(), req);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return std::move(*r);
  }
  Result<DecryptResponse> DecryptBlob(const Bytes& blob, EncryptionContext context = {},
                                      std::optional<std::string> key_id = std::nullopt) {
    DecryptRequest req;
    req.ciphertext_blob = blob;
    req.context = std::move(context);
    req.key_id = std::move(key_id);
    return service_->Decrypt(Ctx(), req);
  }
};

TEST_F(EnvelopeTest, EncryptDecryptRoundTripsWithoutKeyId) {
  KeyMetadata key = NewKey();
  std::string text("with\0zeros", 10);
  auto enc = EncryptText(key.key_id, text, {{"purpose", "test"}});
  EXPECT_EQ(enc.key_arn, key.arn);
  EXPECT_EQ(enc.algorithm, "SYMMETRIC_DEFAULT");
  auto dec = DecryptBlob(enc.ciphertext_blob, {{"purpose", "test"}});
  ASSERT_TRUE(dec.has_value()) << dec.error().message;
  EXPECT_EQ(Text(dec->plaintext), text);
  EXPECT_EQ(dec->key_arn, key.arn);
  EXPECT_EQ(dec->key_material_id, key.current_key_material_id);
}

TEST_F(EnvelopeTest, TheSamePlaintextEncryptsDifferentlyEachTime) {
  KeyMetadata key = NewKey();
  EXPECT_NE(EncryptText(key.key_id, "x").ciphertext_blob,
            EncryptText(key.key_id, "x").ciphertext_blob);
}

TEST_F(EnvelopeTest, WrongMissingOrExtraContextIsInvalidCiphertext) {
  KeyMetadata key = NewKey();
  auto enc = EncryptText(key.key_id, "secret", {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(DecryptBlob(enc.ciphertext_blob).error().code, ErrorCode::kInvalidCiphertext);
  EXPECT_EQ(DecryptBlob(enc.ciphertext_blob, {{"a", "1"}}).error().code,
            ErrorCode::kInvalidCiphertext);
  EXPECT_EQ(DecryptBlob(enc.ciphertext_blob, {{"a", "1"}, {"b", "2"}, {"c", "3"}}).error().code,
            ErrorCode::kInvalidCiphertext);
  EXPECT_EQ(DecryptBlob(enc.ciphertext_blob, {{"A", "1"}, {"b", "2"}}).error().code,
            ErrorCode::kInvalidCiphertext);
  EXPECT_TRUE(DecryptBlob(enc.ciphertext_blob, {{"b", "2"}, {"a", "1"}}).has_value());
}

TEST_F(EnvelopeTest, EveryBitFlipAndEveryTruncationIsDetected) {
  KeyMetadata key = NewKey();
  auto enc = EncryptText(key.key_id, "secret");
  const Bytes& blob = enc.ciphertext_blob;
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      Bytes tampered = blob;
      tampered[i] ^= static_cast<uint8_t>(1 << bit);
      auto r = DecryptBlob(tampered);
      ASSERT_FALSE(r.has_value()) << "byte " << i;
      // A flip inside the key ARN may name a key that does not exist: AWS answers that with
      // AccessDenied; anything else must be InvalidCiphertext.
      EXPECT_TRUE(r.error().code == ErrorCode::kInvalidCiphertext ||
                  r.error().code == ErrorCode::kAccessDenied)
          << "byte " << i << ": " << r.error().message;
    }
  }
  for (size_t n = 0; n < blob.size(); ++n) {
    Bytes truncated(blob.begin(), blob.begin() + static_cast<long>(n));
    EXPECT_FALSE(DecryptBlob(truncated).has_value()) << n;
  }
}

TEST_F(EnvelopeTest, NamedKeyMustMatchTheBlob) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  auto enc = EncryptText(a.key_id, "secret");
  EXPECT_TRUE(DecryptBlob(enc.ciphertext_blob, {}, a.arn).has_value());
  EXPECT_EQ(DecryptBlob(enc.ciphertext_blob, {}, b.key_id).error().code,
            ErrorCode::kIncorrectKey);
  EXPECT_EQ(DecryptBlob(enc.ciphertext_blob, {}, "00000000-0000-4000-8000-000000000000")
                .error()
                .code,
            ErrorCode::kNotFound);
}

TEST_F(EnvelopeTest, BlobOfAnotherRegionOrAccountIsAccessDenied) {
  KeyMetadata key = NewKey();
  auto enc = EncryptText(key.key_id, "secret");
  DecryptRequest req;
  req.ciphertext_blob = enc.ciphertext_blob;
  EXPECT_EQ(service_->Decrypt(Ctx("eu-west-1"), req).error().code, ErrorCode::kAccessDenied);
  EXPECT_EQ(service_->Decrypt(Ctx("us-east-1", "999999999999"), req).error().code,
            ErrorCode::kAccessDenied);
}

TEST_F(EnvelopeTest, MaterialOfAnotherKeyCannotOpenTheBlob) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  auto enc = EncryptText(a.key_id, "secret");
  // Rewrite the blob's header to name key b (same length ARN): the tag must fail.
  Bytes forged = enc.ciphertext_blob;
  std::string from = a.arn;
  std::string to = b.arn;
  auto pos = std::search(forged.begin(), forged.end(), from.begin(), from.end());
  ASSERT_NE(pos, forged.end());
  std::copy(to.begin(), to.end(), pos);
  auto r = DecryptBlob(forged);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidCiphertext);
}

TEST_F(EnvelopeTest, ReEncryptMovesToAnotherKeyAndContext) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  auto enc = EncryptText(a.key_id, "payload", {{"k", "1"}});
  ReEncryptRequest req;
  req.ciphertext_blob = enc.ciphertext_blob;
  req.source_context = {{"k", "1"}};
  req.destination_key_id = b.arn;
  req.destination_context = {{"k", "2"}};
  auto re = service_->ReEncrypt(Ctx(), req);
  ASSERT_TRUE(re.has_value()) << re.error().message;
  EXPECT_EQ(re->source_key_arn, a.arn);
  EXPECT_EQ(re->key_arn, b.arn);
  auto dec = DecryptBlob(re->ciphertext_blob, {{"k", "2"}});
  ASSERT_TRUE(dec.has_value());
  EXPECT_EQ(Text(dec->plaintext), "payload");
  EXPECT_EQ(dec->key_arn, b.arn);
  req.source_context = {{"k", "wrong"}};
  EXPECT_EQ(service_->ReEncrypt(Ctx(), req).error().code, ErrorCode::kInvalidCiphertext);
}

TEST_F(EnvelopeTest, DataKeysHaveTheRequestedSizeAndDecryptBack) {
  KeyMetadata key = NewKey();
  for (auto [spec, bytes, size] : std::vector<std::tuple<std::optional<std::string>,
                                                         std::optional<int>, size_t>>{
           {"AES_128", std::nullopt, 16},
           {"AES_256", std::nullopt, 32},
           {std::nullopt, 1, 1},
           {std::nullopt, 1024, 1024}}) {
    GenerateDataKeyRequest req;
    req.key_id = key.key_id;
    req.key_spec = spec;
    req.number_of_bytes = bytes;
    req.context = {{"c", "d"}};
    auto dk = service_->GenerateDataKey(Ctx(), req);
    ASSERT_TRUE(dk.has_value()) << dk.error().message;
    EXPECT_EQ(dk->plaintext.size(), size);
    auto dec = DecryptBlob(dk->ciphertext_blob, {{"c", "d"}});
    ASSERT_TRUE(dec.has_value());
    EXPECT_TRUE(dec->plaintext == dk->plaintext);

    auto without = service_->GenerateDataKeyWithoutPlaintext(Ctx(), req);
    ASSERT_TRUE(without.has_value());
    EXPECT_TRUE(without->plaintext.empty());
    EXPECT_EQ(DecryptBlob(without->ciphertext_blob, {{"c", "d"}})->plaintext.size(), size);
  }
}

TEST_F(EnvelopeTest, DataKeyNeedsExactlyOneOfSpecAndLength) {
  KeyMetadata key = NewKey();
  GenerateDataKeyRequest neither;
  neither.key_id = key.key_id;
  EXPECT_EQ(service_->GenerateDataKey(Ctx(), neither).error().code, ErrorCode::kValidation);
  GenerateDataKeyRequest both = std::move(neither);
  both.key_spec = "AES_256";
  both.number_of_bytes = 32;
  EXPECT_EQ(service_->GenerateDataKey(Ctx(), both).error().code, ErrorCode::kValidation);
}

TEST_F(EnvelopeTest, DryRunAnswersDryRunOperationWhenTheCallWouldSucceed) {
  KeyMetadata key = NewKey();
  EncryptRequest enc;
  enc.key_id = key.key_id;
  enc.plaintext = SecretBytes(AsBytes("x"));
  enc.dry_run = true;
  EXPECT_EQ(service_->Encrypt(Ctx(), enc).error().code, ErrorCode::kDryRun);
  enc.key_id = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(service_->Encrypt(Ctx(), enc).error().code, ErrorCode::kNotFound);

  auto blob = EncryptText(key.key_id, "x").ciphertext_blob;
  DecryptRequest dec;
  dec.ciphertext_blob = blob;
  dec.dry_run = true;
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).error().code, ErrorCode::kDryRun);
  dec.context = {{"wrong", "context"}};
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).error().code, ErrorCode::kInvalidCiphertext);
  dec.dry_run_ignore_ciphertext = true;
  dec.key_id = key.key_id;
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).error().code, ErrorCode::kDryRun);
}

TEST_F(EnvelopeTest, AlgorithmOtherThanSymmetricDefaultIsInvalidKeyUsage) {
  KeyMetadata key = NewKey();
  EncryptRequest enc;
  enc.key_id = key.key_id;
  enc.plaintext = SecretBytes(AsBytes("x"));
  enc.algorithm = "RSAES_OAEP_SHA_256";
  EXPECT_EQ(service_->Encrypt(Ctx(), enc).error().code, ErrorCode::kInvalidKeyUsage);
}

TEST_F(EnvelopeTest, GenerateRandomReturnsFreshBytes) {
  GenerateRandomRequest req;
  req.number_of_bytes = 1024;
  auto a = service_->GenerateRandom(Ctx(), req);
  auto b = service_->GenerateRandom(Ctx(), req);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->size(), 1024u);
  EXPECT_FALSE(*a == *b);
  req.custom_key_store_id = "cks-1234567890abcdef0";  // no such store
  EXPECT_EQ(service_->GenerateRandom(Ctx(), req).error().code,
            ErrorCode::kCustomKeyStoreNotFound);
}

TEST_F(EnvelopeTest, CiphertextDecryptsAfterTheServiceRestarts) {
  KeyMetadata key = NewKey();
  auto enc = EncryptText(key.key_id, "durable");
  service_.reset();
  store_ = storage::OpenSqliteStore(dir_ / "db").value();
  keystore::SoftOptions o;
  o.path = dir_ / "root.key";
  root_ = keystore::OpenSoftKeystore(o).value();
  service_ = KeyService::Create(store_.get(), root_.get(), clock_);
  auto dec = DecryptBlob(enc.ciphertext_blob);
  ASSERT_TRUE(dec.has_value());
  EXPECT_EQ(Text(dec->plaintext), "durable");
}

}  // namespace
}  // namespace scytale::kms

// The load generator's answer checks (--verify): right answers pass, and each kind of wrong
// answer a server could give under load is caught.
#include "loadgen_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/encoding.h"
#include "crypto/asymmetric.h"
#include "crypto/crypto.h"

namespace scytale::loadgen {
namespace {

using json = nlohmann::json;
using testing::HasSubstr;

constexpr char kKeyId[] = "0b0b0b0b-1111-4222-8333-444455556666";
constexpr char kOtherKeyId[] = "0c0c0c0c-1111-4222-8333-444455556666";

std::string Arn(std::string_view id) {
  return "arn:aws:kms:us-east-1:111122223333:key/" + std::string(id);
}

Bytes Payload() { return Bytes{'p', 'a', 'y', 'l', 'o', 'a', 'd'}; }

Expectation ForKey(std::string_view id) {
  Expectation e;
  e.key_id = std::string(id);
  return e;
}

TEST(CheckAnswerTest, DecryptHoldsWhenKeyAndPlaintextAreTheOnesEncrypted) {
  Expectation e = ForKey(kKeyId);
  e.plaintext = Payload();
  const json answer = {{"KeyId", Arn(kKeyId)},
                       {"Plaintext", Base64Encode(Payload())},
                       {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  EXPECT_EQ(CheckAnswer("Decrypt", e, answer.dump(), nullptr), std::nullopt);
}

TEST(CheckAnswerTest, DecryptFailsOnAnotherPlaintextAnotherKeyOrABrokenBody) {
  Expectation e = ForKey(kKeyId);
  e.plaintext = Payload();
  const json other_plaintext = {{"KeyId", Arn(kKeyId)}, {"Plaintext", Base64Encode(Bytes{1, 2})}};
  EXPECT_THAT(CheckAnswer("Decrypt", e, other_plaintext.dump(), nullptr).value_or(""),
              HasSubstr("Plaintext is not what was encrypted"));
  const json other_key = {{"KeyId", Arn(kOtherKeyId)}, {"Plaintext", Base64Encode(Payload())}};
  EXPECT_THAT(CheckAnswer("Decrypt", e, other_key.dump(), nullptr).value_or(""),
              HasSubstr("KeyId"));
  const std::string truncated = other_key.dump().substr(0, 20);
  EXPECT_THAT(CheckAnswer("Decrypt", e, truncated, nullptr).value_or(""),
              HasSubstr("not a JSON object"));
  const json not_base64 = {{"KeyId", Arn(kKeyId)}, {"Plaintext", "%%%"}};
  EXPECT_THAT(CheckAnswer("Decrypt", e, not_base64.dump(), nullptr).value_or(""),
              HasSubstr("no base64 Plaintext"));
}

TEST(CheckAnswerTest, KeyIdOnlyMatchesTheWholeId) {
  Expectation e = ForKey("6666");  // a suffix of kKeyId, not its id
  const json answer = {{"KeyMetadata", {{"KeyId", kKeyId}, {"KeyState", "Enabled"}}}};
  EXPECT_NE(CheckAnswer("DescribeKey", e, answer.dump(), nullptr), std::nullopt);
  EXPECT_EQ(CheckAnswer("DescribeKey", ForKey(Arn(kKeyId)), answer.dump(), nullptr), std::nullopt);
}

TEST(CheckAnswerTest, EncryptKeepsASampleWhoseDecryptMustGiveThePayload) {
  Expectation e = ForKey(kKeyId);
  e.plaintext = Payload();
  const json answer = {{"KeyId", Arn(kKeyId)},
                       {"CiphertextBlob", Base64Encode(Bytes(Payload().size() + 60, 7))},
                       {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  std::optional<Sample> sample;
  ASSERT_EQ(CheckAnswer("Encrypt", e, answer.dump(), &sample), std::nullopt);
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(SampleOperation(*sample), "Decrypt");
  EXPECT_EQ(json::parse(SampleRequestBody(*sample))["CiphertextBlob"], answer["CiphertextBlob"]);

  const json decrypted = {{"KeyId", Arn(kKeyId)}, {"Plaintext", Base64Encode(Payload())}};
  EXPECT_EQ(CheckSampleAnswer(*sample, decrypted.dump()), std::nullopt);
  const json wrong = {{"KeyId", Arn(kKeyId)}, {"Plaintext", Base64Encode(Bytes{9})}};
  EXPECT_THAT(CheckSampleAnswer(*sample, wrong.dump()).value_or(""),
              HasSubstr("not what was encrypted"));
  const json wrong_key = {{"KeyId", Arn(kOtherKeyId)}, {"Plaintext", Base64Encode(Payload())}};
  EXPECT_NE(CheckSampleAnswer(*sample, wrong_key.dump()), std::nullopt);
}

TEST(CheckAnswerTest, EncryptFailsWithoutACiphertextLongerThanThePlaintext) {
  Expectation e = ForKey(kKeyId);
  e.plaintext = Payload();
  const json short_blob = {{"KeyId", Arn(kKeyId)},
                           {"CiphertextBlob", Base64Encode(Bytes{1, 2, 3})},
                           {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  EXPECT_NE(CheckAnswer("Encrypt", e, short_blob.dump(), nullptr), std::nullopt);
  const json no_blob = {{"KeyId", Arn(kKeyId)}, {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  EXPECT_NE(CheckAnswer("Encrypt", e, no_blob.dump(), nullptr), std::nullopt);
}

TEST(CheckAnswerTest, GenerateDataKeySampleHoldsOnlyTheDigestOfTheDataKey) {
  const Bytes data_key(32, 0x5a);
  const json answer = {{"KeyId", Arn(kKeyId)},
                       {"CiphertextBlob", Base64Encode(Bytes(200, 1))},
                       {"Plaintext", Base64Encode(data_key)}};
  std::optional<Sample> sample;
  ASSERT_EQ(CheckAnswer("GenerateDataKey", ForKey(kKeyId), answer.dump(), &sample), std::nullopt);
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(SampleRequestBody(*sample).find(Base64Encode(data_key)), std::string::npos);
  const json same = {{"KeyId", Arn(kKeyId)}, {"Plaintext", Base64Encode(data_key)}};
  EXPECT_EQ(CheckSampleAnswer(*sample, same.dump()), std::nullopt);
  const json other = {{"KeyId", Arn(kKeyId)}, {"Plaintext", Base64Encode(Bytes(32, 0x5b))}};
  EXPECT_NE(CheckSampleAnswer(*sample, other.dump()), std::nullopt);

  const json short_key = {{"KeyId", Arn(kKeyId)},
                          {"CiphertextBlob", Base64Encode(Bytes(200, 1))},
                          {"Plaintext", Base64Encode(Bytes(16, 1))}};
  EXPECT_THAT(
      CheckAnswer("GenerateDataKey", ForKey(kKeyId), short_key.dump(), nullptr).value_or(""),
      HasSubstr("32-byte"));
}

TEST(CheckAnswerTest, GenerateDataKeyWithoutPlaintextSampleMustDecryptTo32Bytes) {
  const json answer = {{"KeyId", Arn(kKeyId)}, {"CiphertextBlob", Base64Encode(Bytes(200, 1))}};
  std::optional<Sample> sample;
  ASSERT_EQ(CheckAnswer("GenerateDataKeyWithoutPlaintext", ForKey(kKeyId), answer.dump(), &sample),
            std::nullopt);
  ASSERT_TRUE(sample.has_value());
  const json ok = {{"KeyId", Arn(kKeyId)}, {"Plaintext", Base64Encode(Bytes(32, 3))}};
  EXPECT_EQ(CheckSampleAnswer(*sample, ok.dump()), std::nullopt);
  const json wrong_size = {{"KeyId", Arn(kKeyId)}, {"Plaintext", Base64Encode(Bytes(31, 3))}};
  EXPECT_NE(CheckSampleAnswer(*sample, wrong_size.dump()), std::nullopt);
  json leaks = answer;
  leaks["Plaintext"] = Base64Encode(Bytes(32, 3));
  EXPECT_NE(CheckAnswer("GenerateDataKeyWithoutPlaintext", ForKey(kKeyId), leaks.dump(), nullptr),
            std::nullopt);
}

TEST(CheckAnswerTest, ReEncryptNamesBothKeys) {
  Expectation e = ForKey(kOtherKeyId);
  e.source_key_id = kKeyId;
  e.plaintext = Payload();
  json answer = {{"KeyId", Arn(kOtherKeyId)},
                 {"SourceKeyId", Arn(kKeyId)},
                 {"CiphertextBlob", Base64Encode(Bytes(100, 1))},
                 {"SourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT"},
                 {"DestinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  std::optional<Sample> sample;
  ASSERT_EQ(CheckAnswer("ReEncrypt", e, answer.dump(), &sample), std::nullopt);
  EXPECT_EQ(sample->key_id, kOtherKeyId);
  answer["SourceKeyId"] = Arn(kOtherKeyId);
  EXPECT_THAT(CheckAnswer("ReEncrypt", e, answer.dump(), nullptr).value_or(""),
              HasSubstr("SourceKeyId"));
}

TEST(CheckAnswerTest, SignatureMustVerifyOverTheMessage) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyPairType::kEcP256);
  ASSERT_TRUE(key.has_value());
  Expectation e = ForKey(kKeyId);
  e.public_key = key->Public();
  e.message = Payload();
  auto signature = crypto::Sign(*key, crypto::SignatureScheme::kEcdsa,
                                crypto::HashAlgorithm::kSha256, Payload(), false);
  ASSERT_TRUE(signature.has_value());
  json answer = {{"KeyId", Arn(kKeyId)},
                 {"Signature", Base64Encode(*signature)},
                 {"SigningAlgorithm", "ECDSA_SHA_256"}};
  EXPECT_EQ(CheckAnswer("Sign", e, answer.dump(), nullptr), std::nullopt);

  e.message = Bytes{'o', 't', 'h', 'e', 'r'};
  EXPECT_THAT(CheckAnswer("Sign", e, answer.dump(), nullptr).value_or(""),
              HasSubstr("does not verify"));
}

TEST(CheckAnswerTest, MacMustBeTheOneSetUpGot) {
  Expectation e = ForKey(kKeyId);
  e.mac = Bytes(32, 4);
  json answer = {{"KeyId", Arn(kKeyId)}, {"Mac", Base64Encode(Bytes(32, 4))}};
  EXPECT_EQ(CheckAnswer("GenerateMac", e, answer.dump(), nullptr), std::nullopt);
  answer["Mac"] = Base64Encode(Bytes(32, 5));
  EXPECT_NE(CheckAnswer("GenerateMac", e, answer.dump(), nullptr), std::nullopt);
}

TEST(CheckAnswerTest, CreatedKeyIsDescribedEnabledAfterwards) {
  Expectation e;
  e.description = "scytale-loadgen CreateKey";
  json answer = {{"KeyMetadata",
                  {{"KeyId", kKeyId},
                   {"Arn", Arn(kKeyId)},
                   {"KeyState", "Enabled"},
                   {"Description", e.description}}}};
  std::optional<Sample> sample;
  ASSERT_EQ(CheckAnswer("CreateKey", e, answer.dump(), &sample), std::nullopt);
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(SampleOperation(*sample), "DescribeKey");
  EXPECT_EQ(json::parse(SampleRequestBody(*sample))["KeyId"], kKeyId);
  EXPECT_EQ(CheckSampleAnswer(*sample, answer.dump()), std::nullopt);

  json disabled = answer;
  disabled["KeyMetadata"]["KeyState"] = "Disabled";
  EXPECT_NE(CheckSampleAnswer(*sample, disabled.dump()), std::nullopt);
  EXPECT_NE(CheckAnswer("CreateKey", e, disabled.dump(), nullptr), std::nullopt);
  json other = answer;
  other["KeyMetadata"]["KeyId"] = kOtherKeyId;
  EXPECT_NE(CheckSampleAnswer(*sample, other.dump()), std::nullopt);
}

}  // namespace
}  // namespace scytale::loadgen

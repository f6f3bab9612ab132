#include "kms/internal/ciphertext.h"

#include <gtest/gtest.h>

namespace scytale::kms::internal {
namespace {

const char* kArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const std::string kVersion(64, 'a');

TEST(Ciphertext, CanonicalContextIsSortedLengthPrefixedAndCaseSensitive) {
  EncryptionContext c = {{"b", "2"}, {"B", "x"}, {"a", ""}};
  Bytes expected = {0, 3, 0, 1, 'B', 0, 1, 'x', 0, 1, 'a', 0, 0, 0, 1, 'b', 0, 1, '2'};
  EXPECT_EQ(CanonicalContext(c), expected);
  EXPECT_EQ(CanonicalContext({}), (Bytes{0, 0}));
  // Length prefixes keep ("ab","c") and ("a","bc") apart.
  EXPECT_NE(CanonicalContext({{"ab", "c"}}), CanonicalContext({{"a", "bc"}}));
}

TEST(Ciphertext, LayoutMatchesTheDocumentedFormat) {
  crypto::SecretBytes key = crypto::RandomSecret(32).value();
  Bytes blob = SealBlob({kArn, kVersion}, key, AsBytes("hello"), {}).value();
  size_t arn_len = std::string(kArn).size();
  ASSERT_EQ(blob.size(), 2 + arn_len + 32 + 16 + 12 + 5 + 16);
  EXPECT_EQ(blob[0], 1);
  EXPECT_EQ(blob[1], arn_len);
  EXPECT_EQ(AsString(std::span(blob).subspan(2, arn_len)), kArn);
  auto parsed = ParseBlob(blob).value();
  EXPECT_EQ(parsed.header.key_arn, kArn);
  EXPECT_EQ(parsed.header.version_id, kVersion);
  EXPECT_EQ(AsString(OpenBlob(parsed, key, {}).value().Reveal(crypto::KeyAccess::Grant())),
            "hello");
}

TEST(Ciphertext, MalformedBlobsAreInvalidCiphertext) {
  EXPECT_EQ(ParseBlob(Bytes{}).error().code, ErrorCode::kInvalidCiphertext);
  EXPECT_EQ(ParseBlob(Bytes{2, 0}).error().code, ErrorCode::kInvalidCiphertext);
  EXPECT_EQ(ParseBlob(Bytes(200, 1)).error().code, ErrorCode::kInvalidCiphertext);
}

TEST(Ciphertext, AnotherBackingKeyFailsTheTag) {
  crypto::SecretBytes key = crypto::RandomSecret(32).value();
  crypto::SecretBytes other = crypto::RandomSecret(32).value();
  Bytes blob = SealBlob({kArn, kVersion}, key, AsBytes("hello"), {}).value();
  EXPECT_EQ(OpenBlob(ParseBlob(blob).value(), other, {}).error().code,
            ErrorCode::kInvalidCiphertext);
}

}  // namespace
}  // namespace scytale::kms::internal

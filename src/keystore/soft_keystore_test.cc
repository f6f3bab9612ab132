#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"
#include "keystore/keystore.h"

namespace scytale::keystore {
namespace {

using crypto::KeyAccess;
using crypto::SecretBytes;

class SoftKeystoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = scytale::testing::FreshTestDir("scy-ks"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  SoftOptions Options(std::optional<std::string> passphrase = std::nullopt) {
    SoftOptions o;
    o.path = dir_ / "root.key";
    o.passphrase = std::move(passphrase);
    o.scrypt.n = 1 << 10;  // fast for tests
    return o;
  }
  std::filesystem::path dir_;
};

TEST_F(SoftKeystoreTest, CreatesFileWithOwnerOnlyModeAndReopensWithSameKey) {
  auto ks = OpenSoftKeystore(Options());
  ASSERT_TRUE(ks.has_value()) << ks.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  SecretBytes secret(AsBytes("backing key material"));
  Bytes wrapped = (*ks)->Wrap(secret, AsBytes("arn:key/1:v1")).value();
  auto reopened = OpenSoftKeystore(Options());
  ASSERT_TRUE(reopened.has_value());
  auto back = (*reopened)->Unwrap(wrapped, AsBytes("arn:key/1:v1"));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(*back == secret);
}

TEST_F(SoftKeystoreTest, UnwrapFailsForOtherAadTamperingOrTruncation) {
  auto ks = OpenSoftKeystore(Options()).value();
  SecretBytes secret(AsBytes("k"));
  Bytes wrapped = ks->Wrap(secret, AsBytes("a")).value();
  EXPECT_EQ(ks->Unwrap(wrapped, AsBytes("b")).error().code, ErrorCode::kInvalidCiphertext);
  Bytes tampered = wrapped;
  tampered.back() ^= 1;
  EXPECT_FALSE(ks->Unwrap(tampered, AsBytes("a")).has_value());
  EXPECT_FALSE(ks->Unwrap(std::span(wrapped).first(10), AsBytes("a")).has_value());
  Bytes pkcs11_format = wrapped;  // a blob of the pkcs11 root's format says so
  pkcs11_format[0] = 2;
  auto other = ks->Unwrap(pkcs11_format, AsBytes("a"));
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidCiphertext);
  EXPECT_NE(other.error().message.find("PKCS#11 root keystore"), std::string::npos);
}

TEST_F(SoftKeystoreTest, WrappingTwiceGivesDifferentBlobs) {
  auto ks = OpenSoftKeystore(Options()).value();
  SecretBytes secret(AsBytes("k"));
  EXPECT_NE(ks->Wrap(secret, {}).value(), ks->Wrap(secret, {}).value());
}

TEST_F(SoftKeystoreTest, SealedFileOpensOnlyWithItsPassphrase) {
  auto ks = OpenSoftKeystore(Options("correct horse")).value();
  EXPECT_NE(ks->Describe().find("sealed"), std::string::npos);
  Bytes wrapped = ks->Wrap(SecretBytes(AsBytes("m")), {}).value();

  auto wrong = OpenSoftKeystore(Options("wrong horse"));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidState);
  EXPECT_FALSE(OpenSoftKeystore(Options()).has_value());

  auto right = OpenSoftKeystore(Options("correct horse")).value();
  EXPECT_EQ(AsString(right->Unwrap(wrapped, {}).value().Reveal(KeyAccess::Grant())), "m");
}

TEST_F(SoftKeystoreTest, SealedFileDoesNotContainTheKeyInTheClear) {
  auto plain = OpenSoftKeystore(Options()).value();
  std::filesystem::rename(dir_ / "root.key", dir_ / "plain.key");
  auto sealed = OpenSoftKeystore(Options("pw")).value();
  std::ifstream in(dir_ / "root.key", std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(contents.size(), 6u + 1 + 8 + 16 + 12 + 32 + 16);
}

TEST_F(SoftKeystoreTest, CorruptFileIsRefused) {
  {
    std::ofstream out(dir_ / "root.key", std::ios::binary);
    out << "SCYR\x01\x00short";
  }
  auto ks = OpenSoftKeystore(Options());
  ASSERT_FALSE(ks.has_value());
  EXPECT_EQ(ks.error().code, ErrorCode::kInvalidState);
}

}  // namespace
}  // namespace scytale::keystore

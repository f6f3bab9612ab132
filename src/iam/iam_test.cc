#include "iam/iam.h"

#include <gtest/gtest.h>

#include "iam/internal/access_keys.h"
#include "iam/testing/identities_fixture.h"

namespace scytale::iam {
namespace {

using crypto::KeyAccess;
using crypto::SecretBytes;

using IdentitiesTest = testing::IdentitiesFixture;

TEST_F(IdentitiesTest, GeneratesRootKeyOnceAndKeepsItAfterwards) {
  auto first = ids_->BootstrapAccount("111122223333", std::nullopt).value();
  EXPECT_TRUE(first.generated);
  EXPECT_EQ(first.access_key_id.size(), 20u);
  EXPECT_EQ(first.access_key_id.rfind("AKIA", 0), 0u);
  EXPECT_EQ(first.secret_access_key.size(), 40u);
  auto second = ids_->BootstrapAccount("111122223333", std::nullopt).value();
  EXPECT_FALSE(second.generated);
  EXPECT_EQ(second.access_key_id, first.access_key_id);
  EXPECT_TRUE(second.secret_access_key == first.secret_access_key);
}

TEST_F(IdentitiesTest, GivenCredentialsResolveToTheAccountRoot) {
  RootCredentials given{"AKIAEXAMPLE123", SecretBytes(AsBytes("s3cr3t")), false};
  ASSERT_TRUE(ids_->BootstrapAccount("111122223333", std::move(given)).has_value());
  auto key = ids_->LookupAccessKey("AKIAEXAMPLE123");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->principal_arn, "arn:aws:iam::111122223333:root");
  EXPECT_EQ(key->account_id, "111122223333");
  EXPECT_EQ(AsString(key->secret_access_key.Reveal(KeyAccess::Grant())), "s3cr3t");
}

TEST_F(IdentitiesTest, UnknownKeyIsUnrecognizedClient) {
  auto key = ids_->LookupAccessKey("AKIANOPE");
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::kUnrecognizedClient);
}

TEST_F(IdentitiesTest, InactiveKeyIsUnrecognizedClient) {
  RootCredentials given{"AKIAEXAMPLE123", SecretBytes(AsBytes("s3cr3t")), false};
  ASSERT_TRUE(ids_->BootstrapAccount("111122223333", std::move(given)).has_value());
  auto row = store_->GetAccessKey("AKIAEXAMPLE123").value();
  ASSERT_TRUE(row.has_value());
  row->status = "Inactive";
  ASSERT_TRUE(store_->PutAccessKey(*row).has_value());
  auto key = ids_->LookupAccessKey("AKIAEXAMPLE123");
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::kUnrecognizedClient);
  EXPECT_EQ(key.error().message, "The security token included in the request is invalid.");
}

TEST_F(IdentitiesTest, CachedKeyIsServedUntilForgotten) {
  RootCredentials given{"AKIAEXAMPLE123", SecretBytes(AsBytes("s3cr3t")), false};
  ASSERT_TRUE(ids_->BootstrapAccount("111122223333", std::move(given)).has_value());
  ASSERT_TRUE(ids_->LookupAccessKey("AKIAEXAMPLE123").has_value());
  auto row = store_->GetAccessKey("AKIAEXAMPLE123").value();
  row->status = "Inactive";
  ASSERT_TRUE(store_->PutAccessKey(*row).has_value());
  // Changed behind its back, the cache answers until told (IamService always tells it)...
  EXPECT_TRUE(ids_->LookupAccessKey("AKIAEXAMPLE123").has_value());
  ids_->Forget("AKIAEXAMPLE123");
  EXPECT_FALSE(ids_->LookupAccessKey("AKIAEXAMPLE123").has_value());
  // ...or until the entry ages out.
  row->status = "Active";
  ASSERT_TRUE(store_->PutAccessKey(*row).has_value());
  ASSERT_TRUE(ids_->LookupAccessKey("AKIAEXAMPLE123").has_value());
  row->status = "Inactive";
  ASSERT_TRUE(store_->PutAccessKey(*row).has_value());
  clock_->Advance(Identities::kCacheTtl + std::chrono::seconds(1));
  EXPECT_FALSE(ids_->LookupAccessKey("AKIAEXAMPLE123").has_value());
}

// Before session tokens were stored as digests the row held the token itself. Such sessions
// end with the upgrade rather than being matched some other way.
TEST_F(IdentitiesTest, SessionStoredWithItsTokenInTheClearIsUnrecognized) {
  ASSERT_TRUE(ids_->BootstrapAccount("111122223333", std::nullopt).has_value());
  storage::AccessKeyRow row;
  row.access_key_id = "ASIAOLDSESSION000001";
  row.account_id = "111122223333";
  row.principal_arn = "arn:aws:sts::111122223333:assumed-role/r/s";
  row.status = "Active";
  row.created_at = 1700000000;
  row.wrapped_secret =
      root_->Wrap(SecretBytes(AsBytes("s3cr3t")), internal::WrapAad(row.access_key_id)).value();
  row.session_token = "FwoGZXIvYXdzEXAMPLEcleartexttoken+/=";
  row.expiration = 1700003600;
  ASSERT_TRUE(store_->PutAccessKey(row).has_value());
  auto key = ids_->LookupAccessKey(row.access_key_id);
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::kUnrecognizedClient);

  row.access_key_id = "ASIANEWSESSION000001";
  row.wrapped_secret =
      root_->Wrap(SecretBytes(AsBytes("s3cr3t")), internal::WrapAad(row.access_key_id)).value();
  row.session_token = internal::SessionTokenDigest("FwoGZXIvYXdzEXAMPLEcleartexttoken+/=");
  ASSERT_TRUE(store_->PutAccessKey(row).has_value());
  auto current = ids_->LookupAccessKey(row.access_key_id);
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->session_token, row.session_token);
}

TEST_F(IdentitiesTest, StoredSecretIsNotInTheClear) {
  RootCredentials given{"AKIAEXAMPLE123", SecretBytes(AsBytes("very-secret-value-xyz")), false};
  ASSERT_TRUE(ids_->BootstrapAccount("111122223333", std::move(given)).has_value());
  auto row = store_->GetAccessKey("AKIAEXAMPLE123").value();
  ASSERT_TRUE(row.has_value());
  std::string stored(row->wrapped_secret.begin(), row->wrapped_secret.end());
  EXPECT_EQ(stored.find("very-secret-value-xyz"), std::string::npos);
}

}  // namespace
}  // namespace scytale::iam

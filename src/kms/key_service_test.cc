#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "kms/kms.h"
#include "kms/testing/service_fixture.h"

namespace scytale::kms {
namespace {

using KeyServiceTest = testing::ServiceFixture;

TEST_F(KeyServiceTest, CreateKeyReturnsCompleteSymmetricMetadata) {
  CreateKeyRequest req;
  req.description = "payments";
  auto m = service_->CreateKey(Ctx(), req);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->aws_account_id, "111122223333");
  EXPECT_EQ(m->arn, "arn:aws:kms:us-east-1:111122223333:key/" + m->key_id);
  EXPECT_EQ(m->creation_date, 1700000000);
  EXPECT_TRUE(m->enabled);
  EXPECT_EQ(m->description, "payments");
  EXPECT_EQ(m->key_usage, "ENCRYPT_DECRYPT");
  EXPECT_EQ(m->key_state, "Enabled");
  EXPECT_EQ(m->origin, "AWS_KMS");
  EXPECT_EQ(m->key_manager, "CUSTOMER");
  EXPECT_EQ(m->key_spec, "SYMMETRIC_DEFAULT");
  EXPECT_EQ(m->encryption_algorithms, std::vector<std::string>{"SYMMETRIC_DEFAULT"});
  EXPECT_EQ(m->current_key_material_id.size(), 64u);
}

TEST_F(KeyServiceTest, BackingMaterialIsStoredOnlyWrappedAndBoundToTheKey) {
  auto m = service_->CreateKey(Ctx(), {}).value();
  auto versions = store_->ListKeyVersions(m.key_id).value();
  ASSERT_EQ(versions.size(), 1u);
  // The wrapped row unwraps only with its own key ARN and version id as AAD.
  std::string aad = "scytale:backing-key:" + m.arn + ":" + versions[0].version_id;
  auto material = root_->Unwrap(versions[0].wrapped_material, AsBytes(aad));
  ASSERT_TRUE(material.has_value());
  EXPECT_EQ(material->size(), 32u);
  std::string other = "scytale:backing-key:" + m.arn + "x:" + versions[0].version_id;
  EXPECT_FALSE(root_->Unwrap(versions[0].wrapped_material, AsBytes(other)).has_value());
}

TEST_F(KeyServiceTest, StatsCountBackingKeyCacheHitsAndMisses) {
  auto m = service_->CreateKey(Ctx(), {}).value();
  const ServiceStats before = service_->Stats();
  EncryptRequest req;
  req.key_id = m.key_id;
  req.plaintext = crypto::SecretBytes(AsBytes("p"));
  ASSERT_TRUE(service_->Encrypt(Ctx(), req).has_value());
  ASSERT_TRUE(service_->Encrypt(Ctx(), req).has_value());
  const ServiceStats after = service_->Stats();
  // However CreateKey left the cache, the two calls made exactly two lookups.
  EXPECT_EQ(after.backing_key_cache_hits + after.backing_key_cache_misses,
            before.backing_key_cache_hits + before.backing_key_cache_misses + 2);
  EXPECT_GE(after.backing_key_cache_hits, before.backing_key_cache_hits + 1);
}

TEST_F(KeyServiceTest, StatsCountKeysByStateAtMostEveryInterval) {
  EXPECT_TRUE(service_->Stats().keys_by_state.empty());  // counted: no keys
  auto a = service_->CreateKey(Ctx(), {}).value();
  auto b = service_->CreateKey(Ctx("eu-west-1", "444455556666"), {}).value();
  // Not counted again within the interval.
  EXPECT_TRUE(service_->Stats().keys_by_state.empty());
  clock_->Advance(ServiceStats::kKeyCountInterval);
  using Counts = std::map<std::string, int64_t>;
  EXPECT_EQ(service_->Stats().keys_by_state, (Counts{{"Enabled", 2}}));
  ASSERT_TRUE(service_->DisableKey(Ctx(), a.key_id).has_value());
  ASSERT_TRUE(service_->ScheduleKeyDeletion(Ctx("eu-west-1", "444455556666"), b.key_id, 7));
  clock_->Advance(ServiceStats::kKeyCountInterval - std::chrono::seconds(1));
  EXPECT_EQ(service_->Stats().keys_by_state, (Counts{{"Enabled", 2}}));
  clock_->Advance(std::chrono::seconds(1));
  EXPECT_EQ(service_->Stats().keys_by_state, (Counts{{"Disabled", 1}, {"PendingDeletion", 1}}));
}

TEST_F(KeyServiceTest, DescribeKeyFindsByIdAndArnOnlyInItsRegion) {
  auto m = service_->CreateKey(Ctx(), {}).value();
  EXPECT_EQ(service_->DescribeKey(Ctx(), m.key_id)->arn, m.arn);
  EXPECT_EQ(service_->DescribeKey(Ctx(), m.arn)->key_id, m.key_id);
  auto other_region = service_->DescribeKey(Ctx("eu-west-1"), m.key_id);
  ASSERT_FALSE(other_region.has_value());
  EXPECT_EQ(other_region.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(other_region.error().message,
            "Key 'arn:aws:kms:eu-west-1:111122223333:key/" + m.key_id + "' does not exist");
}

TEST_F(KeyServiceTest, DescribeKeyRejectsUnknownForms) {
  EXPECT_EQ(service_->DescribeKey(Ctx(), "not-a-key").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->DescribeKey(Ctx(), "arn:aws:kms:us-east-1").error().message, "Invalid arn");
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/none").error().code, ErrorCode::kNotFound);
  auto m = service_->CreateKey(Ctx(), {}).value();
  std::string other_partition = m.arn;
  other_partition.replace(0, 7, "arn:aws-cn");
  EXPECT_EQ(service_->DescribeKey(Ctx(), other_partition).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->DescribeKey(Ctx("eu-west-1"), m.arn).error().code, ErrorCode::kNotFound);
}

TEST_F(KeyServiceTest, CreateKeyRejectsWhatIsNotSupportedYet) {
  CreateKeyRequest ml_dsa;
  ml_dsa.key_spec = "ML_DSA_65";
  ml_dsa.key_usage = "SIGN_VERIFY";
  EXPECT_EQ(service_->CreateKey(Ctx(), ml_dsa).error().code, ErrorCode::kUnsupportedOperation);
  CreateKeyRequest both;
  both.key_spec = "SYMMETRIC_DEFAULT";
  both.customer_master_key_spec = "SYMMETRIC_DEFAULT";
  EXPECT_EQ(service_->CreateKey(Ctx(), both).error().code, ErrorCode::kValidation);
  CreateKeyRequest sign;
  sign.key_usage = "SIGN_VERIFY";
  EXPECT_EQ(service_->CreateKey(Ctx(), sign).error().code, ErrorCode::kValidation);
  CreateKeyRequest bad_policy;
  bad_policy.policy = "{not json";
  EXPECT_EQ(service_->CreateKey(Ctx(), bad_policy).error().code,
            ErrorCode::kMalformedPolicyDocument);
  CreateKeyRequest dup_tags;
  dup_tags.tags = {{"a", "1"}, {"a", "2"}};
  EXPECT_EQ(service_->CreateKey(Ctx(), dup_tags).error().code, ErrorCode::kTag);
  EXPECT_TRUE(service_->ListKeys(Ctx(), {})->keys.empty());  // nothing half-created
}

TEST_F(KeyServiceTest, ListKeysPagesWithMarkers) {
  std::set<std::string> created;
  for (int i = 0; i < 7; ++i) {
    created.insert(service_->CreateKey(Ctx(), {}).value().key_id);
  }
  std::set<std::string> listed;
  ListKeysRequest req;
  req.limit = 3;
  int pages = 0;
  for (;;) {
    auto page = service_->ListKeys(Ctx(), req).value();
    ++pages;
    for (const auto& k : page.keys) {
      listed.insert(k.key_id);
    }
    if (!page.truncated) {
      EXPECT_FALSE(page.next_marker.has_value());
      break;
    }
    req.marker = page.next_marker;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, created);
  ListKeysRequest bad;
  bad.marker = "garbage";
  EXPECT_EQ(service_->ListKeys(Ctx(), bad).error().code, ErrorCode::kInvalidMarker);
}

}  // namespace
}  // namespace scytale::kms

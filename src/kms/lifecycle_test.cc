// Key states (Enable/Disable), scheduled deletion and its background destruction, key
// descriptions and tags, through the service layer over a real store and a fake clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/matchers.h"
#include "kms/kms.h"
#include "kms/testing/service_fixture.h"

namespace scytale::kms {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::HasErrorMessage;
using ::scytale::testing::IsOk;

using crypto::KeyAccess;
using crypto::SecretBytes;

class LifecycleTest : public testing::ServiceFixture {
 protected:
  Result<EncryptResponse> Encrypt(const std::string& key_id, std::string_view text = "secret") {
    EncryptRequest req;
    req.key_id = key_id;
    req.plaintext = SecretBytes(AsBytes(text));
    return service_->Encrypt(Ctx(), req);
  }
  Result<DecryptResponse> Decrypt(const Bytes& blob) {
    DecryptRequest req;
    req.ciphertext_blob = blob;
    return service_->Decrypt(Ctx(), req);
  }
  Result<GenerateDataKeyResponse> DataKey(const std::string& key_id, bool with_plaintext = true) {
    GenerateDataKeyRequest req;
    req.key_id = key_id;
    req.key_spec = "AES_256";
    return with_plaintext ? service_->GenerateDataKey(Ctx(), req)
                          : service_->GenerateDataKeyWithoutPlaintext(Ctx(), req);
  }
  Result<ReEncryptResponse> ReEncrypt(const Bytes& blob, const std::string& destination) {
    ReEncryptRequest req;
    req.ciphertext_blob = blob;
    req.destination_key_id = destination;
    return service_->ReEncrypt(Ctx(), req);
  }
  Bytes BlobUnder(const std::string& key_id, std::string_view text = "secret") {
    auto enc = Encrypt(key_id, text);
    EXPECT_THAT(enc, IsOk());
    return enc ? enc->ciphertext_blob : Bytes{};
  }
  KeyMetadata Describe(const std::string& key_id) {
    auto m = service_->DescribeKey(Ctx(), key_id);
    EXPECT_THAT(m, IsOk());
    return m ? std::move(*m) : KeyMetadata{};
  }
  std::string State(const std::string& key_id) { return Describe(key_id).key_state; }
  void AdvanceSeconds(int64_t seconds) { clock_->Advance(std::chrono::seconds(seconds)); }
  int64_t Now() const { return clock_->NowSeconds(); }

  Result<ListResourceTagsResponse> Tags(const std::string& key_id, std::optional<int> limit = {},
                                        std::optional<std::string> marker = {}) {
    return service_->ListResourceTags(Ctx(), {key_id, limit, std::move(marker)});
  }
  // Every tag of a key, following markers; fails the test on a duplicate or a bad page.
  std::vector<Tag> AllTags(const std::string& key_id, int limit) {
    return AllPages(
        [&](std::optional<std::string> marker) { return Tags(key_id, limit, std::move(marker)); },
        &ListResourceTagsResponse::tags, limit);
  }
  static std::vector<std::string> KeysOf(const std::vector<Tag>& tags) {
    std::vector<std::string> keys;
    for (const Tag& t : tags) {
      keys.push_back(t.key);
    }
    return keys;
  }
  static std::vector<Tag> NumberedTags(int n, const std::string& prefix = "k") {
    std::vector<Tag> tags;
    for (int i = 0; i < n; ++i) {
      tags.push_back({prefix + std::to_string(i), "v" + std::to_string(i)});
    }
    return tags;
  }
  std::string DisabledMessage(const KeyMetadata& key) { return key.arn + " is disabled."; }
  std::string PendingMessage(const KeyMetadata& key) { return key.arn + " is pending deletion."; }
};

// ---------------------------------------------------------------------------------------------
// Enable and disable

TEST_F(LifecycleTest, DisableKeyDisablesAndEnableKeyEnablesAgain) {
  KeyMetadata key = NewKey();
  EXPECT_EQ(key.key_state, "Enabled");
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  KeyMetadata disabled = Describe(key.key_id);
  EXPECT_EQ(disabled.key_state, "Disabled");
  EXPECT_FALSE(disabled.enabled);
  ASSERT_THAT(service_->EnableKey(Ctx(), key.arn), IsOk());  // the ARN form works too
  KeyMetadata enabled = Describe(key.key_id);
  EXPECT_EQ(enabled.key_state, "Enabled");
  EXPECT_TRUE(enabled.enabled);
}

TEST_F(LifecycleTest, EnableAndDisableAreIdempotent) {
  KeyMetadata key = NewKey();
  EXPECT_THAT(service_->EnableKey(Ctx(), key.key_id), IsOk());
  EXPECT_EQ(State(key.key_id), "Enabled");
  EXPECT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  EXPECT_EQ(State(key.key_id), "Disabled");
}

TEST_F(LifecycleTest, EnableAndDisableOfAMissingKeyAreNotFound) {
  const std::string missing = "11111111-2222-3333-4444-555555555555";
  const std::string message =
      "Key 'arn:aws:kms:us-east-1:111122223333:key/" + missing + "' does not exist";
  EXPECT_THAT(service_->EnableKey(Ctx(), missing), HasErrorMessage(ErrorCode::kNotFound, message));
  EXPECT_THAT(service_->DisableKey(Ctx(), missing), HasErrorMessage(ErrorCode::kNotFound, message));
  // A key of another region is not found either.
  KeyMetadata key = NewKey();
  EXPECT_THAT(service_->DisableKey(Ctx("eu-west-1"), key.key_id), HasError(ErrorCode::kNotFound));
  EXPECT_EQ(State(key.key_id), "Enabled");
}

TEST_F(LifecycleTest, DisabledKeyRefusesEveryCryptographicOperation) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  Bytes before = BlobUnder(key.key_id, "before");
  Bytes other_blob = BlobUnder(other.key_id, "other");
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());

  const auto disabled = HasErrorMessage(ErrorCode::kDisabled, DisabledMessage(key));
  EXPECT_THAT(Encrypt(key.key_id), disabled);
  EXPECT_THAT(Decrypt(before), disabled);
  EXPECT_THAT(DataKey(key.key_id), disabled);
  EXPECT_THAT(DataKey(key.key_id, /*with_plaintext=*/false), disabled);
  EXPECT_THAT(ReEncrypt(before, other.key_id), disabled);    // disabled source
  EXPECT_THAT(ReEncrypt(other_blob, key.key_id), disabled);  // disabled destination
  // The other key is unaffected.
  EXPECT_THAT(Encrypt(other.key_id), IsOk());

  // Enabled again, the key works, and what it encrypted before still decrypts.
  ASSERT_THAT(service_->EnableKey(Ctx(), key.key_id), IsOk());
  auto dec = Decrypt(before);
  ASSERT_THAT(dec, IsOk());
  EXPECT_EQ(Text(dec->plaintext), "before");
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
  EXPECT_THAT(DataKey(key.key_id), IsOk());
  EXPECT_THAT(ReEncrypt(other_blob, key.key_id), IsOk());
}

TEST_F(LifecycleTest, DisabledKeyRefusesCryptographyUnderItsAliasToo) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/app", key.key_id), IsOk());
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(Encrypt("alias/app"), HasErrorMessage(ErrorCode::kDisabled, DisabledMessage(key)));
}

TEST_F(LifecycleTest, DescribeKeyWorksInEveryState) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/described", key.key_id), IsOk());
  auto check = [&](const std::string& state) {
    for (const std::string& id :
         {key.key_id, key.arn, std::string("alias/described"),
          std::string("arn:aws:kms:us-east-1:111122223333:alias/described")}) {
      auto m = service_->DescribeKey(Ctx(), id);
      ASSERT_THAT(m, IsOk()) << id;
      EXPECT_EQ(m->key_state, state) << id;
      EXPECT_EQ(m->key_id, key.key_id) << id;
    }
  };
  check("Enabled");
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  check("Disabled");
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  check("PendingDeletion");
  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), IsOk());
  check("Disabled");
}

// ---------------------------------------------------------------------------------------------
// Scheduling and cancelling deletion

TEST_F(LifecycleTest, ScheduleKeyDeletionDefaultsToThirtyDays) {
  KeyMetadata key = NewKey();
  auto r = service_->ScheduleKeyDeletion(Ctx(), key.key_id, std::nullopt);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->key_arn, key.arn);
  EXPECT_EQ(r->key_state, "PendingDeletion");
  EXPECT_EQ(r->pending_window_in_days, 30);
  EXPECT_EQ(r->deletion_date, kStart + 30 * kDay);

  KeyMetadata m = Describe(key.key_id);
  EXPECT_EQ(m.key_state, "PendingDeletion");
  EXPECT_FALSE(m.enabled);
  EXPECT_EQ(m.deletion_date, std::optional<int64_t>(kStart + 30 * kDay));
}

TEST_F(LifecycleTest, ScheduleKeyDeletionTakesAWindowOfSevenToThirtyDays) {
  for (int window : {7, 8, 29, 30}) {
    KeyMetadata key = NewKey();
    auto r = service_->ScheduleKeyDeletion(Ctx(), key.key_id, window);
    ASSERT_THAT(r, IsOk()) << window;
    EXPECT_EQ(r->pending_window_in_days, window);
    EXPECT_EQ(r->deletion_date, Now() + window * kDay);
    EXPECT_EQ(Describe(key.key_id).deletion_date, std::optional<int64_t>(Now() + window * kDay));
  }
}

TEST_F(LifecycleTest, ScheduleKeyDeletionOutsideSevenToThirtyDaysIsValidationError) {
  KeyMetadata key = NewKey();
  EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 6),
              HasErrorMessage(ErrorCode::kValidation,
                              "1 validation error detected: Value '6' at 'pendingWindowInDays' "
                              "failed to satisfy constraint: Member must have value greater "
                              "than or equal to 7"));
  EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 31),
              HasErrorMessage(ErrorCode::kValidation,
                              "1 validation error detected: Value '31' at 'pendingWindowInDays' "
                              "failed to satisfy constraint: Member must have value less than "
                              "or equal to 30"));
  // The model allows 1..365; the service does not.
  for (int window : {-1, 0, 1, 365}) {
    EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, window),
                HasError(ErrorCode::kValidation))
        << window;
  }
  KeyMetadata m = Describe(key.key_id);
  EXPECT_EQ(m.key_state, "Enabled");
  EXPECT_FALSE(m.deletion_date.has_value());
}

TEST_F(LifecycleTest, ScheduleKeyDeletionOfMissingKeyOrAliasIsNotFound) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/doomed", key.key_id), IsOk());
  EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), "11111111-2222-3333-4444-555555555555", 7),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), "alias/doomed", 7),
              HasErrorMessage(ErrorCode::kNotFound, "Invalid keyId 'alias/doomed'"));
  EXPECT_EQ(State(key.key_id), "Enabled");
}

TEST_F(LifecycleTest, DisabledKeyCanBeScheduledForDeletion) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  auto r = service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->key_state, "PendingDeletion");
}

TEST_F(LifecycleTest, SchedulingTwiceIsInvalidStateAndKeepsTheFirstDate) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  AdvanceSeconds(kDay);
  EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 30),
              HasErrorMessage(ErrorCode::kInvalidState, PendingMessage(key)));
  EXPECT_EQ(Describe(key.key_id).deletion_date, std::optional<int64_t>(kStart + 7 * kDay));
}

TEST_F(LifecycleTest, KeyPendingDeletionRefusesCryptographyWithInvalidState) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  Bytes before = BlobUnder(key.key_id);
  Bytes other_blob = BlobUnder(other.key_id);
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());

  const auto pending = HasErrorMessage(ErrorCode::kInvalidState, PendingMessage(key));
  EXPECT_THAT(Encrypt(key.key_id), pending);
  EXPECT_THAT(Decrypt(before), pending);
  EXPECT_THAT(DataKey(key.key_id), pending);
  EXPECT_THAT(DataKey(key.key_id, /*with_plaintext=*/false), pending);
  EXPECT_THAT(ReEncrypt(before, other.key_id), pending);
  EXPECT_THAT(ReEncrypt(other_blob, key.key_id), pending);
}

TEST_F(LifecycleTest, KeyPendingDeletionRefusesManagementButStillDescribesAndListsTags) {
  CreateKeyRequest req;
  req.tags = {{"team", "payments"}};
  KeyMetadata key = service_->CreateKey(Ctx(), req).value();
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());

  const auto pending = HasErrorMessage(ErrorCode::kInvalidState, PendingMessage(key));
  EXPECT_THAT(service_->EnableKey(Ctx(), key.key_id), pending);
  EXPECT_THAT(service_->DisableKey(Ctx(), key.key_id), pending);
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"more", "x"}}), pending);
  EXPECT_THAT(service_->UntagResource(Ctx(), key.key_id, {"team"}), pending);
  EXPECT_THAT(service_->UpdateKeyDescription(Ctx(), key.key_id, "new"), pending);
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/late", key.key_id), pending);

  EXPECT_EQ(State(key.key_id), "PendingDeletion");
  auto tags = Tags(key.key_id);
  ASSERT_THAT(tags, IsOk());
  ASSERT_EQ(tags->tags.size(), 1u);
  EXPECT_EQ(tags->tags[0].key, "team");
  EXPECT_EQ(tags->tags[0].value, "payments");
}

TEST_F(LifecycleTest, CancelKeyDeletionLeavesTheKeyDisabledWithoutADeletionDate) {
  KeyMetadata key = NewKey();
  Bytes before = BlobUnder(key.key_id, "kept");
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  auto cancelled = service_->CancelKeyDeletion(Ctx(), key.key_id);
  ASSERT_THAT(cancelled, IsOk());
  EXPECT_EQ(*cancelled, key.arn);

  KeyMetadata m = Describe(key.key_id);
  EXPECT_EQ(m.key_state, "Disabled");  // not back to Enabled, as AWS does
  EXPECT_FALSE(m.enabled);
  EXPECT_FALSE(m.deletion_date.has_value());
  EXPECT_FALSE(m.pending_deletion_window_in_days.has_value());
  EXPECT_THAT(Encrypt(key.key_id), HasError(ErrorCode::kDisabled));

  ASSERT_THAT(service_->EnableKey(Ctx(), key.key_id), IsOk());
  auto dec = Decrypt(before);
  ASSERT_THAT(dec, IsOk());
  EXPECT_EQ(Text(dec->plaintext), "kept");
}

TEST_F(LifecycleTest, CancelKeyDeletionOfAKeyNotPendingDeletionIsInvalidState) {
  KeyMetadata key = NewKey();
  const auto not_pending =
      HasErrorMessage(ErrorCode::kInvalidState, key.arn + " is not pending deletion.");
  EXPECT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), not_pending);
  EXPECT_EQ(State(key.key_id), "Enabled");
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), not_pending);
  // Cancelling twice: the second is refused.
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), not_pending);
}

TEST_F(LifecycleTest, CancelKeyDeletionOfMissingKeyOrAliasIsNotFound) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/x", key.key_id), IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  EXPECT_THAT(service_->CancelKeyDeletion(Ctx(), "11111111-2222-3333-4444-555555555555"),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->CancelKeyDeletion(Ctx(), "alias/x"), HasError(ErrorCode::kNotFound));
  EXPECT_EQ(State(key.key_id), "PendingDeletion");
}

TEST_F(LifecycleTest, CancelledKeyCanBeScheduledAgainWithANewDate) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), IsOk());
  AdvanceSeconds(3 * kDay);
  auto again = service_->ScheduleKeyDeletion(Ctx(), key.key_id, 10);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->deletion_date, kStart + 13 * kDay);
  EXPECT_EQ(Describe(key.key_id).deletion_date, std::optional<int64_t>(kStart + 13 * kDay));
}

// ---------------------------------------------------------------------------------------------
// Destruction at the end of the waiting period

TEST_F(LifecycleTest, MaintenanceDestroysAKeyOnceItsWaitingPeriodEnds) {
  KeyMetadata key = NewKey();
  KeyMetadata survivor = NewKey();
  Bytes blob = BlobUnder(key.key_id);
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/a", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/b", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/survivor", survivor.key_id), IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());

  // One second before the deletion date nothing happens.
  AdvanceSeconds(7 * kDay - 1);
  auto early = service_->RunMaintenance();
  ASSERT_THAT(early, IsOk());
  EXPECT_EQ(early->keys_deleted, 0);
  EXPECT_EQ(State(key.key_id), "PendingDeletion");
  EXPECT_THAT(service_->DescribeKey(Ctx(), "alias/a"), IsOk());

  AdvanceSeconds(1);
  auto due = service_->RunMaintenance();
  ASSERT_THAT(due, IsOk());
  EXPECT_EQ(due->keys_deleted, 1);
  EXPECT_EQ(due->deleted_key_arns, std::vector<std::string>{key.arn});
  EXPECT_TRUE(due->rotated_key_arns.empty());
  EXPECT_FALSE(due->error.has_value());

  EXPECT_THAT(service_->DescribeKey(Ctx(), key.key_id),
              HasErrorMessage(ErrorCode::kNotFound, "Key '" + key.arn + "' does not exist"));
  EXPECT_THAT(Decrypt(blob), HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(service_->DescribeKey(Ctx(), "alias/a"),
              HasErrorMessage(ErrorCode::kNotFound,
                              "Alias arn:aws:kms:us-east-1:111122223333:alias/a is not found."));
  EXPECT_THAT(service_->DescribeKey(Ctx(), "alias/b"), HasError(ErrorCode::kNotFound));
  auto aliases = service_->ListAliases(Ctx(), {});
  ASSERT_THAT(aliases, IsOk());
  ASSERT_EQ(aliases->aliases.size(), 1u);
  EXPECT_EQ(aliases->aliases[0].alias_name, "alias/survivor");
  auto keys = service_->ListKeys(Ctx(), {});
  ASSERT_THAT(keys, IsOk());
  ASSERT_EQ(keys->keys.size(), 1u);
  EXPECT_EQ(keys->keys[0].key_id, survivor.key_id);
  // A deleted key's alias name is free again.
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/a", survivor.key_id), IsOk());

  // Nothing is left to do on the next pass.
  auto again = service_->RunMaintenance();
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->keys_deleted, 0);
  EXPECT_EQ(State(survivor.key_id), "Enabled");
}

TEST_F(LifecycleTest, MaintenanceDestroysOnlyTheKeysThatAreDue) {
  KeyMetadata week = NewKey();
  KeyMetadata month = NewKey();
  KeyMetadata kept = NewKey();
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), week.key_id, 7), IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), month.key_id, 30), IsOk());

  AdvanceSeconds(8 * kDay);
  auto first = service_->RunMaintenance();
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->keys_deleted, 1);
  EXPECT_THAT(service_->DescribeKey(Ctx(), week.key_id), HasError(ErrorCode::kNotFound));
  EXPECT_EQ(State(month.key_id), "PendingDeletion");

  AdvanceSeconds(30 * kDay);
  auto second = service_->RunMaintenance();
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->keys_deleted, 1);
  EXPECT_THAT(service_->DescribeKey(Ctx(), month.key_id), HasError(ErrorCode::kNotFound));
  EXPECT_EQ(State(kept.key_id), "Enabled");
}

TEST_F(LifecycleTest, MaintenanceDestroysDueKeysOfEveryAccountAndRegion) {
  KeyMetadata here = NewKey();
  auto there = service_->CreateKey(Ctx("eu-west-1", "444455556666"), {});
  ASSERT_THAT(there, IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), here.key_id, 7), IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx("eu-west-1", "444455556666"), there->key_id, 7),
              IsOk());
  AdvanceSeconds(7 * kDay);
  auto r = service_->RunMaintenance();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->keys_deleted, 2);
  EXPECT_EQ(r->deleted_key_arns, (std::vector<std::string>{here.arn, there->arn}));
  EXPECT_THAT(service_->DescribeKey(Ctx("eu-west-1", "444455556666"), there->key_id),
              HasError(ErrorCode::kNotFound));
}

TEST_F(LifecycleTest, CancelledKeyIsNeverDestroyed) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  AdvanceSeconds(3 * kDay);
  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), IsOk());
  AdvanceSeconds(60 * kDay);
  auto r = service_->RunMaintenance();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->keys_deleted, 0);
  EXPECT_EQ(State(key.key_id), "Disabled");
}

TEST_F(LifecycleTest, MaintenanceWithNothingDueDoesNothing) {
  NewKey();
  auto r = service_->RunMaintenance();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->keys_deleted, 0);
  EXPECT_EQ(r->keys_rotated, 0);
}

// ---------------------------------------------------------------------------------------------
// Description

TEST_F(LifecycleTest, UpdateKeyDescriptionReplacesTheDescription) {
  KeyMetadata key = NewKey();
  EXPECT_EQ(key.description, "");
  ASSERT_THAT(service_->UpdateKeyDescription(Ctx(), key.key_id, "payments"), IsOk());
  EXPECT_EQ(Describe(key.key_id).description, "payments");
  ASSERT_THAT(service_->UpdateKeyDescription(Ctx(), key.arn, ""), IsOk());
  EXPECT_EQ(Describe(key.key_id).description, "");
  // A disabled key's description can change.
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  ASSERT_THAT(service_->UpdateKeyDescription(Ctx(), key.key_id, "retired"), IsOk());
  EXPECT_EQ(Describe(key.key_id).description, "retired");
  EXPECT_EQ(State(key.key_id), "Disabled");
}

TEST_F(LifecycleTest, UpdateKeyDescriptionOfMissingKeyOrAliasIsNotFound) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/d", key.key_id), IsOk());
  EXPECT_THAT(service_->UpdateKeyDescription(Ctx(), "11111111-2222-3333-4444-555555555555", "x"),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->UpdateKeyDescription(Ctx(), "alias/d", "x"),
              HasError(ErrorCode::kNotFound));
  EXPECT_EQ(Describe(key.key_id).description, "");
}

// ---------------------------------------------------------------------------------------------
// Tags

TEST_F(LifecycleTest, TagResourceAddsTagsAndReplacesTheValueOfAnExistingKey) {
  CreateKeyRequest req;
  req.tags = {{"team", "payments"}, {"env", "prod"}};
  KeyMetadata key = service_->CreateKey(Ctx(), req).value();
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, {{"env", "staging"}, {"owner", ""}}),
              IsOk());
  auto tags = Tags(key.key_id);
  ASSERT_THAT(tags, IsOk());
  ASSERT_EQ(tags->tags.size(), 3u);
  EXPECT_EQ(tags->tags[0].key, "env");
  EXPECT_EQ(tags->tags[0].value, "staging");
  EXPECT_EQ(tags->tags[1].key, "owner");
  EXPECT_EQ(tags->tags[1].value, "");  // an empty value is allowed
  EXPECT_EQ(tags->tags[2].key, "team");
  EXPECT_EQ(tags->tags[2].value, "payments");
  EXPECT_FALSE(tags->truncated);
  EXPECT_FALSE(tags->next_marker.has_value());
}

TEST_F(LifecycleTest, TagKeysAreCaseSensitive) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, {{"Env", "a"}, {"env", "b"}}), IsOk());
  auto tags = Tags(key.key_id);
  ASSERT_THAT(tags, IsOk());
  EXPECT_EQ(KeysOf(tags->tags), (std::vector<std::string>{"Env", "env"}));
}

TEST_F(LifecycleTest, TagsBelongToTheirKeyOnly) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  ASSERT_THAT(service_->TagResource(Ctx(), a.key_id, {{"only", "a"}}), IsOk());
  EXPECT_EQ(Tags(a.key_id)->tags.size(), 1u);
  EXPECT_TRUE(Tags(b.key_id)->tags.empty());
}

TEST_F(LifecycleTest, UntagResourceRemovesTheKeysAndIgnoresMissingOnes) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, {{"a", "1"}, {"b", "2"}, {"c", "3"}}),
              IsOk());
  ASSERT_THAT(service_->UntagResource(Ctx(), key.key_id, {"b", "not-there", "C"}), IsOk());
  EXPECT_EQ(KeysOf(Tags(key.key_id)->tags), (std::vector<std::string>{"a", "c"}));
  ASSERT_THAT(service_->UntagResource(Ctx(), key.key_id, {"never"}), IsOk());
  EXPECT_EQ(KeysOf(Tags(key.key_id)->tags), (std::vector<std::string>{"a", "c"}));
  ASSERT_THAT(service_->UntagResource(Ctx(), key.arn, {"a", "c"}), IsOk());
  EXPECT_TRUE(Tags(key.key_id)->tags.empty());
}

TEST_F(LifecycleTest, ListResourceTagsIsSortedByKey) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id,
                                    {{"zeta", "1"}, {"alpha", "2"}, {"Mid", "3"}, {"beta", "4"}}),
              IsOk());
  EXPECT_EQ(KeysOf(Tags(key.key_id)->tags),
            (std::vector<std::string>{"Mid", "alpha", "beta", "zeta"}));
}

TEST_F(LifecycleTest, ListResourceTagsPagesWithoutDuplicatesOrGaps) {
  KeyMetadata key = NewKey();
  std::vector<Tag> fifty = NumberedTags(50);
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, fifty), IsOk());
  std::vector<std::string> expected = KeysOf(fifty);
  std::sort(expected.begin(), expected.end());

  for (int limit : {1, 7, 25, 49, 50}) {
    std::vector<Tag> all = AllTags(key.key_id, limit);
    EXPECT_EQ(KeysOf(all), expected) << "limit " << limit;
    for (const Tag& t : all) {
      EXPECT_EQ("v" + t.key.substr(1), t.value);
    }
  }
  // Limit 7 takes ceil(50 / 7) = 8 pages, each but the last full.
  auto first = Tags(key.key_id, 7);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->tags.size(), 7u);
  EXPECT_TRUE(first->truncated);
}

TEST_F(LifecycleTest, ListResourceTagsReturnsAtMostFiftyPerPage) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, NumberedTags(50)), IsOk());
  auto all = Tags(key.key_id, 1000);  // the model allows 1000; AWS answers at most 50
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->tags.size(), 50u);
  EXPECT_FALSE(all->truncated);
  auto by_default = Tags(key.key_id);
  ASSERT_THAT(by_default, IsOk());
  EXPECT_EQ(by_default->tags.size(), 50u);
  EXPECT_FALSE(by_default->truncated);
}

TEST_F(LifecycleTest, ListResourceTagsOfAnUntaggedKeyIsEmpty) {
  KeyMetadata key = NewKey();
  auto r = Tags(key.key_id, 1);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->tags.empty());
  EXPECT_FALSE(r->truncated);
  EXPECT_FALSE(r->next_marker.has_value());
}

TEST_F(LifecycleTest, ListResourceTagsRejectsAForgedMarker) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, NumberedTags(3)), IsOk());
  EXPECT_THAT(Tags(key.key_id, 1, "garbage"), HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(Tags(key.key_id, 1, Base64Encode(AsBytes("k1"))),
              HasError(ErrorCode::kInvalidMarker));
}

TEST_F(LifecycleTest, CreateKeyTakesFiftyTagsButNotFiftyOne) {
  CreateKeyRequest fifty;
  fifty.tags = NumberedTags(50);
  auto ok = service_->CreateKey(Ctx(), fifty);
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(AllTags(ok->key_id, 50).size(), 50u);

  CreateKeyRequest fifty_one;
  fifty_one.tags = NumberedTags(51);
  EXPECT_THAT(service_->CreateKey(Ctx(), fifty_one),
              HasErrorMessage(ErrorCode::kLimitExceeded, "A KMS key can have at most 50 tags."));
  EXPECT_EQ(service_->ListKeys(Ctx(), {})->keys.size(), 1u);  // nothing half-created
}

TEST_F(LifecycleTest, TagResourcePastFiftyTagsIsLimitExceededAndChangesNothing) {
  CreateKeyRequest req;
  req.tags = NumberedTags(45);
  KeyMetadata key = service_->CreateKey(Ctx(), req).value();
  // Five new plus one replaced: 50 in all, which is allowed.
  std::vector<Tag> five = NumberedTags(5, "new");
  five.push_back({"k0", "replaced"});
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, five), IsOk());
  EXPECT_EQ(AllTags(key.key_id, 50).size(), 50u);

  // One more new key is one too many, even when the rest only replace values.
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"k1", "changed"}, {"extra", "x"}}),
              HasErrorMessage(ErrorCode::kLimitExceeded, "A KMS key can have at most 50 tags."));
  std::vector<Tag> after = AllTags(key.key_id, 50);
  EXPECT_EQ(after.size(), 50u);
  for (const Tag& t : after) {
    EXPECT_NE(t.key, "extra");
    if (t.key == "k1") {
      EXPECT_EQ(t.value, "v1");  // the failed call changed nothing
    }
  }
  // Replacing values of a full key is fine.
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"k1", "changed"}}), IsOk());
  // After untagging one, there is room for one.
  ASSERT_THAT(service_->UntagResource(Ctx(), key.key_id, {"k2"}), IsOk());
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"extra", "x"}}), IsOk());
  // A single request of 51 tags is over the limit by itself.
  KeyMetadata fresh = NewKey();
  EXPECT_THAT(service_->TagResource(Ctx(), fresh.key_id, NumberedTags(51)),
              HasError(ErrorCode::kLimitExceeded));
  EXPECT_TRUE(Tags(fresh.key_id)->tags.empty());
}

TEST_F(LifecycleTest, ReservedAndDuplicateTagKeysAreTagErrors) {
  CreateKeyRequest reserved;
  reserved.tags = {{"aws:createdBy", "me"}};
  EXPECT_THAT(service_->CreateKey(Ctx(), reserved),
              HasErrorMessage(ErrorCode::kTag, "Tag keys beginning with 'aws:' are reserved."));
  CreateKeyRequest duplicated;
  duplicated.tags = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  EXPECT_THAT(service_->CreateKey(Ctx(), duplicated), HasError(ErrorCode::kTag));
  EXPECT_TRUE(service_->ListKeys(Ctx(), {})->keys.empty());

  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, {{"a", "1"}}), IsOk());
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"b", "2"}, {"aws:x", "y"}}),
              HasError(ErrorCode::kTag));
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"b", "2"}, {"b", "3"}}),
              HasError(ErrorCode::kTag));
  auto tags = Tags(key.key_id);
  ASSERT_THAT(tags, IsOk());
  EXPECT_EQ(KeysOf(tags->tags), std::vector<std::string>{"a"});
  // "aws" without the colon, or elsewhere in the key, is an ordinary key.
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"aws", "1"}, {"my:aws:x", "2"}}), IsOk());
}

TEST_F(LifecycleTest, TagOperationsOfAMissingKeyAreNotFound) {
  const std::string missing = "11111111-2222-3333-4444-555555555555";
  EXPECT_THAT(service_->TagResource(Ctx(), missing, {{"a", "1"}}), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->UntagResource(Ctx(), missing, {"a"}), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(Tags(missing), HasError(ErrorCode::kNotFound));
}

TEST_F(LifecycleTest, ManagementOperationsRejectAliasNamesAndAliasArns) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/managed", key.key_id), IsOk());
  for (const std::string& alias :
       {std::string("alias/managed"),
        std::string("arn:aws:kms:us-east-1:111122223333:alias/managed")}) {
    const auto not_found = HasErrorMessage(ErrorCode::kNotFound, "Invalid keyId '" + alias + "'");
    EXPECT_THAT(service_->TagResource(Ctx(), alias, {{"a", "1"}}), not_found);
    EXPECT_THAT(service_->UntagResource(Ctx(), alias, {"a"}), not_found);
    EXPECT_THAT(Tags(alias), not_found);
    EXPECT_THAT(service_->UpdateKeyDescription(Ctx(), alias, "x"), not_found);
    EXPECT_THAT(service_->DisableKey(Ctx(), alias), not_found);
    EXPECT_THAT(service_->EnableKey(Ctx(), alias), not_found);
    EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), alias, 7), not_found);
    EXPECT_THAT(service_->CancelKeyDeletion(Ctx(), alias), not_found);
  }
  EXPECT_EQ(State(key.key_id), "Enabled");
  EXPECT_TRUE(Tags(key.key_id)->tags.empty());
}

// Several writers tag one key at the same moment: Core::UpdateKey's optimistic lock makes the
// losers re-read and re-apply their change, so every tag lands.
TEST_F(LifecycleTest, ConcurrentTagResourceCallsAllLand) {
  KeyMetadata key = NewKey();
  constexpr int kThreads = 4;
  constexpr int kTagsPerThread = 10;
  std::atomic<int> ready{0};
  std::vector<std::vector<Status>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
        std::this_thread::yield();
      }
      for (int i = 0; i < kTagsPerThread; ++i) {
        results[t].push_back(service_->TagResource(
            Ctx(), key.key_id,
            {{"t" + std::to_string(t) + "-" + std::to_string(i), std::to_string(t * 100 + i)}}));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kTagsPerThread; ++i) {
      EXPECT_THAT(results[t][i], IsOk()) << "thread " << t << " call " << i;
    }
  }
  std::vector<Tag> all = AllTags(key.key_id, 50);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kTagsPerThread));
  std::set<std::string> keys;
  for (const Tag& tag : all) {
    keys.insert(tag.key);
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kTagsPerThread; ++i) {
      EXPECT_TRUE(keys.contains("t" + std::to_string(t) + "-" + std::to_string(i)));
    }
  }
  EXPECT_EQ(State(key.key_id), "Enabled");
}

// A concurrent state change and tagging do not undo each other.
TEST_F(LifecycleTest, ConcurrentDisableAndTagBothTakeEffect) {
  KeyMetadata key = NewKey();
  std::atomic<bool> go{false};
  Status tagged = Ok();
  Status disabled = Ok();
  std::thread tagger([&] {
    while (!go.load()) {
      std::this_thread::yield();
    }
    tagged = service_->TagResource(Ctx(), key.key_id, {{"kept", "yes"}});
  });
  std::thread disabler([&] {
    while (!go.load()) {
      std::this_thread::yield();
    }
    disabled = service_->DisableKey(Ctx(), key.key_id);
  });
  go.store(true);
  tagger.join();
  disabler.join();
  ASSERT_THAT(tagged, IsOk());
  ASSERT_THAT(disabled, IsOk());
  EXPECT_EQ(State(key.key_id), "Disabled");
  EXPECT_EQ(KeysOf(Tags(key.key_id)->tags), std::vector<std::string>{"kept"});
}

}  // namespace
}  // namespace scytale::kms

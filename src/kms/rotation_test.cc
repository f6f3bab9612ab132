// Key rotation: EnableKeyRotation / DisableKeyRotation / GetKeyRotationStatus, on-demand
// rotation and its quota, ListKeyRotations, and automatic rotation by background maintenance
// under a fake clock. Every rotation adds backing material; old ciphertexts must keep working.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
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

class RotationTest : public testing::ServiceFixture {
 protected:
  // A ciphertext and what it should decrypt to, and the material it was made under.
  struct Sample {
    Bytes blob;
    std::string text;
    std::string material_id;
  };

  Sample Encrypt(const std::string& key_id, const std::string& text) {
    EncryptRequest req;
    req.key_id = key_id;
    req.plaintext = SecretBytes(AsBytes(text));
    req.context = {{"text", text}};
    auto r = service_->Encrypt(Ctx(), req);
    EXPECT_THAT(r, IsOk());
    return {r ? r->ciphertext_blob : Bytes{}, text, CurrentMaterial(key_id)};
  }
  // Decrypts a sample and checks its plaintext and the material that opened it.
  void ExpectDecrypts(const Sample& s) {
    DecryptRequest req;
    req.ciphertext_blob = s.blob;
    req.context = {{"text", s.text}};
    auto r = service_->Decrypt(Ctx(), req);
    ASSERT_THAT(r, IsOk()) << s.text;
    EXPECT_EQ(AsString(r->plaintext.Reveal(KeyAccess::Grant())), s.text);
    EXPECT_EQ(r->key_material_id, s.material_id) << s.text;
  }
  std::string CurrentMaterial(const std::string& key_id) {
    auto m = service_->DescribeKey(Ctx(), key_id);
    EXPECT_THAT(m, IsOk());
    return m ? m->current_key_material_id : "";
  }
  KeyRotationStatus StatusOf(const std::string& key_id) {
    auto r = service_->GetKeyRotationStatus(Ctx(), key_id);
    EXPECT_THAT(r, IsOk());
    return r ? *r : KeyRotationStatus{};
  }
  Result<ListKeyRotationsResponse> Rotations(const std::string& key_id,
                                             std::optional<std::string> include = {},
                                             std::optional<int> limit = {},
                                             std::optional<std::string> marker = {}) {
    return service_->ListKeyRotations(Ctx(),
                                      {key_id, std::move(include), limit, std::move(marker)});
  }
  // Every entry, following markers.
  std::vector<RotationEntry> AllRotations(const std::string& key_id, const std::string& include,
                                          int limit) {
    return AllPages(
        [&](std::optional<std::string> marker) {
          return Rotations(key_id, include, limit, std::move(marker));
        },
        &ListKeyRotationsResponse::rotations, limit);
  }
  Result<MaintenanceReport> Maintain() { return service_->RunMaintenance(); }
  int Rotated() {
    auto r = Maintain();
    EXPECT_THAT(r, IsOk());
    return r ? r->keys_rotated : -1;
  }
  void AdvanceSeconds(int64_t seconds) { clock_->Advance(std::chrono::seconds(seconds)); }
  int64_t Now() const { return clock_->NowSeconds(); }
};

// ---------------------------------------------------------------------------------------------
// Enable, disable, status

TEST_F(RotationTest, RotationIsOffForANewKey) {
  KeyMetadata key = NewKey();
  KeyRotationStatus s = StatusOf(key.key_id);
  EXPECT_FALSE(s.key_rotation_enabled);
  EXPECT_EQ(s.key_arn, key.arn);
  EXPECT_FALSE(s.rotation_period_in_days.has_value());
  EXPECT_FALSE(s.next_rotation_date.has_value());
  EXPECT_FALSE(s.on_demand_rotation_start_date.has_value());
}

TEST_F(RotationTest, EnableKeyRotationDefaultsToAYearAndFirstRotatesAPeriodLater) {
  KeyMetadata key = NewKey();
  AdvanceSeconds(kDay);
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, std::nullopt), IsOk());
  KeyRotationStatus s = StatusOf(key.arn);
  EXPECT_TRUE(s.key_rotation_enabled);
  EXPECT_EQ(s.key_arn, key.arn);
  EXPECT_EQ(s.rotation_period_in_days, std::optional<int>(365));
  EXPECT_EQ(s.next_rotation_date, std::optional<int64_t>(kStart + kDay + 365 * kDay));
}

TEST_F(RotationTest, EnableKeyRotationTakesACustomPeriod) {
  for (int period : {90, 180, 2560}) {
    KeyMetadata key = NewKey();
    ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, period), IsOk()) << period;
    KeyRotationStatus s = StatusOf(key.key_id);
    EXPECT_TRUE(s.key_rotation_enabled);
    EXPECT_EQ(s.rotation_period_in_days, std::optional<int>(period));
    EXPECT_EQ(s.next_rotation_date, std::optional<int64_t>(Now() + period * kDay));
  }
}

TEST_F(RotationTest, EnableKeyRotationAgainChangesThePeriod) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 365), IsOk());
  AdvanceSeconds(10 * kDay);
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  KeyRotationStatus s = StatusOf(key.key_id);
  EXPECT_EQ(s.rotation_period_in_days, std::optional<int>(90));
  // Scytale counts the new period from now; AWS does not document whether it counts from the
  // last rotation instead, so only the bounds are checked.
  ASSERT_TRUE(s.next_rotation_date.has_value());
  EXPECT_GT(*s.next_rotation_date, Now());
  EXPECT_LE(*s.next_rotation_date, Now() + 90 * kDay);
}

TEST_F(RotationTest, DisableKeyRotationTurnsItOff) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  ASSERT_THAT(service_->DisableKeyRotation(Ctx(), key.arn), IsOk());
  KeyRotationStatus s = StatusOf(key.key_id);
  EXPECT_FALSE(s.key_rotation_enabled);
  EXPECT_FALSE(s.rotation_period_in_days.has_value());
  EXPECT_FALSE(s.next_rotation_date.has_value());
  // Disabling what is off is fine.
  EXPECT_THAT(service_->DisableKeyRotation(Ctx(), key.key_id), IsOk());
}

TEST_F(RotationTest, RotationSettingsOfADisabledKeyCannotChange) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  const auto disabled = HasErrorMessage(ErrorCode::kDisabled, key.arn + " is disabled.");
  EXPECT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 180), disabled);
  EXPECT_THAT(service_->DisableKeyRotation(Ctx(), key.key_id), disabled);
  EXPECT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id), disabled);
  // The status can still be read, and is what it was.
  KeyRotationStatus s = StatusOf(key.key_id);
  EXPECT_TRUE(s.key_rotation_enabled);
  EXPECT_EQ(s.rotation_period_in_days, std::optional<int>(90));
  EXPECT_THAT(Rotations(key.key_id), IsOk());
  // Enabled again, the settings can change.
  ASSERT_THAT(service_->EnableKey(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(service_->DisableKeyRotation(Ctx(), key.key_id), IsOk());
}

TEST_F(RotationTest, KeyPendingDeletionReadsAsNotRotatingUntilTheDeletionIsCancelled) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 180), IsOk());
  const std::optional<int64_t> next = StatusOf(key.key_id).next_rotation_date;
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());

  KeyRotationStatus pending = StatusOf(key.key_id);
  EXPECT_FALSE(pending.key_rotation_enabled);
  EXPECT_EQ(pending.key_arn, key.arn);
  const auto invalid = HasErrorMessage(ErrorCode::kInvalidState, key.arn + " is pending deletion.");
  EXPECT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), invalid);
  EXPECT_THAT(service_->DisableKeyRotation(Ctx(), key.key_id), invalid);
  EXPECT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id), invalid);
  EXPECT_THAT(Rotations(key.key_id), IsOk());

  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), IsOk());
  KeyRotationStatus restored = StatusOf(key.key_id);
  EXPECT_TRUE(restored.key_rotation_enabled);
  EXPECT_EQ(restored.rotation_period_in_days, std::optional<int>(180));
  EXPECT_EQ(restored.next_rotation_date, next);
}

TEST_F(RotationTest, RotationOperationsRejectMissingKeysAndAliases) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/r", key.key_id), IsOk());
  for (const std::string& id :
       {std::string("11111111-2222-3333-4444-555555555555"), std::string("alias/r"),
        std::string("arn:aws:kms:us-east-1:111122223333:alias/r")}) {
    EXPECT_THAT(service_->EnableKeyRotation(Ctx(), id, std::nullopt),
                HasError(ErrorCode::kNotFound))
        << id;
    EXPECT_THAT(service_->DisableKeyRotation(Ctx(), id), HasError(ErrorCode::kNotFound)) << id;
    EXPECT_THAT(service_->GetKeyRotationStatus(Ctx(), id), HasError(ErrorCode::kNotFound)) << id;
    EXPECT_THAT(service_->RotateKeyOnDemand(Ctx(), id), HasError(ErrorCode::kNotFound)) << id;
    EXPECT_THAT(Rotations(id), HasError(ErrorCode::kNotFound)) << id;
  }
  EXPECT_FALSE(StatusOf(key.key_id).key_rotation_enabled);
  EXPECT_EQ(AllRotations(key.key_id, "ALL_KEY_MATERIAL", 10).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// On-demand rotation

TEST_F(RotationTest, EachRotationMakesNewMaterialAndEveryOlderCiphertextStillDecrypts) {
  KeyMetadata key = NewKey();
  std::vector<Sample> samples;
  std::set<std::string> materials = {key.current_key_material_id};
  for (int epoch = 0; epoch < 5; ++epoch) {
    const std::string material = CurrentMaterial(key.key_id);
    samples.push_back(Encrypt(key.key_id, "epoch " + std::to_string(epoch) + " a"));
    samples.push_back(Encrypt(key.key_id, "epoch " + std::to_string(epoch) + " b"));
    EXPECT_EQ(samples.back().material_id, material);

    // New data keys carry the current material id.
    GenerateDataKeyRequest gdk;
    gdk.key_id = key.key_id;
    gdk.number_of_bytes = 32;
    auto data_key = service_->GenerateDataKeyWithoutPlaintext(Ctx(), gdk);
    ASSERT_THAT(data_key, IsOk());
    EXPECT_EQ(data_key->key_material_id, material);

    AdvanceSeconds(kDay);
    auto rotated = service_->RotateKeyOnDemand(Ctx(), key.key_id);
    ASSERT_THAT(rotated, IsOk());
    EXPECT_EQ(*rotated, key.arn);
    const std::string next = CurrentMaterial(key.key_id);
    EXPECT_EQ(next.size(), 64u);
    EXPECT_TRUE(materials.insert(next).second) << "material reused at epoch " << epoch;
  }
  // Key id, ARN and state are unchanged.
  KeyMetadata after = service_->DescribeKey(Ctx(), key.key_id).value();
  EXPECT_EQ(after.arn, key.arn);
  EXPECT_EQ(after.key_state, "Enabled");
  EXPECT_EQ(after.creation_date, key.creation_date);
  for (const Sample& s : samples) {
    ExpectDecrypts(s);
  }
  // New ciphertexts use the newest material.
  Sample fresh = Encrypt(key.key_id, "fresh");
  EXPECT_EQ(fresh.material_id, after.current_key_material_id);
  ExpectDecrypts(fresh);
}

TEST_F(RotationTest, ReEncryptMovesAnOldCiphertextToTheCurrentMaterial) {
  KeyMetadata key = NewKey();
  Sample old = Encrypt(key.key_id, "old");
  ASSERT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id), IsOk());
  ReEncryptRequest req;
  req.ciphertext_blob = old.blob;
  req.source_context = {{"text", "old"}};
  req.destination_key_id = key.key_id;
  req.destination_context = {{"text", "old"}};
  auto r = service_->ReEncrypt(Ctx(), req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->source_key_material_id, old.material_id);
  EXPECT_EQ(r->destination_key_material_id, CurrentMaterial(key.key_id));
  EXPECT_NE(r->source_key_material_id, r->destination_key_material_id);
  ExpectDecrypts({r->ciphertext_blob, "old", CurrentMaterial(key.key_id)});
}

TEST_F(RotationTest, RotationDoesNotLetAnotherKeyDecrypt) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  Sample under_a = Encrypt(a.key_id, "a");
  ASSERT_THAT(service_->RotateKeyOnDemand(Ctx(), a.key_id), IsOk());
  DecryptRequest req;
  req.ciphertext_blob = under_a.blob;
  req.context = {{"text", "a"}};
  req.key_id = b.key_id;
  EXPECT_THAT(service_->Decrypt(Ctx(), req), HasError(ErrorCode::kIncorrectKey));
  req.context = {{"text", "wrong"}};
  req.key_id.reset();
  EXPECT_THAT(service_->Decrypt(Ctx(), req), HasError(ErrorCode::kInvalidCiphertext));
}

TEST_F(RotationTest, RotateKeyOnDemandLeavesTheAutomaticScheduleAlone) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  const KeyRotationStatus before = StatusOf(key.key_id);
  AdvanceSeconds(10 * kDay);
  ASSERT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id), IsOk());
  const KeyRotationStatus after = StatusOf(key.key_id);
  EXPECT_TRUE(after.key_rotation_enabled);
  EXPECT_EQ(after.rotation_period_in_days, before.rotation_period_in_days);
  EXPECT_EQ(after.next_rotation_date, before.next_rotation_date);
  // And a key without automatic rotation can be rotated on demand, and stays without it.
  KeyMetadata manual = NewKey();
  ASSERT_THAT(service_->RotateKeyOnDemand(Ctx(), manual.key_id), IsOk());
  EXPECT_FALSE(StatusOf(manual.key_id).key_rotation_enabled);
}

TEST_F(RotationTest, TheTwentySixthOnDemandRotationIsLimitExceeded) {
  KeyMetadata key = NewKey();
  Sample first = Encrypt(key.key_id, "first");
  for (int i = 0; i < 25; ++i) {
    ASSERT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id), IsOk()) << i;
  }
  const std::string material = CurrentMaterial(key.key_id);
  EXPECT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id),
              HasErrorMessage(ErrorCode::kLimitExceeded,
                              "The on-demand rotation quota of 25 rotations for " + key.arn +
                                  " has been reached."));
  EXPECT_EQ(CurrentMaterial(key.key_id), material);  // nothing was added
  EXPECT_EQ(AllRotations(key.key_id, "ROTATIONS_ONLY", 100).size(), 25u);
  ExpectDecrypts(first);
  // The quota is per key.
  KeyMetadata other = NewKey();
  EXPECT_THAT(service_->RotateKeyOnDemand(Ctx(), other.key_id), IsOk());
  // Automatic rotations do not count against it and still happen.
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  AdvanceSeconds(90 * kDay);
  EXPECT_EQ(Rotated(), 1);
  EXPECT_NE(CurrentMaterial(key.key_id), material);
  EXPECT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id), HasError(ErrorCode::kLimitExceeded));
}

// ---------------------------------------------------------------------------------------------
// ListKeyRotations

TEST_F(RotationTest, ListKeyRotationsOfANewKey) {
  KeyMetadata key = NewKey();
  auto only = Rotations(key.key_id);
  ASSERT_THAT(only, IsOk());
  EXPECT_TRUE(only->rotations.empty());
  EXPECT_FALSE(only->truncated);
  std::vector<RotationEntry> all = AllRotations(key.key_id, "ALL_KEY_MATERIAL", 100);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key_id, key.key_id);
  EXPECT_EQ(all[0].key_material_id, key.current_key_material_id);
  EXPECT_EQ(all[0].key_material_state, "CURRENT");
  EXPECT_EQ(all[0].rotation_type, "");
  EXPECT_EQ(all[0].rotation_date, kStart);
}

TEST_F(RotationTest, ListKeyRotationsListsRotationsOnlyByDefaultAndAllMaterialOnRequest) {
  KeyMetadata key = NewKey();
  std::vector<std::string> materials = {key.current_key_material_id};
  std::vector<int64_t> dates = {kStart};
  for (int i = 0; i < 3; ++i) {
    AdvanceSeconds(kDay);
    ASSERT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id), IsOk());
    materials.push_back(CurrentMaterial(key.key_id));
    dates.push_back(Now());
  }

  for (const std::optional<std::string>& include :
       {std::optional<std::string>(), std::optional<std::string>("ROTATIONS_ONLY")}) {
    auto r = Rotations(key.key_id, include);
    ASSERT_THAT(r, IsOk());
    ASSERT_EQ(r->rotations.size(), 3u);  // the first material is not a rotation
    for (size_t i = 0; i < 3; ++i) {
      const RotationEntry& e = r->rotations[i];
      EXPECT_EQ(e.key_id, key.key_id);
      EXPECT_EQ(e.key_material_id, materials[i + 1]);
      EXPECT_EQ(e.rotation_date, dates[i + 1]);
      EXPECT_EQ(e.rotation_type, "ON_DEMAND");
      EXPECT_EQ(e.key_material_state, i == 2 ? "CURRENT" : "NON_CURRENT");
    }
  }

  std::vector<RotationEntry> all = AllRotations(key.key_id, "ALL_KEY_MATERIAL", 100);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].key_material_id, materials[0]);
  EXPECT_EQ(all[0].rotation_type, "");
  int current = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].key_material_id, materials[i]);
    if (all[i].key_material_state == "CURRENT") {
      ++current;
      EXPECT_EQ(all[i].key_material_id, CurrentMaterial(key.key_id));
    } else {
      EXPECT_EQ(all[i].key_material_state, "NON_CURRENT");
    }
  }
  EXPECT_EQ(current, 1);
}

TEST_F(RotationTest, ListKeyRotationsPagesWithoutDuplicatesOrGaps) {
  KeyMetadata key = NewKey();
  std::vector<std::string> rotations;
  for (int i = 0; i < 7; ++i) {
    ASSERT_THAT(service_->RotateKeyOnDemand(Ctx(), key.key_id), IsOk());
    rotations.push_back(CurrentMaterial(key.key_id));
  }
  for (int limit : {1, 2, 3, 7, 8}) {
    std::vector<std::string> listed;
    for (const RotationEntry& e : AllRotations(key.key_id, "ROTATIONS_ONLY", limit)) {
      listed.push_back(e.key_material_id);
    }
    EXPECT_EQ(listed, rotations) << "limit " << limit;
    std::vector<RotationEntry> all = AllRotations(key.key_id, "ALL_KEY_MATERIAL", limit);
    EXPECT_EQ(all.size(), 8u) << "limit " << limit;
  }
  auto first = Rotations(key.key_id, std::nullopt, 3);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->rotations.size(), 3u);
  EXPECT_TRUE(first->truncated);
  EXPECT_THAT(Rotations(key.key_id, std::nullopt, 3, "garbage"),
              HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(Rotations(key.key_id, std::nullopt, 3, Base64Encode(AsBytes("scy1:x"))),
              HasError(ErrorCode::kInvalidMarker));
}

// ---------------------------------------------------------------------------------------------
// Automatic rotation

TEST_F(RotationTest, MaintenanceRotatesAKeyWhenItsPeriodHasPassed) {
  KeyMetadata key = NewKey();
  Sample before = Encrypt(key.key_id, "before");
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());

  AdvanceSeconds(90 * kDay - 1);
  EXPECT_EQ(Rotated(), 0);
  EXPECT_EQ(CurrentMaterial(key.key_id), key.current_key_material_id);

  AdvanceSeconds(1);
  auto report = Maintain();
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->keys_rotated, 1);
  EXPECT_EQ(report->keys_deleted, 0);
  EXPECT_EQ(report->rotated_key_arns, std::vector<std::string>{key.arn});
  EXPECT_TRUE(report->deleted_key_arns.empty());
  EXPECT_FALSE(report->error.has_value());
  const std::string rotated = CurrentMaterial(key.key_id);
  EXPECT_NE(rotated, key.current_key_material_id);

  KeyRotationStatus s = StatusOf(key.key_id);
  EXPECT_TRUE(s.key_rotation_enabled);
  EXPECT_EQ(s.rotation_period_in_days, std::optional<int>(90));
  EXPECT_EQ(s.next_rotation_date, std::optional<int64_t>(Now() + 90 * kDay));

  // A second pass at the same instant has nothing to do.
  EXPECT_EQ(Rotated(), 0);
  EXPECT_EQ(CurrentMaterial(key.key_id), rotated);

  auto listed = Rotations(key.key_id);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->rotations.size(), 1u);
  EXPECT_EQ(listed->rotations[0].rotation_type, "AUTOMATIC");
  EXPECT_EQ(listed->rotations[0].rotation_date, Now());
  EXPECT_EQ(listed->rotations[0].key_material_id, rotated);
  EXPECT_EQ(listed->rotations[0].key_material_state, "CURRENT");

  ExpectDecrypts(before);
  Sample after = Encrypt(key.key_id, "after");
  EXPECT_EQ(after.material_id, rotated);
  ExpectDecrypts(after);
}

TEST_F(RotationTest, MaintenanceKeepsRotatingEveryPeriod) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 100), IsOk());
  std::vector<Sample> samples = {Encrypt(key.key_id, "0")};
  for (int round = 1; round <= 3; ++round) {
    AdvanceSeconds(50 * kDay);
    EXPECT_EQ(Rotated(), 0) << round;
    AdvanceSeconds(50 * kDay);
    EXPECT_EQ(Rotated(), 1) << round;
    EXPECT_EQ(StatusOf(key.key_id).next_rotation_date,
              std::optional<int64_t>(kStart + (round + 1) * 100 * kDay));
    samples.push_back(Encrypt(key.key_id, std::to_string(round)));
  }
  EXPECT_EQ(AllRotations(key.key_id, "ROTATIONS_ONLY", 100).size(), 3u);
  for (const Sample& s : samples) {
    ExpectDecrypts(s);
  }
}

TEST_F(RotationTest, MaintenanceRotatesOnlyTheKeysThatAreDue) {
  KeyMetadata quarterly = NewKey();
  KeyMetadata yearly = NewKey();
  KeyMetadata never = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), quarterly.key_id, 90), IsOk());
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), yearly.key_id, std::nullopt), IsOk());
  auto other_region = service_->CreateKey(Ctx("eu-west-1"), {});
  ASSERT_THAT(other_region, IsOk());
  ASSERT_THAT(service_->EnableKeyRotation(Ctx("eu-west-1"), other_region->key_id, 90), IsOk());

  AdvanceSeconds(100 * kDay);
  EXPECT_EQ(Rotated(), 2);  // quarterly, and the other region's
  EXPECT_NE(CurrentMaterial(quarterly.key_id), quarterly.current_key_material_id);
  EXPECT_EQ(CurrentMaterial(yearly.key_id), yearly.current_key_material_id);
  EXPECT_EQ(CurrentMaterial(never.key_id), never.current_key_material_id);
}

TEST_F(RotationTest, DisabledKeyIsNotRotatedUntilItIsEnabledAgain) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  AdvanceSeconds(120 * kDay);
  EXPECT_EQ(Rotated(), 0);
  EXPECT_EQ(CurrentMaterial(key.key_id), key.current_key_material_id);

  // Once enabled, the overdue rotation happens on the next pass.
  ASSERT_THAT(service_->EnableKey(Ctx(), key.key_id), IsOk());
  EXPECT_EQ(Rotated(), 1);
  EXPECT_NE(CurrentMaterial(key.key_id), key.current_key_material_id);
  EXPECT_EQ(StatusOf(key.key_id).next_rotation_date, std::optional<int64_t>(Now() + 90 * kDay));
  EXPECT_EQ(Rotated(), 0);
}

TEST_F(RotationTest, KeyPendingDeletionIsNotRotated) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  AdvanceSeconds(85 * kDay);
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 30), IsOk());
  AdvanceSeconds(10 * kDay);  // rotation due, deletion not yet
  auto report = Maintain();
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->keys_rotated, 0);
  EXPECT_EQ(report->keys_deleted, 0);
  EXPECT_EQ(CurrentMaterial(key.key_id), key.current_key_material_id);
  // Cancelled, the key is Disabled and still not rotated; enabled, it is.
  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), IsOk());
  EXPECT_EQ(Rotated(), 0);
  ASSERT_THAT(service_->EnableKey(Ctx(), key.key_id), IsOk());
  EXPECT_EQ(Rotated(), 1);
}

TEST_F(RotationTest, KeyWhoseRotationWasDisabledIsNotRotated) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  ASSERT_THAT(service_->DisableKeyRotation(Ctx(), key.key_id), IsOk());
  AdvanceSeconds(400 * kDay);
  EXPECT_EQ(Rotated(), 0);
  EXPECT_EQ(CurrentMaterial(key.key_id), key.current_key_material_id);
  // Re-enabled, the first rotation is one period from now, not overdue.
  ASSERT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());
  EXPECT_EQ(Rotated(), 0);
  AdvanceSeconds(90 * kDay);
  EXPECT_EQ(Rotated(), 1);
}

}  // namespace
}  // namespace scytale::kms

// CreateAlias, UpdateAlias, DeleteAlias, ListAliases, and aliases as the KeyId of
// cryptographic operations and DescribeKey.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
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

constexpr char kMissingKey[] = "11111111-2222-3333-4444-555555555555";

class AliasesTest : public testing::ServiceFixture {
 protected:
  static std::string AliasArn(const std::string& name, const std::string& region = "us-east-1",
                              const std::string& account = "111122223333") {
    return "arn:aws:kms:" + region + ":" + account + ":" + name;
  }
  Result<EncryptResponse> Encrypt(const std::string& key_id, std::string_view text = "secret",
                                  const std::string& region = "us-east-1") {
    EncryptRequest req;
    req.key_id = key_id;
    req.plaintext = SecretBytes(AsBytes(text));
    return service_->Encrypt(Ctx(region), req);
  }
  Result<DecryptResponse> Decrypt(const Bytes& blob, std::optional<std::string> key_id) {
    DecryptRequest req;
    req.ciphertext_blob = blob;
    req.key_id = std::move(key_id);
    return service_->Decrypt(Ctx(), req);
  }
  // The key an alias resolves to through DescribeKey, or "" with a test failure.
  std::string TargetOf(const std::string& alias, const std::string& region = "us-east-1") {
    auto m = service_->DescribeKey(Ctx(region), alias);
    EXPECT_THAT(m, IsOk()) << alias;
    return m ? m->key_id : "";
  }
  Result<ListAliasesResponse> List(std::optional<std::string> key_id = {},
                                   std::optional<int> limit = {},
                                   std::optional<std::string> marker = {},
                                   const std::string& region = "us-east-1") {
    return service_->ListAliases(Ctx(region), {std::move(key_id), limit, std::move(marker)});
  }
  // Every alias, following markers; fails the test on an oversized page or endless paging.
  std::vector<AliasEntry> ListAll(std::optional<std::string> key_id, int limit) {
    return AllPages(
        [&](std::optional<std::string> marker) { return List(key_id, limit, std::move(marker)); },
        &ListAliasesResponse::aliases, limit, /*max_pages=*/1000);
  }
  static std::vector<std::string> NamesOf(const std::vector<AliasEntry>& aliases) {
    std::vector<std::string> names;
    for (const AliasEntry& a : aliases) {
      names.push_back(a.alias_name);
    }
    return names;
  }
};

// ---------------------------------------------------------------------------------------------
// CreateAlias and aliases as KeyId

TEST_F(AliasesTest, AliasNameAndAliasArnWorkAsKeyIdForCryptographyAndDescribeKey) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/app", key.key_id), IsOk());
  for (const std::string& id : {std::string("alias/app"), AliasArn("alias/app")}) {
    auto m = service_->DescribeKey(Ctx(), id);
    ASSERT_THAT(m, IsOk()) << id;
    EXPECT_EQ(m->key_id, key.key_id);
    EXPECT_EQ(m->arn, key.arn);

    auto enc = Encrypt(id, "via " + id);
    ASSERT_THAT(enc, IsOk()) << id;
    EXPECT_EQ(enc->key_arn, key.arn);  // the key's ARN, not the alias's
    for (const std::optional<std::string>& named :
         {std::optional<std::string>(), std::optional<std::string>(id),
          std::optional<std::string>(key.key_id)}) {
      auto dec = Decrypt(enc->ciphertext_blob, named);
      ASSERT_THAT(dec, IsOk()) << id;
      EXPECT_EQ(Text(dec->plaintext), "via " + id);
      EXPECT_EQ(dec->key_arn, key.arn);
    }

    GenerateDataKeyRequest gdk;
    gdk.key_id = id;
    gdk.key_spec = "AES_128";
    auto data_key = service_->GenerateDataKey(Ctx(), gdk);
    ASSERT_THAT(data_key, IsOk()) << id;
    EXPECT_EQ(data_key->key_arn, key.arn);
    EXPECT_EQ(data_key->plaintext.size(), 16u);
  }
}

TEST_F(AliasesTest, DecryptNamingTheAliasOfAnotherKeyIsIncorrectKey) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/b", b.key_id), IsOk());
  auto enc = Encrypt(a.key_id);
  ASSERT_THAT(enc, IsOk());
  EXPECT_THAT(Decrypt(enc->ciphertext_blob, "alias/b"), HasError(ErrorCode::kIncorrectKey));
  EXPECT_THAT(Decrypt(enc->ciphertext_blob, "alias/none"), HasError(ErrorCode::kNotFound));
}

TEST_F(AliasesTest, CreateAliasTakesTheTargetAsKeyIdOrKeyArn) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/by-id", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/by-arn", key.arn), IsOk());
  EXPECT_EQ(TargetOf("alias/by-id"), key.key_id);
  EXPECT_EQ(TargetOf("alias/by-arn"), key.key_id);
  // Names may use the characters of the model's pattern, and are case-sensitive.
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/Team_1/app:prod-2", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/APP", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/app", key.key_id), IsOk());
  EXPECT_EQ(TargetOf("alias/Team_1/app:prod-2"), key.key_id);
}

TEST_F(AliasesTest, CreateAliasRecordsItsDates) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/dated", key.key_id), IsOk());
  auto listed = List();
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->aliases.size(), 1u);
  const AliasEntry& e = listed->aliases[0];
  EXPECT_EQ(e.alias_name, "alias/dated");
  EXPECT_EQ(e.alias_arn, AliasArn("alias/dated"));
  EXPECT_EQ(e.target_key_id, std::optional<std::string>(key.key_id));
  EXPECT_EQ(e.creation_date, std::optional<int64_t>(kStart));
  EXPECT_EQ(e.last_updated_date, std::optional<int64_t>(kStart));
}

TEST_F(AliasesTest, DuplicateAliasIsAlreadyExistsAndKeepsTheFirstTarget) {
  KeyMetadata first = NewKey();
  KeyMetadata second = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/x", first.key_id), IsOk());
  const auto exists = HasErrorMessage(
      ErrorCode::kAlreadyExists,
      "An alias with the name arn:aws:kms:us-east-1:111122223333:alias/x already exists");
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", second.key_id), exists);
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", first.key_id), exists);
  EXPECT_EQ(TargetOf("alias/x"), first.key_id);
}

TEST_F(AliasesTest, AliasNameWithoutThePrefixIsValidationError) {
  KeyMetadata key = NewKey();
  const auto no_prefix =
      HasErrorMessage(ErrorCode::kValidation, "Alias must start with the prefix \"alias/\".");
  for (const char* name : {"x", "Alias/x", "aliasx", "/alias/x", "ALIAS/x"}) {
    EXPECT_THAT(service_->CreateAlias(Ctx(), name, key.key_id), no_prefix) << name;
    EXPECT_THAT(service_->UpdateAlias(Ctx(), name, key.key_id), no_prefix) << name;
    EXPECT_THAT(service_->DeleteAlias(Ctx(), name), no_prefix) << name;
  }
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/", key.key_id), HasError(ErrorCode::kValidation));
  EXPECT_TRUE(List()->aliases.empty());
}

TEST_F(AliasesTest, AliasNamesUnderAliasAwsAreReserved) {
  KeyMetadata key = NewKey();
  const auto reserved = HasError(ErrorCode::kInvalidAliasName);
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/aws/x", key.key_id), reserved);
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/aws/s3", key.key_id), reserved);
  EXPECT_THAT(service_->UpdateAlias(Ctx(), "alias/aws/s3", key.key_id), reserved);
  EXPECT_THAT(service_->DeleteAlias(Ctx(), "alias/aws/s3"), reserved);
  EXPECT_TRUE(List()->aliases.empty());
  // Only the "alias/aws/" prefix is reserved.
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/awsome", key.key_id), IsOk());
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/my/aws/x", key.key_id), IsOk());
}

TEST_F(AliasesTest, CreateAliasForAMissingTargetIsNotFound) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/existing", key.key_id), IsOk());
  EXPECT_THAT(
      service_->CreateAlias(Ctx(), "alias/x", kMissingKey),
      HasErrorMessage(ErrorCode::kNotFound, "Key 'arn:aws:kms:us-east-1:111122223333:key/" +
                                                std::string(kMissingKey) + "' does not exist"));
  // The target must be a key, not another alias.
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", "alias/existing"),
              HasErrorMessage(ErrorCode::kNotFound, "Invalid keyId 'alias/existing'"));
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", AliasArn("alias/existing")),
              HasError(ErrorCode::kNotFound));
  // A key of another region or account cannot be the target.
  auto foreign = service_->CreateKey(Ctx("eu-west-1"), {});
  ASSERT_THAT(foreign, IsOk());
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", foreign->key_id),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", foreign->arn),
              HasError(ErrorCode::kNotFound));
  auto other_account = service_->CreateKey(Ctx("us-east-1", "444455556666"), {});
  ASSERT_THAT(other_account, IsOk());
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", other_account->arn),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->DescribeKey(Ctx(), "alias/x"), HasError(ErrorCode::kNotFound));
}

TEST_F(AliasesTest, CreateAliasForAKeyPendingDeletionIsInvalidStateButDisabledIsFine) {
  KeyMetadata pending = NewKey();
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), pending.key_id, 7), IsOk());
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", pending.key_id),
              HasErrorMessage(ErrorCode::kInvalidState, pending.arn + " is pending deletion."));
  KeyMetadata disabled = NewKey();
  ASSERT_THAT(service_->DisableKey(Ctx(), disabled.key_id), IsOk());
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/x", disabled.key_id), IsOk());
  EXPECT_EQ(TargetOf("alias/x"), disabled.key_id);
}

TEST_F(AliasesTest, AKeyHasAtMostFiftyAliases) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/a" + std::to_string(i), key.key_id), IsOk())
        << i;
  }
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/a50", key.key_id),
              HasErrorMessage(ErrorCode::kLimitExceeded, "A KMS key can have at most 50 aliases."));
  EXPECT_THAT(service_->DescribeKey(Ctx(), "alias/a50"), HasError(ErrorCode::kNotFound));
  // The limit is per key.
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/other", other.key_id), IsOk());
  // Deleting one makes room again.
  ASSERT_THAT(service_->DeleteAlias(Ctx(), "alias/a0"), IsOk());
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/a50", key.key_id), IsOk());
}

// ---------------------------------------------------------------------------------------------
// UpdateAlias

TEST_F(AliasesTest, UpdateAliasPointsTheAliasAtAnotherKey) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/moving", a.key_id), IsOk());
  auto under_a = Encrypt("alias/moving", "old");
  ASSERT_THAT(under_a, IsOk());
  EXPECT_EQ(under_a->key_arn, a.arn);

  clock_->Advance(std::chrono::hours(1));
  ASSERT_THAT(service_->UpdateAlias(Ctx(), "alias/moving", b.arn), IsOk());
  EXPECT_EQ(TargetOf("alias/moving"), b.key_id);
  EXPECT_EQ(TargetOf(AliasArn("alias/moving")), b.key_id);
  auto under_b = Encrypt("alias/moving", "new");
  ASSERT_THAT(under_b, IsOk());
  EXPECT_EQ(under_b->key_arn, b.arn);

  auto listed = List();
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->aliases.size(), 1u);
  EXPECT_EQ(listed->aliases[0].target_key_id, std::optional<std::string>(b.key_id));
  EXPECT_EQ(listed->aliases[0].creation_date, std::optional<int64_t>(kStart));
  EXPECT_EQ(listed->aliases[0].last_updated_date, std::optional<int64_t>(kStart + 3600));

  // What the alias encrypted before still decrypts (under A), but not when naming the alias.
  auto old = Decrypt(under_a->ciphertext_blob, std::nullopt);
  ASSERT_THAT(old, IsOk());
  EXPECT_EQ(Text(old->plaintext), "old");
  EXPECT_EQ(old->key_arn, a.arn);
  EXPECT_THAT(Decrypt(under_a->ciphertext_blob, "alias/moving"),
              HasError(ErrorCode::kIncorrectKey));
}

TEST_F(AliasesTest, UpdateAliasOfAMissingAliasIsNotFound) {
  KeyMetadata key = NewKey();
  EXPECT_THAT(service_->UpdateAlias(Ctx(), "alias/none", key.key_id),
              HasErrorMessage(ErrorCode::kNotFound,
                              "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found."));
  EXPECT_TRUE(List()->aliases.empty());  // UpdateAlias does not create
}

TEST_F(AliasesTest, UpdateAliasToAMissingKeyOrAnAliasIsNotFound) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/x", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/y", key.key_id), IsOk());
  EXPECT_THAT(service_->UpdateAlias(Ctx(), "alias/x", kMissingKey), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->UpdateAlias(Ctx(), "alias/x", "alias/y"), HasError(ErrorCode::kNotFound));
  EXPECT_EQ(TargetOf("alias/x"), key.key_id);
}

TEST_F(AliasesTest, UpdateAliasToAKeyPendingDeletionIsInvalidStateButAwayFromOneIsFine) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/x", a.key_id), IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), b.key_id, 7), IsOk());
  EXPECT_THAT(service_->UpdateAlias(Ctx(), "alias/x", b.key_id),
              HasErrorMessage(ErrorCode::kInvalidState, b.arn + " is pending deletion."));
  EXPECT_EQ(TargetOf("alias/x"), a.key_id);

  // Only the new target's state matters: an alias may leave a key pending deletion.
  KeyMetadata c = NewKey();
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), a.key_id, 7), IsOk());
  EXPECT_THAT(service_->UpdateAlias(Ctx(), "alias/x", c.key_id), IsOk());
  EXPECT_EQ(TargetOf("alias/x"), c.key_id);
  // ... and it may point at a disabled key.
  KeyMetadata d = NewKey();
  ASSERT_THAT(service_->DisableKey(Ctx(), d.key_id), IsOk());
  EXPECT_THAT(service_->UpdateAlias(Ctx(), "alias/x", d.key_id), IsOk());
  EXPECT_EQ(TargetOf("alias/x"), d.key_id);
}

// ---------------------------------------------------------------------------------------------
// DeleteAlias

TEST_F(AliasesTest, DeleteAliasRemovesTheAliasButNotTheKey) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/gone", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/stays", key.key_id), IsOk());
  ASSERT_THAT(service_->DeleteAlias(Ctx(), "alias/gone"), IsOk());
  EXPECT_THAT(service_->DescribeKey(Ctx(), "alias/gone"),
              HasErrorMessage(ErrorCode::kNotFound,
                              "Alias arn:aws:kms:us-east-1:111122223333:alias/gone is not found."));
  EXPECT_THAT(Encrypt("alias/gone"), HasError(ErrorCode::kNotFound));
  EXPECT_EQ(TargetOf("alias/stays"), key.key_id);
  EXPECT_THAT(service_->DescribeKey(Ctx(), key.key_id), IsOk());
  // Deleting it again: not found.
  EXPECT_THAT(service_->DeleteAlias(Ctx(), "alias/gone"),
              HasErrorMessage(ErrorCode::kNotFound,
                              "Alias arn:aws:kms:us-east-1:111122223333:alias/gone is not found."));
  // The name can be used again.
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/gone", key.key_id), IsOk());
}

TEST_F(AliasesTest, DeleteAliasWorksWhateverTheKeyState) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/a", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/b", key.key_id), IsOk());
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(service_->DeleteAlias(Ctx(), "alias/a"), IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  EXPECT_THAT(service_->DeleteAlias(Ctx(), "alias/b"), IsOk());
  EXPECT_TRUE(List()->aliases.empty());
}

// ---------------------------------------------------------------------------------------------
// ListAliases

TEST_F(AliasesTest, ListAliasesPagesInNameOrderWithoutDuplicatesOrGaps) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  std::vector<std::string> names;
  for (int i = 0; i < 7; ++i) {
    // Created out of order, listed in name order.
    std::string name = "alias/n" + std::to_string((i * 3) % 7);
    names.push_back(name);
    ASSERT_THAT(service_->CreateAlias(Ctx(), name, i % 2 == 0 ? a.key_id : b.key_id), IsOk());
  }
  std::sort(names.begin(), names.end());
  for (int limit : {1, 2, 3, 6, 7, 8, 100}) {
    EXPECT_EQ(NamesOf(ListAll(std::nullopt, limit)), names) << "limit " << limit;
  }
  auto first = List(std::nullopt, 3);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->aliases.size(), 3u);
  EXPECT_TRUE(first->truncated);
  auto second = List(std::nullopt, 3, first->next_marker);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->aliases.front().alias_name, names[3]);
  auto last = List(std::nullopt, 3, second->next_marker);
  ASSERT_THAT(last, IsOk());
  EXPECT_EQ(NamesOf(last->aliases), std::vector<std::string>{names[6]});
  EXPECT_FALSE(last->truncated);
  EXPECT_FALSE(last->next_marker.has_value());
}

TEST_F(AliasesTest, ListAliasesReturnsFiftyByDefaultAndAtMostOneHundred) {
  std::vector<std::string> names;
  for (int k = 0; k < 3; ++k) {
    KeyMetadata key = NewKey();
    for (int i = 0; i < 40; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "alias/k%d-%02d", k, i);
      names.push_back(name);
      ASSERT_THAT(service_->CreateAlias(Ctx(), name, key.key_id), IsOk());
    }
  }
  std::sort(names.begin(), names.end());
  auto by_default = List();
  ASSERT_THAT(by_default, IsOk());
  EXPECT_EQ(by_default->aliases.size(), 50u);
  EXPECT_TRUE(by_default->truncated);

  auto clamped = List(std::nullopt, 1000);  // the model allows 1000; AWS answers at most 100
  ASSERT_THAT(clamped, IsOk());
  EXPECT_EQ(clamped->aliases.size(), 100u);
  EXPECT_TRUE(clamped->truncated);
  auto rest = List(std::nullopt, 1000, clamped->next_marker);
  ASSERT_THAT(rest, IsOk());
  EXPECT_EQ(rest->aliases.size(), 20u);
  EXPECT_FALSE(rest->truncated);

  auto one = List(std::nullopt, 1);
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(NamesOf(one->aliases), std::vector<std::string>{names[0]});
  EXPECT_EQ(NamesOf(ListAll(std::nullopt, 100)), names);
}

TEST_F(AliasesTest, ListAliasesFiltersByKey) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  KeyMetadata bare = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/a1", a.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/b1", b.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/a2", a.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/b2", b.key_id), IsOk());
  EXPECT_EQ(NamesOf(ListAll(a.key_id, 1)), (std::vector<std::string>{"alias/a1", "alias/a2"}));
  EXPECT_EQ(NamesOf(ListAll(b.arn, 50)), (std::vector<std::string>{"alias/b1", "alias/b2"}));
  for (const AliasEntry& e : ListAll(a.key_id, 50)) {
    EXPECT_EQ(e.target_key_id, std::optional<std::string>(a.key_id));
  }
  EXPECT_TRUE(ListAll(bare.key_id, 50).empty());
  EXPECT_THAT(List(std::string(kMissingKey)), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(List(std::string("alias/a1")), HasError(ErrorCode::kNotFound));
}

TEST_F(AliasesTest, ListAliasesRejectsAForgedMarker) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/a", key.key_id), IsOk());
  EXPECT_THAT(List(std::nullopt, 1, "garbage"), HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(List(std::nullopt, 1, Base64Encode(AsBytes("alias/a"))),
              HasError(ErrorCode::kInvalidMarker));
}

TEST_F(AliasesTest, ListAliasesOfAnEmptyRegionIsEmpty) {
  auto r = List();
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->aliases.empty());
  EXPECT_FALSE(r->truncated);
  EXPECT_FALSE(r->next_marker.has_value());
}

// ---------------------------------------------------------------------------------------------
// Regions and accounts

TEST_F(AliasesTest, AliasesArePerRegion) {
  KeyMetadata east = NewKey();
  auto west = service_->CreateKey(Ctx("eu-west-1"), {});
  ASSERT_THAT(west, IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/shared", east.key_id), IsOk());
  // The same name is free in another region.
  ASSERT_THAT(service_->CreateAlias(Ctx("eu-west-1"), "alias/shared", west->key_id), IsOk());
  EXPECT_EQ(TargetOf("alias/shared"), east.key_id);
  EXPECT_EQ(TargetOf("alias/shared", "eu-west-1"), west->key_id);
  EXPECT_EQ(TargetOf(AliasArn("alias/shared", "eu-west-1"), "eu-west-1"), west->key_id);
  auto enc = Encrypt("alias/shared", "x", "eu-west-1");
  ASSERT_THAT(enc, IsOk());
  EXPECT_EQ(enc->key_arn, west->arn);

  // An alias ARN of another region names nothing here.
  EXPECT_THAT(service_->DescribeKey(Ctx(), AliasArn("alias/shared", "eu-west-1")),
              HasError(ErrorCode::kNotFound));
  // A region's aliases are listed only there.
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/east-only", east.key_id), IsOk());
  EXPECT_EQ(NamesOf(List()->aliases),
            (std::vector<std::string>{"alias/east-only", "alias/shared"}));
  auto west_list = List(std::nullopt, std::nullopt, std::nullopt, "eu-west-1");
  ASSERT_THAT(west_list, IsOk());
  ASSERT_EQ(west_list->aliases.size(), 1u);
  EXPECT_EQ(west_list->aliases[0].alias_arn, AliasArn("alias/shared", "eu-west-1"));
  EXPECT_THAT(service_->DescribeKey(Ctx("eu-west-1"), "alias/east-only"),
              HasError(ErrorCode::kNotFound));
  // Deleting in one region leaves the other.
  ASSERT_THAT(service_->DeleteAlias(Ctx("eu-west-1"), "alias/shared"), IsOk());
  EXPECT_EQ(TargetOf("alias/shared"), east.key_id);
  EXPECT_THAT(service_->DeleteAlias(Ctx("eu-west-1"), "alias/east-only"),
              HasError(ErrorCode::kNotFound));
}

TEST_F(AliasesTest, AliasesArePerAccount) {
  KeyMetadata mine = NewKey();
  auto theirs = service_->CreateKey(Ctx("us-east-1", "444455556666"), {});
  ASSERT_THAT(theirs, IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/app", mine.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx("us-east-1", "444455556666"), "alias/app", theirs->key_id),
              IsOk());
  auto m = service_->DescribeKey(Ctx("us-east-1", "444455556666"), "alias/app");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->key_id, theirs->key_id);
  EXPECT_EQ(TargetOf("alias/app"), mine.key_id);
  // Another account's alias ARN is not visible (no cross-account use yet).
  EXPECT_THAT(service_->DescribeKey(Ctx(), AliasArn("alias/app", "us-east-1", "444455556666")),
              HasError(ErrorCode::kNotFound));
}

}  // namespace
}  // namespace scytale::kms

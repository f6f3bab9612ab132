// The shared core of kms/: the key state table (CheckKeyState), tag checks, paging markers,
// key resolution, and Core::UpdateKey's optimistic-lock retries against a real store.
#include "kms/internal/core.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kms/testing/service_fixture.h"
#include "common/testing/matchers.h"

namespace scytale::kms::internal {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::HasErrorMessage;
using ::scytale::testing::IsOk;

constexpr char kKeyId[] = "1234abcd-12ab-34cd-56ef-1234567890ab";
constexpr char kArn[] =
    "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

storage::KeyRow RowIn(const std::string& state) {
  storage::KeyRow row;
  row.key_id = kKeyId;
  row.account_id = "111122223333";
  row.region = "us-west-2";
  row.key_spec = "SYMMETRIC_DEFAULT";
  row.key_usage = "ENCRYPT_DECRYPT";
  row.origin = state == "PendingImport" ? "EXTERNAL" : "AWS_KMS";
  row.key_manager = "CUSTOMER";
  row.key_state = state;
  return row;
}

// The cells of the developer guide's key state table (kms-semantics.md §3).
enum class Cell {
  kOk,
  kDis,        // DisabledException "<arn> is disabled."
  kPd,         // KMSInvalidStateException "<arn> is pending deletion."
  kNpd,        // "... is not pending deletion."
  kPi,         // "... is pending import."
  kUnav,       // "... is unavailable."
  kCre,        // "... is creating."
  kUpd,        // "... is updating."
  kElsewhere,  // decided outside the table's state logic (EXT / [7]: UnsupportedOperation)
};

std::string Describe(Cell cell) {
  switch (cell) {
    case Cell::kOk:
      return "ok";
    case Cell::kDis:
      return "DIS";
    case Cell::kPd:
      return "PD";
    case Cell::kNpd:
      return "NPD";
    case Cell::kPi:
      return "PI";
    case Cell::kUnav:
      return "UNAV";
    case Cell::kCre:
      return "CRE";
    case Cell::kUpd:
      return "UPD";
    case Cell::kElsewhere:
      return "elsewhere";
  }
  return "?";
}

// Checks one cell: the code and AWS's exact message.
void ExpectCell(const std::string& state, const std::string& operation, Cell cell) {
  SCOPED_TRACE(operation + " in " + state + " should be " + Describe(cell));
  Status s = CheckKeyState(operation, RowIn(state));
  const std::string arn = kArn;
  switch (cell) {
    case Cell::kOk:
      EXPECT_THAT(s, IsOk());
      break;
    case Cell::kDis:
      EXPECT_THAT(s, HasErrorMessage(ErrorCode::kDisabled, arn + " is disabled."));
      break;
    case Cell::kPd:
      EXPECT_THAT(s, HasErrorMessage(ErrorCode::kInvalidState, arn + " is pending deletion."));
      break;
    case Cell::kNpd:
      EXPECT_THAT(s, HasErrorMessage(ErrorCode::kInvalidState, arn + " is not pending deletion."));
      break;
    case Cell::kPi:
      EXPECT_THAT(s, HasErrorMessage(ErrorCode::kInvalidState, arn + " is pending import."));
      break;
    case Cell::kUnav:
      EXPECT_THAT(s, HasErrorMessage(ErrorCode::kInvalidState, arn + " is unavailable."));
      break;
    case Cell::kCre:
      EXPECT_THAT(s, HasErrorMessage(ErrorCode::kInvalidState, arn + " is creating."));
      break;
    case Cell::kUpd:
      EXPECT_THAT(s, HasErrorMessage(ErrorCode::kInvalidState, arn + " is updating."));
      break;
    case Cell::kElsewhere:
      break;
  }
}

const std::vector<std::string> kStates = {
    "Enabled",       "Disabled",    "PendingDeletion", "PendingReplicaDeletion",
    "PendingImport", "Unavailable", "Creating",        "Updating"};

// One row of the table: an operation and its cell in each of kStates, in order.
struct TableRow {
  std::vector<std::string> operations;
  std::vector<Cell> cells;
};

using enum Cell;

const std::vector<TableRow> kTable = {
    {{"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
      "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"},
     {kOk, kDis, kPd, kPd, kPi, kUnav, kCre, kOk}},
    {{"DescribeKey", "GetKeyPolicy", "PutKeyPolicy", "ListGrants", "ListKeyPolicies",
      "ListResourceTags", "RetireGrant", "RevokeGrant", "DeleteAlias", "GetKeyLastUsage"},
     {kOk, kOk, kOk, kOk, kOk, kOk, kOk, kOk}},
    {{"CreateAlias", "TagResource", "UntagResource", "UpdateKeyDescription"},
     {kOk, kOk, kPd, kPd, kOk, kOk, kOk, kOk}},
    // The cell for the *new* target of the alias.
    {{"UpdateAlias"}, {kOk, kOk, kPd, kPd, kOk, kOk, kOk, kOk}},
    {{"EnableKey", "DisableKey"}, {kOk, kOk, kPd, kPd, kPi, kOk, kCre, kUpd}},
    {{"ScheduleKeyDeletion"}, {kOk, kOk, kPd, kPd, kOk, kOk, kOk, kUpd}},
    {{"CancelKeyDeletion"}, {kNpd, kNpd, kOk, kOk, kNpd, kNpd, kNpd, kNpd}},
    // PendingImport: EXT; Unavailable: [7] (custom key stores); rotation.cc checks both first.
    {{"EnableKeyRotation", "DisableKeyRotation"},
     {kOk, kDis, kPd, kPd, kElsewhere, kElsewhere, kCre, kOk}},
    {{"GetKeyRotationStatus"}, {kOk, kOk, kOk, kOk, kElsewhere, kElsewhere, kOk, kOk}},
    {{"RotateKeyOnDemand"}, {kOk, kDis, kPd, kPd, kPi, kElsewhere, kCre, kUpd}},
    {{"ListKeyRotations"}, {kOk, kOk, kOk, kOk, kOk, kElsewhere, kOk, kOk}},
    {{"CreateGrant"}, {kOk, kDis, kPd, kPd, kPi, kOk, kCre, kOk}},
};

TEST(KeyStateTableTest, EveryStateAndOperationAnswersAsTheDeveloperGuideTable) {
  for (const TableRow& row : kTable) {
    ASSERT_EQ(row.cells.size(), kStates.size());
    for (const std::string& operation : row.operations) {
      for (size_t i = 0; i < kStates.size(); ++i) {
        ExpectCell(kStates[i], operation, row.cells[i]);
      }
    }
  }
}

// The states Scytale reaches today, spelled out operation by operation so that a
// failure reads on its own.
TEST(KeyStateTableTest, EnabledKeyAllowsEverythingButCancelKeyDeletion) {
  for (const char* op : {"Encrypt", "DescribeKey", "EnableKey", "CreateAlias", "UpdateAlias",
                         "ScheduleKeyDeletion", "EnableKeyRotation", "GetKeyRotationStatus"}) {
    ExpectCell("Enabled", op, kOk);
  }
  ExpectCell("Enabled", "CancelKeyDeletion", kNpd);
}

TEST(KeyStateTableTest, DisabledKeyRefusesCryptographyAndRotationSettingsWithDisabled) {
  ExpectCell("Disabled", "Encrypt", kDis);
  ExpectCell("Disabled", "Decrypt", kDis);
  ExpectCell("Disabled", "EnableKeyRotation", kDis);
  ExpectCell("Disabled", "DisableKeyRotation", kDis);
  ExpectCell("Disabled", "RotateKeyOnDemand", kDis);
  for (const char* op : {"DescribeKey", "EnableKey", "DisableKey", "CreateAlias", "UpdateAlias",
                         "ScheduleKeyDeletion", "GetKeyRotationStatus", "TagResource"}) {
    ExpectCell("Disabled", op, kOk);
  }
  ExpectCell("Disabled", "CancelKeyDeletion", kNpd);
}

TEST(KeyStateTableTest, KeyPendingDeletionAllowsOnlyReadsAndCancel) {
  for (const char* op : {"Encrypt", "EnableKey", "DisableKey", "CreateAlias", "UpdateAlias",
                         "ScheduleKeyDeletion", "EnableKeyRotation", "TagResource", "UntagResource",
                         "UpdateKeyDescription", "RotateKeyOnDemand"}) {
    ExpectCell("PendingDeletion", op, kPd);
  }
  for (const char* op : {"DescribeKey", "CancelKeyDeletion", "GetKeyRotationStatus",
                         "ListResourceTags", "DeleteAlias", "ListKeyRotations"}) {
    ExpectCell("PendingDeletion", op, kOk);
  }
}

TEST(KeyStateTableTest, CryptographyOfAKeyPendingDeletionIsInvalidStateNotDisabled) {
  // The guide allows either exception for the cryptographic rows; Scytale, like the
  // semantics notes, answers KMSInvalidStateException.
  Status s = CheckKeyState("Decrypt", RowIn("PendingDeletion"));
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidState);
}

TEST(KeyStateTableTest, AnUnknownStateRefusesStateDependentOperations) {
  EXPECT_THAT(CheckKeyState("Encrypt", RowIn("Exploded")),
              HasErrorMessage(ErrorCode::kInvalidState, std::string(kArn) + " is Exploded."));
  EXPECT_THAT(CheckKeyState("DescribeKey", RowIn("Exploded")), IsOk());
}

// ---------------------------------------------------------------------------------------------
// Tags, markers, policy, AAD

std::vector<Tag> NumberedTags(int n) {
  std::vector<Tag> tags;
  for (int i = 0; i < n; ++i) {
    tags.push_back({"k" + std::to_string(i), "v"});
  }
  return tags;
}

TEST(CheckTagsTest, AcceptsUpToFiftyDistinctTags) {
  EXPECT_THAT(CheckTags({}), IsOk());
  EXPECT_THAT(CheckTags(NumberedTags(50)), IsOk());
  EXPECT_THAT(CheckTags({{"Key", "a"}, {"key", "b"}, {"empty", ""}}), IsOk());
  EXPECT_THAT(CheckTags({{"aws", "x"}, {"x:aws:y", "z"}, {"AWS-ish", "v"}}), IsOk());
}

TEST(CheckTagsTest, RefusesMoreThanFiftyReservedPrefixesAndDuplicates) {
  EXPECT_THAT(CheckTags(NumberedTags(51)),
              HasErrorMessage(ErrorCode::kLimitExceeded, "A KMS key can have at most 50 tags."));
  EXPECT_THAT(CheckTags({{"ok", "1"}, {"aws:reserved", "2"}}),
              HasErrorMessage(ErrorCode::kTag, "Tag keys beginning with 'aws:' are reserved."));
  EXPECT_THAT(CheckTags({{"a", "1"}, {"b", "2"}, {"a", "3"}}),
              HasErrorMessage(ErrorCode::kTag, "Duplicate tag keys: a"));
  // Duplicates with equal values are still duplicates.
  EXPECT_THAT(CheckTags({{"a", "1"}, {"a", "1"}}), HasError(ErrorCode::kTag));
}

TEST(MarkerTest, RoundTripsAnyPosition) {
  for (const std::string& position :
       {std::string(""), std::string("0"), std::string("12345"), std::string("alias/x:y"),
        std::string("with space and \xc3\xa9")}) {
    std::string marker = MakeMarker(position);
    EXPECT_NE(marker, position);
    EXPECT_EQ(ParseMarker(marker), std::optional<std::string>(position));
  }
}

TEST(MarkerTest, RefusesWhatItDidNotMake) {
  EXPECT_EQ(ParseMarker(""), std::nullopt);
  EXPECT_EQ(ParseMarker("garbage"), std::nullopt);
  EXPECT_EQ(ParseMarker("!!!!"), std::nullopt);
  EXPECT_EQ(ParseMarker(Base64Encode(AsBytes("alias/x"))), std::nullopt);
  EXPECT_EQ(ParseMarker(Base64Encode(AsBytes("scy2:5"))), std::nullopt);
  std::string marker = MakeMarker("5");
  EXPECT_EQ(ParseMarker(marker.substr(0, marker.size() - 1)), std::nullopt);  // truncated
}

TEST(DefaultKeyPolicyTest, IsAwsDefaultPolicyForTheAccount) {
  auto doc = nlohmann::json::parse(DefaultKeyPolicy("444455556666"));
  auto expected = nlohmann::json::parse(R"({
    "Version": "2012-10-17",
    "Id": "key-default-1",
    "Statement": [{
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
      "Action": "kms:*",
      "Resource": "*"
    }]
  })");
  EXPECT_EQ(doc, expected);
}

TEST(BackingKeyAadTest, BindsTheKeyArnAndVersion) {
  Bytes aad = BackingKeyAad(kArn, "abcd");
  EXPECT_EQ(AsString(aad), std::string("scytale:backing-key:") + kArn + ":abcd");
  EXPECT_NE(BackingKeyAad(kArn, "abce"), aad);
}

// ---------------------------------------------------------------------------------------------
// Core over a real store

class CoreTest : public kms::testing::ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    core_ = std::make_unique<Core>(store_.get(), root_.get(), clock_);
  }
  storage::KeyRow Row(const std::string& key_id) {
    auto row = store_->GetKey("111122223333", "us-east-1", key_id);
    EXPECT_THAT(row, IsOk());
    EXPECT_TRUE(row && row->has_value());
    return row && *row ? **row : storage::KeyRow{};
  }
  std::unique_ptr<Core> core_;
};

TEST_F(CoreTest, ResolveKeyFindsAKeyByEveryForm) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/core", key.key_id), IsOk());
  for (const std::string& id : {key.key_id, key.arn, std::string("alias/core"),
                                std::string("arn:aws:kms:us-east-1:111122223333:alias/core")}) {
    auto row = core_->ResolveKey(Ctx(), id);
    ASSERT_THAT(row, IsOk()) << id;
    EXPECT_EQ(row->key_id, key.key_id);
    EXPECT_EQ(Arn(*row), key.arn);
  }
}

TEST_F(CoreTest, ResolveKeyIdOrArnRefusesAliases) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/core", key.key_id), IsOk());
  EXPECT_THAT(core_->ResolveKeyIdOrArn(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(core_->ResolveKeyIdOrArn(Ctx(), key.arn), IsOk());
  EXPECT_THAT(core_->ResolveKeyIdOrArn(Ctx(), "alias/core"),
              HasErrorMessage(ErrorCode::kNotFound, "Invalid keyId 'alias/core'"));
  const std::string alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/core";
  EXPECT_THAT(core_->ResolveKeyIdOrArn(Ctx(), alias_arn),
              HasErrorMessage(ErrorCode::kNotFound, "Invalid keyId '" + alias_arn + "'"));
}

TEST_F(CoreTest, ResolveKeyHidesOtherAccountsAndRegions) {
  KeyMetadata key = NewKey();
  EXPECT_THAT(core_->ResolveKey(Ctx("us-east-1", "444455556666"), key.key_id),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(core_->ResolveKey(Ctx("us-east-1", "444455556666"), key.arn),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(core_->ResolveKey(Ctx("eu-west-1"), key.key_id), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(core_->ResolveKey(Ctx(), "alias/none"),
              HasErrorMessage(ErrorCode::kNotFound,
                              "Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found."));
}

TEST_F(CoreTest, UpdateKeyWritesTheChangeAndBumpsTheRevision) {
  KeyMetadata key = NewKey();
  storage::KeyRow row = Row(key.key_id);
  int calls = 0;
  auto written = core_->UpdateKey(row, [&](storage::KeyRow& r) -> scytale::Status {
    ++calls;
    r.description = "changed";
    return Ok();
  });
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(written->description, "changed");
  EXPECT_EQ(written->revision, row.revision + 1);
  storage::KeyRow stored = Row(key.key_id);
  EXPECT_EQ(stored.description, "changed");
  EXPECT_EQ(stored.revision, written->revision);
  // The returned row can be updated again without a conflict.
  EXPECT_THAT(core_->UpdateKey(*written,
                               [](storage::KeyRow& r) -> scytale::Status {
                                 r.description = "again";
                                 return Ok();
                               }),
              IsOk());
  EXPECT_EQ(Row(key.key_id).description, "again");
}

TEST_F(CoreTest, UpdateKeyRetriesAfterAConcurrentWriteAndKeepsBothChanges) {
  KeyMetadata key = NewKey();
  storage::KeyRow stale = Row(key.key_id);
  int calls = 0;
  auto written = core_->UpdateKey(stale, [&](storage::KeyRow& r) -> scytale::Status {
    if (++calls == 1) {
      // Another writer gets in between this read and our write.
      storage::KeyRow other = Row(key.key_id);
      other.tags.emplace_back("theirs", "1");
      EXPECT_THAT(store_->UpdateKey(other), IsOk());
    }
    r.tags.emplace_back("ours", "2");
    return Ok();
  });
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(calls, 2);  // the change was re-applied to the fresh row
  storage::KeyRow stored = Row(key.key_id);
  std::map<std::string, std::string> tags(stored.tags.begin(), stored.tags.end());
  EXPECT_EQ(tags, (std::map<std::string, std::string>{{"ours", "2"}, {"theirs", "1"}}));
  EXPECT_EQ(stored.revision, stale.revision + 2);
}

TEST_F(CoreTest, UpdateKeyGivesUpWithConflictAfterTenLostRaces) {
  KeyMetadata key = NewKey();
  int calls = 0;
  auto written = core_->UpdateKey(Row(key.key_id), [&](storage::KeyRow& r) -> scytale::Status {
    ++calls;
    storage::KeyRow other = Row(key.key_id);
    other.description = "theirs " + std::to_string(calls);
    EXPECT_THAT(store_->UpdateKey(other), IsOk());
    r.description = "ours";
    return Ok();
  });
  EXPECT_THAT(written, HasError(ErrorCode::kConflict));
  EXPECT_EQ(calls, 10);
  EXPECT_EQ(Row(key.key_id).description, "theirs 10");
}

TEST_F(CoreTest, UpdateKeyReturnsTheMutationsErrorAndWritesNothing) {
  KeyMetadata key = NewKey();
  storage::KeyRow row = Row(key.key_id);
  auto written = core_->UpdateKey(row, [](storage::KeyRow& r) -> scytale::Status {
    r.description = "never written";
    return MakeError(ErrorCode::kInvalidState, "no");
  });
  EXPECT_THAT(written, HasErrorMessage(ErrorCode::kInvalidState, "no"));
  storage::KeyRow stored = Row(key.key_id);
  EXPECT_EQ(stored.description, "");
  EXPECT_EQ(stored.revision, row.revision);
}

TEST_F(CoreTest, UpdateKeyRechecksTheStateOnRetry) {
  // A mutation that checks the key state sees the state another writer set in between.
  KeyMetadata key = NewKey();
  int calls = 0;
  auto written = core_->UpdateKey(Row(key.key_id), [&](storage::KeyRow& r) -> scytale::Status {
    if (++calls == 1) {
      storage::KeyRow other = Row(key.key_id);
      other.key_state = "PendingDeletion";
      other.deletion_date = clock_->NowSeconds() + 7 * 86400;
      EXPECT_THAT(store_->UpdateKey(other), IsOk());
    }
    SCY_RETURN_IF_ERROR(CheckKeyState("TagResource", r));
    r.tags.emplace_back("late", "x");
    return Ok();
  });
  EXPECT_THAT(written,
              HasErrorMessage(ErrorCode::kInvalidState, key.arn + " is pending deletion."));
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(Row(key.key_id).tags.empty());
}

TEST_F(CoreTest, UpdateKeyOfAKeyDeletedMeanwhileIsNotFound) {
  KeyMetadata key = NewKey();
  storage::KeyRow row = Row(key.key_id);
  ASSERT_THAT(store_->DeleteKey(key.key_id), IsOk());
  auto written = core_->UpdateKey(row, [](storage::KeyRow& r) -> scytale::Status {
    r.description = "x";
    return Ok();
  });
  EXPECT_THAT(written, HasError(ErrorCode::kNotFound));
}

TEST_F(CoreTest, UpdateKeyDropsTheKeysCachedMaterial) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  auto material = std::make_shared<const crypto::SecretBytes>(crypto::SecretBytes(32));
  core_->cache().Put(key.key_id, "v1", material);
  core_->cache().Put(other.key_id, "v1", material);
  ASSERT_NE(core_->cache().Get(key.key_id, "v1"), nullptr);
  ASSERT_THAT(core_->UpdateKey(Row(key.key_id),
                               [](storage::KeyRow& r) -> scytale::Status {
                                 r.description = "x";
                                 return Ok();
                               }),
              IsOk());
  EXPECT_EQ(core_->cache().Get(key.key_id, "v1"), nullptr);
  EXPECT_NE(core_->cache().Get(other.key_id, "v1"), nullptr);
}

TEST_F(CoreTest, MetadataReflectsTheRow) {
  KeyMetadata key = NewKey();
  storage::KeyRow row = Row(key.key_id);
  row.key_state = "PendingDeletion";
  row.deletion_date = 1700604800;
  auto m = core_->Metadata(row);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->key_state, "PendingDeletion");
  EXPECT_FALSE(m->enabled);
  EXPECT_EQ(m->deletion_date, std::optional<int64_t>(1700604800));
  EXPECT_EQ(m->current_key_material_id, key.current_key_material_id);
  EXPECT_EQ(m->encryption_algorithms, std::vector<std::string>{"SYMMETRIC_DEFAULT"});
}

}  // namespace
}  // namespace scytale::kms::internal

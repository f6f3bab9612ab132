// The conformance suite every Store backend passes, parameterized by a factory: SQLite in a
// temporary directory, and PostgreSQL in a private cluster (storage/testing/pg_cluster.h) with
// one database per test. Tests that open several stores on one database stand for several
// processes or nodes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/testing/temp_dir.h"
#include "storage/storage.h"
#include "storage/testing/pg_cluster.h"
#include "storage/testing/rows.h"

namespace scytale::storage {
namespace {

struct Backend {
  std::string name;
  // Opens a fresh store in `dir`; called again with the same dir to reopen it.
  std::function<Result<std::unique_ptr<Store>>(const std::filesystem::path& dir)> open;
};

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = scytale::testing::FreshTestDir("scy-store");
    store_ = Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Store> Reopen() {
    store_.reset();
    return Open(dir_);
  }
  // Another store on the database of `dir` (as another process or node would open it).
  static std::unique_ptr<Store> Open(const std::filesystem::path& dir) {
    auto s = GetParam().open(dir);
    EXPECT_TRUE(s.has_value()) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  // Runs `body(i)` on `n` threads started together; returns how many returned OK, and checks
  // that every failure has the code `loser`.
  static int Race(int n, ErrorCode loser, const std::function<Status(int)>& body) {
    std::atomic<int> ready{0};
    std::atomic<int> won{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < n) {
          std::this_thread::yield();
        }
        Status s = body(i);
        if (s) {
          ++won;
        } else {
          EXPECT_EQ(s.error().code, loser) << s.error().message;
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    return won.load();
  }

  static KeyRow Key(const std::string& id, const std::string& region = "us-east-1") {
    return testing::TestKey(id, region);
  }
  static KeyVersionRow Version(const std::string& key_id) { return testing::TestVersion(key_id); }

  // `n` more stores on this test's database, as `n` other nodes would open it.
  std::vector<std::unique_ptr<Store>> Nodes(int n) {
    std::vector<std::unique_ptr<Store>> nodes;
    for (int i = 0; i < n; ++i) {
      nodes.push_back(Open(dir_));
    }
    return nodes;
  }

  // A long-term access key row (no owner user, token or expiration).
  static AccessKeyRow AccessKey(const std::string& id, const std::string& principal_arn,
                                const std::string& status, int64_t created_at, Bytes secret) {
    AccessKeyRow row;
    row.access_key_id = id;
    row.account_id = "111122223333";
    row.principal_arn = principal_arn;
    row.status = status;
    row.created_at = created_at;
    row.wrapped_secret = std::move(secret);
    return row;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformance, InsertedKeyIsReadBackWithVersionAndTags) {
  KeyRow k = Key("k1");
  k.tags = {{"b", "2"}, {"a", "1"}};
  k.deletion_date = 1800000000;
  ASSERT_TRUE(store_->InsertKey(k, Version("k1")).has_value());
  auto got = store_->GetKey("111122223333", "us-east-1", "k1");
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  const KeyRow& r = **got;
  EXPECT_EQ(r.description, "desc k1");
  EXPECT_EQ(r.key_state, "Enabled");
  EXPECT_EQ(r.deletion_date, 1800000000);
  EXPECT_GT(r.seq, 0);
  ASSERT_EQ(r.tags.size(), 2u);
  EXPECT_EQ(r.tags[0].first, "a");
  auto versions = store_->ListKeyVersions("k1").value();
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].wrapped_material, (Bytes{1, 2, 3, 0, 5}));
  auto one = store_->GetKeyVersion("k1", "v1-k1").value();
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->wrapped_material, (Bytes{1, 2, 3, 0, 5}));
  EXPECT_FALSE(store_->GetKeyVersion("k1", "v2").value().has_value());
}

TEST_P(StoreConformance, DuplicateKeyIdIsAlreadyExistsAndChangesNothing) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  KeyRow again = Key("k1");
  again.description = "other";
  auto r = store_->InsertKey(again, Version("k1"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ((*store_->GetKey("111122223333", "us-east-1", "k1").value()).description, "desc k1");
  EXPECT_EQ(store_->ListKeyVersions("k1").value().size(), 1u);
}

TEST_P(StoreConformance, KeysAreSeparatedByAccountAndRegion) {
  ASSERT_TRUE(store_->InsertKey(Key("k1", "us-east-1"), Version("k1")).has_value());
  EXPECT_FALSE(store_->GetKey("111122223333", "eu-west-1", "k1").value().has_value());
  EXPECT_FALSE(store_->GetKey("999999999999", "us-east-1", "k1").value().has_value());
  EXPECT_TRUE(store_->ListKeys("111122223333", "eu-west-1", 0, 10).value().empty());
}

TEST_P(StoreConformance, ListKeysPagesInCreationOrder) {
  for (int i = 0; i < 7; ++i) {
    std::string id = "k" + std::to_string(i);
    ASSERT_TRUE(store_->InsertKey(Key(id), Version(id)).has_value());
  }
  std::vector<std::string> seen;
  int64_t after = 0;
  for (;;) {
    auto page = store_->ListKeys("111122223333", "us-east-1", after, 3).value();
    if (page.empty()) {
      break;
    }
    EXPECT_LE(page.size(), 3u);
    for (const auto& k : page) {
      seen.push_back(k.key_id);
    }
    after = page.back().seq;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"k0", "k1", "k2", "k3", "k4", "k5", "k6"}));
}

TEST_P(StoreConformance, DataSurvivesReopen) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  ASSERT_TRUE(store_
                  ->PutAccessKey(
                      AccessKey("AKIA1", "arn:aws:iam::111122223333:root", "Active", 1, {9, 9}))
                  .has_value());
  store_ = Reopen();
  EXPECT_TRUE(store_->GetKey("111122223333", "us-east-1", "k1").value().has_value());
  auto ak = store_->GetAccessKey("AKIA1").value();
  ASSERT_TRUE(ak.has_value());
  EXPECT_EQ(ak->wrapped_secret, (Bytes{9, 9}));
  EXPECT_EQ(store_->SchemaVersion().value(), 7);
}

TEST_P(StoreConformance, AccessKeysAreReplacedAndListedPerPrincipal) {
  const std::string root = "arn:aws:iam::111122223333:root";
  ASSERT_TRUE(store_->PutAccessKey(AccessKey("AKIA1", root, "Active", 1, {1})));
  ASSERT_TRUE(store_->PutAccessKey(AccessKey("AKIA1", root, "Inactive", 1, {2})));
  ASSERT_TRUE(store_->PutAccessKey(AccessKey("AKIA2", root, "Active", 2, {3})));
  auto list = store_->ListAccessKeys(root).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].status, "Inactive");
  EXPECT_FALSE(store_->GetAccessKey("AKIA3").value().has_value());
}

TEST_P(StoreConformance, ConcurrentInsertsAllLand) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 25; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(store_->InsertKey(Key(id), Version(id)).has_value());
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(store_->ListKeys("111122223333", "us-east-1", 0, 1000).value().size(), 100u);
}

TEST_P(StoreConformance, UpdateKeyWritesMutableFieldsAndTagsAndBumpsRevision) {
  KeyRow k = Key("k1");
  k.tags = {{"a", "1"}};
  ASSERT_TRUE(store_->InsertKey(k, Version("k1")).has_value());
  KeyRow got = *store_->GetKey("111122223333", "us-east-1", "k1").value();
  got.description = "new";
  got.key_state = "PendingDeletion";
  got.deletion_date = 1800000000;
  got.pending_window_days = 7;
  got.rotation_enabled = true;
  got.rotation_period_days = 90;
  got.next_rotation_date = 1750000000;
  got.tags = {{"b", "2"}, {"c", "3"}};
  ASSERT_TRUE(store_->UpdateKey(got).has_value());
  KeyRow after = *store_->GetKey("111122223333", "us-east-1", "k1").value();
  EXPECT_EQ(after.description, "new");
  EXPECT_EQ(after.key_state, "PendingDeletion");
  EXPECT_EQ(after.deletion_date, 1800000000);
  EXPECT_EQ(after.pending_window_days, 7);
  EXPECT_TRUE(after.rotation_enabled);
  EXPECT_EQ(after.rotation_period_days, 90);
  EXPECT_EQ(after.next_rotation_date, 1750000000);
  ASSERT_EQ(after.tags.size(), 2u);
  EXPECT_EQ(after.tags[0].first, "b");
  EXPECT_EQ(after.revision, got.revision + 1);

  // A writer holding the old revision loses.
  got.description = "stale";
  auto stale = store_->UpdateKey(got);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ((*store_->GetKey("111122223333", "us-east-1", "k1").value()).description, "new");
}

TEST_P(StoreConformance, AddKeyVersionIsAtomicWithTheKeyUpdate) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  KeyRow got = *store_->GetKey("111122223333", "us-east-1", "k1").value();
  KeyVersionRow v2{"k1", "v2", 1700000100, Bytes{7}, "ON_DEMAND"};
  ASSERT_TRUE(store_->AddKeyVersion(got, v2).has_value());
  auto versions = store_->ListKeyVersions("k1").value();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[1].version_id, "v2");
  EXPECT_EQ(versions[1].rotation_type, "ON_DEMAND");
  EXPECT_EQ(versions[0].rotation_type, "");
  EXPECT_EQ(store_->GetCurrentKeyVersion("k1").value()->version_id, "v2");
  EXPECT_FALSE(store_->GetCurrentKeyVersion("nope").value().has_value());
  // With a stale revision neither the key nor the version changes.
  KeyVersionRow v3{"k1", "v3", 1700000200, Bytes{8}, "AUTOMATIC"};
  EXPECT_EQ(store_->AddKeyVersion(got, v3).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->ListKeyVersions("k1").value().size(), 2u);
}

TEST_P(StoreConformance, ImportedMaterialComesGoesAndExpires) {
  // A key awaiting import has no version at all.
  KeyRow k = Key("k1");
  k.origin = "EXTERNAL";
  k.key_state = "PendingImport";
  ASSERT_TRUE(store_->InsertKey(k, std::nullopt).has_value());
  EXPECT_TRUE(store_->ListKeyVersions("k1").value().empty());
  EXPECT_FALSE(store_->GetCurrentKeyVersion("k1").value().has_value());

  // Import: the key's state and expiry change with the new version, in one transaction.
  KeyRow got = *store_->GetKey("111122223333", "us-east-1", "k1").value();
  got.key_state = "Enabled";
  got.expiration_model = "KEY_MATERIAL_EXPIRES";
  got.valid_to = 5000;
  KeyVersionRow imported{"k1", "m1", 1700000100, Bytes{9, 9}, ""};
  ASSERT_TRUE(store_->PutKeyVersion(got, imported).has_value());
  got = *store_->GetKey("111122223333", "us-east-1", "k1").value();
  EXPECT_EQ(got.key_state, "Enabled");
  EXPECT_EQ(got.expiration_model, "KEY_MATERIAL_EXPIRES");
  EXPECT_EQ(got.valid_to, 5000);
  EXPECT_EQ(store_->GetCurrentKeyVersion("k1").value()->wrapped_material, (Bytes{9, 9}));

  EXPECT_TRUE(store_->ListKeysWithExpiredMaterial(4999).value().empty());
  auto expired = store_->ListKeysWithExpiredMaterial(5000).value();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].key_id, "k1");

  // Deleting the material keeps the version's id with an empty blob.
  got.key_state = "PendingImport";
  got.expiration_model = "";
  got.valid_to.reset();
  ASSERT_TRUE(store_->PutKeyVersion(got, KeyVersionRow{"k1", "m1", 1700000100, {}, ""}));
  auto versions = store_->ListKeyVersions("k1").value();
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].version_id, "m1");
  EXPECT_TRUE(versions[0].wrapped_material.empty());
  EXPECT_TRUE(store_->ListKeysWithExpiredMaterial(1 << 30).value().empty());

  // With a stale revision neither the key nor the version changes.
  EXPECT_EQ(store_->PutKeyVersion(got, imported).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(store_->GetCurrentKeyVersion("k1").value()->wrapped_material.empty());
  got = *store_->GetKey("111122223333", "us-east-1", "k1").value();
  EXPECT_EQ(got.key_state, "PendingImport");
  EXPECT_FALSE(got.valid_to.has_value());
}

TEST_P(StoreConformance, PutKeyVersionReplacingOlderMaterialKeepsVersionOrder) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  KeyRow got = *store_->GetKey("111122223333", "us-east-1", "k1").value();
  ASSERT_TRUE(store_->AddKeyVersion(got, KeyVersionRow{"k1", "v2", 1700000100, Bytes{2}, "ON_DEMAND"}));
  got = *store_->GetKey("111122223333", "us-east-1", "k1").value();
  // The first version's material is replaced (emptied): it stays first, v2 stays current.
  KeyVersionRow first = store_->ListKeyVersions("k1").value().front();
  first.wrapped_material.clear();
  ASSERT_TRUE(store_->PutKeyVersion(got, first));
  auto versions = store_->ListKeyVersions("k1").value();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version_id, "v1-k1");
  EXPECT_TRUE(versions[0].wrapped_material.empty());
  EXPECT_EQ(versions[0].created_at, 1700000000);
  EXPECT_EQ(versions[1].version_id, "v2");
  EXPECT_EQ(store_->GetCurrentKeyVersion("k1").value()->version_id, "v2");
  EXPECT_TRUE(store_->GetKeyVersion("k1", "v1-k1").value()->wrapped_material.empty());
}

TEST_P(StoreConformance, DeleteKeyDestroysVersionsTagsAndAliases) {
  KeyRow k = Key("k1");
  k.tags = {{"a", "1"}};
  ASSERT_TRUE(store_->InsertKey(k, Version("k1")).has_value());
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/a", "k1", 1, 1}, 50));
  ASSERT_TRUE(store_->DeleteKey("k1").has_value());
  EXPECT_FALSE(store_->GetKey("111122223333", "us-east-1", "k1").value().has_value());
  EXPECT_TRUE(store_->ListKeyVersions("k1").value().empty());
  EXPECT_FALSE(store_->GetAlias("111122223333", "us-east-1", "alias/a").value().has_value());
  EXPECT_EQ(store_->DeleteKey("k1").error().code, ErrorCode::kNotFound);
  // The id can never come back with old material: a new key with that id starts afresh.
  ASSERT_TRUE(store_->InsertKey(Key("k1"), KeyVersionRow{"k1", "fresh", 1, {1}, ""}));
  EXPECT_EQ(store_->ListKeyVersions("k1").value().size(), 1u);
}

TEST_P(StoreConformance, DueListsFindKeysAcrossAccountsAndRegions) {
  KeyRow a = Key("a", "us-east-1");
  a.deletion_date = 100;
  KeyRow b = Key("b", "eu-west-1");
  b.deletion_date = 200;
  KeyRow c = Key("c");
  c.rotation_enabled = true;
  c.next_rotation_date = 150;
  KeyRow d = Key("d");
  d.rotation_enabled = false;
  d.next_rotation_date = 50;
  for (const KeyRow* k : {&a, &b, &c, &d}) {
    ASSERT_TRUE(store_->InsertKey(*k, Version(k->key_id)).has_value());
  }
  auto due = store_->ListKeysDueForDeletion(150).value();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key_id, "a");
  EXPECT_EQ(store_->ListKeysDueForDeletion(200).value().size(), 2u);
  auto rot = store_->ListKeysDueForRotation(150).value();
  ASSERT_EQ(rot.size(), 1u);
  EXPECT_EQ(rot[0].key_id, "c");
  EXPECT_TRUE(store_->ListKeysDueForRotation(149).value().empty());
}

TEST_P(StoreConformance, CountsKeysByStateAcrossAccountsAndRegions) {
  EXPECT_TRUE(store_->CountKeysByState().value().empty());
  KeyRow a = Key("a", "us-east-1");
  KeyRow b = Key("b", "eu-west-1");
  KeyRow c = Key("c");
  c.account_id = "444455556666";
  c.key_state = "Disabled";
  KeyRow d = Key("d");
  d.key_state = "PendingDeletion";
  d.deletion_date = 100;
  for (const KeyRow* k : {&a, &b, &c, &d}) {
    ASSERT_TRUE(store_->InsertKey(*k, Version(k->key_id)).has_value());
  }
  using Counts = std::map<std::string, int64_t>;
  EXPECT_EQ(store_->CountKeysByState().value(),
            (Counts{{"Disabled", 1}, {"Enabled", 2}, {"PendingDeletion", 1}}));
  KeyRow changed = store_->GetKey("111122223333", "us-east-1", "a").value().value();
  changed.key_state = "Disabled";
  ASSERT_TRUE(store_->UpdateKey(changed).has_value());
  ASSERT_TRUE(store_->DeleteKey("d").has_value());
  EXPECT_EQ(store_->CountKeysByState().value(), (Counts{{"Disabled", 2}, {"Enabled", 1}}));
}

TEST_P(StoreConformance, AliasesAreUniquePerAccountAndRegionAndPage) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  ASSERT_TRUE(store_->InsertKey(Key("k2"), Version("k2")).has_value());
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/b", "k1", 1, 1}, 50));
  EXPECT_EQ(store_->InsertAlias({"111122223333", "us-east-1", "alias/b", "k2", 1, 1}, 50)
                .error()
                .code,
            ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "eu-west-1", "alias/b", "k2", 1, 1}, 50));
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/a", "k2", 1, 1}, 50));
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/c", "k1", 1, 1}, 50));

  auto page1 = store_->ListAliases("111122223333", "us-east-1", std::nullopt, "", 2).value();
  ASSERT_EQ(page1.size(), 2u);
  EXPECT_EQ(page1[0].alias_name, "alias/a");
  EXPECT_EQ(page1[1].alias_name, "alias/b");
  auto page2 =
      store_->ListAliases("111122223333", "us-east-1", std::nullopt, "alias/b", 2).value();
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0].alias_name, "alias/c");
  auto of_k1 = store_->ListAliases("111122223333", "us-east-1", "k1", "", 10).value();
  ASSERT_EQ(of_k1.size(), 2u);

  ASSERT_TRUE(store_->UpdateAlias({"111122223333", "us-east-1", "alias/b", "k2", 1, 5}, 50));
  EXPECT_EQ(store_->GetAlias("111122223333", "us-east-1", "alias/b").value()->target_key_id,
            "k2");
  EXPECT_EQ(store_->UpdateAlias({"111122223333", "us-east-1", "alias/zz", "k2", 1, 5}, 50)
                .error()
                .code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteAlias("111122223333", "us-east-1", "alias/b"));
  EXPECT_EQ(store_->DeleteAlias("111122223333", "us-east-1", "alias/b").error().code,
            ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetAlias("111122223333", "eu-west-1", "alias/b").value().has_value());
}

TEST_P(StoreConformance, AccessKeysKeepOwnerSessionTokenAndExpiration) {
  const std::string user = "arn:aws:iam::111122223333:user/alice";
  AccessKeyRow row = AccessKey("AKIAU1", user, "Active", 5, {9});
  row.user_name = "alice";
  ASSERT_TRUE(store_->PutAccessKey(row));
  AccessKeyRow session =
      AccessKey("ASIAS1", "arn:aws:sts::111122223333:assumed-role/r/s", "Active", 6, {8});
  session.session_token = "token-xyz";
  session.expiration = 1700003600;
  ASSERT_TRUE(store_->PutAccessKey(session));

  auto got = store_->GetAccessKey("AKIAU1").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->user_name, "alice");
  EXPECT_EQ(got->session_token, "");
  EXPECT_FALSE(got->expiration.has_value());
  auto got_session = store_->GetAccessKey("ASIAS1").value();
  ASSERT_TRUE(got_session.has_value());
  EXPECT_EQ(got_session->session_token, "token-xyz");
  EXPECT_EQ(got_session->expiration, 1700003600);
  EXPECT_EQ(got_session->user_name, "");
}

TEST_P(StoreConformance, DeletedAccessKeyIsGoneAndSecondDeleteIsNotFound) {
  const std::string root = "arn:aws:iam::111122223333:root";
  ASSERT_TRUE(store_->PutAccessKey(AccessKey("AKIA1", root, "Active", 1, {1})));
  ASSERT_TRUE(store_->DeleteAccessKey("AKIA1"));
  EXPECT_FALSE(store_->GetAccessKey("AKIA1").value().has_value());
  EXPECT_EQ(store_->DeleteAccessKey("AKIA1").error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, ExpiredSessionKeysArePurgedAndLongTermKeysKept) {
  const std::string root = "arn:aws:iam::111122223333:root";
  ASSERT_TRUE(store_->PutAccessKey(AccessKey("AKIA1", root, "Active", 1, {1})));
  AccessKeyRow old_session =
      AccessKey("ASIA1", "arn:aws:sts::111122223333:assumed-role/r/s", "Active", 1, {2});
  old_session.expiration = 100;
  AccessKeyRow new_session = old_session;
  new_session.access_key_id = "ASIA2";
  new_session.expiration = 300;
  ASSERT_TRUE(store_->PutAccessKey(old_session));
  ASSERT_TRUE(store_->PutAccessKey(new_session));
  EXPECT_EQ(store_->DeleteExpiredAccessKeys(200).value(), 1u);
  EXPECT_TRUE(store_->GetAccessKey("AKIA1").value().has_value());
  EXPECT_FALSE(store_->GetAccessKey("ASIA1").value().has_value());
  EXPECT_TRUE(store_->GetAccessKey("ASIA2").value().has_value());
}

TEST_P(StoreConformance, UsersAreUniquePerAccountRegardlessOfCase) {
  ASSERT_TRUE(store_->InsertUser({"111122223333", "Alice", "AIDA1", "/eng/", 10}));
  EXPECT_EQ(store_->InsertUser({"111122223333", "alice", "AIDA2", "/", 11}).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->InsertUser({"444455556666", "bob", "AIDA1", "/", 11}).error().code,
            ErrorCode::kAlreadyExists);  // user ids are unique everywhere
  ASSERT_TRUE(store_->InsertUser({"444455556666", "alice", "AIDA3", "/", 12}));

  auto got = store_->GetUser("111122223333", "ALICE").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->user_name, "Alice");
  EXPECT_EQ(got->user_id, "AIDA1");
  EXPECT_EQ(got->path, "/eng/");
  EXPECT_EQ(got->create_date, 10);
  EXPECT_FALSE(store_->GetUser("111122223333", "carol").value().has_value());
}

TEST_P(StoreConformance, ListUsersFiltersByPathPrefixAndPagesByName) {
  ASSERT_TRUE(store_->InsertUser({"111122223333", "dave", "AIDA4", "/eng/db/", 1}));
  ASSERT_TRUE(store_->InsertUser({"111122223333", "Bob", "AIDA2", "/eng/", 1}));
  ASSERT_TRUE(store_->InsertUser({"111122223333", "alice", "AIDA1", "/", 1}));
  ASSERT_TRUE(store_->InsertUser({"111122223333", "carol", "AIDA3", "/ops%/", 1}));
  ASSERT_TRUE(store_->InsertUser({"444455556666", "zed", "AIDA5", "/", 1}));

  auto all = store_->ListUsers("111122223333", "/", "", 10).value();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].user_name, "alice");
  EXPECT_EQ(all[1].user_name, "Bob");
  auto eng = store_->ListUsers("111122223333", "/eng/", "", 10).value();
  ASSERT_EQ(eng.size(), 2u);
  EXPECT_EQ(eng[0].user_name, "Bob");
  EXPECT_EQ(eng[1].user_name, "dave");
  auto page = store_->ListUsers("111122223333", "/", "bob", 1).value();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].user_name, "carol");
  EXPECT_TRUE(store_->ListUsers("111122223333", "/ops_/", "", 10).value().empty());
  EXPECT_EQ(store_->ListUsers("111122223333", "/ops%/", "", 10).value().size(), 1u);
}

TEST_P(StoreConformance, UserPoliciesArePutReplacedListedAndDeletedWithTheUser) {
  ASSERT_TRUE(store_->InsertUser({"111122223333", "alice", "AIDA1", "/", 1}));
  ASSERT_TRUE(store_->PutUserPolicy("111122223333", "alice", {"p2", "{\"v\":1}"}));
  ASSERT_TRUE(store_->PutUserPolicy("111122223333", "ALICE", {"p1", "{}"}));
  ASSERT_TRUE(store_->PutUserPolicy("111122223333", "alice", {"p2", "{\"v\":2}"}));
  EXPECT_EQ(store_->PutUserPolicy("111122223333", "bob", {"p1", "{}"}).error().code,
            ErrorCode::kNotFound);

  auto p2 = store_->GetUserPolicy("111122223333", "alice", "p2").value();
  ASSERT_TRUE(p2.has_value());
  EXPECT_EQ(p2->document, "{\"v\":2}");
  EXPECT_FALSE(store_->GetUserPolicy("111122223333", "alice", "P2").value().has_value());
  auto list = store_->ListUserPolicies("111122223333", "alice").value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].policy_name, "p1");
  EXPECT_EQ(list[1].policy_name, "p2");

  ASSERT_TRUE(store_->DeleteUserPolicy("111122223333", "alice", "p1"));
  EXPECT_EQ(store_->DeleteUserPolicy("111122223333", "alice", "p1").error().code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteUser("111122223333", "alice"));
  EXPECT_EQ(store_->DeleteUser("111122223333", "alice").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListUserPolicies("111122223333", "alice").value().empty());
  // A new user of the same name starts without the old policies.
  ASSERT_TRUE(store_->InsertUser({"111122223333", "alice", "AIDA9", "/", 2}));
  EXPECT_TRUE(store_->ListUserPolicies("111122223333", "alice").value().empty());
}

TEST_P(StoreConformance, RolesAndTheirPoliciesRoundTrip) {
  RoleRow role{"111122223333", "Deployer", "AROA1", "/svc/", "{\"trust\":1}", "deploys", 7200, 3};
  ASSERT_TRUE(store_->InsertRole(role));
  role.role_id = "AROA2";
  role.role_name = "deployer";
  EXPECT_EQ(store_->InsertRole(role).error().code, ErrorCode::kAlreadyExists);

  auto got = store_->GetRole("111122223333", "deployer").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->role_name, "Deployer");
  EXPECT_EQ(got->role_id, "AROA1");
  EXPECT_EQ(got->path, "/svc/");
  EXPECT_EQ(got->trust_policy, "{\"trust\":1}");
  EXPECT_EQ(got->description, "deploys");
  EXPECT_EQ(got->max_session_duration, 7200);
  EXPECT_EQ(got->create_date, 3);
  EXPECT_EQ(store_->ListRoles("111122223333", "/svc/", "", 10).value().size(), 1u);
  EXPECT_TRUE(store_->ListRoles("111122223333", "/other/", "", 10).value().empty());

  ASSERT_TRUE(store_->PutRolePolicy("111122223333", "Deployer", {"p", "{}"}));
  EXPECT_EQ(store_->PutRolePolicy("111122223333", "nope", {"p", "{}"}).error().code,
            ErrorCode::kNotFound);
  EXPECT_TRUE(store_->GetRolePolicy("111122223333", "Deployer", "p").value().has_value());
  EXPECT_EQ(store_->ListRolePolicies("111122223333", "Deployer").value().size(), 1u);
  // Users and roles are separate namespaces.
  EXPECT_TRUE(store_->ListUserPolicies("111122223333", "Deployer").value().empty());
  ASSERT_TRUE(store_->DeleteRolePolicy("111122223333", "Deployer", "p"));
  EXPECT_EQ(store_->DeleteRolePolicy("111122223333", "Deployer", "p").error().code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DeleteRole("111122223333", "Deployer"));
  EXPECT_FALSE(store_->GetRole("111122223333", "Deployer").value().has_value());
  EXPECT_EQ(store_->DeleteRole("111122223333", "Deployer").error().code, ErrorCode::kNotFound);
}

GrantRow Grant(const std::string& key_id, const std::string& grant_id,
               const std::string& grantee = "arn:aws:iam::111122223333:user/dev") {
  GrantRow g;
  g.grant_id = grant_id;
  g.key_id = key_id;
  g.grantee_principal = grantee;
  g.issuing_account = "arn:aws:iam::111122223333:root";
  g.operations = "Decrypt";
  g.creation_date = 1700000100;
  return g;
}

TEST_P(StoreConformance, GrantsRoundTripWithTheirKeysAccountAndRegion) {
  ASSERT_TRUE(store_->InsertKey(Key("k1", "eu-west-1"), Version("k1")).has_value());
  GrantRow g = Grant("k1", "g1");
  g.name = "n";
  g.retiring_principal = "arn:aws:iam::111122223333:role/ops";
  g.constraints = "{\"EncryptionContextSubset\":{\"a\":\"b\"}}";
  auto id = store_->InsertGrant(g, 10);
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(*id, "g1");
  auto got = store_->GetGrant("k1", "g1").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "n");
  EXPECT_EQ(got->retiring_principal, "arn:aws:iam::111122223333:role/ops");
  EXPECT_EQ(got->constraints, g.constraints);
  EXPECT_EQ(got->operations, "Decrypt");
  EXPECT_EQ(got->creation_date, 1700000100);
  EXPECT_EQ(got->key_account_id, "111122223333");
  EXPECT_EQ(got->key_region, "eu-west-1");
  EXPECT_FALSE(store_->GetGrant("k1", "other").value().has_value());
  EXPECT_FALSE(store_->GetGrant("k2", "g1").value().has_value());
  store_ = Reopen();
  EXPECT_TRUE(store_->GetGrant("k1", "g1").value().has_value());
}

TEST_P(StoreConformance, NamedGrantWithTheSameParametersIsNotDuplicated) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  GrantRow g = Grant("k1", "g1");
  g.name = "once";
  ASSERT_EQ(store_->InsertGrant(g, 10).value(), "g1");
  g.grant_id = "g2";
  EXPECT_EQ(store_->InsertGrant(g, 10).value(), "g1");
  g.grant_id = "g3";
  g.operations = "Decrypt,Encrypt";  // other parameters: a new grant
  EXPECT_EQ(store_->InsertGrant(g, 10).value(), "g3");
  GrantRow unnamed = Grant("k1", "g4");
  ASSERT_EQ(store_->InsertGrant(unnamed, 10).value(), "g4");
  unnamed.grant_id = "g5";
  EXPECT_EQ(store_->InsertGrant(unnamed, 10).value(), "g5");
  EXPECT_EQ(store_->ListGrants("k1", {}, 0, 100).value().size(), 4u);
}

TEST_P(StoreConformance, GrantLimitAndMissingKeyAreRefused) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  ASSERT_TRUE(store_->InsertGrant(Grant("k1", "g1"), 2).has_value());
  ASSERT_TRUE(store_->InsertGrant(Grant("k1", "g2"), 2).has_value());
  auto third = store_->InsertGrant(Grant("k1", "g3"), 2);
  ASSERT_FALSE(third.has_value());
  EXPECT_EQ(third.error().code, ErrorCode::kLimitExceeded);
  auto orphan = store_->InsertGrant(Grant("nokey", "g4"), 2);
  ASSERT_FALSE(orphan.has_value());
  EXPECT_EQ(orphan.error().code, ErrorCode::kNotFound);
  auto dup = store_->InsertGrant(Grant("k1", "g1"), 5);
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(StoreConformance, GrantsListByFilterAndPageAndRetiringPrincipal) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  ASSERT_TRUE(store_->InsertKey(Key("k2", "us-west-2"), Version("k2")).has_value());
  const std::string ops = "arn:aws:iam::111122223333:role/ops";
  for (int i = 0; i < 5; ++i) {
    GrantRow g = Grant(i < 4 ? "k1" : "k2", "g" + std::to_string(i),
                       i % 2 == 0 ? "arn:aws:iam::111122223333:user/a"
                                  : "arn:aws:iam::111122223333:user/b");
    if (i != 1) {
      g.retiring_principal = ops;
    }
    ASSERT_TRUE(store_->InsertGrant(g, 100).has_value());
  }
  auto page1 = store_->ListGrants("k1", {}, 0, 3).value();
  ASSERT_EQ(page1.size(), 3u);
  EXPECT_EQ(page1[0].grant_id, "g0");
  auto page2 = store_->ListGrants("k1", {}, page1.back().seq, 3).value();
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0].grant_id, "g3");
  auto by_id = store_->ListGrants("k1", {.grant_id = "g2"}, 0, 10).value();
  ASSERT_EQ(by_id.size(), 1u);
  EXPECT_EQ(by_id[0].grant_id, "g2");
  auto by_grantee =
      store_->ListGrants("k1", {.grantee_principal = "arn:aws:iam::111122223333:user/b"}, 0, 10)
          .value();
  ASSERT_EQ(by_grantee.size(), 2u);
  EXPECT_EQ(by_grantee[1].grant_id, "g3");
  auto retirable = store_->ListRetirableGrants(ops, 0, 10).value();
  ASSERT_EQ(retirable.size(), 4u);  // g0, g2, g3 on k1 and g4 on k2
  EXPECT_EQ(retirable[3].key_region, "us-west-2");
  EXPECT_EQ(store_->ListRetirableGrants(ops, retirable[1].seq, 10).value().size(), 2u);
  EXPECT_TRUE(store_->ListRetirableGrants("", 0, 10).value().empty());
}

TEST_P(StoreConformance, GrantsAreDeletedOneByOneAndWithTheirKey) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  ASSERT_TRUE(store_->InsertGrant(Grant("k1", "g1"), 10).has_value());
  ASSERT_TRUE(store_->InsertGrant(Grant("k1", "g2"), 10).has_value());
  ASSERT_TRUE(store_->DeleteGrant("k1", "g1").has_value());
  auto again = store_->DeleteGrant("k1", "g1");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store_->DeleteGrant("k2", "g2").has_value());
  ASSERT_TRUE(store_->DeleteKey("k1").has_value());
  EXPECT_FALSE(store_->GetGrant("k1", "g2").value().has_value());
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  EXPECT_TRUE(store_->ListGrants("k1", {}, 0, 10).value().empty());
}

TEST_P(StoreConformance, IamRowsSurviveReopen) {
  ASSERT_TRUE(store_->InsertUser({"111122223333", "alice", "AIDA1", "/", 1}));
  ASSERT_TRUE(store_->PutUserPolicy("111122223333", "alice", {"p", "{}"}));
  ASSERT_TRUE(store_->InsertRole({"111122223333", "r", "AROA1", "/", "{}", "", 3600, 1}));
  store_ = Reopen();
  EXPECT_TRUE(store_->GetUser("111122223333", "alice").value().has_value());
  EXPECT_EQ(store_->ListUserPolicies("111122223333", "alice").value().size(), 1u);
  EXPECT_TRUE(store_->GetRole("111122223333", "r").value().has_value());
}

TEST_P(StoreConformance, AliasOfAMissingKeyIsNotFound) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  EXPECT_EQ(store_->InsertAlias({"111122223333", "us-east-1", "alias/a", "nokey", 1, 1}, 50)
                .error()
                .code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/a", "k1", 1, 1}, 50));
  EXPECT_EQ(store_->UpdateAlias({"111122223333", "us-east-1", "alias/a", "nokey", 1, 2}, 50)
                .error()
                .code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetAlias("111122223333", "us-east-1", "alias/a").value()->target_key_id,
            "k1");
}

TEST_P(StoreConformance, AliasesPerKeyStopAtTheLimitOnInsertAndMove) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  ASSERT_TRUE(store_->InsertKey(Key("k2"), Version("k2")).has_value());
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/a", "k1", 1, 1}, 2));
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/b", "k1", 1, 1}, 2));
  EXPECT_EQ(store_->InsertAlias({"111122223333", "us-east-1", "alias/c", "k1", 1, 1}, 2)
                .error()
                .code,
            ErrorCode::kLimitExceeded);
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/c", "k2", 1, 1}, 2));
  ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", "alias/d", "k2", 1, 1}, 2));
  // Moving onto a full key is refused; re-pointing an alias at its own key is not a move.
  EXPECT_EQ(store_->UpdateAlias({"111122223333", "us-east-1", "alias/c", "k1", 1, 2}, 2)
                .error()
                .code,
            ErrorCode::kLimitExceeded);
  EXPECT_TRUE(store_->UpdateAlias({"111122223333", "us-east-1", "alias/c", "k2", 1, 2}, 2));
  ASSERT_TRUE(store_->DeleteAlias("111122223333", "us-east-1", "alias/a"));
  EXPECT_TRUE(store_->UpdateAlias({"111122223333", "us-east-1", "alias/c", "k1", 1, 3}, 2));
  EXPECT_EQ(store_->ListAliases("111122223333", "us-east-1", "k1", "", 10).value().size(), 2u);
}

TEST_P(StoreConformance, NamesOrderAndPageByteWise) {
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  for (const char* name : {"alias/b", "alias/B", "alias/a", "alias/_x", "alias/A-1"}) {
    ASSERT_TRUE(store_->InsertAlias({"111122223333", "us-east-1", name, "k1", 1, 1}, 50));
  }
  std::vector<std::string> names;
  const auto all = store_->ListAliases("111122223333", "us-east-1", std::nullopt, "", 10).value();
  for (const auto& a : all) {
    names.push_back(a.alias_name);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"alias/A-1", "alias/B", "alias/_x", "alias/a", "alias/b"}));
  EXPECT_EQ(store_->ListAliases("111122223333", "us-east-1", std::nullopt, "alias/B", 10)
                .value()
                .size(),
            3u);
}

TEST_P(StoreConformance, PingAnswersWhileTheDatabaseIsUp) { EXPECT_TRUE(store_->Ping()); }

// Concurrency: several stores on one database stand for several nodes; their threads race.

TEST_P(StoreConformance, StoresOpeningAFreshDatabaseTogetherMigrateItOnce) {
  const std::filesystem::path fresh = dir_ / "fresh";
  std::filesystem::create_directories(fresh);
  std::vector<std::unique_ptr<Store>> stores(6);
  EXPECT_EQ(Race(6, ErrorCode::kInternal,
                 [&](int i) -> Status {
                   auto s = GetParam().open(fresh);
                   if (!s) {
                     return s.error();
                   }
                   stores[static_cast<size_t>(i)] = std::move(*s);
                   return Ok();
                 }),
            6);
  for (auto& s : stores) {
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->SchemaVersion().value(), store_->SchemaVersion().value());
  }
  ASSERT_TRUE(stores[0]->InsertKey(Key("k1"), Version("k1")).has_value());
  EXPECT_TRUE(stores[5]->GetKey("111122223333", "us-east-1", "k1").value().has_value());
}

TEST_P(StoreConformance, ConcurrentCreatesOfOneAliasLetExactlyOneWin) {
  std::vector<std::unique_ptr<Store>> nodes = Nodes(3);
  for (int i = 0; i < 12; ++i) {
    std::string id = "k" + std::to_string(i);
    ASSERT_TRUE(store_->InsertKey(Key(id), Version(id)).has_value());
  }
  for (int round = 0; round < 3; ++round) {
    std::string name = "alias/race" + std::to_string(round);
    int won = Race(12, ErrorCode::kAlreadyExists, [&](int i) {
      return nodes[static_cast<size_t>(i) % nodes.size()]->InsertAlias(
          {"111122223333", "us-east-1", name, "k" + std::to_string(i), 1, 1}, 50);
    });
    EXPECT_EQ(won, 1) << name;
    EXPECT_TRUE(store_->GetAlias("111122223333", "us-east-1", name).value().has_value());
  }
}

TEST_P(StoreConformance, ConcurrentAliasesOfOneKeyStopAtTheLimit) {
  std::vector<std::unique_ptr<Store>> nodes = Nodes(3);
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  int won = Race(12, ErrorCode::kLimitExceeded, [&](int i) {
    return nodes[static_cast<size_t>(i) % nodes.size()]->InsertAlias(
        {"111122223333", "us-east-1", "alias/n" + std::to_string(i), "k1", 1, 1}, 5);
  });
  EXPECT_EQ(won, 5);
  EXPECT_EQ(store_->ListAliases("111122223333", "us-east-1", "k1", "", 100).value().size(), 5u);
}

TEST_P(StoreConformance, ConcurrentCreatesOfOneKeyIdLetExactlyOneWin) {
  std::vector<std::unique_ptr<Store>> nodes = Nodes(3);
  int won = Race(9, ErrorCode::kAlreadyExists, [&](int i) {
    KeyRow k = Key("same");
    k.description = "writer " + std::to_string(i);
    return nodes[static_cast<size_t>(i) % nodes.size()]->InsertKey(
        k, KeyVersionRow{"same", "v" + std::to_string(i), 1, {1}, ""});
  });
  EXPECT_EQ(won, 1);
  EXPECT_EQ(store_->ListKeyVersions("same").value().size(), 1u);
}

TEST_P(StoreConformance, ConcurrentUpdatesFromOneRevisionLetExactlyOneWin) {
  std::vector<std::unique_ptr<Store>> nodes = Nodes(3);
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  const KeyRow read = store_->GetKey("111122223333", "us-east-1", "k1").value().value();
  int won = Race(9, ErrorCode::kConflict, [&](int i) {
    KeyRow mine = read;
    mine.description = "writer " + std::to_string(i);
    mine.tags = {{"writer", std::to_string(i)}};
    if (i % 2 == 0) {
      return nodes[static_cast<size_t>(i) % nodes.size()]->UpdateKey(mine);
    }
    return nodes[static_cast<size_t>(i) % nodes.size()]->AddKeyVersion(
        mine, KeyVersionRow{"k1", "v-" + std::to_string(i), 2, {2}, "ON_DEMAND"});
  });
  EXPECT_EQ(won, 1);
  KeyRow after = store_->GetKey("111122223333", "us-east-1", "k1").value().value();
  EXPECT_EQ(after.revision, read.revision + 1);
  ASSERT_EQ(after.tags.size(), 1u);
  EXPECT_EQ(after.description, "writer " + after.tags[0].second);
  // The winner's version landed only if the winner rotated.
  size_t versions = store_->ListKeyVersions("k1").value().size();
  EXPECT_EQ(versions, std::stoi(after.tags[0].second) % 2 == 0 ? 1u : 2u);
}

TEST_P(StoreConformance, ConcurrentGrantsStopAtTheLimitAndNamedGrantsAreNotDuplicated) {
  std::vector<std::unique_ptr<Store>> nodes = Nodes(3);
  ASSERT_TRUE(store_->InsertKey(Key("k1"), Version("k1")).has_value());
  ASSERT_TRUE(store_->InsertKey(Key("k2"), Version("k2")).has_value());
  int won = Race(12, ErrorCode::kLimitExceeded, [&](int i) -> Status {
    auto id = nodes[static_cast<size_t>(i) % nodes.size()]->InsertGrant(
        Grant("k1", "g" + std::to_string(i)), 5);
    return id ? Ok() : Status(id.error());
  });
  EXPECT_EQ(won, 5);
  EXPECT_EQ(store_->ListGrants("k1", {}, 0, 100).value().size(), 5u);

  std::mutex mu;
  std::set<std::string> ids;
  EXPECT_EQ(Race(12, ErrorCode::kInternal,
                 [&](int i) -> Status {
                   GrantRow g = Grant("k2", "n" + std::to_string(i));
                   g.name = "once";
                   auto id = nodes[static_cast<size_t>(i) % nodes.size()]->InsertGrant(g, 100);
                   if (!id) {
                     return id.error();
                   }
                   std::lock_guard lock(mu);
                   ids.insert(*id);
                   return Ok();
                 }),
            12);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(store_->ListGrants("k2", {}, 0, 100).value().size(), 1u);
}

TEST_P(StoreConformance, ConcurrentCreatesOfOneUserNameInAnyCaseLetExactlyOneWin) {
  std::vector<std::unique_ptr<Store>> nodes = Nodes(3);
  const char* spellings[] = {"alice", "Alice", "ALICE", "aLiCe"};
  int won = Race(12, ErrorCode::kAlreadyExists, [&](int i) {
    return nodes[static_cast<size_t>(i) % nodes.size()]->InsertUser(
        {"111122223333", spellings[i % 4], "AIDA" + std::to_string(i), "/", 1});
  });
  EXPECT_EQ(won, 1);
  won = Race(12, ErrorCode::kAlreadyExists, [&](int i) {
    return nodes[static_cast<size_t>(i) % nodes.size()]->InsertRole(
        {"111122223333", spellings[i % 4], "AROA" + std::to_string(i), "/", "{}", "", 3600, 1});
  });
  EXPECT_EQ(won, 1);
  EXPECT_EQ(store_->ListUsers("111122223333", "/", "", 10).value().size(), 1u);
  EXPECT_EQ(store_->ListRoles("111122223333", "/", "", 10).value().size(), 1u);
}

CustomKeyStoreRow Cks(const std::string& id, const std::string& name, const std::string& cluster,
                      const std::string& region = "us-east-1") {
  CustomKeyStoreRow r;
  r.custom_key_store_id = id;
  r.account_id = "111122223333";
  r.region = region;
  r.name = name;
  r.type = "AWS_CLOUDHSM";
  r.cloud_hsm_cluster_id = cluster;
  r.trust_anchor_certificate = "-----BEGIN CERTIFICATE-----\n...";
  r.wrapped_password = Bytes{9, 0, 8};
  r.connection_state = "DISCONNECTED";
  r.creation_date = 1700000000;
  return r;
}

TEST_P(StoreConformance, CustomKeyStoresRoundTripAndSurviveReopen) {
  CustomKeyStoreRow a = Cks("cks-a", "one", "cluster-aaaaaaaaaaa");
  a.connection_state = "FAILED";
  a.connection_error_code = "INVALID_CREDENTIALS";
  ASSERT_TRUE(store_->InsertCustomKeyStore(a));
  store_ = Reopen();
  auto got = store_->GetCustomKeyStore("111122223333", "us-east-1", "cks-a").value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "one");
  EXPECT_EQ(got->type, "AWS_CLOUDHSM");
  EXPECT_EQ(got->cloud_hsm_cluster_id, "cluster-aaaaaaaaaaa");
  EXPECT_EQ(got->trust_anchor_certificate, a.trust_anchor_certificate);
  EXPECT_EQ(got->wrapped_password, (Bytes{9, 0, 8}));
  EXPECT_EQ(got->connection_state, "FAILED");
  EXPECT_EQ(got->connection_error_code, "INVALID_CREDENTIALS");
  EXPECT_EQ(got->creation_date, 1700000000);
  // Another region or account does not see it.
  EXPECT_FALSE(store_->GetCustomKeyStore("111122223333", "eu-west-1", "cks-a").value());
  EXPECT_FALSE(store_->GetCustomKeyStore("444455556666", "us-east-1", "cks-a").value());
}

TEST_P(StoreConformance, CustomKeyStoreNamesAreUniquePerRegionAndClustersEverywhere) {
  ASSERT_TRUE(store_->InsertCustomKeyStore(Cks("cks-a", "one", "cluster-aaaaaaaaaaa")));
  auto same_name = store_->InsertCustomKeyStore(Cks("cks-b", "one", "cluster-bbbbbbbbbbb"));
  ASSERT_FALSE(same_name);
  EXPECT_EQ(same_name.error().code, ErrorCode::kAlreadyExists);
  auto same_cluster =
      store_->InsertCustomKeyStore(Cks("cks-c", "two", "cluster-aaaaaaaaaaa", "eu-west-1"));
  ASSERT_FALSE(same_cluster);
  EXPECT_EQ(same_cluster.error().code, ErrorCode::kAlreadyExists);
  // The same name in another region is another store.
  ASSERT_TRUE(
      store_->InsertCustomKeyStore(Cks("cks-d", "one", "cluster-ddddddddddd", "eu-west-1")));
  ASSERT_TRUE(store_->InsertCustomKeyStore(Cks("cks-e", "three", "cluster-eeeeeeeeeee")));
  auto listed = store_->ListCustomKeyStores("111122223333", "us-east-1").value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].custom_key_store_id, "cks-a");
  EXPECT_EQ(listed[1].custom_key_store_id, "cks-e");
  EXPECT_EQ(store_->ListCustomKeyStores(std::nullopt, "").value().size(), 3u);
}

TEST_P(StoreConformance, CustomKeyStoreUpdatesAndRefusesTakenNamesOrClusters) {
  ASSERT_TRUE(store_->InsertCustomKeyStore(Cks("cks-a", "one", "cluster-aaaaaaaaaaa")));
  ASSERT_TRUE(store_->InsertCustomKeyStore(Cks("cks-b", "two", "cluster-bbbbbbbbbbb")));
  CustomKeyStoreRow a = store_->GetCustomKeyStore("111122223333", "us-east-1", "cks-a")
                            .value()
                            .value();
  a.name = "renamed";
  a.cloud_hsm_cluster_id = "cluster-ccccccccccc";
  a.wrapped_password = Bytes{7};
  a.connection_state = "CONNECTED";
  ASSERT_TRUE(store_->UpdateCustomKeyStore(a));
  auto got = store_->GetCustomKeyStore("111122223333", "us-east-1", "cks-a").value().value();
  EXPECT_EQ(got.name, "renamed");
  EXPECT_EQ(got.cloud_hsm_cluster_id, "cluster-ccccccccccc");
  EXPECT_EQ(got.wrapped_password, Bytes{7});
  EXPECT_EQ(got.connection_state, "CONNECTED");
  a.name = "two";
  auto taken = store_->UpdateCustomKeyStore(a);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
  auto missing = store_->UpdateCustomKeyStore(Cks("cks-z", "z", "cluster-zzzzzzzzzzz"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, CustomKeyStoreWithKeysIsNotDeletedUntilTheyAreGone) {
  ASSERT_TRUE(store_->InsertCustomKeyStore(Cks("cks-a", "one", "cluster-aaaaaaaaaaa")));
  KeyRow k = Key("k1");
  k.origin = "AWS_CLOUDHSM";
  k.custom_key_store_id = "cks-a";
  ASSERT_TRUE(store_->InsertKey(k, Version("k1")));
  ASSERT_TRUE(store_->InsertKey(Key("k2"), Version("k2")));
  EXPECT_EQ(store_->GetKey("111122223333", "us-east-1", "k1").value()->custom_key_store_id,
            "cks-a");
  EXPECT_EQ(store_->GetKey("111122223333", "us-east-1", "k2").value()->custom_key_store_id, "");
  EXPECT_EQ(store_->CountKeysInCustomKeyStore("cks-a").value(), 1);
  auto refused = store_->DeleteCustomKeyStore("111122223333", "us-east-1", "cks-a");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidState);
  ASSERT_TRUE(store_->DeleteKey("k1"));
  EXPECT_EQ(store_->CountKeysInCustomKeyStore("cks-a").value(), 0);
  ASSERT_TRUE(store_->DeleteCustomKeyStore("111122223333", "us-east-1", "cks-a"));
  EXPECT_FALSE(store_->GetCustomKeyStore("111122223333", "us-east-1", "cks-a").value());
  auto again = store_->DeleteCustomKeyStore("111122223333", "us-east-1", "cks-a");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreConformance, KeyInAMissingCustomKeyStoreIsNotFoundAndNotInserted) {
  KeyRow k = Key("k1");
  k.origin = "AWS_CLOUDHSM";
  k.custom_key_store_id = "cks-missing";
  auto inserted = store_->InsertKey(k, Version("k1"));
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store_->GetKey("111122223333", "us-east-1", "k1").value().has_value());
}

TEST_P(StoreConformance, DeletingACustomKeyStoreWhileNodesCreateKeysInItLeavesNoOrphans) {
  std::vector<std::unique_ptr<Store>> nodes = Nodes(3);
  for (int round = 0; round < 4; ++round) {
    const std::string id = "cks-" + std::to_string(round);
    ASSERT_TRUE(store_->InsertCustomKeyStore(
        Cks(id, "store" + std::to_string(round), "cluster-" + std::to_string(round))));
    std::atomic<bool> deleted{false};
    std::atomic<int> keys{0};
    Race(9, ErrorCode::kInternal, [&](int i) -> Status {
      Store& node = *nodes[static_cast<size_t>(i) % nodes.size()];
      if (i == 4) {
        Status gone = node.DeleteCustomKeyStore("111122223333", "us-east-1", id);
        if (gone) {
          deleted = true;
        } else {
          EXPECT_EQ(gone.error().code, ErrorCode::kInvalidState) << gone.error().message;
        }
        return Ok();
      }
      KeyRow k = Key(id + "-k" + std::to_string(i));
      k.custom_key_store_id = id;
      Status inserted = node.InsertKey(k, Version(k.key_id));
      if (inserted) {
        ++keys;
      } else {
        EXPECT_EQ(inserted.error().code, ErrorCode::kNotFound) << inserted.error().message;
      }
      return Ok();
    });
    // Either the store went first and no key names it, or the keys went first and it stays.
    EXPECT_EQ(store_->CountKeysInCustomKeyStore(id).value(), keys.load()) << id;
    EXPECT_EQ(store_->GetCustomKeyStore("111122223333", "us-east-1", id).value().has_value(),
              !deleted.load())
        << id;
    EXPECT_TRUE(!deleted.load() || keys.load() == 0) << id;
  }
}

// The PostgreSQL backend: one database per test directory in the process's private cluster.
Result<std::unique_ptr<Store>> OpenPostgresForTest(const std::filesystem::path& dir) {
  static std::mutex mu;
  static std::map<std::string, std::string> databases;
  std::string name;
  {
    std::lock_guard lock(mu);
    auto [it, inserted] = databases.try_emplace(dir.string(), "");
    if (inserted) {
      it->second = "t" + std::to_string(databases.size());
    }
    name = it->second;
  }
  SCY_ASSIGN_OR_RETURN(std::string url, testing::PgCluster::Shared().Database(name));
  return OpenPostgresStore({.url = url, .pool_size = 4});
}

INSTANTIATE_TEST_SUITE_P(
    Backends, StoreConformance,
    ::testing::Values(Backend{"sqlite",
                              [](const std::filesystem::path& dir) {
                                return OpenSqliteStore(dir / "scytale.db");
                              }},
                      Backend{"postgres", OpenPostgresForTest}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace
}  // namespace scytale::storage

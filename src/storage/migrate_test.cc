// MigrateStore (migrate.h) and the bulk export and import under it, on both backends: a store
// with every kind of row in two accounts and two regions goes SQLite -> PostgreSQL -> SQLite
// and comes back equal, field by field and in paging order; a target with rows, a root that
// cannot unwrap the source, and a copy that fails half-way leave the target as it was.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "common/testing/temp_dir.h"
#include "keystore/keystore.h"
#include "keystore/testing/soft_root.h"
#include "storage/migrate.h"
#include "storage/storage.h"
#include "storage/testing/pg_cluster.h"
#include "storage/testing/rows.h"

namespace scytale::storage {
namespace {

const std::string kAccountA = "111122223333";
const std::string kAccountB = "444455556666";

// The AAD the test wraps values with (kms/ and iam/ have their own; the store does not care).
Bytes TestAad(const std::string& what) { return Bytes(what.begin(), what.end()); }

// Every row of a store, each described with all its fields, in export order per table.
class Collect : public RowSink {
 public:
  Status AddAccount(const AccountRow& r) override {
    return Add("accounts", {r.account_id, N(r.created_at)});
  }
  Status AddCustomKeyStore(const CustomKeyStoreRow& r) override {
    return Add("custom_key_stores",
               {r.custom_key_store_id, r.account_id, r.region, r.name, r.type,
                r.cloud_hsm_cluster_id, r.trust_anchor_certificate, Hex(r.wrapped_password),
                r.connection_state, r.connection_error_code, N(r.creation_date)});
  }
  Status AddKey(const KeyRow& k) override {
    std::string tags;
    for (const auto& [key, value] : k.tags) {
      tags += key + "=" + value + ";";
    }
    return Add("keys", {N(k.seq), k.key_id, k.account_id, k.region, k.description, k.key_spec,
                        k.key_usage, k.origin, k.key_manager, k.key_state, N(k.creation_date),
                        O(k.deletion_date), N(k.multi_region), k.policy, tags,
                        N(k.rotation_enabled), N(k.rotation_period_days),
                        O(k.next_rotation_date), N(k.pending_window_days), k.expiration_model,
                        O(k.valid_to), k.custom_key_store_id, N(k.revision)});
  }
  Status AddKeyVersion(const KeyVersionRow& v) override {
    return Add("key_versions", {v.key_id, v.version_id, N(v.created_at),
                                Hex(v.wrapped_material), v.rotation_type});
  }
  Status AddAlias(const AliasRow& a) override {
    return Add("aliases", {a.account_id, a.region, a.alias_name, a.target_key_id,
                           N(a.creation_date), N(a.last_updated_date)});
  }
  Status AddGrant(const GrantRow& g) override {
    return Add("grants", {N(g.seq), g.grant_id, g.key_id, g.name, g.grantee_principal,
                          g.retiring_principal, g.issuing_account, g.operations, g.constraints,
                          N(g.creation_date), g.key_account_id, g.key_region});
  }
  Status AddUser(const UserRow& u) override {
    return Add("iam_users", {u.account_id, u.user_name, u.user_id, u.path, N(u.create_date)});
  }
  Status AddUserPolicy(const OwnedPolicyRow& p) override {
    return Add("iam_user_policies",
               {p.account_id, p.owner_name, p.policy.policy_name, p.policy.document});
  }
  Status AddRole(const RoleRow& r) override {
    return Add("iam_roles", {r.account_id, r.role_name, r.role_id, r.path, r.trust_policy,
                             r.description, N(r.max_session_duration), N(r.create_date)});
  }
  Status AddRolePolicy(const OwnedPolicyRow& p) override {
    return Add("iam_role_policies",
               {p.account_id, p.owner_name, p.policy.policy_name, p.policy.document});
  }
  Status AddAccessKey(const AccessKeyRow& k) override {
    return Add("access_keys", {k.access_key_id, k.account_id, k.principal_arn, k.status,
                               N(k.created_at), Hex(k.wrapped_secret), k.user_name,
                               k.session_token, O(k.expiration)});
  }

  std::map<std::string, std::vector<std::string>> rows;

 private:
  static std::string N(int64_t v) { return std::to_string(v); }
  static std::string O(const std::optional<int64_t>& v) { return v ? N(*v) : "null"; }
  static std::string Hex(const Bytes& v) { return "0x" + HexEncode(v); }
  Status Add(const std::string& table, const std::vector<std::string>& fields) {
    std::string line;
    for (const auto& f : fields) {
      line += "[" + f + "]";
    }
    rows[table].push_back(std::move(line));
    return Ok();
  }
};

std::map<std::string, std::vector<std::string>> Rows(Store& store) {
  Collect c;
  Status exported = store.ExportAll(c);
  EXPECT_TRUE(exported) << exported.error().message;
  return c.rows;
}

// The ListKeys, ListAliases and ListGrants pages a client would see, two rows at a time.
std::vector<std::string> Pages(Store& store) {
  std::vector<std::string> out;
  for (const std::string& account : {kAccountA, kAccountB}) {
    for (const std::string region : {"us-east-1", "eu-west-1"}) {
      std::vector<std::string> key_ids;
      int64_t after = 0;
      for (;;) {
        auto page = store.ListKeys(account, region, after, 2).value();
        if (page.empty()) {
          break;
        }
        std::string line = account + "/" + region + " keys:";
        for (const KeyRow& k : page) {
          line += " " + k.key_id + "@" + std::to_string(k.seq);
          key_ids.push_back(k.key_id);
        }
        out.push_back(line);
        after = page.back().seq;
      }
      std::string aliases = account + "/" + region + " aliases:";
      auto listed = store.ListAliases(account, region, std::nullopt, "", 100).value();
      for (const AliasRow& a : listed) {
        aliases += " " + a.alias_name + "->" + a.target_key_id;
      }
      out.push_back(aliases);
      for (const std::string& key_id : key_ids) {
        std::string grants = key_id + " grants:";
        auto granted = store.ListGrants(key_id, {}, 0, 100).value();
        for (const GrantRow& g : granted) {
          grants += " " + g.grant_id + "@" + std::to_string(g.seq);
        }
        std::string current = store.GetCurrentKeyVersion(key_id).value().value_or(
                                  KeyVersionRow{}).version_id;
        out.push_back(grants + " current version: " + current);
      }
    }
  }
  return out;
}

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scytale::testing::FreshTestDir("scy-migrate");
    std::filesystem::create_directories(dir_ / "root-a");
    std::filesystem::create_directories(dir_ / "root-b");
    root_ = keystore::testing::OpenSoftRoot(dir_ / "root-a");
    other_root_ = keystore::testing::OpenSoftRoot(dir_ / "root-b");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> Sqlite(const std::string& name) {
    std::filesystem::create_directories(dir_ / name);
    auto store = OpenSqliteStore(dir_ / name / "scytale.db");
    EXPECT_TRUE(store.has_value()) << store.error().message;
    return std::move(*store);
  }
  // A fresh database in the process's private cluster.
  std::unique_ptr<Store> Postgres(const std::string& name) {
    static int databases = 0;
    auto url = testing::PgCluster::Shared().Database("migrate_" + name + "_" +
                                                     std::to_string(++databases));
    EXPECT_TRUE(url.has_value()) << url.error().message;
    auto store = OpenPostgresStore({.url = *url, .pool_size = 2});
    EXPECT_TRUE(store.has_value()) << store.error().message;
    return std::move(*store);
  }

  Bytes Wrap(keystore::RootKeystore& root, const std::string& aad, const std::string& secret) {
    return root.Wrap(crypto::SecretBytes(AsBytes(secret)), TestAad(aad)).value();
  }

  // Checks that unwrap with `root` and the test's AADs.
  RootCheck CheckWith(keystore::RootKeystore& root) {
    RootCheck check;
    check.key_version = [&root](const KeyRow& key, const KeyVersionRow& v) -> Status {
      SCY_RETURN_IF_ERROR(
          root.Unwrap(v.wrapped_material, TestAad(key.region + key.key_id + v.version_id)));
      return Ok();
    };
    check.access_key = [&root](const AccessKeyRow& row) -> Status {
      SCY_RETURN_IF_ERROR(root.Unwrap(row.wrapped_secret, TestAad(row.access_key_id)));
      return Ok();
    };
    return check;
  }

  KeyVersionRow Version(const KeyRow& key, const std::string& id, int64_t at,
                        const std::string& rotation_type = "") {
    return KeyVersionRow{key.key_id, id, at,
                         Wrap(*root_, key.region + key.key_id + id, "material " + id),
                         rotation_type};
  }

  // Every kind of row, in two accounts and two regions, created interleaved (so seq orders
  // cross accounts and regions), with gaps in seq (deleted keys and grants), updated keys
  // (revisions above 1), rotated and imported versions, and emptied imported material.
  void Fill(Store& s) {
    ASSERT_TRUE(s.PutAccount(kAccountA, 1700000000));
    ASSERT_TRUE(s.PutAccount(kAccountB, 1700000001));
    CustomKeyStoreRow cks;
    cks.custom_key_store_id = "cks-0123456789abcdef0";
    cks.account_id = kAccountB;
    cks.region = "eu-west-1";
    cks.name = "hsm store";
    cks.type = "AWS_CLOUDHSM";
    cks.cloud_hsm_cluster_id = "cluster-abcdefghijk";
    cks.trust_anchor_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    cks.wrapped_password = Wrap(*root_, "cks", "pin");
    cks.connection_state = "FAILED";
    cks.connection_error_code = "NETWORK_ERRORS";
    cks.creation_date = 1700000100;
    ASSERT_TRUE(s.InsertCustomKeyStore(cks));
    CustomKeyStoreRow cks2 = cks;
    cks2.custom_key_store_id = "cks-0123456789abcdef1";
    cks2.account_id = kAccountA;
    cks2.region = "us-east-1";
    cks2.cloud_hsm_cluster_id = "cluster-bbcdefghijk";
    cks2.connection_state = "DISCONNECTED";
    cks2.connection_error_code = "";
    ASSERT_TRUE(s.InsertCustomKeyStore(cks2));

    const std::string accounts[] = {kAccountB, kAccountA};
    const std::string regions[] = {"eu-west-1", "us-east-1"};
    int n = 0;
    for (int round = 0; round < 3; ++round) {
      for (const auto& account : accounts) {
        for (const auto& region : regions) {
          ++n;
          KeyRow k = testing::TestKey("key-" + std::to_string(n) + "-" + account.substr(0, 3),
                                      region);
          k.account_id = account;
          k.description = "key " + std::to_string(n) + " ünïcode \"quoted\"";
          k.policy = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]})";
          k.tags = {{"team", "t" + std::to_string(n % 3)}, {"Zeta", ""}, {"alpha", "a"}};
          k.multi_region = n % 4 == 0;
          k.creation_date = 1700001000 + n;
          k.rotation_enabled = n % 2 == 0;
          k.rotation_period_days = n % 2 == 0 ? 90 + n : 0;
          if (n % 2 == 0) {
            k.next_rotation_date = 1710000000 + n;
          }
          std::optional<KeyVersionRow> first = Version(k, "v1-" + k.key_id, k.creation_date);
          if (n % 5 == 0) {  // imported material, expiring
            k.origin = "EXTERNAL";
            k.expiration_model = "KEY_MATERIAL_EXPIRES";
            k.valid_to = 1720000000 + n;
          }
          if (n == 7) {  // awaiting imported material: no version yet
            k.origin = "EXTERNAL";
            first.reset();
          }
          if (n == 6) {  // in the custom key store: its token holds the material
            k.custom_key_store_id = cks.custom_key_store_id;
            first = KeyVersionRow{k.key_id, "v1-" + k.key_id, k.creation_date,
                                  Bytes{'l', 'a', 'b', 'e', 'l'}, ""};
          }
          ASSERT_TRUE(s.InsertKey(k, first)) << k.key_id;
          auto stored = s.GetKey(account, region, k.key_id).value().value();
          if (n % 3 == 0) {  // rotated: a second version, revision 2
            stored.description += " (rotated)";
            ASSERT_TRUE(s.AddKeyVersion(stored, Version(stored, "v2-" + k.key_id,
                                                        k.creation_date + 50, "ON_DEMAND")));
            stored = s.GetKey(account, region, k.key_id).value().value();
          }
          if (n % 4 == 1) {  // pending deletion: revision up again
            stored.key_state = "PendingDeletion";
            stored.deletion_date = 1730000000 + n;
            stored.pending_window_days = 7 + n;
            ASSERT_TRUE(s.UpdateKey(stored));
            stored = s.GetKey(account, region, k.key_id).value().value();
          }
          if (n == 10) {  // imported material deleted: the version stays, emptied
            KeyVersionRow emptied = *first;
            emptied.wrapped_material.clear();
            stored.key_state = "PendingImport";
            ASSERT_TRUE(s.PutKeyVersion(stored, emptied));
          }
          AliasRow alias{account, region, "alias/k" + std::to_string(n), k.key_id,
                         1700002000 + n, 1700003000 + n};
          ASSERT_TRUE(s.InsertAlias(alias, 50));
          for (int g = 0; g < 2; ++g) {
            GrantRow grant;
            grant.grant_id = "grant-" + std::to_string(n) + "-" + std::to_string(g);
            grant.key_id = k.key_id;
            grant.name = g == 0 ? "" : "named";
            grant.grantee_principal = "arn:aws:iam::" + account + ":user/u" + std::to_string(g);
            grant.retiring_principal = g == 1 ? "arn:aws:iam::" + account + ":role/r" : "";
            grant.issuing_account = "arn:aws:iam::" + account + ":root";
            grant.operations = "Decrypt,Encrypt";
            grant.constraints = g == 1 ? R"({"EncryptionContextSubset":{"a":"b"}})" : "";
            grant.creation_date = 1700004000 + n;
            ASSERT_TRUE(s.InsertGrant(grant, 100).has_value());
          }
          if (n % 2 == 0) {  // gaps in grant seq
            ASSERT_TRUE(s.DeleteGrant(k.key_id, "grant-" + std::to_string(n) + "-0"));
          }
        }
      }
    }
    // Gaps in key seq: a deleted key (with its alias and grants).
    ASSERT_TRUE(s.DeleteKey("key-3-111"));
    // A second alias on one key, in another region's namespace of the same account.
    ASSERT_TRUE(s.InsertAlias({kAccountA, "us-east-1", "alias/Other", "key-4-111", 1, 2}, 50));

    for (const auto& account : accounts) {
      UserRow alice{account, "Alice", "AIDA" + account, "/dev/", 1700005000};
      ASSERT_TRUE(s.InsertUser(alice));
      ASSERT_TRUE(s.InsertUser({account, "bob", "AIDB" + account, "/", 1700005001}));
      ASSERT_TRUE(s.PutUserPolicy(account, "Alice", {"KmsUse", R"({"Statement":[]})"}));
      ASSERT_TRUE(s.PutUserPolicy(account, "alice", {"Another", "{}"}));
      RoleRow role;
      role.account_id = account;
      role.role_name = "Deployer";
      role.role_id = "AROA" + account;
      role.path = "/ci/";
      role.trust_policy = R"({"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]})";
      role.description = "deploys";
      role.max_session_duration = 7200;
      role.create_date = 1700006000;
      ASSERT_TRUE(s.InsertRole(role));
      ASSERT_TRUE(s.PutRolePolicy(account, "Deployer", {"Deploy", R"({"x":1})"}));

      AccessKeyRow root_key;
      root_key.access_key_id = "AKIAROOT" + account;
      root_key.account_id = account;
      root_key.principal_arn = "arn:aws:iam::" + account + ":root";
      root_key.status = "Active";
      root_key.created_at = 1700007000;
      root_key.wrapped_secret = Wrap(*root_, root_key.access_key_id, "secret");
      ASSERT_TRUE(s.PutAccessKey(root_key));
      AccessKeyRow user_key = root_key;
      user_key.access_key_id = "AKIAUSER" + account;
      user_key.principal_arn = "arn:aws:iam::" + account + ":user/dev/Alice";
      user_key.user_name = "Alice";
      user_key.status = "Inactive";
      user_key.wrapped_secret = Wrap(*root_, user_key.access_key_id, "secret2");
      ASSERT_TRUE(s.PutAccessKey(user_key));
      AccessKeyRow session = root_key;
      session.access_key_id = "ASIASESSION" + account;
      session.principal_arn = "arn:aws:sts::" + account + ":assumed-role/Deployer/s";
      session.session_token = std::string(64, 'a');
      session.expiration = 1900000000;
      session.wrapped_secret = Wrap(*root_, session.access_key_id, "secret3");
      ASSERT_TRUE(s.PutAccessKey(session));
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<keystore::RootKeystore> root_;
  std::unique_ptr<keystore::RootKeystore> other_root_;
};

int64_t TotalRows(Store& s) {
  int64_t total = 0;
  auto counts = s.CountRows().value();
  for (const auto& [table, n] : counts) {
    total += n;
  }
  return total;
}

TEST_F(MigrateTest, SqliteToPostgresAndBackKeepsEveryRowFieldAndPagingOrder) {
  auto sqlite = Sqlite("source");
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));
  auto postgres = Postgres("roundtrip");
  auto back = Sqlite("back");

  auto there = MigrateStore(*sqlite, *postgres, CheckWith(*root_));
  ASSERT_TRUE(there.has_value()) << there.error().message;
  EXPECT_TRUE(there->Verified());
  auto home = MigrateStore(*postgres, *back, CheckWith(*root_));
  ASSERT_TRUE(home.has_value()) << home.error().message;
  EXPECT_TRUE(home->Verified());

  auto original = Rows(*sqlite);
  EXPECT_EQ(Rows(*postgres), original);
  EXPECT_EQ(Rows(*back), original);
  EXPECT_EQ(Pages(*postgres), Pages(*sqlite));
  EXPECT_EQ(Pages(*back), Pages(*sqlite));

  // Every table was copied, and the report counts what the source holds.
  auto counts = sqlite->CountRows().value();
  ASSERT_EQ(there->tables.size(), std::size(kStoreTables));
  for (const TableReport& t : there->tables) {
    EXPECT_GT(t.source_rows, 0) << t.table;
    EXPECT_EQ(t.source_rows, counts[t.table]) << t.table;
    EXPECT_EQ(t.target_rows, counts[t.table]) << t.table;
    EXPECT_EQ(t.source_digest, t.target_digest) << t.table;
  }
  EXPECT_EQ(counts["keys"], 11);
  // 12 keys less one deleted; a first version for all but one, 4 rotated, 2 deleted.
  EXPECT_EQ(counts["key_versions"], 13);
  // The digests agree across backends, so both reports describe the same rows.
  for (size_t i = 0; i < there->tables.size(); ++i) {
    EXPECT_EQ(there->tables[i].source_digest, home->tables[i].target_digest);
  }
  // The root was checked on a backing version and an access key before the copy.
  ASSERT_EQ(there->root_checks.size(), 2u);
  EXPECT_NE(there->root_checks[0].find("backing key version v1-key-1-444"), std::string::npos)
      << there->root_checks[0];
  EXPECT_NE(there->root_checks[1].find("access key AKIAROOT111122223333"), std::string::npos)
      << there->root_checks[1];
}

TEST_F(MigrateTest, NewKeysAndGrantsAfterTheCopyAreNumberedAfterTheCopiedOnes) {
  auto sqlite = Sqlite("source");
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));
  auto postgres = Postgres("continue");
  ASSERT_TRUE(MigrateStore(*sqlite, *postgres, CheckWith(*root_)).has_value());
  auto back = Sqlite("back");
  ASSERT_TRUE(MigrateStore(*postgres, *back, CheckWith(*root_)).has_value());
  for (Store* s : {postgres.get(), back.get()}) {
    KeyRow k = testing::TestKey("fresh");
    ASSERT_TRUE(s->InsertKey(k, testing::TestVersion("fresh")));
    GrantRow g;
    g.grant_id = "fresh-grant";
    g.key_id = "fresh";
    g.grantee_principal = "p";
    g.issuing_account = "a";
    g.operations = "Decrypt";
    ASSERT_TRUE(s->InsertGrant(g, 100).has_value());
    auto keys = s->ListKeys("111122223333", "us-east-1", 0, 100).value();
    ASSERT_GE(keys.size(), 2u);
    EXPECT_EQ(keys.back().key_id, "fresh");
    EXPECT_GT(keys.back().seq, keys[keys.size() - 2].seq);
    EXPECT_EQ(keys.back().seq, 13);  // after 12, the highest key seq of the source
    EXPECT_EQ(s->GetGrant("fresh", "fresh-grant").value().value().seq, 25);
  }
}

TEST_F(MigrateTest, ATargetWithRowsIsRefusedAndLeftAlone) {
  auto sqlite = Sqlite("source");
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));
  auto postgres = Postgres("not_empty");
  auto other_sqlite = Sqlite("not-empty");
  for (Store* target : {postgres.get(), other_sqlite.get()}) {
    ASSERT_TRUE(target->PutAccount("999999999999", 1));
    auto refused = MigrateStore(*sqlite, *target, CheckWith(*root_));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidState);
    EXPECT_NE(refused.error().message.find("not empty (accounts: 1)"), std::string::npos)
        << refused.error().message;
    EXPECT_EQ(TotalRows(*target), 1);
    // ImportAll refuses by itself too (a target filled after MigrateStore looked).
    bool filled = false;
    Status imported = target->ImportAll([&](RowSink&) {
      filled = true;
      return Ok();
    });
    EXPECT_FALSE(imported);
    EXPECT_FALSE(filled);
  }
  // A store is not migrated into itself.
  auto itself = MigrateStore(*sqlite, *sqlite, CheckWith(*root_));
  ASSERT_FALSE(itself.has_value());
  EXPECT_EQ(itself.error().code, ErrorCode::kValidation);
}

TEST_F(MigrateTest, ARootThatCannotUnwrapTheSourceIsRefusedBeforeAnythingIsWritten) {
  auto sqlite = Sqlite("source");
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));
  auto postgres = Postgres("wrong_root");
  auto refused = MigrateStore(*sqlite, *postgres, CheckWith(*other_root_));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidState);
  EXPECT_NE(refused.error().message.find("cannot unwrap backing key version v1-key-1-444"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(TotalRows(*postgres), 0);

  // Only the access keys wrapped by another root: still refused, on the access key.
  RootCheck mixed = CheckWith(*root_);
  mixed.access_key = CheckWith(*other_root_).access_key;
  refused = MigrateStore(*sqlite, *postgres, mixed);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("access key AKIAROOT111122223333"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(TotalRows(*postgres), 0);
}

TEST_F(MigrateTest, ACopyThatFailsHalfWayLeavesTheTargetEmpty) {
  auto sqlite = Sqlite("source");
  ASSERT_NO_FATAL_FAILURE(Fill(*sqlite));
  // SQLite keeps a NUL inside text; PostgreSQL cannot: the copy fails at the last key.
  KeyRow bad = testing::TestKey("zz-nul-key");
  bad.description = std::string("before\0after", 12);
  ASSERT_TRUE(sqlite->InsertKey(bad, Version(bad, "v1", 1)));
  auto postgres = Postgres("half_way");
  auto failed = MigrateStore(*sqlite, *postgres, CheckWith(*root_));
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code, ErrorCode::kValidation);
  EXPECT_NE(failed.error().message.find("rolled back: the target is still empty"),
            std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("cannot copy key zz-nul-key"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(TotalRows(*postgres), 0);
  // Once the row is fixed, the same target takes the copy.
  bad = sqlite->GetKey("111122223333", "us-east-1", "zz-nul-key").value().value();
  bad.description = "fixed";
  ASSERT_TRUE(sqlite->UpdateKey(bad));
  auto copied = MigrateStore(*sqlite, *postgres, CheckWith(*root_));
  ASSERT_TRUE(copied.has_value()) << copied.error().message;
  EXPECT_TRUE(copied->Verified());
}

TEST_F(MigrateTest, AnEmptySourceCopiesNothingAndChecksNothing) {
  auto sqlite = Sqlite("source");
  auto postgres = Postgres("empty");
  auto copied = MigrateStore(*sqlite, *postgres, CheckWith(*other_root_));
  ASSERT_TRUE(copied.has_value()) << copied.error().message;
  EXPECT_TRUE(copied->Verified());
  EXPECT_TRUE(copied->root_checks.empty());
  EXPECT_EQ(TotalRows(*postgres), 0);
}

// Many keys, to exercise the PostgreSQL export's cursor pages (500 rows) and time the copy.
TEST_F(MigrateTest, ThousandsOfKeysCopyInBothDirections) {
  auto sqlite = Sqlite("source");
  constexpr int kKeys = 2000;
  ASSERT_TRUE(sqlite->ImportAll([&](RowSink& into) -> Status {
    for (int i = 1; i <= kKeys; ++i) {
      KeyRow k = testing::TestKey("bulk-" + std::to_string(i), i % 2 ? "us-east-1" : "eu-west-1");
      k.seq = i * 2;
      k.revision = 1;
      // Three tag rows a key: PostgreSQL's 500-row pages end inside a key's tags.
      k.tags = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
      SCY_RETURN_IF_ERROR(into.AddKey(k));
      SCY_RETURN_IF_ERROR(into.AddKeyVersion(Version(k, "v1", i)));
    }
    return Ok();
  }));
  auto postgres = Postgres("bulk");
  auto start = std::chrono::steady_clock::now();
  auto there = MigrateStore(*sqlite, *postgres, CheckWith(*root_));
  auto mid = std::chrono::steady_clock::now();
  ASSERT_TRUE(there.has_value()) << there.error().message;
  EXPECT_TRUE(there->Verified());
  auto back = Sqlite("back");
  auto home = MigrateStore(*postgres, *back, CheckWith(*root_));
  auto end = std::chrono::steady_clock::now();
  ASSERT_TRUE(home.has_value()) << home.error().message;
  EXPECT_TRUE(home->Verified());
  EXPECT_EQ(Rows(*back), Rows(*sqlite));
  auto counts = postgres->CountRows().value();
  EXPECT_EQ(counts["key_tags"], 3 * kKeys);
  std::cout << "migrated " << kKeys << " keys (+versions, tags): SQLite -> PostgreSQL "
            << std::chrono::duration_cast<std::chrono::milliseconds>(mid - start).count()
            << " ms, PostgreSQL -> SQLite "
            << std::chrono::duration_cast<std::chrono::milliseconds>(end - mid).count()
            << " ms" << std::endl;
}

}  // namespace
}  // namespace scytale::storage

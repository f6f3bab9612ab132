// The cache in front of the store: what it serves, what drops it, and, on PostgreSQL, changes
// made through other nodes (or by hand) reaching it through the change feed.
#include "storage/caching_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/testing/temp_dir.h"
#include "storage/testing/pg_cluster.h"
#include "storage/testing/rows.h"

namespace scytale::storage {
namespace {

using testing::PgCluster;
using testing::TestKey;
using testing::TestVersion;
constexpr const char* kAccount = "111122223333";
constexpr const char* kRegion = "us-east-1";

std::unique_ptr<CachingStore> Cached(std::unique_ptr<Store> inner) {
  auto cached = CachingStore::Wrap(std::move(inner), {});
  EXPECT_TRUE(cached.has_value()) << cached.error().message;
  return std::move(*cached);
}

// Polls `done` for up to `limit`; whether it came true.
bool Eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

std::string KeyState(Store& store, const std::string& key_id) {
  auto row = store.GetKey(kAccount, kRegion, key_id);
  if (!row) {
    return "error: " + row.error().message;
  }
  return *row ? (*row)->key_state : "absent";
}

class SqliteCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scytale::testing::FreshTestDir("scy-cache");
    auto inner = OpenSqliteStore(dir_ / "scytale.db");
    ASSERT_TRUE(inner.has_value()) << inner.error().message;
    store_ = Cached(std::move(*inner));
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<CachingStore> store_;
};

TEST_F(SqliteCache, RepeatedReadsOfAKeyAreServedFromTheCache) {
  ASSERT_TRUE(store_->InsertKey(TestKey("k1"), TestVersion("k1")));
  EXPECT_TRUE(store_->counts().synced);  // SQLite: no other writers, in use from the start
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store_->GetKey(kAccount, kRegion, "k1").value().has_value());
    ASSERT_TRUE(store_->GetCurrentKeyVersion("k1").value().has_value());
    ASSERT_TRUE(store_->GetKeyVersion("k1", "v1-k1").value().has_value());
  }
  auto counts = store_->counts();
  EXPECT_EQ(counts.misses, 3u);
  EXPECT_EQ(counts.hits, 6u);
}

TEST_F(SqliteCache, ACachedKeyIsNotServedToAnotherAccountOrRegion) {
  ASSERT_TRUE(store_->InsertKey(TestKey("k1"), TestVersion("k1")));
  ASSERT_TRUE(store_->GetKey(kAccount, kRegion, "k1").value().has_value());
  EXPECT_FALSE(store_->GetKey("999988887777", kRegion, "k1").value().has_value());
  EXPECT_FALSE(store_->GetKey(kAccount, "eu-west-1", "k1").value().has_value());
}

TEST_F(SqliteCache, WritesAreReadBackAtOnce) {
  ASSERT_TRUE(store_->InsertKey(TestKey("k1"), TestVersion("k1")));
  auto row = store_->GetKey(kAccount, kRegion, "k1").value().value();
  row.key_state = "Disabled";
  ASSERT_TRUE(store_->UpdateKey(row));
  EXPECT_EQ(KeyState(*store_, "k1"), "Disabled");

  ++row.revision;
  KeyVersionRow v2 = TestVersion("k1");
  v2.version_id = "v2";
  ASSERT_TRUE(store_->AddKeyVersion(row, v2));
  EXPECT_EQ(store_->GetCurrentKeyVersion("k1").value()->version_id, "v2");

  AliasRow alias{kAccount, kRegion, "alias/a", "k1", 1, 1};
  ASSERT_TRUE(store_->InsertAlias(alias, 10));
  ASSERT_TRUE(store_->InsertKey(TestKey("k2"), TestVersion("k2")));
  EXPECT_EQ(store_->GetAlias(kAccount, kRegion, "alias/a").value()->target_key_id, "k1");
  alias.target_key_id = "k2";
  ASSERT_TRUE(store_->UpdateAlias(alias, 10));
  EXPECT_EQ(store_->GetAlias(kAccount, kRegion, "alias/a").value()->target_key_id, "k2");

  // Deleting a key takes its cached aliases with it.
  ASSERT_TRUE(store_->DeleteKey("k2"));
  EXPECT_EQ(KeyState(*store_, "k2"), "absent");
  EXPECT_FALSE(store_->GetAlias(kAccount, kRegion, "alias/a").value().has_value());
  EXPECT_FALSE(store_->GetCurrentKeyVersion("k2").value().has_value());
}

TEST_F(SqliteCache, ALostOptimisticWriteDropsTheStaleRow) {
  ASSERT_TRUE(store_->InsertKey(TestKey("k1"), TestVersion("k1")));
  auto stale = store_->GetKey(kAccount, kRegion, "k1").value().value();
  auto fresh = stale;
  fresh.description = "first";
  ASSERT_TRUE(store_->UpdateKey(fresh));
  stale.description = "second";
  EXPECT_EQ(store_->UpdateKey(stale).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->GetKey(kAccount, kRegion, "k1").value()->description, "first");
}

TEST_F(SqliteCache, DeletedAccessKeysAreForgotten) {
  AccessKeyRow key;
  key.access_key_id = "AKIAEXAMPLE";
  key.account_id = kAccount;
  key.principal_arn = "arn:aws:iam::111122223333:root";
  key.status = "Active";
  key.wrapped_secret = Bytes{1, 2};
  ASSERT_TRUE(store_->PutAccessKey(key));
  ASSERT_TRUE(store_->GetAccessKey("AKIAEXAMPLE").value().has_value());
  key.status = "Inactive";
  ASSERT_TRUE(store_->PutAccessKey(key));
  EXPECT_EQ(store_->GetAccessKey("AKIAEXAMPLE").value()->status, "Inactive");
  ASSERT_TRUE(store_->DeleteAccessKey("AKIAEXAMPLE"));
  EXPECT_FALSE(store_->GetAccessKey("AKIAEXAMPLE").value().has_value());
}

TEST_F(SqliteCache, ObserversHearOfEveryWrite) {
  std::vector<std::pair<Change::Kind, std::string>> heard;
  std::mutex mu;
  store_->AddObserver([&](const Change& c) {
    std::lock_guard lock(mu);
    heard.emplace_back(c.kind, c.id);
  });
  ASSERT_TRUE(store_->InsertKey(TestKey("k1"), TestVersion("k1")));
  ASSERT_TRUE(store_->PutUserPolicy(kAccount, "nobody", {"p", "{}"}).error().code ==
              ErrorCode::kNotFound);  // failed writes are announced too: harmless
  std::lock_guard lock(mu);
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0], std::make_pair(Change::Kind::kKey, std::string("k1")));
  EXPECT_EQ(heard[1], std::make_pair(Change::Kind::kIdentity, std::string(kAccount)));
}

// Two nodes on one PostgreSQL database, each with its cache.
class PostgresCache : public ::testing::Test {
 protected:
  void SetUp() override {
    static int databases = 0;  // a database per test (names must stay short)
    auto url = PgCluster::Shared().Database("cache_" + std::to_string(++databases));
    ASSERT_TRUE(url.has_value()) << url.error().message;
    url_ = *url;
    a_ = Node();
    b_ = Node();
  }
  std::unique_ptr<CachingStore> Node() {
    auto inner = OpenPostgresStore({.url = url_, .pool_size = 3});
    EXPECT_TRUE(inner.has_value()) << inner.error().message;
    auto node = Cached(std::move(*inner));
    // In use once the feed listens.
    EXPECT_TRUE(Eventually([&] { return node->counts().synced; }));
    return node;
  }
  std::string url_;
  std::unique_ptr<CachingStore> a_;
  std::unique_ptr<CachingStore> b_;
};

TEST_F(PostgresCache, AChangeThroughOneNodeReachesTheOthersCacheWithinMilliseconds) {
  ASSERT_TRUE(a_->InsertKey(TestKey("k1"), TestVersion("k1")));
  // Cached on b once the insert's own notification has passed.
  ASSERT_TRUE(Eventually([&] {
    return KeyState(*b_, "k1") == "Enabled" && b_->counts().hits > 0;
  }));

  auto row = a_->GetKey(kAccount, kRegion, "k1").value().value();
  row.key_state = "Disabled";
  ASSERT_TRUE(a_->UpdateKey(row));
  auto written = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return KeyState(*b_, "k1") == "Disabled"; }));
  auto seen = std::chrono::steady_clock::now() - written;
  EXPECT_LT(seen, std::chrono::milliseconds(1000));

  // Rotation on b: a encrypts with the new version.
  ASSERT_TRUE(a_->GetCurrentKeyVersion("k1").value().has_value());
  row = b_->GetKey(kAccount, kRegion, "k1").value().value();
  KeyVersionRow v2 = TestVersion("k1");
  v2.version_id = "v2";
  ASSERT_TRUE(b_->AddKeyVersion(row, v2));
  EXPECT_TRUE(Eventually([&] { return a_->GetCurrentKeyVersion("k1").value()->version_id == "v2"; }));

  // Aliases and access keys likewise.
  ASSERT_TRUE(a_->InsertKey(TestKey("k2"), TestVersion("k2")));
  AliasRow alias{kAccount, kRegion, "alias/x", "k1", 1, 1};
  ASSERT_TRUE(a_->InsertAlias(alias, 10));
  ASSERT_EQ(b_->GetAlias(kAccount, kRegion, "alias/x").value()->target_key_id, "k1");
  alias.target_key_id = "k2";
  ASSERT_TRUE(a_->UpdateAlias(alias, 10));
  EXPECT_TRUE(Eventually(
      [&] { return b_->GetAlias(kAccount, kRegion, "alias/x").value()->target_key_id == "k2"; }));
}

TEST_F(PostgresCache, ChangesMadeByHandInTheDatabaseAreSeenToo) {
  ASSERT_TRUE(a_->InsertKey(TestKey("k1"), TestVersion("k1")));
  ASSERT_EQ(KeyState(*a_, "k1"), "Enabled");
  PGconn* pg = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(pg), CONNECTION_OK);
  PGresult* res = PQexec(pg, "UPDATE keys SET key_state = 'Disabled' WHERE key_id = 'k1'");
  EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(pg);
  PQclear(res);
  PQfinish(pg);
  EXPECT_TRUE(Eventually([&] { return KeyState(*a_, "k1") == "Disabled"; }));
}

TEST_F(PostgresCache, WithoutItsFeedANodeReadsTheDatabaseAndThenCatchesUp) {
  ASSERT_TRUE(a_->InsertKey(TestKey("k1"), TestVersion("k1")));
  ASSERT_EQ(KeyState(*a_, "k1"), "Enabled");
  ASSERT_TRUE(PgCluster::Shared().Stop());
  ASSERT_TRUE(Eventually([&] { return !a_->counts().synced; }));
  // Nothing stale is served while the feed is down: the read goes to the (absent) database.
  auto down = a_->GetKey(kAccount, kRegion, "k1");
  ASSERT_FALSE(down.has_value());
  EXPECT_EQ(down.error().code, ErrorCode::kDependencyTimeout);
  ASSERT_TRUE(PgCluster::Shared().Restart());
  ASSERT_TRUE(Eventually([&] { return a_->counts().synced && b_->counts().synced; },
                         std::chrono::milliseconds(10000)));
  auto row = b_->GetKey(kAccount, kRegion, "k1").value().value();
  row.key_state = "Disabled";
  ASSERT_TRUE(b_->UpdateKey(row));
  EXPECT_TRUE(Eventually([&] { return KeyState(*a_, "k1") == "Disabled"; }));
}

TEST_F(PostgresCache, ExclusiveTasksRunOnOneNodeAtATime) {
  std::atomic<bool> inner_ran{false};
  auto ran = a_->RunExclusively("maintenance", [&] {
    // While a holds the task's lock, b cannot run the same task, but can run another.
    auto same = b_->RunExclusively("maintenance", [&] { inner_ran = true; });
    ASSERT_TRUE(same.has_value()) << same.error().message;
    EXPECT_FALSE(*same);
    auto other = b_->RunExclusively("other", [] {});
    ASSERT_TRUE(other.has_value());
    EXPECT_TRUE(*other);
  });
  ASSERT_TRUE(ran.has_value()) << ran.error().message;
  EXPECT_TRUE(*ran);
  EXPECT_FALSE(inner_ran);
  // Released after the task.
  EXPECT_TRUE(b_->RunExclusively("maintenance", [] {}).value());
}

TEST_F(PostgresCache, ADeadNodesLockIsReleasedWithItsSession) {
  auto c = Node();
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    (void)c->RunExclusively("maintenance", [&] {
      holding = true;
      while (!release) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  });
  ASSERT_TRUE(Eventually([&] { return holding.load(); }));
  EXPECT_FALSE(a_->RunExclusively("maintenance", [] {}).value());
  // The holder's server session ends (as when its node is killed).
  PGconn* pg = PQconnectdb(url_.c_str());
  PGresult* res = PQexec(pg,
                         "SELECT pg_terminate_backend(pid) FROM pg_locks "
                         "WHERE locktype = 'advisory' AND classid = 1935");
  EXPECT_EQ(PQresultStatus(res), PGRES_TUPLES_OK) << PQerrorMessage(pg);
  PQclear(res);
  PQfinish(pg);
  EXPECT_TRUE(Eventually([&] { return a_->RunExclusively("maintenance", [] {}).value_or(false); }));
  release = true;
  holder.join();
}

}  // namespace
}  // namespace scytale::storage

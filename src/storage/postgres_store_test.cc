// What only the PostgreSQL backend has: a server that goes away and comes back, SQLSTATEs in
// errors, text PostgreSQL cannot hold, passwords in URLs, a database whose default collation
// is not bytewise. The shared behaviour is in storage_conformance_test.cc.
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include "storage/storage.h"
#include "storage/testing/pg_cluster.h"
#include "storage/testing/rows.h"

namespace scytale::storage {
namespace {

using testing::PgCluster;

KeyRow Key(const std::string& id) { return testing::TestKey(id); }
KeyVersionRow Version(const std::string& id) { return testing::TestVersion(id); }

std::unique_ptr<Store> OpenFresh(const std::string& db) {
  auto url = PgCluster::Shared().Database(db);
  EXPECT_TRUE(url.has_value()) << url.error().message;
  auto store = OpenPostgresStore({.url = *url, .pool_size = 3});
  EXPECT_TRUE(store.has_value()) << store.error().message;
  return std::move(*store);
}

TEST(PostgresStore, SurvivesAServerRestartWithoutBeingReopened) {
  auto store = OpenFresh("restart");
  ASSERT_TRUE(store->InsertKey(Key("k1"), Version("k1")));
  ASSERT_TRUE(PgCluster::Shared().Restart());
  // The pooled connections died with the server; the next calls reconnect by themselves.
  auto got = store->GetKey("111122223333", "us-east-1", "k1");
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_TRUE(got->has_value());
  EXPECT_TRUE(store->InsertKey(Key("k2"), Version("k2")));
  EXPECT_TRUE(store->Ping());
}

TEST(PostgresStore, CallsFailWithDependencyTimeoutWhileTheServerIsDownAndWorkAfter) {
  auto store = OpenFresh("down");
  ASSERT_TRUE(store->InsertKey(Key("k1"), Version("k1")));
  ASSERT_TRUE(PgCluster::Shared().Stop());
  auto got = store->GetKey("111122223333", "us-east-1", "k1");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kDependencyTimeout) << got.error().message;
  auto ping = store->Ping();
  ASSERT_FALSE(ping.has_value());
  EXPECT_EQ(ping.error().code, ErrorCode::kDependencyTimeout);
  EXPECT_EQ(store->InsertKey(Key("k2"), Version("k2")).error().code,
            ErrorCode::kDependencyTimeout);
  ASSERT_TRUE(PgCluster::Shared().Restart());
  EXPECT_TRUE(store->Ping());
  EXPECT_TRUE(store->GetKey("111122223333", "us-east-1", "k1").value().has_value());
  EXPECT_FALSE(store->GetKey("111122223333", "us-east-1", "k2").value().has_value());
}

TEST(PostgresStore, DatabaseErrorsKeepTheirSqlstate) {
  auto store = OpenFresh("sqlstate");
  KeyRow k = Key("k1");
  k.description = std::string("not utf-8: \xff\xfe");
  auto r = store->InsertKey(k, Version("k1"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kValidation);
  EXPECT_NE(r.error().message.find("SQLSTATE 22021"), std::string::npos) << r.error().message;
  EXPECT_FALSE(store->GetKey("111122223333", "us-east-1", "k1").value().has_value());
}

TEST(PostgresStore, TextWithNulIsRefusedNotCut) {
  auto store = OpenFresh("nul");
  KeyRow k = Key("k1");
  k.description = std::string("before\0after", 12);
  auto r = store->InsertKey(k, Version("k1"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kValidation);
  EXPECT_FALSE(store->GetKey("111122223333", "us-east-1", "k1").value().has_value());
}

TEST(PostgresStore, AnUnreachableServerIsADependencyTimeoutWithoutThePassword) {
  auto store = OpenPostgresStore(
      {.url = "postgresql://scytale:s3cretPassw0rd@127.0.0.1:1/db?connect_timeout=2"});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kDependencyTimeout);
  EXPECT_EQ(store.error().message.find("s3cretPassw0rd"), std::string::npos)
      << store.error().message;
  EXPECT_NE(store.error().message.find("***"), std::string::npos) << store.error().message;
}

TEST(PostgresStore, OrdersBytewiseInADatabaseWhoseCollationDoesNot) {
  // An ICU default collation sorts "alias/a" before "alias/B"; SQLite and our columns do not.
  auto admin = PgCluster::Shared().Url("postgres");
  PGconn* conn = PQconnectdb(admin.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
  PGresult* res = PQexec(conn,
                         "CREATE DATABASE icu TEMPLATE template0 LOCALE_PROVIDER icu "
                         "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'");
  ASSERT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQresultErrorMessage(res);
  PQclear(res);
  PQfinish(conn);
  auto store = OpenPostgresStore({.url = PgCluster::Shared().Url("icu")});
  ASSERT_TRUE(store.has_value()) << store.error().message;
  ASSERT_TRUE((*store)->InsertKey(Key("k1"), Version("k1")));
  for (const char* name : {"alias/a", "alias/B"}) {
    ASSERT_TRUE((*store)->InsertAlias({"111122223333", "us-east-1", name, "k1", 1, 1}, 50));
  }
  auto list = (*store)->ListAliases("111122223333", "us-east-1", std::nullopt, "", 10).value();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].alias_name, "alias/B");
  ASSERT_TRUE((*store)->InsertUser({"111122223333", "Zed", "AIDA1", "/", 1}));
  ASSERT_TRUE((*store)->InsertUser({"111122223333", "_x", "AIDA2", "/", 1}));
  auto users = (*store)->ListUsers("111122223333", "/", "", 10).value();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].user_name, "_x");  // '_' (0x5f) < 'z' (0x7a)
}

TEST(RedactStoreUrl, HidesPasswordsInEveryForm) {
  EXPECT_EQ(RedactStoreUrl("postgres://u:pw@db.example:5432/kms"),
            "postgres://u:***@db.example:5432/kms");
  EXPECT_EQ(RedactStoreUrl("postgresql://u:p@ss:w@rd@host/db?sslmode=require"),
            "postgresql://u:***@host/db?sslmode=require");
  EXPECT_EQ(RedactStoreUrl("postgresql://u@host/db"), "postgresql://u@host/db");
  EXPECT_EQ(RedactStoreUrl("postgresql:///db?host=/tmp&password=hunter2&user=u"),
            "postgresql:///db?host=/tmp&password=***&user=u");
  EXPECT_EQ(RedactStoreUrl("host=h user=u password='a b\\' c' dbname=d"),
            "host=h user=u password=*** dbname=d");
  EXPECT_EQ(RedactStoreUrl("host=h PASSWORD = x dbname=d"), "host=h PASSWORD = *** dbname=d");
}

}  // namespace
}  // namespace scytale::storage

// The SQLite backend: one file, WAL, synchronous=FULL (an acknowledged write survives power
// loss), foreign keys on. One connection guarded by a mutex; statements are prepared once.

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "storage/internal/shared.h"
#include "storage/storage.h"

namespace scytale::storage {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Numbered migrations, applied in order, each once, inside a transaction.
const char* const kMigrations[] = {
    // 1: accounts, keys, backing versions, tags, access keys.
    R"sql(
CREATE TABLE accounts (
  account_id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE TABLE keys (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  key_id TEXT NOT NULL UNIQUE,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  description TEXT NOT NULL,
  key_spec TEXT NOT NULL,
  key_usage TEXT NOT NULL,
  origin TEXT NOT NULL,
  key_manager TEXT NOT NULL,
  key_state TEXT NOT NULL,
  creation_date INTEGER NOT NULL,
  deletion_date INTEGER,
  multi_region INTEGER NOT NULL,
  policy TEXT NOT NULL
);
CREATE INDEX keys_by_account_region ON keys (account_id, region, seq);
CREATE TABLE key_versions (
  key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
  version_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  wrapped_material BLOB NOT NULL,
  PRIMARY KEY (key_id, version_id)
);
CREATE TABLE key_tags (
  key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
  tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL,
  PRIMARY KEY (key_id, tag_key)
);
CREATE TABLE access_keys (
  access_key_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  wrapped_secret BLOB NOT NULL
);
CREATE INDEX access_keys_by_principal ON access_keys (principal_arn);
)sql",
    // 2: key lifecycle: rotation, deletion window, optimistic locking, aliases.
    R"sql(
ALTER TABLE keys ADD COLUMN rotation_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN rotation_period_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN next_rotation_date INTEGER;
ALTER TABLE keys ADD COLUMN pending_window_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE key_versions ADD COLUMN rotation_type TEXT NOT NULL DEFAULT '';
CREATE INDEX keys_by_deletion ON keys (deletion_date) WHERE deletion_date IS NOT NULL;
CREATE INDEX keys_by_rotation ON keys (next_rotation_date) WHERE rotation_enabled = 1;
CREATE TABLE aliases (
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  alias_name TEXT NOT NULL,
  target_key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
  creation_date INTEGER NOT NULL,
  last_updated_date INTEGER NOT NULL,
  PRIMARY KEY (account_id, region, alias_name)
);
CREATE INDEX aliases_by_key ON aliases (target_key_id);
)sql",
    // 3: IAM users and roles with inline policies; access keys of users and role sessions.
    // name_key is the ASCII-lowercased name: IAM names are unique regardless of case.
    R"sql(
CREATE TABLE iam_users (
  account_id TEXT NOT NULL,
  name_key TEXT NOT NULL,
  user_name TEXT NOT NULL,
  user_id TEXT NOT NULL UNIQUE,
  path TEXT NOT NULL,
  create_date INTEGER NOT NULL,
  PRIMARY KEY (account_id, name_key)
);
CREATE TABLE iam_user_policies (
  account_id TEXT NOT NULL,
  name_key TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  document TEXT NOT NULL,
  PRIMARY KEY (account_id, name_key, policy_name),
  FOREIGN KEY (account_id, name_key) REFERENCES iam_users (account_id, name_key)
    ON DELETE CASCADE
);
CREATE TABLE iam_roles (
  account_id TEXT NOT NULL,
  name_key TEXT NOT NULL,
  role_name TEXT NOT NULL,
  role_id TEXT NOT NULL UNIQUE,
  path TEXT NOT NULL,
  trust_policy TEXT NOT NULL,
  description TEXT NOT NULL,
  max_session_duration INTEGER NOT NULL,
  create_date INTEGER NOT NULL,
  PRIMARY KEY (account_id, name_key)
);
CREATE TABLE iam_role_policies (
  account_id TEXT NOT NULL,
  name_key TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  document TEXT NOT NULL,
  PRIMARY KEY (account_id, name_key, policy_name),
  FOREIGN KEY (account_id, name_key) REFERENCES iam_roles (account_id, name_key)
    ON DELETE CASCADE
);
ALTER TABLE access_keys ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN session_token TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN expiration INTEGER;
CREATE INDEX access_keys_by_expiration ON access_keys (expiration)
  WHERE expiration IS NOT NULL;
)sql",
    // 4: grants.
    R"sql(
CREATE TABLE grants (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  grant_id TEXT NOT NULL UNIQUE,
  key_id TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  grantee_principal TEXT NOT NULL,
  retiring_principal TEXT NOT NULL,
  issuing_account TEXT NOT NULL,
  operations TEXT NOT NULL,
  constraints TEXT NOT NULL,
  creation_date INTEGER NOT NULL
);
CREATE INDEX grants_by_key ON grants (key_id, seq);
CREATE INDEX grants_by_key_name ON grants (key_id, name) WHERE name <> '';
CREATE INDEX grants_by_retiring_principal ON grants (retiring_principal, seq)
  WHERE retiring_principal <> '';
)sql",
    // 5: imported key material: its expiration.
    R"sql(
ALTER TABLE keys ADD COLUMN expiration_model TEXT NOT NULL DEFAULT '';
ALTER TABLE keys ADD COLUMN valid_to INTEGER;
CREATE INDEX keys_by_valid_to ON keys (valid_to) WHERE valid_to IS NOT NULL;
)sql",
    // 6: custom key stores, and the store a key's material lives in.
    R"sql(
CREATE TABLE custom_key_stores (
  custom_key_store_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  cloud_hsm_cluster_id TEXT NOT NULL UNIQUE,
  trust_anchor_certificate TEXT NOT NULL,
  wrapped_password BLOB NOT NULL,
  connection_state TEXT NOT NULL,
  connection_error_code TEXT NOT NULL,
  creation_date INTEGER NOT NULL,
  UNIQUE (account_id, region, name)
);
ALTER TABLE keys ADD COLUMN custom_key_store_id TEXT NOT NULL DEFAULT '';
CREATE INDEX keys_by_custom_key_store ON keys (custom_key_store_id)
  WHERE custom_key_store_id <> '';
)sql",
    // 7: nothing here. PostgreSQL's migration 7 announces changes to other nodes; one process
    // owns a SQLite file and sees every write itself. Numbered still, so that both backends
    // report the same schema version.
    "-- change notifications: PostgreSQL only",
};

constexpr const char* kSelectGrant =
    "SELECT g.grant_id, g.key_id, g.name, g.grantee_principal, g.retiring_principal, "
    "g.issuing_account, g.operations, g.constraints, g.creation_date, k.account_id, k.region, "
    "g.seq FROM grants g JOIN keys k ON k.key_id = g.key_id";

using internal::AliasLimitError;
using internal::EntityTables;
using internal::kRoleTables;
using internal::kUserTables;
using internal::NameKey;

class SqliteStore : public Store {
 public:
  explicit SqliteStore(DbPtr db) : db_(std::move(db)) {}

  // Holds the store's mutex for one call and, at its end, resets every statement the call
  // stepped: a statement left on a row keeps its read transaction open, so this connection
  // would go on reading an old snapshot and fail to write (SQLITE_BUSY_SNAPSHOT) once another
  // connection to the file commits.
  class Session {
   public:
    explicit Session(SqliteStore* store) : store_(store), lock_(store->mu_) {}
    ~Session() {
      for (sqlite3_stmt* s : store_->stepped_) {
        sqlite3_reset(s);
      }
      store_->stepped_.clear();
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

   private:
    SqliteStore* store_;
    std::lock_guard<std::mutex> lock_;
  };

  Status Init() {
    Session lock(this);
    // First, so that stores opening the same file at once wait for each other.
    sqlite3_busy_timeout(db_.get(), 5000);
    SCY_RETURN_IF_ERROR(ExecWhenFree("PRAGMA journal_mode=WAL"));
    SCY_RETURN_IF_ERROR(ExecWhenFree("PRAGMA synchronous=FULL"));
    SCY_RETURN_IF_ERROR(ExecWhenFree("PRAGMA foreign_keys=ON"));
    SCY_RETURN_IF_ERROR(ExecWhenFree(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "applied_at INTEGER NOT NULL)"));
    int target = static_cast<int>(std::size(kMigrations));
    for (int v = 1; v <= target; ++v) {
      SCY_RETURN_IF_ERROR(ExecWhenFree("BEGIN IMMEDIATE"));
      // Read under the write lock: another process may have applied it meanwhile.
      auto current = SchemaVersionLocked();
      if (current && *current >= v) {
        SCY_RETURN_IF_ERROR(Exec("COMMIT"));
        continue;
      }
      Status applied = current ? Exec(kMigrations[v - 1]) : Status(current.error());
      if (applied) {
        applied = Exec("INSERT INTO schema_migrations VALUES (" + std::to_string(v) +
                       ", strftime('%s','now'))");
      }
      if (!applied) {
        (void)Exec("ROLLBACK");
        return MakeError(ErrorCode::kInternal,
                         "migration " + std::to_string(v) + " failed: " + applied.error().message);
      }
      SCY_RETURN_IF_ERROR(Exec("COMMIT"));
    }
    return Ok();
  }

  Status InsertKey(const KeyRow& key, const std::optional<KeyVersionRow>& first) override {
    Session lock(this);
    return InTransaction([&]() -> Status {
      if (!key.custom_key_store_id.empty()) {
        SCY_ASSIGN_OR_RETURN(
            sqlite3_stmt * store,
            Prepare("SELECT 1 FROM custom_key_stores WHERE custom_key_store_id = ?"));
        BindText(store, 1, key.custom_key_store_id);
        int found = sqlite3_step(store);
        if (found == SQLITE_DONE) {
          return internal::MissingCustomKeyStoreError(key.custom_key_store_id);
        }
        if (found != SQLITE_ROW) {
          return StepError(found, "find custom key store");
        }
      }
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                           Prepare("INSERT INTO keys (key_id, account_id, region, description, "
                                   "key_spec, key_usage, origin, key_manager, key_state, "
                                   "creation_date, deletion_date, multi_region, policy, "
                                   "rotation_enabled, rotation_period_days, next_rotation_date, "
                                   "pending_window_days, expiration_model, valid_to, "
                                   "custom_key_store_id) VALUES "
                                   "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
      BindText(s, 1, key.key_id);
      BindText(s, 2, key.account_id);
      BindText(s, 3, key.region);
      BindText(s, 4, key.description);
      BindText(s, 5, key.key_spec);
      BindText(s, 6, key.key_usage);
      BindText(s, 7, key.origin);
      BindText(s, 8, key.key_manager);
      BindText(s, 9, key.key_state);
      sqlite3_bind_int64(s, 10, key.creation_date);
      if (key.deletion_date) {
        sqlite3_bind_int64(s, 11, *key.deletion_date);
      } else {
        sqlite3_bind_null(s, 11);
      }
      sqlite3_bind_int(s, 12, key.multi_region ? 1 : 0);
      BindText(s, 13, key.policy);
      sqlite3_bind_int(s, 14, key.rotation_enabled ? 1 : 0);
      sqlite3_bind_int(s, 15, key.rotation_period_days);
      BindOptInt(s, 16, key.next_rotation_date);
      sqlite3_bind_int(s, 17, key.pending_window_days);
      BindText(s, 18, key.expiration_model);
      BindOptInt(s, 19, key.valid_to);
      BindText(s, 20, key.custom_key_store_id);
      int rc = sqlite3_step(s);
      if (rc == SQLITE_CONSTRAINT) {
        return MakeError(ErrorCode::kAlreadyExists, "key " + key.key_id + " already exists");
      }
      SCY_RETURN_IF_ERROR(StepDone(rc, "insert key"));
      if (first) {
        SCY_RETURN_IF_ERROR(InsertVersion(*first));
      }
      return InsertTags(key);
    });
  }

  Result<std::optional<KeyRow>> GetKey(const std::string& account_id, const std::string& region,
                                       const std::string& key_id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectKey) +
                                 " WHERE key_id = ? AND account_id = ? AND region = ?"));
    BindText(s, 1, key_id);
    BindText(s, 2, account_id);
    BindText(s, 3, region);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<KeyRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get key");
    }
    KeyRow row = ReadKey(s);
    SCY_RETURN_IF_ERROR(LoadTags(row));
    return std::optional<KeyRow>(std::move(row));
  }

  Result<std::vector<KeyRow>> ListKeys(const std::string& account_id, const std::string& region,
                                       int64_t after_seq, size_t limit) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectKey) +
                                 " WHERE account_id = ? AND region = ? AND seq > ? "
                                 "ORDER BY seq LIMIT ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, region);
    sqlite3_bind_int64(s, 3, after_seq);
    sqlite3_bind_int64(s, 4, static_cast<int64_t>(limit));
    std::vector<KeyRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadKey(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "list keys"));
    for (auto& row : out) {
      SCY_RETURN_IF_ERROR(LoadTags(row));
    }
    return out;
  }

  Result<std::vector<KeyVersionRow>> ListKeyVersions(const std::string& key_id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectVersion) +
                                 " WHERE key_id = ? ORDER BY rowid"));
    BindText(s, 1, key_id);
    std::vector<KeyVersionRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadVersion(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "list key versions"));
    return out;
  }

  Status UpdateKey(const KeyRow& key) override {
    Session lock(this);
    return InTransaction([&] { return UpdateKeyLocked(key); });
  }

  Status AddKeyVersion(const KeyRow& key, const KeyVersionRow& version) override {
    Session lock(this);
    return InTransaction([&]() -> Status {
      SCY_RETURN_IF_ERROR(UpdateKeyLocked(key));
      return InsertVersion(version);
    });
  }

  Status PutKeyVersion(const KeyRow& key, const KeyVersionRow& version) override {
    Session lock(this);
    return InTransaction([&]() -> Status {
      SCY_RETURN_IF_ERROR(UpdateKeyLocked(key));
      // An upsert keeps the row's place (rowid), so version order stays creation order.
      SCY_ASSIGN_OR_RETURN(
          sqlite3_stmt * s,
          Prepare("INSERT INTO key_versions (key_id, version_id, created_at, wrapped_material, "
                  "rotation_type) VALUES (?,?,?,?,?) ON CONFLICT (key_id, version_id) DO UPDATE "
                  "SET wrapped_material = excluded.wrapped_material"));
      BindText(s, 1, version.key_id);
      BindText(s, 2, version.version_id);
      sqlite3_bind_int64(s, 3, version.created_at);
      BindBlob(s, 4, version.wrapped_material);
      BindText(s, 5, version.rotation_type);
      return StepDone(sqlite3_step(s), "put key version");
    });
  }

  Status DeleteKey(const std::string& key_id) override {
    Session lock(this);
    return InTransaction([&]() -> Status {
      // Foreign keys cascade to versions, tags and aliases.
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("DELETE FROM keys WHERE key_id = ?"));
      BindText(s, 1, key_id);
      SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "delete key"));
      if (sqlite3_changes(db_.get()) == 0) {
        return MakeError(ErrorCode::kNotFound, "key " + key_id + " does not exist");
      }
      return Ok();
    });
  }

  Result<std::vector<KeyRow>> ListKeysDueForDeletion(int64_t now) override {
    Session lock(this);
    return SelectKeys(std::string(kSelectKey) +
                          " WHERE deletion_date IS NOT NULL AND deletion_date <= ? ORDER BY seq",
                      now);
  }

  Result<std::vector<KeyRow>> ListKeysDueForRotation(int64_t now) override {
    Session lock(this);
    return SelectKeys(std::string(kSelectKey) +
                          " WHERE rotation_enabled = 1 AND next_rotation_date <= ? ORDER BY seq",
                      now);
  }

  Result<std::vector<KeyRow>> ListKeysWithExpiredMaterial(int64_t now) override {
    Session lock(this);
    return SelectKeys(std::string(kSelectKey) +
                          " WHERE valid_to IS NOT NULL AND valid_to <= ? ORDER BY seq",
                      now);
  }

  Result<std::map<std::string, int64_t>> CountKeysByState() override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare("SELECT key_state, COUNT(*) FROM keys GROUP BY key_state"));
    std::map<std::string, int64_t> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out[ColumnText(s, 0)] = sqlite3_column_int64(s, 1);
    }
    if (rc != SQLITE_DONE) {
      return StepError(rc, "count keys by state");
    }
    return out;
  }

  Status InsertAlias(const AliasRow& a, size_t max_aliases_per_key) override {
    Session lock(this);
    return InTransaction([&]() -> Status {
      SCY_RETURN_IF_ERROR(CheckAliasRoom(a.target_key_id, max_aliases_per_key));
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                           Prepare("INSERT INTO aliases (account_id, region, alias_name, "
                                   "target_key_id, creation_date, last_updated_date) VALUES "
                                   "(?,?,?,?,?,?)"));
      BindAlias(s, a);
      int rc = sqlite3_step(s);
      if (rc == SQLITE_CONSTRAINT && IsForeignKeyViolation()) {
        return MakeError(ErrorCode::kNotFound, "key " + a.target_key_id + " does not exist");
      }
      if (rc == SQLITE_CONSTRAINT) {
        return MakeError(ErrorCode::kAlreadyExists, "alias " + a.alias_name + " already exists");
      }
      return StepDone(rc, "insert alias");
    });
  }

  Result<std::optional<AliasRow>> GetAlias(const std::string& account_id,
                                           const std::string& region,
                                           const std::string& alias_name) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectAlias) +
                                 " WHERE account_id = ? AND region = ? AND alias_name = ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, region);
    BindText(s, 3, alias_name);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<AliasRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get alias");
    }
    return std::optional<AliasRow>(ReadAlias(s));
  }

  Status UpdateAlias(const AliasRow& a, size_t max_aliases_per_key) override {
    Session lock(this);
    return InTransaction([&]() -> Status {
      SCY_ASSIGN_OR_RETURN(
          sqlite3_stmt * current,
          Prepare("SELECT target_key_id FROM aliases WHERE account_id = ? AND region = ? AND "
                  "alias_name = ?"));
      BindText(current, 1, a.account_id);
      BindText(current, 2, a.region);
      BindText(current, 3, a.alias_name);
      int rc = sqlite3_step(current);
      if (rc == SQLITE_DONE) {
        return MakeError(ErrorCode::kNotFound, "alias " + a.alias_name + " does not exist");
      }
      if (rc != SQLITE_ROW) {
        return StepError(rc, "update alias");
      }
      if (ColumnText(current, 0) != a.target_key_id) {
        SCY_RETURN_IF_ERROR(CheckAliasRoom(a.target_key_id, max_aliases_per_key));
      }
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                           Prepare("UPDATE aliases SET target_key_id = ?, last_updated_date = ? "
                                   "WHERE account_id = ? AND region = ? AND alias_name = ?"));
      BindText(s, 1, a.target_key_id);
      sqlite3_bind_int64(s, 2, a.last_updated_date);
      BindText(s, 3, a.account_id);
      BindText(s, 4, a.region);
      BindText(s, 5, a.alias_name);
      rc = sqlite3_step(s);
      if (rc == SQLITE_CONSTRAINT && IsForeignKeyViolation()) {
        return MakeError(ErrorCode::kNotFound, "key " + a.target_key_id + " does not exist");
      }
      return StepDone(rc, "update alias");
    });
  }

  Status DeleteAlias(const std::string& account_id, const std::string& region,
                     const std::string& alias_name) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("DELETE FROM aliases WHERE account_id = ? AND region = ? AND alias_name = ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, region);
    BindText(s, 3, alias_name);
    SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "delete alias"));
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound, "alias " + alias_name + " does not exist");
    }
    return Ok();
  }

  Result<std::vector<AliasRow>> ListAliases(const std::string& account_id,
                                            const std::string& region,
                                            const std::optional<std::string>& key_id,
                                            const std::string& after_name,
                                            size_t limit) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare(std::string(kSelectAlias) +
                " WHERE account_id = ? AND region = ? AND (? IS NULL OR target_key_id = ?) "
                "AND alias_name > ? ORDER BY alias_name LIMIT ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, region);
    if (key_id) {
      BindText(s, 3, *key_id);
      BindText(s, 4, *key_id);
    } else {
      sqlite3_bind_null(s, 3);
      sqlite3_bind_null(s, 4);
    }
    BindText(s, 5, after_name);
    sqlite3_bind_int64(s, 6, static_cast<int64_t>(limit));
    std::vector<AliasRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadAlias(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "list aliases"));
    return out;
  }

  Result<std::optional<KeyVersionRow>> GetCurrentKeyVersion(const std::string& key_id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectVersion) +
                                 " WHERE key_id = ? ORDER BY rowid DESC LIMIT 1"));
    BindText(s, 1, key_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<KeyVersionRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get current key version");
    }
    return std::optional<KeyVersionRow>(ReadVersion(s));
  }

  Result<std::optional<KeyVersionRow>> GetKeyVersion(const std::string& key_id,
                                                     const std::string& version_id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectVersion) +
                                 " WHERE key_id = ? AND version_id = ?"));
    BindText(s, 1, key_id);
    BindText(s, 2, version_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<KeyVersionRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get key version");
    }
    return std::optional<KeyVersionRow>(ReadVersion(s));
  }

  Result<std::string> InsertGrant(const GrantRow& g, size_t max_grants_per_key) override {
    Session lock(this);
    std::string id = g.grant_id;
    Status done = InTransaction([&]() -> Status {
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * k, Prepare("SELECT 1 FROM keys WHERE key_id = ?"));
      BindText(k, 1, g.key_id);
      int rc = sqlite3_step(k);
      if (rc == SQLITE_DONE) {
        return MakeError(ErrorCode::kNotFound, "key " + g.key_id + " does not exist");
      }
      if (rc != SQLITE_ROW) {
        return StepError(rc, "insert grant");
      }
      if (!g.name.empty()) {
        SCY_ASSIGN_OR_RETURN(
            sqlite3_stmt * same,
            Prepare("SELECT grant_id FROM grants WHERE key_id = ? AND name = ? AND "
                    "grantee_principal = ? AND retiring_principal = ? AND operations = ? AND "
                    "constraints = ? ORDER BY seq LIMIT 1"));
        BindText(same, 1, g.key_id);
        BindText(same, 2, g.name);
        BindText(same, 3, g.grantee_principal);
        BindText(same, 4, g.retiring_principal);
        BindText(same, 5, g.operations);
        BindText(same, 6, g.constraints);
        rc = sqlite3_step(same);
        if (rc == SQLITE_ROW) {
          id = ColumnText(same, 0);
          return Ok();
        }
        SCY_RETURN_IF_ERROR(StepDone(rc, "find named grant"));
      }
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * count,
                           Prepare("SELECT COUNT(*) FROM grants WHERE key_id = ?"));
      BindText(count, 1, g.key_id);
      if ((rc = sqlite3_step(count)) != SQLITE_ROW) {
        return StepError(rc, "count grants");
      }
      if (static_cast<size_t>(sqlite3_column_int64(count, 0)) >= max_grants_per_key) {
        return MakeError(ErrorCode::kLimitExceeded,
                         "The request was rejected because the key has reached the maximum of " +
                             std::to_string(max_grants_per_key) + " grants.");
      }
      SCY_ASSIGN_OR_RETURN(
          sqlite3_stmt * s,
          Prepare("INSERT INTO grants (grant_id, key_id, name, grantee_principal, "
                  "retiring_principal, issuing_account, operations, constraints, creation_date) "
                  "VALUES (?,?,?,?,?,?,?,?,?)"));
      BindText(s, 1, g.grant_id);
      BindText(s, 2, g.key_id);
      BindText(s, 3, g.name);
      BindText(s, 4, g.grantee_principal);
      BindText(s, 5, g.retiring_principal);
      BindText(s, 6, g.issuing_account);
      BindText(s, 7, g.operations);
      BindText(s, 8, g.constraints);
      sqlite3_bind_int64(s, 9, g.creation_date);
      rc = sqlite3_step(s);
      if (rc == SQLITE_CONSTRAINT) {
        return MakeError(ErrorCode::kAlreadyExists, "grant " + g.grant_id + " already exists");
      }
      return StepDone(rc, "insert grant");
    });
    if (!done) {
      return done.error();
    }
    return id;
  }

  Result<std::optional<GrantRow>> GetGrant(const std::string& key_id,
                                           const std::string& grant_id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectGrant) +
                                 " WHERE g.key_id = ? AND g.grant_id = ?"));
    BindText(s, 1, key_id);
    BindText(s, 2, grant_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<GrantRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get grant");
    }
    return std::optional<GrantRow>(ReadGrant(s));
  }

  Result<std::vector<GrantRow>> ListGrants(const std::string& key_id, const GrantFilter& filter,
                                           int64_t after_seq, size_t limit) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare(std::string(kSelectGrant) +
                " WHERE g.key_id = ? AND (?2 IS NULL OR g.grant_id = ?2) AND "
                "(?3 IS NULL OR g.grantee_principal = ?3) AND g.seq > ? ORDER BY g.seq LIMIT ?"));
    BindText(s, 1, key_id);
    if (filter.grant_id) {
      BindText(s, 2, *filter.grant_id);
    }
    if (filter.grantee_principal) {
      BindText(s, 3, *filter.grantee_principal);
    }
    sqlite3_bind_int64(s, 4, after_seq);
    sqlite3_bind_int64(s, 5, static_cast<int64_t>(limit));
    return ReadGrants(s, "list grants");
  }

  Result<std::vector<GrantRow>> ListRetirableGrants(const std::string& retiring_principal,
                                                    int64_t after_seq, size_t limit) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectGrant) +
                                 " WHERE g.retiring_principal = ? AND g.retiring_principal <> '' "
                                 "AND g.seq > ? ORDER BY g.seq LIMIT ?"));
    BindText(s, 1, retiring_principal);
    sqlite3_bind_int64(s, 2, after_seq);
    sqlite3_bind_int64(s, 3, static_cast<int64_t>(limit));
    return ReadGrants(s, "list retirable grants");
  }

  Status DeleteGrant(const std::string& key_id, const std::string& grant_id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare("DELETE FROM grants WHERE key_id = ? AND grant_id = ?"));
    BindText(s, 1, key_id);
    BindText(s, 2, grant_id);
    SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "delete grant"));
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound, "grant " + grant_id + " does not exist");
    }
    return Ok();
  }

  Status PutAccessKey(const AccessKeyRow& row) override {
    Session lock(this);
    return PutAccessKeyLocked(row);
  }

  // Also ImportAll's, inside its transaction.
  Status PutAccessKeyLocked(const AccessKeyRow& row) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare("INSERT OR REPLACE INTO access_keys (access_key_id, account_id, "
                                 "principal_arn, status, created_at, wrapped_secret, user_name, "
                                 "session_token, expiration) VALUES (?,?,?,?,?,?,?,?,?)"));
    BindText(s, 1, row.access_key_id);
    BindText(s, 2, row.account_id);
    BindText(s, 3, row.principal_arn);
    BindText(s, 4, row.status);
    sqlite3_bind_int64(s, 5, row.created_at);
    BindBlob(s, 6, row.wrapped_secret);
    BindText(s, 7, row.user_name);
    BindText(s, 8, row.session_token);
    BindOptInt(s, 9, row.expiration);
    return StepDone(sqlite3_step(s), "put access key");
  }

  Result<std::optional<AccessKeyRow>> GetAccessKey(const std::string& access_key_id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(std::string(kSelectAccessKey) +
                                                   " WHERE access_key_id = ?"));
    BindText(s, 1, access_key_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<AccessKeyRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get access key");
    }
    return std::optional<AccessKeyRow>(ReadAccessKey(s));
  }

  Result<std::vector<AccessKeyRow>> ListAccessKeys(const std::string& principal_arn) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectAccessKey) +
                                 " WHERE principal_arn = ? ORDER BY created_at, access_key_id"));
    BindText(s, 1, principal_arn);
    std::vector<AccessKeyRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadAccessKey(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "list access keys"));
    return out;
  }

  Status DeleteAccessKey(const std::string& access_key_id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare("DELETE FROM access_keys WHERE access_key_id = ?"));
    BindText(s, 1, access_key_id);
    SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "delete access key"));
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound, "access key " + access_key_id + " does not exist");
    }
    return Ok();
  }

  Result<size_t> DeleteExpiredAccessKeys(int64_t expired_before) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("DELETE FROM access_keys WHERE expiration IS NOT NULL AND expiration <= ?"));
    sqlite3_bind_int64(s, 1, expired_before);
    SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "delete expired access keys"));
    return static_cast<size_t>(sqlite3_changes(db_.get()));
  }

  Status InsertUser(const UserRow& u) override {
    Session lock(this);
    return InsertUserLocked(u);
  }

  // Also ImportAll's, inside its transaction.
  Status InsertUserLocked(const UserRow& u) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare("INSERT INTO iam_users (account_id, name_key, user_name, user_id, "
                                 "path, create_date) VALUES (?,?,?,?,?,?)"));
    BindText(s, 1, u.account_id);
    BindText(s, 2, NameKey(u.user_name));
    BindText(s, 3, u.user_name);
    BindText(s, 4, u.user_id);
    BindText(s, 5, u.path);
    sqlite3_bind_int64(s, 6, u.create_date);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT) {
      return MakeError(ErrorCode::kAlreadyExists, "user " + u.user_name + " already exists");
    }
    return StepDone(rc, "insert user");
  }

  Result<std::optional<UserRow>> GetUser(const std::string& account_id,
                                         const std::string& user_name) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(std::string(kSelectUser) +
                                                   " WHERE account_id = ? AND name_key = ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, NameKey(user_name));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<UserRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get user");
    }
    return std::optional<UserRow>(ReadUser(s));
  }

  Result<std::vector<UserRow>> ListUsers(const std::string& account_id,
                                         const std::string& path_prefix,
                                         const std::string& after_name, size_t limit) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(std::string(kSelectUser) + kListWhere));
    BindList(s, account_id, path_prefix, after_name, limit);
    std::vector<UserRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadUser(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "list users"));
    return out;
  }

  Status DeleteUser(const std::string& account_id, const std::string& user_name) override {
    Session lock(this);
    return DeleteEntity(kUserTables, account_id, user_name);
  }
  Status PutUserPolicy(const std::string& account_id, const std::string& user_name,
                       const InlinePolicyRow& policy) override {
    Session lock(this);
    return PutPolicy(kUserTables, account_id, user_name, policy);
  }
  Result<std::optional<InlinePolicyRow>> GetUserPolicy(const std::string& account_id,
                                                       const std::string& user_name,
                                                       const std::string& policy_name) override {
    Session lock(this);
    return GetPolicy(kUserTables, account_id, user_name, policy_name);
  }
  Result<std::vector<InlinePolicyRow>> ListUserPolicies(const std::string& account_id,
                                                        const std::string& user_name) override {
    Session lock(this);
    return ListPolicies(kUserTables, account_id, user_name);
  }
  Status DeleteUserPolicy(const std::string& account_id, const std::string& user_name,
                          const std::string& policy_name) override {
    Session lock(this);
    return DeletePolicy(kUserTables, account_id, user_name, policy_name);
  }

  Status InsertRole(const RoleRow& r) override {
    Session lock(this);
    return InsertRoleLocked(r);
  }

  // Also ImportAll's, inside its transaction.
  Status InsertRoleLocked(const RoleRow& r) {
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("INSERT INTO iam_roles (account_id, name_key, role_name, role_id, path, "
                "trust_policy, description, max_session_duration, create_date) VALUES "
                "(?,?,?,?,?,?,?,?,?)"));
    BindText(s, 1, r.account_id);
    BindText(s, 2, NameKey(r.role_name));
    BindText(s, 3, r.role_name);
    BindText(s, 4, r.role_id);
    BindText(s, 5, r.path);
    BindText(s, 6, r.trust_policy);
    BindText(s, 7, r.description);
    sqlite3_bind_int(s, 8, r.max_session_duration);
    sqlite3_bind_int64(s, 9, r.create_date);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT) {
      return MakeError(ErrorCode::kAlreadyExists, "role " + r.role_name + " already exists");
    }
    return StepDone(rc, "insert role");
  }

  Result<std::optional<RoleRow>> GetRole(const std::string& account_id,
                                         const std::string& role_name) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(std::string(kSelectRole) +
                                                   " WHERE account_id = ? AND name_key = ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, NameKey(role_name));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<RoleRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get role");
    }
    return std::optional<RoleRow>(ReadRole(s));
  }

  Result<std::vector<RoleRow>> ListRoles(const std::string& account_id,
                                         const std::string& path_prefix,
                                         const std::string& after_name, size_t limit) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(std::string(kSelectRole) + kListWhere));
    BindList(s, account_id, path_prefix, after_name, limit);
    std::vector<RoleRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadRole(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "list roles"));
    return out;
  }

  Status DeleteRole(const std::string& account_id, const std::string& role_name) override {
    Session lock(this);
    return DeleteEntity(kRoleTables, account_id, role_name);
  }
  Status PutRolePolicy(const std::string& account_id, const std::string& role_name,
                       const InlinePolicyRow& policy) override {
    Session lock(this);
    return PutPolicy(kRoleTables, account_id, role_name, policy);
  }
  Result<std::optional<InlinePolicyRow>> GetRolePolicy(const std::string& account_id,
                                                       const std::string& role_name,
                                                       const std::string& policy_name) override {
    Session lock(this);
    return GetPolicy(kRoleTables, account_id, role_name, policy_name);
  }
  Result<std::vector<InlinePolicyRow>> ListRolePolicies(const std::string& account_id,
                                                        const std::string& role_name) override {
    Session lock(this);
    return ListPolicies(kRoleTables, account_id, role_name);
  }
  Status DeleteRolePolicy(const std::string& account_id, const std::string& role_name,
                          const std::string& policy_name) override {
    Session lock(this);
    return DeletePolicy(kRoleTables, account_id, role_name, policy_name);
  }

  Status InsertCustomKeyStore(const CustomKeyStoreRow& row) override {
    Session lock(this);
    return InsertCustomKeyStoreLocked(row);
  }

  // Also ImportAll's, inside its transaction.
  Status InsertCustomKeyStoreLocked(const CustomKeyStoreRow& row) {
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("INSERT INTO custom_key_stores (custom_key_store_id, account_id, region, name, "
                "type, cloud_hsm_cluster_id, trust_anchor_certificate, wrapped_password, "
                "connection_state, connection_error_code, creation_date) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
    BindText(s, 1, row.custom_key_store_id);
    BindText(s, 2, row.account_id);
    BindText(s, 3, row.region);
    BindText(s, 4, row.name);
    BindText(s, 5, row.type);
    BindText(s, 6, row.cloud_hsm_cluster_id);
    BindText(s, 7, row.trust_anchor_certificate);
    BindBlob(s, 8, row.wrapped_password);
    BindText(s, 9, row.connection_state);
    BindText(s, 10, row.connection_error_code);
    sqlite3_bind_int64(s, 11, row.creation_date);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT) {
      return MakeError(ErrorCode::kAlreadyExists,
                       "custom key store id, name or cluster is already taken");
    }
    return StepDone(rc, "insert custom key store");
  }

  Result<std::optional<CustomKeyStoreRow>> GetCustomKeyStore(const std::string& account_id,
                                                             const std::string& region,
                                                             const std::string& id) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string(kSelectCustomKeyStore) +
                                 " WHERE custom_key_store_id = ? AND account_id = ? AND "
                                 "region = ?"));
    BindText(s, 1, id);
    BindText(s, 2, account_id);
    BindText(s, 3, region);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<CustomKeyStoreRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get custom key store");
    }
    return std::optional<CustomKeyStoreRow>(ReadCustomKeyStore(s));
  }

  Result<std::vector<CustomKeyStoreRow>> ListCustomKeyStores(
      const std::optional<std::string>& account_id, const std::string& region) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare(std::string(kSelectCustomKeyStore) +
                " WHERE ? IS NULL OR (account_id = ? AND region = ?) "
                "ORDER BY rowid"));
    if (account_id) {
      BindText(s, 1, *account_id);
      BindText(s, 2, *account_id);
    } else {
      sqlite3_bind_null(s, 1);
      sqlite3_bind_null(s, 2);
    }
    BindText(s, 3, region);
    std::vector<CustomKeyStoreRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadCustomKeyStore(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "list custom key stores"));
    return out;
  }

  Status UpdateCustomKeyStore(const CustomKeyStoreRow& row) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("UPDATE custom_key_stores SET name = ?, cloud_hsm_cluster_id = ?, "
                "wrapped_password = ?, connection_state = ?, connection_error_code = ? "
                "WHERE custom_key_store_id = ? AND account_id = ? AND region = ?"));
    BindText(s, 1, row.name);
    BindText(s, 2, row.cloud_hsm_cluster_id);
    BindBlob(s, 3, row.wrapped_password);
    BindText(s, 4, row.connection_state);
    BindText(s, 5, row.connection_error_code);
    BindText(s, 6, row.custom_key_store_id);
    BindText(s, 7, row.account_id);
    BindText(s, 8, row.region);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT) {
      return MakeError(ErrorCode::kAlreadyExists, "custom key store name or cluster is taken");
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "update custom key store"));
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound,
                       "custom key store " + row.custom_key_store_id + " does not exist");
    }
    return Ok();
  }

  Status DeleteCustomKeyStore(const std::string& account_id, const std::string& region,
                              const std::string& id) override {
    Session lock(this);
    return InTransaction([&]() -> Status {
      SCY_ASSIGN_OR_RETURN(int64_t keys, CountKeysInCustomKeyStoreLocked(id));
      if (keys > 0) {
        return internal::CustomKeyStoreHasKeysError(id, keys);
      }
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                           Prepare("DELETE FROM custom_key_stores WHERE custom_key_store_id = ? "
                                   "AND account_id = ? AND region = ?"));
      BindText(s, 1, id);
      BindText(s, 2, account_id);
      BindText(s, 3, region);
      SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "delete custom key store"));
      if (sqlite3_changes(db_.get()) == 0) {
        return MakeError(ErrorCode::kNotFound, "custom key store " + id + " does not exist");
      }
      return Ok();
    });
  }

  Result<int64_t> CountKeysInCustomKeyStore(const std::string& id) override {
    Session lock(this);
    return CountKeysInCustomKeyStoreLocked(id);
  }

  Status PutAccount(const std::string& account_id, int64_t created_at) override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("INSERT OR IGNORE INTO accounts (account_id, created_at) VALUES (?, ?)"));
    BindText(s, 1, account_id);
    sqlite3_bind_int64(s, 2, created_at);
    return StepDone(sqlite3_step(s), "put account");
  }

  Result<int> SchemaVersion() override {
    Session lock(this);
    return SchemaVersionLocked();
  }

  Status Ping() override {
    Session lock(this);
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("SELECT 1"));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
      return StepError(rc, "ping");
    }
    return Ok();
  }

 private:
  static constexpr const char* kSelectKey =
      "SELECT seq, key_id, account_id, region, description, key_spec, key_usage, origin, "
      "key_manager, key_state, creation_date, deletion_date, multi_region, policy, "
      "rotation_enabled, rotation_period_days, next_rotation_date, pending_window_days, "
      "revision, expiration_model, valid_to, custom_key_store_id FROM keys";
  static constexpr const char* kSelectCustomKeyStore =
      "SELECT custom_key_store_id, account_id, region, name, type, cloud_hsm_cluster_id, "
      "trust_anchor_certificate, wrapped_password, connection_state, connection_error_code, "
      "creation_date FROM custom_key_stores";
  static constexpr const char* kSelectAlias =
      "SELECT account_id, region, alias_name, target_key_id, creation_date, last_updated_date "
      "FROM aliases";
  static constexpr const char* kSelectVersion =
      "SELECT key_id, version_id, created_at, wrapped_material, rotation_type FROM key_versions";

  Status UpdateKeyLocked(const KeyRow& key) {
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("UPDATE keys SET description = ?, key_state = ?, deletion_date = ?, policy = ?, "
                "rotation_enabled = ?, rotation_period_days = ?, next_rotation_date = ?, "
                "pending_window_days = ?, expiration_model = ?, valid_to = ?, "
                "revision = revision + 1 WHERE key_id = ? AND revision = ?"));
    BindText(s, 1, key.description);
    BindText(s, 2, key.key_state);
    BindOptInt(s, 3, key.deletion_date);
    BindText(s, 4, key.policy);
    sqlite3_bind_int(s, 5, key.rotation_enabled ? 1 : 0);
    sqlite3_bind_int(s, 6, key.rotation_period_days);
    BindOptInt(s, 7, key.next_rotation_date);
    sqlite3_bind_int(s, 8, key.pending_window_days);
    BindText(s, 9, key.expiration_model);
    BindOptInt(s, 10, key.valid_to);
    BindText(s, 11, key.key_id);
    sqlite3_bind_int64(s, 12, key.revision);
    SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "update key"));
    if (sqlite3_changes(db_.get()) == 0) {
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * exists,
                           Prepare("SELECT 1 FROM keys WHERE key_id = ?"));
      BindText(exists, 1, key.key_id);
      int rc = sqlite3_step(exists);
      if (rc == SQLITE_ROW) {
        return MakeError(ErrorCode::kConflict, "key " + key.key_id + " was changed concurrently");
      }
      SCY_RETURN_IF_ERROR(StepDone(rc, "key exists"));
      return MakeError(ErrorCode::kNotFound, "key " + key.key_id + " does not exist");
    }
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * clear, Prepare("DELETE FROM key_tags WHERE key_id = ?"));
    BindText(clear, 1, key.key_id);
    SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(clear), "clear tags"));
    return InsertTags(key);
  }

  Status InsertTags(const KeyRow& key) {
    for (const auto& [k, v] : key.tags) {
      SCY_ASSIGN_OR_RETURN(
          sqlite3_stmt * t,
          Prepare("INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES (?,?,?)"));
      BindText(t, 1, key.key_id);
      BindText(t, 2, k);
      BindText(t, 3, v);
      SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(t), "insert tag"));
    }
    return Ok();
  }

  Result<std::vector<KeyRow>> SelectKeys(const std::string& sql, int64_t arg) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
    sqlite3_bind_int64(s, 1, arg);
    std::vector<KeyRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadKey(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "select keys"));
    for (auto& row : out) {
      SCY_RETURN_IF_ERROR(LoadTags(row));
    }
    return out;
  }

  static void BindAlias(sqlite3_stmt* s, const AliasRow& a) {
    BindText(s, 1, a.account_id);
    BindText(s, 2, a.region);
    BindText(s, 3, a.alias_name);
    BindText(s, 4, a.target_key_id);
    sqlite3_bind_int64(s, 5, a.creation_date);
    sqlite3_bind_int64(s, 6, a.last_updated_date);
  }

  static AliasRow ReadAlias(sqlite3_stmt* s) {
    AliasRow a;
    a.account_id = ColumnText(s, 0);
    a.region = ColumnText(s, 1);
    a.alias_name = ColumnText(s, 2);
    a.target_key_id = ColumnText(s, 3);
    a.creation_date = sqlite3_column_int64(s, 4);
    a.last_updated_date = sqlite3_column_int64(s, 5);
    return a;
  }

  static void BindOptInt(sqlite3_stmt* s, int i, const std::optional<int64_t>& v) {
    if (v) {
      sqlite3_bind_int64(s, i, *v);
    } else {
      sqlite3_bind_null(s, i);
    }
  }
  static constexpr const char* kSelectAccessKey =
      "SELECT access_key_id, account_id, principal_arn, status, created_at, wrapped_secret, "
      "user_name, session_token, expiration FROM access_keys";
  static constexpr const char* kSelectUser =
      "SELECT account_id, user_name, user_id, path, create_date FROM iam_users";
  static constexpr const char* kSelectRole =
      "SELECT account_id, role_name, role_id, path, trust_policy, description, "
      "max_session_duration, create_date FROM iam_roles";
  // substr rather than LIKE: paths may hold '%' and '_'.
  static constexpr const char* kListWhere =
      " WHERE account_id = ? AND substr(path, 1, length(?)) = ? AND name_key > ? "
      "ORDER BY name_key LIMIT ?";

  void BindList(sqlite3_stmt* s, const std::string& account_id, const std::string& path_prefix,
                const std::string& after_name, size_t limit) {
    BindText(s, 1, account_id);
    BindText(s, 2, path_prefix);
    BindText(s, 3, path_prefix);
    BindText(s, 4, NameKey(after_name));
    sqlite3_bind_int64(s, 5, static_cast<int64_t>(limit));
  }

  static UserRow ReadUser(sqlite3_stmt* s) {
    UserRow u;
    u.account_id = ColumnText(s, 0);
    u.user_name = ColumnText(s, 1);
    u.user_id = ColumnText(s, 2);
    u.path = ColumnText(s, 3);
    u.create_date = sqlite3_column_int64(s, 4);
    return u;
  }

  static RoleRow ReadRole(sqlite3_stmt* s) {
    RoleRow r;
    r.account_id = ColumnText(s, 0);
    r.role_name = ColumnText(s, 1);
    r.role_id = ColumnText(s, 2);
    r.path = ColumnText(s, 3);
    r.trust_policy = ColumnText(s, 4);
    r.description = ColumnText(s, 5);
    r.max_session_duration = sqlite3_column_int(s, 6);
    r.create_date = sqlite3_column_int64(s, 7);
    return r;
  }

  Status DeleteEntity(const EntityTables& t, const std::string& account_id,
                      const std::string& name) {
    // Foreign keys cascade to the inline policies.
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string("DELETE FROM ") + t.entities +
                                 " WHERE account_id = ? AND name_key = ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, NameKey(name));
    SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "delete entity"));
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound, std::string(t.noun) + " " + name + " does not exist");
    }
    return Ok();
  }

  Status PutPolicy(const EntityTables& t, const std::string& account_id, const std::string& name,
                   const InlinePolicyRow& policy) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string("INSERT INTO ") + t.policies +
                                 " (account_id, name_key, policy_name, document) VALUES "
                                 "(?,?,?,?) ON CONFLICT (account_id, name_key, policy_name) "
                                 "DO UPDATE SET document = excluded.document"));
    BindText(s, 1, account_id);
    BindText(s, 2, NameKey(name));
    BindText(s, 3, policy.policy_name);
    BindText(s, 4, policy.document);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT) {  // the foreign key: no such entity
      return MakeError(ErrorCode::kNotFound, std::string(t.noun) + " " + name + " does not exist");
    }
    return StepDone(rc, "put policy");
  }

  Result<std::optional<InlinePolicyRow>> GetPolicy(const EntityTables& t,
                                                   const std::string& account_id,
                                                   const std::string& name,
                                                   const std::string& policy_name) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string("SELECT policy_name, document FROM ") + t.policies +
                                 " WHERE account_id = ? AND name_key = ? AND policy_name = ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, NameKey(name));
    BindText(s, 3, policy_name);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      return std::optional<InlinePolicyRow>();
    }
    if (rc != SQLITE_ROW) {
      return StepError(rc, "get policy");
    }
    return std::optional<InlinePolicyRow>(InlinePolicyRow{ColumnText(s, 0), ColumnText(s, 1)});
  }

  Result<std::vector<InlinePolicyRow>> ListPolicies(const EntityTables& t,
                                                    const std::string& account_id,
                                                    const std::string& name) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string("SELECT policy_name, document FROM ") + t.policies +
                                 " WHERE account_id = ? AND name_key = ? ORDER BY policy_name"));
    BindText(s, 1, account_id);
    BindText(s, 2, NameKey(name));
    std::vector<InlinePolicyRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(InlinePolicyRow{ColumnText(s, 0), ColumnText(s, 1)});
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, "list policies"));
    return out;
  }

  Status DeletePolicy(const EntityTables& t, const std::string& account_id,
                      const std::string& name, const std::string& policy_name) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare(std::string("DELETE FROM ") + t.policies +
                                 " WHERE account_id = ? AND name_key = ? AND policy_name = ?"));
    BindText(s, 1, account_id);
    BindText(s, 2, NameKey(name));
    BindText(s, 3, policy_name);
    SCY_RETURN_IF_ERROR(StepDone(sqlite3_step(s), "delete policy"));
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound, "policy " + policy_name + " does not exist");
    }
    return Ok();
  }

  Result<int> SchemaVersionLocked() {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
      return StepError(rc, "schema version");
    }
    return sqlite3_column_int(s, 0);
  }

  Status InsertVersion(const KeyVersionRow& v) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare("INSERT INTO key_versions (key_id, version_id, created_at, "
                                 "wrapped_material, rotation_type) VALUES (?,?,?,?,?)"));
    BindText(s, 1, v.key_id);
    BindText(s, 2, v.version_id);
    sqlite3_bind_int64(s, 3, v.created_at);
    BindBlob(s, 4, v.wrapped_material);
    BindText(s, 5, v.rotation_type);
    return StepDone(sqlite3_step(s), "insert key version");
  }

  Status LoadTags(KeyRow& row) {
    SCY_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("SELECT tag_key, tag_value FROM key_tags WHERE key_id = ? ORDER BY tag_key"));
    BindText(s, 1, row.key_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      row.tags.emplace_back(ColumnText(s, 0), ColumnText(s, 1));
    }
    return StepDone(rc, "load tags");
  }

  static KeyRow ReadKey(sqlite3_stmt* s) {
    KeyRow r;
    r.seq = sqlite3_column_int64(s, 0);
    r.key_id = ColumnText(s, 1);
    r.account_id = ColumnText(s, 2);
    r.region = ColumnText(s, 3);
    r.description = ColumnText(s, 4);
    r.key_spec = ColumnText(s, 5);
    r.key_usage = ColumnText(s, 6);
    r.origin = ColumnText(s, 7);
    r.key_manager = ColumnText(s, 8);
    r.key_state = ColumnText(s, 9);
    r.creation_date = sqlite3_column_int64(s, 10);
    if (sqlite3_column_type(s, 11) != SQLITE_NULL) {
      r.deletion_date = sqlite3_column_int64(s, 11);
    }
    r.multi_region = sqlite3_column_int(s, 12) != 0;
    r.policy = ColumnText(s, 13);
    r.rotation_enabled = sqlite3_column_int(s, 14) != 0;
    r.rotation_period_days = sqlite3_column_int(s, 15);
    if (sqlite3_column_type(s, 16) != SQLITE_NULL) {
      r.next_rotation_date = sqlite3_column_int64(s, 16);
    }
    r.pending_window_days = sqlite3_column_int(s, 17);
    r.revision = sqlite3_column_int64(s, 18);
    r.expiration_model = ColumnText(s, 19);
    if (sqlite3_column_type(s, 20) != SQLITE_NULL) {
      r.valid_to = sqlite3_column_int64(s, 20);
    }
    r.custom_key_store_id = ColumnText(s, 21);
    return r;
  }

  static CustomKeyStoreRow ReadCustomKeyStore(sqlite3_stmt* s) {
    CustomKeyStoreRow r;
    r.custom_key_store_id = ColumnText(s, 0);
    r.account_id = ColumnText(s, 1);
    r.region = ColumnText(s, 2);
    r.name = ColumnText(s, 3);
    r.type = ColumnText(s, 4);
    r.cloud_hsm_cluster_id = ColumnText(s, 5);
    r.trust_anchor_certificate = ColumnText(s, 6);
    r.wrapped_password = ColumnBlob(s, 7);
    r.connection_state = ColumnText(s, 8);
    r.connection_error_code = ColumnText(s, 9);
    r.creation_date = sqlite3_column_int64(s, 10);
    return r;
  }

  Result<int64_t> CountKeysInCustomKeyStoreLocked(const std::string& id) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                         Prepare("SELECT COUNT(*) FROM keys WHERE custom_key_store_id = ?"));
    BindText(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
      return StepError(rc, "count keys in custom key store");
    }
    return static_cast<int64_t>(sqlite3_column_int64(s, 0));
  }

  static KeyVersionRow ReadVersion(sqlite3_stmt* s) {
    KeyVersionRow v;
    v.key_id = ColumnText(s, 0);
    v.version_id = ColumnText(s, 1);
    v.created_at = sqlite3_column_int64(s, 2);
    v.wrapped_material = ColumnBlob(s, 3);
    v.rotation_type = ColumnText(s, 4);
    return v;
  }

  static GrantRow ReadGrant(sqlite3_stmt* s) {
    GrantRow g;
    g.grant_id = ColumnText(s, 0);
    g.key_id = ColumnText(s, 1);
    g.name = ColumnText(s, 2);
    g.grantee_principal = ColumnText(s, 3);
    g.retiring_principal = ColumnText(s, 4);
    g.issuing_account = ColumnText(s, 5);
    g.operations = ColumnText(s, 6);
    g.constraints = ColumnText(s, 7);
    g.creation_date = sqlite3_column_int64(s, 8);
    g.key_account_id = ColumnText(s, 9);
    g.key_region = ColumnText(s, 10);
    g.seq = sqlite3_column_int64(s, 11);
    return g;
  }

  Result<std::vector<GrantRow>> ReadGrants(sqlite3_stmt* s, const char* what) {
    std::vector<GrantRow> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.push_back(ReadGrant(s));
    }
    SCY_RETURN_IF_ERROR(StepDone(rc, what));
    return out;
  }

  static AccessKeyRow ReadAccessKey(sqlite3_stmt* s) {
    AccessKeyRow r;
    r.access_key_id = ColumnText(s, 0);
    r.account_id = ColumnText(s, 1);
    r.principal_arn = ColumnText(s, 2);
    r.status = ColumnText(s, 3);
    r.created_at = sqlite3_column_int64(s, 4);
    r.wrapped_secret = ColumnBlob(s, 5);
    r.user_name = ColumnText(s, 6);
    r.session_token = ColumnText(s, 7);
    if (sqlite3_column_type(s, 8) != SQLITE_NULL) {
      r.expiration = sqlite3_column_int64(s, 8);
    }
    return r;
  }

  template <class F>
  Status InTransaction(F&& body) {
    SCY_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status result = body();
    if (!result) {
      (void)Exec("ROLLBACK");
      return result;
    }
    Status committed = Exec("COMMIT");
    if (!committed) {
      (void)Exec("ROLLBACK");
    }
    return committed;
  }

  Status Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return MakeError(rc == SQLITE_BUSY ? ErrorCode::kDependencyTimeout : ErrorCode::kInternal,
                       "sqlite: " + msg);
    }
    return Ok();
  }

  // Exec for opening: SQLite answers SQLITE_BUSY at once, without its busy handler, in some of
  // the races of several connections opening one fresh file (switching it to WAL, creating the
  // first table), so those statements are retried for up to the busy timeout.
  Status ExecWhenFree(const std::string& sql) {
    constexpr auto kPause = std::chrono::milliseconds(10);
    constexpr int kAttempts = 500;  // 5 s, as sqlite3_busy_timeout above
    for (int attempt = 1;; ++attempt) {
      Status done = Exec(sql);
      if (done || done.error().code != ErrorCode::kDependencyTimeout || attempt == kAttempts) {
        return done;
      }
      std::this_thread::sleep_for(kPause);
    }
  }

  // Returns a cached prepared statement, reset and with its bindings cleared.
  Result<sqlite3_stmt*> Prepare(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      sqlite3_stmt* raw = nullptr;
      int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &raw,
                                  nullptr);
      if (rc != SQLITE_OK) {
        return MakeError(ErrorCode::kInternal,
                         std::string("sqlite prepare: ") + sqlite3_errmsg(db_.get()));
      }
      it = statements_.emplace(sql, StmtPtr(raw)).first;
    }
    sqlite3_stmt* s = it->second.get();
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    stepped_.push_back(s);
    return s;
  }

  // Inside a write transaction: the key has room for one more alias.
  Status CheckAliasRoom(const std::string& key_id, size_t max_aliases) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * count,
                         Prepare("SELECT COUNT(*) FROM aliases WHERE target_key_id = ?"));
    BindText(count, 1, key_id);
    int rc = sqlite3_step(count);
    if (rc != SQLITE_ROW) {
      return StepError(rc, "count aliases");
    }
    if (static_cast<size_t>(sqlite3_column_int64(count, 0)) >= max_aliases) {
      return AliasLimitError(max_aliases);
    }
    return Ok();
  }

  bool IsForeignKeyViolation() {
    return sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_FOREIGNKEY;
  }

  Error StepError(int rc, const char* what) {
    return MakeError(rc == SQLITE_BUSY ? ErrorCode::kDependencyTimeout : ErrorCode::kInternal,
                     std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_.get()));
  }
  Status StepDone(int rc, const char* what) {
    if (rc == SQLITE_DONE) {
      return Ok();
    }
    return StepError(rc, what);
  }

  static void BindText(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static void BindBlob(sqlite3_stmt* s, int i, const Bytes& v) {
    if (v.empty()) {
      sqlite3_bind_zeroblob(s, i, 0);  // an empty blob, not NULL (a null data pointer is NULL)
      return;
    }
    sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string ColumnText(sqlite3_stmt* s, int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p != nullptr ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i)))
                        : std::string();
  }
  static Bytes ColumnBlob(sqlite3_stmt* s, int i) {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s, i));
    return p != nullptr ? Bytes(p, p + sqlite3_column_bytes(s, i)) : Bytes();
  }

  // ---- Bulk export and import, for `scytale migrate` (storage/migrate.h) ----
 public:
  Status ExportAll(RowSink& sink) override {
    Session lock(this);
    // A deferred transaction: its first SELECT takes the snapshot every later one reads.
    SCY_RETURN_IF_ERROR(Exec("BEGIN"));
    Status exported = ExportTables(sink);
    // Statements left on a row (an error stopped them) must not keep the snapshot open.
    for (sqlite3_stmt* s : stepped_) {
      sqlite3_reset(s);
    }
    (void)Exec(exported ? "COMMIT" : "ROLLBACK");
    return exported;
  }

  Status ImportAll(const std::function<Status(RowSink& into)>& fill) override {
    Session lock(this);
    // BEGIN IMMEDIATE takes the write lock first: no other connection writes until the end.
    return InTransaction([&]() -> Status {
      SCY_ASSIGN_OR_RETURN(auto counts, CountRowsLocked());
      for (const auto& [table, rows] : counts) {
        if (rows > 0) {
          return internal::StoreNotEmptyError(counts);
        }
      }
      ImportSink into(this);
      return fill(into);
    });
  }

  Result<std::map<std::string, int64_t>> CountRows() override {
    Session lock(this);
    return CountRowsLocked();
  }

 private:
  // Inserts rows as given, inside ImportAll's transaction (whose Session it runs under).
  class ImportSink : public RowSink {
   public:
    explicit ImportSink(SqliteStore* store) : s_(store) {}

    Status AddAccount(const AccountRow& row) override {
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                           s_->Prepare("INSERT INTO accounts (account_id, created_at) "
                                       "VALUES (?, ?)"));
      BindText(s, 1, row.account_id);
      sqlite3_bind_int64(s, 2, row.created_at);
      return s_->StepDone(sqlite3_step(s), "import account");
    }
    Status AddCustomKeyStore(const CustomKeyStoreRow& row) override {
      return s_->InsertCustomKeyStoreLocked(row);
    }
    Status AddKey(const KeyRow& key) override {
      // kSelectKey's columns, in its order, with seq and revision as given.
      SCY_ASSIGN_OR_RETURN(
          sqlite3_stmt * s,
          s_->Prepare("INSERT INTO keys (seq, key_id, account_id, region, description, "
                      "key_spec, key_usage, origin, key_manager, key_state, creation_date, "
                      "deletion_date, multi_region, policy, rotation_enabled, "
                      "rotation_period_days, next_rotation_date, pending_window_days, revision, "
                      "expiration_model, valid_to, custom_key_store_id) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
      sqlite3_bind_int64(s, 1, key.seq);
      const std::string* texts[] = {&key.key_id,    &key.account_id, &key.region,
                                    &key.description, &key.key_spec, &key.key_usage,
                                    &key.origin,    &key.key_manager, &key.key_state};
      for (int i = 0; i < 9; ++i) {
        BindText(s, 2 + i, *texts[i]);
      }
      sqlite3_bind_int64(s, 11, key.creation_date);
      BindOptInt(s, 12, key.deletion_date);
      sqlite3_bind_int(s, 13, key.multi_region ? 1 : 0);
      BindText(s, 14, key.policy);
      sqlite3_bind_int(s, 15, key.rotation_enabled ? 1 : 0);
      sqlite3_bind_int(s, 16, key.rotation_period_days);
      BindOptInt(s, 17, key.next_rotation_date);
      sqlite3_bind_int(s, 18, key.pending_window_days);
      sqlite3_bind_int64(s, 19, key.revision);
      BindText(s, 20, key.expiration_model);
      BindOptInt(s, 21, key.valid_to);
      BindText(s, 22, key.custom_key_store_id);
      SCY_RETURN_IF_ERROR(s_->StepDone(sqlite3_step(s), "import key"));
      return s_->InsertTags(key);
    }
    Status AddKeyVersion(const KeyVersionRow& row) override { return s_->InsertVersion(row); }
    Status AddAlias(const AliasRow& row) override {
      SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                           s_->Prepare("INSERT INTO aliases (account_id, region, alias_name, "
                                       "target_key_id, creation_date, last_updated_date) "
                                       "VALUES (?,?,?,?,?,?)"));
      BindAlias(s, row);
      return s_->StepDone(sqlite3_step(s), "import alias");
    }
    Status AddGrant(const GrantRow& g) override {
      SCY_ASSIGN_OR_RETURN(
          sqlite3_stmt * s,
          s_->Prepare("INSERT INTO grants (seq, grant_id, key_id, name, grantee_principal, "
                      "retiring_principal, issuing_account, operations, constraints, "
                      "creation_date) VALUES (?,?,?,?,?,?,?,?,?,?)"));
      sqlite3_bind_int64(s, 1, g.seq);
      const std::string* texts[] = {&g.grant_id,          &g.key_id,          &g.name,
                                    &g.grantee_principal, &g.retiring_principal,
                                    &g.issuing_account,   &g.operations,      &g.constraints};
      for (int i = 0; i < 8; ++i) {
        BindText(s, 2 + i, *texts[i]);
      }
      sqlite3_bind_int64(s, 10, g.creation_date);
      return s_->StepDone(sqlite3_step(s), "import grant");
    }
    Status AddUser(const UserRow& u) override {
      return s_->InsertUserLocked(u);
    }
    Status AddUserPolicy(const OwnedPolicyRow& row) override {
      return s_->PutPolicy(kUserTables, row.account_id, row.owner_name, row.policy);
    }
    Status AddRole(const RoleRow& r) override {
      return s_->InsertRoleLocked(r);
    }
    Status AddRolePolicy(const OwnedPolicyRow& row) override {
      return s_->PutPolicy(kRoleTables, row.account_id, row.owner_name, row.policy);
    }
    Status AddAccessKey(const AccessKeyRow& row) override {
      // An empty store has no row to replace: ids are unique in the source.
      return s_->PutAccessKeyLocked(row);
    }

   private:
    SqliteStore* s_;
  };

  // Steps `sql` to its end, handing each row to `on_row`.
  template <class F>
  Status ForEachRow(const std::string& sql, const char* what, F&& on_row) {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      SCY_RETURN_IF_ERROR(on_row(s));
    }
    return StepDone(rc, what);
  }

  // ExportAll's tables, in RowSink's order; text orders are BINARY (bytewise), as PostgreSQL's
  // export orders them with COLLATE "C".
  Status ExportTables(RowSink& sink) {
    SCY_RETURN_IF_ERROR(ForEachRow(
        "SELECT account_id, created_at FROM accounts ORDER BY account_id", "export accounts",
        [&](sqlite3_stmt* s) {
          return sink.AddAccount(AccountRow{ColumnText(s, 0), sqlite3_column_int64(s, 1)});
        }));
    SCY_RETURN_IF_ERROR(ForEachRow(
        std::string(kSelectCustomKeyStore) + " ORDER BY rowid", "export custom key stores",
        [&](sqlite3_stmt* s) { return sink.AddCustomKeyStore(ReadCustomKeyStore(s)); }));
    SCY_RETURN_IF_ERROR(ForEachRow(std::string(kSelectKey) + " ORDER BY seq", "export keys",
                                   [&](sqlite3_stmt* s) -> Status {
                                     KeyRow key = ReadKey(s);
                                     SCY_RETURN_IF_ERROR(LoadTags(key));
                                     return sink.AddKey(key);
                                   }));
    SCY_RETURN_IF_ERROR(ForEachRow(
        std::string(kSelectVersion) + " ORDER BY rowid", "export key versions",
        [&](sqlite3_stmt* s) { return sink.AddKeyVersion(ReadVersion(s)); }));
    SCY_RETURN_IF_ERROR(ForEachRow(
        std::string(kSelectAlias) + " ORDER BY account_id, region, alias_name", "export aliases",
        [&](sqlite3_stmt* s) { return sink.AddAlias(ReadAlias(s)); }));
    SCY_RETURN_IF_ERROR(ForEachRow(std::string(kSelectGrant) + " ORDER BY g.seq",
                                   "export grants",
                                   [&](sqlite3_stmt* s) { return sink.AddGrant(ReadGrant(s)); }));
    SCY_RETURN_IF_ERROR(ForEachRow(std::string(kSelectUser) + " ORDER BY account_id, name_key",
                                   "export users",
                                   [&](sqlite3_stmt* s) { return sink.AddUser(ReadUser(s)); }));
    SCY_RETURN_IF_ERROR(ForEachRow(
        ExportPoliciesSql(kUserTables, "user_name"), "export user policies",
        [&](sqlite3_stmt* s) { return sink.AddUserPolicy(ReadOwnedPolicy(s)); }));
    SCY_RETURN_IF_ERROR(ForEachRow(std::string(kSelectRole) + " ORDER BY account_id, name_key",
                                   "export roles",
                                   [&](sqlite3_stmt* s) { return sink.AddRole(ReadRole(s)); }));
    SCY_RETURN_IF_ERROR(ForEachRow(
        ExportPoliciesSql(kRoleTables, "role_name"), "export role policies",
        [&](sqlite3_stmt* s) { return sink.AddRolePolicy(ReadOwnedPolicy(s)); }));
    return ForEachRow(std::string(kSelectAccessKey) + " ORDER BY access_key_id",
                      "export access keys",
                      [&](sqlite3_stmt* s) { return sink.AddAccessKey(ReadAccessKey(s)); });
  }

  static std::string ExportPoliciesSql(const EntityTables& t, const char* name_column) {
    return std::string("SELECT p.account_id, e.") + name_column +
           ", p.policy_name, p.document FROM " + t.policies + " p JOIN " + t.entities +
           " e ON e.account_id = p.account_id AND e.name_key = p.name_key "
           "ORDER BY p.account_id, p.name_key, p.policy_name";
  }

  static OwnedPolicyRow ReadOwnedPolicy(sqlite3_stmt* s) {
    return OwnedPolicyRow{ColumnText(s, 0), ColumnText(s, 1),
                          InlinePolicyRow{ColumnText(s, 2), ColumnText(s, 3)}};
  }

  Result<std::map<std::string, int64_t>> CountRowsLocked() {
    SCY_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(internal::CountRowsSql()));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
      return StepError(rc, "count rows");
    }
    std::map<std::string, int64_t> out;
    int column = 0;
    for (const char* table : kStoreTables) {
      out[table] = sqlite3_column_int64(s, column++);
    }
    return out;
  }

  std::mutex mu_;
  DbPtr db_;
  std::map<std::string, StmtPtr> statements_;  // destroyed before db_ (declared after it)
  std::vector<sqlite3_stmt*> stepped_;          // prepared during the current Session
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return MakeError(ErrorCode::kInternal, "cannot open " + path.string() + ": " +
                                               (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  // Opening a fresh file from several connections at once can deadlock inside SQLite (each
  // holds a shared lock while it waits to switch the file to WAL), so openers of one file take
  // turns: an flock on a file beside it, which serializes threads and processes alike (and, being
  // a separate file, never disturbs SQLite's own POSIX locks on the database).
  const std::string lock_path = path.string() + "-open.lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return MakeError(ErrorCode::kInternal, "cannot open " + lock_path + ": " +
                                               std::strerror(errno));
  }
  while (::flock(lock_fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  auto store = std::make_unique<SqliteStore>(std::move(db));
  Status ready = store->Init();
  ::close(lock_fd);  // releases the flock
  SCY_RETURN_IF_ERROR(ready);
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace scytale::storage

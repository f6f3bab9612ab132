// storage/: the durable rows of Scytale behind one transactional interface. Backends: SQLite
// (embedded default) and later PostgreSQL; both pass the same conformance tests
// (storage_conformance_test.cc). The store knows no crypto: key material arrives already
// wrapped by the root keystore.
//
// Every method is atomic (one transaction) and durable when it returns OK (SQLite:
// WAL + synchronous=FULL). All methods are thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/result.h"

namespace scytale::storage {

// A KMS key's metadata. Keys live in an account and a region.
struct KeyRow {
  std::string key_id;
  std::string account_id;
  std::string region;
  std::string description;
  std::string key_spec;   // e.g. SYMMETRIC_DEFAULT
  std::string key_usage;  // e.g. ENCRYPT_DECRYPT
  std::string origin;     // AWS_KMS
  std::string key_manager;  // CUSTOMER
  std::string key_state;    // Enabled, Disabled, PendingDeletion, ...
  int64_t creation_date = 0;  // epoch seconds
  std::optional<int64_t> deletion_date;
  bool multi_region = false;
  std::string policy;  // the key policy document, as given or the default
  std::vector<std::pair<std::string, std::string>> tags;
  // Automatic rotation of the backing key.
  bool rotation_enabled = false;
  int rotation_period_days = 0;
  std::optional<int64_t> next_rotation_date;
  int pending_window_days = 0;  // while PendingDeletion
  int64_t seq = 0;       // assigned by the store: creation order, used for paging
  int64_t revision = 0;  // assigned by the store: bumped by every update (optimistic locking)
};

// One backing key version of a KMS key: material wrapped by the root keystore.
struct KeyVersionRow {
  std::string key_id;
  std::string version_id;
  int64_t created_at = 0;
  Bytes wrapped_material;
  std::string rotation_type;  // "" for the first version, else AUTOMATIC | ON_DEMAND
};

// An alias: a name in an account and region that points at one key of the same.
struct AliasRow {
  std::string account_id;
  std::string region;
  std::string alias_name;  // with its "alias/" prefix
  std::string target_key_id;
  int64_t creation_date = 0;
  int64_t last_updated_date = 0;
};

// An access key of a principal. The secret is stored wrapped by the root keystore, so a copy
// of the database alone does not reveal it.
struct AccessKeyRow {
  std::string access_key_id;
  std::string account_id;
  std::string principal_arn;
  std::string status;  // Active | Inactive
  int64_t created_at = 0;
  Bytes wrapped_secret;
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts a key with its first backing version. kAlreadyExists when the key id is taken.
  virtual Status InsertKey(const KeyRow& key, const KeyVersionRow& first_version) = 0;
  // The key, or nullopt when the account and region have no key of that id.
  virtual Result<std::optional<KeyRow>> GetKey(const std::string& account_id,
                                               const std::string& region,
                                               const std::string& key_id) = 0;
  // Up to `limit` keys of the account and region with seq > after_seq, in seq order.
  virtual Result<std::vector<KeyRow>> ListKeys(const std::string& account_id,
                                               const std::string& region, int64_t after_seq,
                                               size_t limit) = 0;
  // The key's backing versions, oldest first.
  virtual Result<std::vector<KeyVersionRow>> ListKeyVersions(const std::string& key_id) = 0;
  // The newest backing version (the one that encrypts), or nullopt for an unknown key.
  virtual Result<std::optional<KeyVersionRow>> GetCurrentKeyVersion(const std::string& key_id) = 0;
  // One backing version, or nullopt.
  virtual Result<std::optional<KeyVersionRow>> GetKeyVersion(const std::string& key_id,
                                                             const std::string& version_id) = 0;

  // Writes a key's mutable fields (description, state, deletion and rotation fields, policy,
  // tags) if its revision is still `key.revision`; kConflict when another writer came first
  // (re-read and retry), kNotFound when the key is gone.
  virtual Status UpdateKey(const KeyRow& key) = 0;
  // UpdateKey plus a new backing version, atomically (rotation).
  virtual Status AddKeyVersion(const KeyRow& key, const KeyVersionRow& version) = 0;
  // Destroys a key with its versions, tags and aliases. kNotFound when already gone.
  virtual Status DeleteKey(const std::string& key_id) = 0;
  // Keys, of any account and region, whose deletion date is at or before `now`.
  virtual Result<std::vector<KeyRow>> ListKeysDueForDeletion(int64_t now) = 0;
  // Keys, of any account and region, with rotation on and a next rotation at or before `now`.
  virtual Result<std::vector<KeyRow>> ListKeysDueForRotation(int64_t now) = 0;

  // Aliases. InsertAlias: kAlreadyExists when the name is taken in that account and region.
  virtual Status InsertAlias(const AliasRow& alias) = 0;
  virtual Result<std::optional<AliasRow>> GetAlias(const std::string& account_id,
                                                   const std::string& region,
                                                   const std::string& alias_name) = 0;
  // Points an existing alias at another key; kNotFound when the alias does not exist.
  virtual Status UpdateAlias(const AliasRow& alias) = 0;
  // kNotFound when the alias does not exist.
  virtual Status DeleteAlias(const std::string& account_id, const std::string& region,
                             const std::string& alias_name) = 0;
  // Up to `limit` aliases of the account and region (of one key when `key_id` is set) with
  // names after `after_name`, in name order.
  virtual Result<std::vector<AliasRow>> ListAliases(const std::string& account_id,
                                                    const std::string& region,
                                                    const std::optional<std::string>& key_id,
                                                    const std::string& after_name,
                                                    size_t limit) = 0;

  // Inserts or replaces an access key.
  virtual Status PutAccessKey(const AccessKeyRow& row) = 0;
  virtual Result<std::optional<AccessKeyRow>> GetAccessKey(const std::string& access_key_id) = 0;
  // Access keys of one principal.
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeys(const std::string& principal_arn) = 0;

  // Records an account (idempotent).
  virtual Status PutAccount(const std::string& account_id, int64_t created_at) = 0;

  // The highest schema migration applied.
  virtual Result<int> SchemaVersion() = 0;
};

// Opens (creating if needed) the SQLite database at `path` and applies pending migrations.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& path);

}  // namespace scytale::storage

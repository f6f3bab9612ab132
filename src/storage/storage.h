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
  int64_t seq = 0;  // assigned by the store: creation order, used for paging
};

// One backing key version of a KMS key: material wrapped by the root keystore.
struct KeyVersionRow {
  std::string key_id;
  std::string version_id;
  int64_t created_at = 0;
  Bytes wrapped_material;
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
  // One backing version, or nullopt.
  virtual Result<std::optional<KeyVersionRow>> GetKeyVersion(const std::string& key_id,
                                                             const std::string& version_id) = 0;

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

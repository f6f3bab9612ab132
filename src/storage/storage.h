// storage/: the durable rows of Scytale behind one transactional interface. Backends: SQLite
// (embedded default, one node) and PostgreSQL (several nodes on one database); both pass the
// same conformance tests (storage_conformance_test.cc). The store knows no crypto: key material
// arrives already wrapped by the root keystore.
//
// Every method is atomic (one transaction) and durable when it returns OK (SQLite:
// WAL + synchronous=FULL; PostgreSQL: a committed transaction). All methods are thread-safe, and
// the uniqueness rules below hold also between several stores (processes, nodes) on one
// database. A database that cannot be reached gives kDependencyTimeout; other database failures
// give kInternal, with the backend's code (PostgreSQL: the SQLSTATE) in the message.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
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
  // Imported key material (origin EXTERNAL): KEY_MATERIAL_EXPIRES with the time it expires, or
  // KEY_MATERIAL_DOES_NOT_EXPIRE; "" while the key has no imported material.
  std::string expiration_model;
  std::optional<int64_t> valid_to;
  // The custom key store holding the key's material (its key object in the store's token);
  // "" for a key whose material the root keystore wraps. Set at creation, never changed.
  std::string custom_key_store_id;
  int64_t seq = 0;       // assigned by the store: creation order, used for paging
  int64_t revision = 0;  // assigned by the store: bumped by every update (optimistic locking)
};

// One backing key version of a KMS key: material wrapped by the root keystore. For imported
// material (origin EXTERNAL) the row outlives its material: DeleteImportedKeyMaterial and
// expiry empty `wrapped_material` and keep the version id, so only the same material can be
// imported again.
struct KeyVersionRow {
  std::string key_id;
  std::string version_id;
  int64_t created_at = 0;
  Bytes wrapped_material;
  std::string rotation_type;  // "" for the first version, else AUTOMATIC | ON_DEMAND
};

// A custom key store (AWS_CLOUDHSM type): a PKCS#11 token the server is configured with (the
// "cluster"), the token user's PIN wrapped by the root keystore, and the connection state the
// operators asked for, which a restarted server restores.
struct CustomKeyStoreRow {
  std::string custom_key_store_id;  // cks-<17 hex>
  std::string account_id;
  std::string region;
  std::string name;  // unique per account and region
  std::string type;  // AWS_CLOUDHSM
  std::string cloud_hsm_cluster_id;  // unique among all stores
  std::string trust_anchor_certificate;  // PEM, as given
  Bytes wrapped_password;  // the KeyStorePassword, wrapped by the root keystore
  std::string connection_state;  // CONNECTED | DISCONNECTED | FAILED
  std::string connection_error_code;  // with FAILED, else ""
  int64_t creation_date = 0;
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
  std::string user_name;  // the IAM user owning the key; "" for an account root or a session
  // Temporary credentials (STS role sessions, ASIA... ids): the token the caller must present
  // with the key, and when the key stops working (epoch seconds). Both empty for long-term keys.
  std::string session_token;
  std::optional<int64_t> expiration;
};

// An IAM user. Names are unique per account regardless of case (as in IAM); lookups by name
// ignore ASCII case too, and rows keep the case they were created with.
struct UserRow {
  std::string account_id;
  std::string user_name;
  std::string user_id;
  std::string path = "/";
  int64_t create_date = 0;
};

// An IAM role. Names follow the same case rules as user names.
struct RoleRow {
  std::string account_id;
  std::string role_name;
  std::string role_id;
  std::string path = "/";
  std::string trust_policy;  // the assume-role policy document, as given
  std::string description;
  int max_session_duration = 3600;  // seconds
  int64_t create_date = 0;
};

// An inline policy of a user or role. Policy names are case-sensitive.
struct InlinePolicyRow {
  std::string policy_name;
  std::string document;
};

// A grant: permission for one grantee principal to perform some operations with one key.
// The store keeps operations and constraints as kms/ encodes them; it interprets neither.
struct GrantRow {
  std::string grant_id;
  std::string key_id;
  std::string name;  // "" when the grant has no name
  std::string grantee_principal;
  std::string retiring_principal;  // "" when none
  std::string issuing_account;     // arn:aws:iam::<account>:root of the creator
  std::string operations;          // encoded by kms/
  std::string constraints;         // encoded by kms/; "" when none
  int64_t creation_date = 0;
  // Read-only, from the key: where the grant's key lives.
  std::string key_account_id;
  std::string key_region;
  int64_t seq = 0;  // assigned by the store: creation order, used for paging
};

// Filters of ListGrants; unset members match every grant.
struct GrantFilter {
  std::optional<std::string> grant_id{};
  std::optional<std::string> grantee_principal{};
};

// A change committed to the database, as a node's caches need to hear of it.
struct Change {
  enum class Kind {
    kKey,        // a key's row, backing versions or tags; id: the key id
    kAlias,      // id: account/region/alias name
    kGrant,      // id: the grant's key id
    kAccessKey,  // id: the access key id
    kIdentity,   // an IAM user or role or their inline policies; id: the account id
    kKeyStore,   // id: the custom key store id
    kLost,       // the feed failed: changes may go unreported until kResumed
    kResumed,    // the feed (re)started: whatever was cached before may be stale
  };
  Kind kind;
  std::string id;
};
using ChangeSink = std::function<void(const Change&)>;
// ---- Bulk export and import, for `scytale migrate` (storage/migrate.h) ----

// A row of the accounts table.
struct AccountRow {
  std::string account_id;
  int64_t created_at = 0;
};

// An inline policy with the user or role that holds it.
struct OwnedPolicyRow {
  std::string account_id;
  std::string owner_name;  // the user's or role's name, in the case it was created with
  InlinePolicyRow policy;
};

// Receives every row of a store (Store::ExportAll) or takes rows into one (Store::ImportAll),
// one call per row, table by table in the order of the methods below: a row's references
// (a key's custom key store, a version's, alias's or grant's key, a policy's user or role)
// come before it. A sink's error stops the export and is returned by ExportAll.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual Status AddAccount(const AccountRow& row) = 0;
  virtual Status AddCustomKeyStore(const CustomKeyStoreRow& row) = 0;
  // With its tags, seq and revision.
  virtual Status AddKey(const KeyRow& row) = 0;
  // Every version of every key, in creation order (so each key's newest comes last).
  virtual Status AddKeyVersion(const KeyVersionRow& row) = 0;
  virtual Status AddAlias(const AliasRow& row) = 0;
  // With its seq; key_account_id and key_region are read from the key and ignored on import.
  virtual Status AddGrant(const GrantRow& row) = 0;
  virtual Status AddUser(const UserRow& row) = 0;
  virtual Status AddUserPolicy(const OwnedPolicyRow& row) = 0;
  virtual Status AddRole(const RoleRow& row) = 0;
  virtual Status AddRolePolicy(const OwnedPolicyRow& row) = 0;
  virtual Status AddAccessKey(const AccessKeyRow& row) = 0;
};

// The tables of a store, as Store::CountRows names them, in export order (key_tags are
// exported with their keys).
inline constexpr const char* kStoreTables[] = {
    "accounts", "custom_key_stores", "keys", "key_tags", "key_versions", "aliases", "grants",
    "iam_users", "iam_user_policies", "iam_roles", "iam_role_policies", "access_keys"};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts a key with its first backing version (none for a key awaiting imported material).
  // kAlreadyExists when the key id is taken; kNotFound when key.custom_key_store_id names no
  // store (checked in the insert's transaction, so a key never outlives its store's deletion).
  virtual Status InsertKey(const KeyRow& key,
                           const std::optional<KeyVersionRow>& first_version) = 0;
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
  // UpdateKey plus inserting `version`, or replacing the material of the key's version of that
  // id, atomically (importing and deleting imported key material).
  virtual Status PutKeyVersion(const KeyRow& key, const KeyVersionRow& version) = 0;
  // Destroys a key with its versions, tags, aliases and grants. kNotFound when already gone.
  virtual Status DeleteKey(const std::string& key_id) = 0;
  // Keys, of any account and region, whose deletion date is at or before `now`.
  virtual Result<std::vector<KeyRow>> ListKeysDueForDeletion(int64_t now) = 0;
  // Keys, of any account and region, with rotation on and a next rotation at or before `now`.
  virtual Result<std::vector<KeyRow>> ListKeysDueForRotation(int64_t now) = 0;
  // Keys, of any account and region, whose imported material expires at or before `now`.
  virtual Result<std::vector<KeyRow>> ListKeysWithExpiredMaterial(int64_t now) = 0;
  // The number of keys, of every account and region, in each key state that has any (for the
  // keys-by-state gauge of /metrics: one aggregate query instead of paging every region).
  virtual Result<std::map<std::string, int64_t>> CountKeysByState() = 0;

  // Aliases. InsertAlias: kAlreadyExists when the name is taken in that account and region,
  // kNotFound when the target key is gone, kLimitExceeded when the target key already has
  // `max_aliases_per_key` aliases (counted in the insert's transaction, so that concurrent
  // creations, on one node or several, cannot all pass a count below the limit).
  virtual Status InsertAlias(const AliasRow& alias, size_t max_aliases_per_key) = 0;
  virtual Result<std::optional<AliasRow>> GetAlias(const std::string& account_id,
                                                   const std::string& region,
                                                   const std::string& alias_name) = 0;
  // Points an existing alias at another key; kNotFound when the alias or the key does not
  // exist, kLimitExceeded (as InsertAlias) when the key changes and the new one is full.
  virtual Status UpdateAlias(const AliasRow& alias, size_t max_aliases_per_key) = 0;
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

  // Grants. InsertGrant inserts `grant` unless the key already has a grant with the same
  // non-empty name and the same grantee, retiring principal, operations and constraints, in
  // which case it returns that grant's id instead (CreateGrant's Name idempotency); kNotFound
  // when the key is gone, kLimitExceeded when the key already has `max_grants_per_key` grants.
  // Returns the id of the grant that now exists.
  virtual Result<std::string> InsertGrant(const GrantRow& grant, size_t max_grants_per_key) = 0;
  virtual Result<std::optional<GrantRow>> GetGrant(const std::string& key_id,
                                                   const std::string& grant_id) = 0;
  // Up to `limit` grants of the key matching `filter` with seq > after_seq, in seq order.
  virtual Result<std::vector<GrantRow>> ListGrants(const std::string& key_id,
                                                   const GrantFilter& filter, int64_t after_seq,
                                                   size_t limit) = 0;
  // Up to `limit` grants of any key whose retiring principal is `retiring_principal`, with
  // seq > after_seq, in seq order.
  virtual Result<std::vector<GrantRow>> ListRetirableGrants(const std::string& retiring_principal,
                                                            int64_t after_seq, size_t limit) = 0;
  // kNotFound when the key has no such grant.
  virtual Status DeleteGrant(const std::string& key_id, const std::string& grant_id) = 0;

  // Inserts or replaces an access key.
  virtual Status PutAccessKey(const AccessKeyRow& row) = 0;
  virtual Result<std::optional<AccessKeyRow>> GetAccessKey(const std::string& access_key_id) = 0;
  // Access keys of one principal.
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeys(const std::string& principal_arn) = 0;
  // kNotFound when there is no such key.
  virtual Status DeleteAccessKey(const std::string& access_key_id) = 0;
  // Deletes temporary keys whose expiration is at or before `expired_before`; returns how many.
  virtual Result<size_t> DeleteExpiredAccessKeys(int64_t expired_before) = 0;

  // IAM users. InsertUser: kAlreadyExists when the account has a user of that name (any case)
  // or the user id is taken.
  virtual Status InsertUser(const UserRow& user) = 0;
  virtual Result<std::optional<UserRow>> GetUser(const std::string& account_id,
                                                 const std::string& user_name) = 0;
  // Up to `limit` users of the account whose path starts with `path_prefix` and whose name
  // (ASCII-lowercased) sorts after `after_name` (ASCII-lowercased), in that order.
  virtual Result<std::vector<UserRow>> ListUsers(const std::string& account_id,
                                                 const std::string& path_prefix,
                                                 const std::string& after_name,
                                                 size_t limit) = 0;
  // Deletes the user with its inline policies (not its access keys: callers check first).
  // kNotFound when there is no such user.
  virtual Status DeleteUser(const std::string& account_id, const std::string& user_name) = 0;
  // Inserts or replaces an inline policy; kNotFound when the user does not exist.
  virtual Status PutUserPolicy(const std::string& account_id, const std::string& user_name,
                               const InlinePolicyRow& policy) = 0;
  virtual Result<std::optional<InlinePolicyRow>> GetUserPolicy(const std::string& account_id,
                                                               const std::string& user_name,
                                                               const std::string& policy_name) = 0;
  // The user's inline policies in name order (none for an unknown user).
  virtual Result<std::vector<InlinePolicyRow>> ListUserPolicies(const std::string& account_id,
                                                                const std::string& user_name) = 0;
  // kNotFound when the user has no policy of that name.
  virtual Status DeleteUserPolicy(const std::string& account_id, const std::string& user_name,
                                  const std::string& policy_name) = 0;

  // IAM roles, with the same contracts as users.
  virtual Status InsertRole(const RoleRow& role) = 0;
  virtual Result<std::optional<RoleRow>> GetRole(const std::string& account_id,
                                                 const std::string& role_name) = 0;
  virtual Result<std::vector<RoleRow>> ListRoles(const std::string& account_id,
                                                 const std::string& path_prefix,
                                                 const std::string& after_name,
                                                 size_t limit) = 0;
  virtual Status DeleteRole(const std::string& account_id, const std::string& role_name) = 0;
  virtual Status PutRolePolicy(const std::string& account_id, const std::string& role_name,
                               const InlinePolicyRow& policy) = 0;
  virtual Result<std::optional<InlinePolicyRow>> GetRolePolicy(const std::string& account_id,
                                                               const std::string& role_name,
                                                               const std::string& policy_name) = 0;
  virtual Result<std::vector<InlinePolicyRow>> ListRolePolicies(const std::string& account_id,
                                                                const std::string& role_name) = 0;
  virtual Status DeleteRolePolicy(const std::string& account_id, const std::string& role_name,
                                  const std::string& policy_name) = 0;

  // Custom key stores. InsertCustomKeyStore: kAlreadyExists when the id, the name (in that
  // account and region) or the cluster is taken.
  virtual Status InsertCustomKeyStore(const CustomKeyStoreRow& row) = 0;
  virtual Result<std::optional<CustomKeyStoreRow>> GetCustomKeyStore(
      const std::string& account_id, const std::string& region, const std::string& id) = 0;
  // The stores of an account and region in creation order; of every account and region when
  // `account_id` is nullopt.
  virtual Result<std::vector<CustomKeyStoreRow>> ListCustomKeyStores(
      const std::optional<std::string>& account_id, const std::string& region) = 0;
  // Writes name, cluster, wrapped password and connection state. kNotFound when the store is
  // gone; kAlreadyExists when the new name or cluster is taken.
  virtual Status UpdateCustomKeyStore(const CustomKeyStoreRow& row) = 0;
  // kNotFound when the store does not exist; kInvalidState when keys still name it (checked in
  // the same transaction, so no key can be created in a store being deleted).
  virtual Status DeleteCustomKeyStore(const std::string& account_id, const std::string& region,
                                      const std::string& id) = 0;
  // The number of keys (any state) whose material is in the store.
  virtual Result<int64_t> CountKeysInCustomKeyStore(const std::string& id) = 0;

  // Records an account (idempotent).
  virtual Status PutAccount(const std::string& account_id, int64_t created_at) = 0;

  // The highest schema migration applied.
  virtual Result<int> SchemaVersion() = 0;

  // OK when the database answers a trivial query now (for /healthz); kDependencyTimeout when
  // it cannot be reached.
  virtual Status Ping() = 0;

  // Several nodes on one database. WatchChanges reports to `sink`, from a thread of the
  // store's own, every change committed to the database by anyone, so that caches above the
  // store can drop what changed: kResumed once listening, then the changes, kLost when the
  // feed fails (nothing cached can be trusted until the next kResumed). Returns false when
  // the backend has no writers but this store to report (SQLite: one process owns the file;
  // the caller sees every write itself). At most one sink, called until the store is destroyed.
  virtual Result<bool> WatchChanges(ChangeSink sink) {
    (void)sink;
    return false;
  }
  // Runs `task` unless another holder of the database runs a task of the same name now (a
  // node-wide lock: PostgreSQL's advisory lock on a connection of its own); returns whether it
  // ran. Background work that must run once per cluster, not once per node, runs here.
  virtual Result<bool> RunExclusively(const std::string& name, const std::function<void()>& task) {
    (void)name;
    task();
    return true;
  }
  // ---- Bulk export and import, for `scytale migrate` (storage/migrate.h) ----

  // Hands every row of the store, of every account and region, to `sink`, table by table as
  // RowSink orders them, all from one snapshot (one read transaction, held to the end, so a
  // store written meanwhile is still exported consistently). Within a table the order is the
  // same on every backend: keys and grants by seq, versions and custom key stores in creation
  // order, other tables by their primary key compared bytewise. Rows are read a page at a
  // time (memory stays bounded); the first error, the store's or the sink's, ends the export
  // and is returned.
  virtual Status ExportAll(RowSink& sink) = 0;
  // Runs `fill` inside one write transaction, handing it a sink that inserts each row as it is
  // given: ids, seq of keys and grants, revisions, and the creation order of versions and
  // custom key stores are kept, and new keys and grants are numbered after the highest seq
  // imported. Nothing is checked but the schema's constraints (no quotas, no references to
  // custom key stores). Commits when `fill` returns OK; on any error nothing is written, so
  // the store stays empty. kInvalidState when the store holds any row already (checked inside
  // the transaction, whose locks keep other writers out until it ends). Not retried: `fill`
  // runs once.
  virtual Status ImportAll(const std::function<Status(RowSink& into)>& fill) = 0;
  // The number of rows of each table of kStoreTables, by name.
  virtual Result<std::map<std::string, int64_t>> CountRows() = 0;
};

// Opens (creating if needed) the SQLite database at `path` and applies pending migrations.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& path);

struct PostgresOptions {
  // A libpq connection URI (postgres://user:password@host:port/db?sslmode=...) or key=value
  // string. It may hold a password: never log it, log RedactStoreUrl(url).
  std::string url;
  // Connections kept open; a call waits (up to acquire_timeout) when all are busy.
  size_t pool_size = 8;
  std::chrono::milliseconds acquire_timeout{10000};
};

// Connects to PostgreSQL and applies pending migrations, once however many nodes start at once
// (under an advisory lock). Connections are opened lazily and reopened after the server
// restarts; calls made while it is down fail with kDependencyTimeout.
Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options);

// `url` with any password replaced by "***" (userinfo and password= parameters), for logs.
std::string RedactStoreUrl(const std::string& url);

}  // namespace scytale::storage

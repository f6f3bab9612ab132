// A Store in front of another that remembers the rows every request reads — keys, their
// backing versions, aliases, access keys — so that Encrypt, Decrypt and GenerateDataKey do not
// touch the database on their hot path, and tells observers (the caches above the store) of
// every change.
//
// One truth across nodes: an entry is dropped when its row changes, through this store (before
// and after the write) or, with several nodes on PostgreSQL, through any other (the inner store's
// change feed: LISTEN/NOTIFY, delivered at commit). So a change made on one node is seen by the
// others as soon as its notification arrives, typically within milliseconds. While the feed is
// down (the listening connection lost, or not yet listening at start) nothing is served from
// the cache: every read goes to the database, and the cache is emptied when the feed resumes.
// With a feed, entries also expire after a time-to-live (5 minutes), a backstop only.
//
// A read that races a change cannot put a stale row back: every entry belongs to a stripe whose
// generation each invalidation bumps, and a row read from the database is kept only if its
// stripe's generation did not move while it was being read.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/storage.h"

namespace scytale::storage {

class CachingStore : public Store {
 public:
  struct Options {
    size_t capacity = 100000;          // entries per kind; past it, one is evicted per insert
    // Backstop with a change feed (PostgreSQL), which drops changed rows at once; without one
    // (SQLite: every write passes through here) entries do not expire.
    std::chrono::seconds ttl{300};
  };
  struct Counts {
    uint64_t hits = 0;
    uint64_t misses = 0;
    bool synced = false;  // whether the cache is in use (the change feed is up)
  };

  // Wraps `inner` and starts watching its changes.
  static Result<std::unique_ptr<CachingStore>> Wrap(std::unique_ptr<Store> inner,
                                                    Options options);
  ~CachingStore() override;

  // Calls `observer` for every change: made through this store (after the write, whether or
  // not it succeeded) and, with a change feed, by anyone. Called from any thread, one at a
  // time; observers must be thread-safe and cheap, and must not call back into this store.
  void AddObserver(ChangeSink observer);
  // Forgets every observer; none is running when it returns (before what they use goes).
  void RemoveObservers();
  Counts counts() const;

  // Reads served from the cache.
  Result<std::optional<KeyRow>> GetKey(const std::string& account_id, const std::string& region,
                                       const std::string& key_id) override;
  Result<std::optional<KeyVersionRow>> GetCurrentKeyVersion(const std::string& key_id) override;
  Result<std::optional<KeyVersionRow>> GetKeyVersion(const std::string& key_id,
                                                     const std::string& version_id) override;
  Result<std::optional<AliasRow>> GetAlias(const std::string& account_id,
                                           const std::string& region,
                                           const std::string& alias_name) override;
  Result<std::optional<AccessKeyRow>> GetAccessKey(const std::string& access_key_id) override;

  // Writes: the changed entries are dropped before and after.
  Status InsertKey(const KeyRow& key, const std::optional<KeyVersionRow>& first_version) override;
  Status UpdateKey(const KeyRow& key) override;
  Status AddKeyVersion(const KeyRow& key, const KeyVersionRow& version) override;
  Status PutKeyVersion(const KeyRow& key, const KeyVersionRow& version) override;
  Status DeleteKey(const std::string& key_id) override;
  Status InsertAlias(const AliasRow& alias, size_t max_aliases_per_key) override;
  Status UpdateAlias(const AliasRow& alias, size_t max_aliases_per_key) override;
  Status DeleteAlias(const std::string& account_id, const std::string& region,
                     const std::string& alias_name) override;
  Result<std::string> InsertGrant(const GrantRow& grant, size_t max_grants_per_key) override;
  Status DeleteGrant(const std::string& key_id, const std::string& grant_id) override;
  Status PutAccessKey(const AccessKeyRow& row) override;
  Status DeleteAccessKey(const std::string& access_key_id) override;
  Result<size_t> DeleteExpiredAccessKeys(int64_t expired_before) override;
  Status InsertUser(const UserRow& user) override;
  Status DeleteUser(const std::string& account_id, const std::string& user_name) override;
  Status PutUserPolicy(const std::string& account_id, const std::string& user_name,
                       const InlinePolicyRow& policy) override;
  Status DeleteUserPolicy(const std::string& account_id, const std::string& user_name,
                          const std::string& policy_name) override;
  Status InsertRole(const RoleRow& role) override;
  Status DeleteRole(const std::string& account_id, const std::string& role_name) override;
  Status PutRolePolicy(const std::string& account_id, const std::string& role_name,
                       const InlinePolicyRow& policy) override;
  Status DeleteRolePolicy(const std::string& account_id, const std::string& role_name,
                          const std::string& policy_name) override;
  Status InsertCustomKeyStore(const CustomKeyStoreRow& row) override;
  Status UpdateCustomKeyStore(const CustomKeyStoreRow& row) override;
  Status DeleteCustomKeyStore(const std::string& account_id, const std::string& region,
                              const std::string& id) override;

  // Everything else goes straight to the inner store.
  Result<std::vector<KeyRow>> ListKeys(const std::string& account_id, const std::string& region,
                                       int64_t after_seq, size_t limit) override {
    return inner_->ListKeys(account_id, region, after_seq, limit);
  }
  Result<std::vector<KeyVersionRow>> ListKeyVersions(const std::string& key_id) override {
    return inner_->ListKeyVersions(key_id);
  }
  Result<std::vector<KeyRow>> ListKeysDueForDeletion(int64_t now) override {
    return inner_->ListKeysDueForDeletion(now);
  }
  Result<std::vector<KeyRow>> ListKeysDueForRotation(int64_t now) override {
    return inner_->ListKeysDueForRotation(now);
  }
  Result<std::vector<KeyRow>> ListKeysWithExpiredMaterial(int64_t now) override {
    return inner_->ListKeysWithExpiredMaterial(now);
  }
  Result<std::map<std::string, int64_t>> CountKeysByState() override {
    return inner_->CountKeysByState();
  }
  Result<std::vector<AliasRow>> ListAliases(const std::string& account_id,
                                            const std::string& region,
                                            const std::optional<std::string>& key_id,
                                            const std::string& after_name,
                                            size_t limit) override {
    return inner_->ListAliases(account_id, region, key_id, after_name, limit);
  }
  Result<std::optional<GrantRow>> GetGrant(const std::string& key_id,
                                           const std::string& grant_id) override {
    return inner_->GetGrant(key_id, grant_id);
  }
  Result<std::vector<GrantRow>> ListGrants(const std::string& key_id, const GrantFilter& filter,
                                           int64_t after_seq, size_t limit) override {
    return inner_->ListGrants(key_id, filter, after_seq, limit);
  }
  Result<std::vector<GrantRow>> ListRetirableGrants(const std::string& retiring_principal,
                                                    int64_t after_seq, size_t limit) override {
    return inner_->ListRetirableGrants(retiring_principal, after_seq, limit);
  }
  Result<std::vector<AccessKeyRow>> ListAccessKeys(const std::string& principal_arn) override {
    return inner_->ListAccessKeys(principal_arn);
  }
  Result<std::optional<UserRow>> GetUser(const std::string& account_id,
                                         const std::string& user_name) override {
    return inner_->GetUser(account_id, user_name);
  }
  Result<std::vector<UserRow>> ListUsers(const std::string& account_id,
                                         const std::string& path_prefix,
                                         const std::string& after_name, size_t limit) override {
    return inner_->ListUsers(account_id, path_prefix, after_name, limit);
  }
  Result<std::optional<InlinePolicyRow>> GetUserPolicy(const std::string& account_id,
                                                       const std::string& user_name,
                                                       const std::string& policy_name) override {
    return inner_->GetUserPolicy(account_id, user_name, policy_name);
  }
  Result<std::vector<InlinePolicyRow>> ListUserPolicies(const std::string& account_id,
                                                        const std::string& user_name) override {
    return inner_->ListUserPolicies(account_id, user_name);
  }
  Result<std::optional<RoleRow>> GetRole(const std::string& account_id,
                                         const std::string& role_name) override {
    return inner_->GetRole(account_id, role_name);
  }
  Result<std::vector<RoleRow>> ListRoles(const std::string& account_id,
                                         const std::string& path_prefix,
                                         const std::string& after_name, size_t limit) override {
    return inner_->ListRoles(account_id, path_prefix, after_name, limit);
  }
  Result<std::optional<InlinePolicyRow>> GetRolePolicy(const std::string& account_id,
                                                       const std::string& role_name,
                                                       const std::string& policy_name) override {
    return inner_->GetRolePolicy(account_id, role_name, policy_name);
  }
  Result<std::vector<InlinePolicyRow>> ListRolePolicies(const std::string& account_id,
                                                        const std::string& role_name) override {
    return inner_->ListRolePolicies(account_id, role_name);
  }
  Result<std::optional<CustomKeyStoreRow>> GetCustomKeyStore(const std::string& account_id,
                                                             const std::string& region,
                                                             const std::string& id) override {
    return inner_->GetCustomKeyStore(account_id, region, id);
  }
  Result<std::vector<CustomKeyStoreRow>> ListCustomKeyStores(
      const std::optional<std::string>& account_id, const std::string& region) override {
    return inner_->ListCustomKeyStores(account_id, region);
  }
  Result<int64_t> CountKeysInCustomKeyStore(const std::string& id) override {
    return inner_->CountKeysInCustomKeyStore(id);
  }
  Status PutAccount(const std::string& account_id, int64_t created_at) override {
    return inner_->PutAccount(account_id, created_at);
  }
  Result<int> SchemaVersion() override { return inner_->SchemaVersion(); }
  Status Ping() override { return inner_->Ping(); }
  Status ExportAll(RowSink& sink) override { return inner_->ExportAll(sink); }
  Result<std::map<std::string, int64_t>> CountRows() override { return inner_->CountRows(); }
  // Writes everything: the whole cache goes, and observers hear kResumed (drop everything).
  Status ImportAll(const std::function<Status(RowSink& into)>& fill) override;
  Result<bool> RunExclusively(const std::string& name,
                              const std::function<void()>& task) override {
    return inner_->RunExclusively(name, task);
  }

 private:
  CachingStore(std::unique_ptr<Store> inner, Options options);

  template <class T>
  struct Entry {
    T value;
    std::chrono::steady_clock::time_point expires;
  };
  // What is cached of one key: its row, its current version, the versions asked for by id.
  struct KeyEntry {
    std::optional<KeyRow> row;
    std::optional<std::optional<KeyVersionRow>> current;
    std::unordered_map<std::string, std::optional<KeyVersionRow>> versions;
  };
  static constexpr size_t kStripes = 256;
  using Generation = uint64_t;

  // Invalidation, from writes here and from the feed.
  void OnChange(const Change& change);
  void Drop(const Change& change);
  void DropAll();
  void Notify(const Change& change);
  // Runs `write`, dropping what `change` names before and after, and tells observers.
  template <class R, class W>
  R Write(const Change& change, W&& write);

  size_t Stripe(Change::Kind kind, const std::string& id) const;
  template <class T>
  void Evict(std::unordered_map<std::string, Entry<T>>& map);
  // The key's entry for a read at generation `gen`, or nullptr when the row may be stale.
  KeyEntry* KeyEntryForPut(const std::string& key_id, Generation gen);
  const KeyEntry* FindKey(const std::string& key_id);

  std::unique_ptr<Store> inner_;
  Options options_;  // ttl set by Wrap, then fixed

  mutable std::mutex mu_;
  bool synced_ = false;
  std::array<Generation, kStripes> generations_{};
  std::unordered_map<std::string, Entry<KeyEntry>> keys_;
  std::unordered_map<std::string, Entry<AliasRow>> aliases_;
  std::unordered_map<std::string, Entry<AccessKeyRow>> access_keys_;
  Counts counts_;

  std::mutex observers_mu_;
  std::vector<ChangeSink> observers_;
};

}  // namespace scytale::storage

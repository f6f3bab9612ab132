#include "storage/caching_store.h"

#include <functional>

namespace scytale::storage {
namespace {

using Kind = Change::Kind;

std::string AliasId(const std::string& account_id, const std::string& region,
                    const std::string& alias_name) {
  return account_id + '/' + region + '/' + alias_name;
}

}  // namespace

Result<std::unique_ptr<CachingStore>> CachingStore::Wrap(std::unique_ptr<Store> inner,
                                                         Options options) {
  std::unique_ptr<CachingStore> store(new CachingStore(std::move(inner), options));
  CachingStore* self = store.get();
  SCY_ASSIGN_OR_RETURN(bool feed,
                       self->inner_->WatchChanges([self](const Change& c) { self->OnChange(c); }));
  if (!feed) {
    // No other writers: every change passes through here, and entries need no backstop.
    std::lock_guard lock(self->mu_);
    self->synced_ = true;
    self->options_.ttl = std::chrono::hours(24 * 365);
  }
  return store;
}

CachingStore::CachingStore(std::unique_ptr<Store> inner, Options options)
    : inner_(std::move(inner)), options_(options) {}

CachingStore::~CachingStore() {
  inner_.reset();  // stops the feed's thread before the caches it writes go
}

void CachingStore::AddObserver(ChangeSink observer) {
  std::lock_guard lock(observers_mu_);
  observers_.push_back(std::move(observer));
}

CachingStore::Counts CachingStore::counts() const {
  std::lock_guard lock(mu_);
  Counts c = counts_;
  c.synced = synced_;
  return c;
}

void CachingStore::OnChange(const Change& change) {
  if (change.kind == Kind::kLost || change.kind == Kind::kResumed) {
    std::lock_guard lock(mu_);
    DropAll();
    synced_ = change.kind == Kind::kResumed;
  } else {
    std::lock_guard lock(mu_);
    Drop(change);
  }
  Notify(change);
}

size_t CachingStore::Stripe(Kind kind, const std::string& id) const {
  return (std::hash<std::string>{}(id) + static_cast<size_t>(kind)) % kStripes;
}

void CachingStore::Drop(const Change& change) {
  ++generations_[Stripe(change.kind, change.id)];
  switch (change.kind) {
    case Kind::kKey:
      keys_.erase(change.id);
      break;
    case Kind::kAlias:
      aliases_.erase(change.id);
      break;
    case Kind::kAccessKey:
      access_keys_.erase(change.id);
      break;
    default:
      break;  // not cached here; observers may
  }
}

void CachingStore::DropAll() {
  keys_.clear();
  aliases_.clear();
  access_keys_.clear();
  for (auto& g : generations_) {
    ++g;
  }
}

void CachingStore::Notify(const Change& change) {
  std::lock_guard lock(observers_mu_);  // held, so that RemoveObservers waits for them
  for (const auto& observer : observers_) {
    observer(change);
  }
}

void CachingStore::RemoveObservers() {
  std::lock_guard lock(observers_mu_);
  observers_.clear();
}

template <class R, class W>
R CachingStore::Write(const Change& change, W&& write) {
  {
    std::lock_guard lock(mu_);
    Drop(change);
  }
  R result = write();
  {
    std::lock_guard lock(mu_);
    Drop(change);
  }
  Notify(change);
  return result;
}

template <class T>
void CachingStore::Evict(std::unordered_map<std::string, Entry<T>>& map) {
  if (map.size() >= options_.capacity && !map.empty()) {
    map.erase(map.begin());
  }
}

const CachingStore::KeyEntry* CachingStore::FindKey(const std::string& key_id) {
  if (!synced_) {
    return nullptr;
  }
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    return nullptr;
  }
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    keys_.erase(it);
    return nullptr;
  }
  return &it->second.value;
}

CachingStore::KeyEntry* CachingStore::KeyEntryForPut(const std::string& key_id, Generation gen) {
  if (!synced_ || generations_[Stripe(Kind::kKey, key_id)] != gen) {
    return nullptr;
  }
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    Evict(keys_);
    it = keys_
             .emplace(key_id, Entry<KeyEntry>{KeyEntry{}, std::chrono::steady_clock::now() +
                                                             options_.ttl})
             .first;
  }
  return &it->second.value;
}

Result<std::optional<KeyRow>> CachingStore::GetKey(const std::string& account_id,
                                                   const std::string& region,
                                                   const std::string& key_id) {
  Generation gen = 0;
  {
    std::lock_guard lock(mu_);
    if (const KeyEntry* e = FindKey(key_id); e != nullptr && e->row) {
      ++counts_.hits;
      // Key ids are unique in the whole database: a cached row of another account or region
      // means this one has no such key.
      if (e->row->account_id != account_id || e->row->region != region) {
        return std::nullopt;
      }
      return e->row;
    }
    ++counts_.misses;
    gen = generations_[Stripe(Kind::kKey, key_id)];
  }
  SCY_ASSIGN_OR_RETURN(auto row, inner_->GetKey(account_id, region, key_id));
  if (row) {
    std::lock_guard lock(mu_);
    if (KeyEntry* e = KeyEntryForPut(key_id, gen)) {
      e->row = row;
    }
  }
  return row;
}

Result<std::optional<KeyVersionRow>> CachingStore::GetCurrentKeyVersion(
    const std::string& key_id) {
  Generation gen = 0;
  {
    std::lock_guard lock(mu_);
    if (const KeyEntry* e = FindKey(key_id); e != nullptr && e->current) {
      ++counts_.hits;
      return *e->current;
    }
    ++counts_.misses;
    gen = generations_[Stripe(Kind::kKey, key_id)];
  }
  SCY_ASSIGN_OR_RETURN(auto version, inner_->GetCurrentKeyVersion(key_id));
  std::lock_guard lock(mu_);
  if (KeyEntry* e = KeyEntryForPut(key_id, gen)) {
    e->current = version;
  }
  return version;
}

Result<std::optional<KeyVersionRow>> CachingStore::GetKeyVersion(const std::string& key_id,
                                                                 const std::string& version_id) {
  Generation gen = 0;
  {
    std::lock_guard lock(mu_);
    if (const KeyEntry* e = FindKey(key_id)) {
      if (auto it = e->versions.find(version_id); it != e->versions.end()) {
        ++counts_.hits;
        return it->second;
      }
    }
    ++counts_.misses;
    gen = generations_[Stripe(Kind::kKey, key_id)];
  }
  SCY_ASSIGN_OR_RETURN(auto version, inner_->GetKeyVersion(key_id, version_id));
  std::lock_guard lock(mu_);
  // Versions asked for by id come from ciphertexts, which anyone may forge: only those that
  // exist are kept, and only so many per key.
  static constexpr size_t kVersionsPerKey = 64;
  if (KeyEntry* e = KeyEntryForPut(key_id, gen);
      e != nullptr && version && e->versions.size() < kVersionsPerKey) {
    e->versions.emplace(version_id, version);
  }
  return version;
}

Result<std::optional<AliasRow>> CachingStore::GetAlias(const std::string& account_id,
                                                       const std::string& region,
                                                       const std::string& alias_name) {
  const std::string id = AliasId(account_id, region, alias_name);
  Generation gen = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = aliases_.find(id); synced_ && it != aliases_.end()) {
      if (std::chrono::steady_clock::now() < it->second.expires) {
        ++counts_.hits;
        return it->second.value;
      }
      aliases_.erase(it);
    }
    ++counts_.misses;
    gen = generations_[Stripe(Kind::kAlias, id)];
  }
  SCY_ASSIGN_OR_RETURN(auto alias, inner_->GetAlias(account_id, region, alias_name));
  if (alias) {
    std::lock_guard lock(mu_);
    if (synced_ && generations_[Stripe(Kind::kAlias, id)] == gen) {
      Evict(aliases_);
      aliases_.insert_or_assign(id, Entry<AliasRow>{*alias, std::chrono::steady_clock::now() +
                                                                options_.ttl});
    }
  }
  return alias;
}

Result<std::optional<AccessKeyRow>> CachingStore::GetAccessKey(const std::string& access_key_id) {
  Generation gen = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = access_keys_.find(access_key_id); synced_ && it != access_keys_.end()) {
      if (std::chrono::steady_clock::now() < it->second.expires) {
        ++counts_.hits;
        return it->second.value;
      }
      access_keys_.erase(it);
    }
    ++counts_.misses;
    gen = generations_[Stripe(Kind::kAccessKey, access_key_id)];
  }
  SCY_ASSIGN_OR_RETURN(auto row, inner_->GetAccessKey(access_key_id));
  if (row) {
    std::lock_guard lock(mu_);
    if (synced_ && generations_[Stripe(Kind::kAccessKey, access_key_id)] == gen) {
      Evict(access_keys_);
      access_keys_.insert_or_assign(
          access_key_id,
          Entry<AccessKeyRow>{*row, std::chrono::steady_clock::now() + options_.ttl});
    }
  }
  return row;
}

Status CachingStore::InsertKey(const KeyRow& key,
                               const std::optional<KeyVersionRow>& first_version) {
  return Write<Status>({Kind::kKey, key.key_id},
                       [&] { return inner_->InsertKey(key, first_version); });
}

Status CachingStore::UpdateKey(const KeyRow& key) {
  return Write<Status>({Kind::kKey, key.key_id}, [&] { return inner_->UpdateKey(key); });
}

Status CachingStore::AddKeyVersion(const KeyRow& key, const KeyVersionRow& version) {
  return Write<Status>({Kind::kKey, key.key_id},
                       [&] { return inner_->AddKeyVersion(key, version); });
}

Status CachingStore::PutKeyVersion(const KeyRow& key, const KeyVersionRow& version) {
  return Write<Status>({Kind::kKey, key.key_id},
                       [&] { return inner_->PutKeyVersion(key, version); });
}

Status CachingStore::DeleteKey(const std::string& key_id) {
  // A deleted key takes its aliases with it (the feed reports each; a local write drops all).
  return Write<Status>({Kind::kKey, key_id}, [&] {
    Status deleted = inner_->DeleteKey(key_id);
    std::lock_guard lock(mu_);
    aliases_.clear();
    for (auto& g : generations_) {
      ++g;
    }
    return deleted;
  });
}

Status CachingStore::InsertAlias(const AliasRow& alias, size_t max_aliases_per_key) {
  return Write<Status>({Kind::kAlias, AliasId(alias.account_id, alias.region, alias.alias_name)},
                       [&] { return inner_->InsertAlias(alias, max_aliases_per_key); });
}

Status CachingStore::UpdateAlias(const AliasRow& alias, size_t max_aliases_per_key) {
  return Write<Status>({Kind::kAlias, AliasId(alias.account_id, alias.region, alias.alias_name)},
                       [&] { return inner_->UpdateAlias(alias, max_aliases_per_key); });
}

Status CachingStore::DeleteAlias(const std::string& account_id, const std::string& region,
                                 const std::string& alias_name) {
  return Write<Status>({Kind::kAlias, AliasId(account_id, region, alias_name)},
                       [&] { return inner_->DeleteAlias(account_id, region, alias_name); });
}

Result<std::string> CachingStore::InsertGrant(const GrantRow& grant, size_t max_grants_per_key) {
  return Write<Result<std::string>>(
      {Kind::kGrant, grant.key_id}, [&] { return inner_->InsertGrant(grant, max_grants_per_key); });
}

Status CachingStore::DeleteGrant(const std::string& key_id, const std::string& grant_id) {
  return Write<Status>({Kind::kGrant, key_id},
                       [&] { return inner_->DeleteGrant(key_id, grant_id); });
}

Status CachingStore::PutAccessKey(const AccessKeyRow& row) {
  return Write<Status>({Kind::kAccessKey, row.access_key_id},
                       [&] { return inner_->PutAccessKey(row); });
}

Status CachingStore::DeleteAccessKey(const std::string& access_key_id) {
  return Write<Status>({Kind::kAccessKey, access_key_id},
                       [&] { return inner_->DeleteAccessKey(access_key_id); });
}

Result<size_t> CachingStore::DeleteExpiredAccessKeys(int64_t expired_before) {
  auto deleted = inner_->DeleteExpiredAccessKeys(expired_before);
  if (!deleted || *deleted > 0) {
    std::lock_guard lock(mu_);
    access_keys_.clear();
    for (auto& g : generations_) {
      ++g;
    }
  }
  return deleted;
}

Status CachingStore::InsertUser(const UserRow& user) {
  return Write<Status>({Kind::kIdentity, user.account_id},
                       [&] { return inner_->InsertUser(user); });
}

Status CachingStore::DeleteUser(const std::string& account_id, const std::string& user_name) {
  return Write<Status>({Kind::kIdentity, account_id},
                       [&] { return inner_->DeleteUser(account_id, user_name); });
}

Status CachingStore::PutUserPolicy(const std::string& account_id, const std::string& user_name,
                                   const InlinePolicyRow& policy) {
  return Write<Status>({Kind::kIdentity, account_id},
                       [&] { return inner_->PutUserPolicy(account_id, user_name, policy); });
}

Status CachingStore::DeleteUserPolicy(const std::string& account_id, const std::string& user_name,
                                      const std::string& policy_name) {
  return Write<Status>({Kind::kIdentity, account_id}, [&] {
    return inner_->DeleteUserPolicy(account_id, user_name, policy_name);
  });
}

Status CachingStore::InsertRole(const RoleRow& role) {
  return Write<Status>({Kind::kIdentity, role.account_id},
                       [&] { return inner_->InsertRole(role); });
}

Status CachingStore::DeleteRole(const std::string& account_id, const std::string& role_name) {
  return Write<Status>({Kind::kIdentity, account_id},
                       [&] { return inner_->DeleteRole(account_id, role_name); });
}

Status CachingStore::PutRolePolicy(const std::string& account_id, const std::string& role_name,
                                   const InlinePolicyRow& policy) {
  return Write<Status>({Kind::kIdentity, account_id},
                       [&] { return inner_->PutRolePolicy(account_id, role_name, policy); });
}

Status CachingStore::DeleteRolePolicy(const std::string& account_id, const std::string& role_name,
                                      const std::string& policy_name) {
  return Write<Status>({Kind::kIdentity, account_id}, [&] {
    return inner_->DeleteRolePolicy(account_id, role_name, policy_name);
  });
}

Status CachingStore::InsertCustomKeyStore(const CustomKeyStoreRow& row) {
  return Write<Status>({Kind::kKeyStore, row.custom_key_store_id},
                       [&] { return inner_->InsertCustomKeyStore(row); });
}

Status CachingStore::UpdateCustomKeyStore(const CustomKeyStoreRow& row) {
  return Write<Status>({Kind::kKeyStore, row.custom_key_store_id},
                       [&] { return inner_->UpdateCustomKeyStore(row); });
}

Status CachingStore::DeleteCustomKeyStore(const std::string& account_id,
                                          const std::string& region, const std::string& id) {
  return Write<Status>({Kind::kKeyStore, id},
                       [&] { return inner_->DeleteCustomKeyStore(account_id, region, id); });
}

Status CachingStore::ImportAll(const std::function<Status(RowSink& into)>& fill) {
  Status imported = inner_->ImportAll(fill);
  {
    std::lock_guard lock(mu_);
    DropAll();
  }
  Notify({Kind::kResumed, ""});
  return imported;
}

}  // namespace scytale::storage

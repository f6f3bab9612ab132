#include "iam/iam.h"

#include <openssl/crypto.h>

#include <map>
#include <mutex>

#include "iam/internal/access_keys.h"

namespace scytale::iam {

using crypto::KeyAccess;
using crypto::SecretBytes;
using internal::WrapAad;

namespace {
constexpr size_t kCacheCapacity = 10000;
constexpr const char* kUnrecognized = "The security token included in the request is invalid.";
constexpr const char* kExpired = "The security token included in the request is expired";

AccessKey CopyKey(const AccessKey& k) {
  return AccessKey{k.access_key_id, k.account_id, k.principal_arn, k.secret_access_key.Clone(),
                   k.session_token, k.expiration};
}
}  // namespace

namespace internal {
std::string RandomBase32Id(std::string_view prefix, size_t length) {
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  Bytes random = crypto::RandomBytes(length).value();
  std::string id(prefix);
  for (uint8_t b : random) {
    id.push_back(kBase32[b & 31]);
  }
  return id;
}
}  // namespace internal

std::string RootArn(const std::string& account_id) {
  return "arn:aws:iam::" + account_id + ":root";
}

std::string NewAccessKeyId() { return internal::RandomBase32Id("AKIA", 16); }

Result<SecretBytes> NewSecretAccessKey() {
  SCY_ASSIGN_OR_RETURN(SecretBytes raw, crypto::RandomSecret(30));
  std::string text = Base64Encode(raw.Reveal(KeyAccess::Grant()));  // 40 characters
  SecretBytes out(AsBytes(text));
  OPENSSL_cleanse(text.data(), text.size());
  return out;
}

struct Identities::CacheEntry {
  AccessKey key;
  std::chrono::system_clock::time_point fetched;
};

// Looked-up keys by id. Erase() bumps a generation counter, and Put() of a lookup that started
// before an Erase() is dropped: otherwise a lookup racing with UpdateAccessKey (or a delete)
// could cache the row it read before the change, and an Inactive key would keep working until
// the entry aged out.
class Identities::Cache {
 public:
  std::optional<AccessKey> Get(const std::string& id, std::chrono::system_clock::time_point now,
                               uint64_t* out_generation) {
    std::lock_guard lock(mu_);
    *out_generation = generation_;
    auto it = entries_.find(id);
    if (it == entries_.end() || now - it->second.fetched > kCacheTtl) {
      return std::nullopt;
    }
    return CopyKey(it->second.key);
  }
  void Put(const AccessKey& k, std::chrono::system_clock::time_point now, uint64_t generation) {
    std::lock_guard lock(mu_);
    if (generation != generation_) {
      return;
    }
    if (entries_.size() >= kCacheCapacity) {
      entries_.clear();  // crude but bounded; the store is the truth
    }
    entries_[k.access_key_id] = CacheEntry{CopyKey(k), now};
  }
  void Erase(const std::string& id) {
    std::lock_guard lock(mu_);
    entries_.erase(id);
    ++generation_;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
    ++generation_;
  }

 private:
  std::mutex mu_;
  uint64_t generation_ = 0;
  std::map<std::string, CacheEntry> entries_;
};

Identities::Identities(storage::Store* store, keystore::RootKeystore* root,
                       std::shared_ptr<Clock> clock)
    : store_(store), root_(root), clock_(std::move(clock)), cache_(std::make_shared<Cache>()) {}

Result<RootCredentials> Identities::BootstrapAccount(const std::string& account_id,
                                                     std::optional<RootCredentials> given) {
  SCY_RETURN_IF_ERROR(store_->PutAccount(account_id, clock_->NowSeconds()));
  const std::string arn = RootArn(account_id);
  if (!given) {
    SCY_ASSIGN_OR_RETURN(auto existing, store_->ListAccessKeys(arn));
    for (const auto& row : existing) {
      if (row.status == "Active") {
        SCY_ASSIGN_OR_RETURN(SecretBytes secret,
                             root_->Unwrap(row.wrapped_secret, WrapAad(row.access_key_id)));
        return RootCredentials{row.access_key_id, std::move(secret), false};
      }
    }
    SCY_ASSIGN_OR_RETURN(SecretBytes secret, NewSecretAccessKey());
    given = RootCredentials{NewAccessKeyId(), std::move(secret), true};
  }
  SCY_ASSIGN_OR_RETURN(auto other, store_->GetAccessKey(given->access_key_id));
  if (other && other->principal_arn != arn) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "access key " + given->access_key_id + " belongs to another principal");
  }
  SCY_ASSIGN_OR_RETURN(Bytes wrapped,
                       root_->Wrap(given->secret_access_key, WrapAad(given->access_key_id)));
  storage::AccessKeyRow row;
  row.access_key_id = given->access_key_id;
  row.account_id = account_id;
  row.principal_arn = arn;
  row.status = "Active";
  row.created_at = clock_->NowSeconds();
  row.wrapped_secret = std::move(wrapped);
  SCY_RETURN_IF_ERROR(store_->PutAccessKey(row));
  cache_->Erase(given->access_key_id);
  return std::move(*given);
}

Result<AccessKey> Identities::LookupAccessKey(const std::string& access_key_id) {
  auto now = clock_->Now();
  const int64_t now_seconds = clock_->NowSeconds();
  uint64_t generation = 0;
  if (auto hit = cache_->Get(access_key_id, now, &generation)) {
    if (hit->expiration != 0 && now_seconds >= hit->expiration) {
      return MakeError(ErrorCode::kExpiredToken, kExpired);
    }
    return std::move(*hit);
  }
  SCY_ASSIGN_OR_RETURN(auto row, store_->GetAccessKey(access_key_id));
  if (!row || row->status != "Active") {
    return MakeError(ErrorCode::kUnrecognizedClient, kUnrecognized);
  }
  if (!row->session_token.empty() && !internal::IsSessionTokenDigest(row->session_token)) {
    return MakeError(ErrorCode::kUnrecognizedClient, kUnrecognized);
  }
  if (row->expiration && now_seconds >= *row->expiration) {
    return MakeError(ErrorCode::kExpiredToken, kExpired);
  }
  SCY_ASSIGN_OR_RETURN(SecretBytes secret,
                       root_->Unwrap(row->wrapped_secret, WrapAad(row->access_key_id)));
  AccessKey key{row->access_key_id, row->account_id,    row->principal_arn,
                std::move(secret),  row->session_token, row->expiration.value_or(0)};
  cache_->Put(key, now, generation);
  return key;
}

void Identities::Forget(const std::string& access_key_id) { cache_->Erase(access_key_id); }

void Identities::ForgetAll() { cache_->Clear(); }

Status CheckRootUnwrapsAccessKey(keystore::RootKeystore& root, const storage::AccessKeyRow& row) {
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes secret,
                       root.Unwrap(row.wrapped_secret, WrapAad(row.access_key_id)));
  return Ok();
}

}  // namespace scytale::iam

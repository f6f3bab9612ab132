// What every kms/ operation shares: the store, the root keystore, the clock, the cache of
// unwrapped backing keys; key resolution; the key state table; metadata; paging markers.
// Operations are free functions over a Core, grouped by domain (keys.cc, envelope.cc,
// lifecycle.cc, aliases.cc, rotation.cc); KeyServiceImpl only forwards to them.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <mutex>
#include <unordered_map>

#include "crypto/asymmetric.h"
#include "kms/internal/authorize.h"
#include "kms/internal/key_cache.h"
#include "kms/kms.h"

namespace scytale::kms::internal {

inline constexpr const char* kSymmetricDefault = "SYMMETRIC_DEFAULT";
inline constexpr size_t kBackingKeySize = 32;  // AES-256
inline constexpr size_t kMaxTagsPerKey = 50;

class KeyStoreConnections;  // custom_key_stores.h

class Core {
 public:
  Core(storage::Store* store, keystore::RootKeystore* root, std::shared_ptr<Clock> clock);

  storage::Store* store() const { return store_; }
  keystore::RootKeystore* root() const { return root_; }
  const Clock& clock() const { return *clock_; }
  BackingKeyCache& cache() { return cache_; }
  const BackingKeyCache& cache() const { return cache_; }
  Authorizer& authorizer() { return authorizer_; }
  // The configured clusters and open tokens of custom key stores.
  KeyStoreConnections& key_stores() { return *key_stores_; }

  // Authorization, before anything else an operation does (see authorize.h).
  Status Authorize(const CallContext& ctx, const storage::KeyRow& key, const AuthRequest& req) {
    return authorizer_.Authorize(ctx, key, req);
  }
  Status AuthorizeWithoutKey(const CallContext& ctx, const AuthRequest& req) {
    return authorizer_.AuthorizeWithoutKey(ctx, req);
  }

  // The key's row from the store, as it stands now: imported material past its ValidTo is gone
  // from the second it expires (the state reads PendingImport), whether or not the background
  // pass has deleted it yet. Every read of a key row in kms/ goes through here.
  Result<std::optional<storage::KeyRow>> GetKey(const std::string& account_id,
                                                const std::string& region,
                                                const std::string& key_id);
  // Resolves a KeyId given as key id, key ARN, alias name or alias ARN (the forms that
  // cryptographic operations and DescribeKey take). kNotFound with AWS's messages.
  Result<storage::KeyRow> ResolveKey(const CallContext& ctx, const std::string& key_id);
  // Resolves a KeyId given as key id or key ARN only (management operations); an alias is
  // kNotFound.
  Result<storage::KeyRow> ResolveKeyIdOrArn(const CallContext& ctx, const std::string& key_id);

  // Serializes this node's writers of one key (UpdateKey, rotations): optimistic locking
  // alone lets many concurrent writers of one key starve each other on PostgreSQL, where they
  // really run at once; writers on other nodes still meet at the revision check.
  std::unique_lock<std::mutex> LockKeyWrites(const std::string& key_id) {
    return std::unique_lock(key_write_locks_[std::hash<std::string>{}(key_id) %
                                             key_write_locks_.size()]);
  }

  // Applies `mutate` to the freshest row of `key` and writes it; retries when another writer
  // came first. Drops the key's cached material. Returns the row as written.
  Result<storage::KeyRow> UpdateKey(const storage::KeyRow& key,
                                    const std::function<Status(storage::KeyRow&)>& mutate);
  // UpdateKey with another write of the mutated row than Store::UpdateKey (one that writes more
  // in the same transaction, such as Store::PutKeyVersion); `write` answers kConflict likewise.
  Result<storage::KeyRow> UpdateKeyWith(const storage::KeyRow& key,
                                        const std::function<Status(storage::KeyRow&)>& mutate,
                                        const std::function<Status(const storage::KeyRow&)>& write);

  // The unwrapped material of a backing version, from the cache or the root keystore.
  Result<std::shared_ptr<const crypto::SecretBytes>> BackingKey(
      const std::string& arn, const storage::KeyVersionRow& version);
  // Wraps new backing material for `key`: `material` when given (seeding), else fresh.
  Result<storage::KeyVersionRow> NewBackingVersion(
      const storage::KeyRow& key, std::string rotation_type,
      const crypto::SecretBytes* material = nullptr);

  // The private key of an asymmetric key (its current backing version), parsed once and cached.
  Result<std::shared_ptr<const crypto::PrivateKey>> PrivateKeyOf(const storage::KeyRow& key);
  // The material of a key's current backing version (symmetric and HMAC keys).
  struct CurrentMaterial {
    std::string version_id;
    std::shared_ptr<const crypto::SecretBytes> material;
  };
  Result<CurrentMaterial> CurrentKeyMaterial(const storage::KeyRow& key);

  // KeyMetadata of a row (reads the current backing version).
  Result<KeyMetadata> Metadata(const storage::KeyRow& row);

 private:
  storage::Store* store_;
  keystore::RootKeystore* root_;
  std::shared_ptr<Clock> clock_;
  BackingKeyCache cache_;
  Authorizer authorizer_;
  std::shared_ptr<KeyStoreConnections> key_stores_;
  std::mutex private_keys_mu_;
  std::array<std::mutex, 64> key_write_locks_;
  std::unordered_map<std::string, std::shared_ptr<const crypto::PrivateKey>> private_keys_;
};

std::string Arn(const storage::KeyRow& row);

// The key state table (AWS Developer Guide, "Key states"): whether `operation` runs on a key in
// its current state, and AWS's error otherwise (DisabledException, KMSInvalidStateException).
Status CheckKeyState(std::string_view operation, const storage::KeyRow& row);

// AWS's default key policy for a key of `account_id`.
std::string DefaultKeyPolicy(const std::string& account_id);

// Binds wrapped backing material to its key and version.
Bytes BackingKeyAad(const std::string& arn, const std::string& version_id);

// Characters, as AWS counts lengths, of UTF-8 text: every byte that does not continue one.
size_t CodePoints(std::string_view utf8);

// Tags as AWS checks them on CreateKey and TagResource: no duplicate keys, no "aws:" prefix
// (kTag); at most 50 (kLimitExceeded).
Status CheckTags(const std::vector<Tag>& tags);

// Opaque paging markers over an integer or a string position.
std::string MakeMarker(std::string_view position);
std::optional<std::string> ParseMarker(const std::string& marker);

Error DryRunSucceeded();

// kms:RequestAlias: the alias name ("alias/x") the caller named the key by, if it did.
std::optional<std::string> RequestAlias(const std::optional<std::string>& key_id);

}  // namespace scytale::kms::internal

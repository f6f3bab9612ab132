// iam/: accounts, principals and their access keys. For now: each account's root principal
// (arn:aws:iam::<account>:root) and its access keys. Users, roles, identity policies and the
// IAM/STS query APIs arrive with the authorization issue.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/crypto.h"
#include "keystore/keystore.h"
#include "storage/storage.h"

namespace scytale::iam {

// What an access key id resolves to, secret included (for SigV4 verification only).
struct AccessKey {
  std::string access_key_id;
  std::string account_id;
  std::string principal_arn;
  crypto::SecretBytes secret_access_key;
  std::string session_token;
};

struct RootCredentials {
  std::string access_key_id;
  crypto::SecretBytes secret_access_key;
  bool generated = false;  // true when made now (the caller writes them out once)
};

std::string RootArn(const std::string& account_id);

class Identities {
 public:
  // `store` and `root` must outlive this object.
  Identities(storage::Store* store, keystore::RootKeystore* root, std::shared_ptr<Clock> clock);

  // Makes sure the account exists and its root principal has an access key. With `given`
  // credentials (from the environment), those are stored (replacing the same id's secret).
  // Without, an existing active root key is kept; if there is none, one is generated and
  // returned with generated=true. Not for concurrent use with itself.
  Result<RootCredentials> BootstrapAccount(const std::string& account_id,
                                           std::optional<RootCredentials> given);

  // Resolves an active access key: kUnrecognizedClient when unknown or inactive. Results are
  // cached for a short time (see kCacheTtl). Thread-safe.
  Result<AccessKey> LookupAccessKey(const std::string& access_key_id);

  // How long a looked-up key is trusted before the store is asked again.
  static constexpr std::chrono::seconds kCacheTtl{30};

 private:
  struct CacheEntry;
  class Cache;
  storage::Store* store_;
  keystore::RootKeystore* root_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<Cache> cache_;
};

// A new access key id (AKIA + 16 base32 characters) and secret (40 characters).
std::string NewAccessKeyId();
Result<crypto::SecretBytes> NewSecretAccessKey();

}  // namespace scytale::iam

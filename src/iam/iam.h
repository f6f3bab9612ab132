// iam/: accounts, principals and their access keys: each account's root principal
// (arn:aws:iam::<account>:root), IAM users with access keys and inline identity policies,
// roles with trust policies and inline policies, and role sessions (STS AssumeRole) with
// temporary credentials. The IAM and STS query protocols live in api/ (iam_query.h).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/crypto.h"
#include "keystore/keystore.h"
#include "policy/policy.h"
#include "storage/storage.h"

namespace scytale::iam {

// What an access key id resolves to, secret included (for SigV4 verification only).
struct AccessKey {
  std::string access_key_id;
  std::string account_id;
  std::string principal_arn;
  crypto::SecretBytes secret_access_key;
  // Temporary credentials only: the SHA-256 of the session token, lowercase hex, which is all
  // the store keeps of it (auth::Credential::session_token_sha256). Empty for long-term keys.
  std::string session_token;
  int64_t expiration = 0;  // epoch seconds; 0 for long-term keys
};

struct RootCredentials {
  std::string access_key_id;
  crypto::SecretBytes secret_access_key;
  bool generated = false;  // true when made now (the caller writes them out once)
};

std::string RootArn(const std::string& account_id);

// For `scytale migrate`, which must be run with the root keystore the rows were wrapped by:
// OK when `root` unwraps the secret of the access key `row`; else the unwrap's error
// (kInvalidCiphertext for another root). The secret is wiped at once.
Status CheckRootUnwrapsAccessKey(keystore::RootKeystore& root, const storage::AccessKeyRow& row);

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

  // Resolves an active access key: kUnrecognizedClient when unknown or inactive, kExpiredToken
  // when temporary credentials have expired (by the clock). Session keys stored before session
  // tokens were kept as digests (they held the token itself) are kUnrecognizedClient: sessions
  // are short-lived, and those made before an upgrade simply end with it. Results are cached for a
  // short time (see kCacheTtl); Forget() ends that at once. Thread-safe.
  Result<AccessKey> LookupAccessKey(const std::string& access_key_id);

  // Drops a cached key so that the next lookup asks the store (after a key was deleted or
  // changed). Thread-safe.
  void Forget(const std::string& access_key_id);
  // Drops every cached key (the store's change feed was interrupted). Thread-safe.
  void ForgetAll();

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

// Who calls an IAM or STS operation (from SigV4).
struct Caller {
  std::string account_id;
  std::string principal_arn;
};

struct User {
  std::string user_name;
  std::string user_id;  // "AIDA" + 17 base32 characters
  std::string arn;      // arn:aws:iam::<account>:user<path><name>
  std::string path = "/";
  int64_t create_date = 0;
};

struct ListUsersResult {
  std::vector<User> users;
  std::optional<std::string> marker;  // set when truncated
  bool is_truncated = false;
};

struct AccessKeyMetadata {
  std::string user_name;
  std::string access_key_id;
  std::string status;  // Active | Inactive
  int64_t create_date = 0;
};

// One page of ListAccessKeys, oldest key first.
struct ListAccessKeysResult {
  std::vector<AccessKeyMetadata> keys;
  std::optional<std::string> marker;  // set when truncated
  bool is_truncated = false;
};

// One page of ListUserPolicies or ListRolePolicies, in name order.
struct ListPolicyNamesResult {
  std::vector<std::string> policy_names;
  std::optional<std::string> marker;  // set when truncated
  bool is_truncated = false;
};

// Returned once, at creation; the secret is never readable again.
struct NewAccessKey {
  AccessKeyMetadata metadata;
  crypto::SecretBytes secret_access_key;
};

struct Role {
  std::string role_name;
  std::string role_id;  // "AROA" + 17 base32 characters
  std::string arn;      // arn:aws:iam::<account>:role<path><name>
  std::string path = "/";
  std::string assume_role_policy_document;  // the trust policy, as given
  std::string description;
  int max_session_duration = 3600;  // seconds, 3600..43200
  int64_t create_date = 0;
};

// Temporary credentials of a role session.
struct AssumedRole {
  std::string access_key_id;  // "ASIA" + 16 base32 characters
  crypto::SecretBytes secret_access_key;
  std::string session_token;     // for the caller only: the store keeps its SHA-256
  int64_t expiration = 0;        // epoch seconds
  std::string assumed_role_arn;  // arn:aws:sts::<account>:assumed-role/<role name>/<session>
  std::string assumed_role_id;   // "<role id>:<session name>"
};

// STS GetCallerIdentity.
struct CallerIdentity {
  std::string account;
  std::string arn;
  // The account id for a root, the user id (AIDA...) for a user, "<role id>:<session name>"
  // (AROA...:name) for a role session.
  std::string user_id;
};

// The IAM and STS operations Scytale serves, with IAM's rules and errors:
// kNotFound (NoSuchEntity), kAlreadyExists (EntityAlreadyExists), kConflict (DeleteConflict:
// a user with access keys or policies, a role with policies), kMalformedPolicyDocument,
// kValidation, kLimitExceeded (more than 2 access keys per user), kAccessDenied.
// Every call is authorized first: an account root may do anything in its account; any other
// caller needs an identity policy allowing the iam:<Action> (sts:AssumeRole) on the resource
// (arn:aws:iam::<account>:user/<name>, .../role/<name>) and no Deny. A root may not call
// AssumeRole (as in AWS); another principal may when its identity policy allows
// sts:AssumeRole on the role and the role's trust policy allows the principal (a trust policy
// naming the account delegates to the identity policy). All methods are thread-safe.
class IamService {
 public:
  // `store` and `root` must outlive the service; `identities` is told when keys change.
  static std::unique_ptr<IamService> Create(storage::Store* store, keystore::RootKeystore* root,
                                            std::shared_ptr<Clock> clock, Identities* identities);
  virtual ~IamService() = default;

  virtual Result<User> CreateUser(const Caller& caller, const std::string& user_name,
                                  const std::string& path) = 0;
  // Without a name: the calling user (kValidation for a root or role session, as AWS).
  virtual Result<User> GetUser(const Caller& caller,
                               const std::optional<std::string>& user_name) = 0;
  virtual Result<ListUsersResult> ListUsers(const Caller& caller, const std::string& path_prefix,
                                            const std::optional<std::string>& marker,
                                            std::optional<int> max_items) = 0;
  virtual Status DeleteUser(const Caller& caller, const std::string& user_name) = 0;

  // Without a user name: the calling user's own keys (a root: the root's keys).
  virtual Result<NewAccessKey> CreateAccessKey(const Caller& caller,
                                               const std::optional<std::string>& user_name) = 0;
  virtual Result<ListAccessKeysResult> ListAccessKeys(const Caller& caller,
                                                      const std::optional<std::string>& user_name,
                                                      const std::optional<std::string>& marker,
                                                      std::optional<int> max_items) = 0;
  // Sets a key's status ("Active" | "Inactive"). An Inactive key fails authentication at once
  // (InvalidClientTokenId; for KMS UnrecognizedClientException) until it is made Active again,
  // and still counts toward the quota. kNotFound when the owner has no such key.
  virtual Status UpdateAccessKey(const Caller& caller, const std::optional<std::string>& user_name,
                                 const std::string& access_key_id, const std::string& status) = 0;
  virtual Status DeleteAccessKey(const Caller& caller, const std::optional<std::string>& user_name,
                                 const std::string& access_key_id) = 0;

  virtual Status PutUserPolicy(const Caller& caller, const std::string& user_name,
                               const std::string& policy_name, const std::string& document) = 0;
  virtual Result<std::string> GetUserPolicy(const Caller& caller, const std::string& user_name,
                                            const std::string& policy_name) = 0;
  virtual Result<ListPolicyNamesResult> ListUserPolicies(const Caller& caller,
                                                         const std::string& user_name,
                                                         const std::optional<std::string>& marker,
                                                         std::optional<int> max_items) = 0;
  virtual Status DeleteUserPolicy(const Caller& caller, const std::string& user_name,
                                  const std::string& policy_name) = 0;

  virtual Result<Role> CreateRole(const Caller& caller, const std::string& role_name,
                                  const std::string& path, const std::string& trust_policy,
                                  const std::string& description,
                                  std::optional<int> max_session_duration) = 0;
  virtual Result<Role> GetRole(const Caller& caller, const std::string& role_name) = 0;
  virtual Status DeleteRole(const Caller& caller, const std::string& role_name) = 0;
  virtual Status PutRolePolicy(const Caller& caller, const std::string& role_name,
                               const std::string& policy_name, const std::string& document) = 0;
  virtual Result<std::string> GetRolePolicy(const Caller& caller, const std::string& role_name,
                                            const std::string& policy_name) = 0;
  virtual Result<ListPolicyNamesResult> ListRolePolicies(const Caller& caller,
                                                         const std::string& role_name,
                                                         const std::optional<std::string>& marker,
                                                         std::optional<int> max_items) = 0;
  virtual Status DeleteRolePolicy(const Caller& caller, const std::string& role_name,
                                  const std::string& policy_name) = 0;

  // STS.
  // Who the caller is. Needs no permission (an explicit Deny of everything included), as in
  // AWS. kUnrecognizedClient for a user that no longer exists (a key never outlives its user,
  // so only a key cached during a concurrent delete gets here). A role session whose role was
  // deleted since has lost its role id (sessions are not bound to it in the store); its user id
  // is then "<role name>:<session name>".
  virtual Result<CallerIdentity> GetCallerIdentity(const Caller& caller) = 0;
  virtual Result<AssumedRole> AssumeRole(const Caller& caller, const std::string& role_arn,
                                         const std::string& role_session_name,
                                         std::optional<int> duration_seconds) = 0;

  // The compiled identity policies that apply to a principal: an IAM user's inline policies;
  // for a role session, its role's inline policies; none for an account root. Cached, and
  // refreshed when a policy changes. kms/ authorization calls this on every request.
  virtual Result<std::vector<std::shared_ptr<const policy::CompiledPolicy>>> IdentityPolicies(
      const std::string& principal_arn) = 0;

  // A change committed to the store, by this node or another (storage::CachingStore's
  // observers): drops what the caches of identities and their policies hold of it, so that a
  // change made through any node applies on every node as soon as it is announced.
  virtual void OnStoreChange(const storage::Change& change) { (void)change; }
};

// A new access key id (AKIA + 16 base32 characters) and secret (40 characters).
std::string NewAccessKeyId();
Result<crypto::SecretBytes> NewSecretAccessKey();

}  // namespace scytale::iam

// Authorization of KMS operations: the key policy, the caller's identity policies and grants,
// combined as AWS KMS does (policy/AuthorizeKeyAccess), with the request's condition keys.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kms/kms.h"
#include "policy/policy.h"

namespace scytale::kms::internal {

// What a request brings to its condition keys beyond the caller and the key.
struct AuthRequest {
  std::string_view action{};  // "kms:Encrypt"
  const EncryptionContext* context = nullptr;     // kms:EncryptionContext:*, ...Keys
  std::optional<std::string> encryption_algorithm{};  // kms:EncryptionAlgorithm
  std::optional<std::string> request_alias{};         // kms:RequestAlias
  std::optional<std::string> signing_algorithm{};     // kms:SigningAlgorithm
  std::optional<std::string> message_type{};          // kms:MessageType
  std::optional<std::string> mac_algorithm{};         // kms:MacAlgorithm
  std::optional<std::string> key_pair_spec{};         // kms:DataKeyPairSpec
  std::optional<std::string> key_agreement_algorithm{};  // kms:KeyAgreementAlgorithm
  const std::vector<Tag>* request_tags = nullptr;  // aws:RequestTag/*, aws:TagKeys
  const std::vector<std::string>* tag_keys = nullptr;  // aws:TagKeys (UntagResource)
  std::optional<int> pending_window_days{};   // kms:ScheduleKeyDeletionPendingWindowInDays
  std::optional<int> rotation_period_days{};  // kms:RotationPeriodInDays
  std::optional<std::string> wrapping_algorithm{};  // kms:WrappingAlgorithm
  std::optional<std::string> wrapping_key_spec{};   // kms:WrappingKeySpec
  std::optional<std::string> expiration_model{};    // kms:ExpirationModel
  std::optional<std::string> valid_to{};            // kms:ValidTo (epoch seconds)
  // CreateGrant: the grant asked for (kms:GrantOperations, kms:GranteePrincipal,
  // kms:RetiringPrincipal, kms:GrantConstraintType; its constraints come as `context`).
  const CreateGrantRequest* new_grant = nullptr;
};

// The identity policies that apply to a caller (its own, its groups', its role's). Until IAM
// users and roles exist every caller is an account root, which has none.
using IdentityPolicySource = std::function<Result<std::vector<std::shared_ptr<const policy::CompiledPolicy>>>(
    const CallContext& ctx)>;

class Authorizer {
 public:
  Authorizer(storage::Store* store, std::shared_ptr<Clock> clock);

  // May the caller perform `req.action` on `key`? kAccessDenied with AWS's message otherwise.
  // The key policy and identity policies decide first; only when they deny implicitly are the
  // key's grants read (grants only allow; an explicit Deny still wins).
  Status Authorize(const CallContext& ctx, const storage::KeyRow& key, const AuthRequest& req);
  // The lockout safety check of CreateKey and PutKeyPolicy: would `new_policy` still let the
  // caller put a key policy on the key `key_arn`? Same condition keys as a real call.
  bool AllowsPutKeyPolicy(const CallContext& ctx, const storage::KeyRow& key,
                          const policy::CompiledPolicy& new_policy);
  // Whether the caller's identity policies alone allow `action` on `key` (an account root:
  // unless they deny). RetireGrant by the issuing account's principals.
  bool IdentityPoliciesAllow(const CallContext& ctx, const storage::KeyRow& key,
                             std::string_view action);
  // For operations on no key (CreateKey, ListKeys, ListAliases, GenerateRandom).
  Status AuthorizeWithoutKey(const CallContext& ctx, const AuthRequest& req);

  // The compiled key policy of `key` (cached by policy text).
  Result<std::shared_ptr<const policy::CompiledPolicy>> KeyPolicy(const storage::KeyRow& key);

  void set_identity_policies(IdentityPolicySource source) { identity_policies_ = std::move(source); }
  // The identity policies that apply to the caller (none for an account root).
  Result<std::vector<std::shared_ptr<const policy::CompiledPolicy>>> IdentityPoliciesOf(
      const CallContext& ctx);

 private:
  struct CachedPolicy {
    std::shared_ptr<const policy::CompiledPolicy> compiled;
    bool uses_resource_aliases = false;
  };
  Result<CachedPolicy> Cached(const storage::KeyRow& key);
  policy::Request BaseRequest(const CallContext& ctx, const AuthRequest& req,
                              const std::string& resource) const;
  // Whether a grant of `key` lets the caller do `req` (request `r` built for it).
  Result<bool> GrantAllows(const CallContext& ctx, const storage::KeyRow& key,
                           const AuthRequest& req, policy::PolicyList identity,
                           const policy::Request& r);
  // Adds the key's own condition keys (kms:KeySpec, ..., aws:ResourceTag/*, kms:ResourceAliases).
  Status AddKeyConditionKeys(const storage::KeyRow& key, bool with_aliases,
                             policy::Request* request);

  storage::Store* store_;
  std::shared_ptr<Clock> clock_;
  IdentityPolicySource identity_policies_;
  std::mutex mu_;
  std::unordered_map<std::string, CachedPolicy> cache_;  // by policy text
};

}  // namespace scytale::kms::internal

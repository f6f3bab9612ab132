// policy/: the AWS IAM policy language. Parses and validates key policies (resource-based) and
// identity policies into an immutable CompiledPolicy, evaluates one against a request, and
// combines key policy, identity policies and grants the way AWS KMS authorizes a call.
//
// How it reads the AWS IAM reference and the KMS developer guide, and where we had to choose:
//  - Condition key names are case-insensitive, all of them, including the <context-key> part
//    of kms:EncryptionContext:<context-key> (the KMS developer guide says the whole condition
//    key is case-insensitive; only the value's case is up to the operator). To require the
//    exact case of an encryption context key, use kms:EncryptionContextKeys with StringEquals.
//    Two request keys that differ only in case are one key with both values.
//  - Action names match case-insensitively; Resource and principal ARNs case-sensitively.
//  - A key absent from the request (or present with no values) makes a condition false, except
//    for negated operators (StringNotEquals, ...), which are then true, ...IfExists (true),
//    ForAllValues (true), ForAnyValue (false) and Null. Several values for one key in the
//    policy are OR'd (for a negated operator: the request value must match none of them);
//    several keys and several operators are AND'd.
//  - Without a set operator, a request key with several values matches when any of them does
//    (a negated operator: when none does).
//  - Policy variables (${aws:username}, ${key, 'default'}, ${*}, ${?}, ${$}) are expanded in
//    Resource/NotResource and in String*, Arn* and Bool values of "2012-10-17" policies; in older
//    or unversioned policies they are literal text. A variable the request cannot resolve (and
//    that has no default) makes its statement not apply, as the IAM guide says.
//  - '?' matches one byte, not one UTF-8 character; IgnoreCase folds ASCII only.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scytale::policy {

namespace internal {
struct PolicyData;
}

// Resource-based policies (KMS key policies) must name principals in every statement;
// identity-based policies (attached to IAM users and roles) must not. Role trust policies are
// resource-based policies whose resource is always the role: they name principals and must not
// have Resource or NotResource.
enum class PolicyKind { kResource, kIdentity, kTrust };

// The condition keys of one request and their values. Key lookup is case-insensitive; values
// keep their case. A key may have several values (kms:EncryptionContextKeys, aws:TagKeys, ...).
class ConditionKeys {
 public:
  // Appends `value` to `key`'s values.
  ConditionKeys& Add(std::string_view key, std::string value);
  // Replaces `key`'s values. An empty list keeps the key present but empty, which every
  // operator treats like an absent key (ForAllValues: true, ForAnyValue: false, Null: true).
  ConditionKeys& Set(std::string_view key, std::vector<std::string> values);
  void Remove(std::string_view key);
  // `key`'s values, or nullptr when absent.
  const std::vector<std::string>* Find(std::string_view key) const;
  // As Find, for a key already folded to ASCII lowercase (the evaluator's fast path).
  const std::vector<std::string>* FindFolded(std::string_view folded_key) const;
  bool empty() const { return values_.empty(); }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// One authorization question: may `principal_arn` perform `action` on `resource`?
struct Request {
  // arn:aws:iam::111122223333:root, arn:aws:iam::111122223333:user/alice,
  // arn:aws:sts::111122223333:assumed-role/RoleName/session, ...; a service principal
  // (ec2.amazonaws.com) is given by its name.
  std::string principal_arn;
  // The caller's account; when empty, taken from principal_arn.
  std::string principal_account;
  // "kms:Encrypt".
  std::string action;
  // The key ARN, or "*" for operations on no particular resource (CreateKey, ListKeys, ...).
  std::string resource;
  ConditionKeys conditions;
};

// The answer of one policy.
enum class Decision {
  kNotApplicable,    // no statement applies: an implicit deny as far as this policy goes
  kAllowViaAccount,  // (resource policies) only an Allow naming the caller's *account* applies:
                     // AWS KMS reads this as delegating to the account's IAM policies
  kAllow,            // an Allow that names the caller itself (user, role, session, its
                     // account root when the caller is root, "*") applies
  kDeny,             // an explicit Deny applies; nothing can override it
};

struct Evaluation {
  Decision decision = Decision::kNotApplicable;
  // Index of the statement that decided (the Deny, or the first Allow of the winning kind);
  // -1 when none applies.
  int statement_index = -1;
};

// A parsed, validated policy with its wildcards precompiled. Immutable; Evaluate is
// thread-safe and allocation-free except for statements that use policy variables.
class CompiledPolicy {
 public:
  // Parses `document` (JSON). Fails with kMalformedPolicyDocument and an AWS-like message when
  // the document is not JSON, has unknown or duplicate elements, a bad Version or Effect, no
  // Statement, a Principal where it is forbidden (identity) or missing where it is required
  // (resource), an invalid principal, action, resource, condition operator or condition value.
  // The size quota is the caller's to check.
  static Result<std::shared_ptr<const CompiledPolicy>> Compile(std::string_view document,
                                                               PolicyKind kind);

  Evaluation Evaluate(const Request& request) const;

  PolicyKind kind() const;
  // "2012-10-17", "2008-10-17" or "" when the document had no Version.
  const std::string& version() const;
  const std::string& id() const;
  size_t statement_count() const;
  // The statement's Sid, or "" when it has none.
  const std::string& sid(size_t statement_index) const;

  ~CompiledPolicy();
  CompiledPolicy(const CompiledPolicy&) = delete;
  CompiledPolicy& operator=(const CompiledPolicy&) = delete;

 private:
  explicit CompiledPolicy(std::unique_ptr<internal::PolicyData> data);
  std::unique_ptr<const internal::PolicyData> data_;
};

// How AWS KMS decided a call to a key, for the response and the audit record.
enum class AccessOutcome {
  kAllowedByKeyPolicy,       // the key policy names the caller
  kAllowedByIdentityPolicy,  // the key policy delegates to the account, IAM allows
  kAllowedByGrant,
  kDeniedByKeyPolicy,             // explicit Deny in the key policy
  kDeniedByIdentityPolicy,        // explicit Deny in an identity policy
  kDeniedNoIdentityPolicyAllows,  // the key policy delegates (or, cross-account, allows) but
                                  // no identity policy allows
  kDeniedNoResourcePolicyAllows,  // the key policy neither allows nor delegates
};

struct AccessDecision {
  AccessOutcome outcome;
  bool allowed() const {
    return outcome == AccessOutcome::kAllowedByKeyPolicy ||
           outcome == AccessOutcome::kAllowedByIdentityPolicy ||
           outcome == AccessOutcome::kAllowedByGrant;
  }
};

using PolicyList = std::span<const std::shared_ptr<const CompiledPolicy>>;

// AWS KMS's decision for an operation on a key:
//  1. an explicit Deny in the key policy or any identity policy denies;
//  2. the key policy allowing the caller directly allows;
//  3. the key policy allowing the caller's account (delegation) and an identity policy
//     allowing allows;
//  4. a grant allowing (`grant_allows`, decided by kms/) allows;
//  5. otherwise deny.
// Cross-account callers (principal account != the account in the key ARN) need both an Allow
// from the key policy (direct or via their account) and one from their identity policies, as
// for any AWS cross-account access; grants alone also suffice. An account root needs no
// identity policy (IAM policies cannot be attached to it). `identity_policies` are those that
// apply to the caller (its own, its groups', its role's).
AccessDecision AuthorizeKeyAccess(const CompiledPolicy& key_policy, PolicyList identity_policies,
                                  bool grant_allows, const Request& request);

// For operations with no key (CreateKey, ListKeys, ListAliases, GenerateRandom, ...): identity
// policies alone; an account root is allowed unless an identity policy denies.
AccessDecision AuthorizeWithoutKeyPolicy(PolicyList identity_policies, const Request& request);

// AWS's AccessDeniedException message, e.g. "User: arn:aws:iam::111122223333:user/alice is not
// authorized to perform: kms:Encrypt on resource: arn:aws:kms:...:key/... because no
// identity-based policy allows the kms:Encrypt action". Only for denied outcomes.
std::string AccessDeniedMessage(AccessOutcome outcome, const Request& request);

// Adds the global keys derivable from the principal ARN alone: aws:PrincipalArn (for a role
// session, the role's ARN without path), aws:PrincipalAccount, aws:PrincipalType (Account,
// User, AssumedRole, FederatedUser) and aws:username (IAM users). Request-specific keys
// (kms:CallerAccount, kms:EncryptionContext:*, aws:SourceIp, aws:CurrentTime, ...) are the
// caller's to add.
void AddPrincipalConditionKeys(Request* request);

}  // namespace scytale::policy

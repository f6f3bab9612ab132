#include "policy/policy.h"

#include <utility>

#include "policy/internal/compiled.h"
#include "policy/internal/glob.h"

namespace scytale::policy {

// ---- ConditionKeys --------------------------------------------------------------------------

ConditionKeys& ConditionKeys::Add(std::string_view key, std::string value) {
  values_[internal::FoldAscii(key)].push_back(std::move(value));
  return *this;
}

ConditionKeys& ConditionKeys::Set(std::string_view key, std::vector<std::string> values) {
  values_[internal::FoldAscii(key)] = std::move(values);
  return *this;
}

void ConditionKeys::Remove(std::string_view key) { values_.erase(internal::FoldAscii(key)); }

const std::vector<std::string>* ConditionKeys::Find(std::string_view key) const {
  return FindFolded(internal::FoldAscii(key));
}

const std::vector<std::string>* ConditionKeys::FindFolded(std::string_view folded_key) const {
  auto it = values_.find(folded_key);
  return it == values_.end() ? nullptr : &it->second;
}

// ---- CompiledPolicy -------------------------------------------------------------------------

CompiledPolicy::CompiledPolicy(std::unique_ptr<internal::PolicyData> data)
    : data_(std::move(data)) {}

CompiledPolicy::~CompiledPolicy() = default;

Result<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::Compile(std::string_view document,
                                                                      PolicyKind kind) {
  SCY_ASSIGN_OR_RETURN(std::unique_ptr<internal::PolicyData> data,
                       internal::ParsePolicy(document, kind));
  return std::shared_ptr<const CompiledPolicy>(new CompiledPolicy(std::move(data)));
}

Evaluation CompiledPolicy::Evaluate(const Request& request) const {
  return internal::EvaluatePolicy(*data_, internal::AnalyzeCaller(request), request);
}

PolicyKind CompiledPolicy::kind() const { return data_->kind; }
const std::string& CompiledPolicy::version() const { return data_->version; }
const std::string& CompiledPolicy::id() const { return data_->id; }
size_t CompiledPolicy::statement_count() const { return data_->statements.size(); }
const std::string& CompiledPolicy::sid(size_t statement_index) const {
  return data_->statements.at(statement_index).sid;
}

// ---- Authorization --------------------------------------------------------------------------

namespace {

// The account in a key ARN (arn:aws:kms:region:account:key/id), or "" for "*" and aliases.
std::string_view ResourceAccount(std::string_view resource) {
  const internal::ArnParts p = internal::SplitArn(resource);
  return p.count == 6 ? p.part[4] : std::string_view();
}

struct IdentityVerdict {
  bool deny = false;
  bool allow = false;
};

IdentityVerdict EvaluateIdentityPolicies(PolicyList policies, const internal::Caller& caller,
                                         const Request& request) {
  IdentityVerdict verdict;
  for (const auto& policy : policies) {
    if (policy == nullptr) {
      continue;
    }
    const Evaluation e = policy->Evaluate(request);
    if (e.decision == Decision::kDeny) {
      verdict.deny = true;
      return verdict;
    }
    verdict.allow =
        verdict.allow || e.decision == Decision::kAllow || e.decision == Decision::kAllowViaAccount;
  }
  // IAM policies cannot be attached to an account's root user, which may do anything its
  // account may; only resource policies (and SCPs, which we do not have) restrict it.
  if (caller.kind == internal::Caller::Kind::kRoot) {
    verdict.allow = true;
  }
  return verdict;
}

}  // namespace

AccessDecision AuthorizeKeyAccess(const CompiledPolicy& key_policy, PolicyList identity_policies,
                                  bool grant_allows, const Request& request) {
  const internal::Caller caller = internal::AnalyzeCaller(request);
  const Evaluation key = key_policy.Evaluate(request);
  if (key.decision == Decision::kDeny) {
    return {AccessOutcome::kDeniedByKeyPolicy};
  }
  const IdentityVerdict identity = EvaluateIdentityPolicies(identity_policies, caller, request);
  if (identity.deny) {
    return {AccessOutcome::kDeniedByIdentityPolicy};
  }
  const std::string_view key_account = ResourceAccount(request.resource);
  // Service principals belong to no account; they are never cross-account callers.
  const bool cross_account =
      !key_account.empty() && !caller.account.empty() && caller.account != key_account;
  if (!cross_account && key.decision == Decision::kAllow) {
    return {AccessOutcome::kAllowedByKeyPolicy};
  }
  if (key.decision == Decision::kAllow || key.decision == Decision::kAllowViaAccount) {
    // Delegation to the account (or, across accounts, any key policy allow) still needs the
    // caller's own account to allow it.
    if (identity.allow) {
      return {key.decision == Decision::kAllow ? AccessOutcome::kAllowedByKeyPolicy
                                               : AccessOutcome::kAllowedByIdentityPolicy};
    }
  }
  if (grant_allows) {
    return {AccessOutcome::kAllowedByGrant};
  }
  return {key.decision == Decision::kNotApplicable ? AccessOutcome::kDeniedNoResourcePolicyAllows
                                                   : AccessOutcome::kDeniedNoIdentityPolicyAllows};
}

AccessDecision AuthorizeWithoutKeyPolicy(PolicyList identity_policies, const Request& request) {
  const internal::Caller caller = internal::AnalyzeCaller(request);
  const IdentityVerdict identity = EvaluateIdentityPolicies(identity_policies, caller, request);
  if (identity.deny) {
    return {AccessOutcome::kDeniedByIdentityPolicy};
  }
  return {identity.allow ? AccessOutcome::kAllowedByIdentityPolicy
                         : AccessOutcome::kDeniedNoIdentityPolicyAllows};
}

std::string AccessDeniedMessage(AccessOutcome outcome, const Request& request) {
  std::string message = "User: " + request.principal_arn +
                        " is not authorized to perform: " + request.action +
                        " on resource: " + request.resource;
  switch (outcome) {
    case AccessOutcome::kDeniedByKeyPolicy:
      return message + " with an explicit deny in a resource-based policy";
    case AccessOutcome::kDeniedByIdentityPolicy:
      return message + " with an explicit deny in an identity-based policy";
    case AccessOutcome::kDeniedNoIdentityPolicyAllows:
      return message + " because no identity-based policy allows the " + request.action + " action";
    case AccessOutcome::kDeniedNoResourcePolicyAllows:
      return message + " because no resource-based policy allows the " + request.action + " action";
    case AccessOutcome::kAllowedByKeyPolicy:
    case AccessOutcome::kAllowedByIdentityPolicy:
    case AccessOutcome::kAllowedByGrant:
      break;
  }
  return message;
}

void AddPrincipalConditionKeys(Request* request) {
  const internal::Caller caller = internal::AnalyzeCaller(*request);
  std::string account(caller.account);
  std::string arn(caller.arn);
  std::string type;
  std::string username;
  switch (caller.kind) {
    case internal::Caller::Kind::kRoot:
      type = "Account";
      break;
    case internal::Caller::Kind::kUser:
      type = "User";
      username = arn.substr(arn.rfind('/') + 1);
      break;
    case internal::Caller::Kind::kAssumedRole:
      type = "AssumedRole";
      // aws:PrincipalArn of a role session is the role's ARN.
      arn = "arn:" + std::string(caller.partition) + ":iam::" + account + ":role/" +
            std::string(caller.role_name);
      break;
    case internal::Caller::Kind::kFederatedUser:
      type = "FederatedUser";
      break;
    case internal::Caller::Kind::kService:
    case internal::Caller::Kind::kOther:
      break;
  }
  if (!arn.empty() && caller.kind != internal::Caller::Kind::kService) {
    request->conditions.Set("aws:PrincipalArn", {arn});
  }
  if (!account.empty()) {
    request->conditions.Set("aws:PrincipalAccount", {account});
  }
  if (!type.empty()) {
    request->conditions.Set("aws:PrincipalType", {type});
  }
  if (!username.empty()) {
    request->conditions.Set("aws:username", {username});
  }
}

}  // namespace scytale::policy

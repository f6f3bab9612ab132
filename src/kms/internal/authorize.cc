#include "kms/internal/authorize.h"

#include <algorithm>
#include <cctype>

#include "kms/internal/core.h"
#include "kms/internal/grant.h"

namespace scytale::kms::internal {
namespace {

constexpr size_t kPolicyCacheEntries = 10000;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string IsoTime(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Authorizer::Authorizer(storage::Store* store, std::shared_ptr<Clock> clock)
    : store_(store), clock_(std::move(clock)) {}

// Keyed by the policy's text: a compiled policy depends on nothing else, and keys with the same
// policy (every key with the default policy of one account) share one entry.
Result<Authorizer::CachedPolicy> Authorizer::Cached(const storage::KeyRow& key) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key.policy);
    if (it != cache_.end()) {
      return it->second;
    }
  }
  SCY_ASSIGN_OR_RETURN(auto compiled,
                       policy::CompiledPolicy::Compile(key.policy, policy::PolicyKind::kResource));
  CachedPolicy entry{std::move(compiled),
                     Lower(key.policy).find("kms:resourcealiases") != std::string::npos};
  std::lock_guard lock(mu_);
  if (cache_.size() >= kPolicyCacheEntries) {
    cache_.erase(cache_.begin());  // bounded; evicts one
  }
  cache_.emplace(key.policy, entry);
  return entry;
}

Result<std::shared_ptr<const policy::CompiledPolicy>> Authorizer::KeyPolicy(
    const storage::KeyRow& key) {
  SCY_ASSIGN_OR_RETURN(CachedPolicy entry, Cached(key));
  return entry.compiled;
}

policy::Request Authorizer::BaseRequest(const CallContext& ctx, const AuthRequest& req,
                                        const std::string& resource) const {
  policy::Request r;
  r.principal_arn = ctx.principal_arn;
  r.principal_account = ctx.account_id;
  r.action = std::string(req.action);
  r.resource = resource;
  policy::AddPrincipalConditionKeys(&r);
  auto& c = r.conditions;
  c.Set("kms:CallerAccount", {ctx.account_id});
  const int64_t now = clock_->NowSeconds();
  c.Set("aws:CurrentTime", {IsoTime(now)});
  c.Set("aws:EpochTime", {std::to_string(now)});
  c.Set("aws:SecureTransport", {ctx.secure_transport ? "true" : "false"});
  if (!ctx.source_ip.empty()) {
    c.Set("aws:SourceIp", {ctx.source_ip});
  }
  if (req.context != nullptr) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : *req.context) {
      c.Add("kms:EncryptionContext:" + k, v);
      keys.push_back(k);
    }
    c.Set("kms:EncryptionContextKeys", std::move(keys));
  }
  if (req.encryption_algorithm) {
    c.Set("kms:EncryptionAlgorithm", {*req.encryption_algorithm});
  }
  if (req.request_alias) {
    c.Set("kms:RequestAlias", {*req.request_alias});
  }
  if (req.signing_algorithm) {
    c.Set("kms:SigningAlgorithm", {*req.signing_algorithm});
  }
  if (req.message_type) {
    c.Set("kms:MessageType", {*req.message_type});
  }
  if (req.mac_algorithm) {
    c.Set("kms:MacAlgorithm", {*req.mac_algorithm});
  }
  if (req.key_pair_spec) {
    c.Set("kms:DataKeyPairSpec", {*req.key_pair_spec});
  }
  if (req.key_agreement_algorithm) {
    c.Set("kms:KeyAgreementAlgorithm", {*req.key_agreement_algorithm});
  }
  std::vector<std::string> tag_keys;
  if (req.request_tags != nullptr) {
    for (const Tag& t : *req.request_tags) {
      c.Set("aws:RequestTag/" + t.key, {t.value});
      tag_keys.push_back(t.key);
    }
  }
  if (req.tag_keys != nullptr) {
    tag_keys.insert(tag_keys.end(), req.tag_keys->begin(), req.tag_keys->end());
  }
  if (req.request_tags != nullptr || req.tag_keys != nullptr) {
    c.Set("aws:TagKeys", std::move(tag_keys));
  }
  if (req.pending_window_days) {
    c.Set("kms:ScheduleKeyDeletionPendingWindowInDays", {std::to_string(*req.pending_window_days)});
  }
  if (req.rotation_period_days) {
    c.Set("kms:RotationPeriodInDays", {std::to_string(*req.rotation_period_days)});
  }
  if (req.wrapping_algorithm) {
    c.Set("kms:WrappingAlgorithm", {*req.wrapping_algorithm});
  }
  if (req.wrapping_key_spec) {
    c.Set("kms:WrappingKeySpec", {*req.wrapping_key_spec});
  }
  if (req.expiration_model) {
    c.Set("kms:ExpirationModel", {*req.expiration_model});
  }
  if (req.valid_to) {
    c.Set("kms:ValidTo", {*req.valid_to});
  }
  if (req.new_grant != nullptr) {
    const CreateGrantRequest& g = *req.new_grant;
    c.Set("kms:GrantOperations", g.operations);
    c.Set("kms:GranteePrincipal", {g.grantee_principal});
    if (g.retiring_principal) {
      c.Set("kms:RetiringPrincipal", {*g.retiring_principal});
    }
    std::vector<std::string> types;
    if (g.constraints && g.constraints->encryption_context_equals) {
      types.push_back("EncryptionContextEquals");
    }
    if (g.constraints && g.constraints->encryption_context_subset) {
      types.push_back("EncryptionContextSubset");
    }
    if (!types.empty()) {
      c.Set("kms:GrantConstraintType", std::move(types));
    }
    c.Set("kms:GrantIsForAWSResource", {"false"});
  }
  return r;
}

Result<std::vector<std::shared_ptr<const policy::CompiledPolicy>>> Authorizer::IdentityPoliciesOf(
    const CallContext& ctx) {
  if (!identity_policies_) {
    return std::vector<std::shared_ptr<const policy::CompiledPolicy>>();
  }
  return identity_policies_(ctx);
}

Status Authorizer::Authorize(const CallContext& ctx, const storage::KeyRow& key,
                             const AuthRequest& req) {
  SCY_ASSIGN_OR_RETURN(CachedPolicy entry, Cached(key));
  policy::Request r = BaseRequest(ctx, req, Arn(key));
  SCY_RETURN_IF_ERROR(AddKeyConditionKeys(key, entry.uses_resource_aliases, &r));
  SCY_ASSIGN_OR_RETURN(auto identity, IdentityPoliciesOf(ctx));
  policy::AccessDecision decision =
      policy::AuthorizeKeyAccess(*entry.compiled, identity, /*grant_allows=*/false, r);
  if (!decision.allowed() && decision.outcome != policy::AccessOutcome::kDeniedByKeyPolicy &&
      decision.outcome != policy::AccessOutcome::kDeniedByIdentityPolicy) {
    SCY_ASSIGN_OR_RETURN(bool by_grant, GrantAllows(ctx, key, req, identity, r));
    if (by_grant) {
      decision = policy::AuthorizeKeyAccess(*entry.compiled, identity, /*grant_allows=*/true, r);
    }
  }
  if (!decision.allowed()) {
    return MakeError(ErrorCode::kAccessDenied, policy::AccessDeniedMessage(decision.outcome, r));
  }
  return Ok();
}

Result<bool> Authorizer::GrantAllows(const CallContext& ctx, const storage::KeyRow& key,
                                     const AuthRequest& req, policy::PolicyList identity,
                                     const policy::Request& r) {
  std::string_view op = req.action;
  if (!op.starts_with("kms:")) {
    return false;
  }
  op.remove_prefix(4);
  SCY_ASSIGN_OR_RETURN(auto grants, store_->ListGrants(key.key_id, {}, 0, kMaxGrantsPerKey));
  static const EncryptionContext kNoContext;
  for (const storage::GrantRow& g : grants) {
    const GrantPrincipalMatch match = MatchGrantPrincipal(g.grantee_principal, ctx.principal_arn);
    if (match == GrantPrincipalMatch::kNone) {
      continue;
    }
    const std::vector<std::string> ops = DecodeGrantOperations(g.operations);
    if (std::find(ops.begin(), ops.end(), op) == ops.end()) {
      continue;
    }
    const GrantConstraints constraints =
        DecodeGrantConstraints(g.constraints).value_or(GrantConstraints{});
    if (op == "CreateGrant") {
      // A grant that allows CreateGrant allows only narrower grants: a subset of its
      // operations, constraints at least as strict.
      if (req.new_grant == nullptr) {
        continue;
      }
      const auto& child_ops = req.new_grant->operations;
      const bool subset = std::all_of(child_ops.begin(), child_ops.end(), [&](const auto& o) {
        return std::find(ops.begin(), ops.end(), o) != ops.end();
      });
      if (!subset || !GrantConstraintsAtLeastAsStrict(
                         req.new_grant->constraints.value_or(GrantConstraints{}), constraints)) {
        continue;
      }
    } else if (op != "DescribeKey" && op != "RetireGrant" && !constraints.empty() &&
               !GrantConstraintsAllow(constraints,
                                      req.context != nullptr ? *req.context : kNoContext)) {
      continue;
    }
    if (match == GrantPrincipalMatch::kViaAccount &&
        !policy::AuthorizeWithoutKeyPolicy(identity, r).allowed()) {
      continue;
    }
    return true;
  }
  return false;
}

bool Authorizer::IdentityPoliciesAllow(const CallContext& ctx, const storage::KeyRow& key,
                                       std::string_view action) {
  policy::Request r = BaseRequest(ctx, {.action = action}, Arn(key));
  if (!AddKeyConditionKeys(key, /*with_aliases=*/true, &r)) {
    return false;
  }
  auto identity = IdentityPoliciesOf(ctx);
  if (!identity) {
    return false;
  }
  return policy::AuthorizeWithoutKeyPolicy(*identity, r).allowed();
}

Status Authorizer::AddKeyConditionKeys(const storage::KeyRow& key, bool with_aliases,
                                       policy::Request* request) {
  auto& c = request->conditions;
  c.Set("kms:KeySpec", {key.key_spec});
  c.Set("kms:KeyUsage", {key.key_usage});
  c.Set("kms:KeyOrigin", {key.origin});
  c.Set("kms:KeyManager", {key.key_manager});
  c.Set("kms:MultiRegion", {key.multi_region ? "true" : "false"});
  for (const auto& [k, v] : key.tags) {
    c.Set("aws:ResourceTag/" + k, {v});
  }
  if (with_aliases) {
    SCY_ASSIGN_OR_RETURN(auto aliases,
                         store_->ListAliases(key.account_id, key.region, key.key_id, "", 100));
    std::vector<std::string> names;
    for (const auto& a : aliases) {
      names.push_back(a.alias_name);
    }
    c.Set("kms:ResourceAliases", std::move(names));
  }
  return Ok();
}

bool Authorizer::AllowsPutKeyPolicy(const CallContext& ctx, const storage::KeyRow& key,
                                    const policy::CompiledPolicy& new_policy) {
  policy::Request r = BaseRequest(ctx, {.action = "kms:PutKeyPolicy"}, Arn(key));
  if (!AddKeyConditionKeys(key, /*with_aliases=*/true, &r)) {
    return false;
  }
  auto identity = IdentityPoliciesOf(ctx);
  if (!identity) {
    return false;
  }
  return policy::AuthorizeKeyAccess(new_policy, *identity, /*grant_allows=*/false, r).allowed();
}

Status Authorizer::AuthorizeWithoutKey(const CallContext& ctx, const AuthRequest& req) {
  policy::Request r = BaseRequest(ctx, req, "*");
  SCY_ASSIGN_OR_RETURN(auto identity, IdentityPoliciesOf(ctx));
  policy::AccessDecision decision = policy::AuthorizeWithoutKeyPolicy(identity, r);
  if (!decision.allowed()) {
    return MakeError(ErrorCode::kAccessDenied, policy::AccessDeniedMessage(decision.outcome, r));
  }
  return Ok();
}

}  // namespace scytale::kms::internal

// Key policies: PutKeyPolicy, GetKeyPolicy, ListKeyPolicies, and the checks a new key policy
// passes on CreateKey and PutKeyPolicy.
#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr const char* kDefaultPolicyName = "default";
// AWS's key policy quota: 32 KB (the service model allows 131072 characters).
constexpr size_t kMaxKeyPolicyBytes = 32768;

Status CheckPolicyName(const std::optional<std::string>& name) {
  if (name && *name != kDefaultPolicyName) {
    return MakeError(ErrorCode::kNotFound,
                     "No such policy exists: a key has one key policy, named \"default\".");
  }
  return Ok();
}

}  // namespace

Status CheckNewKeyPolicy(Core& core, const CallContext& ctx, const storage::KeyRow& key,
                         const std::string& policy, bool bypass_lockout_check) {
  if (policy.size() > kMaxKeyPolicyBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "The key policy is larger than the quota of 32 KB.");
  }
  SCY_ASSIGN_OR_RETURN(auto compiled,
                       policy::CompiledPolicy::Compile(policy, policy::PolicyKind::kResource));
  if (bypass_lockout_check) {
    return Ok();
  }
  // The lockout safety check: the caller must still be able to put a key policy afterwards.
  if (!core.authorizer().AllowsPutKeyPolicy(ctx, key, *compiled)) {
    return MakeError(ErrorCode::kMalformedPolicyDocument,
                     "The new key policy will not allow you to update the key policy in the "
                     "future.");
  }
  return Ok();
}

Status PutKeyPolicy(Core& core, const CallContext& ctx, const std::string& key_id,
                    const std::string& policy, const std::optional<std::string>& name,
                    bool bypass_lockout_check) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, core.ResolveKeyIdOrArn(ctx, key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, row, {.action = "kms:PutKeyPolicy"}));
  SCY_RETURN_IF_ERROR(CheckPolicyName(name));
  SCY_RETURN_IF_ERROR(CheckKeyState("PutKeyPolicy", row));
  SCY_RETURN_IF_ERROR(CheckNewKeyPolicy(core, ctx, row, policy, bypass_lockout_check));
  SCY_RETURN_IF_ERROR(core.UpdateKey(row, [&](storage::KeyRow& r) -> Status {
    r.policy = policy;
    return Ok();
  }));
  return Ok();
}

Result<KeyPolicyResponse> GetKeyPolicy(Core& core, const CallContext& ctx,
                                       const std::string& key_id,
                                       const std::optional<std::string>& name) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, core.ResolveKeyIdOrArn(ctx, key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, row, {.action = "kms:GetKeyPolicy"}));
  SCY_RETURN_IF_ERROR(CheckPolicyName(name));
  return KeyPolicyResponse{row.policy, kDefaultPolicyName};
}

Result<ListKeyPoliciesResponse> ListKeyPolicies(Core& core, const CallContext& ctx,
                                                const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, core.ResolveKeyIdOrArn(ctx, key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, row, {.action = "kms:ListKeyPolicies"}));
  return ListKeyPoliciesResponse{{kDefaultPolicyName}, false};
}

}  // namespace scytale::kms::internal

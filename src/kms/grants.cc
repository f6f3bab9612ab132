// Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant. Grants are
// enforced in authorization (internal/authorize.cc); this file manages them.
#include <algorithm>
#include <charconv>

#include "kms/internal/grant.h"
#include "kms/internal/key_id.h"
#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr int kDefaultGrantLimit = 50;
constexpr int kMaxGrantLimit = 100;
constexpr size_t kMaxConstraintPairs = 8;
constexpr size_t kMaxConstraintValueChars = 384;

// A grantee or retiring principal must be a principal ARN that exists: IAM users and roles
// (and the roles of sessions) are looked up, as AWS does (InvalidArnException otherwise).
Status CheckGrantPrincipal(Core& core, const std::string& principal, const char* member) {
  auto invalid = [&] {
    return MakeError(ErrorCode::kInvalidArn,
                     std::string(member) + " " + principal + " is not a valid principal.");
  };
  std::optional<PrincipalArn> p = ParsePrincipalArn(principal);
  if (!p) {
    return invalid();
  }
  if (p->kind == "user") {
    SCY_ASSIGN_OR_RETURN(auto user, core.store()->GetUser(p->account, p->name));
    if (!user) {
      return invalid();
    }
  } else if (p->kind == "role" || p->kind == "assumed-role") {
    SCY_ASSIGN_OR_RETURN(auto role, core.store()->GetRole(p->account, p->name));
    if (!role) {
      return invalid();
    }
  }
  return Ok();
}

Status CheckConstraints(const std::optional<GrantConstraints>& constraints,
                        const storage::KeyRow& key) {
  if (!constraints || constraints->empty()) {
    return Ok();
  }
  if (key.key_spec != kSymmetricDefault) {
    return MakeError(ErrorCode::kValidation,
                     "Grant constraints are supported only for symmetric encryption KMS keys.");
  }
  for (const auto* context : {&constraints->encryption_context_equals,
                              &constraints->encryption_context_subset}) {
    if (!*context) {
      continue;
    }
    if ((*context)->size() > kMaxConstraintPairs) {
      return MakeError(ErrorCode::kValidation,
                       "A grant constraint can contain at most 8 encryption context pairs.");
    }
    for (const auto& [k, v] : **context) {
      if (CodePoints(v) > kMaxConstraintValueChars) {
        return MakeError(ErrorCode::kValidation,
                         "A grant constraint value can be at most 384 characters long.");
      }
    }
  }
  return Ok();
}

// The encryption context a CreateGrant request shows kms:EncryptionContext:* conditions:
// the pairs of its constraints.
EncryptionContext ConstraintContext(const std::optional<GrantConstraints>& constraints) {
  EncryptionContext out;
  if (constraints) {
    for (const auto* context : {&constraints->encryption_context_equals,
                                &constraints->encryption_context_subset}) {
      if (*context) {
        out.insert((*context)->begin(), (*context)->end());
      }
    }
  }
  return out;
}

GrantListEntry Entry(const storage::GrantRow& g) {
  GrantListEntry e;
  e.key_arn = KeyArn(g.key_region, g.key_account_id, g.key_id);
  e.grant_id = g.grant_id;
  e.name = g.name;
  e.creation_date = g.creation_date;
  e.grantee_principal = g.grantee_principal;
  e.retiring_principal = g.retiring_principal;
  e.issuing_account = g.issuing_account;
  e.operations = DecodeGrantOperations(g.operations);
  e.constraints = DecodeGrantConstraints(g.constraints);
  return e;
}

Result<int64_t> AfterSeq(const std::optional<std::string>& marker) {
  if (!marker) {
    return 0;
  }
  auto position = ParseMarker(*marker);
  int64_t seq = 0;
  if (!position || std::from_chars(position->data(), position->data() + position->size(), seq)
                           .ec != std::errc()) {
    return MakeError(ErrorCode::kInvalidMarker, "Invalid marker: " + *marker);
  }
  return seq;
}

ListGrantsResponse Page(std::vector<storage::GrantRow> rows, size_t limit) {
  ListGrantsResponse out;
  out.truncated = rows.size() > limit;
  if (out.truncated) {
    rows.resize(limit);
    out.next_marker = MakeMarker(std::to_string(rows.back().seq));
  }
  for (const auto& g : rows) {
    out.grants.push_back(Entry(g));
  }
  return out;
}

size_t Limit(const std::optional<int>& limit) {
  // AWS takes Limit 1..100 here although the shape allows 1000.
  return static_cast<size_t>(std::clamp(limit.value_or(kDefaultGrantLimit), 1, kMaxGrantLimit));
}

Status CheckGrantId(const std::string& grant_id) {
  if (!IsGrantId(grant_id)) {
    return MakeError(ErrorCode::kInvalidGrantId, "Invalid grant ID: " + grant_id.substr(0, 128));
  }
  return Ok();
}

Error GrantNotFound(const std::string& grant_id) {
  return MakeError(ErrorCode::kNotFound, "Grant ID " + grant_id + " not found");
}

}  // namespace

Result<CreateGrantResponse> CreateGrant(Core& core, const CallContext& ctx,
                                        const CreateGrantRequest& req) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKeyIdOrArn(ctx, req.key_id));
  if (req.operations.empty()) {
    return MakeError(ErrorCode::kValidation, "Grants must contain at least one operation.");
  }
  if (std::all_of(req.operations.begin(), req.operations.end(),
                  [](const std::string& op) { return op == "CreateGrant"; })) {
    return MakeError(ErrorCode::kValidation,
                     "Grants must not contain only the CreateGrant operation.");
  }
  for (const std::string& op : req.operations) {
    if (!GrantOperationSuitsKey(op, key)) {
      return MakeError(ErrorCode::kValidation,
                       "Grant operation " + op + " is not valid for a KMS key with KeySpec " +
                           key.key_spec + " and KeyUsage " + key.key_usage + ".");
    }
  }
  SCY_RETURN_IF_ERROR(CheckConstraints(req.constraints, key));
  SCY_RETURN_IF_ERROR(CheckGrantPrincipal(core, req.grantee_principal, "GranteePrincipal"));
  if (req.retiring_principal) {
    SCY_RETURN_IF_ERROR(
        CheckGrantPrincipal(core, *req.retiring_principal, "RetiringPrincipal"));
  }
  const EncryptionContext context = ConstraintContext(req.constraints);
  SCY_RETURN_IF_ERROR(core.Authorize(
      ctx, key, {.action = "kms:CreateGrant", .context = &context, .new_grant = &req}));
  SCY_RETURN_IF_ERROR(CheckKeyState("CreateGrant", key));
  if (req.dry_run) {
    return DryRunSucceeded();
  }
  storage::GrantRow row;
  SCY_ASSIGN_OR_RETURN(row.grant_id, NewGrantId());
  row.key_id = key.key_id;
  row.name = req.name.value_or("");
  row.grantee_principal = req.grantee_principal;
  row.retiring_principal = req.retiring_principal.value_or("");
  row.issuing_account = "arn:aws:iam::" + ctx.account_id + ":root";
  row.operations = EncodeGrantOperations(req.operations);
  row.constraints = EncodeGrantConstraints(req.constraints);
  row.creation_date = core.clock().NowSeconds();
  SCY_ASSIGN_OR_RETURN(std::string grant_id, core.store()->InsertGrant(row, kMaxGrantsPerKey));
  CreateGrantResponse out;
  out.grant_id = grant_id;
  SCY_ASSIGN_OR_RETURN(out.grant_token, MakeGrantToken(Arn(key), grant_id));
  return out;
}

Result<ListGrantsResponse> ListGrants(Core& core, const CallContext& ctx,
                                      const ListGrantsRequest& req) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKeyIdOrArn(ctx, req.key_id));
  if (req.grant_id) {
    SCY_RETURN_IF_ERROR(CheckGrantId(*req.grant_id));
  }
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key, {.action = "kms:ListGrants"}));
  SCY_RETURN_IF_ERROR(CheckKeyState("ListGrants", key));
  SCY_ASSIGN_OR_RETURN(int64_t after, AfterSeq(req.marker));
  const size_t limit = Limit(req.limit);
  SCY_ASSIGN_OR_RETURN(
      auto rows, core.store()->ListGrants(key.key_id,
                                          {.grant_id = req.grant_id,
                                           .grantee_principal = req.grantee_principal},
                                          after, limit + 1));
  return Page(std::move(rows), limit);
}

Result<ListGrantsResponse> ListRetirableGrants(Core& core, const CallContext& ctx,
                                               const ListRetirableGrantsRequest& req) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:ListRetirableGrants"}));
  std::optional<PrincipalArn> p = ParsePrincipalArn(req.retiring_principal);
  if (!p) {
    return MakeError(ErrorCode::kInvalidArn,
                     "RetiringPrincipal " + req.retiring_principal + " is not a valid principal.");
  }
  if (p->account != ctx.account_id) {
    return MakeError(ErrorCode::kAccessDenied,
                     "The retiring principal must be in the caller's account.");
  }
  SCY_ASSIGN_OR_RETURN(int64_t after, AfterSeq(req.marker));
  const size_t limit = Limit(req.limit);
  SCY_ASSIGN_OR_RETURN(auto rows, core.store()->ListRetirableGrants(req.retiring_principal,
                                                                    after, limit + 1));
  return Page(std::move(rows), limit);
}

Status RetireGrant(Core& core, const CallContext& ctx, const RetireGrantRequest& req) {
  std::string key_arn;
  std::string grant_id;
  if (req.grant_token) {
    SCY_ASSIGN_OR_RETURN(GrantTokenRef ref, ParseGrantToken(*req.grant_token));
    key_arn = ref.key_arn;
    grant_id = ref.grant_id;
  } else if (req.key_id && req.grant_id) {
    key_arn = *req.key_id;
    grant_id = *req.grant_id;
  } else {
    return MakeError(ErrorCode::kValidation,
                     "Either GrantToken, or both KeyId and GrantId, must be specified.");
  }
  SCY_RETURN_IF_ERROR(CheckGrantId(grant_id));
  // The key may be another account's (a retiring principal may be anywhere): look it up where
  // its ARN says.
  SCY_ASSIGN_OR_RETURN(KeyRef ref, ParseKeyRef(key_arn, ctx));
  if (ref.is_alias) {
    return MakeError(ErrorCode::kInvalidArn, "Key aliases are not supported for this operation.");
  }
  SCY_ASSIGN_OR_RETURN(auto key, core.GetKey(ref.account_id, ref.region, ref.id));
  if (!key) {
    return MakeError(ErrorCode::kNotFound,
                     "Key '" + KeyArn(ref.region, ref.account_id, ref.id) + "' does not exist");
  }
  SCY_ASSIGN_OR_RETURN(auto grant, core.store()->GetGrant(key->key_id, grant_id));
  if (!grant) {
    return GrantNotFound(grant_id);
  }
  // Who may retire: the retiring principal; the grantee when the grant allows RetireGrant; the
  // account that created the grant (its root, or its principals that IAM allows).
  bool allowed = MatchGrantPrincipal(grant->retiring_principal, ctx.principal_arn) ==
                 GrantPrincipalMatch::kDirect;
  if (!allowed) {
    const auto ops = DecodeGrantOperations(grant->operations);
    allowed = std::find(ops.begin(), ops.end(), "RetireGrant") != ops.end() &&
              MatchGrantPrincipal(grant->grantee_principal, ctx.principal_arn) ==
                  GrantPrincipalMatch::kDirect;
  }
  if (!allowed && grant->issuing_account == "arn:aws:iam::" + ctx.account_id + ":root") {
    allowed = core.authorizer().IdentityPoliciesAllow(ctx, *key, "kms:RetireGrant");
  }
  if (!allowed) {
    return MakeError(ErrorCode::kAccessDenied,
                     "User: " + ctx.principal_arn +
                         " is not authorized to perform: kms:RetireGrant on resource: " +
                         Arn(*key) + " because it is neither the grant's retiring principal, " +
                         "nor its grantee with the RetireGrant operation, nor allowed by the " +
                         "account that created it");
  }
  if (req.dry_run) {
    return DryRunSucceeded();
  }
  Status deleted = core.store()->DeleteGrant(key->key_id, grant_id);
  if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
    return GrantNotFound(grant_id);
  }
  return deleted;
}

Status RevokeGrant(Core& core, const CallContext& ctx, const std::string& key_id,
                   const std::string& grant_id, bool dry_run) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKeyIdOrArn(ctx, key_id));
  SCY_RETURN_IF_ERROR(CheckGrantId(grant_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key, {.action = "kms:RevokeGrant"}));
  SCY_RETURN_IF_ERROR(CheckKeyState("RevokeGrant", key));
  SCY_ASSIGN_OR_RETURN(auto grant, core.store()->GetGrant(key.key_id, grant_id));
  if (!grant) {
    return GrantNotFound(grant_id);
  }
  if (dry_run) {
    return DryRunSucceeded();
  }
  Status deleted = core.store()->DeleteGrant(key.key_id, grant_id);
  if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
    return GrantNotFound(grant_id);
  }
  return deleted;
}

}  // namespace scytale::kms::internal

namespace scytale::kms {

Status CheckGrantToken(std::string_view token) {
  SCY_RETURN_IF_ERROR(internal::ParseGrantToken(token));
  return Ok();
}

}  // namespace scytale::kms

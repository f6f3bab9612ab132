// CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
#include <algorithm>


#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr size_t kMaxAliasesPerKey = 50;
constexpr int kDefaultAliasLimit = 50;
constexpr int kMaxAliasLimit = 100;
constexpr std::string_view kPrefix = "alias/";
constexpr std::string_view kReservedPrefix = "alias/aws/";

std::string AliasArn(const CallContext& ctx, const std::string& alias_name) {
  return "arn:aws:kms:" + ctx.region + ":" + ctx.account_id + ":" + alias_name;
}

// The kind of key an alias may move between: same type and same usage (UpdateAlias).
std::string KeyKind(const storage::KeyRow& row) {
  std::string type = row.key_spec == kSymmetricDefault  ? "symmetric"
                     : row.key_spec.starts_with("HMAC") ? "HMAC"
                                                        : "asymmetric";
  return type + " " + row.key_usage;
}

}  // namespace

// The alias/ prefix and a name after it (the characters are the service model's pattern).
Status CheckAliasNameShape(const std::string& alias_name) {
  if (!alias_name.starts_with(kPrefix)) {
    return MakeError(ErrorCode::kValidation, "Alias must start with the prefix \"alias/\".");
  }
  if (alias_name.size() == kPrefix.size()) {
    return MakeError(ErrorCode::kValidation, "Alias name must not be empty after \"alias/\".");
  }
  // The service model's AliasNameType: 1..256 characters of [a-zA-Z0-9:/_-]. The API layer
  // checks it too; seeding calls the service directly.
  bool allowed = alias_name.size() <= 256 &&
                 std::all_of(alias_name.begin(), alias_name.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '/' ||
                          c == '_' || c == '-';
                 });
  if (!allowed) {
    return MakeError(ErrorCode::kValidation,
                     "Alias names are at most 256 characters of a-z, A-Z, 0-9, ':', '/', '_' "
                     "and '-'.");
  }
  return Ok();
}

// AWS managed keys own the alias/aws/ names.
Status CheckNotReserved(const std::string& alias_name) {
  if (alias_name.starts_with(kReservedPrefix)) {
    return MakeError(ErrorCode::kInvalidAliasName,
                     "Alias names that begin with \"alias/aws/\" are reserved for AWS managed "
                     "keys.");
  }
  return Ok();
}

Status CheckAliasName(const std::string& alias_name) {
  SCY_RETURN_IF_ERROR(CheckAliasNameShape(alias_name));
  return CheckNotReserved(alias_name);
}

Status CreateAlias(Core& core, const CallContext& ctx, const std::string& alias_name,
                   const std::string& target_key_id) {
  SCY_RETURN_IF_ERROR(CheckAliasName(alias_name));
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKeyIdOrArn(ctx, target_key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key, {.action = "kms:CreateAlias"}));
  SCY_RETURN_IF_ERROR(CheckKeyState("CreateAlias", key));
  const int64_t now = core.clock().NowSeconds();
  // The store counts the key's aliases in the insert's transaction: concurrent calls, on this
  // node or others, cannot all pass a count of 49.
  Status inserted = core.store()->InsertAlias(
      {ctx.account_id, ctx.region, alias_name, key.key_id, now, now}, kMaxAliasesPerKey);
  if (!inserted && inserted.error().code == ErrorCode::kAlreadyExists) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "An alias with the name " + AliasArn(ctx, alias_name) + " already exists");
  }
  return inserted;
}

Status UpdateAlias(Core& core, const CallContext& ctx, const std::string& alias_name,
                   const std::string& target_key_id) {
  SCY_RETURN_IF_ERROR(CheckAliasName(alias_name));
  SCY_ASSIGN_OR_RETURN(auto alias, core.store()->GetAlias(ctx.account_id, ctx.region, alias_name));
  if (!alias) {
    return MakeError(ErrorCode::kNotFound, "Alias " + AliasArn(ctx, alias_name) + " is not found.");
  }
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKeyIdOrArn(ctx, target_key_id));
  SCY_ASSIGN_OR_RETURN(auto current,
                       core.GetKey(ctx.account_id, ctx.region, alias->target_key_id));
  // The caller needs kms:UpdateAlias on the key the alias leaves and on the one it moves to.
  if (current) {
    SCY_RETURN_IF_ERROR(core.Authorize(ctx, *current, {.action = "kms:UpdateAlias"}));
  }
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key, {.action = "kms:UpdateAlias"}));
  // Only the new target's state matters: an alias may leave a key pending deletion.
  SCY_RETURN_IF_ERROR(CheckKeyState("UpdateAlias", key));
  if (current && KeyKind(*current) != KeyKind(key)) {
    return MakeError(ErrorCode::kValidation,
                     "The new target key of " + AliasArn(ctx, alias_name) + " (" + KeyKind(key) +
                         ") must be of the same type and key usage as the current one (" +
                         KeyKind(*current) + ").");
  }
  alias->target_key_id = key.key_id;
  alias->last_updated_date = core.clock().NowSeconds();
  return core.store()->UpdateAlias(*alias, kMaxAliasesPerKey);  // the quota is counted there
}

Status DeleteAlias(Core& core, const CallContext& ctx, const std::string& alias_name) {
  SCY_RETURN_IF_ERROR(CheckAliasName(alias_name));
  SCY_ASSIGN_OR_RETURN(auto alias, core.store()->GetAlias(ctx.account_id, ctx.region, alias_name));
  if (alias) {
    SCY_ASSIGN_OR_RETURN(auto key,
                         core.GetKey(ctx.account_id, ctx.region, alias->target_key_id));
    if (key) {
      SCY_RETURN_IF_ERROR(core.Authorize(ctx, *key, {.action = "kms:DeleteAlias"}));
    }
  }
  Status deleted = core.store()->DeleteAlias(ctx.account_id, ctx.region, alias_name);
  if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
    return MakeError(ErrorCode::kNotFound, "Alias " + AliasArn(ctx, alias_name) + " is not found.");
  }
  return deleted;
}

Result<ListAliasesResponse> ListAliases(Core& core, const CallContext& ctx,
                                        const ListAliasesRequest& req) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:ListAliases"}));
  std::optional<std::string> key_id;
  if (req.key_id) {
    SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKeyIdOrArn(ctx, *req.key_id));
    key_id = key.key_id;
  }
  // AWS takes Limit 1..100 here although the shape allows 1000; it may return fewer.
  size_t limit =
      static_cast<size_t>(std::clamp(req.limit.value_or(kDefaultAliasLimit), 1, kMaxAliasLimit));
  std::string after;
  if (req.marker) {
    auto position = ParseMarker(*req.marker);
    if (!position) {
      return MakeError(ErrorCode::kInvalidMarker, "Invalid marker: " + *req.marker);
    }
    after = *position;
  }
  SCY_ASSIGN_OR_RETURN(auto rows, core.store()->ListAliases(ctx.account_id, ctx.region, key_id,
                                                            after, limit + 1));
  ListAliasesResponse out;
  out.truncated = rows.size() > limit;
  if (out.truncated) {
    rows.resize(limit);
    out.next_marker = MakeMarker(rows.back().alias_name);
  }
  for (const auto& a : rows) {
    out.aliases.push_back({a.alias_name, AliasArn(ctx, a.alias_name), a.target_key_id,
                           a.creation_date, a.last_updated_date});
  }
  return out;
}

}  // namespace scytale::kms::internal

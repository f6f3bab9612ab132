// CreateKey, DescribeKey, ListKeys.
#include "common/ids.h"
#include "kms/internal/custom_key_stores.h"
#include "kms/internal/key_spec.h"
#include "kms/internal/ops.h"

namespace scytale::kms {

std::string KeyArn(const std::string& region, const std::string& account_id,
                   const std::string& key_id) {
  return "arn:aws:kms:" + region + ":" + account_id + ":key/" + key_id;
}

Status CheckRootUnwrapsKeyVersion(keystore::RootKeystore& root, const storage::KeyRow& key,
                                  const storage::KeyVersionRow& version) {
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes material,
                       root.Unwrap(version.wrapped_material,
                                   internal::BackingKeyAad(internal::Arn(key),
                                                           version.version_id)));
  return Ok();
}

namespace internal {
namespace {

constexpr int kDefaultListLimit = 100;

std::optional<int64_t> ParseSeq(const std::string& position) {
  if (position.empty() || position.size() > 18) {
    return std::nullopt;
  }
  int64_t v = 0;
  for (char c : position) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

Result<KeyMetadata> CreateKey(Core& core, const CallContext& ctx, const CreateKeyRequest& req) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(
      ctx, {.action = "kms:CreateKey", .request_tags = &req.tags}));
  if (!req.tags.empty()) {
    SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(
        ctx, {.action = "kms:TagResource", .request_tags = &req.tags}));
  }
  if (req.key_spec && req.customer_master_key_spec) {
    return MakeError(ErrorCode::kValidation,
                     "You cannot specify KeySpec and CustomerMasterKeySpec in the same "
                     "request. CustomerMasterKeySpec is deprecated.");
  }
  std::string spec =
      req.key_spec.value_or(req.customer_master_key_spec.value_or(kSymmetricDefault));
  std::string origin = req.origin.value_or("AWS_KMS");
  std::string usage = req.key_usage.value_or("ENCRYPT_DECRYPT");
  const bool in_custom_key_store = req.custom_key_store_id || origin == kCloudHsmOrigin;
  if (in_custom_key_store) {
    SCY_RETURN_IF_ERROR(CheckKeyInCustomKeyStore(core, ctx, req, origin, spec, usage));
  } else if (origin != "AWS_KMS" && origin != "EXTERNAL") {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "Origin " + origin + " is not supported by this server yet.");
  }
  const bool external = origin == "EXTERNAL";
  if (external && req.material_for_seeding) {
    return MakeError(ErrorCode::kValidation,
                     "A key with EXTERNAL origin gets its material by ImportKeyMaterial.");
  }
  SCY_RETURN_IF_ERROR(CheckSpecAndUsage(spec, usage));
  if (req.material_for_seeding && spec != kSymmetricDefault) {
    return MakeError(ErrorCode::kValidation, "Seeded material is for symmetric keys only.");
  }
  if (req.multi_region) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "Multi-Region keys are not supported by this server.");
  }
  SCY_RETURN_IF_ERROR(CheckTags(req.tags));
  std::string policy = req.policy.value_or(DefaultKeyPolicy(ctx.account_id));
  storage::KeyRow row;
  row.key_id = req.key_id_for_seeding.value_or(NewUuid());

  row.account_id = ctx.account_id;
  row.region = ctx.region;
  row.description = req.description.value_or("");
  row.key_spec = spec;
  row.key_usage = usage;
  row.origin = origin;
  row.key_manager = "CUSTOMER";
  // A key for imported material has none until ImportKeyMaterial.
  row.key_state = external ? "PendingImport" : "Enabled";
  row.creation_date = core.clock().NowSeconds();
  row.policy = std::move(policy);
  for (const auto& t : req.tags) {
    row.tags.emplace_back(t.key, t.value);
  }
  if (req.policy) {
    SCY_RETURN_IF_ERROR(
        CheckNewKeyPolicy(core, ctx, row, *req.policy, req.bypass_policy_lockout_safety_check));
  }
  if (in_custom_key_store) {
    row.custom_key_store_id = *req.custom_key_store_id;
    return InsertKeyInCustomKeyStore(core, std::move(row));
  }
  std::optional<storage::KeyVersionRow> version;
  if (!external) {
    SCY_ASSIGN_OR_RETURN(version, core.NewBackingVersion(row, "", req.material_for_seeding
                                                                      ? &*req.material_for_seeding
                                                                      : nullptr));
  }
  SCY_RETURN_IF_ERROR(core.store()->InsertKey(row, version));
  return core.Metadata(row);
}

Result<KeyMetadata> DescribeKey(Core& core, const CallContext& ctx, const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, core.ResolveKey(ctx, key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(
      ctx, row, {.action = "kms:DescribeKey", .request_alias = RequestAlias(key_id)}));
  return core.Metadata(row);
}

Result<ListKeysResponse> ListKeys(Core& core, const CallContext& ctx, const ListKeysRequest& req) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:ListKeys"}));
  int limit = req.limit.value_or(kDefaultListLimit);
  int64_t after = 0;
  if (req.marker) {
    auto position = ParseMarker(*req.marker);
    auto seq = position ? ParseSeq(*position) : std::nullopt;
    if (!seq) {
      return MakeError(ErrorCode::kInvalidMarker, "Invalid marker: " + *req.marker);
    }
    after = *seq;
  }
  SCY_ASSIGN_OR_RETURN(auto rows, core.store()->ListKeys(ctx.account_id, ctx.region, after,
                                                         static_cast<size_t>(limit) + 1));
  ListKeysResponse out;
  out.truncated = rows.size() > static_cast<size_t>(limit);
  if (out.truncated) {
    rows.resize(static_cast<size_t>(limit));
    out.next_marker = MakeMarker(std::to_string(rows.back().seq));
  }
  for (const auto& r : rows) {
    out.keys.push_back({r.key_id, Arn(r)});
  }
  return out;
}

}  // namespace internal
}  // namespace scytale::kms

// Key rotation: automatic (EnableKeyRotation, background) and on demand. A rotation adds a
// backing key version; new ciphertexts use it; old ones name their version and still decrypt.
#include <algorithm>

#include <mutex>

#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr int kDefaultRotationPeriodDays = 365;
constexpr int kMaxOnDemandRotations = 25;
constexpr int kDefaultRotationsLimit = 100;
constexpr int64_t kSecondsPerDay = 86400;
constexpr int kAddVersionAttempts = 5;

// Rotation exists only for symmetric keys whose material KMS made (AWS_KMS origin).
Status CheckRotatable(const storage::KeyRow& row) {
  if (row.key_spec != kSymmetricDefault || row.origin != "AWS_KMS") {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     Arn(row) + " does not support key rotation: only symmetric encryption keys "
                                "with AWS_KMS origin rotate.");
  }
  return Ok();
}

Result<storage::KeyRow> RotatableKey(Core& core, const CallContext& ctx,
                                     const std::string& key_id, std::string_view operation,
                                     AuthRequest auth = {}) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, core.ResolveKeyIdOrArn(ctx, key_id));
  std::string action = "kms:" + std::string(operation);
  auth.action = action;
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, row, auth));
  SCY_RETURN_IF_ERROR(CheckRotatable(row));
  SCY_RETURN_IF_ERROR(CheckKeyState(operation, row));
  return row;
}

// Adds a backing version and applies `mutate` to the key in one transaction, retrying when
// another writer changed the key first.
Status AddVersion(Core& core, storage::KeyRow row, const std::string& rotation_type,
                  const std::function<Status(storage::KeyRow&)>& mutate) {
  auto lock = core.LockKeyWrites(row.key_id);
  for (int attempt = 0;; ++attempt) {
    SCY_RETURN_IF_ERROR(mutate(row));
    SCY_ASSIGN_OR_RETURN(storage::KeyVersionRow version,
                         core.NewBackingVersion(row, rotation_type));
    Status added = core.store()->AddKeyVersion(row, version);
    if (added) {
      return Ok();
    }
    if (added.error().code != ErrorCode::kConflict || attempt + 1 == kAddVersionAttempts) {
      return added;
    }
    SCY_ASSIGN_OR_RETURN(auto fresh, core.GetKey(row.account_id, row.region, row.key_id));
    if (!fresh) {
      return MakeError(ErrorCode::kNotFound, "Key '" + Arn(row) + "' does not exist");
    }
    row = std::move(*fresh);
  }
}

}  // namespace

Status EnableKeyRotation(Core& core, const CallContext& ctx, const std::string& key_id,
                         std::optional<int> period_days) {
  const int period = period_days.value_or(kDefaultRotationPeriodDays);
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row,
                       RotatableKey(core, ctx, key_id, "EnableKeyRotation",
                                    {.rotation_period_days = period}));
  if (period < 90 || period > 2560) {
    return MakeError(ErrorCode::kValidation,
                     "1 validation error detected: Value '" + std::to_string(period) +
                         "' at 'rotationPeriodInDays' failed to satisfy constraint: Member must "
                         "have value between 90 and 2560");
  }
  const int64_t now = core.clock().NowSeconds();
  SCY_RETURN_IF_ERROR(core.UpdateKey(row, [&](storage::KeyRow& r) -> Status {
    SCY_RETURN_IF_ERROR(CheckKeyState("EnableKeyRotation", r));
    r.rotation_enabled = true;
    r.rotation_period_days = period;
    // The first automatic rotation comes one period after rotation is enabled.
    r.next_rotation_date = now + period * kSecondsPerDay;
    return Ok();
  }));
  return Ok();
}

Status DisableKeyRotation(Core& core, const CallContext& ctx, const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row,
                       RotatableKey(core, ctx, key_id, "DisableKeyRotation"));
  SCY_RETURN_IF_ERROR(core.UpdateKey(row, [&](storage::KeyRow& r) -> Status {
    SCY_RETURN_IF_ERROR(CheckKeyState("DisableKeyRotation", r));
    r.rotation_enabled = false;
    r.next_rotation_date.reset();
    return Ok();
  }));
  return Ok();
}

Result<KeyRotationStatus> GetKeyRotationStatus(Core& core, const CallContext& ctx,
                                               const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row,
                       RotatableKey(core, ctx, key_id, "GetKeyRotationStatus"));
  KeyRotationStatus out;
  out.key_arn = Arn(row);
  // A key pending deletion reads as not rotating; cancelling the deletion restores it.
  out.key_rotation_enabled = row.rotation_enabled && row.key_state != "PendingDeletion" &&
                             row.key_state != "PendingReplicaDeletion";
  if (out.key_rotation_enabled) {
    out.rotation_period_in_days = row.rotation_period_days;
    out.next_rotation_date = row.next_rotation_date;
  }
  return out;
}

Result<std::string> RotateKeyOnDemand(Core& core, const CallContext& ctx,
                                      const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row,
                       RotatableKey(core, ctx, key_id, "RotateKeyOnDemand"));
  // The quota is counted on the row each attempt writes against: AddKeyVersion succeeds only if
  // the key's revision is unchanged, and every rotation bumps it, so two concurrent rotations
  // cannot both pass a count of 24. On-demand rotations are rare; one at a time in this process
  // keeps concurrent callers from exhausting the optimistic retries.
  static std::mutex on_demand_mu;
  std::lock_guard lock(on_demand_mu);
  // The automatic schedule is left as it is.
  SCY_RETURN_IF_ERROR(AddVersion(core, row, "ON_DEMAND", [&core](storage::KeyRow& r) -> Status {
    SCY_RETURN_IF_ERROR(CheckKeyState("RotateKeyOnDemand", r));
    SCY_ASSIGN_OR_RETURN(auto versions, core.store()->ListKeyVersions(r.key_id));
    auto on_demand = std::count_if(versions.begin(), versions.end(),
                                   [](const auto& v) { return v.rotation_type == "ON_DEMAND"; });
    if (on_demand >= kMaxOnDemandRotations) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "The on-demand rotation quota of " +
                           std::to_string(kMaxOnDemandRotations) + " rotations for " + Arn(r) +
                           " has been reached.");
    }
    return Ok();
  }));
  return Arn(row);
}

Result<ListKeyRotationsResponse> ListKeyRotations(Core& core, const CallContext& ctx,
                                                  const ListKeyRotationsRequest& req) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row,
                       RotatableKey(core, ctx, req.key_id, "ListKeyRotations"));
  const bool all = req.include_key_material.value_or("ROTATIONS_ONLY") == "ALL_KEY_MATERIAL";
  size_t limit = static_cast<size_t>(std::clamp(req.limit.value_or(kDefaultRotationsLimit), 1, 1000));
  size_t start = 0;
  if (req.marker) {
    auto position = ParseMarker(*req.marker);
    if (!position || position->empty() || position->size() > 9 ||
        !std::all_of(position->begin(), position->end(), ::isdigit)) {
      return MakeError(ErrorCode::kInvalidMarker, "Invalid marker: " + *req.marker);
    }
    start = std::stoul(*position);
  }
  SCY_ASSIGN_OR_RETURN(auto versions, core.store()->ListKeyVersions(row.key_id));
  std::vector<RotationEntry> entries;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (!all && versions[i].rotation_type.empty()) {
      continue;  // the key's first material is not a rotation
    }
    entries.push_back({row.key_id, versions[i].version_id, versions[i].created_at,
                       versions[i].rotation_type,
                       i + 1 == versions.size() ? "CURRENT" : "NON_CURRENT"});
  }
  ListKeyRotationsResponse out;
  for (size_t i = start; i < entries.size(); ++i) {
    if (out.rotations.size() == limit) {
      out.truncated = true;
      out.next_marker = MakeMarker(std::to_string(i));
      break;
    }
    out.rotations.push_back(entries[i]);
  }
  return out;
}

Status RotateDueKeys(Core& core, std::vector<std::string>* out_rotated_arns) {
  const int64_t now = core.clock().NowSeconds();
  SCY_ASSIGN_OR_RETURN(auto due, core.store()->ListKeysDueForRotation(now));
  for (const storage::KeyRow& row : due) {
    // A disabled key is not rotated; once enabled again, its overdue rotation happens.
    if (row.key_state != "Enabled" || CheckRotatable(row).has_value() == false) {
      continue;
    }
    Status added = AddVersion(core, row, "AUTOMATIC", [now](storage::KeyRow& r) -> Status {
      if (!r.rotation_enabled || !r.next_rotation_date || *r.next_rotation_date > now ||
          r.key_state != "Enabled") {
        return MakeError(ErrorCode::kConflict, "no longer due");  // another node rotated it
      }
      r.next_rotation_date = now + int64_t{r.rotation_period_days} * kSecondsPerDay;
      return Ok();
    });
    if (added) {
      out_rotated_arns->push_back(Arn(row));
    } else if (added.error().code != ErrorCode::kConflict &&
               added.error().code != ErrorCode::kNotFound) {
      return added.error();
    }
  }
  return Ok();
}

}  // namespace scytale::kms::internal

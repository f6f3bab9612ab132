// Key states, deletion, description and tags.
#include <algorithm>

#include "kms/internal/custom_key_stores.h"
#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr int kMinPendingWindowDays = 7;
constexpr int kMaxPendingWindowDays = 30;
constexpr int kDefaultPendingWindowDays = 30;
constexpr int kMaxTagsListed = 50;
constexpr int64_t kSecondsPerDay = 86400;

// Resolves a management operation's KeyId, authorizes kms:<operation> on it and checks the
// key state table.
Result<storage::KeyRow> KeyFor(Core& core, const CallContext& ctx, const std::string& key_id,
                               std::string_view operation, AuthRequest auth = {}) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, core.ResolveKeyIdOrArn(ctx, key_id));
  std::string action = "kms:" + std::string(operation);
  auth.action = action;
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, row, auth));
  SCY_RETURN_IF_ERROR(CheckKeyState(operation, row));
  return row;
}

}  // namespace

Status EnableKey(Core& core, const CallContext& ctx, const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, KeyFor(core, ctx, key_id, "EnableKey"));
  SCY_RETURN_IF_ERROR(core.UpdateKey(row, [](storage::KeyRow& r) -> Status {
    SCY_RETURN_IF_ERROR(CheckKeyState("EnableKey", r));
    r.key_state = "Enabled";
    return Ok();
  }));
  return Ok();
}

Status DisableKey(Core& core, const CallContext& ctx, const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, KeyFor(core, ctx, key_id, "DisableKey"));
  SCY_RETURN_IF_ERROR(core.UpdateKey(row, [](storage::KeyRow& r) -> Status {
    SCY_RETURN_IF_ERROR(CheckKeyState("DisableKey", r));
    r.key_state = "Disabled";
    return Ok();
  }));
  return Ok();
}

Result<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(Core& core, const CallContext& ctx,
                                                        const std::string& key_id,
                                                        std::optional<int> window_days) {
  int window = window_days.value_or(kDefaultPendingWindowDays);
  if (window < kMinPendingWindowDays || window > kMaxPendingWindowDays) {
    // The service model allows 1..365; the service itself takes 7..30.
    return MakeError(ErrorCode::kValidation,
                     "1 validation error detected: Value '" + std::to_string(window) +
                         "' at 'pendingWindowInDays' failed to satisfy constraint: Member must "
                         "have value " +
                         (window < kMinPendingWindowDays ? "greater than or equal to 7"
                                                         : "less than or equal to 30"));
  }
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row,
                       KeyFor(core, ctx, key_id, "ScheduleKeyDeletion",
                              {.pending_window_days = window}));
  const int64_t deletion_date = core.clock().NowSeconds() + window * kSecondsPerDay;
  SCY_ASSIGN_OR_RETURN(storage::KeyRow written,
                       core.UpdateKey(row, [&](storage::KeyRow& r) -> Status {
                         SCY_RETURN_IF_ERROR(CheckKeyState("ScheduleKeyDeletion", r));
                         r.key_state = "PendingDeletion";
                         r.deletion_date = deletion_date;
                         r.pending_window_days = window;
                         return Ok();
                       }));
  return ScheduleKeyDeletionResponse{Arn(written), deletion_date, written.key_state, window};
}

Result<std::string> CancelKeyDeletion(Core& core, const CallContext& ctx,
                                      const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, KeyFor(core, ctx, key_id, "CancelKeyDeletion"));
  // A key whose imported material was deleted (or never came) goes back to waiting for it.
  bool has_material = true;
  if (row.origin == "EXTERNAL") {
    SCY_ASSIGN_OR_RETURN(has_material, HasImportedMaterial(core, row));
  }
  SCY_ASSIGN_OR_RETURN(storage::KeyRow written,
                       core.UpdateKey(row, [&](storage::KeyRow& r) -> Status {
                         SCY_RETURN_IF_ERROR(CheckKeyState("CancelKeyDeletion", r));
                         // AWS leaves a cancelled key Disabled, not in its earlier state.
                         r.key_state = has_material ? "Disabled" : "PendingImport";
                         r.deletion_date.reset();
                         r.pending_window_days = 0;
                         return Ok();
                       }));
  return Arn(written);
}

Status UpdateKeyDescription(Core& core, const CallContext& ctx, const std::string& key_id,
                            const std::string& description) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, KeyFor(core, ctx, key_id, "UpdateKeyDescription"));
  SCY_RETURN_IF_ERROR(core.UpdateKey(row, [&](storage::KeyRow& r) -> Status {
    SCY_RETURN_IF_ERROR(CheckKeyState("UpdateKeyDescription", r));
    r.description = description;
    return Ok();
  }));
  return Ok();
}

Status TagResource(Core& core, const CallContext& ctx, const std::string& key_id,
                   const std::vector<Tag>& tags) {
  SCY_RETURN_IF_ERROR(CheckTags(tags));
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row,
                       KeyFor(core, ctx, key_id, "TagResource", {.request_tags = &tags}));
  SCY_RETURN_IF_ERROR(core.UpdateKey(row, [&](storage::KeyRow& r) -> Status {
    SCY_RETURN_IF_ERROR(CheckKeyState("TagResource", r));
    for (const Tag& t : tags) {
      auto it = std::find_if(r.tags.begin(), r.tags.end(),
                             [&](const auto& existing) { return existing.first == t.key; });
      if (it != r.tags.end()) {
        it->second = t.value;  // an existing key's value is replaced
      } else {
        r.tags.emplace_back(t.key, t.value);
      }
    }
    if (r.tags.size() > kMaxTagsPerKey) {
      return MakeError(ErrorCode::kLimitExceeded,
                       "A KMS key can have at most " + std::to_string(kMaxTagsPerKey) + " tags.");
    }
    return Ok();
  }));
  return Ok();
}

Status UntagResource(Core& core, const CallContext& ctx, const std::string& key_id,
                     const std::vector<std::string>& tag_keys) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row,
                       KeyFor(core, ctx, key_id, "UntagResource", {.tag_keys = &tag_keys}));
  SCY_RETURN_IF_ERROR(core.UpdateKey(row, [&](storage::KeyRow& r) -> Status {
    SCY_RETURN_IF_ERROR(CheckKeyState("UntagResource", r));
    std::erase_if(r.tags, [&](const auto& t) {
      return std::find(tag_keys.begin(), tag_keys.end(), t.first) != tag_keys.end();
    });
    return Ok();
  }));
  return Ok();
}

Result<ListResourceTagsResponse> ListResourceTags(Core& core, const CallContext& ctx,
                                                  const ListResourceTagsRequest& req) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow row, KeyFor(core, ctx, req.key_id, "ListResourceTags"));
  // AWS takes Limit 1..50 here although the shape allows 1000; it may return fewer.
  size_t limit =
      static_cast<size_t>(std::clamp(req.limit.value_or(kMaxTagsListed), 1, kMaxTagsListed));
  std::string after;
  if (req.marker) {
    auto position = ParseMarker(*req.marker);
    if (!position) {
      return MakeError(ErrorCode::kInvalidMarker, "Invalid marker: " + *req.marker);
    }
    after = *position;
  }
  std::sort(row.tags.begin(), row.tags.end());
  ListResourceTagsResponse out;
  for (const auto& [k, v] : row.tags) {
    if (req.marker && k <= after) {
      continue;
    }
    if (out.tags.size() == limit) {
      out.truncated = true;
      out.next_marker = MakeMarker(out.tags.back().key);
      break;
    }
    out.tags.push_back({k, v});
  }
  return out;
}

Status DeleteDueKeys(Core& core, std::vector<std::string>* out_deleted_arns) {
  SCY_ASSIGN_OR_RETURN(auto due, core.store()->ListKeysDueForDeletion(core.clock().NowSeconds()));
  for (const storage::KeyRow& row : due) {
    if (row.key_state != "PendingDeletion") {
      continue;
    }
    Status gone = core.store()->DeleteKey(row.key_id);
    core.cache().Invalidate(row.key_id);
    if (gone) {
      if (!row.custom_key_store_id.empty()) {
        DestroyCustomKeyStoreMaterial(core, row);
      }
      out_deleted_arns->push_back(Arn(row));
    } else if (gone.error().code != ErrorCode::kNotFound) {
      return gone.error();  // another node may have deleted it first: that is fine
    }
  }
  return Ok();
}

}  // namespace scytale::kms::internal

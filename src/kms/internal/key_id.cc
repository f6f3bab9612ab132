#include "kms/internal/key_id.h"

#include <vector>

#include "common/ids.h"

namespace scytale::kms::internal {

Result<KeyRef> ParseKeyRef(const std::string& key_id, const CallContext& ctx) {
  if (key_id.starts_with("alias/")) {
    return KeyRef{true, ctx.account_id, ctx.region, key_id};
  }
  if (key_id.starts_with("arn:")) {
    // arn:<partition>:kms:<region>:<account>:<resource>
    std::vector<std::string> parts;
    size_t start = 0;
    for (int i = 0; i < 5; ++i) {
      size_t colon = key_id.find(':', start);
      if (colon == std::string::npos) {
        return MakeError(ErrorCode::kNotFound, "Invalid arn");
      }
      parts.push_back(key_id.substr(start, colon - start));
      start = colon + 1;
    }
    std::string resource = key_id.substr(start);
    if (parts[1].empty() || parts[2] != "kms" || parts[3].empty() || parts[4].size() != 12) {
      return MakeError(ErrorCode::kNotFound, "Invalid arn");
    }
    if (resource.starts_with("key/") && IsUuid(resource.substr(4))) {
      return KeyRef{false, parts[4], parts[3], resource.substr(4)};
    }
    if (resource.starts_with("alias/") && resource.size() > 6) {
      return KeyRef{true, parts[4], parts[3], resource};
    }
    return MakeError(ErrorCode::kNotFound, "Invalid arn");
  }
  if (IsUuid(key_id)) {
    return KeyRef{false, ctx.account_id, ctx.region, key_id};
  }
  return MakeError(ErrorCode::kNotFound, "Invalid keyId '" + key_id + "'");
}

}  // namespace scytale::kms::internal

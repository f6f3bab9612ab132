#include "kms/internal/key_id.h"

#include <vector>

#include "common/ids.h"

namespace scytale::kms::internal {

Result<KeyRef> ParseArn(const std::string& arn) {
  // arn:<partition>:kms:<region>:<account>:<resource>
  std::vector<std::string> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string::npos) {
      return MakeError(ErrorCode::kNotFound, "Invalid arn");
    }
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  std::string resource = arn.substr(start);
  if (parts[0] != "arn" || parts[1] != "aws" || parts[2] != "kms" || parts[3].empty() ||
      parts[4].size() != 12) {
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

Result<KeyRef> ParseKeyRef(const std::string& key_id, const CallContext& ctx) {
  if (key_id.starts_with("alias/")) {
    return KeyRef{true, ctx.account_id, ctx.region, key_id};
  }
  if (key_id.starts_with("arn:")) {
    SCY_ASSIGN_OR_RETURN(KeyRef ref, ParseArn(key_id));
    // Regions are separate: an ARN of another region names nothing here (AWS: "Invalid arn").
    if (ref.region != ctx.region) {
      return MakeError(ErrorCode::kNotFound, "Invalid arn " + ref.region);
    }
    return ref;
  }
  if (IsUuid(key_id)) {
    return KeyRef{false, ctx.account_id, ctx.region, key_id};
  }
  return MakeError(ErrorCode::kNotFound, "Invalid keyId '" + key_id + "'");
}

}  // namespace scytale::kms::internal

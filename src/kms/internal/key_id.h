// Parsing of the KeyId member: key id, key ARN, alias name or alias ARN.
#pragma once

#include <string>

#include "common/result.h"
#include "kms/kms.h"

namespace scytale::kms::internal {

struct KeyRef {
  bool is_alias = false;
  std::string account_id;
  std::string region;
  std::string id;  // the key id (UUID), or the alias name with its "alias/" prefix
};

// Resolves the form of `key_id` against the caller's account and region. A key ARN of another
// region is looked up in that region (and so is not found). kNotFound for anything that is not
// one of the four forms, with AWS's messages ("Invalid arn", "Invalid keyId ...").
Result<KeyRef> ParseKeyRef(const std::string& key_id, const CallContext& ctx);

}  // namespace scytale::kms::internal

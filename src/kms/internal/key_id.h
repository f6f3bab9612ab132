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

// Resolves the form of `key_id` against the caller's account and region. An ARN of another
// partition or region is kNotFound ("Invalid arn ..."), as is anything that is not one of the
// four forms ("Invalid keyId ..."). An ARN of another account is returned as such; the caller
// decides (cross-account use needs the key policy's consent).
Result<KeyRef> ParseKeyRef(const std::string& key_id, const CallContext& ctx);

// Parses a key or alias ARN of the aws partition, whatever its region and account.
Result<KeyRef> ParseArn(const std::string& arn);

}  // namespace scytale::kms::internal

// Helpers shared by Identities and IamService; not for other modules.
#pragma once

#include <string>
#include <string_view>

#include "common/encoding.h"

namespace scytale::iam::internal {

// The AAD that binds a wrapped access key secret to its key id, so that a wrapped secret
// cannot be moved to another key's row.
inline Bytes WrapAad(const std::string& access_key_id) {
  std::string aad = "scytale:access-key:" + access_key_id;
  return Bytes(aad.begin(), aad.end());
}

// `prefix` followed by `length` random characters of the base32 alphabet [A-Z2-7], the shape of
// AWS access key ids (AKIA/ASIA) and unique ids (AIDA/AROA).
std::string RandomBase32Id(std::string_view prefix, size_t length);

}  // namespace scytale::iam::internal

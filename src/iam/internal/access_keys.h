// Helpers shared by Identities and IamService; not for other modules.
#pragma once

#include <string>
#include <string_view>

#include "common/encoding.h"
#include "crypto/crypto.h"

namespace scytale::iam::internal {

// The AAD that binds a wrapped access key secret to its key id, so that a wrapped secret
// cannot be moved to another key's row.
inline Bytes WrapAad(const std::string& access_key_id) {
  std::string aad = "scytale:access-key:" + access_key_id;
  return Bytes(aad.begin(), aad.end());
}

// What the store keeps of a role session's token: its SHA-256, lowercase hex. The token is
// handed to the caller once (AssumeRole) and never stored; SigV4 verification hashes the token
// a request presents and compares the digests (auth::Credential::session_token_sha256).
inline std::string SessionTokenDigest(std::string_view session_token) {
  return HexEncode(crypto::Sha256(AsBytes(session_token)));
}

// True for what SessionTokenDigest returns: 64 lowercase hex digits. Rows written before
// tokens were stored as digests hold the token itself, and fail this.
inline bool IsSessionTokenDigest(std::string_view text) {
  if (text.size() != 64) {
    return false;
  }
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// `prefix` followed by `length` random characters of the base32 alphabet [A-Z2-7], the shape of
// AWS access key ids (AKIA/ASIA) and unique ids (AIDA/AROA).
std::string RandomBase32Id(std::string_view prefix, size_t length);

}  // namespace scytale::iam::internal

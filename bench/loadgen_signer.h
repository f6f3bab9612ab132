// The load generator's side of SigV4: signs `POST /` KMS JSON 1.1 requests as botocore does
// (signed headers content-type, host, x-amz-date, x-amz-target and, with temporary credentials,
// x-amz-security-token) and writes them out as complete HTTP/1.1 requests, ready to be sent as
// they are and replayed: a signed request stays valid for the 5 minutes of clock skew the
// server allows (auth/internal/sigv4_internal.h, kMaxClockSkewSeconds).
//
// Key derivation, dates and the canonical URI are the server's own helpers (auth/internal);
// only the assembly of the canonical request and string to sign is repeated here, because the
// verifier builds them inline (see the report of the loadgen branch).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "crypto/crypto.h"

namespace scytale::loadgen {

struct SigningCredentials {
  std::string access_key_id;
  crypto::SecretBytes secret_access_key;
  std::string session_token;  // empty for long-term credentials
};

// Not thread-safe: each thread that signs keeps its own signer (the derived key is cached
// per date).
class RequestSigner {
 public:
  RequestSigner(SigningCredentials credentials, std::string region);

  // The headers of a signed KMS request, lowercase names, Authorization included. `host` is
  // the Host header as sent ("127.0.0.1:8080"); `target` the X-Amz-Target value
  // ("TrentService.Encrypt"); `now` seconds since the epoch.
  std::map<std::string, std::string> SignKmsRequest(std::string_view host, std::string_view target,
                                                    std::string_view body, int64_t now);

  // SignKmsRequest's headers, plus Content-Length, as the bytes of one HTTP/1.1 keep-alive
  // request.
  std::string SignedKmsRequestBytes(std::string_view host, std::string_view target,
                                    std::string_view body, int64_t now);

 private:
  const crypto::SecretBytes& SigningKey(const std::string& date);

  SigningCredentials credentials_;
  std::string region_;
  std::string key_date_;
  crypto::SecretBytes signing_key_;
};

}  // namespace scytale::loadgen

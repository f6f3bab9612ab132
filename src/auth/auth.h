// auth/: AWS Signature Version 4 verification of incoming requests.
//
// Verifies exactly what AWS verifies for a JSON-protocol service: the Authorization header's
// shape, the credential scope (date matches X-Amz-Date, the service, aws4_request, a served
// region), the request time within 5 minutes of now, the signed headers (host and x-amz-date
// required), x-amz-content-sha256 when present, the session token of temporary credentials
// (its SHA-256 against the credential's), and the signature, compared in constant time.
// Derived signing keys are cached per (access key, date, region, service).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/crypto.h"

namespace scytale::auth {

// The parts of an HTTP request that SigV4 covers. Header names are lowercase; a header sent
// several times appears once with its values joined by ",".
struct RequestView {
  std::string_view method;  // "POST"
  std::string_view target;  // request-target as sent: path plus optional "?query"
  const std::multimap<std::string, std::string>* headers = nullptr;
  std::string_view body;
};

// What an access key id resolves to.
struct Credential {
  std::string access_key_id;
  std::string account_id;
  std::string principal_arn;  // arn:aws:iam::<account>:root, a user, or an assumed role
  crypto::SecretBytes secret_access_key;
  // Temporary credentials: the SHA-256 of their session token, lowercase hex (64 characters),
  // so that no store needs the token itself. Empty for long-term credentials.
  std::string session_token_sha256;
};

// Resolves an access key id. kUnrecognizedClient when unknown; other errors pass through.
// Must be thread-safe.
using CredentialLookup = std::function<Result<Credential>(std::string_view access_key_id)>;

// Decides whether a region named in a credential scope is served. Must be thread-safe.
using RegionPolicy = std::function<bool(std::string_view region)>;

// Who signed the request, and for where.
struct Identity {
  std::string access_key_id;
  std::string account_id;
  std::string principal_arn;
  std::string region;
  std::string service;  // signing name from the scope: "kms", later "iam", "sts"
};

class SigV4Verifier {
 public:
  // `services` lists the signing names accepted in the scope (e.g. {"kms"}).
  static std::unique_ptr<SigV4Verifier> Create(CredentialLookup lookup, RegionPolicy regions,
                                               std::shared_ptr<Clock> clock,
                                               std::vector<std::string> services);
  virtual ~SigV4Verifier() = default;

  // Returns the identity, or one of kMissingAuthenticationToken, kIncompleteSignature,
  // kInvalidSignature (also "Signature expired: ..."), kUnrecognizedClient, with AWS's message.
  // Thread-safe.
  virtual Result<Identity> Verify(const RequestView& request) = 0;
};

}  // namespace scytale::auth

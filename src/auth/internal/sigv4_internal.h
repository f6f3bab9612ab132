// auth/internal: the pieces of SigV4 verification, exposed for auth's own tests only.
// No other module includes this header.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/auth.h"
#include "common/result.h"
#include "crypto/crypto.h"

namespace scytale::auth::internal {

// Clock skew AWS JSON services (KMS included) accept either side of X-Amz-Date.
inline constexpr int64_t kMaxClockSkewSeconds = int64_t{5} * 60;
// Longest X-Amz-Expires a presigned request may carry (one week, as AWS allows).
inline constexpr int64_t kMaxPresignExpiresSeconds = int64_t{7} * 24 * 60 * 60;
// Derived signing keys kept before the least recently used one is dropped.
inline constexpr size_t kDefaultSigningKeyCacheCapacity = 10000;

// "yyyymmddTHHMMSSZ" (ISO 8601 basic, UTC) <-> seconds since the epoch. Parsing is strict:
// exactly 16 characters and a real calendar date and time.
std::optional<int64_t> ParseAmzDate(std::string_view text);
std::string FormatAmzDate(int64_t epoch_seconds);
// RFC 7231 IMF-fixdate, the form HTTP's Date header takes: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<int64_t> ParseHttpDate(std::string_view text);

// RFC 3986 percent-encoding of every byte except the unreserved set (A-Z a-z 0-9 - _ . ~),
// and '/' too when keep_slash. Hex digits are uppercase, as SigV4 requires.
std::string UriEncode(std::string_view bytes, bool keep_slash);

// The canonical URI of a non-S3 service: the path as received (already percent-encoded once
// by the client) with dot segments and empty segments removed, then percent-encoded again.
// This is botocore's SigV4Auth._normalize_url_path and AWS's "encode each segment twice".
std::string CanonicalUri(std::string_view raw_path);

struct QueryParam {
  std::string name;   // decoded
  std::string value;  // decoded
};
// Splits a raw query string ("a=1&b=x%20y") into decoded parameters, in order. Empty pieces
// ("a=1&&b=2") are skipped; "flag" without '=' has an empty value.
std::vector<QueryParam> ParseQuery(std::string_view raw_query);
// Re-encodes each name and value, sorts by encoded name and then encoded value, and joins them
// with '&'. Parameters named `omit_name` (X-Amz-Signature for presigned requests) are left out.
std::string CanonicalQueryString(const std::vector<QueryParam>& params,
                                 std::string_view omit_name = {});

// SigV4's Trimall: strips leading and trailing whitespace and collapses inner runs to one space.
std::string TrimAll(std::string_view value);

// The three parameters of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct AuthorizationHeader {
  std::string credential;      // AKID/yyyymmdd/region/service/aws4_request
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string signature;       // 64 lowercase hex digits when well formed
};
// kIncompleteSignature, with AWS's wording, when the algorithm is not AWS4-HMAC-SHA256, a
// component lacks '=', or Credential, Signature or SignedHeaders is missing. `has_date` says
// whether the request carries X-Amz-Date or Date; AWS lists that requirement in the same
// message. Messages quote the header with its Signature value redacted.
Result<AuthorizationHeader> ParseAuthorizationHeader(std::string_view header, bool has_date);

// The quoted text of a header for an error message: the Signature value replaced, non-printable
// bytes replaced with '?', and the whole cut to a bounded length.
std::string RedactForMessage(std::string_view text);

// The SigV4 signing key: HMAC chain over "AWS4"+secret, date, region, service, "aws4_request".
crypto::SecretBytes DeriveSigningKey(const crypto::SecretBytes& secret, std::string_view date,
                                     std::string_view region, std::string_view service);

// Derived signing keys by (access key id, date, region, service), least recently used evicted
// first. Each entry remembers a SHA-256 of the secret it came from, so a rotated secret for
// the same access key is never served a stale key. Thread-safe.
class SigningKeyCache {
 public:
  using SecretFingerprint = std::array<uint8_t, 32>;
  struct Stats {
    size_t hits = 0;
    size_t misses = 0;
    size_t size = 0;
  };

  explicit SigningKeyCache(size_t capacity) : capacity_(capacity) {}

  // A copy of the cached key, or nullopt when absent or derived from another secret.
  std::optional<crypto::SecretBytes> Find(const std::string& key,
                                          const SecretFingerprint& fingerprint);
  void Insert(const std::string& key, const SecretFingerprint& fingerprint,
              crypto::SecretBytes signing_key);
  Stats GetStats() const;

 private:
  struct Entry {
    SecretFingerprint fingerprint;
    crypto::SecretBytes signing_key;
    std::list<std::string>::iterator lru_position;
  };

  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // front: most recently used
  std::unordered_map<std::string, Entry> entries_;
  size_t hits_ = 0;
  size_t misses_ = 0;
};

// The verifier behind SigV4Verifier::Create, with the cache capacity and statistics exposed
// for tests.
class SigV4VerifierImpl : public SigV4Verifier {
 public:
  SigV4VerifierImpl(CredentialLookup lookup, RegionPolicy regions, std::shared_ptr<Clock> clock,
                    std::vector<std::string> services,
                    size_t cache_capacity = kDefaultSigningKeyCacheCapacity);

  Result<Identity> Verify(const RequestView& request) override;

  SigningKeyCache::Stats CacheStats() const { return cache_.GetStats(); }

 private:
  CredentialLookup lookup_;
  RegionPolicy regions_;
  std::shared_ptr<Clock> clock_;
  std::vector<std::string> services_;
  SigningKeyCache cache_;
};

}  // namespace scytale::auth::internal

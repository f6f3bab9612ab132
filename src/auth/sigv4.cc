// AWS Signature Version 4 verification, as AWS JSON-protocol services (KMS) perform it.
//
// References: AWS "Create a canonical request for Signature Version 4", the aws-sig-v4 test
// suite, and botocore's SigV4Auth / SigV4QueryAuth (auth.py), which the AWS CLI signs with.
// Error wording copies what AWS returns (kms-semantics.md §2), because SDKs and scripts match
// on it. No message carries a secret, an expected signature or the string to sign.
#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "auth/auth.h"
#include "auth/internal/sigv4_internal.h"
#include "common/encoding.h"

namespace scytale::auth {
namespace internal {
namespace {

using HeaderMap = std::multimap<std::string, std::string>;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr size_t kMaxQuotedLength = 512;

constexpr char kMissingTokenMessage[] = "Missing Authentication Token";
constexpr char kInvalidTokenMessage[] = "The security token included in the request is invalid.";
constexpr char kSignatureMismatchMessage[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr char kContentSha256MismatchMessage[] =
    "The provided 'x-amz-content-sha256' header does not match what was computed.";
constexpr char kQueryParamsRequiredMessage[] =
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";

Error Incomplete(std::string message) {
  return MakeError(ErrorCode::kIncompleteSignature, std::move(message));
}
Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidSignature, std::move(message));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whitespace as botocore's str.split() and the JS SDK's /\s+/ see it in a header value.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Parses exactly `s.size()` decimal digits.
std::optional<int> ParseFixedDigits(std::string_view s) {
  int value = 0;
  for (char c : s) {
    if (!IsDigit(c)) {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

std::optional<int64_t> ToEpochSeconds(int year, int month, int day, int hour, int minute,
                                      int second) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  using std::chrono::sys_days;
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const int64_t midnight = duration_cast<seconds>(sys_days{ymd}.time_since_epoch()).count();
  return midnight + int64_t{hour} * 3600 + int64_t{minute} * 60 + second;
}

// Every value of a header (names are lowercase), each as sent, joined by ','.
std::optional<std::string> RawHeader(const HeaderMap& headers, const std::string& name) {
  auto [begin, end] = headers.equal_range(name);
  if (begin == end) {
    return std::nullopt;
  }
  std::string out;
  for (auto it = begin; it != end; ++it) {
    if (it != begin) {
      out += ',';
    }
    out += it->second;
  }
  return out;
}

// The canonical value of a header: each value trimmed and collapsed, then joined by ','.
std::optional<std::string> CanonicalHeaderValue(const HeaderMap& headers, const std::string& name) {
  auto [begin, end] = headers.equal_range(name);
  if (begin == end) {
    return std::nullopt;
  }
  std::string out;
  for (auto it = begin; it != end; ++it) {
    if (it != begin) {
      out += ',';
    }
    out += TrimAll(it->second);
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char separator) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(separator, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// The request-target split into raw path and raw query. An absolute-form target
// ("http://host/path?q", RFC 9112 §3.2.2) is reduced to its path and query first.
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() &&
        ToLower(target.substr(0, scheme.size())) == std::string(scheme)) {
      target.remove_prefix(scheme.size());
      const size_t path_start = target.find_first_of("/?");
      target =
          path_start == std::string_view::npos ? std::string_view() : target.substr(path_start);
      break;
    }
  }
  if (const size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  const size_t question = target.find('?');
  if (question == std::string_view::npos) {
    return {target, {}};
  }
  return {target.substr(0, question), target.substr(question + 1)};
}

// The one value of a query parameter; an error when it appears more than once.
Result<std::optional<std::string>> SingleParam(const std::vector<QueryParam>& params,
                                               std::string_view name) {
  std::optional<std::string> found;
  for (const QueryParam& p : params) {
    if (p.name == name) {
      if (found.has_value()) {
        return Incomplete("Query-string parameter '" + std::string(name) +
                          "' may appear only once.");
      }
      found = p.value;
    }
  }
  return found;
}

// What either form of SigV4 (Authorization header or presigned query) supplies.
struct SignatureInput {
  std::string credential;
  std::string signed_headers;
  std::string signature;
  std::string amz_date;  // the timestamp as it goes into the string to sign
  int64_t request_time = 0;
  std::string date_header;         // "x-amz-date" or "date", which must be signed; presign: ""
  std::optional<int64_t> expires;  // X-Amz-Expires of a presigned request
  std::string security_token;      // empty when absent
  bool presigned = false;
};

Result<int64_t> ParseRequestAmzDate(std::string_view text) {
  std::optional<int64_t> t = ParseAmzDate(text);
  if (!t.has_value()) {
    return Incomplete("Date must be in ISO-8601 'basic format'. Got '" + RedactForMessage(text) +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  return *t;
}

Result<SignatureInput> FromAuthorizationHeader(const HeaderMap& headers,
                                               std::string_view authorization) {
  const std::optional<std::string> amz_date = RawHeader(headers, "x-amz-date");
  const std::optional<std::string> http_date = RawHeader(headers, "date");
  SCY_ASSIGN_OR_RETURN(
      AuthorizationHeader parsed,
      ParseAuthorizationHeader(authorization, amz_date.has_value() || http_date.has_value()));

  SignatureInput in;
  in.credential = std::move(parsed.credential);
  in.signed_headers = std::move(parsed.signed_headers);
  in.signature = std::move(parsed.signature);
  if (amz_date.has_value()) {
    // X-Amz-Date wins over Date when both are present (AWS "Handling dates in SigV4").
    const std::string_view text = TrimSpaces(*amz_date);
    SCY_ASSIGN_OR_RETURN(in.request_time, ParseRequestAmzDate(text));
    in.amz_date = std::string(text);
    in.date_header = "x-amz-date";
  } else {
    std::optional<int64_t> t = ParseHttpDate(TrimSpaces(*http_date));
    if (!t.has_value()) {
      return Incomplete(
          "Date header must be an RFC 7231 IMF-fixdate such as 'Sun, 06 Nov 1994 "
          "08:49:37 GMT'. Got '" +
          RedactForMessage(*http_date) + "'.");
    }
    in.request_time = *t;
    in.amz_date = FormatAmzDate(*t);
    in.date_header = "date";
  }
  if (std::optional<std::string> token = RawHeader(headers, "x-amz-security-token")) {
    in.security_token = std::string(TrimSpaces(*token));
  }
  return in;
}

Result<SignatureInput> FromPresignedQuery(const std::vector<QueryParam>& params) {
  SCY_ASSIGN_OR_RETURN(std::optional<std::string> algorithm,
                       SingleParam(params, "X-Amz-Algorithm"));
  SCY_ASSIGN_OR_RETURN(std::optional<std::string> credential,
                       SingleParam(params, "X-Amz-Credential"));
  SCY_ASSIGN_OR_RETURN(std::optional<std::string> signature,
                       SingleParam(params, "X-Amz-Signature"));
  SCY_ASSIGN_OR_RETURN(std::optional<std::string> date, SingleParam(params, "X-Amz-Date"));
  SCY_ASSIGN_OR_RETURN(std::optional<std::string> signed_headers,
                       SingleParam(params, "X-Amz-SignedHeaders"));
  SCY_ASSIGN_OR_RETURN(std::optional<std::string> expires, SingleParam(params, "X-Amz-Expires"));
  SCY_ASSIGN_OR_RETURN(std::optional<std::string> token,
                       SingleParam(params, "X-Amz-Security-Token"));
  if (!algorithm || !credential || !signature || !date || !signed_headers || !expires) {
    return Incomplete(kQueryParamsRequiredMessage);
  }
  if (*algorithm != kAlgorithm) {
    return Incomplete("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  SignatureInput in;
  in.presigned = true;
  in.credential = std::move(*credential);
  in.signed_headers = std::move(*signed_headers);
  in.signature = std::move(*signature);
  SCY_ASSIGN_OR_RETURN(in.request_time, ParseRequestAmzDate(*date));
  in.amz_date = std::move(*date);
  const std::optional<int> expires_value =
      expires->empty() || expires->size() > 6 ? std::nullopt : ParseFixedDigits(*expires);
  if (!expires_value.has_value() || *expires_value > kMaxPresignExpiresSeconds) {
    return Incomplete(
        "X-Amz-Expires must be a whole number of seconds from 0 to 604800 (one "
        "week), not '" +
        RedactForMessage(*expires) + "'.");
  }
  in.expires = *expires_value;
  if (token.has_value()) {
    in.security_token = std::move(*token);
  }
  return in;
}

Status CheckRequestTime(const SignatureInput& in, int64_t now) {
  if (in.request_time > now + kMaxClockSkewSeconds) {
    return Invalid("Signature not yet current: " + in.amz_date + " is still later than " +
                   FormatAmzDate(now + kMaxClockSkewSeconds) + " (" + FormatAmzDate(now) +
                   " + 5 min.)");
  }
  if (!in.expires.has_value()) {
    if (in.request_time < now - kMaxClockSkewSeconds) {
      return Invalid("Signature expired: " + in.amz_date + " is now earlier than " +
                     FormatAmzDate(now - kMaxClockSkewSeconds) + " (" + FormatAmzDate(now) +
                     " - 5 min.)");
    }
  } else if (in.request_time < now - *in.expires) {
    return Invalid("Signature expired: " + in.amz_date + " is now earlier than " +
                   FormatAmzDate(now - *in.expires) + " (" + FormatAmzDate(now) + " - " +
                   std::to_string(*in.expires) + " sec.)");
  }
  return Ok();
}

// Region names go on into ARNs, so only AWS's own alphabet is let through to the policy.
bool IsWellFormedRegion(std::string_view region) {
  if (region.empty() || region.size() > 64) {
    return false;
  }
  return std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

std::optional<int64_t> ParseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
    return std::nullopt;
  }
  const std::optional<int> year = ParseFixedDigits(text.substr(0, 4));
  const std::optional<int> month = ParseFixedDigits(text.substr(4, 2));
  const std::optional<int> day = ParseFixedDigits(text.substr(6, 2));
  const std::optional<int> hour = ParseFixedDigits(text.substr(9, 2));
  const std::optional<int> minute = ParseFixedDigits(text.substr(11, 2));
  const std::optional<int> second = ParseFixedDigits(text.substr(13, 2));
  if (!year || !month || !day || !hour || !minute || !second) {
    return std::nullopt;
  }
  return ToEpochSeconds(*year, *month, *day, *hour, *minute, *second);
}

std::string FormatAmzDate(int64_t epoch_seconds) {
  using namespace std::chrono;
  const sys_seconds t{seconds{epoch_seconds}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  //  0123456789012345678901234567 8
  static constexpr std::string_view kWeekdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  if (std::find(std::begin(kWeekdays), std::end(kWeekdays), text.substr(0, 3)) ==
      std::end(kWeekdays)) {
    return std::nullopt;
  }
  const auto* month_it = std::find(std::begin(kMonths), std::end(kMonths), text.substr(8, 3));
  if (month_it == std::end(kMonths)) {
    return std::nullopt;
  }
  const std::optional<int> day = ParseFixedDigits(text.substr(5, 2));
  const std::optional<int> year = ParseFixedDigits(text.substr(12, 4));
  const std::optional<int> hour = ParseFixedDigits(text.substr(17, 2));
  const std::optional<int> minute = ParseFixedDigits(text.substr(20, 2));
  const std::optional<int> second = ParseFixedDigits(text.substr(23, 2));
  if (!day || !year || !hour || !minute || !second) {
    return std::nullopt;
  }
  const int month = static_cast<int>(month_it - std::begin(kMonths)) + 1;
  return ToEpochSeconds(*year, month, *day, *hour, *minute, *second);
}

std::string UriEncode(std::string_view bytes, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view raw_path) {
  if (raw_path.empty()) {
    return "/";
  }
  // RFC 3986 §5.2.4 dot-segment removal; AWS also drops empty segments ("//").
  std::vector<std::string_view> segments;
  for (std::string_view segment : Split(raw_path, '/')) {
    if (segment.empty() || segment == ".") {
      continue;
    }
    if (segment == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
      continue;
    }
    segments.push_back(segment);
  }
  std::string normalized = raw_path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) {
      normalized += '/';
    }
    normalized += segments[i];
  }
  if (raw_path.back() == '/' && !segments.empty()) {
    normalized += '/';
  }
  return UriEncode(normalized, /*keep_slash=*/true);
}

std::vector<QueryParam> ParseQuery(std::string_view raw_query) {
  std::vector<QueryParam> params;
  if (raw_query.empty()) {
    return params;
  }
  for (std::string_view piece : Split(raw_query, '&')) {
    if (piece.empty()) {
      continue;
    }
    const size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      // '+' stays '+': a query string is not a form (SigV4 encodes a space as %20).
      params.push_back({PercentDecode(piece, /*plus_is_space=*/false), ""});
    } else {
      params.push_back({PercentDecode(piece.substr(0, eq), /*plus_is_space=*/false),
                        PercentDecode(piece.substr(eq + 1), /*plus_is_space=*/false)});
    }
  }
  return params;
}

std::string CanonicalQueryString(const std::vector<QueryParam>& params,
                                 std::string_view omit_name) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const QueryParam& p : params) {
    if (!omit_name.empty() && p.name == omit_name) {
      continue;
    }
    encoded.emplace_back(UriEncode(p.name, false), UriEncode(p.value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (i > 0) {
      out += '&';
    }
    out += encoded[i].first;
    out += '=';
    out += encoded[i].second;
  }
  return out;
}

std::string TrimAll(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
  return out;
}

std::string RedactForMessage(std::string_view text) {
  // A signature is not a secret, but one that failed only on, say, a missing date header could
  // be replayed by whoever reads the logs; it never appears in a message.
  std::string redacted;
  constexpr std::string_view kSignatureKey = "Signature=";
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t found = text.find(kSignatureKey, pos);
    if (found == std::string_view::npos) {
      redacted.append(text.substr(pos));
      break;
    }
    redacted.append(text.substr(pos, found + kSignatureKey.size() - pos));
    redacted.append("<redacted>");
    pos = found + kSignatureKey.size();
    while (pos < text.size() && text[pos] != ',' && !IsSpace(text[pos])) {
      ++pos;
    }
  }
  std::string out;
  for (char c : redacted) {
    if (out.size() >= kMaxQuotedLength) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return out;
}

Result<AuthorizationHeader> ParseAuthorizationHeader(std::string_view header, bool has_date) {
  const std::string_view trimmed = TrimSpaces(header);
  const size_t space = trimmed.find_first_of(" \t");
  const std::string_view scheme = trimmed.substr(0, space);
  const std::string_view rest =
      space == std::string_view::npos ? std::string_view() : trimmed.substr(space + 1);

  std::optional<std::string> credential;
  std::optional<std::string> signed_headers;
  std::optional<std::string> signature;
  if (scheme == kAlgorithm) {
    // AWS splits the parameters at commas and at whitespace, so "Credential= AKID/..." fails
    // as "'AKID/...' not a valid key=value pair".
    size_t start = 0;
    while (start < rest.size()) {
      size_t end = start;
      while (end < rest.size() && rest[end] != ',' && !IsSpace(rest[end])) {
        ++end;
      }
      const std::string_view token = rest.substr(start, end - start);
      start = end + 1;
      if (token.empty()) {
        continue;
      }
      const size_t eq = token.find('=');
      if (eq == std::string_view::npos) {
        return Incomplete("'" + RedactForMessage(token) +
                          "' not a valid key=value pair (missing equal-sign) in Authorization "
                          "header: '" +
                          RedactForMessage(header) + "'.");
      }
      const std::string_view key = token.substr(0, eq);
      const std::string_view value = token.substr(eq + 1);
      std::optional<std::string>* slot = nullptr;
      if (key == "Credential") {
        slot = &credential;
      } else if (key == "SignedHeaders") {
        slot = &signed_headers;
      } else if (key == "Signature") {
        slot = &signature;
      } else {
        continue;  // AWS ignores parameters it does not know.
      }
      if (slot->has_value()) {
        return Incomplete("Authorization header has more than one '" + std::string(key) +
                          "' parameter. Authorization=" + RedactForMessage(header));
      }
      *slot = std::string(value);
    }
  }

  std::string missing;
  if (!credential.has_value()) {
    missing += "Authorization header requires 'Credential' parameter. ";
  }
  if (!signature.has_value()) {
    missing += "Authorization header requires 'Signature' parameter. ";
  }
  if (!signed_headers.has_value()) {
    missing += "Authorization header requires 'SignedHeaders' parameter. ";
  }
  if (!has_date) {
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
        "header. ";
  }
  if (!missing.empty()) {
    return Incomplete(missing + "Authorization=" + RedactForMessage(header));
  }
  return AuthorizationHeader{std::move(*credential), std::move(*signed_headers),
                             std::move(*signature)};
}

crypto::SecretBytes DeriveSigningKey(const crypto::SecretBytes& secret, std::string_view date,
                                     std::string_view region, std::string_view service) {
  const crypto::KeyAccess access = crypto::KeyAccess::Grant();
  constexpr std::string_view kPrefix = "AWS4";
  crypto::SecretBytes k_secret(kPrefix.size() + secret.size());
  {
    std::span<uint8_t> out = k_secret.MutableReveal(access);
    std::copy(kPrefix.begin(), kPrefix.end(), out.begin());
    std::span<const uint8_t> s = secret.Reveal(access);
    std::copy(s.begin(), s.end(), out.begin() + static_cast<std::ptrdiff_t>(kPrefix.size()));
  }
  std::array<uint8_t, 32> k_date = crypto::HmacSha256(k_secret.Reveal(access), AsBytes(date));
  std::array<uint8_t, 32> k_region = crypto::HmacSha256(k_date, AsBytes(region));
  std::array<uint8_t, 32> k_service = crypto::HmacSha256(k_region, AsBytes(service));
  std::array<uint8_t, 32> k_signing = crypto::HmacSha256(k_service, AsBytes(kTerminator));
  crypto::SecretBytes out(k_signing);
  for (std::array<uint8_t, 32>* k : {&k_date, &k_region, &k_service, &k_signing}) {
    OPENSSL_cleanse(k->data(), k->size());
  }
  return out;
}

std::optional<crypto::SecretBytes> SigningKeyCache::Find(const std::string& key,
                                                         const SecretFingerprint& fingerprint) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || !crypto::ConstantTimeEquals(it->second.fingerprint, fingerprint)) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second.lru_position);
  return it->second.signing_key.Clone();
}

void SigningKeyCache::Insert(const std::string& key, const SecretFingerprint& fingerprint,
                             crypto::SecretBytes signing_key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (capacity_ == 0) {
    return;
  }
  if (auto it = entries_.find(key); it != entries_.end()) {
    it->second.fingerprint = fingerprint;
    it->second.signing_key = std::move(signing_key);
    lru_.splice(lru_.begin(), lru_, it->second.lru_position);
    return;
  }
  while (entries_.size() >= capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{fingerprint, std::move(signing_key), lru_.begin()});
}

SigningKeyCache::Stats SigningKeyCache::GetStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Stats{hits_, misses_, entries_.size()};
}

SigV4VerifierImpl::SigV4VerifierImpl(CredentialLookup lookup, RegionPolicy regions,
                                     std::shared_ptr<Clock> clock,
                                     std::vector<std::string> services, size_t cache_capacity)
    : lookup_(std::move(lookup)),
      regions_(std::move(regions)),
      clock_(clock ? std::move(clock) : SystemClock()),
      services_(std::move(services)),
      cache_(cache_capacity) {}

Result<Identity> SigV4VerifierImpl::Verify(const RequestView& request) {
  static const HeaderMap kNoHeaders;
  const HeaderMap& headers = request.headers != nullptr ? *request.headers : kNoHeaders;
  const auto [raw_path, raw_query] = SplitTarget(request.target);
  const std::vector<QueryParam> params = ParseQuery(raw_query);

  // 1. Which form of SigV4, and its parts.
  const std::optional<std::string> authorization = RawHeader(headers, "authorization");
  const bool has_header_auth = authorization.has_value() && !TrimSpaces(*authorization).empty();
  const bool has_query_auth = std::any_of(params.begin(), params.end(), [](const QueryParam& p) {
    return p.name == "X-Amz-Algorithm";
  });
  if (!has_header_auth && !has_query_auth) {
    return MakeError(ErrorCode::kMissingAuthenticationToken, kMissingTokenMessage);
  }
  if (has_header_auth && has_query_auth) {
    return Incomplete(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
        "or the Authorization header should be specified.");
  }
  SCY_ASSIGN_OR_RETURN(SignatureInput in, has_header_auth
                                              ? FromAuthorizationHeader(headers, *authorization)
                                              : FromPresignedQuery(params));

  // 2. The credential scope: AKID/date/region/service/aws4_request.
  const std::vector<std::string_view> scope = Split(in.credential, '/');
  if (scope.size() != 5) {
    return Incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        RedactForMessage(in.credential) + "'");
  }
  const std::string_view access_key_id = scope[0];
  const std::string_view scope_date = scope[1];
  const std::string_view region = scope[2];
  const std::string_view service = scope[3];
  if (scope[4] != kTerminator) {
    return Invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                   RedactForMessage(scope[4]) + "'.");
  }
  if (std::find(services_.begin(), services_.end(), service) == services_.end()) {
    return Invalid("Credential should be scoped to correct service: '" +
                   (services_.empty() ? std::string() : services_.front()) + "'. ");
  }
  // No policy means every well-formed region is served.
  if (!IsWellFormedRegion(region) || (regions_ && !regions_(region))) {
    return Invalid("Credential should be scoped to a valid region, not '" +
                   RedactForMessage(region) + "'. ");
  }
  if (scope_date != std::string_view(in.amz_date).substr(0, 8)) {
    return Invalid(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        RedactForMessage(scope_date) + "' != '" + in.amz_date.substr(0, 8) + "', from '" +
        in.amz_date + "'.");
  }

  // 3. The signed headers: host and the date header must be among them, and every one named
  // must be in the request.
  std::vector<std::string> signed_names;
  for (std::string_view name : Split(in.signed_headers, ';')) {
    if (!name.empty()) {
      signed_names.push_back(ToLower(name));
    }
  }
  auto is_signed = [&](std::string_view name) {
    return std::find(signed_names.begin(), signed_names.end(), name) != signed_names.end();
  };
  if (!is_signed("host")) {
    return Invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (in.date_header == "x-amz-date" && !is_signed("x-amz-date")) {
    return Invalid("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (in.date_header == "date" && !is_signed("date")) {
    return Invalid("'Date' must be a 'SignedHeader' in the AWS Authorization.");
  }
  std::string canonical_headers;
  for (const std::string& name : signed_names) {
    std::optional<std::string> value = CanonicalHeaderValue(headers, name);
    if (!value.has_value()) {
      return Incomplete("'" + RedactForMessage(name) +
                        "' is named as a SignedHeader, but it does not exist in the HTTP "
                        "request.");
    }
    canonical_headers += name;
    canonical_headers += ':';
    canonical_headers += *value;
    canonical_headers += '\n';
  }

  // 4. The time window.
  SCY_RETURN_IF_ERROR(CheckRequestTime(in, clock_->NowSeconds()));

  // 5. The payload: always hashed here; a client's x-amz-content-sha256 must agree. AWS JSON
  // services sign the body, so UNSIGNED-PAYLOAD is a mismatch like any other value.
  const std::string payload_hash = HexEncode(crypto::Sha256(AsBytes(request.body)));
  if (std::optional<std::string> claimed = RawHeader(headers, "x-amz-content-sha256")) {
    if (ToLower(TrimSpaces(*claimed)) != payload_hash) {
      return Invalid(kContentSha256MismatchMessage);
    }
  }

  // 6. The credential and its session token.
  if (access_key_id.empty() || !lookup_) {
    return MakeError(ErrorCode::kUnrecognizedClient, kInvalidTokenMessage);
  }
  Result<Credential> credential = lookup_(access_key_id);
  if (!credential.has_value()) {
    if (credential.error().code == ErrorCode::kUnrecognizedClient) {
      return MakeError(ErrorCode::kUnrecognizedClient, kInvalidTokenMessage);
    }
    return std::move(credential).error();
  }
  // Temporary credentials need their token and permanent ones take none. Only the token's
  // digest is known here: the presented token is hashed and the digests compared.
  const bool temporary = !credential->session_token_sha256.empty();
  if (temporary != !in.security_token.empty()) {
    return MakeError(ErrorCode::kUnrecognizedClient, kInvalidTokenMessage);
  }
  if (temporary) {
    const std::string presented = HexEncode(crypto::Sha256(AsBytes(in.security_token)));
    if (!crypto::ConstantTimeEquals(AsBytes(presented),
                                    AsBytes(credential->session_token_sha256))) {
      return MakeError(ErrorCode::kUnrecognizedClient, kInvalidTokenMessage);
    }
  }

  // 7. The signature.
  std::string canonical_request;
  canonical_request.reserve(256 + canonical_headers.size());
  canonical_request.append(request.method).append("\n");
  canonical_request.append(CanonicalUri(raw_path)).append("\n");
  canonical_request.append(CanonicalQueryString(params, in.presigned ? "X-Amz-Signature" : ""))
      .append("\n");
  canonical_request.append(canonical_headers).append("\n");
  canonical_request.append(in.signed_headers).append("\n");
  canonical_request.append(payload_hash);

  std::string string_to_sign(kAlgorithm);
  string_to_sign.append("\n").append(in.amz_date).append("\n");
  string_to_sign.append(scope_date).append("/").append(region).append("/").append(service);
  string_to_sign.append("/").append(kTerminator).append("\n");
  string_to_sign.append(HexEncode(crypto::Sha256(AsBytes(canonical_request))));

  const crypto::KeyAccess access = crypto::KeyAccess::Grant();
  const std::string cache_key = std::string(access_key_id) + "/" + std::string(scope_date) + "/" +
                                std::string(region) + "/" + std::string(service);
  const SigningKeyCache::SecretFingerprint fingerprint =
      crypto::Sha256(credential->secret_access_key.Reveal(access));
  std::optional<crypto::SecretBytes> signing_key = cache_.Find(cache_key, fingerprint);
  const bool derived = !signing_key.has_value();
  if (derived) {
    signing_key = DeriveSigningKey(credential->secret_access_key, scope_date, region, service);
  }
  const std::string expected =
      HexEncode(crypto::HmacSha256(signing_key->Reveal(access), AsBytes(string_to_sign)));
  if (!crypto::ConstantTimeEquals(AsBytes(expected), AsBytes(in.signature))) {
    return Invalid(kSignatureMismatchMessage);
  }
  // Only keys that verified a request are cached, so unauthenticated traffic cannot churn it.
  if (derived) {
    cache_.Insert(cache_key, fingerprint, std::move(*signing_key));
  }

  return Identity{std::string(access_key_id), credential->account_id, credential->principal_arn,
                  std::string(region), std::string(service)};
}

}  // namespace internal

std::unique_ptr<SigV4Verifier> SigV4Verifier::Create(CredentialLookup lookup, RegionPolicy regions,
                                                     std::shared_ptr<Clock> clock,
                                                     std::vector<std::string> services) {
  return std::make_unique<internal::SigV4VerifierImpl>(std::move(lookup), std::move(regions),
                                                       std::move(clock), std::move(services));
}

}  // namespace scytale::auth

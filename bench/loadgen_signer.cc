#include "loadgen_signer.h"

#include <utility>

#include "auth/internal/sigv4_internal.h"
#include "common/encoding.h"

namespace scytale::loadgen {
namespace {

constexpr std::string_view kContentType = "application/x-amz-json-1.1";
constexpr std::string_view kService = "kms";

std::string Sha256Hex(std::string_view data) { return HexEncode(crypto::Sha256(AsBytes(data))); }

}  // namespace

RequestSigner::RequestSigner(SigningCredentials credentials, std::string region)
    : credentials_(std::move(credentials)), region_(std::move(region)) {}

const crypto::SecretBytes& RequestSigner::SigningKey(const std::string& date) {
  if (date != key_date_) {
    signing_key_ =
        auth::internal::DeriveSigningKey(credentials_.secret_access_key, date, region_, kService);
    key_date_ = date;
  }
  return signing_key_;
}

std::map<std::string, std::string> RequestSigner::SignKmsRequest(std::string_view host,
                                                                 std::string_view target,
                                                                 std::string_view body,
                                                                 int64_t now) {
  // A std::map keeps the names sorted, the order the canonical headers and SignedHeaders take.
  std::map<std::string, std::string> headers = {
      {"content-type", std::string(kContentType)},
      {"host", std::string(host)},
      {"x-amz-date", auth::internal::FormatAmzDate(now)},
      {"x-amz-target", std::string(target)},
  };
  if (!credentials_.session_token.empty()) {
    headers.emplace("x-amz-security-token", credentials_.session_token);
  }
  const std::string& amz_date = headers.at("x-amz-date");
  const std::string date = amz_date.substr(0, 8);

  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers.append(name).append(":").append(auth::internal::TrimAll(value)).append("\n");
    signed_headers.append(signed_headers.empty() ? "" : ";").append(name);
  }
  std::string canonical_request = "POST\n";
  canonical_request.append(auth::internal::CanonicalUri("/")).append("\n");
  canonical_request.append("\n");  // no query string
  canonical_request.append(canonical_headers).append("\n");
  canonical_request.append(signed_headers).append("\n");
  canonical_request.append(Sha256Hex(body));

  const std::string scope =
      date + "/" + region_ + "/" + std::string(kService) + "/aws4_request";
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + Sha256Hex(canonical_request);
  const std::string signature = HexEncode(crypto::HmacSha256(
      SigningKey(date).Reveal(crypto::KeyAccess::Grant()), AsBytes(string_to_sign)));

  headers["authorization"] = "AWS4-HMAC-SHA256 Credential=" + credentials_.access_key_id + "/" +
                             scope + ", SignedHeaders=" + signed_headers +
                             ", Signature=" + signature;
  return headers;
}

std::string RequestSigner::SignedKmsRequestBytes(std::string_view host, std::string_view target,
                                                 std::string_view body, int64_t now) {
  std::string out = "POST / HTTP/1.1\r\n";
  for (const auto& [name, value] : SignKmsRequest(host, target, body, now)) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("content-length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
  return out;
}

}  // namespace scytale::loadgen

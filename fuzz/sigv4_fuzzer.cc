// SigV4 as a client controls it: the Authorization header parser, the pieces of the canonical
// request (URI, query string, header values, dates) and the whole verifier.
//
// Input, line by line: the Authorization header; X-Amz-Date; the request-target (path and
// optional ?query); then "name:value" header lines up to an empty line; then the body.
#include <map>

#include "auth/auth.h"
#include "auth/internal/sigv4_internal.h"
#include "common/encoding.h"
#include "fuzz/fuzz_util.h"

namespace scytale::fuzz {
namespace {

constexpr char kAccessKeyId[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

auth::SigV4Verifier& Verifier() {
  static std::unique_ptr<auth::SigV4Verifier> verifier = auth::SigV4Verifier::Create(
      [](std::string_view access_key_id) -> Result<auth::Credential> {
        if (access_key_id != kAccessKeyId) {
          return Error{ErrorCode::kUnrecognizedClient, "unknown"};
        }
        return auth::Credential{kAccessKeyId, "111122223333", "arn:aws:iam::111122223333:root",
                                crypto::SecretBytes(AsBytes(kSecret)), ""};
      },
      [](std::string_view region) { return region == "us-east-1"; },
      // 2026-11-28T14:20:00Z, the date of the seed corpus.
      std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1795875600)),
      {"kms"});
  return *verifier;
}

}  // namespace
}  // namespace scytale::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scytale;
  using namespace scytale::fuzz;
  std::string_view rest = AsText(data, size);
  std::string_view authorization = TakeLine(rest);
  std::string_view amz_date = TakeLine(rest);
  std::string_view target = TakeLine(rest);
  std::multimap<std::string, std::string> headers;
  while (!rest.empty()) {
    std::string_view line = TakeLine(rest);
    if (line.empty()) {
      break;
    }
    size_t colon = line.find(':');
    headers.emplace(std::string(line.substr(0, colon)),
                    colon == std::string_view::npos ? "" : std::string(line.substr(colon + 1)));
  }
  std::string_view body = rest;

  // The pieces, one by one.
  (void)auth::internal::ParseAuthorizationHeader(authorization, true);
  (void)auth::internal::ParseAuthorizationHeader(authorization, false);
  std::string redacted = auth::internal::RedactForMessage(authorization);
  for (char c : redacted) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      Fail("RedactForMessage let a non-printable byte through");
    }
  }
  if (auto seconds = auth::internal::ParseAmzDate(amz_date)) {
    if (auth::internal::FormatAmzDate(*seconds) != amz_date) {
      Fail("ParseAmzDate accepted a date FormatAmzDate does not give back");
    }
  }
  (void)auth::internal::ParseHttpDate(amz_date);
  size_t question = target.find('?');
  (void)auth::internal::CanonicalUri(target.substr(0, question));
  if (question != std::string_view::npos) {
    auto params = auth::internal::ParseQuery(target.substr(question + 1));
    (void)auth::internal::CanonicalQueryString(params, "X-Amz-Signature");
  }
  std::string trimmed = auth::internal::TrimAll(body);
  if (auth::internal::TrimAll(trimmed) != trimmed) {
    Fail("TrimAll is not idempotent");
  }

  // The whole verifier.
  headers.emplace("authorization", std::string(authorization));
  headers.emplace("x-amz-date", std::string(amz_date));
  auth::RequestView request{"POST", target, &headers, body};
  (void)Verifier().Verify(request);
  return 0;
}

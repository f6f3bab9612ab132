// The load generator's signer against requests botocore signed (the same vectors
// src/auth/sigv4_test.cc accepts), and against the server's verifier.
#include "loadgen_signer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "auth/auth.h"
#include "auth/internal/sigv4_internal.h"
#include "common/clock.h"
#include "common/encoding.h"

namespace scytale::loadgen {
namespace {

namespace http = boost::beast::http;

constexpr char kAkid[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kHost[] = "127.0.0.1:18999";

int64_t BotocoreTime() { return auth::internal::ParseAmzDate("20261128T142000Z").value(); }

RequestSigner Signer(std::string session_token = "") {
  return RequestSigner(
      SigningCredentials{kAkid, crypto::SecretBytes(AsBytes(kSecret)), std::move(session_token)},
      "us-west-2");
}

TEST(RequestSignerTest, SignsKmsListKeysAsBotocoreDoes) {
  RequestSigner signer = Signer();
  auto headers = signer.SignKmsRequest(kHost, "TrentService.ListKeys", "{}", BotocoreTime());
  EXPECT_EQ(headers["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            "Signature=cf6ed378dc2597be335e4dd761ebf338800e4ded2ea42b52bb6e9974f34fa601");
  EXPECT_EQ(headers["x-amz-date"], "20261128T142000Z");
}

TEST(RequestSignerTest, SignsABodyAsBotocoreDoes) {
  RequestSigner signer = Signer();
  auto headers = signer.SignKmsRequest(kHost, "TrentService.DescribeKey",
                                       R"({"KeyId": "alias/my key"})", BotocoreTime());
  EXPECT_THAT(headers["authorization"],
              testing::EndsWith("e7013c187ef1bf063aa06b02fce23bce76c5b50a2fef3e2441f5995552173ac4"));
}

TEST(RequestSignerTest, SignsTheSessionTokenAsBotocoreDoes) {
  RequestSigner signer = Signer("FwoGZXIvYXdzEXAMPLETOKEN//+==");
  auto headers = signer.SignKmsRequest(kHost, "TrentService.ListKeys", "{}", BotocoreTime());
  EXPECT_EQ(headers["x-amz-security-token"], "FwoGZXIvYXdzEXAMPLETOKEN//+==");
  EXPECT_THAT(headers["authorization"],
              testing::HasSubstr("SignedHeaders=content-type;host;x-amz-date;"
                                 "x-amz-security-token;x-amz-target, Signature=4ede94a8a5cdcdedf9"
                                 "821662e32b0e14259de8352c26545d1f67f8d1217f0155"));
}

// The wire bytes parse as HTTP/1.1 and the server's verifier accepts them, and only while the
// signature is fresh.
TEST(RequestSignerTest, RequestBytesVerifyWithTheServersVerifierWithinFiveMinutes) {
  const int64_t now = 1'800'000'000;
  const std::string body = R"({"KeyId":"alias/a","Plaintext":"AAAA"})";
  RequestSigner signer = Signer();
  const std::string bytes = signer.SignedKmsRequestBytes(kHost, "TrentService.Encrypt", body, now);

  http::request_parser<http::string_body> parser;
  boost::beast::error_code ec;
  parser.eager(true);
  const size_t used = parser.put(boost::asio::buffer(bytes), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(parser.is_done());
  EXPECT_EQ(used, bytes.size());
  const auto& req = parser.get();
  EXPECT_TRUE(req.keep_alive());
  EXPECT_EQ(req.body(), body);

  std::multimap<std::string, std::string> headers;
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    headers.emplace(name, std::string(field.value()));
  }
  auto clock = std::make_shared<FakeClock>(
      std::chrono::system_clock::time_point(std::chrono::seconds(now + 299)));
  auto lookup = [](std::string_view akid) -> Result<auth::Credential> {
    return auth::Credential{std::string(akid), "111122223333", "arn:aws:iam::111122223333:root",
                            crypto::SecretBytes(AsBytes(kSecret)), ""};
  };
  auto verifier = auth::SigV4Verifier::Create(lookup, nullptr, clock, {"kms"});
  auth::RequestView view{"POST", "/", &headers, req.body()};
  Result<auth::Identity> identity = verifier->Verify(view);
  ASSERT_TRUE(identity.has_value()) << identity.error().message;
  EXPECT_EQ(identity->region, "us-west-2");

  clock->Advance(std::chrono::seconds(2));
  EXPECT_FALSE(verifier->Verify(view).has_value());
}

}  // namespace
}  // namespace scytale::loadgen

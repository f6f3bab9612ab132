#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <atomic>
#include <cctype>
#include <map>
#include <sstream>
#include <thread>

#include "auth/auth.h"
#include "auth/internal/sigv4_internal.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/testing/matchers.h"

namespace scytale::auth {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::HasErrorMessage;
using ::scytale::testing::IsOk;

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSignatureMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr char kInvalidToken[] = "The security token included in the request is invalid.";

// ---------------------------------------------------------------------------------------------
// A reference signer written straight against OpenSSL, sharing nothing with the verifier.

std::string RefHex(const unsigned char* data, size_t len) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

std::string RefSha256Hex(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return RefHex(out, sizeof(out));
}

std::string RefHmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

// botocore's _header_value: ' '.join(value.split()).
std::string RefCollapse(const std::string& value) {
  std::istringstream words(value);
  std::string word;
  std::string out;
  while (words >> word) {
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

constexpr char kAkid[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kNow[] = "20261128T142000Z";  // 2026-11-28 14:20:00 UTC, a Saturday

struct TestRequest {
  std::string method = "POST";
  std::string target = "/";
  std::multimap<std::string, std::string> headers;
  std::string body;

  RequestView View() const { return RequestView{method, target, &headers, body}; }
  void Set(const std::string& name, const std::string& value) {
    headers.erase(name);
    headers.emplace(name, value);
  }
};

struct SignSpec {
  std::string akid = kAkid;
  std::string secret = kSecret;
  std::string amz_date = kNow;
  std::string scope_date;  // defaults to amz_date's date
  std::string region = "us-west-2";
  std::string service = "kms";
  std::string terminator = "aws4_request";
  std::vector<std::string> signed_headers = {"content-type", "host", "x-amz-date", "x-amz-target"};
  std::string canonical_uri = "/";
  std::string canonical_query;
};

std::string RefSignature(const TestRequest& r, const SignSpec& s) {
  std::string canonical = r.method + "\n" + s.canonical_uri + "\n" + s.canonical_query + "\n";
  std::string signed_line;
  for (const std::string& name : s.signed_headers) {
    std::string joined;
    auto [begin, end] = r.headers.equal_range(name);
    for (auto it = begin; it != end; ++it) {
      joined += (it == begin ? "" : ",") + RefCollapse(it->second);
    }
    canonical += name + ":" + joined + "\n";
    signed_line += (signed_line.empty() ? "" : ";") + name;
  }
  canonical += "\n" + signed_line + "\n" + RefSha256Hex(r.body);
  const std::string scope_date = s.scope_date.empty() ? s.amz_date.substr(0, 8) : s.scope_date;
  const std::string scope = scope_date + "/" + s.region + "/" + s.service + "/" + s.terminator;
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + s.amz_date + "\n" + scope + "\n" + RefSha256Hex(canonical);
  std::string key = RefHmac("AWS4" + s.secret, scope_date);
  key = RefHmac(key, s.region);
  key = RefHmac(key, s.service);
  key = RefHmac(key, "aws4_request");
  const std::string mac = RefHmac(key, string_to_sign);
  return RefHex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

void Sign(TestRequest& r, const SignSpec& s = SignSpec()) {
  std::string signed_line;
  for (const std::string& name : s.signed_headers) {
    signed_line += (signed_line.empty() ? "" : ";") + name;
  }
  const std::string scope_date = s.scope_date.empty() ? s.amz_date.substr(0, 8) : s.scope_date;
  r.Set("authorization", "AWS4-HMAC-SHA256 Credential=" + s.akid + "/" + scope_date + "/" +
                             s.region + "/" + s.service + "/" + s.terminator + ", SignedHeaders=" +
                             signed_line + ", Signature=" + RefSignature(r, s));
}

// POST / with ListKeys, as the AWS CLI sends it, dated `amz_date`.
TestRequest KmsRequest(const std::string& amz_date = kNow) {
  TestRequest r;
  r.headers = {{"content-type", "application/x-amz-json-1.1"},
               {"host", "127.0.0.1:18999"},
               {"x-amz-date", amz_date},
               {"x-amz-target", "TrentService.ListKeys"}};
  r.body = "{}";
  return r;
}

TestRequest SignedKmsRequest(const SignSpec& spec = SignSpec()) {
  TestRequest r = KmsRequest(spec.amz_date);
  Sign(r, spec);
  return r;
}

// Sets `r`'s x-amz-security-token to `token` and signs it, the token among the signed headers.
void SignWithSessionToken(TestRequest& r, const std::string& token) {
  SignSpec spec;
  spec.signed_headers = {"content-type", "host", "x-amz-date", "x-amz-security-token",
                         "x-amz-target"};
  r.Set("x-amz-security-token", token);
  Sign(r, spec);
}

std::chrono::system_clock::time_point AmzTime(std::string_view text) {
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(internal::ParseAmzDate(text).value()));
}

// ---------------------------------------------------------------------------------------------
// The verifier against an in-memory credential table.

class SigV4Test : public ::testing::Test {
 protected:
  SigV4Test() : clock_(std::make_shared<FakeClock>(AmzTime(kNow))) {
    AddCredential(kAkid, kSecret);
    verifier_ = MakeVerifier({"kms"});
  }

  void AddCredential(const std::string& akid, const std::string& secret,
                     const std::string& session_token = "") {
    std::lock_guard<std::mutex> lock(mu_);
    // The lookup knows a session token only by its SHA-256, as Scytale's store does.
    secrets_[akid] = {secret, session_token.empty() ? "" : RefSha256Hex(session_token)};
  }

  std::unique_ptr<internal::SigV4VerifierImpl> MakeVerifier(
      std::vector<std::string> services,
      size_t capacity = internal::kDefaultSigningKeyCacheCapacity) {
    CredentialLookup lookup = [this](std::string_view akid) -> Result<Credential> {
      ++lookups_;
      std::lock_guard<std::mutex> lock(mu_);
      auto it = secrets_.find(std::string(akid));
      if (it == secrets_.end()) {
        return MakeError(ErrorCode::kUnrecognizedClient, "no such key " + std::string(akid));
      }
      return Credential{std::string(akid), "111122223333", "arn:aws:iam::111122223333:user/alice",
                        crypto::SecretBytes(AsBytes(it->second.first)), it->second.second};
    };
    RegionPolicy regions = [](std::string_view region) {
      return region == "us-west-2" || region == "us-east-1";
    };
    return std::make_unique<internal::SigV4VerifierImpl>(lookup, regions, clock_,
                                                         std::move(services), capacity);
  }

  Result<Identity> Verify(const TestRequest& r) { return verifier_->Verify(r.View()); }

  std::shared_ptr<FakeClock> clock_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> secrets_;
  std::atomic<int> lookups_{0};
  std::unique_ptr<internal::SigV4VerifierImpl> verifier_;
};

// ----- Known-answer tests: requests signed by AWS's documentation, botocore and the JS SDK. -----

TEST_F(SigV4Test, AcceptsTheAwsDocumentationExampleForIamListUsers) {
  // docs.aws.amazon.com "Create a canonical request" / "Calculate the signature" example.
  clock_->Set(AmzTime("20150830T123600Z"));
  AddCredential("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  auto verifier = MakeVerifier({"iam"});
  TestRequest r;
  r.method = "GET";
  r.target = "/?Action=ListUsers&Version=2010-05-08";
  r.headers = {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"host", "iam.amazonaws.com"},
               {"x-amz-date", "20150830T123600Z"},
               {"authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"}};
  Result<Identity> id = verifier->Verify(r.View());
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->service, "iam");
  EXPECT_EQ(id->region, "us-east-1");

  r.target = "/?Action=ListUsers&Version=2010-05-09";
  EXPECT_THAT(verifier->Verify(r.View()),
              HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));
}

TEST_F(SigV4Test, AcceptsTheAwsTestSuiteGetVanillaRequest) {
  clock_->Set(AmzTime("20150830T123600Z"));
  AddCredential("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  auto verifier = MakeVerifier({"service"});
  TestRequest r;
  r.method = "GET";
  r.headers = {{"host", "example.amazonaws.com"},
               {"x-amz-date", "20150830T123600Z"},
               {"authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"}};
  EXPECT_THAT(verifier->Verify(r.View()), IsOk());
}

// Captured from botocore 1.43.11 (the AWS CLI's signer): a kms client with
// endpoint_url=http://127.0.0.1:18999, region us-west-2, time frozen at 20261128T142000Z.
TestRequest BotocoreListKeys() {
  TestRequest r;
  r.headers = {
      {"x-amz-target", "TrentService.ListKeys"},
      {"content-type", "application/x-amz-json-1.1"},
      {"user-agent",
       "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v669 md/arch#x86_64 lang/python#3.11.7 "
       "md/pyimpl#CPython m/Z,b,D,N,e cfg/retry-mode#legacy"},
      {"x-amz-date", "20261128T142000Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
       "Signature=cf6ed378dc2597be335e4dd761ebf338800e4ded2ea42b52bb6e9974f34fa601"},
      {"amz-sdk-invocation-id", "d00053e8-e7c5-4bbe-8d6d-2c4ab3d8a540"},
      {"amz-sdk-request", "attempt=1"},
      {"content-length", "2"},
      {"host", "127.0.0.1:18999"}};
  r.body = "{}";
  return r;
}

TEST_F(SigV4Test, AcceptsBotocoreKmsListKeys) {
  Result<Identity> id = Verify(BotocoreListKeys());
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->access_key_id, kAkid);
  EXPECT_EQ(id->account_id, "111122223333");
  EXPECT_EQ(id->principal_arn, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(id->region, "us-west-2");
  EXPECT_EQ(id->service, "kms");
}

TEST_F(SigV4Test, RejectsBotocoreKmsListKeysWhenAnySignedPartChanges) {
  TestRequest r = BotocoreListKeys();
  r.body = "{ }";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));

  r = BotocoreListKeys();
  r.Set("x-amz-target", "TrentService.ScheduleKeyDeletion");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));

  r = BotocoreListKeys();
  r.Set("host", "127.0.0.1:18998");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));

  r = BotocoreListKeys();
  r.method = "PUT";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));

  r = BotocoreListKeys();
  r.target = "/other";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));

  r = BotocoreListKeys();
  r.target = "/?a=b";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));
}

TEST_F(SigV4Test, AcceptsBotocoreRequestWithSessionToken) {
  AddCredential(kAkid, kSecret, "FwoGZXIvYXdzEXAMPLETOKEN//+==");
  TestRequest r;
  r.headers = {
      {"x-amz-target", "TrentService.ListKeys"},
      {"content-type", "application/x-amz-json-1.1"},
      {"x-amz-date", "20261128T142000Z"},
      {"x-amz-security-token", "FwoGZXIvYXdzEXAMPLETOKEN//+=="},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
       "Signature=4ede94a8a5cdcdedf9821662e32b0e14259de8352c26545d1f67f8d1217f0155"},
      {"content-length", "2"},
      {"host", "127.0.0.1:18999"}};
  r.body = "{}";
  EXPECT_THAT(Verify(r), IsOk());
}

TEST_F(SigV4Test, AcceptsBotocoreDescribeKeyWithABody) {
  TestRequest r;
  r.headers = {
      {"x-amz-target", "TrentService.DescribeKey"},
      {"content-type", "application/x-amz-json-1.1"},
      {"x-amz-date", "20261128T142000Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
       "Signature=e7013c187ef1bf063aa06b02fce23bce76c5b50a2fef3e2441f5995552173ac4"},
      {"content-length", "25"},
      {"host", "127.0.0.1:18999"}};
  r.body = R"({"KeyId": "alias/my key"})";
  EXPECT_THAT(Verify(r), IsOk());
  r.body = R"({"KeyId": "alias/my-key"})";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));
}

TEST_F(SigV4Test, AcceptsBotocoreRequestWithAnOddPathQueryAndHeaderValue) {
  // botocore SigV4Auth on GET http://127.0.0.1:18999/a%20b/./c/../d//e%2Ff/?b=2&a=z&a=1&
  // c=x%20y&empty=&flag with "X-Custom: '  a   b  '". Its canonical request begins
  // "GET\n/a%2520b/d/e%252Ff/\na=1&a=z&b=2&c=x%20y&empty=&flag=\n".
  TestRequest r;
  r.method = "GET";
  r.target = "/a%20b/./c/../d//e%2Ff/?b=2&a=z&a=1&c=x%20y&empty=&flag";
  r.headers = {
      {"host", "127.0.0.1:18999"},
      {"x-custom", "  a   b  "},
      {"x-amz-date", "20261128T142000Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
       "SignedHeaders=host;x-amz-date;x-custom, "
       "Signature=fcfdef874d1ec1c47b92838491c67f0e0e67cae2cc81b00a311bdf92057a9037"}};
  EXPECT_THAT(Verify(r), IsOk());
  // The same request in absolute-form (RFC 9112 §3.2.2).
  r.target = "http://127.0.0.1:18999" + r.target;
  EXPECT_THAT(Verify(r), IsOk());
}

// Captured from botocore SigV4QueryAuth(expires=300) for POST http://127.0.0.1:18999/ (botocore
// moves the JSON body '{}' into the query, leaving it empty).
TestRequest BotocorePresignedListKeys() {
  TestRequest r;
  r.target =
      "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261128%2F"
      "us-west-2%2Fkms%2Faws4_request&X-Amz-Date=20261128T142000Z&X-Amz-Expires=300&"
      "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-target&X-Amz-Signature="
      "9508a95a776c6583dc6c565239d24a4207123746a36d5482e84d2fa5c239996e";
  r.headers = {{"content-type", "application/x-amz-json-1.1"},
               {"x-amz-target", "TrentService.ListKeys"},
               {"host", "127.0.0.1:18999"}};
  return r;
}

TEST_F(SigV4Test, AcceptsBotocorePresignedQueryWithinItsExpiry) {
  EXPECT_THAT(Verify(BotocorePresignedListKeys()), IsOk());
  clock_->Advance(std::chrono::seconds(300));
  EXPECT_THAT(Verify(BotocorePresignedListKeys()), IsOk());
  clock_->Advance(std::chrono::seconds(1));
  EXPECT_THAT(Verify(BotocorePresignedListKeys()),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "Signature expired: 20261128T142000Z is now earlier than "
                              "20261128T142001Z (20261128T142501Z - 300 sec.)"));
}

TEST_F(SigV4Test, RejectsTamperedOrIncompletePresignedQuery) {
  TestRequest r = BotocorePresignedListKeys();
  r.body = "{}";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));

  r = BotocorePresignedListKeys();
  r.target.replace(r.target.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=900");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));

  r = BotocorePresignedListKeys();
  r.target.replace(r.target.find("&X-Amz-Expires=300"), 18, "");
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));

  r = BotocorePresignedListKeys();
  r.target += "&X-Amz-Date=20261128T142000Z";
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));

  r = BotocorePresignedListKeys();
  r.Set("authorization", BotocoreListKeys().headers.find("authorization")->second);
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));

  r = BotocorePresignedListKeys();
  r.target.replace(r.target.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=604801");
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));
}

// Captured from @smithy/signature-v4 5.x (the JS SDK v3 signer) with session credentials: it
// signs amz-sdk-*, content-length, x-amz-content-sha256 and x-amz-user-agent too.
TestRequest JsSdkEncrypt() {
  TestRequest r;
  r.body = R"({"KeyId":"alias/test","Plaintext":"aGVsbG8="})";
  r.headers = {
      {"content-type", "application/x-amz-json-1.1"},
      {"x-amz-target", "TrentService.Encrypt"},
      {"host", "127.0.0.1:18999"},
      {"content-length", "45"},
      {"x-amz-user-agent", "aws-sdk-js/3.700.0"},
      {"user-agent",
       "aws-sdk-js/3.700.0 ua/2.1 os/linux lang/js md/nodejs#20.20.2 api/kms#3.700.0 m/E"},
      {"amz-sdk-invocation-id", "6f0c6b0e-2a4c-4c5e-9a6b-1f2e3d4c5b6a"},
      {"amz-sdk-request", "attempt=1; max=3"},
      {"x-amz-date", "20261128T142000Z"},
      {"x-amz-security-token", "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+=="},
      {"x-amz-content-sha256", "cf687f6ea77fcd5b3a2d9c7615e3a6f3a9febae2a6715d1c447b1ea55b72ae62"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
       "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;"
       "x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target;x-amz-user-agent, "
       "Signature=253fff84eaf8f698037baebb80f725031c1f9bf5686ea81fcb55e5fa08fe4a80"}};
  return r;
}

TEST_F(SigV4Test, AcceptsJsSdkV3EncryptWithContentSha256AndSessionToken) {
  AddCredential(kAkid, kSecret, "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+==");
  EXPECT_THAT(Verify(JsSdkEncrypt()), IsOk());

  TestRequest r = JsSdkEncrypt();
  r.body = R"({"KeyId":"alias/evil","Plaintext":"aGVsbG8="})";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature,
                                         "The provided 'x-amz-content-sha256' header does not "
                                         "match what was computed."));
}

// ----- Requests built and signed by the reference signer. -----

TEST_F(SigV4Test, AcceptsAKmsRequestSignedByTheReferenceSigner) {
  EXPECT_THAT(Verify(SignedKmsRequest()), IsOk());
  EXPECT_EQ(lookups_.load(), 1);
}

TEST_F(SigV4Test, RejectsARequestSignedWithTheWrongSecret) {
  SignSpec spec;
  spec.secret = "not-the-secret";
  TestRequest r = SignedKmsRequest(spec);
  Result<Identity> result = Verify(r);
  ASSERT_THAT(result, HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));
  // Neither the secret nor the signature the server expected leaks into the message.
  const std::string expected_signature = RefSignature(r, SignSpec());
  EXPECT_THAT(result.error().message,
              AllOf(Not(HasSubstr(kSecret)), Not(HasSubstr(expected_signature))));
}

TEST_F(SigV4Test, RejectsAMalformedSignatureValue) {
  TestRequest r = SignedKmsRequest();
  std::string auth = r.headers.find("authorization")->second;
  const std::string good = auth.substr(auth.size() - 64);
  std::string upper = good;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  for (const std::string& bad : {std::string(), good.substr(0, 63), good + "0", upper}) {
    if (bad == good) {
      continue;  // all-digit signature: nothing to uppercase
    }
    r.Set("authorization", auth.substr(0, auth.size() - 64) + bad);
    EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch))
        << bad;
  }
}

TEST_F(SigV4Test, PassesUnknownAccessKeyThroughAsUnrecognizedClient) {
  SignSpec spec;
  spec.akid = "AKIAUNKNOWNEXAMPLE00";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kUnrecognizedClient, kInvalidToken));
}

TEST_F(SigV4Test, PassesOtherLookupErrorsThrough) {
  CredentialLookup lookup = [](std::string_view) -> Result<Credential> {
    return MakeError(ErrorCode::kExpiredToken,
                     "The security token included in the request is "
                     "expired");
  };
  auto verifier = SigV4Verifier::Create(lookup, nullptr, clock_, {"kms"});
  EXPECT_THAT(verifier->Verify(SignedKmsRequest().View()),
              HasErrorMessage(ErrorCode::kExpiredToken,
                              "The security token included in the request is expired"));
}

TEST_F(SigV4Test, RejectsARequestWithoutAuthorizationAsMissingAuthenticationToken) {
  TestRequest r = KmsRequest();
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kMissingAuthenticationToken,
                                         "Missing Authentication Token"));
  r.Set("authorization", "   ");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kMissingAuthenticationToken,
                                         "Missing Authentication Token"));
  RequestView view{"POST", "/", nullptr, ""};
  EXPECT_THAT(verifier_->Verify(view), HasError(ErrorCode::kMissingAuthenticationToken));
}

TEST_F(SigV4Test, ListsEveryMissingAuthorizationParameterLikeAws) {
  TestRequest r = KmsRequest();
  r.Set("authorization", "Bearer abc");
  EXPECT_THAT(
      Verify(r),
      HasErrorMessage(ErrorCode::kIncompleteSignature,
                      "Authorization header requires 'Credential' parameter. Authorization header "
                      "requires 'Signature' parameter. Authorization header requires "
                      "'SignedHeaders' parameter. Authorization=Bearer abc"));

  r.Set("authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
        "Signature=" +
            std::string(64, 'a'));
  Result<Identity> result = Verify(r);
  ASSERT_THAT(result, HasError(ErrorCode::kIncompleteSignature));
  EXPECT_THAT(result.error().message,
              AllOf(HasSubstr("Authorization header requires 'SignedHeaders' parameter."),
                    Not(HasSubstr("'Credential' parameter")), Not(HasSubstr(std::string(64, 'a'))),
                    HasSubstr("Signature=<redacted>")));

  r.Set("authorization",
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=" + std::string(64, 'a'));
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));

  r.Set("authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
        "SignedHeaders=host;x-amz-date");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kIncompleteSignature,
                                         "Authorization header requires 'Signature' parameter. "
                                         "Authorization=AWS4-HMAC-SHA256 "
                                         "Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/"
                                         "aws4_request, SignedHeaders=host;x-amz-date"));
}

TEST_F(SigV4Test, RejectsAnotherAlgorithmAsIncomplete) {
  TestRequest r = SignedKmsRequest();
  std::string auth = r.headers.find("authorization")->second;
  r.Set("authorization", "AWS4-HMAC-SHA512" + auth.substr(16));
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));
}

TEST_F(SigV4Test, ToleratesAnySpacingBetweenAuthorizationParameters) {
  TestRequest r = SignedKmsRequest();
  std::string auth = r.headers.find("authorization")->second;
  std::string tight = auth;
  for (size_t pos; (pos = tight.find(", ")) != std::string::npos;) {
    tight.erase(pos + 1, 1);
  }
  r.Set("authorization", tight);
  EXPECT_THAT(Verify(r), IsOk());
  std::string loose = auth;
  for (size_t pos = 0; (pos = loose.find(", ", pos)) != std::string::npos; pos += 4) {
    loose.replace(pos, 2, " ,  ");
  }
  r.Set("authorization", "  " + loose + "  ");
  EXPECT_THAT(Verify(r), IsOk());
}

TEST_F(SigV4Test, RejectsAParameterWithoutEqualSignLikeAws) {
  TestRequest r = KmsRequest();
  r.Set("authorization",
        "AWS4-HMAC-SHA256 Credential= AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abcd");
  EXPECT_THAT(
      Verify(r),
      HasErrorMessage(ErrorCode::kIncompleteSignature,
                      "'AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/aws4_request' not a valid "
                      "key=value pair (missing equal-sign) in Authorization header: "
                      "'AWS4-HMAC-SHA256 Credential= AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms/"
                      "aws4_request, SignedHeaders=host;x-amz-date, Signature=<redacted>'."));
}

TEST_F(SigV4Test, RejectsDuplicateAuthorizationParameters) {
  TestRequest r = SignedKmsRequest();
  r.Set("authorization", r.headers.find("authorization")->second + ", SignedHeaders=host");
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));
}

TEST_F(SigV4Test, RejectsACredentialScopeWithoutFiveParts) {
  TestRequest r = KmsRequest();
  r.Set("authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" +
            std::string(64, '0'));
  EXPECT_THAT(Verify(r),
              HasErrorMessage(ErrorCode::kIncompleteSignature,
                              "Credential must have exactly 5 slash-delimited elements, e.g. "
                              "keyid/date/region/service/term, got "
                              "'AKIAIOSFODNN7EXAMPLE/20261128/us-west-2/kms'"));
  r.Set("authorization",
        "AWS4-HMAC-SHA256 Credential=A/B/20261128/us-west-2/kms/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" +
            std::string(64, '0'));
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));
}

TEST_F(SigV4Test, RejectsARequestWithoutADateHeader) {
  TestRequest r = SignedKmsRequest();
  r.headers.erase("x-amz-date");
  Result<Identity> result = Verify(r);
  ASSERT_THAT(result, HasError(ErrorCode::kIncompleteSignature));
  EXPECT_THAT(result.error().message,
              AllOf(::testing::StartsWith("Authorization header requires existence of either a "
                                        "'X-Amz-Date' or a 'Date' header. Authorization="),
                    Not(HasSubstr(RefSignature(SignedKmsRequest(), SignSpec())))));
}

TEST_F(SigV4Test, RejectsAnXAmzDateNotInIsoBasicFormat) {
  for (std::string bad : {"2026-11-28T14:20:00Z", "20261128T142000", "20261128t142000z",
                          "20261328T142000Z", "20260230T142000Z", "20261128T246000Z"}) {
    SignSpec spec;
    spec.amz_date = bad;
    spec.scope_date = "20261128";
    EXPECT_THAT(Verify(SignedKmsRequest(spec)), HasError(ErrorCode::kIncompleteSignature)) << bad;
  }
  SignSpec spec;
  spec.amz_date = "2026-11-28";
  spec.scope_date = "20261128";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kIncompleteSignature,
                              "Date must be in ISO-8601 'basic format'. Got '2026-11-28'. See "
                              "http://en.wikipedia.org/wiki/ISO_8601"));
}

TEST_F(SigV4Test, AcceptsTheHttpDateHeaderWhenThereIsNoXAmzDate) {
  TestRequest r = KmsRequest();
  r.headers.erase("x-amz-date");
  r.Set("date", "Sat, 28 Nov 2026 14:20:00 GMT");
  SignSpec spec;
  spec.signed_headers = {"content-type", "date", "host", "x-amz-target"};
  Sign(r, spec);  // the string to sign carries the ISO form, 20261128T142000Z
  EXPECT_THAT(Verify(r), IsOk());

  spec.signed_headers = {"content-type", "host", "x-amz-target"};
  Sign(r, spec);
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature,
                                         "'Date' must be a 'SignedHeader' in the AWS "
                                         "Authorization."));

  r.Set("date", "Saturday, 28-Nov-26 14:20:00 GMT");
  EXPECT_THAT(Verify(r), HasError(ErrorCode::kIncompleteSignature));
}

TEST_F(SigV4Test, RejectsARequestSignedTwentyMinutesAgo) {
  SignSpec spec;
  spec.amz_date = "20261128T140000Z";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "Signature expired: 20261128T140000Z is now earlier than "
                              "20261128T141500Z (20261128T142000Z - 5 min.)"));
}

TEST_F(SigV4Test, RejectsARequestSignedTwentyMinutesAhead) {
  SignSpec spec;
  spec.amz_date = "20261128T144000Z";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "Signature not yet current: 20261128T144000Z is still later than "
                              "20261128T142500Z (20261128T142000Z + 5 min.)"));
}

TEST_F(SigV4Test, AcceptsExactlyFiveMinutesOfSkewEitherWay) {
  for (const char* date : {"20261128T141500Z", "20261128T142500Z"}) {
    SignSpec spec;
    spec.amz_date = date;
    EXPECT_THAT(Verify(SignedKmsRequest(spec)), IsOk()) << date;
  }
  for (const char* date : {"20261128T141459Z", "20261128T142501Z"}) {
    SignSpec spec;
    spec.amz_date = date;
    EXPECT_THAT(Verify(SignedKmsRequest(spec)), HasError(ErrorCode::kInvalidSignature)) << date;
  }
}

TEST_F(SigV4Test, AcceptsARequestSignedJustBeforeMidnightAfterTheDateChanged) {
  clock_->Set(AmzTime("20261129T000200Z"));
  SignSpec spec;
  spec.amz_date = "20261128T235900Z";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)), IsOk());
}

TEST_F(SigV4Test, RejectsAScopeDateThatDiffersFromXAmzDate) {
  SignSpec spec;
  spec.scope_date = "20261127";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                              "version of date from HTTP: '20261127' != '20261128', from "
                              "'20261128T142000Z'."));
}

TEST_F(SigV4Test, RejectsAScopeForAnotherService) {
  SignSpec spec;
  spec.service = "iam";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "Credential should be scoped to correct service: 'kms'. "));
}

TEST_F(SigV4Test, AcceptsEveryConfiguredServiceAndReportsIt) {
  auto verifier = MakeVerifier({"kms", "sts"});
  SignSpec spec;
  spec.service = "sts";
  Result<Identity> id = verifier->Verify(SignedKmsRequest(spec).View());
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->service, "sts");
}

TEST_F(SigV4Test, RejectsAScopeWithAnotherTerminator) {
  SignSpec spec;
  spec.terminator = "aws5_request";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "Credential should be scoped with a valid terminator: "
                              "'aws4_request', not 'aws5_request'."));
}

TEST_F(SigV4Test, RejectsARegionThePolicyDoesNotServe) {
  SignSpec spec;
  spec.region = "eu-central-1";
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "Credential should be scoped to a valid region, not "
                              "'eu-central-1'. "));
  spec.region = "us-east-1";
  Result<Identity> id = Verify(SignedKmsRequest(spec));
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->region, "us-east-1");
}

TEST_F(SigV4Test, RejectsAMalformedRegionEvenWithoutAPolicy) {
  auto verifier = SigV4Verifier::Create(
      [](std::string_view) -> Result<Credential> {
        return Credential{kAkid, "111122223333", "arn", crypto::SecretBytes(AsBytes(kSecret)), ""};
      },
      nullptr, clock_, {"kms"});
  SignSpec spec;
  spec.region = "eu-central-1";
  EXPECT_THAT(verifier->Verify(SignedKmsRequest(spec).View()), IsOk());
  for (const char* region : {"US-EAST-1", "us:east:1", "", "us_east_1"}) {
    spec.region = region;
    EXPECT_THAT(verifier->Verify(SignedKmsRequest(spec).View()),
                HasError(ErrorCode::kInvalidSignature))
        << region;
  }
}

TEST_F(SigV4Test, RejectsATamperedBody) {
  TestRequest r = SignedKmsRequest();
  r.body = R"({"Limit":1})";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));
  r.body = "";
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));
}

TEST_F(SigV4Test, RejectsATamperedSignedHeader) {
  TestRequest r = SignedKmsRequest();
  r.Set("x-amz-target", "TrentService.DisableKey");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));
}

TEST_F(SigV4Test, AcceptsExtraHeadersThatWereNotSigned) {
  TestRequest r = SignedKmsRequest();
  r.Set("user-agent", "aws-cli/2.15.0");
  r.Set("x-amz-meta-anything", "whatever");
  r.Set("content-length", "2");
  EXPECT_THAT(Verify(r), IsOk());
}

TEST_F(SigV4Test, RejectsASignedHeaderMissingFromTheRequest) {
  TestRequest r = SignedKmsRequest();
  r.headers.erase("x-amz-target");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kIncompleteSignature,
                                         "'x-amz-target' is named as a SignedHeader, but it does "
                                         "not exist in the HTTP request."));
}

TEST_F(SigV4Test, RequiresHostAndXAmzDateToBeSigned) {
  SignSpec spec;
  spec.signed_headers = {"content-type", "x-amz-date", "x-amz-target"};
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                              "Authorization."));
  spec.signed_headers = {"content-type", "host", "x-amz-target"};
  EXPECT_THAT(Verify(SignedKmsRequest(spec)),
              HasErrorMessage(ErrorCode::kInvalidSignature,
                              "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."));
  spec.signed_headers = {"host", "x-amz-date"};
  EXPECT_THAT(Verify(SignedKmsRequest(spec)), IsOk());
}

TEST_F(SigV4Test, CanonicalizesHeaderWhitespaceAndRepeatedHeaders) {
  TestRequest r = KmsRequest();
  r.headers.emplace("x-multi", " first  value ");
  r.headers.emplace("x-multi", "\tsecond");
  r.Set("content-type", "  application/x-amz-json-1.1   ");
  SignSpec spec;
  spec.signed_headers = {"content-type", "host", "x-amz-date", "x-amz-target", "x-multi"};
  Sign(r, spec);
  EXPECT_THAT(Verify(r), IsOk());

  // The front end may instead hand the repeated header over already joined.
  TestRequest joined = r;
  joined.headers.erase("x-multi");
  joined.headers.emplace("x-multi", "first value,second");
  EXPECT_THAT(Verify(joined), IsOk());
}

TEST_F(SigV4Test, AcceptsAMatchingContentSha256AndRejectsAnyOther) {
  TestRequest r = KmsRequest();
  r.Set("x-amz-content-sha256", RefSha256Hex(r.body));
  SignSpec spec;
  spec.signed_headers = {"content-type", "host", "x-amz-content-sha256", "x-amz-date",
                         "x-amz-target"};
  Sign(r, spec);
  EXPECT_THAT(Verify(r), IsOk());

  for (std::string claimed : {RefSha256Hex("{ }"), std::string("UNSIGNED-PAYLOAD"),
                              std::string("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), std::string()}) {
    r.Set("x-amz-content-sha256", claimed);
    Sign(r, spec);
    EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kInvalidSignature,
                                           "The provided 'x-amz-content-sha256' header does not "
                                           "match what was computed."))
        << claimed;
  }

  // Present but unsigned, it must still agree with the body.
  TestRequest unsigned_claim = SignedKmsRequest();
  unsigned_claim.Set("x-amz-content-sha256", RefSha256Hex("other"));
  EXPECT_THAT(Verify(unsigned_claim), HasError(ErrorCode::kInvalidSignature));
}

TEST_F(SigV4Test, RequiresTheSessionTokenOfTemporaryCredentials) {
  AddCredential(kAkid, kSecret, "session-token-1");
  TestRequest r = KmsRequest();
  SignWithSessionToken(r, "session-token-1");
  EXPECT_THAT(Verify(r), IsOk());

  // Unsigned tokens are accepted, as AWS accepts them (some SDKs add the header after signing).
  TestRequest unsigned_token = SignedKmsRequest();
  unsigned_token.Set("x-amz-security-token", "session-token-1");
  EXPECT_THAT(Verify(unsigned_token), IsOk());

  SignWithSessionToken(r, "session-token-2");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kUnrecognizedClient, kInvalidToken));

  EXPECT_THAT(Verify(SignedKmsRequest()),
              HasErrorMessage(ErrorCode::kUnrecognizedClient, kInvalidToken));

  // The digest itself is not the token.
  SignWithSessionToken(r, RefSha256Hex("session-token-1"));
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kUnrecognizedClient, kInvalidToken));
}

TEST_F(SigV4Test, RejectsASessionTokenForPermanentCredentials) {
  TestRequest r = KmsRequest();
  SignWithSessionToken(r, "session-token-1");
  EXPECT_THAT(Verify(r), HasErrorMessage(ErrorCode::kUnrecognizedClient, kInvalidToken));
}

// ----- The signing-key cache. -----

TEST_F(SigV4Test, CachesTheSigningKeyButLooksTheCredentialUpEveryTime) {
  const TestRequest r = SignedKmsRequest();
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(Verify(r), IsOk());
  }
  internal::SigningKeyCache::Stats stats = verifier_->CacheStats();
  EXPECT_EQ(stats.size, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 4u);
  EXPECT_EQ(lookups_.load(), 5);
}

TEST_F(SigV4Test, DoesNotCacheKeysThatVerifiedNothing) {
  SignSpec spec;
  spec.secret = "wrong";
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Verify(SignedKmsRequest(spec)), HasError(ErrorCode::kInvalidSignature));
  }
  EXPECT_EQ(verifier_->CacheStats().size, 0u);
}

TEST_F(SigV4Test, ReDerivesTheSigningKeyWhenTheSecretChanges) {
  const TestRequest old_request = SignedKmsRequest();
  ASSERT_THAT(Verify(old_request), IsOk());
  ASSERT_THAT(Verify(old_request), IsOk());

  AddCredential(kAkid, "rotated/secret+EXAMPLEKEY0000000000000");
  EXPECT_THAT(Verify(old_request),
              HasErrorMessage(ErrorCode::kInvalidSignature, kSignatureMismatch));
  SignSpec spec;
  spec.secret = "rotated/secret+EXAMPLEKEY0000000000000";
  const TestRequest new_request = SignedKmsRequest(spec);
  EXPECT_THAT(Verify(new_request), IsOk());
  EXPECT_THAT(Verify(new_request), IsOk());
  EXPECT_THAT(Verify(old_request), HasError(ErrorCode::kInvalidSignature));
  EXPECT_EQ(verifier_->CacheStats().size, 1u);

  AddCredential(kAkid, kSecret);  // rolled back
  EXPECT_THAT(Verify(old_request), IsOk());
  EXPECT_THAT(Verify(new_request), HasError(ErrorCode::kInvalidSignature));
}

TEST_F(SigV4Test, KeepsTheCacheWithinItsCapacity) {
  auto verifier = MakeVerifier({"kms"}, /*capacity=*/2);
  for (int i = 0; i < 5; ++i) {
    const std::string akid = "AKIAEXAMPLE" + std::to_string(i);
    AddCredential(akid, kSecret);
    SignSpec spec;
    spec.akid = akid;
    EXPECT_THAT(verifier->Verify(SignedKmsRequest(spec).View()), IsOk());
  }
  EXPECT_EQ(verifier->CacheStats().size, 2u);
  EXPECT_EQ(verifier->CacheStats().misses, 5u);

  auto no_cache = MakeVerifier({"kms"}, /*capacity=*/0);
  EXPECT_THAT(no_cache->Verify(SignedKmsRequest().View()), IsOk());
  EXPECT_THAT(no_cache->Verify(SignedKmsRequest().View()), IsOk());
  EXPECT_EQ(no_cache->CacheStats().size, 0u);
}

TEST_F(SigV4Test, EvictsTheLeastRecentlyUsedKey) {
  auto verifier = MakeVerifier({"kms"}, /*capacity=*/2);
  std::vector<TestRequest> requests;
  for (int i = 0; i < 3; ++i) {
    const std::string akid = "AKIAEXAMPLE" + std::to_string(i);
    AddCredential(akid, kSecret);
    SignSpec spec;
    spec.akid = akid;
    requests.push_back(SignedKmsRequest(spec));
  }
  ASSERT_THAT(verifier->Verify(requests[0].View()), IsOk());  // miss: {0}
  ASSERT_THAT(verifier->Verify(requests[1].View()), IsOk());  // miss: {1, 0}
  ASSERT_THAT(verifier->Verify(requests[0].View()), IsOk());  // hit:  {0, 1}
  ASSERT_THAT(verifier->Verify(requests[2].View()), IsOk());  // miss: {2, 0}, 1 evicted
  ASSERT_THAT(verifier->Verify(requests[0].View()), IsOk());  // hit
  ASSERT_THAT(verifier->Verify(requests[1].View()), IsOk());  // miss
  EXPECT_EQ(verifier->CacheStats().hits, 2u);
  EXPECT_EQ(verifier->CacheStats().misses, 4u);
}

TEST_F(SigV4Test, VerifiesConcurrentlyFromManyThreads) {
  std::vector<TestRequest> requests;
  for (int i = 0; i < 4; ++i) {
    const std::string akid = "AKIATHREAD" + std::to_string(i);
    AddCredential(akid, kSecret + std::to_string(i));
    SignSpec spec;
    spec.akid = akid;
    spec.secret = kSecret + std::to_string(i);
    requests.push_back(SignedKmsRequest(spec));
  }
  auto verifier = MakeVerifier({"kms"}, /*capacity=*/2);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (!verifier->Verify(requests[(t + i) % requests.size()].View()).has_value()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(verifier->CacheStats().size, 2u);
}

// ----- The canonicalization pieces. -----

TEST(SigV4Canonical, DerivesTheSigningKeyOfTheAwsDocumentationExample) {
  crypto::SecretBytes secret(AsBytes("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
  crypto::SecretBytes key = internal::DeriveSigningKey(secret, "20150830", "us-east-1", "iam");
  EXPECT_EQ(HexEncode(key.Reveal(crypto::KeyAccess::Grant())),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(SigV4Canonical, NormalizesAndReEncodesThePathLikeBotocore) {
  using internal::CanonicalUri;
  EXPECT_EQ(CanonicalUri(""), "/");
  EXPECT_EQ(CanonicalUri("/"), "/");
  EXPECT_EQ(CanonicalUri("//"), "/");
  EXPECT_EQ(CanonicalUri("/.."), "/");
  EXPECT_EQ(CanonicalUri("/./example/.."), "/");
  EXPECT_EQ(CanonicalUri("//example//"), "/example/");
  EXPECT_EQ(CanonicalUri("/a%20b/./c/../d//e%2Ff/"), "/a%2520b/d/e%252Ff/");
  EXPECT_EQ(CanonicalUri("/example space/"), "/example%20space/");
  EXPECT_EQ(CanonicalUri("/~user/a-b_c.d"), "/~user/a-b_c.d");
  EXPECT_EQ(CanonicalUri("/\xe1\x88\xb4"), "/%E1%88%B4");
}

TEST(SigV4Canonical, SortsAndReEncodesTheQuery) {
  using internal::CanonicalQueryString;
  using internal::ParseQuery;
  EXPECT_EQ(CanonicalQueryString(ParseQuery("")), "");
  EXPECT_EQ(CanonicalQueryString(ParseQuery("b=2&a=z&a=1&c=x%20y&empty=&flag")),
            "a=1&a=z&b=2&c=x%20y&empty=&flag=");
  EXPECT_EQ(CanonicalQueryString(ParseQuery("Param2=value2&Param1=value1")),
            "Param1=value1&Param2=value2");
  EXPECT_EQ(CanonicalQueryString(ParseQuery("k=a%2fb&k2=a+b&k3=%7e%41&k4=%zz")),
            "k=a%2Fb&k2=a%2Bb&k3=~A&k4=%25zz");
  EXPECT_EQ(CanonicalQueryString(ParseQuery("a=1&&b=2")), "a=1&b=2");
  // Upper case sorts before lower case (byte order), as the test suite's get-vanilla-query-order.
  EXPECT_EQ(CanonicalQueryString(ParseQuery("a=1&B=2")), "B=2&a=1");
  EXPECT_EQ(CanonicalQueryString(ParseQuery("X-Amz-Signature=abc&z=1"), "X-Amz-Signature"), "z=1");
}

TEST(SigV4Canonical, TrimsAndCollapsesHeaderValues) {
  using internal::TrimAll;
  EXPECT_EQ(TrimAll(""), "");
  EXPECT_EQ(TrimAll("   "), "");
  EXPECT_EQ(TrimAll("  a   b  "), "a b");
  EXPECT_EQ(TrimAll("a\t\tb"), "a b");
  EXPECT_EQ(TrimAll("application/x-www-form-urlencoded; charset=utf-8"),
            "application/x-www-form-urlencoded; charset=utf-8");
}

TEST(SigV4Canonical, ParsesAndFormatsIsoBasicDates) {
  using internal::FormatAmzDate;
  using internal::ParseAmzDate;
  EXPECT_EQ(ParseAmzDate("19700101T000000Z"), 0);
  EXPECT_EQ(ParseAmzDate("20150830T123600Z"), 1440938160);
  EXPECT_EQ(ParseAmzDate("20240229T235959Z"), 1709251199);
  EXPECT_EQ(FormatAmzDate(1440938160), "20150830T123600Z");
  EXPECT_EQ(FormatAmzDate(*ParseAmzDate(kNow)), kNow);
  for (const char* bad :
       {"", "20150830T123600", "20150830T123600ZZ", "2015083OT123600Z", "20150830 123600Z",
        "20150230T123600Z", "20230229T000000Z", "20150830T240000Z", "20150830T126000Z",
        "20150830T123660Z", "20150830T1236+0Z", "-0150830T123600Z"}) {
    EXPECT_FALSE(ParseAmzDate(bad).has_value()) << bad;
  }
}

TEST(SigV4Canonical, ParsesHttpDates) {
  using internal::ParseHttpDate;
  EXPECT_EQ(ParseHttpDate("Sun, 30 Aug 2015 12:36:00 GMT"), 1440938160);
  EXPECT_EQ(ParseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  for (const char* bad : {"", "Sun, 30 Aug 2015 12:36:00 UTC", "Sunday, 30-Aug-15 12:36:00 GMT",
                          "Sun Aug 30 12:36:00 2015", "Sun, 30 Foo 2015 12:36:00 GMT",
                          "Sun, 31 Sep 2015 12:36:00 GMT", "Xyz, 30 Aug 2015 12:36:00 GMT"}) {
    EXPECT_FALSE(ParseHttpDate(bad).has_value()) << bad;
  }
}

TEST(SigV4Canonical, RedactsSignaturesAndControlCharactersFromQuotedText) {
  using internal::RedactForMessage;
  EXPECT_EQ(RedactForMessage("A Signature=abc, B=1 Signature=def"),
            "A Signature=<redacted>, B=1 Signature=<redacted>");
  EXPECT_EQ(RedactForMessage("a\r\nb\x01"), "a??b?");
  EXPECT_EQ(RedactForMessage(std::string(2000, 'x')).size(), 515u);
}

}  // namespace
}  // namespace scytale::auth

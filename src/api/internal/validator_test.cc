#include "api/internal/validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"

namespace scytale::api::internal {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const ModelValidator& Validator() {
  static const std::unique_ptr<ModelValidator> validator = [] {
    auto created = ModelValidator::Create();
    if (!created.has_value()) {
      ADD_FAILURE() << "Create failed: " << created.error().message;
      std::abort();
    }
    return std::move(*created);
  }();
  return *validator;
}

Status Check(std::string_view op, const json& body) { return Validator().Validate(op, body); }

// The message of a ValidationException, or a description of what came back instead.
std::string ValidationMessage(std::string_view op, const json& body) {
  Status s = Check(op, body);
  if (s.has_value()) {
    return "<ok>";
  }
  if (s.error().code != ErrorCode::kValidation) {
    return "<code " + std::to_string(static_cast<int>(s.error().code)) + ">: " + s.error().message;
  }
  return s.error().message;
}

std::string SerializationMessage(std::string_view op, const json& body) {
  Status s = Check(op, body);
  if (s.has_value()) {
    return "<ok>";
  }
  if (s.error().code != ErrorCode::kSerialization) {
    return "<code " + std::to_string(static_cast<int>(s.error().code)) + ">: " + s.error().message;
  }
  return s.error().message;
}

std::string OneError(const std::string& violation) {
  return "1 validation error detected: " + violation;
}

std::string Blob(size_t n, uint8_t fill = 0x41) {
  return Base64Encode(std::vector<uint8_t>(n, fill));
}

// ---------------------------------------------------------------------------------------------
// The model

TEST(ModelValidator, LoadsAll54OperationsOfTheEmbeddedModel) {
  const std::vector<std::string> ops = Validator().Operations();
  EXPECT_EQ(ops.size(), 54u);
  for (const char* op : {"CreateKey", "Encrypt", "Decrypt", "ReEncrypt", "DeriveSharedSecret",
                         "GetKeyLastUsage", "ListKeyRotations", "RotateKeyOnDemand"}) {
    EXPECT_TRUE(Validator().HasOperation(op)) << op;
  }
  EXPECT_FALSE(Validator().HasOperation("Encapsulate"));
  EXPECT_FALSE(Validator().HasOperation("createkey"));
  EXPECT_FALSE(Validator().HasOperation(""));
}

TEST(ModelValidator, EveryOperationValidatesAnEmptyObjectWithOnlyNotNullErrors) {
  int with_required = 0;
  for (const std::string& op : Validator().Operations()) {
    Status s = Check(op, json::object());
    if (s.has_value()) {
      continue;
    }
    ++with_required;
    ASSERT_EQ(s.error().code, ErrorCode::kValidation) << op << ": " << s.error().message;
    const std::string& msg = s.error().message;
    EXPECT_THAT(msg, HasSubstr("validation error")) << op;
    const std::string body = msg.substr(msg.find("detected: ") + 10);
    size_t start = 0;
    while (start <= body.size()) {
      size_t end = body.find("; ", start);
      const std::string one = body.substr(start, end == std::string::npos ? end : end - start);
      EXPECT_THAT(one, StartsWith("Value null at '")) << op;
      EXPECT_THAT(one, testing::EndsWith("' failed to satisfy constraint: Member must not be null"))
          << op;
      if (end == std::string::npos) {
        break;
      }
      start = end + 2;
    }
  }
  EXPECT_GT(with_required, 40);
  EXPECT_EQ(ValidationMessage("Encrypt", json::object()),
            "2 validation errors detected: "
            "Value null at 'keyId' failed to satisfy constraint: Member must not be null; "
            "Value null at 'plaintext' failed to satisfy constraint: Member must not be null");
  EXPECT_EQ(ValidationMessage("ListKeys", json::object()), "<ok>");
  EXPECT_EQ(ValidationMessage("CreateKey", json::object()), "<ok>");
}

TEST(ModelValidator, UnknownOperationIsRejected) {
  Status s = Check("Encapsulate", json::object());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnknownOperation);
}

// ---------------------------------------------------------------------------------------------
// JSON types (SerializationException)

TEST(ModelValidator, BodyThatIsNotAnObjectIsASerializationError) {
  for (const json& body : {json::array(), json("x"), json(5), json(nullptr), json(true)}) {
    Status s = Check("ListKeys", body);
    ASSERT_FALSE(s.has_value()) << body.dump();
    EXPECT_EQ(s.error().code, ErrorCode::kSerialization) << body.dump();
  }
  EXPECT_THAT(SerializationMessage("ListKeys", json::array()),
              StartsWith("Start of list found where not expected"));
}

TEST(ModelValidator, IntegerMemberGivenAsStringOrFractionIsASerializationError) {
  EXPECT_THAT(SerializationMessage("ListKeys", {{"Limit", "5"}}),
              AllOf(HasSubstr("'limit'"), HasSubstr("integer")));
  EXPECT_THAT(SerializationMessage("ListKeys", {{"Limit", 5.5}}), HasSubstr("'limit'"));
  EXPECT_THAT(SerializationMessage("ListKeys", {{"Limit", true}}), HasSubstr("'limit'"));
  EXPECT_THAT(SerializationMessage("ListKeys", {{"Limit", json::array({5})}}),
              StartsWith("Start of list found where not expected"));
  EXPECT_THAT(SerializationMessage("ListKeys", {{"Limit", {{"n", 5}}}}),
              StartsWith("Start of structure or map found where not expected"));
  // Outside Java's int: Jackson fails before validation.
  EXPECT_THAT(SerializationMessage("ListKeys", {{"Limit", 4294967296LL}}), HasSubstr("'limit'"));
  EXPECT_THAT(SerializationMessage("ListKeys", {{"Limit", 18446744073709551615ULL}}),
              HasSubstr("'limit'"));
}

TEST(ModelValidator, StringBooleanTimestampAndStructureMembersAreTypeChecked) {
  EXPECT_THAT(SerializationMessage("DescribeKey", {{"KeyId", 123}}), HasSubstr("'keyId'"));
  EXPECT_THAT(SerializationMessage("CreateKey", {{"BypassPolicyLockoutSafetyCheck", "true"}}),
              HasSubstr("'bypassPolicyLockoutSafetyCheck'"));
  EXPECT_THAT(SerializationMessage("ImportKeyMaterial", {{"KeyId", "k"},
                                                         {"ImportToken", Blob(8)},
                                                         {"EncryptedKeyMaterial", Blob(8)},
                                                         {"ValidTo", "2030-01-01T00:00:00Z"}}),
              HasSubstr("'validTo'"));
  EXPECT_THAT(SerializationMessage("CreateGrant", {{"KeyId", "k"},
                                                   {"GranteePrincipal", "p"},
                                                   {"Operations", {"Encrypt"}},
                                                   {"Constraints", "x"}}),
              HasSubstr("'constraints'"));
  EXPECT_THAT(
      SerializationMessage("CreateKey", {{"Tags", {{"TagKey", "k"}}}}),
      AllOf(StartsWith("Start of structure or map found where not expected"), HasSubstr("'tags'")));
  EXPECT_THAT(SerializationMessage("CreateKey", {{"Tags", {"x"}}}), HasSubstr("'tags.1.member'"));
}

TEST(ModelValidator, EncryptionContextMustMapStringsToStrings) {
  const json ok = {{"KeyId", "k"}, {"Plaintext", Blob(3)}, {"EncryptionContext", {{"a", "b"}}}};
  EXPECT_EQ(ValidationMessage("Encrypt", ok), "<ok>");
  json bad = ok;
  bad["EncryptionContext"] = {{"purpose", 5}};
  EXPECT_THAT(SerializationMessage("Encrypt", bad), HasSubstr("'encryptionContext.purpose'"));
  bad["EncryptionContext"] = {{"purpose", {{"nested", "x"}}}};
  EXPECT_THAT(SerializationMessage("Encrypt", bad),
              StartsWith("Start of structure or map found where not expected"));
  bad["EncryptionContext"] = json::array({"a", "b"});
  EXPECT_THAT(SerializationMessage("Encrypt", bad), HasSubstr("'encryptionContext'"));
  bad["EncryptionContext"] = {{"purpose", nullptr}};
  EXPECT_EQ(ValidationMessage("Encrypt", bad),
            OneError("Value '{purpose=null}' at 'encryptionContext' failed to satisfy "
                     "constraint: Map value must satisfy constraint: [Member must not be null]"));
}

TEST(ModelValidator, BlobMustBeStrictBase64) {
  for (const char* text : {"not base64!", "Zg=", "Zm9", "Zm 9", "Zg==Zg=="}) {
    Status s = Check("Encrypt", {{"KeyId", "k"}, {"Plaintext", text}});
    ASSERT_FALSE(s.has_value()) << text;
    EXPECT_EQ(s.error().code, ErrorCode::kSerialization) << text;
    EXPECT_THAT(s.error().message, HasSubstr("'plaintext'"));
    EXPECT_THAT(s.error().message, Not(HasSubstr(text)));
  }
  EXPECT_THAT(SerializationMessage("Encrypt", {{"KeyId", "k"}, {"Plaintext", 12}}),
              HasSubstr("'plaintext'"));
}

TEST(ModelValidator, TypeErrorWinsOverConstraintViolations) {
  EXPECT_THAT(SerializationMessage("DescribeKey", {{"KeyId", ""}, {"GrantTokens", 5}}),
              HasSubstr("'grantTokens'"));
}

// ---------------------------------------------------------------------------------------------
// Required, null and unknown members

TEST(ModelValidator, MissingOrNullRequiredMemberIsReportedAsNull) {
  const std::string expected =
      OneError("Value null at 'keyId' failed to satisfy constraint: Member must not be null");
  EXPECT_EQ(ValidationMessage("DescribeKey", json::object()), expected);
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", nullptr}}), expected);
  // An optional member given as null is simply absent.
  EXPECT_EQ(ValidationMessage("ListKeys", {{"Limit", nullptr}, {"Marker", nullptr}}), "<ok>");
}

TEST(ModelValidator, UnknownMembersAreIgnored) {
  EXPECT_EQ(
      ValidationMessage("DescribeKey", {{"KeyId", "k"}, {"keyId", 5}, {"Extra", {{"x", {1, 2}}}}}),
      "<ok>");
}

// ---------------------------------------------------------------------------------------------
// Lengths, ranges and enums

TEST(ModelValidator, DescribeKeyRejectsEmptyKeyId) {
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", ""}}),
            OneError("Value '' at 'keyId' failed to satisfy constraint: Member must have length "
                     "greater than or equal to 1"));
}

TEST(ModelValidator, DescribeKeyRejectsKeyIdLongerThan2048Characters) {
  const std::string long_id(2049, 'a');
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", long_id}}),
            OneError("Value '" + long_id +
                     "' at 'keyId' failed to satisfy constraint: Member must have length less "
                     "than or equal to 2048"));
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", std::string(2048, 'a')}}), "<ok>");
}

TEST(ModelValidator, StringLengthCountsCharactersNotBytes) {
  std::string two_byte_chars;
  for (int i = 0; i < 2048; ++i) {
    two_byte_chars += "\xC3\xA9";  // U+00E9
  }
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", two_byte_chars}}), "<ok>");
  EXPECT_THAT(ValidationMessage("DescribeKey", {{"KeyId", two_byte_chars + "x"}}),
              HasSubstr("less than or equal to 2048"));
}

TEST(ModelValidator, ListKeysLimitMustBeBetween1And1000) {
  EXPECT_EQ(ValidationMessage("ListKeys", {{"Limit", 0}}),
            OneError("Value '0' at 'limit' failed to satisfy constraint: Member must have value "
                     "greater than or equal to 1"));
  EXPECT_EQ(ValidationMessage("ListKeys", {{"Limit", 1001}}),
            OneError("Value '1001' at 'limit' failed to satisfy constraint: Member must have "
                     "value less than or equal to 1000"));
  EXPECT_EQ(ValidationMessage("ListKeys", {{"Limit", -7}}),
            OneError("Value '-7' at 'limit' failed to satisfy constraint: Member must have value "
                     "greater than or equal to 1"));
  EXPECT_EQ(ValidationMessage("ListKeys", {{"Limit", 1}}), "<ok>");
  EXPECT_EQ(ValidationMessage("ListKeys", {{"Limit", 1000}}), "<ok>");
}

TEST(ModelValidator, GenerateDataKeyRejectsMoreThan1024Bytes) {
  EXPECT_EQ(ValidationMessage("GenerateDataKey", {{"KeyId", "k"}, {"NumberOfBytes", 1025}}),
            OneError("Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must "
                     "have value less than or equal to 1024"));
  EXPECT_EQ(ValidationMessage("GenerateDataKey", {{"KeyId", "k"}, {"NumberOfBytes", 1024}}),
            "<ok>");
}

TEST(ModelValidator, CreateKeyRejectsUnknownKeySpecListingTheEnumInModelOrder) {
  EXPECT_EQ(ValidationMessage("CreateKey", {{"KeySpec", "AES_256"}}),
            OneError("Value 'AES_256' at 'keySpec' failed to satisfy constraint: Member must "
                     "satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, "
                     "ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, SYMMETRIC_DEFAULT, HMAC_224, "
                     "HMAC_256, HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, "
                     "ECC_NIST_EDWARDS25519]"));
  // Enums are case-sensitive.
  EXPECT_THAT(ValidationMessage("CreateKey", {{"KeySpec", "symmetric_default"}}),
              HasSubstr("enum value set"));
  EXPECT_EQ(ValidationMessage("CreateKey", {{"KeySpec", "ML_DSA_65"}}), "<ok>");
}

TEST(ModelValidator, EncryptPlaintextLengthIsCheckedOnDecodedBytesWithoutShowingTheValue) {
  const std::string big = Blob(4097);
  const std::string msg = ValidationMessage("Encrypt", {{"KeyId", "k"}, {"Plaintext", big}});
  EXPECT_EQ(msg, OneError("Value at 'plaintext' failed to satisfy constraint: Member must have "
                          "length less than or equal to 4096"));
  EXPECT_THAT(msg, Not(HasSubstr("QUFB")));
  EXPECT_EQ(ValidationMessage("Encrypt", {{"KeyId", "k"}, {"Plaintext", Blob(4096)}}), "<ok>");
  EXPECT_EQ(ValidationMessage("Encrypt", {{"KeyId", "k"}, {"Plaintext", ""}}),
            OneError("Value at 'plaintext' failed to satisfy constraint: Member must have length "
                     "greater than or equal to 1"));
}

TEST(ModelValidator, NonSensitiveBlobValuesAreNotShownEither) {
  EXPECT_EQ(ValidationMessage("Decrypt", {{"CiphertextBlob", Blob(6145)}}),
            OneError("Value at 'ciphertextBlob' failed to satisfy constraint: Member must have "
                     "length less than or equal to 6144"));
}

TEST(ModelValidator, SensitiveStringValuesAreNeverShown) {
  EXPECT_EQ(ValidationMessage("CreateCustomKeyStore",
                              {{"CustomKeyStoreName", "s"}, {"KeyStorePassword", "short"}}),
            OneError("Value at 'keyStorePassword' failed to satisfy constraint: Member must "
                     "have length greater than or equal to 7"));
  const std::string msg = ValidationMessage(
      "CreateCustomKeyStore",
      {{"CustomKeyStoreName", "s"},
       {"XksProxyAuthenticationCredential", {{"AccessKeyId", "ABCDEFGHIJKLMNOPQRS1"}}}});
  EXPECT_EQ(msg,
            "2 validation errors detected: Value at "
            "'xksProxyAuthenticationCredential.accessKeyId' failed to satisfy constraint: Member "
            "must satisfy regular expression pattern: ^[A-Z2-7]+$; Value null at "
            "'xksProxyAuthenticationCredential.rawSecretAccessKey' failed to satisfy constraint: "
            "Member must not be null");
  EXPECT_THAT(msg, Not(HasSubstr("ABCDEFGHIJKLMNOPQRS1")));
}

// ---------------------------------------------------------------------------------------------
// Lists, maps and nested structures

TEST(ModelValidator, TagKeyTooLongIsReportedAtItsListPath) {
  const std::string key(129, 'k');
  EXPECT_EQ(
      ValidationMessage(
          "CreateKey",
          {{"Tags", {{{"TagKey", "ok"}, {"TagValue", ""}}, {{"TagKey", key}, {"TagValue", "v"}}}}}),
      OneError("Value '" + key +
               "' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have "
               "length less than or equal to 128"));
  EXPECT_EQ(ValidationMessage("TagResource", {{"KeyId", "k"}, {"Tags", {{{"TagKey", key}}}}}),
            "2 validation errors detected: Value '" + key +
                "' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have "
                "length less than or equal to 128; Value null at 'tags.1.member.tagValue' failed "
                "to satisfy constraint: Member must not be null");
  EXPECT_EQ(ValidationMessage("TagResource", {{"KeyId", "k"}, {"Tags", {nullptr}}}),
            OneError("Value null at 'tags.1.member' failed to satisfy constraint: Member must "
                     "not be null"));
}

TEST(ModelValidator, GrantTokensAreLimitedToTen) {
  json tokens = json::array();
  for (int i = 0; i < 11; ++i) {
    tokens.push_back("t" + std::to_string(i));
  }
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", "k"}, {"GrantTokens", tokens}}),
            OneError("Value '[t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10]' at 'grantTokens' "
                     "failed to satisfy constraint: Member must have length less than or equal "
                     "to 10"));
  tokens.erase(tokens.size() - 1);
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", "k"}, {"GrantTokens", tokens}}), "<ok>");
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", "k"}, {"GrantTokens", json::array()}}),
            "<ok>");
}

TEST(ModelValidator, ScalarListElementsAreReportedOnTheListAsCoralDoes) {
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", "k"}, {"GrantTokens", {"a", ""}}}),
            OneError("Value '[a, ]' at 'grantTokens' failed to satisfy constraint: Member must "
                     "satisfy constraint: [Member must have length greater than or equal to 1]"));
  EXPECT_EQ(ValidationMessage("DescribeKey", {{"KeyId", "k"}, {"GrantTokens", {"a", nullptr}}}),
            OneError("Value '[a, null]' at 'grantTokens' failed to satisfy constraint: Member "
                     "must satisfy constraint: [Member must not be null]"));
  EXPECT_EQ(
      ValidationMessage(
          "CreateGrant",
          {{"KeyId", "k"}, {"GranteePrincipal", "p"}, {"Operations", {"Encrypt", "Bogus"}}}),
      OneError("Value '[Encrypt, Bogus]' at 'operations' failed to satisfy constraint: Member "
               "must satisfy constraint: [Member must satisfy enum value set: [Decrypt, Encrypt, "
               "GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom, ReEncryptTo, "
               "Sign, Verify, GetPublicKey, CreateGrant, RetireGrant, DescribeKey, "
               "GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, GenerateMac, VerifyMac, "
               "DeriveSharedSecret]]"));
}

TEST(ModelValidator, MultipleViolationsAreCountedAndJoinedInModelOrder) {
  json tokens = json::array();
  for (int i = 0; i < 11; ++i) {
    tokens.push_back("g");
  }
  EXPECT_EQ(
      ValidationMessage("CreateGrant", {{"KeyId", ""},
                                        {"Operations", {"Decrypt"}},
                                        {"GrantTokens", tokens},
                                        {"Name", "bad name"}}),
      "4 validation errors detected: "
      "Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or "
      "equal to 1; "
      "Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null; "
      "Value '[g, g, g, g, g, g, g, g, g, g, g]' at 'grantTokens' failed to satisfy constraint: "
      "Member must have length less than or equal to 10; "
      "Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular "
      "expression pattern: ^[a-zA-Z0-9:/_-]+$");
}

// ---------------------------------------------------------------------------------------------
// Patterns

TEST(ModelValidator, CreateAliasRejectsAliasNameOutsideThePattern) {
  EXPECT_EQ(ValidationMessage("CreateAlias", {{"AliasName", "alias/my key"}, {"TargetKeyId", "k"}}),
            OneError("Value 'alias/my key' at 'aliasName' failed to satisfy constraint: Member "
                     "must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"));
  EXPECT_EQ(ValidationMessage("CreateAlias",
                              {{"AliasName", "alias/Prod_key-1:x/y"}, {"TargetKeyId", "k"}}),
            "<ok>");
  // Both the length and the pattern fail for an empty name.
  EXPECT_EQ(ValidationMessage("CreateAlias", {{"AliasName", ""}, {"TargetKeyId", "k"}}),
            "2 validation errors detected: Value '' at 'aliasName' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1; Value '' at "
            "'aliasName' failed to satisfy constraint: Member must satisfy regular expression "
            "pattern: ^[a-zA-Z0-9:/_-]+$");
}

struct PatternCase {
  const char* op;
  const char* member;
  const char* value;
  bool matches;
};

// Members a case needs besides the one under test (the operation's required members).
json BaseBody(std::string_view op) {
  if (op == "CreateCustomKeyStore") {
    return {{"CustomKeyStoreName", "store"}};
  }
  if (op == "ReplicateKey") {
    return {{"KeyId", "k"}};
  }
  if (op == "ListRetirableGrants") {
    return json::object();
  }
  if (op == "CreateGrant") {
    return {{"KeyId", "k"}, {"GranteePrincipal", "p"}, {"Operations", {"Encrypt"}}};
  }
  if (op == "ImportKeyMaterial") {
    return {{"KeyId", "k"}, {"ImportToken", "AAAA"}, {"EncryptedKeyMaterial", "AAAA"}};
  }
  return {{"KeyId", "k"}};
}

TEST(ModelValidator, EveryModelPatternBehavesAsJavaMatches) {
  const std::string hex64(64, 'a');
  const std::string upper64(64, 'A');
  const PatternCase cases[] = {
      // AccountIdType [0-9]{12} (unanchored in the model; Java's matches() is whole-string)
      {"CreateCustomKeyStore", "XksProxyVpcEndpointServiceOwner", "123456789012", true},
      {"CreateCustomKeyStore", "XksProxyVpcEndpointServiceOwner", "12345678901a", false},
      // AliasNameType / GrantNameType ^[a-zA-Z0-9:/_-]+$
      {"CreateGrant", "Name", "grant-1_a:b/c", true},
      {"CreateGrant", "Name", "grant.1", false},
      // BackingKeyIdType ^[a-f0-9]+$
      {"DeleteImportedKeyMaterial", "KeyMaterialId", hex64.c_str(), true},
      {"DeleteImportedKeyMaterial", "KeyMaterialId", upper64.c_str(), false},
      // CloudHsmClusterIdType cluster-[2-7a-zA-Z]{11,16}
      {"CreateCustomKeyStore", "CloudHsmClusterId", "cluster-234567abcdeF", true},
      {"CreateCustomKeyStore", "CloudHsmClusterId", "cluster-1234567abcde", false},
      {"CreateCustomKeyStore", "CloudHsmClusterId", "xcluster-234567abcde", false},
      // KeyMaterialDescriptionType ^[a-zA-Z0-9:/_\s.-]+$
      {"ImportKeyMaterial", "KeyMaterialDescription", "key v1.2 / import_x-y:z\tnow", true},
      {"ImportKeyMaterial", "KeyMaterialDescription", "bad!", false},
      // Java's \s is [ \t\n\x0B\f\r]: no U+00A0 or U+0085.
      {"ImportKeyMaterial", "KeyMaterialDescription", "a\x0B\x0C\r\nb", true},
      {"ImportKeyMaterial", "KeyMaterialDescription", "a\u00A0b", false},
      {"ImportKeyMaterial", "KeyMaterialDescription", "a\u0085b", false},
      // MarkerType [\u0020-\u00FF]*
      {"ListKeys", "Marker", "next page \xC3\xBF~", true},
      {"ListKeys", "Marker", "tab\there", false},
      {"ListKeys", "Marker", "\xC4\x80", false},  // U+0100
      // PolicyNameType [\w]+ (Java's \w is ASCII-only)
      {"GetKeyPolicy", "PolicyName", "default_2", true},
      {"GetKeyPolicy", "PolicyName", "de-fault", false},
      {"GetKeyPolicy", "PolicyName", "caf\xC3\xA9", false},  // U+00E9
      // PrincipalIdType ^[\w+=,.@:/-]+$
      {"ListRetirableGrants", "RetiringPrincipal",
       "arn:aws:iam::123456789012:role/My+Role=x,y.z@w-1", true},
      {"ListRetirableGrants", "RetiringPrincipal", "arn:aws:iam::1:role/a b", false},
      // RegionType ^([a-z]+-){2,3}\d+$
      {"ReplicateKey", "ReplicaRegion", "us-west-2", true},
      {"ReplicateKey", "ReplicaRegion", "us-gov-west-1", true},
      {"ReplicateKey", "ReplicaRegion", "uswest2", false},
      {"ReplicateKey", "ReplicaRegion", "us-west-", false},
      {"ReplicateKey", "ReplicaRegion", "a-b-c-d-1", false},
      {"ReplicateKey", "ReplicaRegion", "us-west-\xD9\xA3", false},  // U+0663, not ASCII \d
      // XksKeyIdType ^[a-zA-Z0-9-_.]+$ ('-' after a range is literal in Java)
      {"CreateKey", "XksKeyId", "key-1_2.3", true},
      {"CreateKey", "XksKeyId", "key/1", false},
      // XksProxyUriEndpointType ^https://[a-zA-Z0-9.-]+$
      {"CreateCustomKeyStore", "XksProxyUriEndpoint", "https://xks.example-1.com", true},
      {"CreateCustomKeyStore", "XksProxyUriEndpoint", "http://xks.example.com", false},
      {"CreateCustomKeyStore", "XksProxyUriEndpoint", "https://xks.example.com/", false},
      // XksProxyUriPathType ^(/[a-zA-Z0-9\/_-]+/kms/xks/v\d{1,2})$|^(/kms/xks/v\d{1,2})$
      {"CreateCustomKeyStore", "XksProxyUriPath", "/kms/xks/v1", true},
      {"CreateCustomKeyStore", "XksProxyUriPath", "/my/prefix_1/kms/xks/v12", true},
      {"CreateCustomKeyStore", "XksProxyUriPath", "/kms/xks/v123", false},
      {"CreateCustomKeyStore", "XksProxyUriPath", "/kms/xks/vX1", false},
      {"CreateCustomKeyStore", "XksProxyUriPath", "/a b/kms/xks/v1", false},
      // XksProxyVpcEndpointServiceNameType
      {"CreateCustomKeyStore", "XksProxyVpcEndpointServiceName",
       "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0", true},
      {"CreateCustomKeyStore", "XksProxyVpcEndpointServiceName",
       "eu.amazonaws.vpce.eu-west-1.vpce-svc-abc", true},
      {"CreateCustomKeyStore", "XksProxyVpcEndpointServiceName",
       "org.amazonaws.vpce.us-east-1.vpce-svc-abc", false},
      {"CreateCustomKeyStore", "XksProxyVpcEndpointServiceName",
       "com.amazonaws.vpce.us-east-1.vpce-svc-ABC", false},
      {"CreateCustomKeyStore", "XksProxyVpcEndpointServiceName",
       "comXamazonaws.vpce.us-east-1.vpce-svc-abc", false},
  };
  for (const PatternCase& c : cases) {
    json body = BaseBody(c.op);
    body[c.member] = c.value;
    const std::string msg = ValidationMessage(c.op, body);
    if (c.matches) {
      EXPECT_EQ(msg, "<ok>") << c.op << "." << c.member << " = " << c.value;
    } else {
      EXPECT_THAT(msg, HasSubstr("Member must satisfy regular expression pattern: "))
          << c.op << "." << c.member << " = " << c.value;
      EXPECT_THAT(msg, StartsWith("1 validation error detected")) << c.value;
    }
  }
  // The XKS credential patterns (sensitive members).
  const json good_credential = {{"AccessKeyId", "ABCDEFGHIJKLMNOPQRST"},
                                {"RawSecretAccessKey", std::string(43, 'a') + "/+="}};
  EXPECT_EQ(ValidationMessage("CreateCustomKeyStore",
                              {{"CustomKeyStoreName", "s"},
                               {"XksProxyAuthenticationCredential", good_credential}}),
            "<ok>");
  json bad_secret = good_credential;
  bad_secret["RawSecretAccessKey"] = std::string(43, 'a') + "-";
  EXPECT_EQ(
      ValidationMessage("CreateCustomKeyStore", {{"CustomKeyStoreName", "s"},
                                                 {"XksProxyAuthenticationCredential", bad_secret}}),
      OneError("Value at 'xksProxyAuthenticationCredential.rawSecretAccessKey' failed to "
               "satisfy constraint: Member must satisfy regular expression pattern: "
               "^[a-zA-Z0-9\\/+=]+$"));
}

TEST(ModelValidator, TrailingNewlineDoesNotSatisfyAPattern) {
  // Java's matches() needs the whole value to match, even where the pattern ends in '$'.
  const std::string hex(64, 'a');
  for (const std::string& value : {hex + "\n", "\n" + hex, hex + "\r\n", hex + "\nb"}) {
    EXPECT_THAT(
        ValidationMessage("DeleteImportedKeyMaterial", {{"KeyId", "k"}, {"KeyMaterialId", value}}),
        HasSubstr("Member must satisfy regular expression pattern: ^[a-f0-9]+$"))
        << value;
  }
  // And for a pattern without anchors in the model.
  EXPECT_THAT(ValidationMessage("CreateCustomKeyStore",
                                {{"CustomKeyStoreName", "s"},
                                 {"XksProxyVpcEndpointServiceOwner", "123456789012\n"}}),
              HasSubstr("Member must satisfy regular expression pattern: [0-9]{12}"));
}

TEST(ModelValidator, MalformedUtf8BuiltInCodeFailsThePatternSafely) {
  // nlohmann's parser rejects such strings, but a json built in code can hold them.
  for (const std::string bad : {"\xC3", "ab\xFF", "\xED\xA0\x80", "\xC0\xAF"}) {
    EXPECT_THAT(ValidationMessage("ListKeys", {{"Marker", bad}}),
                AllOf(StartsWith("1 validation error detected"),
                      HasSubstr("Member must satisfy regular expression pattern: "
                                "[\\u0020-\\u00FF]*")));
  }
}

TEST(ModelValidator, EmptyKeyMaterialDescriptionFailsOnlyThePattern) {
  // min is 0, but the pattern needs at least one character.
  EXPECT_EQ(ValidationMessage("ImportKeyMaterial", {{"KeyId", "k"},
                                                    {"ImportToken", Blob(8)},
                                                    {"EncryptedKeyMaterial", Blob(8)},
                                                    {"KeyMaterialDescription", ""}}),
            OneError("Value '' at 'keyMaterialDescription' failed to satisfy constraint: Member "
                     "must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\\s.-]+$"));
}

std::string AllowedPolicy(size_t chars) {
  // Every class of allowed character, including two-byte UTF-8 (U+00E9, U+00FF).
  const std::string pieces[] = {"{", "\t", "\n", "\r", " ", "a", "~", "\xC3\xA9", "\xC3\xBF"};
  std::string out;
  for (size_t i = 0; i < chars; ++i) {
    out += pieces[i % std::size(pieces)];
  }
  return out;
}

TEST(ModelValidator, MaximumSizePolicyPassesQuickly) {
  const std::string policy = AllowedPolicy(131072);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ValidationMessage("PutKeyPolicy", {{"KeyId", "k"}, {"Policy", policy}}), "<ok>");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::milliseconds(500));
  EXPECT_THAT(ValidationMessage("PutKeyPolicy", {{"KeyId", "k"}, {"Policy", policy + "x"}}),
              HasSubstr("' at 'policy' failed to satisfy constraint: Member must have length "
                        "less than or equal to 131072"));
}

TEST(ModelValidator, MaximumSizePolicyWithABadLastCharacterFailsQuickly) {
  // The matcher backtracks over the whole policy before it gives up; it must still be fast.
  const std::string policy = AllowedPolicy(131071) + "\x01";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(ValidationMessage("PutKeyPolicy", {{"KeyId", "k"}, {"Policy", policy}}),
              AllOf(StartsWith("1 validation error detected"),
                    HasSubstr("Member must satisfy regular expression pattern: ")));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::milliseconds(500));
}

TEST(ModelValidator, PolicyWithACharacterOutsideTheClassFails) {
  const std::string pattern_failure =
      "' at 'policy' failed to satisfy constraint: Member must satisfy regular expression "
      "pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";
  // U+0001, U+0100 and U+1F600 (four UTF-8 bytes) are outside the class.
  for (const std::string bad : {"\x01", "\xC4\x80", "\xF0\x9F\x98\x80"}) {
    const std::string policy = AllowedPolicy(131000) + bad + "}";
    EXPECT_THAT(ValidationMessage("CreateKey", {{"Policy", policy}}),
                AllOf(StartsWith("1 validation error detected"), HasSubstr(pattern_failure)));
  }
  // Short policies too, and U+0000 (the value's length is not taken from a NUL).
  for (const std::string& bad :
       {std::string("{\x01}"), std::string("\x01"), std::string("{\0}", 3)}) {
    EXPECT_THAT(ValidationMessage("CreateKey", {{"Policy", bad}}),
                AllOf(StartsWith("1 validation error detected"), HasSubstr(pattern_failure)));
  }
  // U+007F is inside \u0020-\u00FF.
  EXPECT_EQ(ValidationMessage("CreateKey", {{"Policy", "{\x7F}"}}), "<ok>");
  // Empty: both the length and the '+' of the pattern fail.
  EXPECT_THAT(ValidationMessage("CreateKey", {{"Policy", ""}}),
              StartsWith("2 validation errors detected"));
}

// ---------------------------------------------------------------------------------------------
// Valid requests

TEST(ModelValidator, ValidRequestsOfManyOperationsPass) {
  const std::string key_arn =
      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const struct {
    const char* op;
    json body;
  } requests[] = {
      {"CreateKey",
       {{"Description", "my key"},
        {"KeyUsage", "ENCRYPT_DECRYPT"},
        {"KeySpec", "SYMMETRIC_DEFAULT"},
        {"Origin", "AWS_KMS"},
        {"MultiRegion", false},
        {"BypassPolicyLockoutSafetyCheck", false},
        {"Policy", R"({"Version":"2012-10-17","Statement":[]})"},
        {"Tags", {{{"TagKey", "env"}, {"TagValue", "prod"}}}}}},
      {"Encrypt",
       {{"KeyId", "alias/my-key"},
        {"Plaintext", Blob(32)},
        {"EncryptionContext", {{"purpose", "test"}}},
        {"GrantTokens", {"token"}},
        {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"},
        {"DryRun", false}}},
      {"Decrypt",
       {{"CiphertextBlob", Blob(100)},
        {"KeyId", key_arn},
        {"DryRunModifiers", {"IGNORE_CIPHERTEXT"}},
        {"Recipient",
         {{"KeyEncryptionAlgorithm", "RSAES_OAEP_SHA_256"}, {"AttestationDocument", Blob(10)}}}}},
      {"ReEncrypt",
       {{"CiphertextBlob", Blob(100)},
        {"DestinationKeyId", key_arn},
        {"SourceEncryptionContext", json::object()}}},
      {"GenerateDataKey", {{"KeyId", key_arn}, {"KeySpec", "AES_256"}}},
      {"GenerateDataKeyPair", {{"KeyId", key_arn}, {"KeyPairSpec", "ECC_NIST_P256"}}},
      {"GenerateRandom", {{"NumberOfBytes", 32}}},
      {"Sign",
       {{"KeyId", key_arn},
        {"Message", Blob(32)},
        {"MessageType", "DIGEST"},
        {"SigningAlgorithm", "ECDSA_SHA_256"}}},
      {"VerifyMac",
       {{"KeyId", key_arn},
        {"Message", Blob(5)},
        {"MacAlgorithm", "HMAC_SHA_256"},
        {"Mac", Blob(32)}}},
      {"CreateGrant",
       {{"KeyId", key_arn},
        {"GranteePrincipal", "arn:aws:iam::111122223333:role/app"},
        {"Operations", {"Encrypt", "Decrypt"}},
        {"Constraints", {{"EncryptionContextSubset", {{"dept", "it"}}}}},
        {"Name", "my-grant"}}},
      {"ImportKeyMaterial",
       {{"KeyId", key_arn},
        {"ImportToken", Blob(64)},
        {"EncryptedKeyMaterial", Blob(256)},
        {"ValidTo", 1593622000.191},
        {"ExpirationModel", "KEY_MATERIAL_EXPIRES"}}},
      {"ScheduleKeyDeletion", {{"KeyId", key_arn}, {"PendingWindowInDays", 7}}},
      {"EnableKeyRotation", {{"KeyId", key_arn}, {"RotationPeriodInDays", 365}}},
      {"ListKeyRotations", {{"KeyId", key_arn}, {"IncludeKeyMaterial", "ALL_KEY_MATERIAL"}}},
      {"ListAliases", {{"Limit", 50}, {"Marker", "opaque-marker"}}},
      {"UpdateAlias", {{"AliasName", "alias/x"}, {"TargetKeyId", key_arn}}},
      {"UntagResource", {{"KeyId", key_arn}, {"TagKeys", {"env"}}}},
      {"UpdatePrimaryRegion", {{"KeyId", key_arn}, {"PrimaryRegion", "eu-west-1"}}},
      {"CreateCustomKeyStore",
       {{"CustomKeyStoreName", "xks"},
        {"CustomKeyStoreType", "EXTERNAL_KEY_STORE"},
        {"XksProxyUriEndpoint", "https://xks.example.com"},
        {"XksProxyUriPath", "/kms/xks/v1"},
        {"XksProxyConnectivity", "PUBLIC_ENDPOINT"},
        {"XksProxyAuthenticationCredential",
         {{"AccessKeyId", "ABCDEFGHIJKLMNOPQRST"},
          {"RawSecretAccessKey", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ="}}}}},
  };
  for (const auto& r : requests) {
    EXPECT_EQ(ValidationMessage(r.op, r.body), "<ok>") << r.op << " " << r.body.dump();
  }
}

// ---------------------------------------------------------------------------------------------
// Concurrency

TEST(ModelValidator, ValidatesConcurrentlyFromManyThreads) {
  const json bad = {{"KeyId", ""}, {"GrantTokens", {"a", ""}}};
  const std::string expected = ValidationMessage("DescribeKey", bad);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (ValidationMessage("DescribeKey", bad) != expected ||
            ValidationMessage("ListKeys", {{"Limit", 10}}) != "<ok>") {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  for (int m : mismatches) {
    EXPECT_EQ(m, 0);
  }
}

}  // namespace
}  // namespace scytale::api::internal

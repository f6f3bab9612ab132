// Parsing and validation: what Compile accepts, and every way a document is malformed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/testing/matchers.h"
#include "policy/policy.h"
#include "policy/testing/policies.h"

namespace scytale::policy {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::HasErrorMessage;
using ::scytale::testing::IsOk;
using ::testing::HasSubstr;
using testing::kDefaultKeyPolicy;

// The console's default key policy for a key with administrators and users [KMS guide,
// key-policy-default], with its grant statement's Bool condition.
constexpr char kConsoleKeyPolicy[] = R"json({
  "Id": "key-consolepolicy-3",
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/KMSAdminRole"},
     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                "kms:CancelKeyDeletion"],
     "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                "kms:DescribeKey"],
     "Resource": "*"},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
  ]
})json";

Result<std::shared_ptr<const CompiledPolicy>> KeyPolicy(const std::string& doc) {
  return CompiledPolicy::Compile(doc, PolicyKind::kResource);
}
Result<std::shared_ptr<const CompiledPolicy>> IdentityPolicy(const std::string& doc) {
  return CompiledPolicy::Compile(doc, PolicyKind::kIdentity);
}

// A one-statement key policy around `body` (the statement's members).
std::string KeyStatement(const std::string& body) {
  return R"({"Version":"2012-10-17","Statement":[{)" + body + "}]}";
}
std::string AllowAllWith(const std::string& extra) {
  return KeyStatement(R"("Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*")" +
                      extra);
}

TEST(Compile, AcceptsTheAwsDefaultKeyPolicy) {
  auto policy = KeyPolicy(kDefaultKeyPolicy);
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ((*policy)->kind(), PolicyKind::kResource);
  EXPECT_EQ((*policy)->version(), "2012-10-17");
  EXPECT_EQ((*policy)->id(), "key-default-1");
  EXPECT_EQ((*policy)->statement_count(), 1u);
  EXPECT_EQ((*policy)->sid(0), "Enable IAM User Permissions");
}

TEST(Compile, AcceptsTheConsoleDefaultKeyPolicy) {
  auto policy = KeyPolicy(kConsoleKeyPolicy);
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ((*policy)->statement_count(), 4u);
  EXPECT_EQ((*policy)->sid(3), "Allow attachment of persistent resources");
}

TEST(Compile, AcceptsAStatementObjectAndNoVersion) {
  auto policy = KeyPolicy(
      R"({"Statement":{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}})");
  ASSERT_THAT(policy, IsOk());
  EXPECT_EQ((*policy)->version(), "");
  EXPECT_EQ((*policy)->statement_count(), 1u);
  EXPECT_EQ((*policy)->sid(0), "");
}

TEST(Compile, AcceptsTheOlderPolicyLanguageVersion) {
  EXPECT_THAT(KeyPolicy(R"({"Version":"2008-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}]})"),
              IsOk());
}

TEST(Compile, AcceptsAnIdentityPolicyWithoutPrincipal) {
  EXPECT_THAT(IdentityPolicy(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":["kms:Encrypt","kms:Decrypt"],
      "Resource":"arn:aws:kms:us-east-1:111122223333:key/*"}]})"),
              IsOk());
}

TEST(Compile, AcceptsAKeyPolicyStatementWithoutActionOrResource) {
  // AWS KMS accepts these; such a statement never applies.
  EXPECT_THAT(KeyPolicy(KeyStatement(R"("Effect":"Allow","Principal":"*","Resource":"*")")),
              IsOk());
  EXPECT_THAT(KeyPolicy(KeyStatement(R"("Effect":"Allow","Principal":"*","Action":"kms:*")")),
              IsOk());
}

TEST(Compile, AcceptsEveryPrincipalForm) {
  const char* principals[] = {
      R"("*")",
      R"({"AWS":"*"})",
      R"({"AWS":"111122223333"})",
      R"({"AWS":"arn:aws:iam::111122223333:root"})",
      R"({"AWS":"arn:aws:iam::111122223333:user/alice"})",
      R"({"AWS":"arn:aws:iam::111122223333:user/division/alice"})",
      R"({"AWS":"arn:aws:iam::111122223333:role/RoleName"})",
      R"({"AWS":"arn:aws:iam::111122223333:role/path/to/RoleName"})",
      R"({"AWS":"arn:aws:sts::111122223333:assumed-role/RoleName/session"})",
      R"({"AWS":"arn:aws:sts::111122223333:federated-user/bob"})",
      R"({"AWS":"arn:aws-cn:iam::111122223333:root"})",
      R"({"AWS":"AIDACKCEVSQ6C2EXAMPLE"})",
      R"({"AWS":["111122223333","444455556666"],"Service":"ec2.amazonaws.com"})",
      R"({"Service":["ec2.amazonaws.com","s3.amazonaws.com"]})",
      R"({"Federated":"cognito-identity.amazonaws.com"})",
      R"({"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"})",
  };
  for (const char* principal : principals) {
    EXPECT_THAT(KeyPolicy(KeyStatement(std::string(R"("Effect":"Allow","Principal":)") + principal +
                                       R"(,"Action":"kms:*","Resource":"*")")),
                IsOk())
        << principal;
  }
}

TEST(Compile, AcceptsConditionValuesOfEveryJsonScalarType) {
  EXPECT_THAT(KeyPolicy(AllowAllWith(R"(,"Condition":{
      "Bool":{"kms:GrantIsForAWSResource":true},
      "NumericLessThan":{"kms:RotationPeriodInDays":365},
      "NumericGreaterThan":{"kms:RotationPeriodInDays":[90.5, "91"]},
      "StringEquals":{"kms:CallerAccount":111122223333}})")),
              IsOk());
}

TEST(Compile, AcceptsEveryConditionOperator) {
  const char* operators[][2] = {
      {"StringEquals", R"("a")"},
      {"StringNotEquals", R"("a")"},
      {"StringEqualsIgnoreCase", R"("a")"},
      {"StringNotEqualsIgnoreCase", R"("a")"},
      {"StringLike", R"("a*")"},
      {"StringNotLike", R"("a?")"},
      {"NumericEquals", R"("1")"},
      {"NumericNotEquals", R"("1")"},
      {"NumericLessThan", R"("1")"},
      {"NumericLessThanEquals", R"("1")"},
      {"NumericGreaterThan", R"("1")"},
      {"NumericGreaterThanEquals", R"("1")"},
      {"DateEquals", R"("2024-01-01T00:00:00Z")"},
      {"DateNotEquals", R"("1700000000")"},
      {"DateLessThan", R"("2024-01-01")"},
      {"DateLessThanEquals", R"("2024-01-01")"},
      {"DateGreaterThan", R"("2024-01-01")"},
      {"DateGreaterThanEquals", R"("2024-01-01")"},
      {"Bool", R"("false")"},
      {"BinaryEquals", R"("QmluYXJ5VmFsdWVJbkJhc2U2NA==")"},
      {"IpAddress", R"("203.0.113.0/24")"},
      {"NotIpAddress", R"("2001:DB8:1234:5678::/64")"},
      {"ArnEquals", R"("arn:aws:iam::111122223333:role/*")"},
      {"ArnLike", R"("arn:aws:iam::111122223333:role/*")"},
      {"ArnNotEquals", R"("arn:aws:iam::111122223333:role/*")"},
      {"ArnNotLike", R"("arn:aws:iam::111122223333:role/*")"},
      {"Null", R"("true")"},
      {"StringEqualsIfExists", R"("a")"},
      {"NumericLessThanIfExists", R"("1")"},
      {"BoolIfExists", R"("true")"},
      {"ForAnyValue:StringLike", R"(["a*","b*"])"},
      {"ForAllValues:StringEquals", R"(["a","b"])"},
      {"ForAllValues:StringNotLikeIfExists", R"("a*")"},
  };
  for (const auto& [op, value] : operators) {
    const std::string condition =
        std::string(R"(,"Condition":{")") + op + R"(":{"aws:SomeKey":)" + value + "}}";
    EXPECT_THAT(KeyPolicy(AllowAllWith(condition)), IsOk()) << op;
  }
}

struct MalformedCase {
  const char* what;
  std::string document;
  PolicyKind kind;
  const char* message_part;
};

std::string Stmt(const std::string& body) { return KeyStatement(body); }

TEST(Compile, RejectsMalformedDocuments) {
  const std::string ok_rest = R"("Action":"kms:*","Resource":"*")";
  const MalformedCase cases[] = {
      {"not JSON", "{not json", PolicyKind::kResource, "not valid JSON"},
      {"empty text", "", PolicyKind::kResource, "not valid JSON"},
      {"a JSON array", "[]", PolicyKind::kResource, "must be a JSON object"},
      {"a JSON string", R"("policy")", PolicyKind::kResource, "must be a JSON object"},
      {"missing Statement", R"({"Version":"2012-10-17"})", PolicyKind::kResource,
       "has no Statement"},
      {"empty Statement list", R"({"Version":"2012-10-17","Statement":[]})", PolicyKind::kResource,
       "at least one statement"},
      {"Statement of the wrong type", R"({"Statement":"Allow everything"})", PolicyKind::kResource,
       "must be an object or a list"},
      {"a statement that is not an object", R"({"Statement":[1]})", PolicyKind::kResource,
       "Statement 1 must be an object"},
      {"bad Version", R"({"Version":"2012-10-18","Statement":[]})", PolicyKind::kResource,
       "Invalid policy Version"},
      {"numeric Version", R"({"Version":2012,"Statement":[]})", PolicyKind::kResource,
       "Invalid policy Version"},
      {"unknown top-level element", R"({"Statement":[],"Statements":[]})", PolicyKind::kResource,
       "unknown element \"Statements\""},
      {"non-string Id", R"({"Id":7,"Statement":[]})", PolicyKind::kResource, "Id"},
      {"duplicate Effect",
       R"({"Statement":[{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]})",
       PolicyKind::kResource, "\"Effect\" more than once"},
      {"lowercase Effect", Stmt(R"("Effect":"allow","Principal":"*",)" + ok_rest),
       PolicyKind::kResource, "invalid Effect"},
      {"missing Effect", Stmt(R"("Principal":"*",)" + ok_rest), PolicyKind::kResource,
       "has no Effect"},
      {"non-string Effect", Stmt(R"("Effect":true,"Principal":"*",)" + ok_rest),
       PolicyKind::kResource, "invalid Effect"},
      {"non-string Sid", Stmt(R"("Sid":1,"Effect":"Allow","Principal":"*",)" + ok_rest),
       PolicyKind::kResource, "Sid must be a string"},
      {"unknown statement element", Stmt(R"("Effect":"Allow","Principal":"*","Actions":"kms:*")"),
       PolicyKind::kResource, "unknown element \"Actions\""},
      {"Principal in an identity policy", Stmt(R"("Effect":"Allow","Principal":"*",)" + ok_rest),
       PolicyKind::kIdentity, "Policy document should not specify a principal."},
      {"NotPrincipal in an identity policy",
       Stmt(R"("Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},)" + ok_rest),
       PolicyKind::kIdentity, "Policy document should not specify a principal."},
      {"key policy without Principal", Stmt(R"("Effect":"Allow",)" + ok_rest),
       PolicyKind::kResource, "has no Principal"},
      {"Principal and NotPrincipal",
       Stmt(R"("Effect":"Allow","Principal":"*","NotPrincipal":"*",)" + ok_rest),
       PolicyKind::kResource, "both Principal and NotPrincipal"},
      {"Principal as a bare ARN",
       Stmt(R"("Effect":"Allow","Principal":"arn:aws:iam::111122223333:root",)" + ok_rest),
       PolicyKind::kResource, "invalid principals"},
      {"wildcard inside a principal ARN",
       Stmt(R"("Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},)" +
            ok_rest),
       PolicyKind::kResource, "invalid principals"},
      {"principal name that is not an ARN",
       Stmt(R"("Effect":"Allow","Principal":{"AWS":"alice"},)" + ok_rest), PolicyKind::kResource,
       "invalid principals"},
      {"short account id", Stmt(R"("Effect":"Allow","Principal":{"AWS":"1111"},)" + ok_rest),
       PolicyKind::kResource, "invalid principals"},
      {"numeric account id",
       Stmt(R"("Effect":"Allow","Principal":{"AWS":111122223333},)" + ok_rest),
       PolicyKind::kResource, "invalid principals"},
      {"IAM group as principal",
       Stmt(R"("Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:group/devs"},)" +
            ok_rest),
       PolicyKind::kResource, "invalid principals"},
      {"unknown principal type", Stmt(R"("Effect":"Allow","Principal":{"Group":"x"},)" + ok_rest),
       PolicyKind::kResource, "invalid principals"},
      {"empty principal list", Stmt(R"("Effect":"Allow","Principal":{"AWS":[]},)" + ok_rest),
       PolicyKind::kResource, "invalid principals"},
      {"empty principal map", Stmt(R"("Effect":"Allow","Principal":{},)" + ok_rest),
       PolicyKind::kResource, "invalid principals"},
      {"action without a vendor",
       Stmt(R"("Effect":"Allow","Principal":"*","Action":"Encrypt","Resource":"*")"),
       PolicyKind::kResource, "must be prefaced by a vendor"},
      {"numeric action", Stmt(R"("Effect":"Allow","Principal":"*","Action":5,"Resource":"*")"),
       PolicyKind::kResource, "must be a string"},
      {"non-string action in a list",
       Stmt(R"("Effect":"Allow","Principal":"*","Action":["kms:Encrypt",1],"Resource":"*")"),
       PolicyKind::kResource, "must be a string"},
      {"Action and NotAction",
       Stmt(
           R"("Effect":"Allow","Principal":"*","Action":"kms:*","NotAction":"kms:Decrypt","Resource":"*")"),
       PolicyKind::kResource, "both Action and NotAction"},
      {"identity statement without actions", Stmt(R"("Effect":"Allow","Resource":"*")"),
       PolicyKind::kIdentity, "Policy statement must contain actions."},
      {"identity statement with an empty action list",
       Stmt(R"("Effect":"Allow","Action":[],"Resource":"*")"), PolicyKind::kIdentity,
       "Policy statement must contain actions."},
      {"identity statement without resources", Stmt(R"("Effect":"Allow","Action":"kms:*")"),
       PolicyKind::kIdentity, "Policy statement must contain resources."},
      {"Resource and NotResource",
       Stmt(
           R"("Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","NotResource":"*")"),
       PolicyKind::kResource, "both Resource and NotResource"},
      {"resource that is not an ARN",
       Stmt(R"("Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"key/1234")"),
       PolicyKind::kResource, "must be in ARN format"},
      {"unknown condition operator",
       AllowAllWith(R"(,"Condition":{"StringEqualz":{"aws:SourceIp":"x"}})"), PolicyKind::kResource,
       "Invalid Condition type : StringEqualz"},
      {"lowercase condition operator",
       AllowAllWith(R"(,"Condition":{"stringequals":{"aws:SourceIp":"x"}})"), PolicyKind::kResource,
       "Invalid Condition type"},
      {"NullIfExists", AllowAllWith(R"(,"Condition":{"NullIfExists":{"aws:SourceIp":"true"}})"),
       PolicyKind::kResource, "Invalid Condition type : NullIfExists"},
      {"unknown set qualifier",
       AllowAllWith(R"(,"Condition":{"ForSomeValues:StringEquals":{"aws:TagKeys":"a"}})"),
       PolicyKind::kResource, "Invalid Condition type"},
      {"Condition that is not an object", AllowAllWith(R"(,"Condition":["StringEquals"])"),
       PolicyKind::kResource, "Condition must be an object"},
      {"operator block that is not an object",
       AllowAllWith(R"(,"Condition":{"StringEquals":"aws:SourceIp"})"), PolicyKind::kResource,
       "must map condition keys to values"},
      {"condition key without a vendor",
       AllowAllWith(R"(,"Condition":{"StringEquals":{"SourceIp":"x"}})"), PolicyKind::kResource,
       "must be prefaced by a vendor"},
      {"empty condition value list",
       AllowAllWith(R"(,"Condition":{"StringEquals":{"aws:SourceIp":[]}})"), PolicyKind::kResource,
       "at least one value"},
      {"object condition value",
       AllowAllWith(R"(,"Condition":{"StringEquals":{"aws:SourceIp":{"a":1}}})"),
       PolicyKind::kResource, "must be a string, number or boolean"},
      {"null condition value",
       AllowAllWith(R"(,"Condition":{"StringEquals":{"aws:SourceIp":null}})"),
       PolicyKind::kResource, "must be a string, number or boolean"},
      {"non-number for a Numeric operator",
       AllowAllWith(R"(,"Condition":{"NumericLessThan":{"kms:RotationPeriodInDays":"ten"}})"),
       PolicyKind::kResource, "invalid value \"ten\""},
      {"non-date for a Date operator",
       AllowAllWith(R"(,"Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}})"),
       PolicyKind::kResource, "invalid value \"yesterday\""},
      {"bad address for IpAddress",
       AllowAllWith(R"(,"Condition":{"IpAddress":{"aws:SourceIp":"300.1.1.1/8"}})"),
       PolicyKind::kResource, "invalid value"},
      {"non-boolean for Bool",
       AllowAllWith(R"(,"Condition":{"Bool":{"aws:SecureTransport":"yes"}})"),
       PolicyKind::kResource, "invalid value \"yes\""},
      {"non-boolean for Null", AllowAllWith(R"(,"Condition":{"Null":{"aws:SourceIp":"maybe"}})"),
       PolicyKind::kResource, "invalid value \"maybe\""},
      {"non-base64 for BinaryEquals",
       AllowAllWith(R"(,"Condition":{"BinaryEquals":{"aws:SomeKey":"!!"}})"), PolicyKind::kResource,
       "invalid value"},
  };
  for (const MalformedCase& c : cases) {
    auto result = CompiledPolicy::Compile(c.document, c.kind);
    EXPECT_THAT(result, HasError(ErrorCode::kMalformedPolicyDocument)) << c.what;
    if (!result.has_value()) {
      EXPECT_THAT(result.error().message, HasSubstr(c.message_part)) << c.what;
    }
  }
}

TEST(Compile, NamesTheOffendingStatementBySidOrPosition) {
  auto by_sid = KeyPolicy(R"({"Statement":[
      {"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},
      {"Sid":"Second one","Effect":"Permit","Principal":"*","Action":"kms:*","Resource":"*"}]})");
  ASSERT_FALSE(by_sid.has_value());
  EXPECT_THAT(by_sid.error().message, HasSubstr("Statement \"Second one\""));

  auto by_index = KeyPolicy(R"({"Statement":[
      {"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},
      {"Effect":"Permit","Principal":"*","Action":"kms:*","Resource":"*"}]})");
  ASSERT_FALSE(by_index.has_value());
  EXPECT_THAT(by_index.error().message, HasSubstr("Statement 2"));
}

TEST(Compile, UsesKmsWordingForInvalidPrincipals) {
  EXPECT_THAT(KeyPolicy(KeyStatement(
                  R"("Effect":"Allow","Principal":{"AWS":"bob"},"Action":"kms:*","Resource":"*")")),
              HasErrorMessage(ErrorCode::kMalformedPolicyDocument,
                              "Policy contains a statement with one or more invalid principals."));
}

TEST(TrustPolicy, StatementsApplyToTheRoleWithoutAResourceAndMayNotNameOne) {
  auto trust = CompiledPolicy::Compile(
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
      R"("Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]})",
      PolicyKind::kTrust);
  ASSERT_THAT(trust, IsOk());
  Request r;
  r.principal_arn = "arn:aws:iam::111122223333:user/alice";
  r.action = "sts:AssumeRole";
  r.resource = "arn:aws:iam::111122223333:role/app";
  EXPECT_EQ((*trust)->Evaluate(r).decision, Decision::kAllow);
  r.principal_arn = "arn:aws:iam::111122223333:user/bob";
  EXPECT_EQ((*trust)->Evaluate(r).decision, Decision::kNotApplicable);

  EXPECT_THAT(CompiledPolicy::Compile(
                  R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole",)"
                  R"("Resource":"*"}]})",
                  PolicyKind::kTrust),
              HasErrorMessage(ErrorCode::kMalformedPolicyDocument,
                              "Has prohibited field Resource."));
  EXPECT_THAT(CompiledPolicy::Compile(
                  R"({"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]})",
                  PolicyKind::kTrust),
              HasError(ErrorCode::kMalformedPolicyDocument));
}

}  // namespace
}  // namespace scytale::policy

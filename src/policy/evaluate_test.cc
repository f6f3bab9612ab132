// Evaluation: tables of documents × requests × expected decisions.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "policy/policy.h"
#include "policy/testing/policies.h"

namespace scytale::policy {
namespace {

using testing::kDefaultKeyPolicy;
using testing::Keys;
using testing::kKeyArn;
using testing::MakeRequest;
using testing::MustCompile;

constexpr char kOtherKeyArn[] =
    "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
constexpr char kRoot[] = "arn:aws:iam::111122223333:root";
constexpr char kAlice[] = "arn:aws:iam::111122223333:user/alice";
constexpr char kBob[] = "arn:aws:iam::111122223333:user/bob";
constexpr char kSession[] = "arn:aws:sts::111122223333:assumed-role/RoleName/session";
constexpr char kOtherSession[] = "arn:aws:sts::111122223333:assumed-role/RoleName/other";
constexpr char kOtherRoleSession[] = "arn:aws:sts::111122223333:assumed-role/OtherRole/session";
constexpr char kFederated[] = "arn:aws:sts::111122223333:federated-user/carol";
constexpr char kOtherRoot[] = "arn:aws:iam::444455556666:root";
constexpr char kOtherAccountUser[] = "arn:aws:iam::444455556666:user/alice";
constexpr char kOtherAccountSession[] = "arn:aws:sts::444455556666:assumed-role/RoleName/session";
constexpr char kService[] = "ec2.amazonaws.com";

const char* Name(Decision d) {
  switch (d) {
    case Decision::kNotApplicable:
      return "NotApplicable";
    case Decision::kAllowViaAccount:
      return "AllowViaAccount";
    case Decision::kAllow:
      return "Allow";
    case Decision::kDeny:
      return "Deny";
  }
  return "?";
}

// ---- Conditions -----------------------------------------------------------------------------

struct ConditionCase {
  std::string condition;  // the Condition element
  Keys keys;              // the request's condition keys ({} values: present but empty)
  bool applies;
};

std::string IdentityStatement(const std::string& effect, const std::string& condition,
                              const std::string& version = "2012-10-17") {
  return R"({"Version":")" + version + R"(","Statement":[{"Effect":")" + effect +
         R"(","Action":"kms:*","Resource":"*","Condition":)" + condition + "}]}";
}

void ExpectConditionCases(const std::vector<ConditionCase>& cases) {
  for (const ConditionCase& c : cases) {
    const Request request = MakeRequest(kAlice, "kms:Encrypt", kKeyArn, c.keys);
    std::string keys_text;
    for (const auto& [key, values] : c.keys) {
      keys_text += key + "=[";
      for (const auto& v : values) {
        keys_text += v + ",";
      }
      keys_text += "] ";
    }
    // The same matching decides for Allow and for Deny.
    const auto allow = MustCompile(IdentityStatement("Allow", c.condition), PolicyKind::kIdentity);
    EXPECT_EQ(Name(allow->Evaluate(request).decision),
              Name(c.applies ? Decision::kAllow : Decision::kNotApplicable))
        << c.condition << " with " << keys_text;
    const auto deny = MustCompile(IdentityStatement("Deny", c.condition), PolicyKind::kIdentity);
    EXPECT_EQ(Name(deny->Evaluate(request).decision),
              Name(c.applies ? Decision::kDeny : Decision::kNotApplicable))
        << c.condition << " with " << keys_text;
  }
}

TEST(EvaluateConditions, StringOperatorsMatchAsTheIamReferenceSays) {
  ExpectConditionCases({
      {R"({"StringEquals":{"kms:CallerAccount":"111122223333"}})",
       {{"kms:CallerAccount", {"111122223333"}}},
       true},
      {R"({"StringEquals":{"kms:CallerAccount":"111122223333"}})",
       {{"kms:CallerAccount", {"444455556666"}}},
       false},
      {R"({"StringEquals":{"kms:CallerAccount":"111122223333"}})", {}, false},
      {R"({"StringEquals":{"kms:CallerAccount":"111122223333"}})",
       {{"kms:CallerAccount", {}}},
       false},
      // Values are case-sensitive; '*' is not a wildcard for StringEquals.
      {R"({"StringEquals":{"kms:EncryptionContext:AppName":"ExampleApp"}})",
       {{"kms:EncryptionContext:AppName", {"exampleapp"}}},
       false},
      {R"({"StringEquals":{"kms:ViaService":"ec2.*"}})",
       {{"kms:ViaService", {"ec2.us-east-1.amazonaws.com"}}},
       false},
      {R"({"StringEquals":{"kms:ViaService":"ec2.*"}})", {{"kms:ViaService", {"ec2.*"}}}, true},
      // Several policy values are OR'd; several keys and several operators are AND'd.
      {R"({"StringEquals":{"kms:ViaService":["s3.amazonaws.com","ec2.amazonaws.com"]}})",
       {{"kms:ViaService", {"ec2.amazonaws.com"}}},
       true},
      {R"({"StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"ec2.amazonaws.com"}})",
       {{"kms:CallerAccount", {"111122223333"}}},
       false},
      {R"({"StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"ec2.amazonaws.com"}})",
       {{"kms:CallerAccount", {"111122223333"}}, {"kms:ViaService", {"ec2.amazonaws.com"}}},
       true},
      {R"({"StringEquals":{"kms:CallerAccount":"111122223333"},"StringLike":{"kms:ViaService":"ec2.*"}})",
       {{"kms:CallerAccount", {"111122223333"}}, {"kms:ViaService", {"ec2.amazonaws.com"}}},
       true},
      {R"({"StringEquals":{"kms:CallerAccount":"111122223333"},"StringLike":{"kms:ViaService":"ec2.*"}})",
       {{"kms:CallerAccount", {"111122223333"}}, {"kms:ViaService", {"s3.amazonaws.com"}}},
       false},
      // Negated: true when the value differs, when the key is missing; NOR over policy values.
      {R"({"StringNotEquals":{"kms:CallerAccount":"111122223333"}})",
       {{"kms:CallerAccount", {"444455556666"}}},
       true},
      {R"({"StringNotEquals":{"kms:CallerAccount":"111122223333"}})",
       {{"kms:CallerAccount", {"111122223333"}}},
       false},
      {R"({"StringNotEquals":{"kms:CallerAccount":"111122223333"}})", {}, true},
      {R"({"StringNotEquals":{"kms:CallerAccount":"111122223333"}})",
       {{"kms:CallerAccount", {}}},
       true},
      {R"({"StringNotEquals":{"aws:PrincipalTag/role":["audit","security"]}})",
       {{"aws:PrincipalTag/role", {"security"}}},
       false},
      {R"({"StringNotEquals":{"aws:PrincipalTag/role":["audit","security"]}})",
       {{"aws:PrincipalTag/role", {"dev"}}},
       true},
      {R"({"StringEqualsIgnoreCase":{"kms:EncryptionContext:AppName":"ExampleApp"}})",
       {{"kms:EncryptionContext:AppName", {"EXAMPLEAPP"}}},
       true},
      {R"({"StringEqualsIgnoreCase":{"kms:EncryptionContext:AppName":"ExampleApp"}})",
       {{"kms:EncryptionContext:AppName", {"OtherApp"}}},
       false},
      {R"({"StringEqualsIgnoreCase":{"kms:EncryptionContext:AppName":"ExampleApp"}})", {}, false},
      {R"({"StringNotEqualsIgnoreCase":{"kms:EncryptionContext:AppName":"ExampleApp"}})",
       {{"kms:EncryptionContext:AppName", {"exampleAPP"}}},
       false},
      {R"({"StringNotEqualsIgnoreCase":{"kms:EncryptionContext:AppName":"ExampleApp"}})",
       {{"kms:EncryptionContext:AppName", {"OtherApp"}}},
       true},
      {R"({"StringNotEqualsIgnoreCase":{"kms:EncryptionContext:AppName":"ExampleApp"}})", {}, true},
      {R"({"StringLike":{"kms:ViaService":"ec2.*.amazonaws.com"}})",
       {{"kms:ViaService", {"ec2.us-west-2.amazonaws.com"}}},
       true},
      {R"({"StringLike":{"kms:ViaService":"ec2.*.amazonaws.com"}})",
       {{"kms:ViaService", {"s3.us-west-2.amazonaws.com"}}},
       false},
      {R"({"StringLike":{"kms:ViaService":"EC2.*"}})",
       {{"kms:ViaService", {"ec2.us-west-2.amazonaws.com"}}},
       false},
      {R"({"StringLike":{"kms:EncryptionContext:Dept":"r?d"}})",
       {{"kms:EncryptionContext:Dept", {"rnd"}}},
       true},
      {R"({"StringLike":{"kms:ViaService":"ec2.*"}})", {}, false},
      {R"({"StringNotLike":{"kms:ViaService":"ec2.*"}})",
       {{"kms:ViaService", {"s3.amazonaws.com"}}},
       true},
      {R"({"StringNotLike":{"kms:ViaService":"ec2.*"}})",
       {{"kms:ViaService", {"ec2.amazonaws.com"}}},
       false},
      {R"({"StringNotLike":{"kms:ViaService":"ec2.*"}})", {}, true},
  });
}

TEST(EvaluateConditions, ConditionKeyNamesAreCaseInsensitiveIncludingTheContextKey) {
  ExpectConditionCases({
      {R"({"StringEquals":{"KMS:CALLERACCOUNT":"111122223333"}})",
       {{"kms:CallerAccount", {"111122223333"}}},
       true},
      {R"({"StringEquals":{"kms:EncryptionContext:AppName":"ExampleApp"}})",
       {{"KMS:ENCRYPTIONCONTEXT:APPNAME", {"ExampleApp"}}},
       true},
      // The KMS guide: the whole condition key, encryption context key included, ignores case.
      {R"({"StringEquals":{"kms:EncryptionContext:appname":"ExampleApp"}})",
       {{"kms:EncryptionContext:AppName", {"ExampleApp"}}},
       true},
      // To pin the context key's case, test kms:EncryptionContextKeys (values keep case).
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":"AppName"}})",
       {{"kms:EncryptionContextKeys", {"appname"}}},
       false},
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":"AppName"}})",
       {{"kms:EncryptionContextKeys", {"AppName"}}},
       true},
  });
}

TEST(EvaluateConditions, ArnOperatorsMatchComponentByComponent) {
  const std::string role = "arn:aws:iam::111122223333:role/Admin";
  const std::string user = "arn:aws:iam::111122223333:user/alice";
  ExpectConditionCases({
      {R"({"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})",
       {{"aws:PrincipalArn", {role}}},
       true},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})",
       {{"aws:PrincipalArn", {user}}},
       false},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin"}})",
       {{"aws:PrincipalArn", {role}}},
       true},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})", {}, false},
      {R"({"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}})",
       {{"aws:SourceArn",
         {"arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/d.txt"}}},
       false},
      {R"({"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})",
       {{"aws:PrincipalArn", {role}}},
       false},
      {R"({"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})",
       {{"aws:PrincipalArn", {user}}},
       true},
      {R"({"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})", {}, true},
      {R"({"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})",
       {{"aws:PrincipalArn", {role}}},
       false},
  });
}

TEST(EvaluateConditions, NumericOperatorsCompareNumbers) {
  const std::string key = "kms:RotationPeriodInDays";
  ExpectConditionCases({
      {R"({"NumericEquals":{"kms:RotationPeriodInDays":365}})", {{key, {"365"}}}, true},
      {R"({"NumericEquals":{"kms:RotationPeriodInDays":"365"}})", {{key, {"365.0"}}}, true},
      {R"({"NumericEquals":{"kms:RotationPeriodInDays":"365"}})", {{key, {"90"}}}, false},
      {R"({"NumericNotEquals":{"kms:RotationPeriodInDays":"365"}})", {{key, {"90"}}}, true},
      {R"({"NumericNotEquals":{"kms:RotationPeriodInDays":"365"}})", {{key, {"365"}}}, false},
      {R"({"NumericNotEquals":{"kms:RotationPeriodInDays":"365"}})", {}, true},
      {R"({"NumericLessThan":{"kms:RotationPeriodInDays":"365"}})", {{key, {"90"}}}, true},
      {R"({"NumericLessThan":{"kms:RotationPeriodInDays":"365"}})", {{key, {"365"}}}, false},
      {R"({"NumericLessThan":{"kms:RotationPeriodInDays":"365"}})", {}, false},
      {R"({"NumericLessThanEquals":{"kms:RotationPeriodInDays":"365"}})", {{key, {"365"}}}, true},
      {R"({"NumericLessThanEquals":{"kms:RotationPeriodInDays":"365"}})", {{key, {"366"}}}, false},
      {R"({"NumericGreaterThan":{"kms:RotationPeriodInDays":"90"}})", {{key, {"91"}}}, true},
      {R"({"NumericGreaterThan":{"kms:RotationPeriodInDays":"90"}})", {{key, {"90"}}}, false},
      {R"({"NumericGreaterThanEquals":{"kms:RotationPeriodInDays":"90"}})", {{key, {"90"}}}, true},
      {R"({"NumericGreaterThanEquals":{"kms:RotationPeriodInDays":"90"}})",
       {{key, {"89.5"}}},
       false},
      {R"({"NumericGreaterThanEquals":{"kms:RotationPeriodInDays":"-1"}})", {{key, {"-1"}}}, true},
      // A request value that is not a number matches nothing.
      {R"({"NumericLessThan":{"kms:RotationPeriodInDays":"365"}})", {{key, {"ninety"}}}, false},
  });
}

TEST(EvaluateConditions, DateOperatorsCompareIsoAndEpochTimes) {
  const std::string now = "aws:CurrentTime";
  ExpectConditionCases({
      {R"({"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}})",
       {{now, {"2024-05-17T10:00:00Z"}}},
       true},
      {R"({"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}})",
       {{now, {"2031-05-17T10:00:00Z"}}},
       false},
      {R"({"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}})", {}, false},
      {R"({"DateGreaterThan":{"aws:EpochTime":"1700000000"}})",
       {{"aws:EpochTime", {"2024-01-01T00:00:00Z"}}},
       true},
      {R"({"DateGreaterThan":{"aws:EpochTime":1700000000}})",
       {{"aws:EpochTime", {"1600000000"}}},
       false},
      {R"({"DateEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}})",
       {{now, {"1704067200"}}},
       true},
      {R"({"DateEquals":{"aws:CurrentTime":"2024-01-01T01:00:00+01:00"}})",
       {{now, {"2024-01-01T00:00:00Z"}}},
       true},
      {R"({"DateNotEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}})",
       {{now, {"1704067200"}}},
       false},
      {R"({"DateNotEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}})",
       {{now, {"1704067201"}}},
       true},
      {R"({"DateNotEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}})", {}, true},
      {R"({"DateLessThanEquals":{"aws:CurrentTime":"2024-01-01"}})",
       {{now, {"2024-01-01T00:00:00Z"}}},
       true},
      {R"({"DateLessThanEquals":{"aws:CurrentTime":"2024-01-01"}})",
       {{now, {"2024-01-01T00:00:01Z"}}},
       false},
      {R"({"DateGreaterThanEquals":{"aws:CurrentTime":"2024-01-01"}})",
       {{now, {"2024-01-01T00:00:00Z"}}},
       true},
      {R"({"DateGreaterThanEquals":{"aws:CurrentTime":"2024-01-01"}})",
       {{now, {"2023-12-31T23:59:59Z"}}},
       false},
      {R"({"DateLessThan":{"aws:CurrentTime":"2030-01-01"}})", {{now, {"soon"}}}, false},
  });
}

TEST(EvaluateConditions, BoolBinaryAndIpOperatorsMatch) {
  ExpectConditionCases({
      {R"({"Bool":{"aws:SecureTransport":"true"}})", {{"aws:SecureTransport", {"true"}}}, true},
      {R"({"Bool":{"aws:SecureTransport":"true"}})", {{"aws:SecureTransport", {"false"}}}, false},
      {R"({"Bool":{"aws:SecureTransport":"true"}})", {{"aws:SecureTransport", {"TRUE"}}}, true},
      {R"({"Bool":{"aws:SecureTransport":true}})", {{"aws:SecureTransport", {"true"}}}, true},
      {R"({"Bool":{"aws:SecureTransport":"false"}})", {}, false},
      {R"({"BinaryEquals":{"aws:SomeKey":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}})",
       {{"aws:SomeKey", {"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}},
       true},
      {R"({"BinaryEquals":{"aws:SomeKey":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}})",
       {{"aws:SomeKey", {"b3RoZXI="}}},
       false},
      {R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})",
       {{"aws:SourceIp", {"203.0.113.5"}}},
       true},
      {R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})",
       {{"aws:SourceIp", {"198.51.100.1"}}},
       false},
      {R"({"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}})",
       {{"aws:SourceIp", {"2001:db8:1234:5678::42"}}},
       true},
      {R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", {}, false},
      {R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})",
       {{"aws:SourceIp", {"garbage"}}},
       false},
      {R"({"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}})",
       {{"aws:SourceIp", {"203.0.113.5"}}},
       false},
      {R"({"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}})",
       {{"aws:SourceIp", {"198.51.100.1"}}},
       true},
      {R"({"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", {}, true},
  });
}

TEST(EvaluateConditions, NullTestsWhetherTheKeyIsPresent) {
  ExpectConditionCases({
      {R"({"Null":{"kms:BypassPolicyLockoutSafetyCheck":"true"}})", {}, true},
      {R"({"Null":{"kms:BypassPolicyLockoutSafetyCheck":true}})",
       {{"kms:BypassPolicyLockoutSafetyCheck", {"false"}}},
       false},
      {R"({"Null":{"kms:BypassPolicyLockoutSafetyCheck":"true"}})",
       {{"kms:BypassPolicyLockoutSafetyCheck", {}}},
       true},
      {R"({"Null":{"aws:TokenIssueTime":"false"}})",
       {{"aws:TokenIssueTime", {"1700000000"}}},
       true},
      {R"({"Null":{"aws:TokenIssueTime":"false"}})", {}, false},
  });
}

TEST(EvaluateConditions, IfExistsPassesWhenTheKeyIsMissing) {
  ExpectConditionCases({
      {R"({"StringEqualsIfExists":{"kms:ViaService":"ec2.amazonaws.com"}})", {}, true},
      {R"({"StringEqualsIfExists":{"kms:ViaService":"ec2.amazonaws.com"}})",
       {{"kms:ViaService", {"ec2.amazonaws.com"}}},
       true},
      {R"({"StringEqualsIfExists":{"kms:ViaService":"ec2.amazonaws.com"}})",
       {{"kms:ViaService", {"s3.amazonaws.com"}}},
       false},
      {R"({"StringNotEqualsIfExists":{"kms:ViaService":"ec2.amazonaws.com"}})", {}, true},
      {R"({"StringNotEqualsIfExists":{"kms:ViaService":"ec2.amazonaws.com"}})",
       {{"kms:ViaService", {"ec2.amazonaws.com"}}},
       false},
      {R"({"StringNotEqualsIfExists":{"kms:ViaService":"ec2.amazonaws.com"}})",
       {{"kms:ViaService", {"s3.amazonaws.com"}}},
       true},
      {R"({"StringEqualsIgnoreCaseIfExists":{"kms:ViaService":"EC2.amazonaws.com"}})",
       {{"kms:ViaService", {"ec2.AMAZONAWS.com"}}},
       true},
      {R"({"StringLikeIfExists":{"kms:ViaService":"ec2.*"}})", {}, true},
      {R"({"StringLikeIfExists":{"kms:ViaService":"ec2.*"}})",
       {{"kms:ViaService", {"s3.amazonaws.com"}}},
       false},
      {R"({"NumericLessThanIfExists":{"kms:RotationPeriodInDays":"365"}})", {}, true},
      {R"({"NumericLessThanIfExists":{"kms:RotationPeriodInDays":"365"}})",
       {{"kms:RotationPeriodInDays", {"400"}}},
       false},
      {R"({"DateLessThanIfExists":{"aws:TokenIssueTime":"2024-01-01"}})", {}, true},
      {R"({"DateLessThanIfExists":{"aws:TokenIssueTime":"2024-01-01"}})",
       {{"aws:TokenIssueTime", {"2025-01-01T00:00:00Z"}}},
       false},
      {R"({"BoolIfExists":{"kms:GrantIsForAWSResource":"true"}})", {}, true},
      {R"({"BoolIfExists":{"kms:GrantIsForAWSResource":"true"}})",
       {{"kms:GrantIsForAWSResource", {"false"}}},
       false},
      {R"({"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}})", {}, true},
      {R"({"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}})",
       {{"aws:SourceIp", {"11.0.0.1"}}},
       false},
      {R"({"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}})",
       {{"aws:SourceIp", {"10.0.0.1"}}},
       false},
      {R"({"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:s3:::bucket"}})", {}, true},
      {R"({"ArnNotLikeIfExists":{"aws:SourceArn":"arn:aws:s3:::bucket"}})",
       {{"aws:SourceArn", {"arn:aws:s3:::bucket"}}},
       false},
      {R"({"DateNotEqualsIfExists":{"aws:CurrentTime":"2024-01-01"}})", {}, true},
      {R"({"NumericNotEqualsIfExists":{"kms:RotationPeriodInDays":"365"}})",
       {{"kms:RotationPeriodInDays", {"365"}}},
       false},
  });
}

TEST(EvaluateConditions, SetOperatorsFollowTheIamReferenceIncludingEmptySets) {
  const std::string keys = "kms:EncryptionContextKeys";
  ExpectConditionCases({
      // ForAllValues: every request value matches some policy value; no values: true.
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {{keys, {"AppName"}}},
       true},
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {{keys, {"AppName", "FilePath"}}},
       true},
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {{keys, {"AppName", "Other"}}},
       false},
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {},
       true},
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {{keys, {}}},
       true},
      // ForAnyValue: some request value matches some policy value; no values: false.
      {R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {{keys, {"Other", "FilePath"}}},
       true},
      {R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {{keys, {"Other"}}},
       false},
      {R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {},
       false},
      {R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["AppName","FilePath"]}})",
       {{keys, {}}},
       false},
      // The IAM guide's ForAllValues:StringNotLike table (a Deny on tag keys).
      {R"({"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}})",
       {{"aws:TagKeys", {"key1:legal"}}},
       false},
      {R"({"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}})",
       {{"aws:TagKeys", {"key1:hr", "key1:personnel"}}},
       false},
      {R"({"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}})",
       {{"aws:TagKeys", {"key2:audit"}}},
       true},
      {R"({"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}})", {}, true},
      {R"({"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}})",
       {{"aws:TagKeys", {"key2:audit", "key1:hr"}}},
       false},
      // ForAnyValue with a negated operator: some request value matches none of the policy's.
      {R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}})",
       {{"aws:TagKeys", {"a", "c"}}},
       true},
      {R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}})",
       {{"aws:TagKeys", {"a", "b"}}},
       false},
      {R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}})", {}, false},
      {R"({"ForAllValues:StringLike":{"aws:TagKeys":"Created*"}})",
       {{"aws:TagKeys", {"CreatedBy", "CreatedAt"}}},
       true},
      {R"({"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}})", {}, true},
      {R"({"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}})",
       {{"aws:TagKeys", {"b"}}},
       false},
      {R"({"ForAllValues:StringEqualsIgnoreCase":{"aws:TagKeys":["A","B"]}})",
       {{"aws:TagKeys", {"a", "b"}}},
       true},
      {R"({"ForAnyValue:ArnLike":{"kms:ResourceAliases":"arn:aws:kms:*:*:alias/prod-*"}})",
       {{"kms:ResourceAliases", {"arn:aws:kms:us-east-1:111122223333:alias/prod-db"}}},
       true},
  });
}

TEST(EvaluateConditions, PlainOperatorsOnMultivaluedKeysMatchAnyValue) {
  ExpectConditionCases({
      {R"({"StringEquals":{"aws:TagKeys":"a"}})", {{"aws:TagKeys", {"b", "a"}}}, true},
      {R"({"StringEquals":{"aws:TagKeys":"a"}})", {{"aws:TagKeys", {"b", "c"}}}, false},
      {R"({"StringNotEquals":{"aws:TagKeys":"a"}})", {{"aws:TagKeys", {"b", "a"}}}, false},
      {R"({"StringNotEquals":{"aws:TagKeys":"a"}})", {{"aws:TagKeys", {"b", "c"}}}, true},
  });
}

TEST(EvaluateConditions, ExpandsPolicyVariablesIn2012Policies) {
  ExpectConditionCases({
      {R"({"StringEquals":{"kms:EncryptionContext:owner":"${aws:username}"}})",
       {{"aws:username", {"alice"}}, {"kms:EncryptionContext:owner", {"alice"}}},
       true},
      {R"({"StringEquals":{"kms:EncryptionContext:owner":"${aws:username}"}})",
       {{"aws:username", {"alice"}}, {"kms:EncryptionContext:owner", {"bob"}}},
       false},
      // Variable names are condition keys: case-insensitive.
      {R"({"StringEquals":{"kms:EncryptionContext:owner":"${AWS:UserName}"}})",
       {{"aws:username", {"alice"}}, {"kms:EncryptionContext:owner", {"alice"}}},
       true},
      {R"({"StringLike":{"kms:EncryptionContext:path":"home/${aws:username}/*"}})",
       {{"aws:username", {"alice"}}, {"kms:EncryptionContext:path", {"home/alice/notes"}}},
       true},
      // A substituted value is literal text, never a wildcard.
      {R"({"StringLike":{"kms:EncryptionContext:path":"home/${aws:username}/*"}})",
       {{"aws:username", {"a*"}}, {"kms:EncryptionContext:path", {"home/abc/notes"}}},
       false},
      {R"({"StringLike":{"kms:EncryptionContext:path":"home/${aws:username}/*"}})",
       {{"aws:username", {"a*"}}, {"kms:EncryptionContext:path", {"home/a*/notes"}}},
       true},
      // Defaults fill in for a missing key.
      {R"({"StringEquals":{"kms:EncryptionContext:owner":"${aws:username, 'anonymous'}"}})",
       {{"kms:EncryptionContext:owner", {"anonymous"}}},
       true},
      {R"({"StringEquals":{"kms:EncryptionContext:owner":"${aws:username,'anonymous'}"}})",
       {{"aws:username", {"alice"}}, {"kms:EncryptionContext:owner", {"alice"}}},
       true},
      // ${*}, ${?} and ${$} are the characters themselves.
      {R"({"StringLike":{"kms:EncryptionContext:k":"${*}lit${?}${$}"}})",
       {{"kms:EncryptionContext:k", {"*lit?$"}}},
       true},
      {R"({"StringLike":{"kms:EncryptionContext:k":"${*}lit${?}${$}"}})",
       {{"kms:EncryptionContext:k", {"xlity$"}}},
       false},
      {R"({"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/${aws:username}"}})",
       {{"aws:username", {"alice"}}, {"aws:PrincipalArn", {kAlice}}},
       true},
      {R"({"Bool":{"aws:SecureTransport":"${aws:PrincipalTag/secure}"}})",
       {{"aws:PrincipalTag/secure", {"TRUE"}}, {"aws:SecureTransport", {"true"}}},
       true},
      // A variable the request cannot resolve makes the statement not apply, whatever the
      // operator (even a negated one, even for Deny).
      {R"({"StringEquals":{"kms:EncryptionContext:owner":"${aws:username}"}})",
       {{"kms:EncryptionContext:owner", {"alice"}}},
       false},
      {R"({"StringNotEquals":{"kms:EncryptionContext:owner":"${aws:username}"}})",
       {{"kms:EncryptionContext:owner", {"alice"}}},
       false},
      // Multivalued keys cannot be variables.
      {R"({"StringEquals":{"kms:EncryptionContext:owner":"${aws:TagKeys}"}})",
       {{"aws:TagKeys", {"a", "b"}}, {"kms:EncryptionContext:owner", {"a"}}},
       false},
  });
}

TEST(EvaluateConditions, TreatsVariablesAsTextInOlderPolicies) {
  for (const std::string version : {"2008-10-17"}) {
    const auto policy = MustCompile(
        IdentityStatement(
            "Allow", R"({"StringEquals":{"kms:EncryptionContext:o":"${aws:username}"}})", version),
        PolicyKind::kIdentity);
    EXPECT_EQ(policy
                  ->Evaluate(MakeRequest(kAlice, "kms:Encrypt", kKeyArn,
                                         {{"aws:username", {"alice"}},
                                          {"kms:EncryptionContext:o", {"${aws:username}"}}}))
                  .decision,
              Decision::kAllow);
    EXPECT_EQ(policy
                  ->Evaluate(MakeRequest(
                      kAlice, "kms:Encrypt", kKeyArn,
                      {{"aws:username", {"alice"}}, {"kms:EncryptionContext:o", {"alice"}}}))
                  .decision,
              Decision::kNotApplicable);
  }
  const auto unversioned = MustCompile(
      R"({"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*",
          "Condition":{"StringEquals":{"kms:EncryptionContext:o":"${aws:username}"}}}]})",
      PolicyKind::kIdentity);
  EXPECT_EQ(unversioned
                ->Evaluate(MakeRequest(kAlice, "kms:Encrypt", kKeyArn,
                                       {{"kms:EncryptionContext:o", {"${aws:username}"}}}))
                .decision,
            Decision::kAllow);
}

// ---- Actions and resources ------------------------------------------------------------------

struct MatchCase {
  std::string element;  // "Action":... / "NotResource":... members of the statement
  std::string action;
  std::string resource;
  bool applies;
};

TEST(EvaluateStatements, ActionsAndResourcesMatchWithWildcards) {
  const MatchCase cases[] = {
      {R"("Action":"kms:*","Resource":"*")", "kms:Encrypt", kKeyArn, true},
      {R"("Action":"*","Resource":"*")", "kms:Encrypt", kKeyArn, true},
      {R"("Action":"kms:Encrypt","Resource":"*")", "kms:Encrypt", kKeyArn, true},
      {R"("Action":"kms:Encrypt","Resource":"*")", "kms:Decrypt", kKeyArn, false},
      // Action names are case-insensitive, in the policy and in the request.
      {R"("Action":"KMS:ENCRYPT","Resource":"*")", "kms:Encrypt", kKeyArn, true},
      {R"("Action":"kms:encrypt","Resource":"*")", "KMS:Encrypt", kKeyArn, true},
      {R"("Action":"kms:generatedatakey*","Resource":"*")", "kms:GenerateDataKeyPair", kKeyArn,
       true},
      {R"("Action":"kms:ReEncrypt*","Resource":"*")", "kms:ReEncryptFrom", kKeyArn, true},
      {R"("Action":"kms:Re?ncrypt*","Resource":"*")", "kms:ReEncryptTo", kKeyArn, true},
      {R"("Action":"kms:*Key","Resource":"*")", "kms:DescribeKey", kKeyArn, true},
      {R"("Action":"kms:*Key","Resource":"*")", "kms:DescribeKeys", kKeyArn, false},
      {R"("Action":"s3:*","Resource":"*")", "kms:Encrypt", kKeyArn, false},
      {R"("Action":["s3:*","kms:Decrypt","kms:Encrypt"],"Resource":"*")", "kms:Encrypt", kKeyArn,
       true},
      {R"("NotAction":"kms:Decrypt","Resource":"*")", "kms:Encrypt", kKeyArn, true},
      {R"("NotAction":"kms:Decrypt","Resource":"*")", "kms:Decrypt", kKeyArn, false},
      {R"("NotAction":["kms:Schedule*","kms:Delete*"],"Resource":"*")", "kms:ScheduleKeyDeletion",
       kKeyArn, false},
      {R"("NotAction":["kms:Schedule*","kms:Delete*"],"Resource":"*")", "kms:Encrypt", kKeyArn,
       true},
      {R"("Action":"kms:*","Resource":")" + std::string(kKeyArn) + "\"", "kms:Encrypt", kKeyArn,
       true},
      {R"("Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*")", "kms:Encrypt", kKeyArn,
       true},
      {R"("Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*")", "kms:Encrypt",
       kOtherKeyArn, false},
      {R"("Action":"kms:*","Resource":"arn:aws:kms:us-east-1:111122223333:key/1234ABCD-*")",
       "kms:Encrypt", kKeyArn, false},  // resources are case-sensitive
      {R"("Action":"kms:*","Resource":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-????-*")",
       "kms:Encrypt", kKeyArn, true},
      {R"("Action":"kms:*","Resource":"arn:aws:kms:*:*:alias/*")", "kms:CreateAlias", kKeyArn,
       false},
      {R"("Action":"kms:*","NotResource":"arn:aws:kms:*:444455556666:key/*")", "kms:Encrypt",
       kKeyArn, true},
      {R"("Action":"kms:*","NotResource":"arn:aws:kms:*:444455556666:key/*")", "kms:Encrypt",
       kOtherKeyArn, false},
      {R"("Action":"kms:CreateKey","Resource":"*")", "kms:CreateKey", "*", true},
  };
  for (const MatchCase& c : cases) {
    const auto policy = MustCompile(
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)" + c.element + "}]}",
        PolicyKind::kIdentity);
    EXPECT_EQ(Name(policy->Evaluate(MakeRequest(kAlice, c.action, c.resource)).decision),
              Name(c.applies ? Decision::kAllow : Decision::kNotApplicable))
        << c.element << " vs " << c.action << " on " << c.resource;
  }
}

TEST(EvaluateStatements, ExpandsPolicyVariablesInResources) {
  const auto policy = MustCompile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/${aws:PrincipalTag/key}"}]})",
                                  PolicyKind::kIdentity);
  const std::string key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  EXPECT_EQ(policy
                ->Evaluate(MakeRequest(kAlice, "kms:Encrypt", kKeyArn,
                                       {{"aws:PrincipalTag/key", {key_id}}}))
                .decision,
            Decision::kAllow);
  EXPECT_EQ(policy
                ->Evaluate(MakeRequest(kAlice, "kms:Encrypt", kKeyArn,
                                       {{"aws:PrincipalTag/key", {"other"}}}))
                .decision,
            Decision::kNotApplicable);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kAlice, "kms:Encrypt", kKeyArn)).decision,
            Decision::kNotApplicable);
}

TEST(EvaluateStatements, AKeyPolicyStatementWithoutActionsNeverApplies) {
  const auto policy = MustCompile(
      R"({"Statement":[{"Effect":"Deny","Principal":"*","Resource":"*"},
                       {"Effect":"Allow","Principal":"*","Action":"kms:*"}]})",
      PolicyKind::kResource);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kAlice)).decision, Decision::kNotApplicable);
}

// ---- Principals -----------------------------------------------------------------------------

struct PrincipalCase {
  std::string principal;  // the statement's "Principal"/"NotPrincipal" member
  std::string caller;
  Decision expected;
};

TEST(EvaluatePrincipals, DistinguishDirectAllowFromAccountDelegation) {
  const PrincipalCase cases[] = {
      // The account, by id or root ARN: the root user directly, others via the account.
      {R"("Principal":{"AWS":"111122223333"})", kRoot, Decision::kAllow},
      {R"("Principal":{"AWS":"111122223333"})", kAlice, Decision::kAllowViaAccount},
      {R"("Principal":{"AWS":"111122223333"})", kSession, Decision::kAllowViaAccount},
      {R"("Principal":{"AWS":"111122223333"})", kFederated, Decision::kAllowViaAccount},
      {R"("Principal":{"AWS":"111122223333"})", kOtherAccountUser, Decision::kNotApplicable},
      {R"("Principal":{"AWS":"111122223333"})", kService, Decision::kNotApplicable},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:root"})", kRoot, Decision::kAllow},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:root"})", kBob, Decision::kAllowViaAccount},
      {R"("Principal":{"AWS":"arn:aws:iam::444455556666:root"})", kOtherAccountUser,
       Decision::kAllowViaAccount},
      {R"("Principal":{"AWS":"arn:aws:iam::444455556666:root"})", kOtherRoot, Decision::kAllow},
      {R"("Principal":{"AWS":"arn:aws-cn:iam::111122223333:root"})", kAlice,
       Decision::kNotApplicable},
      // Users by exact ARN (case-sensitive).
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"})", kAlice, Decision::kAllow},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"})", kBob,
       Decision::kNotApplicable},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:user/Alice"})", kAlice,
       Decision::kNotApplicable},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"})", kOtherAccountUser,
       Decision::kNotApplicable},
      // A role covers its sessions (the role's path is not in the session ARN).
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:role/RoleName"})", kSession,
       Decision::kAllow},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:role/RoleName"})", kOtherSession,
       Decision::kAllow},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:role/team/RoleName"})", kSession,
       Decision::kAllow},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:role/RoleName"})", kOtherRoleSession,
       Decision::kNotApplicable},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:role/RoleName"})", kOtherAccountSession,
       Decision::kNotApplicable},
      {R"("Principal":{"AWS":"arn:aws:iam::111122223333:role/RoleName"})", kAlice,
       Decision::kNotApplicable},
      // A session names exactly one session.
      {R"("Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/RoleName/session"})", kSession,
       Decision::kAllow},
      {R"("Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/RoleName/session"})",
       kOtherSession, Decision::kNotApplicable},
      {R"("Principal":{"AWS":"arn:aws:sts::111122223333:federated-user/carol"})", kFederated,
       Decision::kAllow},
      // Everyone.
      {R"("Principal":"*")", kAlice, Decision::kAllow},
      {R"("Principal":"*")", kOtherAccountSession, Decision::kAllow},
      {R"("Principal":{"AWS":"*"})", kRoot, Decision::kAllow},
      {R"("Principal":{"AWS":"*"})", kService, Decision::kAllow},
      // Services and others.
      {R"("Principal":{"Service":"ec2.amazonaws.com"})", kService, Decision::kAllow},
      {R"("Principal":{"Service":"EC2.amazonaws.com"})", kService, Decision::kAllow},
      {R"("Principal":{"Service":"s3.amazonaws.com"})", kService, Decision::kNotApplicable},
      {R"("Principal":{"Service":"ec2.amazonaws.com"})", kAlice, Decision::kNotApplicable},
      {R"("Principal":{"AWS":"AIDACKCEVSQ6C2EXAMPLE"})", kAlice, Decision::kNotApplicable},
      // Lists: any entry; the most direct wins.
      {R"("Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/alice"]})", kAlice,
       Decision::kAllow},
      {R"("Principal":{"AWS":["444455556666","arn:aws:iam::111122223333:user/bob"]})", kAlice,
       Decision::kNotApplicable},
  };
  for (const PrincipalCase& c : cases) {
    const auto policy = MustCompile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)" +
                                        c.principal + R"(,"Action":"kms:*","Resource":"*"}]})",
                                    PolicyKind::kResource);
    EXPECT_EQ(Name(policy->Evaluate(MakeRequest(c.caller)).decision), Name(c.expected))
        << c.principal << " vs " << c.caller;
  }
}

TEST(EvaluatePrincipals, NotPrincipalExcludesOnlyCallersListedAtEveryLevel) {
  const PrincipalCase cases[] = {
      // The IAM guide's examples: a user and its account.
      {R"("NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]})",
       kAlice, Decision::kNotApplicable},
      {R"("NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]})",
       kBob, Decision::kDeny},
      {R"("NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]})",
       kRoot, Decision::kNotApplicable},
      // Without the account, the user's account is still denied, and so is the user.
      {R"("NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"})", kAlice, Decision::kDeny},
      // A session, its role and the account.
      {R"("NotPrincipal":{"AWS":["arn:aws:sts::111122223333:assumed-role/RoleName/session","arn:aws:iam::111122223333:role/RoleName","111122223333"]})",
       kSession, Decision::kNotApplicable},
      {R"("NotPrincipal":{"AWS":["arn:aws:sts::111122223333:assumed-role/RoleName/session","arn:aws:iam::111122223333:role/RoleName","111122223333"]})",
       kOtherSession, Decision::kDeny},
      {R"("NotPrincipal":{"AWS":["arn:aws:sts::111122223333:assumed-role/RoleName/session","111122223333"]})",
       kSession, Decision::kDeny},
      {R"("NotPrincipal":{"AWS":"111122223333"})", kRoot, Decision::kNotApplicable},
      {R"("NotPrincipal":{"AWS":"111122223333"})", kAlice, Decision::kDeny},
      {R"("NotPrincipal":{"AWS":"111122223333"})", kOtherAccountUser, Decision::kDeny},
      {R"("NotPrincipal":{"AWS":"*"})", kAlice, Decision::kNotApplicable},
      {R"("NotPrincipal":{"Service":"ec2.amazonaws.com"})", kService, Decision::kNotApplicable},
  };
  for (const PrincipalCase& c : cases) {
    const auto policy = MustCompile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny",)" +
                                        c.principal + R"(,"Action":"kms:*","Resource":"*"}]})",
                                    PolicyKind::kResource);
    EXPECT_EQ(Name(policy->Evaluate(MakeRequest(c.caller)).decision), Name(c.expected))
        << c.principal << " vs " << c.caller;
  }
}

TEST(EvaluatePrincipals, UsesTheGivenPrincipalAccount) {
  const auto policy = MustCompile(
      R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kms:*","Resource":"*"}]})",
      PolicyKind::kResource);
  Request request = MakeRequest(kAlice);
  EXPECT_EQ(policy->Evaluate(request).decision, Decision::kNotApplicable);
  request.principal_account = "444455556666";
  EXPECT_EQ(policy->Evaluate(request).decision, Decision::kAllowViaAccount);
}

// ---- Whole policies -------------------------------------------------------------------------

TEST(EvaluatePolicy, DefaultKeyPolicyAllowsRootDirectlyAndUsersOnlyViaTheAccount) {
  const auto policy = MustCompile(kDefaultKeyPolicy, PolicyKind::kResource);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kRoot)).decision, Decision::kAllow);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kRoot, "kms:PutKeyPolicy")).decision, Decision::kAllow);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kAlice)).decision, Decision::kAllowViaAccount);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kSession, "kms:Decrypt")).decision,
            Decision::kAllowViaAccount);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kOtherAccountUser)).decision, Decision::kNotApplicable);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kOtherRoot)).decision, Decision::kNotApplicable);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kRoot, "s3:GetObject")).decision,
            Decision::kNotApplicable);
  EXPECT_EQ(policy->Evaluate(MakeRequest(kRoot)).statement_index, 0);
}

TEST(EvaluatePolicy, DenyBeatsAllowWhateverTheOrder) {
  const std::string allow =
      R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"})";
  const std::string deny =
      R"({"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"})";
  for (const std::string& statements : {allow + "," + deny, deny + "," + allow}) {
    const auto policy = MustCompile(R"({"Statement":[)" + statements + "]}", PolicyKind::kResource);
    EXPECT_EQ(policy->Evaluate(MakeRequest(kAlice, "kms:Decrypt")).decision, Decision::kDeny);
    EXPECT_EQ(policy->Evaluate(MakeRequest(kAlice, "kms:Encrypt")).decision, Decision::kAllow);
  }
  const auto identity = MustCompile(
      R"({"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},
                       {"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]})",
      PolicyKind::kIdentity);
  const Evaluation e = identity->Evaluate(MakeRequest(kAlice, "kms:Decrypt"));
  EXPECT_EQ(e.decision, Decision::kDeny);
  EXPECT_EQ(e.statement_index, 1);
}

TEST(EvaluatePolicy, DirectAllowBeatsAccountDelegationAndReportsItsStatement) {
  const auto policy = MustCompile(
      R"({"Statement":[
        {"Sid":"Account","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
        {"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Encrypt","Resource":"*"}]})",
      PolicyKind::kResource);
  const Evaluation alice = policy->Evaluate(MakeRequest(kAlice, "kms:Encrypt"));
  EXPECT_EQ(alice.decision, Decision::kAllow);
  EXPECT_EQ(policy->sid(alice.statement_index), "Alice");
  const Evaluation decrypt = policy->Evaluate(MakeRequest(kAlice, "kms:Decrypt"));
  EXPECT_EQ(decrypt.decision, Decision::kAllowViaAccount);
  EXPECT_EQ(policy->sid(decrypt.statement_index), "Account");
  EXPECT_EQ(policy->Evaluate(MakeRequest(kAlice, "s3:GetObject")).statement_index, -1);
}

TEST(EvaluatePolicy, CallerAccountConditionWithAnyPrincipalIsADirectAllow) {
  // The shape of the AWS managed key policies ("all principals in the account via EBS").
  const auto policy = MustCompile(R"({"Version":"2012-10-17","Statement":[{
      "Effect":"Allow","Principal":{"AWS":"*"},
      "Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],
      "Resource":"*",
      "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333",
                                   "kms:ViaService":"ec2.us-west-2.amazonaws.com"}}}]})",
                                  PolicyKind::kResource);
  EXPECT_EQ(policy
                ->Evaluate(MakeRequest(kAlice, "kms:Decrypt", kKeyArn,
                                       {{"kms:CallerAccount", {"111122223333"}},
                                        {"kms:ViaService", {"ec2.us-west-2.amazonaws.com"}}}))
                .decision,
            Decision::kAllow);
  EXPECT_EQ(policy
                ->Evaluate(MakeRequest(kAlice, "kms:Decrypt", kKeyArn,
                                       {{"kms:CallerAccount", {"111122223333"}}}))
                .decision,
            Decision::kNotApplicable);
}

TEST(EvaluatePolicy, IsSafeToEvaluateFromManyThreads) {
  const auto policy = MustCompile(R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
      {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringNotEquals":{"kms:EncryptionContext:owner":"${aws:username}"}}}]})",
                                  PolicyKind::kResource);
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const bool own = (i % 2) == 0;
        const Request request =
            MakeRequest(kAlice, "kms:Decrypt", kKeyArn,
                        {{"aws:username", {"alice"}},
                         {"kms:EncryptionContext:owner", {own ? "alice" : "bob"}}});
        const Decision expected = own ? Decision::kAllowViaAccount : Decision::kDeny;
        if (policy->Evaluate(request).decision != expected) {
          ++wrong[t];
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

TEST(ConditionKeys, FindsKeysWhateverTheirCase) {
  ConditionKeys keys;
  keys.Add("kms:EncryptionContext:AppName", "ExampleApp");
  keys.Add("KMS:encryptioncontext:appname", "Other");
  ASSERT_NE(keys.Find("kms:encryptioncontext:APPNAME"), nullptr);
  EXPECT_EQ(*keys.Find("kms:encryptioncontext:APPNAME"),
            (std::vector<std::string>{"ExampleApp", "Other"}));
  EXPECT_EQ(keys.Find("kms:EncryptionContext:Missing"), nullptr);
  keys.Set("aws:TagKeys", {});
  ASSERT_NE(keys.Find("aws:tagkeys"), nullptr);
  EXPECT_TRUE(keys.Find("aws:tagkeys")->empty());
  keys.Remove("AWS:TAGKEYS");
  EXPECT_EQ(keys.Find("aws:tagkeys"), nullptr);
}

}  // namespace
}  // namespace scytale::policy

// Microbenchmarks of policy/: evaluating compiled key and identity policies, the whole KMS
// authorization decision, and (for scale) compiling and building a request.
//
//   Policy/Evaluate/DefaultKeyPolicy/*   the AWS default key policy (one statement)
//   Policy/Evaluate/TenStatements/*      a 10-statement key policy with conditions of most
//                                        operator families, ${aws:username} and NotPrincipal
//   Policy/Authorize/*                   AuthorizeKeyAccess: key policy + 2 identity policies
//   Policy/Compile/*                     JSON → CompiledPolicy (once per policy change)
//   Policy/BuildRequest                  filling a Request with a typical set of condition keys
//
// Every Evaluate row walks the whole policy (an explicit Deny may come last), so the request
// chosen changes the work only by how far each statement gets before it stops matching.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace {

using scytale::policy::AuthorizeKeyAccess;
using scytale::policy::CompiledPolicy;
using scytale::policy::PolicyKind;
using scytale::policy::Request;

constexpr char kKeyArn[] =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

constexpr char kDefaultKeyPolicy[] = R"json({
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : { "AWS" : "arn:aws:iam::111122223333:root" },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
})json";

constexpr char kTenStatementPolicy[] = R"json({
  "Version": "2012-10-17",
  "Id": "bench-ten-statements",
  "Statement": [
    {"Sid": "EnableIamUserPermissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "KeyAdministrators", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/KMSAdminRole",
                           "arn:aws:iam::111122223333:user/admin"]},
     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                "kms:CancelKeyDeletion"],
     "Resource": "*"},
    {"Sid": "KeyUsers", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/AppRole",
                           "arn:aws:iam::111122223333:user/alice"]},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                "kms:DescribeKey"],
     "Resource": "*",
     "Condition": {"StringEquals": {"kms:EncryptionContext:Department": ["Finance", "Audit"]},
                   "ForAllValues:StringEquals": {"kms:EncryptionContextKeys":
                                                 ["Department", "Project", "Owner"]}}},
    {"Sid": "GrantsForAwsResources", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/AppRole"},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    {"Sid": "ViaEbsForTheAccount", "Effect": "Allow", "Principal": {"AWS": "*"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
     "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"},
                   "StringLike": {"kms:ViaService": "ec2.*.amazonaws.com"}}},
    {"Sid": "OwnDataOnly", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/AppRole"},
     "Action": "kms:Decrypt", "Resource": "*",
     "Condition": {"StringEquals": {"kms:EncryptionContext:Owner": "${aws:username}"}}},
    {"Sid": "DenyOutsideTheOffice", "Effect": "Deny", "Principal": "*", "Action": "kms:*",
     "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
                   "Null": {"kms:ViaService": "true"}}},
    {"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "kms:*",
     "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "DenyAfterExpiry", "Effect": "Deny", "Principal": "*", "Action": "kms:*",
     "Resource": "*",
     "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2099-12-31T23:59:59Z"}}},
    {"Sid": "OnlyAdminsMayDelete", "Effect": "Deny",
     "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:user/admin",
                              "arn:aws:iam::111122223333:root"]},
     "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*",
     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Break*"},
                   "NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}}}
  ]
})json";

std::shared_ptr<const CompiledPolicy> Compile(const char* document, PolicyKind kind) {
  auto policy = CompiledPolicy::Compile(document, kind);
  if (!policy.has_value()) {
    std::fprintf(stderr, "compile failed: %s\n", policy.error().message.c_str());
    std::abort();
  }
  return *policy;
}

// An Encrypt call as kms/ would describe it: alice, TLS, from the office, with a context.
Request AliceEncrypt() {
  Request r;
  r.principal_arn = "arn:aws:iam::111122223333:user/alice";
  r.action = "kms:Encrypt";
  r.resource = kKeyArn;
  scytale::policy::AddPrincipalConditionKeys(&r);
  r.conditions.Set("kms:CallerAccount", {"111122223333"});
  r.conditions.Set("aws:SourceIp", {"203.0.113.17"});
  r.conditions.Set("aws:SecureTransport", {"true"});
  r.conditions.Set("aws:CurrentTime", {"2026-11-28T12:00:00Z"});
  r.conditions.Set("kms:EncryptionContext:Department", {"Finance"});
  r.conditions.Set("kms:EncryptionContext:Owner", {"alice"});
  r.conditions.Set("kms:EncryptionContextKeys", {"Department", "Owner"});
  r.conditions.Set("kms:EncryptionAlgorithm", {"SYMMETRIC_DEFAULT"});
  return r;
}

Request RootDescribeKey() {
  Request r;
  r.principal_arn = "arn:aws:iam::111122223333:root";
  r.action = "kms:DescribeKey";
  r.resource = kKeyArn;
  scytale::policy::AddPrincipalConditionKeys(&r);
  r.conditions.Set("kms:CallerAccount", {"111122223333"});
  r.conditions.Set("aws:SourceIp", {"203.0.113.17"});
  r.conditions.Set("aws:SecureTransport", {"true"});
  return r;
}

void BM_DefaultKeyPolicy_Root(benchmark::State& state) {
  const auto policy = Compile(kDefaultKeyPolicy, PolicyKind::kResource);
  const Request request = RootDescribeKey();
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->Evaluate(request));
  }
}
BENCHMARK(BM_DefaultKeyPolicy_Root)->Name("Policy/Evaluate/DefaultKeyPolicy/RootDirect");

void BM_DefaultKeyPolicy_User(benchmark::State& state) {
  const auto policy = Compile(kDefaultKeyPolicy, PolicyKind::kResource);
  const Request request = AliceEncrypt();
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->Evaluate(request));
  }
}
BENCHMARK(BM_DefaultKeyPolicy_User)->Name("Policy/Evaluate/DefaultKeyPolicy/UserViaAccount");

void BM_TenStatements_UserEncrypt(benchmark::State& state) {
  const auto policy = Compile(kTenStatementPolicy, PolicyKind::kResource);
  const Request request = AliceEncrypt();
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->Evaluate(request));
  }
}
BENCHMARK(BM_TenStatements_UserEncrypt)->Name("Policy/Evaluate/TenStatements/UserEncrypt");

void BM_TenStatements_RoleDecryptWithVariable(benchmark::State& state) {
  const auto policy = Compile(kTenStatementPolicy, PolicyKind::kResource);
  Request request = AliceEncrypt();
  request.principal_arn = "arn:aws:sts::111122223333:assumed-role/AppRole/i-0123456789";
  request.action = "kms:Decrypt";
  request.conditions.Set("aws:username", {"alice"});  // keeps ${aws:username} resolvable
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->Evaluate(request));
  }
}
BENCHMARK(BM_TenStatements_RoleDecryptWithVariable)
    ->Name("Policy/Evaluate/TenStatements/RoleDecryptWithVariable");

void BM_TenStatements_RootDescribe(benchmark::State& state) {
  const auto policy = Compile(kTenStatementPolicy, PolicyKind::kResource);
  const Request request = RootDescribeKey();
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->Evaluate(request));
  }
}
BENCHMARK(BM_TenStatements_RootDescribe)->Name("Policy/Evaluate/TenStatements/RootDescribe");

template <int kTenStatements>
void BM_Authorize(benchmark::State& state) {
  const auto key_policy =
      Compile(kTenStatements ? kTenStatementPolicy : kDefaultKeyPolicy, PolicyKind::kResource);
  const std::vector<std::shared_ptr<const CompiledPolicy>> identity = {
      Compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
          "Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],
          "Resource":"arn:aws:kms:*:111122223333:key/*"}]})",
              PolicyKind::kIdentity),
      Compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*",
          "Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]})",
              PolicyKind::kIdentity),
  };
  const Request request = AliceEncrypt();
  for (auto _ : state) {
    benchmark::DoNotOptimize(AuthorizeKeyAccess(*key_policy, identity, false, request));
  }
}
BENCHMARK_TEMPLATE(BM_Authorize, 0)->Name("Policy/Authorize/DefaultKeyPolicyPlus2Iam");
BENCHMARK_TEMPLATE(BM_Authorize, 1)->Name("Policy/Authorize/TenStatementsPlus2Iam");

template <int kTenStatements>
void BM_Compile(benchmark::State& state) {
  const char* document = kTenStatements ? kTenStatementPolicy : kDefaultKeyPolicy;
  for (auto _ : state) {
    benchmark::DoNotOptimize(CompiledPolicy::Compile(document, PolicyKind::kResource));
  }
}
BENCHMARK_TEMPLATE(BM_Compile, 0)->Name("Policy/Compile/DefaultKeyPolicy");
BENCHMARK_TEMPLATE(BM_Compile, 1)->Name("Policy/Compile/TenStatements");

void BM_BuildRequest(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(AliceEncrypt());
  }
}
BENCHMARK(BM_BuildRequest)->Name("Policy/BuildRequest");

}  // namespace

BENCHMARK_MAIN();

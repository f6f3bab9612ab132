// AWS KMS's combined decision: key policy, identity policies and grants.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/policy.h"
#include "policy/testing/policies.h"

namespace scytale::policy {
namespace {

using testing::kDefaultKeyPolicy;
using testing::kKeyArn;
using testing::MakeRequest;
using testing::MustCompile;

constexpr char kRoot[] = "arn:aws:iam::111122223333:root";
constexpr char kAlice[] = "arn:aws:iam::111122223333:user/alice";
constexpr char kBob[] = "arn:aws:iam::111122223333:user/bob";
constexpr char kSession[] = "arn:aws:sts::111122223333:assumed-role/RoleName/session";
constexpr char kOtherRoot[] = "arn:aws:iam::444455556666:root";
constexpr char kOtherUser[] = "arn:aws:iam::444455556666:user/dave";

std::shared_ptr<const CompiledPolicy> KeyPolicy(const std::string& principal) {
  return MustCompile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":)" +
                         principal + R"(,"Action":"kms:*","Resource":"*"}]})",
                     PolicyKind::kResource);
}

const std::shared_ptr<const CompiledPolicy>& DefaultKeyPolicy() {
  static const auto policy = MustCompile(kDefaultKeyPolicy, PolicyKind::kResource);
  return policy;
}

std::shared_ptr<const CompiledPolicy> Identity(const std::string& effect,
                                               const std::string& action = "kms:*",
                                               const std::string& resource = "*") {
  return MustCompile(R"({"Version":"2012-10-17","Statement":[{"Effect":")" + effect +
                         R"(","Action":")" + action + R"(","Resource":")" + resource + R"("}]})",
                     PolicyKind::kIdentity);
}

using Policies = std::vector<std::shared_ptr<const CompiledPolicy>>;

const char* Name(AccessOutcome o) {
  switch (o) {
    case AccessOutcome::kAllowedByKeyPolicy:
      return "AllowedByKeyPolicy";
    case AccessOutcome::kAllowedByIdentityPolicy:
      return "AllowedByIdentityPolicy";
    case AccessOutcome::kAllowedByGrant:
      return "AllowedByGrant";
    case AccessOutcome::kDeniedByKeyPolicy:
      return "DeniedByKeyPolicy";
    case AccessOutcome::kDeniedByIdentityPolicy:
      return "DeniedByIdentityPolicy";
    case AccessOutcome::kDeniedNoIdentityPolicyAllows:
      return "DeniedNoIdentityPolicyAllows";
    case AccessOutcome::kDeniedNoResourcePolicyAllows:
      return "DeniedNoResourcePolicyAllows";
  }
  return "?";
}

struct AuthorizeCase {
  const char* what;
  std::shared_ptr<const CompiledPolicy> key_policy;
  Policies identity;
  bool grant;
  Request request;
  AccessOutcome expected;
};

TEST(AuthorizeKeyAccess, FollowsTheKmsDecisionTable) {
  const auto allow_all = Identity("Allow");
  const auto allow_decrypt_only = Identity("Allow", "kms:Decrypt");
  const auto deny_all = Identity("Deny");
  const auto allow_other_key = Identity("Allow", "kms:*", "arn:aws:kms:*:111122223333:key/other");
  const auto alice_only = KeyPolicy(R"({"AWS":"arn:aws:iam::111122223333:user/alice"})");
  const auto role_only = KeyPolicy(R"({"AWS":"arn:aws:iam::111122223333:role/RoleName"})");
  const auto other_account = KeyPolicy(R"({"AWS":"444455556666"})");
  const auto other_user = KeyPolicy(R"({"AWS":"arn:aws:iam::444455556666:user/dave"})");
  const auto deny_alice = MustCompile(R"({"Statement":[
      {"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
      {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}]})",
                                      PolicyKind::kResource);

  const AuthorizeCase cases[] = {
      {"root under the default key policy",
       DefaultKeyPolicy(),
       {},
       false,
       MakeRequest(kRoot),
       AccessOutcome::kAllowedByKeyPolicy},
      {"root may update the default key policy",
       DefaultKeyPolicy(),
       {},
       false,
       MakeRequest(kRoot, "kms:PutKeyPolicy"),
       AccessOutcome::kAllowedByKeyPolicy},
      {"user without IAM policy under the default key policy",
       DefaultKeyPolicy(),
       {},
       false,
       MakeRequest(kAlice),
       AccessOutcome::kDeniedNoIdentityPolicyAllows},
      {"user with an IAM allow under the default key policy",
       DefaultKeyPolicy(),
       {allow_all},
       false,
       MakeRequest(kAlice),
       AccessOutcome::kAllowedByIdentityPolicy},
      {"IAM allow for another action",
       DefaultKeyPolicy(),
       {allow_decrypt_only},
       false,
       MakeRequest(kAlice, "kms:Encrypt"),
       AccessOutcome::kDeniedNoIdentityPolicyAllows},
      {"IAM allow for another key",
       DefaultKeyPolicy(),
       {allow_other_key},
       false,
       MakeRequest(kAlice),
       AccessOutcome::kDeniedNoIdentityPolicyAllows},
      {"role session with an IAM allow",
       DefaultKeyPolicy(),
       {allow_all},
       false,
       MakeRequest(kSession),
       AccessOutcome::kAllowedByIdentityPolicy},
      {"IAM deny beats a delegated IAM allow",
       DefaultKeyPolicy(),
       {allow_all, deny_all},
       false,
       MakeRequest(kAlice),
       AccessOutcome::kDeniedByIdentityPolicy},
      {"IAM deny beats the key policy naming the user",
       alice_only,
       {deny_all},
       false,
       MakeRequest(kAlice),
       AccessOutcome::kDeniedByIdentityPolicy},
      {"IAM deny beats a grant",
       DefaultKeyPolicy(),
       {deny_all},
       true,
       MakeRequest(kAlice),
       AccessOutcome::kDeniedByIdentityPolicy},
      {"key policy naming the user needs no IAM policy",
       alice_only,
       {},
       false,
       MakeRequest(kAlice),
       AccessOutcome::kAllowedByKeyPolicy},
      {"key policy naming the role allows its sessions",
       role_only,
       {},
       false,
       MakeRequest(kSession),
       AccessOutcome::kAllowedByKeyPolicy},
      {"IAM allow is ignored without delegation",
       alice_only,
       {allow_all},
       false,
       MakeRequest(kBob),
       AccessOutcome::kDeniedNoResourcePolicyAllows},
      {"root is locked out by a key policy that omits it",
       alice_only,
       {},
       false,
       MakeRequest(kRoot),
       AccessOutcome::kDeniedNoResourcePolicyAllows},
      {"key policy deny beats everything",
       deny_alice,
       {allow_all},
       true,
       MakeRequest(kAlice),
       AccessOutcome::kDeniedByKeyPolicy},
      {"key policy deny spares others",
       deny_alice,
       {allow_all},
       false,
       MakeRequest(kBob),
       AccessOutcome::kAllowedByIdentityPolicy},
      {"a grant allows without key policy or IAM",
       alice_only,
       {},
       true,
       MakeRequest(kBob),
       AccessOutcome::kAllowedByGrant},
      {"a grant allows when only delegation exists",
       DefaultKeyPolicy(),
       {},
       true,
       MakeRequest(kBob),
       AccessOutcome::kAllowedByGrant},
      // Cross-account: the key policy must allow and so must the caller's own account.
      {"other account delegated and its IAM allows",
       other_account,
       {allow_all},
       false,
       MakeRequest(kOtherUser),
       AccessOutcome::kAllowedByIdentityPolicy},
      {"other account delegated without IAM",
       other_account,
       {},
       false,
       MakeRequest(kOtherUser),
       AccessOutcome::kDeniedNoIdentityPolicyAllows},
      {"other account's user named, without IAM",
       other_user,
       {},
       false,
       MakeRequest(kOtherUser),
       AccessOutcome::kDeniedNoIdentityPolicyAllows},
      {"other account's user named, with IAM",
       other_user,
       {allow_all},
       false,
       MakeRequest(kOtherUser),
       AccessOutcome::kAllowedByKeyPolicy},
      {"other account's root needs no IAM",
       other_account,
       {},
       false,
       MakeRequest(kOtherRoot),
       AccessOutcome::kAllowedByKeyPolicy},
      {"other account not in the key policy",
       DefaultKeyPolicy(),
       {allow_all},
       false,
       MakeRequest(kOtherUser),
       AccessOutcome::kDeniedNoResourcePolicyAllows},
      {"other account with a grant",
       DefaultKeyPolicy(),
       {},
       true,
       MakeRequest(kOtherUser),
       AccessOutcome::kAllowedByGrant},
  };
  for (const AuthorizeCase& c : cases) {
    const AccessDecision decision =
        AuthorizeKeyAccess(*c.key_policy, c.identity, c.grant, c.request);
    EXPECT_EQ(Name(decision.outcome), Name(c.expected)) << c.what;
    EXPECT_EQ(decision.allowed(), std::string(Name(c.expected)).starts_with("Allowed")) << c.what;
  }
}

TEST(AuthorizeKeyAccess, SkipsNullIdentityPolicies) {
  const Policies identity = {nullptr, Identity("Allow")};
  EXPECT_EQ(AuthorizeKeyAccess(*DefaultKeyPolicy(), identity, false, MakeRequest(kAlice)).outcome,
            AccessOutcome::kAllowedByIdentityPolicy);
}

TEST(AuthorizeWithoutKeyPolicy, AllowsRootAndUsersWithAnIamAllow) {
  const Request create_key = MakeRequest(kRoot, "kms:CreateKey", "*");
  EXPECT_EQ(AuthorizeWithoutKeyPolicy({}, create_key).outcome,
            AccessOutcome::kAllowedByIdentityPolicy);
  EXPECT_EQ(AuthorizeWithoutKeyPolicy({}, MakeRequest(kAlice, "kms:CreateKey", "*")).outcome,
            AccessOutcome::kDeniedNoIdentityPolicyAllows);
  const Policies allow = {Identity("Allow", "kms:CreateKey")};
  EXPECT_EQ(AuthorizeWithoutKeyPolicy(allow, MakeRequest(kAlice, "kms:CreateKey", "*")).outcome,
            AccessOutcome::kAllowedByIdentityPolicy);
  const Policies deny = {Identity("Allow"), Identity("Deny", "kms:CreateKey")};
  EXPECT_EQ(AuthorizeWithoutKeyPolicy(deny, MakeRequest(kAlice, "kms:CreateKey", "*")).outcome,
            AccessOutcome::kDeniedByIdentityPolicy);
  EXPECT_EQ(AuthorizeWithoutKeyPolicy(deny, create_key).outcome,
            AccessOutcome::kDeniedByIdentityPolicy);
}

TEST(AccessDeniedMessage, ReadsLikeAws) {
  const Request r = MakeRequest(kAlice, "kms:Encrypt");
  const std::string prefix = std::string("User: ") + kAlice +
                             " is not authorized to perform: kms:Encrypt on resource: " + kKeyArn;
  EXPECT_EQ(AccessDeniedMessage(AccessOutcome::kDeniedNoIdentityPolicyAllows, r),
            prefix + " because no identity-based policy allows the kms:Encrypt action");
  EXPECT_EQ(AccessDeniedMessage(AccessOutcome::kDeniedNoResourcePolicyAllows, r),
            prefix + " because no resource-based policy allows the kms:Encrypt action");
  EXPECT_EQ(AccessDeniedMessage(AccessOutcome::kDeniedByKeyPolicy, r),
            prefix + " with an explicit deny in a resource-based policy");
  EXPECT_EQ(AccessDeniedMessage(AccessOutcome::kDeniedByIdentityPolicy, r),
            prefix + " with an explicit deny in an identity-based policy");
}

TEST(AddPrincipalConditionKeys, DerivesTheGlobalPrincipalKeys) {
  Request user = MakeRequest("arn:aws:iam::111122223333:user/division/alice");
  AddPrincipalConditionKeys(&user);
  EXPECT_EQ(*user.conditions.Find("aws:PrincipalArn"),
            std::vector<std::string>{"arn:aws:iam::111122223333:user/division/alice"});
  EXPECT_EQ(*user.conditions.Find("aws:PrincipalAccount"),
            std::vector<std::string>{"111122223333"});
  EXPECT_EQ(*user.conditions.Find("aws:PrincipalType"), std::vector<std::string>{"User"});
  EXPECT_EQ(*user.conditions.Find("aws:username"), std::vector<std::string>{"alice"});

  Request session = MakeRequest(kSession);
  AddPrincipalConditionKeys(&session);
  EXPECT_EQ(*session.conditions.Find("aws:PrincipalArn"),
            std::vector<std::string>{"arn:aws:iam::111122223333:role/RoleName"});
  EXPECT_EQ(*session.conditions.Find("aws:PrincipalType"), std::vector<std::string>{"AssumedRole"});
  EXPECT_EQ(session.conditions.Find("aws:username"), nullptr);

  Request root = MakeRequest(kRoot);
  AddPrincipalConditionKeys(&root);
  EXPECT_EQ(*root.conditions.Find("aws:PrincipalType"), std::vector<std::string>{"Account"});
  EXPECT_EQ(*root.conditions.Find("aws:PrincipalArn"), std::vector<std::string>{kRoot});
}

TEST(AddPrincipalConditionKeys, FeedsPolicyVariables) {
  Request request = MakeRequest(kAlice);
  AddPrincipalConditionKeys(&request);
  request.conditions.Set("kms:EncryptionContext:owner", {"alice"});
  const auto policy = MustCompile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":"kms:*","Resource":"*",
      "Condition":{"StringEquals":{"kms:EncryptionContext:owner":"${aws:username}"}}}]})",
                                  PolicyKind::kIdentity);
  EXPECT_EQ(policy->Evaluate(request).decision, Decision::kAllow);
}

}  // namespace
}  // namespace scytale::policy

// Grants through the service layer: creating, listing, retiring and revoking them, and their
// effect on authorization (grantee principals, operations, constraints, explicit denies,
// grants that create grants), with IAM users and a role as callers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/testing/matchers.h"
#include "kms/internal/grant.h"
#include "kms/kms.h"
#include "kms/testing/service_fixture.h"

namespace scytale::kms {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::IsOk;

constexpr const char* kAccount = "111122223333";
constexpr const char* kRoot = "arn:aws:iam::111122223333:root";
constexpr const char* kDev = "arn:aws:iam::111122223333:user/dev";
constexpr const char* kOps = "arn:aws:iam::111122223333:user/ops";
constexpr const char* kApp = "arn:aws:iam::111122223333:role/team/app";
constexpr const char* kAppSession = "arn:aws:sts::111122223333:assumed-role/app/s1";

class GrantsTest : public testing::ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    for (const char* name : {"dev", "ops", "nobody"}) {
      storage::UserRow user;
      user.account_id = kAccount;
      user.user_name = name;
      user.user_id = std::string("AIDA") + name;
      ASSERT_TRUE(store_->InsertUser(user).has_value());
    }
    storage::RoleRow role;
    role.account_id = kAccount;
    role.role_name = "app";
    role.role_id = "AROAAPP";
    role.path = "/team/";
    role.trust_policy = "{}";
    ASSERT_TRUE(store_->InsertRole(role).has_value());
    service_ = KeyService::Create(store_.get(), root_.get(), clock_,
                                  [this](const std::string& principal) {
                                    return IdentityPolicies(principal);
                                  });
    key_ = NewKey();
  }

  Result<std::vector<std::shared_ptr<const policy::CompiledPolicy>>> IdentityPolicies(
      const std::string& principal) {
    std::vector<std::shared_ptr<const policy::CompiledPolicy>> out;
    auto it = iam_policies_.find(principal);
    if (it != iam_policies_.end()) {
      SCY_ASSIGN_OR_RETURN(auto compiled, policy::CompiledPolicy::Compile(
                                              it->second, policy::PolicyKind::kIdentity));
      out.push_back(std::move(compiled));
    }
    return out;
  }

  static CallContext As(const std::string& principal) {
    return {kAccount, "us-east-1", principal, "req"};
  }

  Result<CreateGrantResponse> Grant(const std::string& grantee, std::vector<std::string> ops,
                                    std::optional<GrantConstraints> constraints = std::nullopt,
                                    std::optional<std::string> retiring = std::nullopt,
                                    const CallContext* caller = nullptr) {
    CreateGrantRequest req;
    req.key_id = key_.key_id;
    req.grantee_principal = grantee;
    req.operations = std::move(ops);
    req.constraints = std::move(constraints);
    req.retiring_principal = std::move(retiring);
    return service_->CreateGrant(caller != nullptr ? *caller : Ctx(), req);
  }

  Result<EncryptResponse> EncryptAs(const std::string& principal,
                                    EncryptionContext context = {}) {
    EncryptRequest req;
    req.key_id = key_.key_id;
    req.plaintext = crypto::SecretBytes(Bytes{1, 2, 3});
    req.context = std::move(context);
    return service_->Encrypt(As(principal), req);
  }

  Result<DecryptResponse> DecryptAs(const std::string& principal, const Bytes& blob,
                                    EncryptionContext context = {}) {
    DecryptRequest req;
    req.ciphertext_blob = blob;
    req.context = std::move(context);
    return service_->Decrypt(As(principal), req);
  }

  Bytes Blob(EncryptionContext context = {}) {
    return EncryptAs(kRoot, std::move(context)).value().ciphertext_blob;
  }

  std::vector<GrantListEntry> Grants() {
    return service_->ListGrants(Ctx(), {.key_id = key_.key_id}).value().grants;
  }

  std::map<std::string, std::string> iam_policies_;
  KeyMetadata key_;
};

TEST_F(GrantsTest, CreateGrantReturnsAnIdAndAFreshValidTokenEachTime) {
  auto first = Grant(kDev, {"Decrypt"});
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(internal::IsGrantId(first->grant_id));
  EXPECT_THAT(CheckGrantToken(first->grant_token), IsOk());
  auto second = Grant(kDev, {"Decrypt"});
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(second->grant_id, first->grant_id);  // no Name: always a new grant
  EXPECT_NE(second->grant_token, first->grant_token);
  EXPECT_EQ(Grants().size(), 2u);
}

TEST_F(GrantsTest, ListGrantsShowsEveryField) {
  clock_->Advance(std::chrono::seconds(5));
  CreateGrantRequest req;
  req.key_id = key_.arn;
  req.grantee_principal = kDev;
  req.retiring_principal = kOps;
  req.operations = {"GenerateDataKey", "Decrypt", "Decrypt"};
  req.constraints = GrantConstraints{.encryption_context_equals = std::nullopt,
                                     .encryption_context_subset = EncryptionContext{{"a", "b"}}};
  req.name = "backup-job";
  auto created = service_->CreateGrant(Ctx(), req);
  ASSERT_THAT(created, IsOk());
  auto grants = Grants();
  ASSERT_EQ(grants.size(), 1u);
  const GrantListEntry& g = grants[0];
  EXPECT_EQ(g.key_arn, key_.arn);
  EXPECT_EQ(g.grant_id, created->grant_id);
  EXPECT_EQ(g.name, "backup-job");
  EXPECT_EQ(g.creation_date, 1700000005);
  EXPECT_EQ(g.grantee_principal, kDev);
  EXPECT_EQ(g.retiring_principal, kOps);
  EXPECT_EQ(g.issuing_account, kRoot);
  EXPECT_EQ(g.operations, (std::vector<std::string>{"Decrypt", "GenerateDataKey"}));
  ASSERT_TRUE(g.constraints.has_value());
  EXPECT_EQ(g.constraints->encryption_context_subset, (EncryptionContext{{"a", "b"}}));
  EXPECT_FALSE(g.constraints->encryption_context_equals.has_value());
}

TEST_F(GrantsTest, ANamedGrantIsCreatedOnceForTheSameParameters) {
  CreateGrantRequest req;
  req.key_id = key_.key_id;
  req.grantee_principal = kDev;
  req.operations = {"Decrypt"};
  req.name = "once";
  auto a = service_->CreateGrant(Ctx(), req).value();
  auto b = service_->CreateGrant(Ctx(), req).value();
  EXPECT_EQ(a.grant_id, b.grant_id);
  EXPECT_NE(a.grant_token, b.grant_token);
  req.operations = {"Decrypt", "Encrypt"};
  auto c = service_->CreateGrant(Ctx(), req).value();
  EXPECT_NE(c.grant_id, a.grant_id);
  EXPECT_EQ(Grants().size(), 2u);
}

TEST_F(GrantsTest, AGrantForDecryptLetsItsGranteeDecryptUntilRevoked) {
  const Bytes blob = Blob();
  EXPECT_THAT(DecryptAs(kDev, blob), HasError(ErrorCode::kAccessDenied));
  auto grant = Grant(kDev, {"Decrypt"}).value();
  auto plain = DecryptAs(kDev, blob);
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->plaintext.size(), 3u);
  // Only what the grant names: no Encrypt, no DescribeKey; nobody else.
  EXPECT_THAT(EncryptAs(kDev), HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(service_->DescribeKey(As(kDev), key_.key_id), HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(DecryptAs("arn:aws:iam::111122223333:user/nobody", blob),
              HasError(ErrorCode::kAccessDenied));
  ASSERT_THAT(service_->RevokeGrant(Ctx(), key_.key_id, grant.grant_id, false), IsOk());
  EXPECT_THAT(DecryptAs(kDev, blob), HasError(ErrorCode::kAccessDenied));
  EXPECT_TRUE(Grants().empty());
}

TEST_F(GrantsTest, TheRetiringPrincipalRetiresByTokenOrById) {
  const Bytes blob = Blob();
  auto g1 = Grant(kDev, {"Decrypt"}, std::nullopt, kOps).value();
  ASSERT_THAT(DecryptAs(kDev, blob), IsOk());
  ASSERT_THAT(service_->RetireGrant(As(kOps), {.grant_token = g1.grant_token}), IsOk());
  EXPECT_THAT(DecryptAs(kDev, blob), HasError(ErrorCode::kAccessDenied));
  auto g2 = Grant(kDev, {"Decrypt"}, std::nullopt, kOps).value();
  EXPECT_THAT(service_->RetireGrant(As(kOps), {.key_id = key_.arn, .grant_id = g2.grant_id}),
              IsOk());
  EXPECT_TRUE(Grants().empty());
  // Retiring again: the grant is gone.
  EXPECT_THAT(service_->RetireGrant(As(kOps), {.grant_token = g1.grant_token}),
              HasError(ErrorCode::kNotFound));
}

TEST_F(GrantsTest, WhoMayRetireAGrant) {
  auto plain = Grant(kDev, {"Decrypt"}, std::nullopt, kOps).value();
  // The grantee without RetireGrant in the grant may not; an unrelated user may not.
  EXPECT_THAT(service_->RetireGrant(As(kDev), {.grant_token = plain.grant_token}),
              HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(service_->RetireGrant(As("arn:aws:iam::111122223333:user/nobody"),
                                    {.grant_token = plain.grant_token}),
              HasError(ErrorCode::kAccessDenied));
  // A principal of the issuing account whom IAM allows kms:RetireGrant may.
  iam_policies_["arn:aws:iam::111122223333:user/nobody"] =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:RetireGrant","Resource":"*"}]})";
  EXPECT_THAT(service_->RetireGrant(As("arn:aws:iam::111122223333:user/nobody"),
                                    {.grant_token = plain.grant_token}),
              IsOk());
  // The grantee may when the grant includes RetireGrant.
  auto self = Grant(kDev, {"Decrypt", "RetireGrant"}).value();
  EXPECT_THAT(service_->RetireGrant(As(kDev), {.grant_token = self.grant_token, .dry_run = true}),
              HasError(ErrorCode::kDryRun));
  EXPECT_EQ(Grants().size(), 1u);
  EXPECT_THAT(service_->RetireGrant(As(kDev), {.grant_token = self.grant_token}), IsOk());
  // The issuing account's root may.
  auto third = Grant(kDev, {"Decrypt"}).value();
  EXPECT_THAT(service_->RetireGrant(Ctx(), {.key_id = key_.arn, .grant_id = third.grant_id}),
              IsOk());
  EXPECT_TRUE(Grants().empty());
}

TEST_F(GrantsTest, RetireGrantNeedsATokenOrAKeyAndAnId) {
  EXPECT_THAT(service_->RetireGrant(Ctx(), {}), HasError(ErrorCode::kValidation));
  EXPECT_THAT(service_->RetireGrant(Ctx(), {.key_id = key_.arn}),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(service_->RetireGrant(Ctx(), {.grant_token = "bm90IGEgdG9rZW4="}),
              HasError(ErrorCode::kInvalidGrantToken));
  EXPECT_THAT(service_->RetireGrant(Ctx(), {.key_id = key_.arn, .grant_id = "abc"}),
              HasError(ErrorCode::kInvalidGrantId));
  EXPECT_THAT(
      service_->RetireGrant(Ctx(), {.key_id = key_.arn, .grant_id = std::string(64, 'a')}),
      HasError(ErrorCode::kNotFound));
}

TEST_F(GrantsTest, ConstraintsLimitTheContextsAGrantAllows) {
  Grant(kDev, {"Encrypt"},
        GrantConstraints{.encryption_context_equals = EncryptionContext{{"app", "x"}},
                         .encryption_context_subset = std::nullopt})
      .value();
  Grant(kDev, {"Decrypt"},
        GrantConstraints{.encryption_context_equals = std::nullopt,
                         .encryption_context_subset = EncryptionContext{{"app", "x"}}})
      .value();
  EXPECT_THAT(EncryptAs(kDev, {{"app", "x"}}), IsOk());
  EXPECT_THAT(EncryptAs(kDev, {{"app", "x"}, {"more", "1"}}), HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(EncryptAs(kDev, {{"app", "X"}}), HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(EncryptAs(kDev), HasError(ErrorCode::kAccessDenied));
  const EncryptionContext wider{{"app", "x"}, {"more", "1"}};
  EXPECT_THAT(DecryptAs(kDev, Blob(wider), wider), IsOk());
  const EncryptionContext other{{"app", "y"}};
  EXPECT_THAT(DecryptAs(kDev, Blob(other), other), HasError(ErrorCode::kAccessDenied));
}

TEST_F(GrantsTest, AnExplicitDenyInTheKeyPolicyBeatsAGrant) {
  const std::string policy =
      std::string(R"({"Version":"2012-10-17","Statement":[)") +
      R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},)" +
      R"({"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/dev"},"Action":"kms:Decrypt","Resource":"*"}]})";
  ASSERT_THAT(service_->PutKeyPolicy(Ctx(), key_.key_id, policy, std::nullopt, false), IsOk());
  Grant(kDev, {"Decrypt"}).value();
  EXPECT_THAT(DecryptAs(kDev, Blob()), HasError(ErrorCode::kAccessDenied));
}

TEST_F(GrantsTest, AGrantToARoleCoversItsSessions) {
  Grant(kApp, {"Encrypt"}).value();
  EXPECT_THAT(EncryptAs(kAppSession), IsOk());
  EXPECT_THAT(EncryptAs("arn:aws:sts::111122223333:assumed-role/other/s1"),
              HasError(ErrorCode::kAccessDenied));
}

TEST_F(GrantsTest, AGrantToTheAccountNeedsTheCallersIamPolicyToo) {
  // A key policy that lets only the root manage the key: IAM policies alone are powerless.
  const std::string policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/ops"},"Action":"kms:*","Resource":"*"}]})";
  ASSERT_THAT(service_->PutKeyPolicy(Ctx(), key_.key_id, policy, std::nullopt, true), IsOk());
  iam_policies_[kDev] =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]})";
  EXPECT_THAT(EncryptAs(kDev), HasError(ErrorCode::kAccessDenied));
  const CallContext ops = As(kOps);
  Grant(kRoot, {"Encrypt"}, std::nullopt, std::nullopt, &ops).value();
  EXPECT_THAT(EncryptAs(kDev), IsOk());
  EXPECT_THAT(EncryptAs("arn:aws:iam::111122223333:user/nobody"),
              HasError(ErrorCode::kAccessDenied));
}

TEST_F(GrantsTest, AGrantWithCreateGrantCreatesOnlyNarrowerGrants) {
  Grant(kDev, {"Decrypt", "Encrypt", "CreateGrant"},
        GrantConstraints{.encryption_context_equals = std::nullopt,
                         .encryption_context_subset = EncryptionContext{{"app", "x"}}})
      .value();
  const CallContext dev = As(kDev);
  const GrantConstraints stricter{
      .encryption_context_equals = EncryptionContext{{"app", "x"}, {"env", "prod"}},
      .encryption_context_subset = std::nullopt};
  EXPECT_THAT(Grant(kOps, {"Decrypt"}, stricter, std::nullopt, &dev), IsOk());
  EXPECT_THAT(Grant(kOps, {"Decrypt", "GenerateDataKey"}, stricter, std::nullopt, &dev),
              HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(Grant(kOps, {"Decrypt"}, std::nullopt, std::nullopt, &dev),
              HasError(ErrorCode::kAccessDenied));
  const GrantConstraints looser{.encryption_context_equals = std::nullopt,
                                .encryption_context_subset = EncryptionContext{{"env", "prod"}}};
  EXPECT_THAT(Grant(kOps, {"Decrypt"}, looser, std::nullopt, &dev),
              HasError(ErrorCode::kAccessDenied));
}

TEST_F(GrantsTest, CreateGrantChecksItsParameters) {
  EXPECT_THAT(Grant("not-an-arn", {"Decrypt"}), HasError(ErrorCode::kInvalidArn));
  EXPECT_THAT(Grant("arn:aws:iam::111122223333:user/ghost", {"Decrypt"}),
              HasError(ErrorCode::kInvalidArn));
  EXPECT_THAT(Grant("arn:aws:iam::111122223333:group/devs", {"Decrypt"}),
              HasError(ErrorCode::kInvalidArn));
  EXPECT_THAT(Grant(kDev, {"Decrypt"}, std::nullopt, std::string("arn:aws:iam::1:root")),
              HasError(ErrorCode::kInvalidArn));
  EXPECT_THAT(Grant(kDev, {"Sign"}), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Grant(kDev, {"CreateGrant"}), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Grant(kDev, {}), HasError(ErrorCode::kValidation));
  EncryptionContext nine;
  for (int i = 0; i < 9; ++i) {
    nine["k" + std::to_string(i)] = "v";
  }
  EXPECT_THAT(Grant(kDev, {"Decrypt"},
                    GrantConstraints{.encryption_context_equals = nine,
                                     .encryption_context_subset = std::nullopt}),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(Grant(kAppSession, {"Decrypt"}), IsOk());
  EXPECT_THAT(Grant("arn:aws:iam::444455556666:root", {"Decrypt"}), IsOk());
  EXPECT_EQ(Grants().size(), 2u);
}

TEST_F(GrantsTest, CreateGrantIsAuthorizedWithItsGrantConditionKeys) {
  const std::string policy =
      std::string(R"({"Version":"2012-10-17","Statement":[)") +
      R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},)" +
      R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/ops"},"Action":"kms:CreateGrant","Resource":"*",)" +
      R"("Condition":{"ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt","Encrypt"]},)" +
      R"("StringEquals":{"kms:GranteePrincipal":"arn:aws:iam::111122223333:user/dev"}}}]})";
  ASSERT_THAT(service_->PutKeyPolicy(Ctx(), key_.key_id, policy, std::nullopt, false), IsOk());
  const CallContext ops = As(kOps);
  EXPECT_THAT(Grant(kDev, {"Decrypt"}, std::nullopt, std::nullopt, &ops), IsOk());
  EXPECT_THAT(Grant(kDev, {"Decrypt", "ReEncryptFrom"}, std::nullopt, std::nullopt, &ops),
              HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(Grant(kOps, {"Decrypt"}, std::nullopt, std::nullopt, &ops),
              HasError(ErrorCode::kAccessDenied));
}

TEST_F(GrantsTest, CreateGrantFollowsTheKeyStateTableAndDryRun) {
  CreateGrantRequest req;
  req.key_id = key_.key_id;
  req.grantee_principal = kDev;
  req.operations = {"Decrypt"};
  req.dry_run = true;
  EXPECT_THAT(service_->CreateGrant(Ctx(), req), HasError(ErrorCode::kDryRun));
  EXPECT_TRUE(Grants().empty());
  req.dry_run = false;
  ASSERT_THAT(service_->DisableKey(Ctx(), key_.key_id), IsOk());
  EXPECT_THAT(service_->CreateGrant(Ctx(), req), HasError(ErrorCode::kDisabled));
  req.key_id = "alias/nope";
  EXPECT_THAT(service_->CreateGrant(Ctx(), req), HasError(ErrorCode::kNotFound));
}

TEST_F(GrantsTest, RevokeGrantChecksTheIdAndIsAuthorizedByPolicy) {
  auto g = Grant(kDev, {"Decrypt"}).value();
  EXPECT_THAT(service_->RevokeGrant(Ctx(), key_.key_id, "nope", false),
              HasError(ErrorCode::kInvalidGrantId));
  EXPECT_THAT(service_->RevokeGrant(Ctx(), key_.key_id, std::string(64, '0'), false),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->RevokeGrant(As(kDev), key_.key_id, g.grant_id, false),
              HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(service_->RevokeGrant(Ctx(), key_.key_id, g.grant_id, true),
              HasError(ErrorCode::kDryRun));
  EXPECT_EQ(Grants().size(), 1u);
  EXPECT_THAT(service_->RevokeGrant(Ctx(), key_.arn, g.grant_id, false), IsOk());
  EXPECT_THAT(service_->RevokeGrant(Ctx(), key_.arn, g.grant_id, false),
              HasError(ErrorCode::kNotFound));
}

TEST_F(GrantsTest, ListGrantsPagesAndFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Grant(i % 2 ? kOps : kDev, {"Decrypt"}).value().grant_id);
  }
  auto page = service_->ListGrants(Ctx(), {.key_id = key_.key_id, .limit = 2}).value();
  ASSERT_EQ(page.grants.size(), 2u);
  EXPECT_TRUE(page.truncated);
  std::vector<std::string> seen;
  for (auto& g : page.grants) seen.push_back(g.grant_id);
  while (page.truncated) {
    page = service_->ListGrants(Ctx(), {.key_id = key_.key_id, .limit = 2,
                                        .marker = page.next_marker})
               .value();
    for (auto& g : page.grants) seen.push_back(g.grant_id);
  }
  EXPECT_EQ(seen, ids);
  auto by_grantee =
      service_->ListGrants(Ctx(), {.key_id = key_.key_id, .grantee_principal = kOps}).value();
  EXPECT_EQ(by_grantee.grants.size(), 2u);
  auto by_id = service_->ListGrants(Ctx(), {.key_id = key_.key_id, .grant_id = ids[3]}).value();
  ASSERT_EQ(by_id.grants.size(), 1u);
  EXPECT_EQ(by_id.grants[0].grant_id, ids[3]);
  EXPECT_THAT(service_->ListGrants(Ctx(), {.key_id = key_.key_id, .grant_id = "bad"}),
              HasError(ErrorCode::kInvalidGrantId));
  EXPECT_THAT(service_->ListGrants(Ctx(), {.key_id = key_.key_id, .marker = "junk"}),
              HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(service_->ListGrants(As(kDev), {.key_id = key_.key_id}),
              HasError(ErrorCode::kAccessDenied));
}

TEST_F(GrantsTest, ListRetirableGrantsFindsGrantsByRetiringPrincipal) {
  auto other = NewKey();
  Grant(kDev, {"Decrypt"}, std::nullopt, kOps).value();
  Grant(kDev, {"Encrypt"}).value();
  CreateGrantRequest req;
  req.key_id = other.key_id;
  req.grantee_principal = kDev;
  req.operations = {"Decrypt"};
  req.retiring_principal = kOps;
  service_->CreateGrant(Ctx(), req).value();
  auto listed = service_->ListRetirableGrants(Ctx(), {.retiring_principal = kOps}).value();
  ASSERT_EQ(listed.grants.size(), 2u);
  EXPECT_EQ(listed.grants[0].key_arn, key_.arn);
  EXPECT_EQ(listed.grants[1].key_arn, other.arn);
  // IAM policy alone authorizes it: a user without one is denied.
  EXPECT_THAT(service_->ListRetirableGrants(As(kOps), {.retiring_principal = kOps}),
              HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(service_->ListRetirableGrants(Ctx(), {.retiring_principal = "bad"}),
              HasError(ErrorCode::kInvalidArn));
}

TEST_F(GrantsTest, ScheduledDeletionKeepsGrantsAndDestructionRemovesThem) {
  Grant(kDev, {"Decrypt"}).value();
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key_.key_id, 7), IsOk());
  EXPECT_EQ(Grants().size(), 1u);
  clock_->Advance(std::chrono::hours(24 * 8));
  ASSERT_THAT(service_->RunMaintenance(), IsOk());
  EXPECT_TRUE(store_->ListGrants(key_.key_id, {}, 0, 10).value().empty());
}

TEST(GrantTokenTest, MalformedTokensAreRejected) {
  EXPECT_THAT(CheckGrantToken("abc"), HasError(ErrorCode::kInvalidGrantToken));
  EXPECT_THAT(CheckGrantToken(""), HasError(ErrorCode::kInvalidGrantToken));
  auto token = internal::MakeGrantToken(
      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      std::string(64, 'a'));
  ASSERT_THAT(token, IsOk());
  EXPECT_THAT(CheckGrantToken(*token), IsOk());
  auto ref = internal::ParseGrantToken(*token).value();
  EXPECT_EQ(ref.grant_id, std::string(64, 'a'));
  EXPECT_EQ(ref.key_arn,
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
  // One changed character anywhere invalidates it.
  std::string tampered = *token;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_THAT(CheckGrantToken(tampered), HasError(ErrorCode::kInvalidGrantToken));
}

TEST(GrantPrincipalTest, MatchingRules) {
  using internal::GrantPrincipalMatch;
  using internal::MatchGrantPrincipal;
  EXPECT_EQ(MatchGrantPrincipal(kDev, kDev), GrantPrincipalMatch::kDirect);
  EXPECT_EQ(MatchGrantPrincipal(kDev, kOps), GrantPrincipalMatch::kNone);
  EXPECT_EQ(MatchGrantPrincipal(kRoot, kRoot), GrantPrincipalMatch::kDirect);
  EXPECT_EQ(MatchGrantPrincipal(kRoot, kDev), GrantPrincipalMatch::kViaAccount);
  EXPECT_EQ(MatchGrantPrincipal(kRoot, "arn:aws:iam::444455556666:user/dev"),
            GrantPrincipalMatch::kNone);
  EXPECT_EQ(MatchGrantPrincipal(kApp, kAppSession), GrantPrincipalMatch::kDirect);
  EXPECT_EQ(MatchGrantPrincipal(kApp, "arn:aws:sts::444455556666:assumed-role/app/s1"),
            GrantPrincipalMatch::kNone);
  EXPECT_EQ(MatchGrantPrincipal("", kDev), GrantPrincipalMatch::kNone);
}

TEST(GrantConstraintsTest, StrictnessOfChildGrants) {
  using internal::GrantConstraintsAtLeastAsStrict;
  const GrantConstraints none{};
  const GrantConstraints subset_a{std::nullopt, EncryptionContext{{"a", "1"}}};
  const GrantConstraints subset_ab{std::nullopt, EncryptionContext{{"a", "1"}, {"b", "2"}}};
  const GrantConstraints equals_ab{EncryptionContext{{"a", "1"}, {"b", "2"}}, std::nullopt};
  EXPECT_TRUE(GrantConstraintsAtLeastAsStrict(none, none));
  EXPECT_TRUE(GrantConstraintsAtLeastAsStrict(subset_a, none));
  EXPECT_FALSE(GrantConstraintsAtLeastAsStrict(none, subset_a));
  EXPECT_TRUE(GrantConstraintsAtLeastAsStrict(subset_ab, subset_a));
  EXPECT_FALSE(GrantConstraintsAtLeastAsStrict(subset_a, subset_ab));
  EXPECT_TRUE(GrantConstraintsAtLeastAsStrict(equals_ab, subset_a));
  EXPECT_TRUE(GrantConstraintsAtLeastAsStrict(equals_ab, equals_ab));
  EXPECT_FALSE(GrantConstraintsAtLeastAsStrict(subset_ab, equals_ab));
}

}  // namespace
}  // namespace scytale::kms

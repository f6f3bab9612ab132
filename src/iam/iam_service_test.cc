#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/matchers.h"
#include "iam/iam.h"
#include "iam/internal/access_keys.h"
#include "iam/testing/identities_fixture.h"

namespace scytale::iam {
namespace {

using crypto::KeyAccess;
using ::scytale::testing::HasError;
using ::scytale::testing::HasErrorMessage;
using ::scytale::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kAccount[] = "111122223333";
constexpr char kOtherAccount[] = "444455556666";

constexpr char kAllowIam[] = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"iam:*","Resource":"*"}]})";
constexpr char kAllowAssumeAnyRole[] = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]})";

std::string TrustNaming(const std::string& principal) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":")" +
         principal + R"("},"Action":"sts:AssumeRole"}]})";
}

class IamServiceTest : public testing::IdentitiesFixture {
 protected:
  void SetUp() override {
    IdentitiesFixture::SetUp();
    ASSERT_TRUE(ids_->BootstrapAccount(kAccount, std::nullopt).has_value());
    iam_ = IamService::Create(store_.get(), root_.get(), clock_, ids_.get());
  }
  void TearDown() override {
    iam_.reset();
    IdentitiesFixture::TearDown();
  }

  Caller Root() const { return Caller{kAccount, RootArn(kAccount)}; }

  // Creates a user (as root) with the given inline policy, and returns it as a caller.
  Caller MakeUser(const std::string& name, const std::string& policy = "") {
    auto user = iam_->CreateUser(Root(), name, "/");
    EXPECT_THAT(user, IsOk());
    if (!policy.empty()) {
      EXPECT_THAT(iam_->PutUserPolicy(Root(), name, "inline", policy), IsOk());
    }
    return Caller{kAccount, user->arn};
  }

  Role MakeRole(const std::string& name, const std::string& trust,
                std::optional<int> max_duration = std::nullopt) {
    auto role = iam_->CreateRole(Root(), name, "/", trust, "", max_duration);
    EXPECT_THAT(role, IsOk());
    return *role;
  }

  // The names of one page; none (and a test failure) on an error.
  static std::vector<std::string> PolicyNames(const Result<ListPolicyNamesResult>& listed) {
    EXPECT_THAT(listed, IsOk());
    return listed ? listed->policy_names : std::vector<std::string>{};
  }

  std::unique_ptr<IamService> iam_;
};

// ---- Users ----

TEST_F(IamServiceTest, CreateUserReturnsItsIdArnAndPath) {
  auto user = iam_->CreateUser(Root(), "alice", "/eng/");
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->user_name, "alice");
  EXPECT_EQ(user->path, "/eng/");
  EXPECT_EQ(user->arn, "arn:aws:iam::111122223333:user/eng/alice");
  EXPECT_THAT(user->user_id, MatchesRegex("AIDA[A-Z2-7]{17}"));
  EXPECT_EQ(user->create_date, 1700000000);

  auto got = iam_->GetUser(Root(), std::string("alice"));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->user_id, user->user_id);
  EXPECT_EQ(got->arn, user->arn);
}

TEST_F(IamServiceTest, CreateUserWithoutPathUsesTheRootPath) {
  auto user = iam_->CreateUser(Root(), "alice", "");
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->path, "/");
  EXPECT_EQ(user->arn, "arn:aws:iam::111122223333:user/alice");
}

TEST_F(IamServiceTest, CreateUserRejectsInvalidNamesAndPaths) {
  EXPECT_THAT(iam_->CreateUser(Root(), "", "/"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateUser(Root(), std::string(65, 'a'), "/"),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateUser(Root(), "a b", "/"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateUser(Root(), "a/b", "/"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateUser(Root(), std::string(64, 'a'), "/"), IsOk());
  EXPECT_THAT(iam_->CreateUser(Root(), "x+=,.@_-9", "/"), IsOk());

  EXPECT_THAT(iam_->CreateUser(Root(), "p1", "eng/"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateUser(Root(), "p2", "/eng"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateUser(Root(), "p3", "/a b/"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateUser(Root(), "p4", "/" + std::string(511, 'a') + "/"),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateUser(Root(), "p5", "/" + std::string(510, 'a') + "/"), IsOk());
}

TEST_F(IamServiceTest, CreatingAnExistingUserIsAlreadyExistsRegardlessOfCase) {
  MakeUser("alice");
  EXPECT_THAT(iam_->CreateUser(Root(), "alice", "/"),
              HasErrorMessage(ErrorCode::kAlreadyExists, "User with name alice already exists."));
  EXPECT_THAT(iam_->CreateUser(Root(), "ALICE", "/"), HasError(ErrorCode::kAlreadyExists));
}

TEST_F(IamServiceTest, GetUserOfAnUnknownNameIsNoSuchEntity) {
  EXPECT_THAT(iam_->GetUser(Root(), std::string("nobody")),
              HasErrorMessage(ErrorCode::kNotFound, "The user with name nobody cannot be found."));
}

TEST_F(IamServiceTest, GetUserWithoutNameReturnsTheCallingUser) {
  Caller alice = MakeUser("alice", kAllowIam);
  auto self = iam_->GetUser(alice, std::nullopt);
  ASSERT_THAT(self, IsOk());
  EXPECT_EQ(self->user_name, "alice");
  EXPECT_THAT(iam_->GetUser(Root(), std::nullopt), HasError(ErrorCode::kValidation));
}

TEST_F(IamServiceTest, ListUsersPagesWithAMarkerAndFiltersByPathPrefix) {
  for (const char* name : {"dave", "bob", "alice", "carol"}) {
    ASSERT_THAT(iam_->CreateUser(Root(), name, std::string(name) == "dave" ? "/ops/" : "/"),
                IsOk());
  }
  auto first = iam_->ListUsers(Root(), "/", std::nullopt, 2);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->users.size(), 2u);
  EXPECT_EQ(first->users[0].user_name, "alice");
  EXPECT_EQ(first->users[1].user_name, "bob");
  EXPECT_TRUE(first->is_truncated);
  ASSERT_TRUE(first->marker.has_value());

  auto second = iam_->ListUsers(Root(), "/", first->marker, 2);
  ASSERT_THAT(second, IsOk());
  ASSERT_EQ(second->users.size(), 2u);
  EXPECT_EQ(second->users[0].user_name, "carol");
  EXPECT_EQ(second->users[1].user_name, "dave");
  EXPECT_FALSE(second->is_truncated);
  EXPECT_FALSE(second->marker.has_value());

  auto ops = iam_->ListUsers(Root(), "/ops/", std::nullopt, std::nullopt);
  ASSERT_THAT(ops, IsOk());
  ASSERT_EQ(ops->users.size(), 1u);
  EXPECT_EQ(ops->users[0].arn, "arn:aws:iam::111122223333:user/ops/dave");

  EXPECT_THAT(iam_->ListUsers(Root(), "/", std::nullopt, 0), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->ListUsers(Root(), "/", std::nullopt, 1001), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->ListUsers(Root(), "ops", std::nullopt, 10), HasError(ErrorCode::kValidation));
}

TEST_F(IamServiceTest, ListUsersRefusesAMarkerItDidNotHandOut) {
  MakeUser("alice");
  MakeUser("bob");
  auto first = iam_->ListUsers(Root(), "/", std::nullopt, 1);
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->marker.has_value());
  EXPECT_THAT(iam_->ListUsers(Root(), "/", std::string("alice"), 1),
              HasErrorMessage(ErrorCode::kInvalidMarker, "Invalid Marker."));
  // A marker belongs to the listing it came from (here: another path prefix).
  EXPECT_THAT(iam_->ListUsers(Root(), "/ops/", first->marker, 1),
              HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(iam_->ListUsers(Root(), "/", std::string(321, 'A'), 1),
              HasError(ErrorCode::kValidation));
}

TEST_F(IamServiceTest, DeleteUserWithAccessKeysOrPoliciesIsDeleteConflict) {
  MakeUser("alice", kAllowIam);
  auto key = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(iam_->DeleteUser(Root(), "alice"),
              HasErrorMessage(ErrorCode::kConflict,
                              "Cannot delete entity, must delete access keys first."));
  ASSERT_THAT(iam_->DeleteAccessKey(Root(), std::string("alice"), key->metadata.access_key_id),
              IsOk());
  EXPECT_THAT(
      iam_->DeleteUser(Root(), "alice"),
      HasErrorMessage(ErrorCode::kConflict, "Cannot delete entity, must delete policies first."));
  ASSERT_THAT(iam_->DeleteUserPolicy(Root(), "alice", "inline"), IsOk());
  ASSERT_THAT(iam_->DeleteUser(Root(), "alice"), IsOk());
  EXPECT_THAT(iam_->GetUser(Root(), std::string("alice")), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(iam_->DeleteUser(Root(), "alice"),
              HasErrorMessage(ErrorCode::kNotFound, "The user with name alice cannot be found."));
}

// ---- Access keys ----

TEST_F(IamServiceTest, UserAccessKeyResolvesToTheUsersArn) {
  Caller alice = MakeUser("alice");
  auto key = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(key->metadata.access_key_id, MatchesRegex("AKIA[A-Z2-7]{16}"));
  EXPECT_EQ(key->metadata.user_name, "alice");
  EXPECT_EQ(key->metadata.status, "Active");
  EXPECT_EQ(key->secret_access_key.size(), 40u);

  auto resolved = ids_->LookupAccessKey(key->metadata.access_key_id);
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->principal_arn, alice.principal_arn);
  EXPECT_EQ(resolved->account_id, kAccount);
  EXPECT_TRUE(resolved->secret_access_key == key->secret_access_key);
  EXPECT_EQ(resolved->session_token, "");

  auto row = store_->GetAccessKey(key->metadata.access_key_id).value();
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->user_name, "alice");
  std::string stored(row->wrapped_secret.begin(), row->wrapped_secret.end());
  EXPECT_EQ(stored.find(AsString(key->secret_access_key.Reveal(KeyAccess::Grant()))),
            std::string::npos);
}

TEST_F(IamServiceTest, ThirdAccessKeyOfAUserExceedsTheQuota) {
  MakeUser("alice");
  ASSERT_THAT(iam_->CreateAccessKey(Root(), std::string("alice")), IsOk());
  ASSERT_THAT(iam_->CreateAccessKey(Root(), std::string("alice")), IsOk());
  EXPECT_THAT(
      iam_->CreateAccessKey(Root(), std::string("alice")),
      HasErrorMessage(ErrorCode::kLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: 2"));
  auto list = iam_->ListAccessKeys(Root(), std::string("alice"), std::nullopt, std::nullopt);
  ASSERT_THAT(list, IsOk());
  EXPECT_EQ(list->keys.size(), 2u);
  EXPECT_EQ(list->keys[0].user_name, "alice");
  EXPECT_FALSE(list->is_truncated);
  EXPECT_FALSE(list->marker.has_value());
}

TEST_F(IamServiceTest, ListAccessKeysPagesOldestFirstWithAMarker) {
  MakeUser("alice");
  auto older = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(older, IsOk());
  clock_->Advance(std::chrono::seconds(5));
  auto newer = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(newer, IsOk());

  auto first = iam_->ListAccessKeys(Root(), std::string("alice"), std::nullopt, 1);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->keys.size(), 1u);
  EXPECT_EQ(first->keys[0].access_key_id, older->metadata.access_key_id);
  EXPECT_TRUE(first->is_truncated);
  ASSERT_TRUE(first->marker.has_value());
  EXPECT_LE(first->marker->size(), 320u);

  auto second = iam_->ListAccessKeys(Root(), std::string("alice"), first->marker, 1);
  ASSERT_THAT(second, IsOk());
  ASSERT_EQ(second->keys.size(), 1u);
  EXPECT_EQ(second->keys[0].access_key_id, newer->metadata.access_key_id);
  EXPECT_FALSE(second->is_truncated);
  EXPECT_FALSE(second->marker.has_value());

  // Exactly MaxItems left: not truncated.
  auto all = iam_->ListAccessKeys(Root(), std::string("alice"), std::nullopt, 2);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->keys.size(), 2u);
  EXPECT_FALSE(all->is_truncated);

  // The marker still resumes after its key once that key is gone.
  ASSERT_THAT(iam_->DeleteAccessKey(Root(), std::string("alice"), older->metadata.access_key_id),
              IsOk());
  auto resumed = iam_->ListAccessKeys(Root(), std::string("alice"), first->marker, 1);
  ASSERT_THAT(resumed, IsOk());
  ASSERT_EQ(resumed->keys.size(), 1u);
  EXPECT_EQ(resumed->keys[0].access_key_id, newer->metadata.access_key_id);
}

TEST_F(IamServiceTest, ListAccessKeysValidatesMaxItemsAndMarker) {
  MakeUser("alice");
  MakeUser("bob");
  ASSERT_THAT(iam_->CreateAccessKey(Root(), std::string("alice")), IsOk());
  ASSERT_THAT(iam_->CreateAccessKey(Root(), std::string("alice")), IsOk());
  const std::optional<std::string> alice("alice");
  EXPECT_THAT(iam_->ListAccessKeys(Root(), alice, std::nullopt, 0),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->ListAccessKeys(Root(), alice, std::nullopt, 1001),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->ListAccessKeys(Root(), alice, std::nullopt, 1000), IsOk());
  EXPECT_THAT(iam_->ListAccessKeys(Root(), alice, std::string(""), 1),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->ListAccessKeys(Root(), alice, std::string(321, 'A'), 1),
              HasError(ErrorCode::kValidation));
  for (const std::string bad :
       {"bogus", "AKIAEXAMPLE", "Zm9vYmFy" /* "foobar" */, "a2V5c3w=" /* "keys|" */}) {
    EXPECT_THAT(iam_->ListAccessKeys(Root(), alice, bad, 1),
                HasErrorMessage(ErrorCode::kInvalidMarker, "Invalid Marker."))
        << bad;
  }
  auto page = iam_->ListAccessKeys(Root(), alice, std::nullopt, 1);
  ASSERT_THAT(page, IsOk());
  ASSERT_TRUE(page->marker.has_value());
  // Another user's listing, or the caller's own keys, are other lists.
  EXPECT_THAT(iam_->ListAccessKeys(Root(), std::string("bob"), page->marker, 1),
              HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(iam_->ListAccessKeys(Root(), std::nullopt, page->marker, 1),
              HasError(ErrorCode::kInvalidMarker));
  // An unknown user is reported before the marker is looked at.
  EXPECT_THAT(iam_->ListAccessKeys(Root(), std::string("nobody"), std::string("bogus"), 1),
              HasError(ErrorCode::kNotFound));
}

TEST_F(IamServiceTest, AccessKeyOfAnUnknownUserIsNoSuchEntity) {
  EXPECT_THAT(iam_->CreateAccessKey(Root(), std::string("nobody")),
              HasErrorMessage(ErrorCode::kNotFound, "The user with name nobody cannot be found."));
}

TEST_F(IamServiceTest, RootManagesItsOwnKeysWithoutAUserName) {
  auto before = iam_->ListAccessKeys(Root(), std::nullopt, std::nullopt, std::nullopt);
  ASSERT_THAT(before, IsOk());
  ASSERT_EQ(before->keys.size(), 1u);  // the bootstrap key
  EXPECT_EQ(before->keys[0].user_name, "");
  auto key = iam_->CreateAccessKey(Root(), std::nullopt);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(ids_->LookupAccessKey(key->metadata.access_key_id)->principal_arn, RootArn(kAccount));
  EXPECT_THAT(iam_->CreateAccessKey(Root(), std::nullopt), HasError(ErrorCode::kLimitExceeded));
  ASSERT_THAT(iam_->DeleteAccessKey(Root(), std::nullopt, key->metadata.access_key_id), IsOk());
  EXPECT_EQ(iam_->ListAccessKeys(Root(), std::nullopt, std::nullopt, std::nullopt)->keys.size(),
            1u);
}

TEST_F(IamServiceTest, DeletedAccessKeyStopsResolvingAtOnce) {
  MakeUser("alice");
  auto key = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(key, IsOk());
  const std::string id = key->metadata.access_key_id;
  ASSERT_THAT(ids_->LookupAccessKey(id), IsOk());  // now cached
  ASSERT_THAT(iam_->DeleteAccessKey(Root(), std::string("alice"), id), IsOk());
  EXPECT_THAT(ids_->LookupAccessKey(id), HasError(ErrorCode::kUnrecognizedClient));
  EXPECT_THAT(
      iam_->DeleteAccessKey(Root(), std::string("alice"), id),
      HasErrorMessage(ErrorCode::kNotFound, "The Access Key with id " + id + " cannot be found."));
}

TEST_F(IamServiceTest, InactiveAccessKeyStopsResolvingUntilReactivated) {
  MakeUser("alice");
  auto key = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(key, IsOk());
  const std::string id = key->metadata.access_key_id;
  ASSERT_THAT(ids_->LookupAccessKey(id), IsOk());  // now cached

  ASSERT_THAT(iam_->UpdateAccessKey(Root(), std::string("alice"), id, "Inactive"), IsOk());
  EXPECT_THAT(ids_->LookupAccessKey(id),
              HasErrorMessage(ErrorCode::kUnrecognizedClient,
                              "The security token included in the request is invalid."));
  auto listed = iam_->ListAccessKeys(Root(), std::string("alice"), std::nullopt, std::nullopt);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->keys.size(), 1u);
  EXPECT_EQ(listed->keys[0].status, "Inactive");
  EXPECT_EQ(listed->keys[0].create_date, key->metadata.create_date);
  // Setting the status it already has changes nothing.
  ASSERT_THAT(iam_->UpdateAccessKey(Root(), std::string("alice"), id, "Inactive"), IsOk());
  EXPECT_THAT(ids_->LookupAccessKey(id), HasError(ErrorCode::kUnrecognizedClient));

  ASSERT_THAT(iam_->UpdateAccessKey(Root(), std::string("alice"), id, "Active"), IsOk());
  auto back = ids_->LookupAccessKey(id);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->principal_arn, "arn:aws:iam::111122223333:user/alice");
  EXPECT_TRUE(back->secret_access_key == key->secret_access_key);
}

TEST_F(IamServiceTest, InactiveAccessKeysCountTowardTheQuota) {
  MakeUser("alice");
  auto first = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(iam_->CreateAccessKey(Root(), std::string("alice")), IsOk());
  ASSERT_THAT(iam_->UpdateAccessKey(Root(), std::string("alice"), first->metadata.access_key_id,
                                    "Inactive"),
              IsOk());
  EXPECT_THAT(iam_->CreateAccessKey(Root(), std::string("alice")),
              HasError(ErrorCode::kLimitExceeded));
}

TEST_F(IamServiceTest, UpdateAccessKeyValidatesStatusAndOwner) {
  MakeUser("alice");
  MakeUser("bob");
  auto key = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(key, IsOk());
  const std::string id = key->metadata.access_key_id;
  for (const char* bad : {"", "active", "INACTIVE", "Expired", "Disabled"}) {
    EXPECT_THAT(iam_->UpdateAccessKey(Root(), std::string("alice"), id, bad),
                HasError(ErrorCode::kValidation))
        << bad;
  }
  EXPECT_THAT(iam_->UpdateAccessKey(Root(), std::string("alice"), id, "Pending"),
              HasErrorMessage(ErrorCode::kValidation,
                              "1 validation error detected: Value 'Pending' at 'status' failed to "
                              "satisfy constraint: Member must satisfy enum value set: [Active, "
                              "Inactive]"));
  EXPECT_THAT(iam_->UpdateAccessKey(Root(), std::string("alice"), "short", "Inactive"),
              HasError(ErrorCode::kValidation));
  // Another user's key, the root's own keys, an unknown id: no such key.
  EXPECT_THAT(
      iam_->UpdateAccessKey(Root(), std::string("bob"), id, "Inactive"),
      HasErrorMessage(ErrorCode::kNotFound, "The Access Key with id " + id + " cannot be found."));
  EXPECT_THAT(iam_->UpdateAccessKey(Root(), std::nullopt, id, "Inactive"),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(iam_->UpdateAccessKey(Root(), std::string("alice"), "AKIAUNKNOWNKEY000000", "Active"),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(iam_->UpdateAccessKey(Root(), std::string("nobody"), id, "Inactive"),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(ids_->LookupAccessKey(id), IsOk());
}

TEST_F(IamServiceTest, UpdateAccessKeyIsAuthorizedByIamPolicy) {
  MakeUser("alice");
  Caller bob = MakeUser("bob");
  auto key = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(
      iam_->UpdateAccessKey(bob, std::string("alice"), key->metadata.access_key_id, "Inactive"),
      HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(ids_->LookupAccessKey(key->metadata.access_key_id), IsOk());

  // A user allowed iam:UpdateAccessKey on itself deactivates its own key without a user name.
  Caller carol = MakeUser("carol", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":["iam:UpdateAccessKey","iam:CreateAccessKey"],
      "Resource":"arn:aws:iam::111122223333:user/carol"}]})");
  auto own = iam_->CreateAccessKey(carol, std::nullopt);
  ASSERT_THAT(own, IsOk());
  ASSERT_THAT(iam_->UpdateAccessKey(carol, std::nullopt, own->metadata.access_key_id, "Inactive"),
              IsOk());
  EXPECT_THAT(ids_->LookupAccessKey(own->metadata.access_key_id),
              HasError(ErrorCode::kUnrecognizedClient));
  EXPECT_THAT(
      iam_->UpdateAccessKey(carol, std::string("alice"), key->metadata.access_key_id, "Inactive"),
      HasError(ErrorCode::kAccessDenied));
}

TEST_F(IamServiceTest, RootDeactivatesAndReactivatesItsOwnKey) {
  auto key = iam_->CreateAccessKey(Root(), std::nullopt);
  ASSERT_THAT(key, IsOk());
  const std::string id = key->metadata.access_key_id;
  ASSERT_THAT(iam_->UpdateAccessKey(Root(), std::nullopt, id, "Inactive"), IsOk());
  EXPECT_THAT(ids_->LookupAccessKey(id), HasError(ErrorCode::kUnrecognizedClient));
  ASSERT_THAT(iam_->UpdateAccessKey(Root(), std::nullopt, id, "Active"), IsOk());
  EXPECT_THAT(ids_->LookupAccessKey(id), IsOk());
}

TEST_F(IamServiceTest, AccessKeyOfAnotherUserCannotBeDeletedThroughThisOne) {
  MakeUser("alice");
  MakeUser("bob");
  auto key = iam_->CreateAccessKey(Root(), std::string("alice"));
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(iam_->DeleteAccessKey(Root(), std::string("bob"), key->metadata.access_key_id),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(ids_->LookupAccessKey(key->metadata.access_key_id), IsOk());
}

TEST_F(IamServiceTest, UserManagesItsOwnKeysWhenItsPolicyAllows) {
  Caller alice = MakeUser("alice", kAllowIam);
  auto key = iam_->CreateAccessKey(alice, std::nullopt);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->metadata.user_name, "alice");
  EXPECT_EQ(iam_->ListAccessKeys(alice, std::nullopt, std::nullopt, std::nullopt)->keys.size(), 1u);
}

// ---- User policies ----

TEST_F(IamServiceTest, UserPoliciesArePutReadListedAndDeleted) {
  MakeUser("alice");
  ASSERT_THAT(iam_->PutUserPolicy(Root(), "alice", "b", kAllowIam), IsOk());
  ASSERT_THAT(iam_->PutUserPolicy(Root(), "alice", "a", kAllowAssumeAnyRole), IsOk());
  EXPECT_EQ(iam_->GetUserPolicy(Root(), "alice", "a").value(), kAllowAssumeAnyRole);
  ASSERT_THAT(iam_->PutUserPolicy(Root(), "alice", "a", kAllowIam), IsOk());
  EXPECT_EQ(iam_->GetUserPolicy(Root(), "alice", "a").value(), kAllowIam);
  EXPECT_EQ(PolicyNames(iam_->ListUserPolicies(Root(), "alice", std::nullopt, std::nullopt)),
            (std::vector<std::string>{"a", "b"}));
  ASSERT_THAT(iam_->DeleteUserPolicy(Root(), "alice", "a"), IsOk());
  EXPECT_THAT(
      iam_->GetUserPolicy(Root(), "alice", "a"),
      HasErrorMessage(ErrorCode::kNotFound, "The user policy with name a cannot be found."));
  EXPECT_THAT(
      iam_->DeleteUserPolicy(Root(), "alice", "a"),
      HasErrorMessage(ErrorCode::kNotFound, "The user policy with name a cannot be found."));
  EXPECT_THAT(iam_->PutUserPolicy(Root(), "nobody", "a", kAllowIam),
              HasErrorMessage(ErrorCode::kNotFound, "The user with name nobody cannot be found."));
}

TEST_F(IamServiceTest, ListUserPoliciesPagesInNameOrderWithAMarker) {
  MakeUser("alice");
  MakeUser("bob");
  for (const char* name : {"e", "B", "c", "a", "d"}) {
    ASSERT_THAT(iam_->PutUserPolicy(Root(), "alice", name, kAllowIam), IsOk());
  }
  ASSERT_THAT(iam_->PutUserPolicy(Root(), "bob", "a", kAllowIam), IsOk());
  std::vector<std::string> seen;
  std::optional<std::string> marker;
  int pages = 0;
  do {
    auto page = iam_->ListUserPolicies(Root(), "alice", marker, 2);
    ASSERT_THAT(page, IsOk());
    EXPECT_LE(page->policy_names.size(), 2u);
    seen.insert(seen.end(), page->policy_names.begin(), page->policy_names.end());
    EXPECT_EQ(page->is_truncated, page->marker.has_value());
    marker = page->marker;
    ++pages;
  } while (marker && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"B", "a", "c", "d", "e"}));

  // A page's last policy deleted before the next page is asked for: nothing repeats or is lost.
  auto first = iam_->ListUserPolicies(Root(), "alice", std::nullopt, 2);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->policy_names, (std::vector<std::string>{"B", "a"}));
  ASSERT_THAT(iam_->DeleteUserPolicy(Root(), "alice", "a"), IsOk());
  EXPECT_EQ(PolicyNames(iam_->ListUserPolicies(Root(), "alice", first->marker, 2)),
            (std::vector<std::string>{"c", "d"}));

  // Markers are checked, and belong to one user's list.
  EXPECT_THAT(iam_->ListUserPolicies(Root(), "alice", std::string("c"), 2),
              HasErrorMessage(ErrorCode::kInvalidMarker, "Invalid Marker."));
  EXPECT_THAT(iam_->ListUserPolicies(Root(), "bob", first->marker, 2),
              HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(iam_->ListUserPolicies(Root(), "ALICE", first->marker, 2), IsOk());
  EXPECT_THAT(iam_->ListUserPolicies(Root(), "alice", std::nullopt, 0),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->ListUserPolicies(Root(), "alice", std::nullopt, 1001),
              HasError(ErrorCode::kValidation));
}

TEST_F(IamServiceTest, MalformedUserPolicyIsRejected) {
  MakeUser("alice");
  EXPECT_THAT(iam_->PutUserPolicy(Root(), "alice", "p", "not json"),
              HasError(ErrorCode::kMalformedPolicyDocument));
  // Identity policies may not name principals.
  EXPECT_THAT(iam_->PutUserPolicy(Root(), "alice", "p", TrustNaming(RootArn(kAccount))),
              HasError(ErrorCode::kMalformedPolicyDocument));
  EXPECT_THAT(iam_->PutUserPolicy(Root(), "alice", "p", ""), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->PutUserPolicy(Root(), "alice", std::string(129, 'p'), kAllowIam),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->PutUserPolicy(Root(), "alice", std::string(128, 'p'), kAllowIam), IsOk());
  EXPECT_EQ(PolicyNames(iam_->ListUserPolicies(Root(), "alice", std::nullopt, std::nullopt)).size(),
            1u);
}

TEST_F(IamServiceTest, IdentityPoliciesAreRefreshedWhenUserPoliciesChange) {
  Caller alice = MakeUser("alice");
  EXPECT_TRUE(iam_->IdentityPolicies(alice.principal_arn)->empty());  // now cached
  ASSERT_THAT(iam_->PutUserPolicy(Root(), "alice", "p", kAllowIam), IsOk());
  EXPECT_EQ(iam_->IdentityPolicies(alice.principal_arn)->size(), 1u);
  ASSERT_THAT(iam_->PutUserPolicy(Root(), "alice", "q", kAllowIam), IsOk());
  EXPECT_EQ(iam_->IdentityPolicies(alice.principal_arn)->size(), 2u);
  ASSERT_THAT(iam_->DeleteUserPolicy(Root(), "alice", "p"), IsOk());
  EXPECT_EQ(iam_->IdentityPolicies(alice.principal_arn)->size(), 1u);
}

TEST_F(IamServiceTest, IdentityPoliciesOfRootAndOfUnknownPrincipalsAreEmpty) {
  EXPECT_TRUE(iam_->IdentityPolicies(RootArn(kAccount))->empty());
  EXPECT_TRUE(iam_->IdentityPolicies("arn:aws:iam::111122223333:user/nobody")->empty());
  MakeUser("alice", kAllowIam);
  // Same name, wrong path: not this user.
  EXPECT_TRUE(iam_->IdentityPolicies("arn:aws:iam::111122223333:user/x/alice")->empty());
  EXPECT_EQ(iam_->IdentityPolicies("arn:aws:iam::111122223333:user/alice")->size(), 1u);
}

// ---- Authorization ----

TEST_F(IamServiceTest, UserWithoutPoliciesIsDeniedIamCalls) {
  Caller alice = MakeUser("alice");
  auto created = iam_->CreateUser(alice, "bob", "/");
  EXPECT_THAT(created,
              HasErrorMessage(ErrorCode::kAccessDenied,
                              "User: arn:aws:iam::111122223333:user/alice is not authorized to "
                              "perform: iam:CreateUser on resource: "
                              "arn:aws:iam::111122223333:user/bob because no identity-based "
                              "policy allows the iam:CreateUser action"));
  EXPECT_THAT(iam_->ListUsers(alice, "/", std::nullopt, std::nullopt),
              HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(iam_->GetUser(alice, std::nullopt), HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(iam_->CreateAccessKey(alice, std::nullopt), HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(iam_->PutUserPolicy(alice, "alice", "p", kAllowIam),
              HasError(ErrorCode::kAccessDenied));
  // Whether a user exists is not revealed to a caller that may not ask.
  EXPECT_THAT(iam_->GetUser(alice, std::string("nobody")), HasError(ErrorCode::kAccessDenied));
}

TEST_F(IamServiceTest, UserWithIamStarPolicyManagesUsersAndRoles) {
  Caller admin = MakeUser("admin", kAllowIam);
  ASSERT_THAT(iam_->CreateUser(admin, "bob", "/"), IsOk());
  ASSERT_THAT(iam_->PutUserPolicy(admin, "bob", "p", kAllowIam), IsOk());
  EXPECT_EQ(iam_->ListUsers(admin, "/", std::nullopt, std::nullopt)->users.size(), 2u);
  ASSERT_THAT(iam_->CreateRole(admin, "r", "/", TrustNaming(kAccount), "", std::nullopt), IsOk());
  EXPECT_THAT(iam_->GetUser(admin, std::string("nobody")), HasError(ErrorCode::kNotFound));
}

TEST_F(IamServiceTest, ExplicitDenyOverridesAnAllow) {
  Caller admin = MakeUser("admin", kAllowIam);
  ASSERT_THAT(iam_->PutUserPolicy(Root(), "admin", "deny", R"({"Version":"2012-10-17",
      "Statement":[{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}]})"),
              IsOk());
  ASSERT_THAT(iam_->CreateUser(admin, "bob", "/"), IsOk());
  auto deleted = iam_->DeleteUser(admin, "bob");
  EXPECT_THAT(deleted, HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(deleted.error().message, HasSubstr("explicit deny in an identity-based policy"));
}

TEST_F(IamServiceTest, PolicyOnOneUserResourceAllowsOnlyThatUser) {
  Caller alice = MakeUser("alice", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":"iam:GetUser","Resource":"arn:aws:iam::111122223333:user/${aws:username}"}]})");
  MakeUser("bob");
  EXPECT_THAT(iam_->GetUser(alice, std::nullopt), IsOk());
  EXPECT_THAT(iam_->GetUser(alice, std::string("bob")), HasError(ErrorCode::kAccessDenied));
}

TEST_F(IamServiceTest, CallerFromAnotherAccountIsDenied) {
  MakeUser("alice", kAllowIam);
  Caller stranger{kAccount, "arn:aws:iam::444455556666:user/alice"};
  EXPECT_THAT(iam_->GetUser(stranger, std::string("alice")), HasError(ErrorCode::kAccessDenied));
  Caller other_root{kAccount, RootArn(kOtherAccount)};
  EXPECT_THAT(iam_->CreateUser(other_root, "x", "/"), HasError(ErrorCode::kAccessDenied));
}

// ---- Roles ----

TEST_F(IamServiceTest, CreateRoleReturnsItsIdArnAndTrustPolicy) {
  const std::string trust = TrustNaming(kAccount);
  auto role = iam_->CreateRole(Root(), "Deployer", "/svc/", trust, "deploys things", 7200);
  ASSERT_THAT(role, IsOk());
  EXPECT_THAT(role->role_id, MatchesRegex("AROA[A-Z2-7]{17}"));
  EXPECT_EQ(role->arn, "arn:aws:iam::111122223333:role/svc/Deployer");
  EXPECT_EQ(role->max_session_duration, 7200);
  auto got = iam_->GetRole(Root(), "deployer");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->role_name, "Deployer");
  EXPECT_EQ(got->assume_role_policy_document, trust);
  EXPECT_EQ(got->description, "deploys things");
  EXPECT_EQ(got->create_date, 1700000000);
  EXPECT_THAT(
      iam_->CreateRole(Root(), "deployer", "/", trust, "", std::nullopt),
      HasErrorMessage(ErrorCode::kAlreadyExists, "Role with name deployer already exists."));
  EXPECT_EQ(iam_->GetRole(Root(), "x").error().message, "The role with name x cannot be found.");
}

TEST_F(IamServiceTest, CreateRoleValidatesTrustPolicyDurationAndDescription) {
  const std::string trust = TrustNaming(kAccount);
  // A trust policy is resource-based: it must name principals.
  EXPECT_THAT(iam_->CreateRole(Root(), "r", "/", kAllowIam, "", std::nullopt),
              HasError(ErrorCode::kMalformedPolicyDocument));
  EXPECT_THAT(iam_->CreateRole(Root(), "r", "/", "{", "", std::nullopt),
              HasError(ErrorCode::kMalformedPolicyDocument));
  // The role is the trust policy's resource; naming one is not allowed.
  EXPECT_THAT(
      iam_->CreateRole(Root(), "r", "/", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole",
       "Resource":"*"}]})",
                       "", std::nullopt),
      HasErrorMessage(ErrorCode::kMalformedPolicyDocument, "Has prohibited field Resource."));
  EXPECT_THAT(iam_->CreateRole(Root(), "r", "/", trust, "", 3599),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateRole(Root(), "r", "/", trust, "", 43201),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateRole(Root(), "r", "/", trust, std::string(1001, 'd'), std::nullopt),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->CreateRole(Root(), "bad name", "/", trust, "", std::nullopt),
              HasError(ErrorCode::kValidation));
  auto role = iam_->CreateRole(Root(), "r", "/", trust, "", 43200);
  ASSERT_THAT(role, IsOk());
  EXPECT_EQ(role->max_session_duration, 43200);
}

TEST_F(IamServiceTest, RolePoliciesArePutReadListedAndDeleted) {
  MakeRole("r", TrustNaming(kAccount));
  ASSERT_THAT(iam_->PutRolePolicy(Root(), "r", "p", kAllowIam), IsOk());
  EXPECT_EQ(iam_->GetRolePolicy(Root(), "r", "p").value(), kAllowIam);
  EXPECT_EQ(PolicyNames(iam_->ListRolePolicies(Root(), "r", std::nullopt, std::nullopt)),
            (std::vector<std::string>{"p"}));
  EXPECT_THAT(iam_->PutRolePolicy(Root(), "r", "bad", "[]"),
              HasError(ErrorCode::kMalformedPolicyDocument));
  EXPECT_THAT(
      iam_->GetRolePolicy(Root(), "r", "q"),
      HasErrorMessage(ErrorCode::kNotFound, "The role policy with name q cannot be found."));
  EXPECT_THAT(iam_->PutRolePolicy(Root(), "nope", "p", kAllowIam),
              HasErrorMessage(ErrorCode::kNotFound, "The role with name nope cannot be found."));
  ASSERT_THAT(iam_->DeleteRolePolicy(Root(), "r", "p"), IsOk());
  EXPECT_THAT(iam_->DeleteRolePolicy(Root(), "r", "p"), HasError(ErrorCode::kNotFound));
  EXPECT_TRUE(PolicyNames(iam_->ListRolePolicies(Root(), "r", std::nullopt, std::nullopt)).empty());
}

TEST_F(IamServiceTest, ListRolePoliciesPagesWithAMarker) {
  MakeRole("r", TrustNaming(kAccount));
  MakeRole("s", TrustNaming(kAccount));
  MakeUser("r");  // a user of the same name is another list
  for (const char* name : {"p3", "p1", "p2"}) {
    ASSERT_THAT(iam_->PutRolePolicy(Root(), "r", name, kAllowIam), IsOk());
  }
  auto first = iam_->ListRolePolicies(Root(), "r", std::nullopt, 2);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->policy_names, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_TRUE(first->is_truncated);
  ASSERT_TRUE(first->marker.has_value());
  auto second = iam_->ListRolePolicies(Root(), "r", first->marker, 2);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->policy_names, (std::vector<std::string>{"p3"}));
  EXPECT_FALSE(second->is_truncated);
  EXPECT_FALSE(second->marker.has_value());
  auto whole = iam_->ListRolePolicies(Root(), "r", std::nullopt, std::nullopt);
  ASSERT_THAT(whole, IsOk());
  EXPECT_EQ(whole->policy_names.size(), 3u);
  EXPECT_FALSE(whole->is_truncated);

  EXPECT_THAT(iam_->ListRolePolicies(Root(), "s", first->marker, 2),
              HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(iam_->ListUserPolicies(Root(), "r", first->marker, 2),
              HasError(ErrorCode::kInvalidMarker));
  EXPECT_THAT(iam_->ListRolePolicies(Root(), "r", std::string("%%%%"), 2),
              HasErrorMessage(ErrorCode::kInvalidMarker, "Invalid Marker."));
  EXPECT_THAT(iam_->ListRolePolicies(Root(), "nope", std::string("%%%%"), 2),
              HasError(ErrorCode::kNotFound));
}

TEST_F(IamServiceTest, DeleteRoleWithPoliciesIsDeleteConflict) {
  MakeRole("r", TrustNaming(kAccount));
  ASSERT_THAT(iam_->PutRolePolicy(Root(), "r", "p", kAllowIam), IsOk());
  EXPECT_THAT(
      iam_->DeleteRole(Root(), "r"),
      HasErrorMessage(ErrorCode::kConflict, "Cannot delete entity, must delete policies first."));
  ASSERT_THAT(iam_->DeleteRolePolicy(Root(), "r", "p"), IsOk());
  ASSERT_THAT(iam_->DeleteRole(Root(), "r"), IsOk());
  EXPECT_THAT(iam_->GetRole(Root(), "r"), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(iam_->DeleteRole(Root(), "r"),
              HasErrorMessage(ErrorCode::kNotFound, "The role with name r cannot be found."));
}

// ---- AssumeRole ----

TEST_F(IamServiceTest, RootMayNotAssumeRoles) {
  Role role = MakeRole("r", TrustNaming(RootArn(kAccount)));
  EXPECT_THAT(
      iam_->AssumeRole(Root(), role.arn, "s1", std::nullopt),
      HasErrorMessage(ErrorCode::kAccessDenied, "Roles may not be assumed by root accounts."));
}

TEST_F(IamServiceTest, TrustPolicyNamingTheUserSufficesWithoutAnIdentityPolicy) {
  Caller alice = MakeUser("alice");
  Role role = MakeRole("r", TrustNaming(alice.principal_arn));
  auto session = iam_->AssumeRole(alice, role.arn, "my-session", std::nullopt);
  ASSERT_THAT(session, IsOk());
  EXPECT_THAT(session->access_key_id, MatchesRegex("ASIA[A-Z2-7]{16}"));
  EXPECT_EQ(session->secret_access_key.size(), 40u);
  EXPECT_GE(session->session_token.size(), 300u);
  EXPECT_EQ(session->expiration, 1700000000 + 3600);
  EXPECT_EQ(session->assumed_role_arn, "arn:aws:sts::111122223333:assumed-role/r/my-session");
  EXPECT_EQ(session->assumed_role_id, role.role_id + ":my-session");
}

TEST_F(IamServiceTest, TrustPolicyNamingTheAccountNeedsAnIdentityPolicyAllow) {
  Caller alice = MakeUser("alice");
  Role role = MakeRole("r", TrustNaming(kAccount));
  auto denied = iam_->AssumeRole(alice, role.arn, "s1", std::nullopt);
  EXPECT_THAT(denied, HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(denied.error().message,
              HasSubstr("is not authorized to perform: sts:AssumeRole on resource: " + role.arn));
  ASSERT_THAT(iam_->PutUserPolicy(Root(), "alice", "assume", R"({"Version":"2012-10-17",
      "Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",
      "Resource":"arn:aws:iam::111122223333:role/r"}]})"),
              IsOk());
  EXPECT_THAT(iam_->AssumeRole(alice, role.arn, "s1", std::nullopt), IsOk());
}

TEST_F(IamServiceTest, TrustPolicyNamingSomeoneElseDeniesEvenWithAnIdentityAllow) {
  Caller alice = MakeUser("alice", kAllowAssumeAnyRole);
  MakeUser("bob");
  Role role = MakeRole("r", TrustNaming("arn:aws:iam::111122223333:user/bob"));
  EXPECT_THAT(iam_->AssumeRole(alice, role.arn, "s1", std::nullopt),
              HasError(ErrorCode::kAccessDenied));
}

TEST_F(IamServiceTest, IdentityPolicyDenyOverridesATrustPolicyAllow) {
  Caller alice = MakeUser("alice", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]})");
  Role role = MakeRole("r", TrustNaming(alice.principal_arn));
  EXPECT_THAT(iam_->AssumeRole(alice, role.arn, "s1", std::nullopt),
              HasError(ErrorCode::kAccessDenied));
}

TEST_F(IamServiceTest, UnknownRolesAndOtherAccountsRolesAreAccessDenied) {
  Caller alice = MakeUser("alice", kAllowAssumeAnyRole);
  EXPECT_THAT(iam_->AssumeRole(alice, "arn:aws:iam::111122223333:role/nope", "s1", std::nullopt),
              HasError(ErrorCode::kAccessDenied));
  MakeRole("r", TrustNaming(alice.principal_arn));
  EXPECT_THAT(iam_->AssumeRole(alice, "arn:aws:iam::444455556666:role/r", "s1", std::nullopt),
              HasError(ErrorCode::kAccessDenied));
  EXPECT_THAT(
      iam_->AssumeRole(alice, "arn:aws:iam::111122223333:role/wrong/path/r", "s1", std::nullopt),
      HasError(ErrorCode::kAccessDenied));
}

TEST_F(IamServiceTest, AssumeRoleValidatesArnAndSessionName) {
  Caller alice = MakeUser("alice");
  Role role = MakeRole("r", TrustNaming(alice.principal_arn));
  EXPECT_THAT(iam_->AssumeRole(alice, "not-an-arn-but-long-enough", "s1", std::nullopt),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->AssumeRole(alice, "arn:aws:iam::111122223333:user/alice", "s1", std::nullopt),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->AssumeRole(alice, role.arn, "s", std::nullopt),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->AssumeRole(alice, role.arn, "bad session", std::nullopt),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->AssumeRole(alice, role.arn, std::string(65, 's'), std::nullopt),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->AssumeRole(alice, role.arn, std::string(64, 's'), std::nullopt), IsOk());
}

TEST_F(IamServiceTest, AssumeRoleDurationMustFitTheRolesMaximum) {
  Caller alice = MakeUser("alice");
  Role short_role = MakeRole("short", TrustNaming(alice.principal_arn));
  Role long_role = MakeRole("long", TrustNaming(alice.principal_arn), 7200);
  EXPECT_THAT(iam_->AssumeRole(alice, short_role.arn, "s1", 899), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->AssumeRole(alice, short_role.arn, "s1", 3601),
              HasErrorMessage(ErrorCode::kValidation,
                              "The requested DurationSeconds exceeds the MaxSessionDuration set "
                              "for this role."));
  auto brief = iam_->AssumeRole(alice, short_role.arn, "s1", 900);
  ASSERT_THAT(brief, IsOk());
  EXPECT_EQ(brief->expiration, 1700000000 + 900);
  auto longest = iam_->AssumeRole(alice, long_role.arn, "s1", 7200);
  ASSERT_THAT(longest, IsOk());
  EXPECT_EQ(longest->expiration, 1700000000 + 7200);
  EXPECT_THAT(iam_->AssumeRole(alice, long_role.arn, "s1", 7201), HasError(ErrorCode::kValidation));
}

TEST_F(IamServiceTest, SessionTokenIsStoredOnlyAsItsSha256) {
  Caller alice = MakeUser("alice");
  Role role = MakeRole("r", TrustNaming(alice.principal_arn));
  auto session = iam_->AssumeRole(alice, role.arn, "s1", 900);
  ASSERT_THAT(session, IsOk());
  auto row = store_->GetAccessKey(session->access_key_id);
  ASSERT_THAT(row, IsOk());
  ASSERT_TRUE(row->has_value());
  EXPECT_NE((*row)->session_token, session->session_token);
  EXPECT_THAT((*row)->session_token, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ((*row)->session_token, HexEncode(crypto::Sha256(AsBytes(session->session_token))));
  const std::string wrapped((*row)->wrapped_secret.begin(), (*row)->wrapped_secret.end());
  EXPECT_EQ(wrapped.find(session->session_token), std::string::npos);
}

TEST_F(IamServiceTest, SessionTokenDigestIsLowercaseHexSha256) {
  EXPECT_EQ(internal::SessionTokenDigest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
  EXPECT_TRUE(internal::IsSessionTokenDigest(internal::SessionTokenDigest("")));
  EXPECT_FALSE(internal::IsSessionTokenDigest(
      "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  EXPECT_FALSE(internal::IsSessionTokenDigest("ba7816bf"));
  EXPECT_FALSE(internal::IsSessionTokenDigest(std::string(64, 'g')));
}

TEST_F(IamServiceTest, SessionKeyResolvesWithItsTokenUntilItExpires) {
  Caller alice = MakeUser("alice");
  Role role = MakeRole("r", TrustNaming(alice.principal_arn));
  auto session = iam_->AssumeRole(alice, role.arn, "s1", 900);
  ASSERT_THAT(session, IsOk());

  auto key = ids_->LookupAccessKey(session->access_key_id);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->principal_arn, session->assumed_role_arn);
  EXPECT_EQ(key->account_id, kAccount);
  // Known by its digest only (what SigV4 verification compares).
  EXPECT_EQ(key->session_token, internal::SessionTokenDigest(session->session_token));
  EXPECT_EQ(key->expiration, session->expiration);
  EXPECT_TRUE(key->secret_access_key == session->secret_access_key);

  clock_->Advance(std::chrono::seconds(890));
  ASSERT_THAT(ids_->LookupAccessKey(session->access_key_id), IsOk());  // cached from here on
  clock_->Advance(std::chrono::seconds(10));  // exactly at the expiration, within the cache TTL
  EXPECT_THAT(ids_->LookupAccessKey(session->access_key_id),
              HasErrorMessage(ErrorCode::kExpiredToken,
                              "The security token included in the request is expired"));
  clock_->Advance(std::chrono::hours(1));  // and from the store
  EXPECT_THAT(ids_->LookupAccessKey(session->access_key_id), HasError(ErrorCode::kExpiredToken));
}

TEST_F(IamServiceTest, SessionActsWithItsRolesPolicies) {
  Caller alice = MakeUser("alice");
  Role role = MakeRole("r", TrustNaming(alice.principal_arn));
  auto session = iam_->AssumeRole(alice, role.arn, "s1", std::nullopt);
  ASSERT_THAT(session, IsOk());
  Caller as_role{kAccount, session->assumed_role_arn};
  EXPECT_TRUE(iam_->IdentityPolicies(as_role.principal_arn)->empty());
  EXPECT_THAT(iam_->GetRole(as_role, "r"), HasError(ErrorCode::kAccessDenied));

  ASSERT_THAT(iam_->PutRolePolicy(Root(), "r", "read", R"({"Version":"2012-10-17",
      "Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]})"),
              IsOk());
  EXPECT_EQ(iam_->IdentityPolicies(as_role.principal_arn)->size(), 1u);
  EXPECT_THAT(iam_->GetRole(as_role, "r"), IsOk());
  EXPECT_THAT(iam_->CreateUser(as_role, "x", "/"), HasError(ErrorCode::kAccessDenied));
  // A role session has no user of its own.
  EXPECT_THAT(iam_->CreateAccessKey(as_role, std::nullopt), HasError(ErrorCode::kValidation));

  ASSERT_THAT(iam_->DeleteRolePolicy(Root(), "r", "read"), IsOk());
  EXPECT_THAT(iam_->GetRole(as_role, "r"), HasError(ErrorCode::kAccessDenied));
}

TEST_F(IamServiceTest, GetCallerIdentityOfARootIsTheAccount) {
  auto identity = iam_->GetCallerIdentity(Root());
  ASSERT_THAT(identity, IsOk());
  EXPECT_EQ(identity->account, kAccount);
  EXPECT_EQ(identity->arn, "arn:aws:iam::111122223333:root");
  EXPECT_EQ(identity->user_id, kAccount);
}

TEST_F(IamServiceTest, GetCallerIdentityOfAUserIsItsUserIdWithoutAnyPermission) {
  auto created = iam_->CreateUser(Root(), "alice", "/team/");
  ASSERT_THAT(created, IsOk());
  const Caller alice{kAccount, created->arn};
  // No policy at all, then an explicit Deny of everything: neither matters.
  for (const std::string& policy :
       {std::string(), std::string(R"({"Version":"2012-10-17","Statement":[
          {"Effect":"Deny","Action":"*","Resource":"*"}]})")}) {
    if (!policy.empty()) {
      ASSERT_THAT(iam_->PutUserPolicy(Root(), "alice", "deny", policy), IsOk());
    }
    auto identity = iam_->GetCallerIdentity(alice);
    ASSERT_THAT(identity, IsOk());
    EXPECT_EQ(identity->user_id, created->user_id);
    EXPECT_THAT(identity->user_id, MatchesRegex("AIDA[A-Z2-7]{17}"));
    EXPECT_EQ(identity->arn, "arn:aws:iam::111122223333:user/team/alice");
    EXPECT_EQ(identity->account, kAccount);
  }
}

TEST_F(IamServiceTest, GetCallerIdentityOfAVanishedUserIsUnrecognizedClient) {
  EXPECT_THAT(iam_->GetCallerIdentity({kAccount, "arn:aws:iam::111122223333:user/ghost"}),
              HasError(ErrorCode::kUnrecognizedClient));
  // The ARN must name the user as it is (path included), not a namesake.
  MakeUser("alice");
  EXPECT_THAT(iam_->GetCallerIdentity({kAccount, "arn:aws:iam::111122223333:user/other/alice"}),
              HasError(ErrorCode::kUnrecognizedClient));
}

TEST_F(IamServiceTest, GetCallerIdentityOfARoleSessionIsTheRoleIdAndSessionName) {
  Caller alice = MakeUser("alice");
  Role role = MakeRole("deployer", TrustNaming("arn:aws:iam::111122223333:user/alice"));
  auto session = iam_->AssumeRole(alice, role.arn, "ci-run.7", std::nullopt);
  ASSERT_THAT(session, IsOk());
  const Caller as_session{kAccount, session->assumed_role_arn};
  auto identity = iam_->GetCallerIdentity(as_session);
  ASSERT_THAT(identity, IsOk());
  EXPECT_EQ(identity->user_id, role.role_id + ":ci-run.7");
  EXPECT_EQ(identity->user_id, session->assumed_role_id);
  EXPECT_THAT(identity->user_id, MatchesRegex("AROA[A-Z2-7]{17}:ci-run\\.7"));
  EXPECT_EQ(identity->arn, "arn:aws:sts::111122223333:assumed-role/deployer/ci-run.7");
  // The session's role grants nothing, iam:GetRole included: no matter.
  EXPECT_THAT(iam_->GetRole(as_session, "deployer"), HasError(ErrorCode::kAccessDenied));

  // With its role gone the session's role id is no longer known.
  ASSERT_THAT(iam_->DeleteRole(Root(), "deployer"), IsOk());
  identity = iam_->GetCallerIdentity(as_session);
  ASSERT_THAT(identity, IsOk());
  EXPECT_EQ(identity->user_id, "deployer:ci-run.7");
}

TEST_F(IamServiceTest, RoleChainingIsLimitedToOneHour) {
  Caller alice = MakeUser("alice");
  Role first = MakeRole("first", TrustNaming(alice.principal_arn));
  auto session = iam_->AssumeRole(alice, first.arn, "s1", std::nullopt);
  ASSERT_THAT(session, IsOk());
  Caller as_first{kAccount, session->assumed_role_arn};
  Role second = MakeRole("second", TrustNaming(session->assumed_role_arn), 7200);
  EXPECT_THAT(iam_->AssumeRole(as_first, second.arn, "s2", 7200), HasError(ErrorCode::kValidation));
  EXPECT_THAT(iam_->AssumeRole(as_first, second.arn, "s2", 3600), IsOk());
}

TEST_F(IamServiceTest, LongExpiredSessionKeysArePurgedByLaterAssumeRoles) {
  Caller alice = MakeUser("alice");
  Role role = MakeRole("r", TrustNaming(alice.principal_arn));
  auto old_session = iam_->AssumeRole(alice, role.arn, "s1", 900);
  ASSERT_THAT(old_session, IsOk());
  clock_->Advance(std::chrono::hours(48));
  ASSERT_THAT(iam_->AssumeRole(alice, role.arn, "s2", 900), IsOk());
  EXPECT_FALSE(store_->GetAccessKey(old_session->access_key_id).value().has_value());
}

}  // namespace
}  // namespace scytale::iam

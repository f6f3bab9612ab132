#include "api/iam_query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/encoding.h"

namespace scytale::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
namespace pt = boost::property_tree;

constexpr char kAccount[] = "111122223333";
constexpr char kIamNs[] = "https://iam.amazonaws.com/doc/2010-05-08/";
constexpr char kStsNs[] = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr int64_t kCreated = 1795878245;  // 2026-11-28T15:04:05Z

std::string Opt(const std::optional<std::string>& value) { return value.value_or("-"); }
std::string Opt(const std::optional<int>& value) {
  return value ? std::to_string(*value) : std::string("-");
}

crypto::SecretBytes Secret(std::string_view text) { return crypto::SecretBytes(AsBytes(text)); }

// Records every call as "Operation(arg,arg)" and answers with the canned values below, or
// with `error` when set.
class FakeIam : public iam::IamService {
 public:
  std::vector<std::string> calls;
  std::optional<Error> error;
  bool throw_exception = false;
  iam::User user{"alice", "AIDAEXAMPLEUSER00001", "arn:aws:iam::111122223333:user/alice", "/",
                 kCreated};
  iam::Role role{"deployer",
                 "AROAEXAMPLEROLE00001",
                 "arn:aws:iam::111122223333:role/deployer",
                 "/",
                 R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]})",
                 "Deploys things",
                 7200,
                 kCreated};
  iam::ListUsersResult listed{{}, std::nullopt, false};
  iam::ListAccessKeysResult keys;
  iam::ListPolicyNamesResult policy_names{{"p1", "p2"}, std::nullopt, false};
  std::string document = R"({"Version": "2012-10-17", "Statement": []})";
  std::string user_id = "AIDAEXAMPLEUSER00001";

  Result<iam::User> CreateUser(const iam::Caller&, const std::string& user_name,
                               const std::string& path) override {
    return Answer("CreateUser(" + user_name + "," + path + ")", user);
  }
  Result<iam::User> GetUser(const iam::Caller&,
                            const std::optional<std::string>& user_name) override {
    return Answer("GetUser(" + Opt(user_name) + ")", user);
  }
  Result<iam::ListUsersResult> ListUsers(const iam::Caller&, const std::string& path_prefix,
                                         const std::optional<std::string>& marker,
                                         std::optional<int> max_items) override {
    return Answer("ListUsers(" + path_prefix + "," + Opt(marker) + "," + Opt(max_items) + ")",
                  listed);
  }
  Status DeleteUser(const iam::Caller&, const std::string& user_name) override {
    return Done("DeleteUser(" + user_name + ")");
  }
  Result<iam::NewAccessKey> CreateAccessKey(const iam::Caller&,
                                            const std::optional<std::string>& user_name) override {
    Status status = Done("CreateAccessKey(" + Opt(user_name) + ")");
    if (!status.has_value()) {
      return status.error();
    }
    return iam::NewAccessKey{{"alice", "AKIAEXAMPLEKEY000001", "Active", kCreated},
                             Secret(kSecret)};
  }
  Result<iam::ListAccessKeysResult> ListAccessKeys(const iam::Caller&,
                                                   const std::optional<std::string>& user_name,
                                                   const std::optional<std::string>& marker,
                                                   std::optional<int> max_items) override {
    return Answer(
        "ListAccessKeys(" + Opt(user_name) + "," + Opt(marker) + "," + Opt(max_items) + ")", keys);
  }
  Status UpdateAccessKey(const iam::Caller&, const std::optional<std::string>& user_name,
                         const std::string& access_key_id, const std::string& status) override {
    return Done("UpdateAccessKey(" + Opt(user_name) + "," + access_key_id + "," + status + ")");
  }
  Status DeleteAccessKey(const iam::Caller&, const std::optional<std::string>& user_name,
                         const std::string& access_key_id) override {
    return Done("DeleteAccessKey(" + Opt(user_name) + "," + access_key_id + ")");
  }
  Status PutUserPolicy(const iam::Caller&, const std::string& user_name,
                       const std::string& policy_name, const std::string& doc) override {
    return Done("PutUserPolicy(" + user_name + "," + policy_name + "," + doc + ")");
  }
  Result<std::string> GetUserPolicy(const iam::Caller&, const std::string& user_name,
                                    const std::string& policy_name) override {
    return Answer("GetUserPolicy(" + user_name + "," + policy_name + ")", document);
  }
  Result<iam::ListPolicyNamesResult> ListUserPolicies(const iam::Caller&,
                                                      const std::string& user_name,
                                                      const std::optional<std::string>& marker,
                                                      std::optional<int> max_items) override {
    return Answer("ListUserPolicies(" + user_name + "," + Opt(marker) + "," + Opt(max_items) + ")",
                  policy_names);
  }
  Status DeleteUserPolicy(const iam::Caller&, const std::string& user_name,
                          const std::string& policy_name) override {
    return Done("DeleteUserPolicy(" + user_name + "," + policy_name + ")");
  }
  Result<iam::Role> CreateRole(const iam::Caller&, const std::string& role_name,
                               const std::string& path, const std::string& trust_policy,
                               const std::string& description,
                               std::optional<int> max_session_duration) override {
    return Answer("CreateRole(" + role_name + "," + path + "," + trust_policy + "," + description +
                      "," + Opt(max_session_duration) + ")",
                  role);
  }
  Result<iam::Role> GetRole(const iam::Caller&, const std::string& role_name) override {
    return Answer("GetRole(" + role_name + ")", role);
  }
  Status DeleteRole(const iam::Caller&, const std::string& role_name) override {
    return Done("DeleteRole(" + role_name + ")");
  }
  Status PutRolePolicy(const iam::Caller&, const std::string& role_name,
                       const std::string& policy_name, const std::string& doc) override {
    return Done("PutRolePolicy(" + role_name + "," + policy_name + "," + doc + ")");
  }
  Result<std::string> GetRolePolicy(const iam::Caller&, const std::string& role_name,
                                    const std::string& policy_name) override {
    return Answer("GetRolePolicy(" + role_name + "," + policy_name + ")", document);
  }
  Result<iam::ListPolicyNamesResult> ListRolePolicies(const iam::Caller&,
                                                      const std::string& role_name,
                                                      const std::optional<std::string>& marker,
                                                      std::optional<int> max_items) override {
    return Answer("ListRolePolicies(" + role_name + "," + Opt(marker) + "," + Opt(max_items) + ")",
                  policy_names);
  }
  Status DeleteRolePolicy(const iam::Caller&, const std::string& role_name,
                          const std::string& policy_name) override {
    return Done("DeleteRolePolicy(" + role_name + "," + policy_name + ")");
  }
  Result<iam::CallerIdentity> GetCallerIdentity(const iam::Caller& caller) override {
    return Answer("GetCallerIdentity(" + caller.principal_arn + ")",
                  iam::CallerIdentity{caller.account_id, caller.principal_arn, user_id});
  }
  Result<iam::AssumedRole> AssumeRole(const iam::Caller&, const std::string& role_arn,
                                      const std::string& role_session_name,
                                      std::optional<int> duration_seconds) override {
    Status status = Done("AssumeRole(" + role_arn + "," + role_session_name + "," +
                         Opt(duration_seconds) + ")");
    if (!status.has_value()) {
      return status.error();
    }
    iam::AssumedRole assumed;
    assumed.access_key_id = "ASIAEXAMPLESESSION01";
    assumed.secret_access_key = Secret(kSecret);
    assumed.session_token = "token+/=";
    assumed.expiration = kCreated + 3600;
    assumed.assumed_role_arn = "arn:aws:sts::111122223333:assumed-role/deployer/ci";
    assumed.assumed_role_id = "AROAEXAMPLEROLE00001:ci";
    return assumed;
  }
  Result<std::vector<std::shared_ptr<const policy::CompiledPolicy>>> IdentityPolicies(
      const std::string&) override {
    return std::vector<std::shared_ptr<const policy::CompiledPolicy>>();
  }

 private:
  Status Done(std::string call) {
    calls.push_back(std::move(call));
    if (throw_exception) {
      throw std::runtime_error("boom");
    }
    if (error) {
      return *error;
    }
    return Ok();
  }
  template <class T>
  Result<T> Answer(std::string call, const T& value) {
    Status status = Done(std::move(call));
    if (!status.has_value()) {
      return status.error();
    }
    return value;
  }
};

pt::ptree ParseXml(const std::string& body) {
  std::istringstream in(body);
  pt::ptree tree;
  pt::read_xml(in, tree);
  return tree;
}

class QueryApiTest : public ::testing::Test {
 protected:
  QueryResponse Iam(std::string_view body, std::string_view query = "") {
    return api_->Handle(root_, "iam", query, body, "req-1");
  }
  QueryResponse Sts(std::string_view body, const iam::Caller& caller) {
    return api_->Handle(caller, "sts", "", body, "req-2");
  }
  // Checks the error document and returns its Code.
  std::string ErrorCodeOf(const QueryResponse& response, std::string_view ns = kIamNs) {
    pt::ptree tree = ParseXml(response.body);
    EXPECT_EQ(tree.get<std::string>("ErrorResponse.<xmlattr>.xmlns"), ns);
    EXPECT_EQ(tree.get<std::string>("ErrorResponse.Error.Type"),
              response.status >= 500 ? "Receiver" : "Sender");
    return tree.get<std::string>("ErrorResponse.Error.Code");
  }
  std::string ErrorMessageOf(const QueryResponse& response) {
    return ParseXml(response.body).get<std::string>("ErrorResponse.Error.Message");
  }

  FakeIam fake_;
  std::unique_ptr<QueryApi> api_ = QueryApi::Create(&fake_);
  iam::Caller root_{kAccount, "arn:aws:iam::111122223333:root"};
};

// ---- Form decoding and dispatch -------------------------------------------------------------

TEST_F(QueryApiTest, MergesQueryStringAndBodyAndDecodesPlusAndPercent) {
  QueryResponse response =
      Iam("UserName=al%2Bice+x%26y&Path=%2Fdev%2F", "Action=CreateUser&Version=2010-05-08");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(fake_.calls, ElementsAre("CreateUser(al+ice x&y,/dev/)"));
}

TEST_F(QueryApiTest, TheFirstOfARepeatedParameterWins) {
  QueryResponse response =
      Iam("UserName=bob", "Action=DeleteUser&UserName=alice&UserName=carol&Version=2010-05-08");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(fake_.calls, ElementsAre("DeleteUser(alice)"));
}

TEST_F(QueryApiTest, IgnoresEmptyPairsAndUnknownParameters) {
  QueryResponse response = Iam("&&Action=DeleteUser&&UserName=alice&Tags.member.1.Key=k&Flag&");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(fake_.calls, ElementsAre("DeleteUser(alice)"));
}

TEST_F(QueryApiTest, RefusesABrokenPercentEscape) {
  for (std::string_view body : {"Action=DeleteUser&UserName=al%2", "Action=DeleteUser&UserName=%",
                                "Action=DeleteUser&UserName=%zz", "Act%4=DeleteUser"}) {
    QueryResponse response = Iam(body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_EQ(ErrorCodeOf(response), "MalformedQueryString") << body;
  }
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(QueryApiTest, MissingActionIsRefused) {
  for (std::string_view body : {"", "UserName=alice&Version=2010-05-08", "Action="}) {
    QueryResponse response = Iam(body);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(ErrorCodeOf(response), "MissingAction") << body;
  }
}

TEST_F(QueryApiTest, UnknownActionIsRefusedAsAwsWordsIt) {
  QueryResponse response = Iam("Action=CreateGroup&Version=2010-05-08");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(ErrorCodeOf(response), "InvalidAction");
  EXPECT_EQ(ErrorMessageOf(response),
            "Could not find operation CreateGroup for version 2010-05-08");
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(QueryApiTest, ActionsOfTheOtherServiceOrVersionAreUnknown) {
  QueryResponse sts_on_iam = Iam("Action=AssumeRole&RoleArn=a&RoleSessionName=s");
  EXPECT_EQ(ErrorCodeOf(sts_on_iam), "InvalidAction");
  QueryResponse iam_on_sts = Sts("Action=CreateUser&UserName=a&Version=2011-06-15", root_);
  EXPECT_EQ(ErrorCodeOf(iam_on_sts, kStsNs), "InvalidAction");
  EXPECT_EQ(ErrorMessageOf(iam_on_sts),
            "Could not find operation CreateUser for version 2011-06-15");
  QueryResponse wrong_version = Iam("Action=DeleteUser&UserName=a&Version=2011-06-15");
  EXPECT_EQ(ErrorMessageOf(wrong_version),
            "Could not find operation DeleteUser for version 2011-06-15");
  QueryResponse action_case = Iam("Action=deleteuser&UserName=a");
  EXPECT_EQ(ErrorCodeOf(action_case), "InvalidAction");
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(QueryApiTest, UnknownServiceIsRefused) {
  QueryResponse response = api_->Handle(root_, "s3", "", "Action=ListBuckets", "r");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(ErrorCodeOf(response), "InvalidAction");
}

struct DispatchCase {
  const char* body;
  const char* call;
  const char* action;
  bool has_result;
};

TEST_F(QueryApiTest, DispatchesEveryIamAction) {
  const DispatchCase cases[] = {
      {"Action=CreateUser&UserName=alice", "CreateUser(alice,/)", "CreateUser", true},
      {"Action=GetUser", "GetUser(-)", "GetUser", true},
      {"Action=GetUser&UserName=bob", "GetUser(bob)", "GetUser", true},
      {"Action=ListUsers", "ListUsers(/,-,-)", "ListUsers", true},
      {"Action=ListUsers&PathPrefix=%2Fa%2F&Marker=m1&MaxItems=10", "ListUsers(/a/,m1,10)",
       "ListUsers", true},
      {"Action=DeleteUser&UserName=alice", "DeleteUser(alice)", "DeleteUser", false},
      {"Action=CreateAccessKey", "CreateAccessKey(-)", "CreateAccessKey", true},
      {"Action=CreateAccessKey&UserName=bob", "CreateAccessKey(bob)", "CreateAccessKey", true},
      {"Action=ListAccessKeys", "ListAccessKeys(-,-,-)", "ListAccessKeys", true},
      {"Action=ListAccessKeys&UserName=bob&MaxItems=5&Marker=m2", "ListAccessKeys(bob,m2,5)",
       "ListAccessKeys", true},
      {"Action=UpdateAccessKey&AccessKeyId=AKIA1&Status=Inactive",
       "UpdateAccessKey(-,AKIA1,Inactive)", "UpdateAccessKey", false},
      {"Action=UpdateAccessKey&AccessKeyId=AKIA1&Status=Active&UserName=bob",
       "UpdateAccessKey(bob,AKIA1,Active)", "UpdateAccessKey", false},
      {"Action=DeleteAccessKey&AccessKeyId=AKIA1", "DeleteAccessKey(-,AKIA1)", "DeleteAccessKey",
       false},
      {"Action=DeleteAccessKey&AccessKeyId=AKIA1&UserName=bob", "DeleteAccessKey(bob,AKIA1)",
       "DeleteAccessKey", false},
      {"Action=PutUserPolicy&UserName=bob&PolicyName=p&PolicyDocument=%7B%22a%22%3A+1%7D",
       "PutUserPolicy(bob,p,{\"a\": 1})", "PutUserPolicy", false},
      {"Action=GetUserPolicy&UserName=bob&PolicyName=p", "GetUserPolicy(bob,p)", "GetUserPolicy",
       true},
      {"Action=ListUserPolicies&UserName=bob", "ListUserPolicies(bob,-,-)", "ListUserPolicies",
       true},
      {"Action=ListUserPolicies&UserName=bob&Marker=m3&MaxItems=1000",
       "ListUserPolicies(bob,m3,1000)", "ListUserPolicies", true},
      {"Action=DeleteUserPolicy&UserName=bob&PolicyName=p", "DeleteUserPolicy(bob,p)",
       "DeleteUserPolicy", false},
      {"Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D", "CreateRole(r,/,{},,-)",
       "CreateRole", true},
      {"Action=CreateRole&RoleName=r&Path=%2Fx%2F&AssumeRolePolicyDocument=%7B%7D&Description="
       "hi+there&MaxSessionDuration=7200",
       "CreateRole(r,/x/,{},hi there,7200)", "CreateRole", true},
      {"Action=GetRole&RoleName=r", "GetRole(r)", "GetRole", true},
      {"Action=DeleteRole&RoleName=r", "DeleteRole(r)", "DeleteRole", false},
      {"Action=PutRolePolicy&RoleName=r&PolicyName=p&PolicyDocument=%7B%7D",
       "PutRolePolicy(r,p,{})", "PutRolePolicy", false},
      {"Action=GetRolePolicy&RoleName=r&PolicyName=p", "GetRolePolicy(r,p)", "GetRolePolicy", true},
      {"Action=ListRolePolicies&RoleName=r", "ListRolePolicies(r,-,-)", "ListRolePolicies", true},
      {"Action=ListRolePolicies&RoleName=r&MaxItems=1&Marker=m4", "ListRolePolicies(r,m4,1)",
       "ListRolePolicies", true},
      {"Action=DeleteRolePolicy&RoleName=r&PolicyName=p", "DeleteRolePolicy(r,p)",
       "DeleteRolePolicy", false},
  };
  for (const DispatchCase& c : cases) {
    fake_.calls.clear();
    QueryResponse response = Iam(std::string(c.body) + "&Version=2010-05-08");
    ASSERT_EQ(response.status, 200) << c.body << "\n" << response.body;
    EXPECT_THAT(fake_.calls, ElementsAre(c.call)) << c.body;
    pt::ptree tree = ParseXml(response.body);
    const std::string response_name = std::string(c.action) + "Response";
    EXPECT_EQ(tree.get<std::string>(response_name + ".<xmlattr>.xmlns"), kIamNs) << c.body;
    EXPECT_EQ(tree.get<std::string>(response_name + ".ResponseMetadata.RequestId"), "req-1");
    EXPECT_EQ(tree.get_child_optional(response_name + "." + c.action + "Result").has_value(),
              c.has_result)
        << c.body;
  }
}

TEST_F(QueryApiTest, DispatchesStsActions) {
  QueryResponse identity = Sts("Action=GetCallerIdentity&Version=2011-06-15", root_);
  EXPECT_EQ(identity.status, 200) << identity.body;
  QueryResponse assumed =
      Sts("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2F"
          "deployer&RoleSessionName=ci&DurationSeconds=900",
          root_);
  EXPECT_EQ(assumed.status, 200) << assumed.body;
  EXPECT_THAT(fake_.calls,
              ElementsAre("GetCallerIdentity(arn:aws:iam::111122223333:root)",
                          "AssumeRole(arn:aws:iam::111122223333:role/deployer,ci,900)"));
}

// ---- Response shapes ------------------------------------------------------------------------

TEST_F(QueryApiTest, CreateUserAnswersTheUserAsIamShapesIt) {
  QueryResponse response = Iam("Action=CreateUser&UserName=alice");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            "<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
            "<CreateUserResult><User><Path>/</Path><UserName>alice</UserName>"
            "<UserId>AIDAEXAMPLEUSER00001</UserId>"
            "<Arn>arn:aws:iam::111122223333:user/alice</Arn>"
            "<CreateDate>2026-11-28T15:04:05Z</CreateDate></User></CreateUserResult>"
            "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
            "</CreateUserResponse>");
}

TEST_F(QueryApiTest, OperationsWithoutOutputAnswerOnlyMetadata) {
  QueryResponse response = Iam("Action=DeleteUser&UserName=alice");
  EXPECT_EQ(response.body,
            "<DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
            "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
            "</DeleteUserResponse>");
}

TEST_F(QueryApiTest, ListUsersListsMembersAndTheMarkerWhenTruncated) {
  iam::User bob = fake_.user;
  bob.user_name = "bob";
  fake_.listed = {{fake_.user, bob}, "next-page", true};
  pt::ptree tree = ParseXml(Iam("Action=ListUsers&MaxItems=2").body);
  const pt::ptree& result = tree.get_child("ListUsersResponse.ListUsersResult");
  std::vector<std::string> names;
  for (const auto& [tag, member] : result.get_child("Users")) {
    EXPECT_EQ(tag, "member");
    names.push_back(member.get<std::string>("UserName"));
    EXPECT_EQ(member.get<std::string>("CreateDate"), "2026-11-28T15:04:05Z");
  }
  EXPECT_THAT(names, ElementsAre("alice", "bob"));
  EXPECT_EQ(result.get<std::string>("IsTruncated"), "true");
  EXPECT_EQ(result.get<std::string>("Marker"), "next-page");

  fake_.listed = {{}, std::nullopt, false};
  tree = ParseXml(Iam("Action=ListUsers").body);
  EXPECT_EQ(tree.get<std::string>("ListUsersResponse.ListUsersResult.IsTruncated"), "false");
  EXPECT_FALSE(tree.get_child_optional("ListUsersResponse.ListUsersResult.Marker"));
  EXPECT_EQ(tree.get_child("ListUsersResponse.ListUsersResult.Users").size(), 0u);
}

TEST_F(QueryApiTest, CreateAccessKeyAnswersTheSecretOnce) {
  QueryResponse response = Iam("Action=CreateAccessKey");
  ASSERT_EQ(response.status, 200);
  pt::ptree tree = ParseXml(response.body);
  const pt::ptree& key = tree.get_child("CreateAccessKeyResponse.CreateAccessKeyResult.AccessKey");
  EXPECT_EQ(key.get<std::string>("UserName"), "alice");
  EXPECT_EQ(key.get<std::string>("AccessKeyId"), "AKIAEXAMPLEKEY000001");
  EXPECT_EQ(key.get<std::string>("Status"), "Active");
  EXPECT_EQ(key.get<std::string>("SecretAccessKey"), kSecret);
  EXPECT_EQ(key.get<std::string>("CreateDate"), "2026-11-28T15:04:05Z");
  const size_t first = response.body.find(kSecret);
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(response.body.find(kSecret, first + 1), std::string::npos);
}

TEST_F(QueryApiTest, ListAccessKeysListsMetadataWithoutSecrets) {
  fake_.keys.keys = {{"alice", "AKIA1", "Active", kCreated},
                     {"alice", "AKIA2", "Inactive", kCreated}};
  QueryResponse response = Iam("Action=ListAccessKeys");
  pt::ptree tree = ParseXml(response.body);
  const pt::ptree& result = tree.get_child("ListAccessKeysResponse.ListAccessKeysResult");
  std::vector<std::string> ids;
  for (const auto& [tag, member] : result.get_child("AccessKeyMetadata")) {
    EXPECT_EQ(tag, "member");
    ids.push_back(member.get<std::string>("AccessKeyId") + ":" + member.get<std::string>("Status") +
                  ":" + member.get<std::string>("UserName"));
  }
  EXPECT_THAT(ids, ElementsAre("AKIA1:Active:alice", "AKIA2:Inactive:alice"));
  EXPECT_EQ(result.get<std::string>("IsTruncated"), "false");
  EXPECT_FALSE(result.get_child_optional("Marker"));
  EXPECT_THAT(response.body, Not(HasSubstr("Secret")));
}

TEST_F(QueryApiTest, ListAccessKeysAnswersTheMarkerWhenTruncated) {
  fake_.keys = {{{"alice", "AKIA1", "Active", kCreated}}, "next+keys/=", true};
  pt::ptree tree = ParseXml(Iam("Action=ListAccessKeys&UserName=alice&MaxItems=1").body);
  const pt::ptree& result = tree.get_child("ListAccessKeysResponse.ListAccessKeysResult");
  EXPECT_EQ(result.get_child("AccessKeyMetadata").size(), 1u);
  EXPECT_EQ(result.get<std::string>("IsTruncated"), "true");
  EXPECT_EQ(result.get<std::string>("Marker"), "next+keys/=");
  EXPECT_THAT(fake_.calls, ElementsAre("ListAccessKeys(alice,-,1)"));
}

TEST_F(QueryApiTest, PolicyDocumentsAreAnsweredUrlEncoded) {
  QueryResponse user_policy = Iam("Action=GetUserPolicy&UserName=bob&PolicyName=p");
  pt::ptree tree = ParseXml(user_policy.body);
  const pt::ptree& result = tree.get_child("GetUserPolicyResponse.GetUserPolicyResult");
  EXPECT_EQ(result.get<std::string>("UserName"), "bob");
  EXPECT_EQ(result.get<std::string>("PolicyName"), "p");
  EXPECT_EQ(result.get<std::string>("PolicyDocument"),
            "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D");

  QueryResponse role_policy = Iam("Action=GetRolePolicy&RoleName=r&PolicyName=p");
  tree = ParseXml(role_policy.body);
  EXPECT_EQ(tree.get<std::string>("GetRolePolicyResponse.GetRolePolicyResult.RoleName"), "r");
  EXPECT_EQ(tree.get<std::string>("GetRolePolicyResponse.GetRolePolicyResult.PolicyDocument"),
            "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D");
}

TEST_F(QueryApiTest, RolesCarryTheirTrustPolicyUrlEncoded) {
  for (std::string_view body :
       {"Action=GetRole&RoleName=deployer",
        "Action=CreateRole&RoleName=deployer&AssumeRolePolicyDocument=%7B%7D"}) {
    QueryResponse response = Iam(body);
    pt::ptree tree = ParseXml(response.body);
    const std::string action = body.starts_with("Action=GetRole") ? "GetRole" : "CreateRole";
    const pt::ptree& role = tree.get_child(action + "Response." + action + "Result.Role");
    EXPECT_EQ(role.get<std::string>("Path"), "/");
    EXPECT_EQ(role.get<std::string>("RoleName"), "deployer");
    EXPECT_EQ(role.get<std::string>("RoleId"), "AROAEXAMPLEROLE00001");
    EXPECT_EQ(role.get<std::string>("Arn"), "arn:aws:iam::111122223333:role/deployer");
    EXPECT_EQ(role.get<std::string>("CreateDate"), "2026-11-28T15:04:05Z");
    EXPECT_EQ(role.get<std::string>("AssumeRolePolicyDocument"),
              "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%"
              "22Allow%22%7D%5D%7D");
    EXPECT_EQ(role.get<std::string>("Description"), "Deploys things");
    EXPECT_EQ(role.get<std::string>("MaxSessionDuration"), "7200");
  }
  fake_.role.description.clear();
  pt::ptree tree = ParseXml(Iam("Action=GetRole&RoleName=deployer").body);
  EXPECT_FALSE(tree.get_child_optional("GetRoleResponse.GetRoleResult.Role.Description"));
}

TEST_F(QueryApiTest, PolicyNameListsAreMembers) {
  pt::ptree tree = ParseXml(Iam("Action=ListRolePolicies&RoleName=r").body);
  const pt::ptree& result = tree.get_child("ListRolePoliciesResponse.ListRolePoliciesResult");
  std::vector<std::string> names;
  for (const auto& [tag, member] : result.get_child("PolicyNames")) {
    EXPECT_EQ(tag, "member");
    names.push_back(member.data());
  }
  EXPECT_THAT(names, ElementsAre("p1", "p2"));
  EXPECT_EQ(result.get<std::string>("IsTruncated"), "false");
  EXPECT_FALSE(result.get_child_optional("Marker"));
  tree = ParseXml(Iam("Action=ListUserPolicies&UserName=u").body);
  EXPECT_EQ(tree.get_child("ListUserPoliciesResponse.ListUserPoliciesResult.PolicyNames").size(),
            2u);
}

TEST_F(QueryApiTest, PolicyNameListsAnswerTheMarkerWhenTruncated) {
  fake_.policy_names = {{"p1"}, "more", true};
  for (const char* action : {"ListUserPolicies&UserName=u", "ListRolePolicies&RoleName=r"}) {
    pt::ptree tree = ParseXml(Iam(std::string("Action=") + action + "&MaxItems=1").body);
    const std::string name = std::string(action).substr(0, 16);
    const pt::ptree& result = tree.get_child(name + "Response." + name + "Result");
    EXPECT_EQ(result.get_child("PolicyNames").size(), 1u) << action;
    EXPECT_EQ(result.get<std::string>("IsTruncated"), "true") << action;
    EXPECT_EQ(result.get<std::string>("Marker"), "more") << action;
  }
}

TEST_F(QueryApiTest, AnInvalidMarkerIsAValidationError) {
  fake_.error = MakeError(ErrorCode::kInvalidMarker, "Invalid Marker.");
  QueryResponse response = Iam("Action=ListAccessKeys&Marker=bogus");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(ErrorCodeOf(response), "ValidationError");
  EXPECT_THAT(response.body, HasSubstr("<Message>Invalid Marker.</Message>"));
}

TEST_F(QueryApiTest, AssumeRoleAnswersCredentialsAndTheAssumedRoleUser) {
  iam::Caller user{kAccount, "arn:aws:iam::111122223333:user/alice"};
  QueryResponse response =
      Sts("Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdeployer"
          "&RoleSessionName=ci",
          user);
  ASSERT_EQ(response.status, 200) << response.body;
  pt::ptree tree = ParseXml(response.body);
  EXPECT_EQ(tree.get<std::string>("AssumeRoleResponse.<xmlattr>.xmlns"), kStsNs);
  const pt::ptree& result = tree.get_child("AssumeRoleResponse.AssumeRoleResult");
  EXPECT_EQ(result.get<std::string>("Credentials.AccessKeyId"), "ASIAEXAMPLESESSION01");
  EXPECT_EQ(result.get<std::string>("Credentials.SecretAccessKey"), kSecret);
  EXPECT_EQ(result.get<std::string>("Credentials.SessionToken"), "token+/=");
  EXPECT_EQ(result.get<std::string>("Credentials.Expiration"), "2026-11-28T16:04:05Z");
  EXPECT_EQ(result.get<std::string>("AssumedRoleUser.AssumedRoleId"), "AROAEXAMPLEROLE00001:ci");
  EXPECT_EQ(result.get<std::string>("AssumedRoleUser.Arn"),
            "arn:aws:sts::111122223333:assumed-role/deployer/ci");
  EXPECT_EQ(tree.get<std::string>("AssumeRoleResponse.ResponseMetadata.RequestId"), "req-2");
  EXPECT_THAT(fake_.calls, ElementsAre("AssumeRole(arn:aws:iam::111122223333:role/deployer,ci,-)"));
}

TEST_F(QueryApiTest, GetCallerIdentityAnswersArnUserIdAndAccount) {
  fake_.user_id = "AROAEXAMPLEROLE00001:ci";
  iam::Caller session{kAccount, "arn:aws:sts::111122223333:assumed-role/deployer/ci"};
  QueryResponse response = Sts("Action=GetCallerIdentity", session);
  ASSERT_EQ(response.status, 200) << response.body;
  pt::ptree tree = ParseXml(response.body);
  EXPECT_EQ(tree.get<std::string>("GetCallerIdentityResponse.<xmlattr>.xmlns"), kStsNs);
  const pt::ptree& result = tree.get_child("GetCallerIdentityResponse.GetCallerIdentityResult");
  EXPECT_EQ(result.get<std::string>("Arn"), "arn:aws:sts::111122223333:assumed-role/deployer/ci");
  EXPECT_EQ(result.get<std::string>("UserId"), "AROAEXAMPLEROLE00001:ci");
  EXPECT_EQ(result.get<std::string>("Account"), kAccount);
  EXPECT_THAT(fake_.calls,
              ElementsAre("GetCallerIdentity(arn:aws:sts::111122223333:assumed-role/deployer/ci)"));
}

TEST_F(QueryApiTest, GetCallerIdentityOfAVanishedUserIsInvalidClientTokenId) {
  fake_.error = MakeError(ErrorCode::kUnrecognizedClient,
                          "The security token included in the request is invalid.");
  QueryResponse response =
      Sts("Action=GetCallerIdentity", {kAccount, "arn:aws:iam::111122223333:user/alice"});
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(ErrorCodeOf(response, kStsNs), "InvalidClientTokenId");
}

// ---- Validation -----------------------------------------------------------------------------

TEST_F(QueryApiTest, MissingRequiredParametersAreValidationErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"Action=CreateUser", "userName"},
      {"Action=DeleteUser", "userName"},
      {"Action=DeleteAccessKey&UserName=bob", "accessKeyId"},
      {"Action=UpdateAccessKey&UserName=bob&Status=Active", "accessKeyId"},
      {"Action=UpdateAccessKey&AccessKeyId=AKIA1", "status"},
      {"Action=PutUserPolicy&UserName=bob&PolicyName=p", "policyDocument"},
      {"Action=GetUserPolicy&UserName=bob", "policyName"},
      {"Action=CreateRole&RoleName=r", "assumeRolePolicyDocument"},
      {"Action=GetRole", "roleName"},
      {"Action=PutRolePolicy&RoleName=r&PolicyDocument=x", "policyName"},
  };
  for (const auto& [body, member] : cases) {
    QueryResponse response = Iam(body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_EQ(ErrorCodeOf(response), "ValidationError") << body;
    EXPECT_EQ(ErrorMessageOf(response), "1 validation error detected: Value null at '" +
                                            std::string(member) +
                                            "' failed to satisfy constraint: Member must not be "
                                            "null");
  }
  QueryResponse sts = Sts("Action=AssumeRole&RoleArn=arn", root_);
  EXPECT_EQ(ErrorCodeOf(sts, kStsNs), "ValidationError");
  EXPECT_THAT(ErrorMessageOf(sts), HasSubstr("'roleSessionName'"));
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(QueryApiTest, EmptyNamesAndBadNumbersAreValidationErrors) {
  for (std::string_view body :
       {"Action=CreateUser&UserName=", "Action=GetUser&UserName=", "Action=ListUsers&MaxItems=0",
        "Action=ListUsers&MaxItems=1001", "Action=ListUsers&MaxItems=ten",
        "Action=ListUsers&MaxItems=", "Action=ListUsers&MaxItems=-",
        "Action=ListUsers&MaxItems=99999999999999999999", "Action=ListUsers&MaxItems=1.5",
        "Action=ListAccessKeys&MaxItems=0", "Action=ListAccessKeys&MaxItems=1001",
        "Action=ListAccessKeys&Marker=", "Action=ListUserPolicies&UserName=u&MaxItems=0",
        "Action=ListUserPolicies&UserName=u&Marker=",
        "Action=ListRolePolicies&RoleName=r&MaxItems=1001",
        "Action=ListRolePolicies&RoleName=r&Marker=",
        "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=x&MaxSessionDuration=60"}) {
    QueryResponse response = Iam(body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_EQ(ErrorCodeOf(response), "ValidationError") << body;
  }
  QueryResponse sts =
      Sts("Action=AssumeRole&RoleArn=a&RoleSessionName=s&DurationSeconds=899", root_);
  EXPECT_EQ(ErrorMessageOf(sts),
            "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy "
            "constraint: Member must have value greater than or equal to 900");
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(QueryApiTest, AnEmptyDescriptionIsAllowed) {
  QueryResponse response =
      Iam("Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=x&Description=");
  EXPECT_EQ(response.status, 200) << response.body;
}

// ---- Errors ---------------------------------------------------------------------------------

TEST_F(QueryApiTest, ServiceErrorsMapToIamCodesAndStatuses) {
  struct Case {
    ErrorCode code;
    int status;
    const char* aws_code;
  };
  const Case cases[] = {
      {ErrorCode::kNotFound, 404, "NoSuchEntity"},
      {ErrorCode::kAlreadyExists, 409, "EntityAlreadyExists"},
      {ErrorCode::kConflict, 409, "DeleteConflict"},
      {ErrorCode::kLimitExceeded, 409, "LimitExceeded"},
      {ErrorCode::kMalformedPolicyDocument, 400, "MalformedPolicyDocument"},
      {ErrorCode::kValidation, 400, "ValidationError"},
      {ErrorCode::kAccessDenied, 403, "AccessDenied"},
  };
  for (const Case& c : cases) {
    fake_.error = MakeError(c.code, "detail of " + std::string(c.aws_code));
    QueryResponse response = Iam("Action=GetUser&UserName=bob");
    EXPECT_EQ(response.status, c.status) << c.aws_code;
    EXPECT_EQ(ErrorCodeOf(response), c.aws_code);
    EXPECT_EQ(ErrorMessageOf(response), "detail of " + std::string(c.aws_code));
    EXPECT_EQ(ParseXml(response.body).get<std::string>("ErrorResponse.RequestId"), "req-1");
  }
}

TEST_F(QueryApiTest, AuthenticationErrorsMapToQueryCodes) {
  struct Case {
    ErrorCode code;
    int status;
    const char* aws_code;
  };
  const Case cases[] = {
      {ErrorCode::kInvalidSignature, 403, "SignatureDoesNotMatch"},
      {ErrorCode::kIncompleteSignature, 400, "IncompleteSignature"},
      {ErrorCode::kMissingAuthenticationToken, 403, "MissingAuthenticationToken"},
      {ErrorCode::kUnrecognizedClient, 403, "InvalidClientTokenId"},
      {ErrorCode::kExpiredToken, 400, "ExpiredToken"},
  };
  for (const Case& c : cases) {
    for (std::string_view service : {"iam", "sts"}) {
      QueryResponse response = QueryErrorResponse(service, MakeError(c.code, "the reason"), "rid");
      EXPECT_EQ(response.status, c.status) << c.aws_code;
      EXPECT_EQ(ErrorCodeOf(response, service == "iam" ? kIamNs : kStsNs), c.aws_code);
      EXPECT_EQ(ErrorMessageOf(response), "the reason");
    }
  }
}

TEST_F(QueryApiTest, InternalErrorsHideTheirDetail) {
  fake_.error = MakeError(ErrorCode::kInternal, "sqlite: /var/lib/scytale/db locked");
  QueryResponse response = Iam("Action=GetUser");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(ErrorCodeOf(response), "ServiceFailure");
  EXPECT_THAT(response.body, Not(HasSubstr("sqlite")));

  QueryResponse sts =
      QueryErrorResponse("sts", MakeError(ErrorCode::kDependencyTimeout, "pkcs11 hung"), "r");
  EXPECT_EQ(sts.status, 500);
  EXPECT_EQ(ErrorCodeOf(sts, kStsNs), "InternalFailure");
  EXPECT_THAT(sts.body, Not(HasSubstr("pkcs11")));
}

TEST_F(QueryApiTest, AnExceptionBecomesAnInternalError) {
  fake_.throw_exception = true;
  QueryResponse response = Iam("Action=DeleteUser&UserName=a");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(ErrorCodeOf(response), "ServiceFailure");
  EXPECT_THAT(response.body, Not(HasSubstr("boom")));
}

TEST_F(QueryApiTest, ErrorDocumentHasAwsShape) {
  QueryResponse response = QueryErrorResponse("iam",
                                              MakeError(ErrorCode::kNotFound,
                                                        "The user with name x cannot be "
                                                        "found."),
                                              "req-9");
  EXPECT_EQ(response.body,
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>"
            "<Type>Sender</Type><Code>NoSuchEntity</Code>"
            "<Message>The user with name x cannot be found.</Message></Error>"
            "<RequestId>req-9</RequestId></ErrorResponse>");
}

// ---- Escaping -------------------------------------------------------------------------------

TEST_F(QueryApiTest, EscapesNamesMessagesAndRequestIds) {
  fake_.user.user_name = "a&b<c>\"d'e";
  QueryResponse response = api_->Handle(root_, "iam", "", "Action=GetUser", "id<&>");
  EXPECT_THAT(response.body, HasSubstr("<UserName>a&amp;b&lt;c&gt;&quot;d&apos;e</UserName>"));
  EXPECT_THAT(response.body, HasSubstr("<RequestId>id&lt;&amp;&gt;</RequestId>"));
  pt::ptree tree = ParseXml(response.body);
  EXPECT_EQ(tree.get<std::string>("GetUserResponse.GetUserResult.User.UserName"), "a&b<c>\"d'e");

  QueryResponse error =
      QueryErrorResponse("iam", MakeError(ErrorCode::kValidation, "bad <name> & more"), "r");
  EXPECT_EQ(ErrorMessageOf(error), "bad <name> & more");
  QueryResponse unknown = Iam("Action=%3Cscript%3E");
  EXPECT_THAT(unknown.body, HasSubstr("operation &lt;script&gt; for"));
}

TEST_F(QueryApiTest, ReplacesWhatXmlCannotCarry) {
  fake_.user.user_name = "a\x01z\xC3\xA9\xFF\xED\xA0\x80\xC0\xAF\r\n";
  QueryResponse response = Iam("Action=GetUser");
  EXPECT_THAT(response.body, HasSubstr("<UserName>a\xEF\xBF\xBDz\xC3\xA9\xEF\xBF\xBD"
                                       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                                       "\xEF\xBF\xBD\xEF\xBF\xBD&#13;\n</UserName>"));
}

}  // namespace
}  // namespace scytale::api

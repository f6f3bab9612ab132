#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/testing/api_fixture.h"

namespace scytale::api {
namespace {

using json = nlohmann::json;

class KmsApiTest : public testing::ApiFixture {
 protected:
  static std::string TypeOf(const JsonResponse& r) {
    return json::parse(r.body).at("__type").get<std::string>();
  }
};

TEST_F(KmsApiTest, CreateThenDescribeRoundTripsThroughJson) {
  auto created = Call("CreateKey", R"({"Description":"d","Tags":[{"TagKey":"a","TagValue":"b"}]})");
  ASSERT_EQ(created.status, 200) << created.body;
  json meta = json::parse(created.body)["KeyMetadata"];
  EXPECT_EQ(meta["Description"], "d");
  EXPECT_EQ(meta["KeySpec"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(meta["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT");
  EXPECT_TRUE(meta["CreationDate"].is_number());
  EXPECT_EQ(meta["Arn"].get<std::string>().rfind("arn:aws:kms:us-west-2:111122223333:key/", 0),
            0u);
  auto described = Call("DescribeKey", json{{"KeyId", meta["Arn"]}}.dump());
  ASSERT_EQ(described.status, 200);
  EXPECT_EQ(json::parse(described.body)["KeyMetadata"]["KeyId"], meta["KeyId"]);
}

TEST_F(KmsApiTest, EmptyBodyIsAnEmptyInput) {
  auto r = Call("ListKeys", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["Truncated"], false);
}

TEST_F(KmsApiTest, BadInputGetsAwsErrors) {
  EXPECT_EQ(TypeOf(Call("NoSuchOperation", "{}")), "UnknownOperationException");
  EXPECT_EQ(TypeOf(api_->Handle(ctx_, "Other.CreateKey", "{}")), "UnknownOperationException");
  EXPECT_EQ(TypeOf(Call("ListKeys", "{not json")), "SerializationException");
  EXPECT_EQ(TypeOf(Call("ListKeys", R"({"Limit":"5"})")), "SerializationException");
  auto v = Call("DescribeKey", R"({"KeyId":""})");
  EXPECT_EQ(v.status, 400);
  EXPECT_EQ(TypeOf(v), "ValidationException");
  EXPECT_EQ(json::parse(v.body)["message"],
            "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1");
  EXPECT_EQ(TypeOf(Call("DescribeKey", R"({"KeyId":"nope"})")), "NotFoundException");
}

TEST_F(KmsApiTest, OperationsNotBuiltYetAnswerUnsupported) {
  auto r = Call("ReplicateKey", R"({"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab",
                                     "ReplicaRegion":"us-west-2"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(TypeOf(r), "UnsupportedOperationException");
}

TEST_F(KmsApiTest, InternalErrorsHideTheirDetail) {
  auto r = ErrorResponse(MakeError(ErrorCode::kInternal, "sqlite: disk I/O error at /secret"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("/secret"), std::string::npos);
  EXPECT_NE(r.body.find("KMSInternalException"), std::string::npos);
}

}  // namespace
}  // namespace scytale::api

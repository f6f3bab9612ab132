// The audit view KmsApi::Handle attaches to every answer: CloudTrail's members, no secrets.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/internal/audit_fields.h"
#include "api/testing/api_fixture.h"

namespace scytale::api {
namespace {

using json = nlohmann::json;

class AuditFieldsTest : public testing::ApiFixture {
 protected:
  JsonResponse Call(std::string_view op, const json& body) {
    return ApiFixture::Call(op, body.dump());
  }
  std::string NewKeyArn() {
    auto r = Call("CreateKey", json::object());
    return json::parse(r.body)["KeyMetadata"]["Arn"];
  }
};

TEST_F(AuditFieldsTest, EncryptRecordsKeyAndContextButNeverThePlaintextOrBlob) {
  std::string arn = NewKeyArn();
  std::string key_id = arn.substr(arn.find("key/") + 4);
  auto r = Call("Encrypt", {{"KeyId", key_id},
                            {"Plaintext", "c2VjcmV0LXBsYWludGV4dA=="},
                            {"EncryptionContext", {{"Dept", "x"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.audit);
  EXPECT_EQ(r.audit->event_name, "Encrypt");
  EXPECT_TRUE(r.audit->read_only);
  EXPECT_EQ(r.audit->request_parameters,
            (json{{"keyId", key_id}, {"encryptionContext", {{"Dept", "x"}}}}));
  EXPECT_TRUE(r.audit->response_elements.is_null());
  EXPECT_EQ(r.audit->resource_arns, std::vector<std::string>{arn});
  EXPECT_TRUE(r.audit->error_code.empty());

  auto d = Call("Decrypt", {{"CiphertextBlob", json::parse(r.body)["CiphertextBlob"]},
                            {"EncryptionContext", {{"Dept", "x"}}}});
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.audit->request_parameters, (json{{"encryptionContext", {{"Dept", "x"}}}}));
  EXPECT_EQ(d.audit->resource_arns, std::vector<std::string>{arn});
  std::string all = d.audit->request_parameters.dump() + d.audit->response_elements.dump() +
                    r.audit->request_parameters.dump() + r.audit->response_elements.dump();
  EXPECT_EQ(all.find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(all.find("CiphertextBlob"), std::string::npos);
  EXPECT_EQ(all.find("ciphertextBlob"), std::string::npos);
}

TEST_F(AuditFieldsTest, GenerateDataKeyRecordsSpecNotTheKey) {
  std::string arn = NewKeyArn();
  auto r = Call("GenerateDataKey", {{"KeyId", arn}, {"KeySpec", "AES_256"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.audit->request_parameters, (json{{"keyId", arn}, {"keySpec", "AES_256"}}));
  EXPECT_TRUE(r.audit->response_elements.is_null());
  std::string plaintext = json::parse(r.body)["Plaintext"];
  EXPECT_EQ(r.audit->request_parameters.dump().find(plaintext), std::string::npos);
}

TEST_F(AuditFieldsTest, CreateKeyRecordsKeyMetadataCamelCased) {
  auto r = Call("CreateKey", {{"Description", "d"}, {"Tags", {{{"TagKey", "a"}, {"TagValue", "b"}}}}});
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(r.audit->read_only);
  EXPECT_EQ(r.audit->request_parameters["tags"][0]["tagKey"], "a");
  EXPECT_EQ(r.audit->response_elements["keyMetadata"]["keyState"], "Enabled");
  EXPECT_EQ(r.audit->resource_arns.size(), 1u);
}

TEST_F(AuditFieldsTest, ErrorsCarryTheAwsNameAndTheClientMessage) {
  auto r = Call("DescribeKey", {{"KeyId", "11111111-2222-3333-4444-555555555555"}});
  ASSERT_EQ(r.status, 400);
  ASSERT_TRUE(r.audit);
  EXPECT_EQ(r.audit->event_name, "DescribeKey");
  EXPECT_EQ(r.audit->error_code, "NotFoundException");
  EXPECT_FALSE(r.audit->error_message.empty());
  EXPECT_EQ(r.audit->resource_arns,
            std::vector<std::string>{
                "arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555"});

  auto bad = api_->Handle(ctx_, "TrentService.Encrypt", "{not json");
  EXPECT_EQ(bad.audit->error_code, "SerializationException");
  EXPECT_TRUE(bad.audit->request_parameters.is_null());

  auto unknown = api_->Handle(ctx_, "TrentService.Fly<Away>", "{}");
  EXPECT_EQ(unknown.audit->event_name, "Fly_Away_");
  EXPECT_FALSE(unknown.audit->error_code.empty());
}

TEST_F(AuditFieldsTest, GrantsRecordCloudTrailMembersAndNeverTheToken) {
  json in = {{"KeyId", "alias/x"},
             {"GranteePrincipal", "arn:aws:iam::111122223333:role/r"},
             {"Operations", {"Decrypt"}},
             {"Constraints", {{"EncryptionContextSubset", {{"Dept", "x"}}}}},
             {"Name", "n"}};
  json out = {{"GrantId", "g1"}, {"GrantToken", "secret-ish-token"}};
  AuditDetails d = internal::AuditDetailsOf("CreateGrant", in, &out, ctx_, nullptr);
  EXPECT_EQ(d.request_parameters["granteePrincipal"], "arn:aws:iam::111122223333:role/r");
  EXPECT_EQ(d.request_parameters["constraints"]["encryptionContextSubset"]["Dept"], "x");
  EXPECT_EQ(d.response_elements, (json{{"grantId", "g1"}}));
  json retire = {{"GrantToken", "secret-ish-token"}};
  AuditDetails r = internal::AuditDetailsOf("RetireGrant", retire, nullptr, ctx_, nullptr);
  EXPECT_TRUE(r.request_parameters.is_null());
}

}  // namespace
}  // namespace scytale::api

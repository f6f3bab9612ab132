// App's records of what did not come through Handle: background maintenance (AwsServiceEvent)
// and requests the HTTP layer refused.

#include "audit/testing/audit_fixture.h"
#include "server/server.h"

namespace scytale::server {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::IsOk;
using ::testing::HasSubstr;
using json = nlohmann::json;

class AppRecordsTest : public audit::testing::AuditFixture {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    log_ = OpenLog();
    AppOptions o;
    o.audit = log_.get();
    o.account_id = "111122223333";
    o.metrics = &metrics_;
    app_ = std::make_unique<App>(nullptr, nullptr, nullptr, o);
  }
  std::vector<json> Records() {
    auto all = audit::QueryLog(dir_ / "audit", {});
    EXPECT_THAT(all, IsOk());
    return all.value_or(std::vector<json>{});
  }

  static constexpr const char* kDeleted = "arn:aws:kms:us-east-1:111122223333:key/gone";
  static constexpr const char* kRotated = "arn:aws:kms:eu-west-1:444455556666:key/turned";
  Metrics metrics_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<App> app_;
};

TEST_F(AppRecordsTest, MaintenanceIsRecordedAsServiceEventsOnePerKey) {
  kms::MaintenanceReport report;
  report.deleted_key_arns = {kDeleted};
  report.rotated_key_arns = {kRotated};
  report.expired_material_key_arns = {kDeleted};
  ASSERT_THAT(app_->RecordMaintenance(report), IsOk());
  ASSERT_THAT(app_->RecordMaintenance({}), IsOk());  // nothing done: nothing recorded
  auto records = Records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2]["eventName"], "DeleteExpiredKeyMaterial");
  EXPECT_EQ(records[2]["eventType"], "AwsServiceEvent");
  EXPECT_EQ(records[2]["resources"][0]["ARN"], kDeleted);
  EXPECT_EQ(records[0]["eventName"], "DeleteKey");
  EXPECT_EQ(records[0]["eventType"], "AwsServiceEvent");
  EXPECT_EQ(records[0]["resources"][0]["ARN"], kDeleted);
  EXPECT_EQ(records[0]["userIdentity"],
            json({{"accountId", "111122223333"}, {"invokedBy", "kms.amazonaws.com"}}));
  EXPECT_FALSE(records[0]["readOnly"].get<bool>());
  EXPECT_FALSE(records[0].contains("requestID"));
  EXPECT_EQ(records[1]["eventName"], "RotateKey");
  EXPECT_EQ(records[1]["awsRegion"], "eu-west-1");
  EXPECT_EQ(records[1]["recipientAccountId"], "444455556666");
}

TEST_F(AppRecordsTest, MaintenanceRecordsThatCannotBeWrittenAreReportedAndTheRestTried) {
  kms::MaintenanceReport report;
  report.deleted_key_arns = {kDeleted};
  report.rotated_key_arns = {kRotated};
  env_->fail_writes = true;
  EXPECT_THAT(app_->RecordMaintenance(report), HasError(ErrorCode::kInternal));
  env_->fail_writes = false;
  ASSERT_THAT(app_->RecordMaintenance(report), IsOk());
  auto records = Records();
  ASSERT_EQ(records.size(), 2u);  // the failed attempts left no record behind
  EXPECT_EQ(records[0]["scytaleChain"]["seq"], 1);
}

TEST_F(AppRecordsTest, RejectedRequestsAreRecordedAndCounted) {
  app_->RecordRejection({413, "RequestEntityTooLargeException", "too large", "10.0.0.7", "rid-1"});
  // The refusal is not held for its record: Close writes what is queued.
  ASSERT_THAT(log_->Close(), IsOk());
  auto records = Records();
  ASSERT_EQ(records.size(), 1u);
  const json& r = records[0];
  EXPECT_EQ(r["eventName"], "Unknown");
  EXPECT_EQ(r["eventType"], "AwsApiCall");
  EXPECT_EQ(r["errorCode"], "RequestEntityTooLargeException");
  EXPECT_EQ(r["errorMessage"], "too large");
  EXPECT_EQ(r["sourceIPAddress"], "10.0.0.7");
  EXPECT_EQ(r["requestID"], "rid-1");
  EXPECT_EQ(r["recipientAccountId"], "111122223333");
  EXPECT_TRUE(r["userIdentity"].is_null());
  EXPECT_EQ(audit::OutcomeOf(r), "failure");
  EXPECT_THAT(metrics_.Render(nullptr),
              HasSubstr("scytale_http_rejections_total{status=\"413\"} 1\n"));
}

TEST(AppHealth, HealthzFollowsTheHealthCheck) {
  bool database_up = true;
  AppOptions o;
  o.health_check = [&]() -> Status {
    if (database_up) {
      return Ok();
    }
    return MakeError(ErrorCode::kDependencyTimeout, "postgres: cannot connect to db.internal");
  };
  App app(nullptr, nullptr, nullptr, o);
  HttpRequest get{"GET", "/healthz", {}, "", "127.0.0.1"};
  HttpResponse up = app.Handle(get, "r1");
  EXPECT_EQ(up.status, 200);
  EXPECT_EQ(json::parse(up.body)["status"], "ok");
  database_up = false;
  HttpResponse down = app.Handle(get, "r2");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(json::parse(down.body), json({{"status", "unavailable"}, {"database", "down"}}));
  EXPECT_THAT(down.body, ::testing::Not(HasSubstr("db.internal")));
  database_up = true;
  EXPECT_EQ(app.Handle(get, "r3").status, 200);
}

}  // namespace
}  // namespace scytale::server

namespace scytale::server {
namespace {

// A verifier that fails as a bug would: by throwing.
class ThrowingVerifier : public auth::SigV4Verifier {
 public:
  Result<auth::Identity> Verify(const auth::RequestView&) override {
    throw std::runtime_error("boom");
  }
};

TEST_F(AppRecordsTest, ACallThatThrowsIsAnsweredAndRecordedAsAnInternalError) {
  ThrowingVerifier verifier;
  AppOptions o;
  o.audit = log_.get();
  o.account_id = "111122223333";
  App app(&verifier, nullptr, nullptr, o);
  // An IAM call (the query protocol needs no KMS API to be named and recorded).
  HttpRequest request{"POST",
                      "/",
                      {{"authorization",
                        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261129/us-east-1/iam/"
                        "aws4_request, SignedHeaders=host, Signature=00"}},
                      "Action=ListUsers&Version=2010-05-08",
                      "10.0.0.9"};
  HttpResponse response = app.Handle(request, "rid-9");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.content_type, "text/xml");
  EXPECT_THAT(response.body, ::testing::Not(HasSubstr("boom")));
  ASSERT_THAT(log_->Close(), IsOk());
  auto records = Records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["eventSource"], "iam.amazonaws.com");
  EXPECT_EQ(records[0]["eventName"], "ListUsers");
  EXPECT_EQ(records[0]["errorCode"], "ServiceFailure");  // IAM's internal error
  EXPECT_EQ(records[0]["requestID"], "rid-9");
}

}  // namespace
}  // namespace scytale::server

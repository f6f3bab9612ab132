// A KmsApi over the kms fixture's KeyService (real SQLite store and soft keystore in a fresh
// temporary directory, fake clock), called as the root of 111122223333 in us-west-2. For api/
// tests and for server/ tests that need the codec without HTTP.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/api.h"
#include "kms/testing/service_fixture.h"

namespace scytale::api::testing {

class ApiFixture : public kms::testing::ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    api_ = KmsApi::Create(service_.get()).value();
  }

  // The operation `op` of the KMS JSON protocol (X-Amz-Target TrentService.<op>) as ctx_.
  JsonResponse Call(std::string_view op, std::string_view body) {
    return api_->Handle(ctx_, "TrentService." + std::string(op), body);
  }

  kms::CallContext ctx_{"111122223333", "us-west-2", "arn:aws:iam::111122223333:root", "r"};
  std::unique_ptr<KmsApi> api_;
};

}  // namespace scytale::api::testing

#include "server/quotas.h"

#include <gtest/gtest.h>

namespace scytale::server {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(RequestQuotas, ABucketPassesOneSecondsWorthThenRefillsAtItsRate) {
  RequestQuotas quotas({{"CreateKey", 5}});
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(quotas.Admit("111122223333", "CreateKey", t0)) << i;
  }
  EXPECT_FALSE(quotas.Admit("111122223333", "CreateKey", t0));
  EXPECT_FALSE(quotas.Admit("111122223333", "CreateKey", t0 + milliseconds(100)));
  EXPECT_TRUE(quotas.Admit("111122223333", "CreateKey", t0 + milliseconds(210)));  // 1 token
  EXPECT_FALSE(quotas.Admit("111122223333", "CreateKey", t0 + milliseconds(220)));
  // Never more than the bucket holds, however long it rested.
  const auto later = t0 + std::chrono::hours(1);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(quotas.Admit("111122223333", "CreateKey", later)) << i;
  }
  EXPECT_FALSE(quotas.Admit("111122223333", "CreateKey", later));
  EXPECT_EQ(quotas.throttled(), 4u);
}

TEST(RequestQuotas, AccountsAndQuotasHaveBucketsOfTheirOwn) {
  RequestQuotas quotas({{"CreateKey", 1}, {"SymmetricCryptographic", 2}});
  const auto t = Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(quotas.Admit("111122223333", "CreateKey", t));
  EXPECT_FALSE(quotas.Admit("111122223333", "CreateKey", t));
  EXPECT_TRUE(quotas.Admit("444455556666", "CreateKey", t));  // another account
  // The family's operations share one bucket.
  EXPECT_TRUE(quotas.Admit("111122223333", "Encrypt", t));
  EXPECT_TRUE(quotas.Admit("111122223333", "GenerateDataKey", t));
  EXPECT_FALSE(quotas.Admit("111122223333", "Decrypt", t));
  // Operations without a configured quota are not limited.
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(quotas.Admit("111122223333", "DescribeKey", t));
  }
}

TEST(RequestQuotas, ARateBelowOnePerSecondStillAdmitsOneThenWaits) {
  RequestQuotas quotas({{"GetParametersForImport", 0.25}});
  const auto t = Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(quotas.Admit("111122223333", "GetParametersForImport", t));
  EXPECT_FALSE(quotas.Admit("111122223333", "GetParametersForImport", t + milliseconds(3900)));
  EXPECT_TRUE(quotas.Admit("111122223333", "GetParametersForImport", t + milliseconds(4000)));
}

TEST(RequestQuotas, OperationsMapToTheirFamilyOrThemselves) {
  EXPECT_EQ(RequestQuotas::QuotaOf("Encrypt"), "SymmetricCryptographic");
  EXPECT_EQ(RequestQuotas::QuotaOf("GenerateRandom"), "SymmetricCryptographic");
  EXPECT_EQ(RequestQuotas::QuotaOf("Sign"), "AsymmetricCryptographic");
  EXPECT_EQ(RequestQuotas::QuotaOf("GenerateDataKeyPairWithoutPlaintext"), "GenerateDataKeyPair");
  EXPECT_EQ(RequestQuotas::QuotaOf("CreateKey"), "CreateKey");
  EXPECT_EQ(RequestQuotas::AwsDefaults().at("SymmetricCryptographic"), 50000);
  EXPECT_EQ(RequestQuotas::AwsDefaults().at("CreateKey"), 5);
}

TEST(RequestQuotas, QuotasAreParsedStrictly) {
  auto ok = RequestQuotas::ParseQuota("CreateKey=200");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->first, "CreateKey");
  EXPECT_EQ(ok->second, 200);
  EXPECT_EQ(RequestQuotas::ParseQuota("SymmetricCryptographic=0.5")->second, 0.5);
  for (const char* bad : {"CreateKey", "=5", "CreateKey=", "CreateKey=0", "CreateKey=-1",
                          "CreateKey=5x", "CreateKey=nan", "CreateKey=inf", "NoSuchThing=5"}) {
    auto parsed = RequestQuotas::ParseQuota(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kValidation) << bad;
  }
}

}  // namespace
}  // namespace scytale::server

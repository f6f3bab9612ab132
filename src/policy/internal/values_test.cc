#include "policy/internal/values.h"

#include <gtest/gtest.h>

namespace scytale::policy::internal {
namespace {

TEST(ParseNumber, AcceptsIntegersAndDecimalsOnly) {
  EXPECT_EQ(ParseNumber("10"), 10.0L);
  EXPECT_EQ(ParseNumber("-3"), -3.0L);
  EXPECT_EQ(ParseNumber("+7"), 7.0L);
  EXPECT_EQ(ParseNumber("2.5"), 2.5L);
  EXPECT_EQ(ParseNumber("9007199254740993"), 9007199254740993.0L);  // above 2^53, exact
  for (const char* bad : {"", "-", "1.", ".5", "1e3", "0x10", "inf", "nan", "1 ", " 1", "1,0"}) {
    EXPECT_FALSE(ParseNumber(bad).has_value()) << bad;
  }
}

TEST(ParseDate, ReadsEpochSecondsAndIso8601) {
  EXPECT_EQ(ParseDate("0"), 0);
  EXPECT_EQ(ParseDate("1700000000"), 1700000000000);
  EXPECT_EQ(ParseDate("1700000000.25"), 1700000000250);
  EXPECT_EQ(ParseDate("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseDate("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(ParseDate("2023-11-14T22:13:20.5Z"), 1700000000500);
  EXPECT_EQ(ParseDate("2023-11-15T00:13:20+02:00"), 1700000000000);
  EXPECT_EQ(ParseDate("2023-11-14T17:13:20-0500"), 1700000000000);
  EXPECT_EQ(ParseDate("2023-11-14T22:13:20"), 1700000000000);  // no zone: UTC
  EXPECT_EQ(ParseDate("2023-11-14T22:13Z"), 1700000000000 - 20000);
  EXPECT_EQ(ParseDate("20231114T221320Z"), 1700000000000);
  EXPECT_EQ(ParseDate("2024-02-29"), ParseDate("2024-02-29T00:00:00Z"));
  EXPECT_EQ(ParseDate("2024-02"), ParseDate("2024-02-01T00:00:00Z"));
  EXPECT_EQ(ParseDate("1999-12-31T23:59:59Z"), 946684799000);
}

TEST(ParseDate, RejectsMalformedDates) {
  for (const char* bad :
       {"", "yesterday", "2023-13-01", "2023-02-29", "2023-11-14T25:00:00Z", "2023-11-14T22:61Z",
        "2023-11-14 22:13:20Z", "2023-11-14T22:13:20Q", "2023-1-14", "1700000000.", "12:00"}) {
    EXPECT_FALSE(ParseDate(bad).has_value()) << bad;
  }
}

TEST(ParseBool, AcceptsTrueAndFalseInAnyCase) {
  EXPECT_EQ(ParseBool("true"), true);
  EXPECT_EQ(ParseBool("FALSE"), false);
  EXPECT_EQ(ParseBool("True"), true);
  EXPECT_FALSE(ParseBool("yes").has_value());
  EXPECT_FALSE(ParseBool("1").has_value());
  EXPECT_FALSE(ParseBool("truex").has_value());
}

TEST(IpRange, MatchesIpv4AndIpv6Cidrs) {
  const auto v4 = ParseIpRange("203.0.113.0/24");
  ASSERT_TRUE(v4.has_value());
  EXPECT_TRUE(IpInRange(*ParseIpRange("203.0.113.77"), *v4));
  EXPECT_FALSE(IpInRange(*ParseIpRange("203.0.114.1"), *v4));
  const auto v6 = ParseIpRange("2001:DB8:1234:5678::/64");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(IpInRange(*ParseIpRange("2001:db8:1234:5678:abcd::1"), *v6));
  EXPECT_FALSE(IpInRange(*ParseIpRange("2001:db8:1234:5679::1"), *v6));
  EXPECT_FALSE(IpInRange(*ParseIpRange("203.0.113.77"), *v6));
  EXPECT_FALSE(IpInRange(*ParseIpRange("::ffff:203.0.113.77"), *v4));
}

TEST(IpRange, TreatsABareAddressAsAHostRange) {
  const auto host = ParseIpRange("10.1.2.3");
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->prefix, 32);
  EXPECT_TRUE(IpInRange(*ParseIpRange("10.1.2.3"), *host));
  EXPECT_FALSE(IpInRange(*ParseIpRange("10.1.2.4"), *host));
  EXPECT_EQ(ParseIpRange("::1")->prefix, 128);
}

TEST(IpRange, IgnoresHostBitsAndOddPrefixes) {
  EXPECT_TRUE(IpInRange(*ParseIpRange("10.200.0.1"), *ParseIpRange("10.1.2.3/8")));
  EXPECT_TRUE(IpInRange(*ParseIpRange("10.1.2.129"), *ParseIpRange("10.1.2.128/25")));
  EXPECT_FALSE(IpInRange(*ParseIpRange("10.1.2.127"), *ParseIpRange("10.1.2.128/25")));
  EXPECT_TRUE(IpInRange(*ParseIpRange("1.2.3.4"), *ParseIpRange("0.0.0.0/0")));
}

TEST(IpRange, RejectsMalformedRanges) {
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/a",
                          "::/129", "gggg::", "10.0.0.0/-1"}) {
    EXPECT_FALSE(ParseIpRange(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace scytale::policy::internal

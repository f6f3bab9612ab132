#include "common/encoding.h"

#include <gtest/gtest.h>

namespace scytale {
namespace {

TEST(Base64, RoundTripsEveryLengthUpToSixtyFour) {
  Bytes data;
  for (int i = 0; i < 64; ++i) {
    std::string text = Base64Encode(data);
    auto back = Base64Decode(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, data);
    EXPECT_EQ(Base64DecodedSize(text), data.size());
    data.push_back(static_cast<uint8_t>(i * 37));
  }
}

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(AsBytes("")), "");
  EXPECT_EQ(Base64Encode(AsBytes("f")), "Zg==");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_FALSE(Base64Decode("Zg=").has_value());
  EXPECT_FALSE(Base64Decode("Z===").has_value());
  EXPECT_FALSE(Base64Decode("Zg=a").has_value());
  EXPECT_FALSE(Base64Decode("Zm 9").has_value());
  EXPECT_FALSE(Base64Decode("Zm9*").has_value());
}

TEST(Hex, RoundTripsAndRejectsBadDigits) {
  Bytes data = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(HexEncode(data), "00abff10");
  EXPECT_EQ(*HexDecode("00ABff10"), data);
  EXPECT_FALSE(HexDecode("0").has_value());
  EXPECT_FALSE(HexDecode("0g").has_value());
}

TEST(PercentDecode, DecodesEscapesAndPlusOnlyForForms) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc%2fd+e", /*plus_is_space=*/false), "a b/c/d+e");
  EXPECT_EQ(PercentDecode("a%20b%2Fc%2fd+e", /*plus_is_space=*/true), "a b/c/d e");
  // A '%' without two hex digits after it is kept as it is.
  EXPECT_EQ(PercentDecode("100%", true), "100%");
  EXPECT_EQ(PercentDecode("%4", true), "%4");
  EXPECT_EQ(PercentDecode("%zz%41", true), "%zzA");
  EXPECT_EQ(PercentDecode("%00", false), std::string(1, '\0'));
  EXPECT_EQ(HexDigitValue('7'), 7);
  EXPECT_EQ(HexDigitValue('b'), 11);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
}

}  // namespace
}  // namespace scytale

#include "policy/internal/glob.h"

#include <gtest/gtest.h>

namespace scytale::policy::internal {
namespace {

struct GlobCase {
  const char* pattern;
  const char* subject;
  bool ignore_case;
  bool match;
};

TEST(Glob, MatchesTheTable) {
  const GlobCase cases[] = {
      {"", "", false, true},
      {"", "a", false, false},
      {"*", "", false, true},
      {"*", "anything:at/all", false, true},
      {"abc", "abc", false, true},
      {"abc", "abd", false, false},
      {"abc", "ab", false, false},
      {"abc", "abcd", false, false},
      {"ab*", "ab", false, true},
      {"ab*", "abxyz", false, true},
      {"ab*", "a", false, false},
      {"*yz", "xyz", false, true},
      {"*yz", "yzx", false, false},
      {"*mid*", "a-mid-b", false, true},
      {"*mid*", "mi-d", false, false},
      {"a*b*c", "abc", false, true},
      {"a*b*c", "aXbYc", false, true},
      {"a*b*c", "aXcYb", false, false},
      {"a*b*c", "abcbc", false, true},
      {"a*aa", "aa", false, false},  // pieces may not overlap
      {"a*aa", "aaa", false, true},
      {"?", "x", false, true},
      {"?", "", false, false},
      {"?", "xy", false, false},
      {"a?c", "abc", false, true},
      {"a?c", "ac", false, false},
      {"*?", "", false, false},
      {"*?", "z", false, true},
      {"*a?c*", "xxabcxx", false, true},
      {"*a?c*", "xxacxx", false, false},
      {"**", "q", false, true},
      {"kms:*", "kms:Encrypt", true, true},
      {"KMS:ENCRYPT", "kms:encrypt", true, true},
      {"kms:Encrypt", "kms:ENCRYPT", false, false},
      {"kms:Re*", "KMS:reEncryptFrom", true, true},
      {"kms:GenerateDataKey*", "kms:GenerateDataKeyPairWithoutPlaintext", true, true},
      {"kms:Describe?ey", "kms:DescribeKey", true, true},
      {"arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-east-1:111122223333:key/1234", false,
       true},
      {"arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-east-1:444455556666:key/1234", false,
       false},
  };
  for (const GlobCase& c : cases) {
    EXPECT_EQ(Glob::Pattern(c.pattern, c.ignore_case).Matches(c.subject), c.match)
        << c.pattern << " vs " << c.subject;
  }
}

TEST(Glob, LiteralTreatsWildcardCharactersAsText) {
  EXPECT_TRUE(Glob::Literal("a*b?", false).Matches("a*b?"));
  EXPECT_FALSE(Glob::Literal("a*b?", false).Matches("aXXbY"));
  EXPECT_TRUE(Glob::Literal("a*b?", false).IsLiteral());
  EXPECT_TRUE(Glob::Literal("ABC", true).Matches("abc"));
}

TEST(Glob, BuilderMixesWildcardsAndLiteralText) {
  GlobBuilder builder(false);
  builder.AppendPattern("home/");
  builder.AppendLiteral("*star*");
  builder.AppendPattern("/*");
  const Glob glob = std::move(builder).Build();
  EXPECT_TRUE(glob.Matches("home/*star*/file"));
  EXPECT_FALSE(glob.Matches("home/xstarx/file"));
}

TEST(Glob, ReportsEverythingAndLiteralShapes) {
  EXPECT_TRUE(Glob::Pattern("*", false).MatchesEverything());
  EXPECT_FALSE(Glob::Pattern("a*", false).MatchesEverything());
  EXPECT_TRUE(Glob::Pattern("abc", false).IsLiteral());
  EXPECT_FALSE(Glob::Pattern("a?c", false).IsLiteral());
}

TEST(Glob, IgnoreCaseFoldsOnlyAscii) {
  EXPECT_TRUE(Glob::Pattern("\xC3\xA9*", true).Matches("\xC3\xA9t\xC3\xA9"));
  EXPECT_FALSE(Glob::Pattern("\xC3\x89", true).Matches("\xC3\xA9"));  // É vs é
}

TEST(SplitArn, SplitsSixComponentsAndKeepsColonsInTheResource) {
  const ArnParts p = SplitArn("arn:aws:s3:::bucket/a:b:c");
  ASSERT_EQ(p.count, 6);
  EXPECT_EQ(p.part[0], "arn");
  EXPECT_EQ(p.part[2], "s3");
  EXPECT_EQ(p.part[3], "");
  EXPECT_EQ(p.part[5], "bucket/a:b:c");
  EXPECT_EQ(SplitArn("not-an-arn").count, 1);
  EXPECT_EQ(SplitArn("arn:aws:iam").count, 3);
}

TEST(ArnPattern, MatchesComponentByComponent) {
  const ArnPattern pattern = ArnPattern::Compile("arn:aws:someservice:*:111122223333:finance/*");
  // The IAM guide's example: StringLike matches this, ArnLike must not.
  EXPECT_FALSE(pattern.Matches(
      "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"));
  EXPECT_TRUE(pattern.Matches("arn:aws:someservice:us-east-2:111122223333:finance/doc.txt"));
  EXPECT_TRUE(Glob::Pattern("arn:aws:someservice:*:111122223333:finance/*", false)
                  .Matches("arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:"
                           "finance/document.txt"));
}

TEST(ArnPattern, ShortPatternsMatchTheRestOfTheValue) {
  EXPECT_TRUE(ArnPattern::Compile("*").Matches("arn:aws:iam::111122223333:user/alice"));
  EXPECT_TRUE(ArnPattern::Compile("arn:aws:iam::*").Matches("arn:aws:iam::111122223333:root"));
  EXPECT_FALSE(ArnPattern::Compile("arn:aws:iam::*").Matches("arn:aws:sts::1:assumed-role/r/s"));
  EXPECT_FALSE(ArnPattern::Compile("arn:aws:iam::1:user/a").Matches("arn:aws:iam"));
}

TEST(ArnPattern, IsCaseSensitive) {
  EXPECT_FALSE(ArnPattern::Compile("arn:aws:iam::111122223333:user/Alice")
                   .Matches("arn:aws:iam::111122223333:user/alice"));
}

}  // namespace
}  // namespace scytale::policy::internal

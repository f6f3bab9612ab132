#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace scytale {
namespace {

TEST(Uuid, IsVersionFourLowercaseAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4');
    EXPECT_EQ(id.find_first_of("ABCDEF"), std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Uuid, RejectsOtherShapes) {
  EXPECT_FALSE(IsUuid("1234abcd-12ab-34cd-56ef-1234567890a"));
  EXPECT_FALSE(IsUuid("1234abcd_12ab-34cd-56ef-1234567890ab"));
  EXPECT_FALSE(IsUuid("alias/foo"));
  EXPECT_TRUE(IsUuid("1234abcd-12ab-34cd-56ef-1234567890ab"));
}

}  // namespace
}  // namespace scytale

#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

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

// The pool hands each byte out once: draws of a salt-and-IV's size across many refills, on two
// threads, and draws past the pool's size never repeat (a repeated 28-byte draw would be a
// repeated GCM nonce).
TEST(PublicRandomBytes, NeverRepeatsAcrossRefillsAndThreads) {
  auto draw = [](size_t size, int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
      std::string s(size, '\0');
      EXPECT_TRUE(PublicRandomBytes(reinterpret_cast<uint8_t*>(s.data()), s.size()));
      out.push_back(std::move(s));
    }
    return out;
  };
  std::vector<std::string> a;
  std::vector<std::string> b;
  std::thread other([&] { b = draw(28, 5000); });  // ~34 pools of 4 KiB
  a = draw(28, 5000);
  other.join();
  std::vector<std::string> big = draw(3000, 20);  // past the pool: straight from RAND_bytes
  std::set<std::string> seen;
  for (const auto* v : {&a, &b, &big}) {
    for (const std::string& s : *v) {
      EXPECT_NE(s, std::string(s.size(), '\0'));
      seen.insert(s);
    }
  }
  EXPECT_EQ(seen.size(), a.size() + b.size() + big.size());
}

}  // namespace
}  // namespace scytale

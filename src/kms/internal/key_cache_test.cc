#include "kms/internal/key_cache.h"

#include <gtest/gtest.h>

namespace scytale::kms::internal {
namespace {

std::shared_ptr<const crypto::SecretBytes> Material(std::string_view s) {
  return std::make_shared<const crypto::SecretBytes>(AsBytes(s));
}

class KeyCacheTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeClock> clock_ =
      std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1700000000));
};

TEST_F(KeyCacheTest, ReturnsWhatWasPutUntilItExpires) {
  BackingKeyCache cache(10, std::chrono::seconds(60), clock_);
  cache.Put("k", "v1", Material("m1"));
  ASSERT_NE(cache.Get("k", "v1"), nullptr);
  EXPECT_EQ(cache.Get("k", "v2"), nullptr);
  clock_->Advance(std::chrono::seconds(61));
  EXPECT_EQ(cache.Get("k", "v1"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(KeyCacheTest, EvictsTheLeastRecentlyUsedPastCapacity) {
  BackingKeyCache cache(2, std::chrono::seconds(60), clock_);
  cache.Put("a", "1", Material("a"));
  cache.Put("b", "1", Material("b"));
  ASSERT_NE(cache.Get("a", "1"), nullptr);  // a is now the most recent
  cache.Put("c", "1", Material("c"));
  EXPECT_NE(cache.Get("a", "1"), nullptr);
  EXPECT_EQ(cache.Get("b", "1"), nullptr);
  EXPECT_NE(cache.Get("c", "1"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(KeyCacheTest, InvalidateDropsEveryVersionOfOneKeyOnly) {
  BackingKeyCache cache(10, std::chrono::seconds(60), clock_);
  cache.Put("a", "1", Material("a1"));
  cache.Put("a", "2", Material("a2"));
  cache.Put("b", "1", Material("b1"));
  cache.Invalidate("a");
  EXPECT_EQ(cache.Get("a", "1"), nullptr);
  EXPECT_EQ(cache.Get("a", "2"), nullptr);
  EXPECT_NE(cache.Get("b", "1"), nullptr);
}

TEST_F(KeyCacheTest, CountsHitsAndMissesIncludingExpiredEntries) {
  BackingKeyCache cache(10, std::chrono::seconds(60), clock_);
  EXPECT_EQ(cache.counts().hits, 0u);
  EXPECT_EQ(cache.counts().misses, 0u);
  EXPECT_EQ(cache.Get("k", "v1"), nullptr);  // absent
  cache.Put("k", "v1", Material("m1"));
  ASSERT_NE(cache.Get("k", "v1"), nullptr);
  ASSERT_NE(cache.Get("k", "v1"), nullptr);
  clock_->Advance(std::chrono::seconds(61));
  EXPECT_EQ(cache.Get("k", "v1"), nullptr);  // expired
  cache.Invalidate("k");                      // not a lookup
  EXPECT_EQ(cache.counts().hits, 2u);
  EXPECT_EQ(cache.counts().misses, 2u);
}

}  // namespace
}  // namespace scytale::kms::internal

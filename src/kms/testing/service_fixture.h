// A KeyService over a real SQLite store and soft keystore in a fresh temporary directory, with
// a fake clock. For kms/ tests.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/testing/matchers.h"
#include "common/testing/temp_dir.h"
#include "keystore/testing/soft_root.h"
#include "kms/kms.h"

namespace scytale::kms::testing {

class ServiceFixture : public ::testing::Test {
 protected:
  static constexpr int64_t kStart = 1700000000;  // where clock_ starts, in Unix seconds
  static constexpr int64_t kDay = 86400;

  void SetUp() override {
    dir_ = scytale::testing::FreshTestDir("scy-kms");
    store_ = storage::OpenSqliteStore(dir_ / "db").value();
    root_ = keystore::testing::OpenSoftRoot(dir_);
    clock_ = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(kStart));
    service_ = KeyService::Create(store_.get(), root_.get(), clock_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CallContext Ctx(const std::string& region = "us-east-1",
                  const std::string& account = "111122223333") {
    return {account, region, "arn:aws:iam::" + account + ":root", "req"};
  }
  KeyMetadata NewKey() { return service_->CreateKey(Ctx(), {}).value(); }
  static std::string Text(const crypto::SecretBytes& s) {
    return std::string(AsString(s.Reveal(crypto::KeyAccess::Grant())));
  }

  // Every entry of a paged List call, following markers: `fetch(marker)` returns one page of at
  // most `limit` entries, in its member `entries`. Fails the test on an error, an oversized page,
  // a marker where there should be none or none where there should be one, and paging that has
  // not ended after `max_pages` pages.
  template <class Response, class Entry, class Fetch>
  static std::vector<Entry> AllPages(Fetch fetch, std::vector<Entry> Response::*entries, int limit,
                                     int max_pages = 100) {
    std::vector<Entry> out;
    std::optional<std::string> marker;
    for (int page = 0; page < max_pages; ++page) {
      Result<Response> r = fetch(marker);
      EXPECT_THAT(r, scytale::testing::IsOk());
      if (!r) {
        return out;
      }
      const std::vector<Entry>& got = (*r).*entries;
      EXPECT_LE(got.size(), static_cast<size_t>(limit));
      out.insert(out.end(), got.begin(), got.end());
      if (!r->truncated) {
        EXPECT_FALSE(r->next_marker.has_value());
        return out;
      }
      EXPECT_TRUE(r->next_marker.has_value());
      marker = r->next_marker;
    }
    ADD_FAILURE() << "paging did not end";
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<keystore::RootKeystore> root_;
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<KeyService> service_;
};

}  // namespace scytale::kms::testing

// A KeyService over a real SQLite store and soft keystore in a fresh temporary directory, with
// a fake clock. For kms/ tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>

#include "common/testing/temp_dir.h"
#include "keystore/testing/soft_root.h"
#include "kms/kms.h"

namespace scytale::kms::testing {

class ServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scytale::testing::FreshTestDir("scy-kms");
    store_ = storage::OpenSqliteStore(dir_ / "db").value();
    root_ = keystore::testing::OpenSoftRoot(dir_);
    clock_ = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1700000000));
    service_ = KeyService::Create(store_.get(), root_.get(), clock_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CallContext Ctx(const std::string& region = "us-east-1",
                  const std::string& account = "111122223333") {
    return {account, region, "arn:aws:iam::" + account + ":root", "req"};
  }
  KeyMetadata NewKey() { return service_->CreateKey(Ctx(), {}).value(); }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<keystore::RootKeystore> root_;
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<KeyService> service_;
};

}  // namespace scytale::kms::testing

// Identities over a real SQLite store and soft keystore in a fresh temporary directory, with a
// fake clock. For iam/ tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "common/testing/temp_dir.h"
#include "iam/iam.h"
#include "keystore/testing/soft_root.h"

namespace scytale::iam::testing {

class IdentitiesFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scytale::testing::FreshTestDir("scy-iam");
    store_ = storage::OpenSqliteStore(dir_ / "db").value();
    root_ = keystore::testing::OpenSoftRoot(dir_);
    clock_ = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1700000000));
    ids_ = std::make_unique<Identities>(store_.get(), root_.get(), clock_);
  }
  // Closes the store before its directory goes.
  void TearDown() override {
    ids_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<keystore::RootKeystore> root_;
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<Identities> ids_;
};

}  // namespace scytale::iam::testing

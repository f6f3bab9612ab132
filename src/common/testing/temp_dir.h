// A temporary directory of the running test's own, for tests that need real files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

namespace scytale::testing {

// <temp>/<prefix>-<pid>-<suite>-<test>, emptied and created. The pid keeps test binaries that
// ctest runs at once apart, the names the tests of one binary ('/' of parameterized names
// becomes '_'). The caller removes it, in TearDown.
inline std::filesystem::path FreshTestDir(const std::string& prefix) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = prefix + "-" + std::to_string(::getpid()) + "-" + test->test_suite_name() +
                     "-" + test->name();
  std::replace(name.begin(), name.end(), '/', '_');
  std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace scytale::testing

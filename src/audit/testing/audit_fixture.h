// A test fixture for audit/: a fresh directory, a soft root keystore, a fake clock, and an Env
// whose writes and syncs can be made to fail (as LevelDB's fault-injection Env).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/audit.h"
#include "common/testing/matchers.h"
#include "common/testing/temp_dir.h"
#include "keystore/testing/soft_root.h"

namespace scytale::audit::testing {

// Forwards to PosixEnv; fails Append / Sync / opening while the matching flag is set.
class FaultyEnv : public Env {
 public:
  std::atomic<bool> fail_writes{false};
  std::atomic<bool> fail_syncs{false};
  std::atomic<bool> fail_opens{false};

  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::filesystem::path& path) override {
    if (fail_opens) {
      return MakeError(ErrorCode::kInternal, "injected: cannot open " + path.string());
    }
    SCY_ASSIGN_OR_RETURN(auto file, PosixEnv()->OpenForAppend(path));
    return std::unique_ptr<WritableFile>(std::make_unique<File>(this, std::move(file)));
  }
  Status WriteFileDurably(const std::filesystem::path& path, std::string_view contents) override {
    if (fail_writes) {
      return MakeError(ErrorCode::kInternal, "injected: cannot write " + path.string());
    }
    return PosixEnv()->WriteFileDurably(path, contents);
  }
  Result<std::string> ReadFile(const std::filesystem::path& path) override {
    return PosixEnv()->ReadFile(path);
  }
  Result<std::vector<std::string>> ListDir(const std::filesystem::path& dir) override {
    return PosixEnv()->ListDir(dir);
  }
  Status CreateDir(const std::filesystem::path& dir) override {
    return PosixEnv()->CreateDir(dir);
  }
  Status TruncateFile(const std::filesystem::path& path, uint64_t size) override {
    return PosixEnv()->TruncateFile(path, size);
  }

 private:
  class File : public WritableFile {
   public:
    File(FaultyEnv* env, std::unique_ptr<WritableFile> base) : env_(env), base_(std::move(base)) {}
    Status Append(std::string_view data) override {
      if (env_->fail_writes) {
        // A partial write, as a full disk gives: half the data lands, then an error.
        (void)base_->Append(data.substr(0, data.size() / 2));
        return MakeError(ErrorCode::kInternal, "injected: No space left on device");
      }
      return base_->Append(data);
    }
    Status Sync() override {
      if (env_->fail_syncs) {
        return MakeError(ErrorCode::kInternal, "injected: fsync failed");
      }
      return base_->Sync();
    }
    Status Truncate(uint64_t size) override { return base_->Truncate(size); }
    uint64_t Size() const override { return base_->Size(); }

   private:
    FaultyEnv* env_;
    std::unique_ptr<WritableFile> base_;
  };
};

class AuditFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = scytale::testing::FreshTestDir("scy-audit");
    root_ = keystore::testing::OpenSoftRoot(dir_);
    clock_ = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1700000000));
    env_ = std::make_shared<FaultyEnv>();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  LogOptions Options() {
    LogOptions o;
    o.dir = dir_ / "audit";
    o.signing_key_path = dir_ / "audit-signing.key";
    o.root = root_.get();
    o.env = env_;
    o.clock = clock_;
    o.digest_interval = std::chrono::seconds(0);
    return o;
  }

  std::unique_ptr<AuditLog> OpenLog(LogOptions o) { return AuditLog::Open(std::move(o)).value(); }
  std::unique_ptr<AuditLog> OpenLog() { return OpenLog(Options()); }

  // VerifyLog on the audit directory; an empty report (and a test failure) when it cannot run.
  VerifyReport Verify() {
    auto report = VerifyLog(dir_ / "audit");
    EXPECT_THAT(report, scytale::testing::IsOk());
    return report.value_or(VerifyReport{});
  }
  // Verify(), expecting the log to verify; returns the report for further checks.
  VerifyReport ExpectLogVerifies() {
    VerifyReport report = Verify();
    EXPECT_TRUE(report.ok) << report.message;
    return report;
  }
  // ExpectLogVerifies(), and that the log holds `records` records.
  VerifyReport ExpectLogVerifies(size_t records) {
    VerifyReport report = ExpectLogVerifies();
    EXPECT_EQ(report.records, records);
    return report;
  }

  static Event MakeEvent(const std::string& name, int n = 0) {
    Event e;
    e.time = std::chrono::system_clock::from_time_t(1700000000 + n);
    e.event_name = name;
    e.aws_region = "us-east-1";
    e.source_ip = "127.0.0.1";
    e.user_agent = "test";
    e.user_identity = UserIdentity{"Root", "111122223333", "arn:aws:iam::111122223333:root",
                                   "111122223333", "AKIATEST"};
    e.request_parameters = {{"keyId", "alias/k" + std::to_string(n)}};
    e.request_id = "req-" + std::to_string(n);
    e.read_only = true;
    e.resource_arns = {"arn:aws:kms:us-east-1:111122223333:key/k" + std::to_string(n)};
    e.recipient_account_id = "111122223333";
    return e;
  }

  // The log files of the audit directory, in order.
  std::vector<std::filesystem::path> LogFiles() {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_ / "audit")) {
      std::string name = e.path().filename().string();
      if (name.starts_with("audit-") && name.ends_with(".jsonl")) {
        out.push_back(e.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::vector<std::string> ReadLines(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }
  static void WriteLines(const std::filesystem::path& p, const std::vector<std::string>& lines) {
    std::ofstream out(p, std::ios::trunc);
    for (const auto& l : lines) {
      out << l << "\n";
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<keystore::RootKeystore> root_;
  std::shared_ptr<FakeClock> clock_;
  std::shared_ptr<FaultyEnv> env_;
};

}  // namespace scytale::audit::testing

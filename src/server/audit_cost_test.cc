// What durable auditing costs: Encrypt through the KMS codec by 32 concurrent callers, without
// and with an audit record made durable (group commit) before each answer. Prints the figures;
// asserts only that auditing works and batches, since the ratio depends on the disk.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "api/api.h"
#include "api/testing/api_fixture.h"
#include "audit/audit.h"

namespace scytale::server {
namespace {

using json = nlohmann::json;

class AuditCostTest : public api::testing::ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    key_id_ = json::parse(Call("CreateKey", "{}").body)["KeyMetadata"]["KeyId"];
  }

  // Encrypts from `threads` callers for `duration`; returns calls per second.
  double Run(audit::AuditLog* log, int threads, std::chrono::milliseconds duration) {
    std::string body = json{{"KeyId", key_id_}, {"Plaintext", "aGVsbG8gd29ybGQ="}}.dump();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> failures{0};
    std::vector<std::thread> workers;
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        while (!stop) {
          api::JsonResponse r = api_->Handle(ctx_, "TrentService.Encrypt", body);
          if (r.status != 200) {
            ++failures;
          }
          if (log != nullptr) {
            audit::Event e;
            e.time = std::chrono::system_clock::now();
            e.event_name = r.audit->event_name;
            e.request_parameters = r.audit->request_parameters;
            e.resource_arns = r.audit->resource_arns;
            e.read_only = r.audit->read_only;
            e.request_id = "bench";
            if (!log->Append(e)) {
              ++failures;
            }
          }
          ++calls;
        }
      });
    }
    std::this_thread::sleep_for(duration);
    stop = true;
    for (auto& w : workers) {
      w.join();
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(failures.load(), 0u);
    return static_cast<double>(calls.load()) / seconds;
  }

  std::string key_id_;
};

TEST_F(AuditCostTest, AuditedEncryptThroughputAgainstUnaudited) {
  audit::LogOptions o;
  o.dir = dir_ / "audit";
  o.signing_key_path = dir_ / "audit-signing.key";
  o.root = root_.get();
  auto log = audit::AuditLog::Open(o).value();
  constexpr int kThreads = 32;
  const std::chrono::milliseconds kDuration(1500);
  double plain = Run(nullptr, kThreads, kDuration);
  double audited = Run(log.get(), kThreads, kDuration);
  audit::Stats stats = log->GetStats();
  ASSERT_GT(stats.records, 0u);
  EXPECT_LT(stats.batches, stats.records) << "group commit did not batch";
  std::cout << "[ figures  ] Encrypt, " << kThreads << " callers: unaudited " << plain
            << " calls/s, audited " << audited << " calls/s (" << 100 * (1 - audited / plain)
            << " % lower); " << stats.records << " records in " << stats.batches
            << " fsyncs, mean batch "
            << static_cast<double>(stats.records) / static_cast<double>(stats.batches)
            << ", mean write+fsync " << 1000 * stats.sync_seconds_sum / stats.batches << " ms"
            << std::endl;
}

}  // namespace
}  // namespace scytale::server

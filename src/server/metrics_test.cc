#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include "server/server.h"

namespace scytale::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Expects each of `lines` in the rendered text, whole (followed by its newline).
void ExpectLines(const std::string& text, std::initializer_list<std::string> lines) {
  for (const std::string& line : lines) {
    EXPECT_THAT(text, HasSubstr(line + "\n"));
  }
}

TEST(MetricsTest, CountsRequestsByOperationAndOutcomeWithCumulativeLatencyBuckets) {
  Metrics m;
  m.ObserveRequest("Encrypt", "success", 0.0004);
  m.ObserveRequest("Encrypt", "success", 0.003);
  m.ObserveRequest("Decrypt", "denied", 0.02);
  std::string text = m.Render(nullptr);
  ExpectLines(text,
              {
                  "# TYPE scytale_requests_total counter",
                  "scytale_requests_total{operation=\"Encrypt\",outcome=\"success\"} 2",
                  "scytale_requests_total{operation=\"Decrypt\",outcome=\"denied\"} 1",
                  "scytale_request_duration_seconds_bucket{operation=\"Encrypt\",le=\"0.001\"} 1",
                  "scytale_request_duration_seconds_bucket{operation=\"Encrypt\",le=\"0.005\"} 2",
                  "scytale_request_duration_seconds_bucket{operation=\"Encrypt\",le=\"+Inf\"} 2",
                  "scytale_request_duration_seconds_count{operation=\"Encrypt\"} 2",
              });
  EXPECT_THAT(text, Not(HasSubstr("scytale_audit_")));
}

// Threads count into shards of their own; the rendered series are their sums.
TEST(MetricsTest, RequestsFromManyThreadsAddUp) {
  Metrics m;
  constexpr int kThreads = 24;  // more than the shards, so some threads share one
  constexpr int kCalls = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kCalls; ++i) {
        m.ObserveRequest(t % 2 == 0 ? "Encrypt" : "Decrypt", "success", 0.002);
        m.ObserveRequest("Encrypt", "denied", 0.02);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  constexpr int kEach = kThreads / 2 * kCalls;
  ExpectLines(m.Render(nullptr),
              {
                  "scytale_requests_total{operation=\"Decrypt\",outcome=\"success\"} " +
                      std::to_string(kEach),
                  "scytale_requests_total{operation=\"Encrypt\",outcome=\"denied\"} " +
                      std::to_string(kThreads * kCalls),
                  "scytale_requests_total{operation=\"Encrypt\",outcome=\"success\"} " +
                      std::to_string(kEach),
                  "scytale_request_duration_seconds_bucket{operation=\"Encrypt\",le=\"0.0025\"} " +
                      std::to_string(kEach),
                  "scytale_request_duration_seconds_count{operation=\"Encrypt\"} " +
                      std::to_string(kEach + kThreads * kCalls),
              });
}

TEST(MetricsTest, RendersAuditFsyncLatencyAndBatchSizes) {
  Metrics m;
  audit::Stats s;
  s.records = 40;
  s.batches = 3;
  s.failures = 2;
  s.sync_seconds_sum = 0.006;
  s.sync_seconds_buckets[2] = 3;  // <= 2.5 ms
  s.batch_size_buckets[5] = 3;    // <= 32 records
  std::string text = m.Render(&s);
  ExpectLines(text, {
                        "scytale_audit_records_total 40",
                        "scytale_audit_failures_total 2",
                        "scytale_audit_fsync_seconds_bucket{le=\"0.001\"} 0",
                        "scytale_audit_fsync_seconds_bucket{le=\"0.0025\"} 3",
                        "scytale_audit_fsync_seconds_count 3",
                        "scytale_audit_batch_records_bucket{le=\"16\"} 0",
                        "scytale_audit_batch_records_bucket{le=\"32\"} 3",
                        "scytale_audit_batch_records_sum 40",
                    });
}

TEST(MetricsTest, RendersBackingKeyCacheCountersAndKeysByState) {
  Metrics m;
  kms::ServiceStats s;
  s.backing_key_cache_hits = 41;
  s.backing_key_cache_misses = 3;
  s.keys_by_state = {{"Enabled", 5}, {"PendingImport", 1}};
  std::string text = m.Render(nullptr, &s);
  ExpectLines(text, {
                        "# TYPE scytale_backing_key_cache_hits_total counter",
                        "scytale_backing_key_cache_hits_total 41",
                        "scytale_backing_key_cache_misses_total 3",
                        "# TYPE scytale_keys gauge",
                        "scytale_keys{state=\"Enabled\"} 5",
                        "scytale_keys{state=\"PendingImport\"} 1",
                    });
  // The usual states are shown even when no key is in them.
  ExpectLines(text, {
                        "scytale_keys{state=\"Disabled\"} 0",
                        "scytale_keys{state=\"PendingDeletion\"} 0",
                    });
}

TEST(MetricsTest, KeysByStateIsLeftOutUntilCounted) {
  Metrics m;
  kms::ServiceStats s;
  std::string text = m.Render(nullptr, &s);
  EXPECT_THAT(text, HasSubstr("scytale_backing_key_cache_hits_total 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("scytale_keys")));
  EXPECT_THAT(m.Render(nullptr), Not(HasSubstr("scytale_backing_key_cache")));
}

TEST(MetricsTest, OperationNamesBeyondTheCapCountAsOther) {
  Metrics m;
  for (size_t i = 0; i < Metrics::kMaxOperations + 10; ++i) {
    m.ObserveRequest("Op" + std::to_string(i), "failure", 0.001);
  }
  std::string text = m.Render(nullptr);
  EXPECT_THAT(text, HasSubstr("scytale_requests_total{operation=\"other\",outcome=\"failure\"} 10\n"));
  EXPECT_THAT(text, Not(HasSubstr("operation=\"Op260\"")));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Metrics m;
  m.ObserveRequest("a\"b\\c\nd", "failure", 0.001);
  EXPECT_THAT(m.Render(nullptr), HasSubstr("operation=\"a\\\"b\\\\c\\nd\""));
}

}  // namespace
}  // namespace scytale::server

// AWS-style request quotas: requests per second per calling account and quota, as token
// buckets, answered ThrottlingException (400) when exhausted — a code every AWS SDK retries
// with backoff. A quota is either shared by a family of operations (AWS's "cryptographic
// operations (symmetric)" quota covers Encrypt, Decrypt, ReEncrypt, GenerateDataKey*,
// GenerateMac, VerifyMac and GenerateRandom) or one operation's own (CreateKey, DescribeKey...).
// Operations without a quota are not limited.
//
// Off unless configured (`serve --request-quotas aws` and/or `--request-quota NAME=RPS`): AWS's
// quotas share a multi-tenant fleet among accounts (CreateKey 5/s), while a self-hosted
// server's capacity is its operator's to divide.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace scytale::server {

class RequestQuotas {
 public:
  // Requests per second of each quota by name: a family ("SymmetricCryptographic",
  // "AsymmetricCryptographic") or an operation name ("CreateKey"). A bucket holds one second of
  // its rate (at least one request), so a burst of one second's worth passes at once.
  using Table = std::map<std::string, double>;

  // AWS's default quotas (us-east-1, from the Developer Guide's request quota table).
  static const Table& AwsDefaults();
  // The quota an operation counts against ("" when none can apply): its family, or itself.
  static std::string QuotaOf(std::string_view operation);
  // Parses "NAME=RPS" (RPS > 0); kValidation naming the problem.
  static Result<std::pair<std::string, double>> ParseQuota(std::string_view text);

  explicit RequestQuotas(Table table) : table_(std::move(table)) {}

  // Takes a token from the account's bucket of the operation's quota; false when it is empty
  // (throttle). Operations without a configured quota always pass. Thread-safe.
  bool Admit(const std::string& account_id, std::string_view operation,
             std::chrono::steady_clock::time_point now);
  // Requests refused so far, for /metrics.
  uint64_t throttled() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled{};
  };
  static constexpr size_t kShards = 16;
  // Buckets kept per shard before idle ones are swept (accounts are few; names are bounded).
  static constexpr size_t kMaxBucketsPerShard = 4096;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;  // "<account>/<quota>"
    uint64_t throttled = 0;
  };

  const Table table_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace scytale::server

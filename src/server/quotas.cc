#include "server/quotas.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <set>

namespace scytale::server {
namespace {

constexpr std::string_view kSymmetric = "SymmetricCryptographic";
constexpr std::string_view kAsymmetric = "AsymmetricCryptographic";
constexpr std::string_view kDataKeyPair = "GenerateDataKeyPair";

// What the family quotas cover. AWS counts Encrypt and Decrypt with an RSA key against the RSA
// quota; here the operation alone decides, so those count as symmetric.
std::string_view FamilyOf(std::string_view operation) {
  static const std::set<std::string_view, std::less<>> kSymmetricOps = {
      "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
      "GenerateMac", "VerifyMac", "GenerateRandom"};
  static const std::set<std::string_view, std::less<>> kAsymmetricOps = {"Sign", "Verify",
                                                                         "DeriveSharedSecret"};
  if (kSymmetricOps.contains(operation)) {
    return kSymmetric;
  }
  if (kAsymmetricOps.contains(operation)) {
    return kAsymmetric;
  }
  if (operation == "GenerateDataKeyPair" || operation == "GenerateDataKeyPairWithoutPlaintext") {
    return kDataKeyPair;
  }
  return {};
}

}  // namespace

const RequestQuotas::Table& RequestQuotas::AwsDefaults() {
  // requests per second; AWS's values in us-east-1 (docs: "Request quotas"). GenerateDataKeyPair
  // is per key spec in AWS (RSA_2048 1/s ... ECC 25/s); here one quota for all specs.
  static const Table kTable = {
      {std::string(kSymmetric), 50000},
      {std::string(kAsymmetric), 1000},
      {std::string(kDataKeyPair), 5},
      {"CancelKeyDeletion", 5},
      {"ConnectCustomKeyStore", 5},
      {"CreateAlias", 5},
      {"CreateCustomKeyStore", 5},
      {"CreateGrant", 50},
      {"CreateKey", 5},
      {"DeleteAlias", 15},
      {"DeleteCustomKeyStore", 5},
      {"DeleteImportedKeyMaterial", 15},
      {"DescribeCustomKeyStores", 5},
      {"DescribeKey", 2000},
      {"DisableKey", 5},
      {"DisableKeyRotation", 5},
      {"DisconnectCustomKeyStore", 5},
      {"EnableKey", 5},
      {"EnableKeyRotation", 15},
      {"GetKeyPolicy", 1000},
      {"GetKeyRotationStatus", 1000},
      {"GetParametersForImport", 0.25},
      {"GetPublicKey", 2000},
      {"ImportKeyMaterial", 5},
      {"ListAliases", 500},
      {"ListGrants", 100},
      {"ListKeyPolicies", 100},
      {"ListKeys", 500},
      {"ListResourceTags", 2000},
      {"ListRetirableGrants", 100},
      {"PutKeyPolicy", 15},
      {"RetireGrant", 30},
      {"RevokeGrant", 30},
      {"ScheduleKeyDeletion", 15},
      {"TagResource", 10},
      {"UntagResource", 5},
      {"UpdateAlias", 5},
      {"UpdateCustomKeyStore", 5},
      {"UpdateKeyDescription", 5},
  };
  return kTable;
}

std::string RequestQuotas::QuotaOf(std::string_view operation) {
  std::string_view family = FamilyOf(operation);
  return std::string(family.empty() ? operation : family);
}

Result<std::pair<std::string, double>> RequestQuotas::ParseQuota(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return MakeError(ErrorCode::kValidation,
                     "a request quota is NAME=REQUESTS_PER_SECOND, not '" + std::string(text) +
                         "'");
  }
  std::string name(text.substr(0, eq));
  std::string_view number = text.substr(eq + 1);
  double rate = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), rate);
  if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(rate) ||
      rate <= 0) {
    return MakeError(ErrorCode::kValidation, "the request quota of " + name +
                                                 " must be a positive number of requests per "
                                                 "second, not '" + std::string(number) + "'");
  }
  if (!AwsDefaults().contains(name)) {
    return MakeError(ErrorCode::kValidation,
                     "no request quota is named " + name +
                         " (a family: SymmetricCryptographic, AsymmetricCryptographic, "
                         "GenerateDataKeyPair; or an operation with its own quota, e.g. "
                         "CreateKey)");
  }
  return std::make_pair(std::move(name), rate);
}

bool RequestQuotas::Admit(const std::string& account_id, std::string_view operation,
                          std::chrono::steady_clock::time_point now) {
  if (table_.empty()) {
    return true;
  }
  const std::string quota = QuotaOf(operation);
  auto configured = table_.find(quota);
  if (configured == table_.end()) {
    return true;
  }
  const double rate = configured->second;
  const double capacity = std::max(rate, 1.0);
  std::string id = account_id + '/' + quota;
  Shard& shard = shards_[std::hash<std::string>{}(id) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(id);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kMaxBucketsPerShard) {
      // Full buckets carry nothing a new one would not: drop those.
      std::erase_if(shard.buckets, [&](const auto& entry) {
        const Bucket& b = entry.second;
        return std::chrono::duration<double>(now - b.refilled).count() * rate >= capacity;
      });
    }
    it = shard.buckets.emplace(std::move(id), Bucket{capacity, now}).first;
  }
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(capacity, bucket.tokens + elapsed * rate);
    bucket.refilled = now;
  }
  if (bucket.tokens < 1) {
    ++shard.throttled;
    return false;
  }
  bucket.tokens -= 1;
  return true;
}

uint64_t RequestQuotas::throttled() const {
  uint64_t total = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    total += shard.throttled;
  }
  return total;
}

}  // namespace scytale::server

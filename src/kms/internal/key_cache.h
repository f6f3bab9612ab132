// A bounded cache of unwrapped backing keys, so the root keystore is asked once per backing key
// version rather than once per request. Entries expire after a time-to-live and are dropped
// for a key whenever its state changes (Invalidate). Material stays in SecretBytes, which wipe
// themselves when the last holder lets go.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "crypto/crypto.h"

namespace scytale::kms::internal {

class BackingKeyCache {
 public:
  BackingKeyCache(size_t capacity, std::chrono::seconds ttl, std::shared_ptr<Clock> clock)
      : capacity_(capacity), ttl_(ttl), clock_(std::move(clock)) {}

  // Lookups answered from the cache (hits) and not (misses: absent or expired), since
  // construction. For /metrics.
  struct Counts {
    uint64_t hits = 0;
    uint64_t misses = 0;
  };

  // The cached material, or nullptr when absent or expired. Counts a hit or a miss.
  // Thread-safe.
  std::shared_ptr<const crypto::SecretBytes> Get(const std::string& key_id,
                                                 const std::string& version_id);
  // Inserts (or replaces) an entry, evicting the least recently used past capacity.
  void Put(const std::string& key_id, const std::string& version_id,
           std::shared_ptr<const crypto::SecretBytes> material);
  // Drops every version of a key.
  void Invalidate(const std::string& key_id);
  size_t size() const;
  Counts counts() const;

 private:
  struct Entry {
    std::string key_id;
    std::string cache_key;
    std::shared_ptr<const crypto::SecretBytes> material;
    std::chrono::system_clock::time_point expires;
  };
  static std::string CacheKey(const std::string& key_id, const std::string& version_id) {
    return key_id + '/' + version_id;
  }

  const size_t capacity_;
  const std::chrono::seconds ttl_;
  std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  Counts counts_;
};

}  // namespace scytale::kms::internal

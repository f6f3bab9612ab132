#include "kms/internal/key_cache.h"

namespace scytale::kms::internal {

std::shared_ptr<const crypto::SecretBytes> BackingKeyCache::Get(const std::string& key_id,
                                                                const std::string& version_id) {
  std::lock_guard lock(mu_);
  auto it = index_.find(CacheKey(key_id, version_id));
  if (it == index_.end()) {
    ++counts_.misses;
    return nullptr;
  }
  if (clock_->Now() >= it->second->expires) {
    lru_.erase(it->second);
    index_.erase(it);
    ++counts_.misses;
    return nullptr;
  }
  ++counts_.hits;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->material;
}

void BackingKeyCache::Put(const std::string& key_id, const std::string& version_id,
                          std::shared_ptr<const crypto::SecretBytes> material) {
  std::lock_guard lock(mu_);
  std::string cache_key = CacheKey(key_id, version_id);
  if (auto it = index_.find(cache_key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{key_id, cache_key, std::move(material), clock_->Now() + ttl_});
  index_[cache_key] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().cache_key);
    lru_.pop_back();
  }
}

void BackingKeyCache::Invalidate(const std::string& key_id) {
  std::lock_guard lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->key_id == key_id) {
      index_.erase(it->cache_key);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t BackingKeyCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

BackingKeyCache::Counts BackingKeyCache::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

}  // namespace scytale::kms::internal

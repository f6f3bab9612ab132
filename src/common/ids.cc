#include "common/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "common/encoding.h"

namespace scytale {

bool PublicRandomBytes(uint8_t* out, size_t size) {
  constexpr size_t kPool = 4096;
  if (size > kPool / 4) {
    return RAND_bytes(out, static_cast<int>(size)) == 1;
  }
  thread_local std::array<uint8_t, kPool> pool{};
  thread_local size_t used = pool.size();
  if (pool.size() - used < size) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) {
      return false;
    }
    used = 0;
  }
  std::memcpy(out, pool.data() + used, size);
  // Handed out once: the bytes given are overwritten, not left for a later reader.
  std::memset(pool.data() + used, 0, size);
  used += size;
  return true;
}

std::string NewUuid() {
  // Request and event ids come from the pool: one RAND_bytes per id was a lock and a DRBG round
  // per id, twice per request. The ids are unique and unpredictable, not secret.
  std::array<uint8_t, 16> id;
  if (!PublicRandomBytes(id.data(), id.size())) {
    throw std::runtime_error("RAND_bytes failed");  // the RNG failing is not recoverable
  }
  uint8_t* b = id.data();
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t o = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (o == 8 || o == 13 || o == 18 || o == 23) {
      ++o;
    }
    out[o++] = kHex[b[i] >> 4];
    out[o++] = kHex[b[i] & 0x0f];
  }
  return out;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') {
        return false;
      }
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace scytale

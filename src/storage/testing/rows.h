// Rows for storage tests: a symmetric key and its first backing version.
#pragma once

#include <string>

#include "storage/storage.h"

namespace scytale::storage::testing {

inline KeyRow TestKey(const std::string& id, const std::string& region = "us-east-1") {
  KeyRow k;
  k.key_id = id;
  k.account_id = "111122223333";
  k.region = region;
  k.description = "desc " + id;
  k.key_spec = "SYMMETRIC_DEFAULT";
  k.key_usage = "ENCRYPT_DECRYPT";
  k.origin = "AWS_KMS";
  k.key_manager = "CUSTOMER";
  k.key_state = "Enabled";
  k.creation_date = 1700000000;
  k.policy = "{}";
  return k;
}

inline KeyVersionRow TestVersion(const std::string& key_id) {
  return KeyVersionRow{key_id, "v1-" + key_id, 1700000000, Bytes{1, 2, 3, 0, 5}, ""};
}

}  // namespace scytale::storage::testing

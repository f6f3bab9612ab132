// What both backends share: the case rule of IAM names, the table names of the two kinds of
// IAM entity that carry inline policies, and the errors of quotas and custom key stores.
#pragma once

#include <string>

#include "common/result.h"

namespace scytale::storage::internal {

// The quota of aliases per key (AWS: 50), in the words AWS uses.
inline Error AliasLimitError(size_t max_aliases) {
  return MakeError(ErrorCode::kLimitExceeded,
                   "A KMS key can have at most " + std::to_string(max_aliases) + " aliases.");
}

// InsertKey into a custom key store that does not exist (or was deleted meanwhile).
inline Error MissingCustomKeyStoreError(const std::string& id) {
  return MakeError(ErrorCode::kNotFound, "custom key store " + id + " does not exist");
}

// DeleteCustomKeyStore while keys still name the store.
inline Error CustomKeyStoreHasKeysError(const std::string& id, int64_t keys) {
  return MakeError(ErrorCode::kInvalidState,
                   "custom key store " + id + " still holds " + std::to_string(keys) + " keys");
}

// IAM names compare without ASCII case: the stored key is the ASCII-lowercased name.
inline std::string NameKey(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Users and roles share their SQL shapes; only the tables and the noun of messages differ.
struct EntityTables {
  const char* entities;  // iam_users | iam_roles
  const char* policies;  // iam_user_policies | iam_role_policies
  const char* noun;      // for messages
};
inline constexpr EntityTables kUserTables{"iam_users", "iam_user_policies", "user"};
inline constexpr EntityTables kRoleTables{"iam_roles", "iam_role_policies", "role"};

}  // namespace scytale::storage::internal

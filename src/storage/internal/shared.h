// What both backends share: the case rule of IAM names, the table names of the two kinds of
// IAM entity that carry inline policies, and the errors of quotas and custom key stores.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"
#include "storage/storage.h"

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

// ImportAll into a store that holds rows already: `counts` are its tables' row counts.
inline Error StoreNotEmptyError(const std::map<std::string, int64_t>& counts) {
  std::string held;
  for (const auto& [table, rows] : counts) {
    if (rows > 0) {
      held += (held.empty() ? "" : ", ") + table + ": " + std::to_string(rows);
    }
  }
  return MakeError(ErrorCode::kInvalidState,
                   "the target store is not empty (" + held +
                       "); import only into a store that holds no rows");
}

// One statement (so one snapshot) that counts the rows of every table of kStoreTables, in
// that order, as the columns of its one row.
inline std::string CountRowsSql() {
  std::string sql = "SELECT ";
  for (const char* table : kStoreTables) {
    sql += std::string(sql.size() > 7 ? ", " : "") + "(SELECT COUNT(*) FROM " + table + ")";
  }
  return sql;
}

}  // namespace scytale::storage::internal

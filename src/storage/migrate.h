// storage/migrate.h: `scytale migrate`: copies every row of one store into another (SQLite to
// PostgreSQL, or back, or between two databases of one backend), then reads the target back
// and compares it with what was copied, table by table.
//
// Wrapped values (backing key material, access key secrets, custom key store passwords) are
// copied byte for byte, so the target must be served with the source's root keystore. This
// module knows no crypto: the caller hands in checks (from kms/ and iam/, which know how each
// value is wrapped) that run on the source's first wrapped values before anything is written.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/storage.h"

namespace scytale::storage {

// Each check returns OK when the root keystore unwraps the value, else why not. Unset checks
// are skipped.
struct RootCheck {
  // A backing key version wrapped by the root keystore (a key outside custom key stores, with
  // material).
  std::function<Status(const KeyRow& key, const KeyVersionRow& version)> key_version;
  std::function<Status(const AccessKeyRow& row)> access_key;
  std::function<Status(const CustomKeyStoreRow& row)> custom_key_store;
};

// One table, on both sides. A digest is the hex SHA-256 chained over the table's rows in export
// order (Store::ExportAll), each row encoded field by field with lengths, so equal digests mean
// equal rows in the same order: every field, ids, seq and revisions included.
struct TableReport {
  std::string table;
  int64_t source_rows = 0;   // exported from the source
  int64_t target_rows = 0;   // counted in the target (COUNT(*)) after the copy
  int64_t target_read = 0;   // read back from the target
  std::string source_digest;
  std::string target_digest;

  bool Matches() const {
    return source_rows == target_rows && source_rows == target_read &&
           source_digest == target_digest;
  }
};

struct MigrationReport {
  // What the root keystore unwrapped before the copy, e.g. "backing key version 1f2e... of key
  // 1234abcd-..."; empty when the source holds no wrapped value.
  std::vector<std::string> root_checks;
  std::vector<TableReport> tables;  // in kStoreTables order

  // The copy is committed either way; false means the target read back differs from the source.
  bool Verified() const;
};

// Copies all of `source` into `target`:
//   1. kValidation when they are the same object; kInvalidState when `target` holds any row.
//   2. Runs `root_check` on the source's first root-wrapped backing key version, custom key
//      store and access key; kInvalidState, naming the row, when a check fails. Nothing is
//      written before this point.
//   3. Copies inside one transaction on the target (Store::ImportAll) from one snapshot of the
//      source (Store::ExportAll), counting and digesting each table as it goes. On any failure
//      nothing is committed: the error says so, and says how many rows the target holds if it
//      cannot tell (a lost connection during COMMIT).
//   4. Counts and digests the target, and returns the report (see MigrationReport::Verified).
// The source should not be written during the copy: the copy is of one snapshot, and later
// writes to the source are not in the target. Thread-compatible.
Result<MigrationReport> MigrateStore(Store& source, Store& target, const RootCheck& root_check);

}  // namespace scytale::storage

// MigrateStore: a root check over the source, one transactional copy, a read-back comparison.

#include "storage/migrate.h"

#include <array>
#include <map>
#include <optional>

#include "crypto/crypto.h"
#include "storage/internal/shared.h"

namespace scytale::storage {
namespace {

// Counts and digests one table: the digest is SHA-256 chained over the rows' encodings,
// state = SHA-256(state || row), from 32 zero bytes.
class TableDigest {
 public:
  // Field encoders: a fixed tag per kind and lengths, so no two rows encode alike.
  TableDigest& Str(const std::string& v) {
    Put('s', v.size());
    row_.append(v);
    return *this;
  }
  TableDigest& Blob(const Bytes& v) {
    Put('b', v.size());
    row_.append(v.begin(), v.end());
    return *this;
  }
  TableDigest& Int(int64_t v) {
    Put('i', static_cast<uint64_t>(v));
    return *this;
  }
  TableDigest& OptInt(const std::optional<int64_t>& v) {
    if (!v) {
      row_.push_back('n');
      return *this;
    }
    return Int(*v);
  }
  TableDigest& Bool(bool v) {
    row_.push_back(v ? 't' : 'f');
    return *this;
  }
  // Ends the row.
  void Row() {
    std::string input(state_.begin(), state_.end());
    input += row_;
    state_ = crypto::Sha256(AsBytes(input));
    row_.clear();
    ++rows_;
  }

  int64_t rows() const { return rows_; }
  std::string hex() const { return HexEncode(state_); }

 private:
  void Put(char kind, uint64_t v) {
    row_.push_back(kind);
    for (int shift = 56; shift >= 0; shift -= 8) {
      row_.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }

  std::array<uint8_t, 32> state_{};
  std::string row_;
  int64_t rows_ = 0;
};

// Digests every row it is given, per table, then hands the row on to `next` (when set).
class DigestSink : public RowSink {
 public:
  explicit DigestSink(RowSink* next = nullptr) : next_(next) {}

  Status AddAccount(const AccountRow& r) override {
    T("accounts").Str(r.account_id).Int(r.created_at).Row();
    return Next(&RowSink::AddAccount, r, "account " + r.account_id);
  }
  Status AddCustomKeyStore(const CustomKeyStoreRow& r) override {
    T("custom_key_stores")
        .Str(r.custom_key_store_id).Str(r.account_id).Str(r.region).Str(r.name).Str(r.type)
        .Str(r.cloud_hsm_cluster_id).Str(r.trust_anchor_certificate).Blob(r.wrapped_password)
        .Str(r.connection_state).Str(r.connection_error_code).Int(r.creation_date)
        .Row();
    return Next(&RowSink::AddCustomKeyStore, r, "custom key store " + r.custom_key_store_id);
  }
  Status AddKey(const KeyRow& r) override {
    T("keys")
        .Int(r.seq).Str(r.key_id).Str(r.account_id).Str(r.region).Str(r.description)
        .Str(r.key_spec).Str(r.key_usage).Str(r.origin).Str(r.key_manager).Str(r.key_state)
        .Int(r.creation_date).OptInt(r.deletion_date).Bool(r.multi_region).Str(r.policy)
        .Bool(r.rotation_enabled).Int(r.rotation_period_days).OptInt(r.next_rotation_date)
        .Int(r.pending_window_days).Str(r.expiration_model).OptInt(r.valid_to)
        .Str(r.custom_key_store_id).Int(r.revision)
        .Row();
    for (const auto& [tag_key, tag_value] : r.tags) {
      T("key_tags").Str(r.key_id).Str(tag_key).Str(tag_value).Row();
    }
    return Next(&RowSink::AddKey, r, "key " + r.key_id);
  }
  Status AddKeyVersion(const KeyVersionRow& r) override {
    T("key_versions")
        .Str(r.key_id).Str(r.version_id).Int(r.created_at).Blob(r.wrapped_material)
        .Str(r.rotation_type)
        .Row();
    return Next(&RowSink::AddKeyVersion, r,
                "version " + r.version_id + " of key " + r.key_id);
  }
  Status AddAlias(const AliasRow& r) override {
    T("aliases")
        .Str(r.account_id).Str(r.region).Str(r.alias_name).Str(r.target_key_id)
        .Int(r.creation_date).Int(r.last_updated_date)
        .Row();
    return Next(&RowSink::AddAlias, r, r.alias_name + " of account " + r.account_id);
  }
  Status AddGrant(const GrantRow& r) override {
    T("grants")
        .Int(r.seq).Str(r.grant_id).Str(r.key_id).Str(r.name).Str(r.grantee_principal)
        .Str(r.retiring_principal).Str(r.issuing_account).Str(r.operations).Str(r.constraints)
        .Int(r.creation_date)
        .Row();
    return Next(&RowSink::AddGrant, r, "grant " + r.grant_id);
  }
  Status AddUser(const UserRow& r) override {
    T("iam_users").Str(r.account_id).Str(r.user_name).Str(r.user_id).Str(r.path)
        .Int(r.create_date).Row();
    return Next(&RowSink::AddUser, r, "user " + r.user_name + " of account " + r.account_id);
  }
  Status AddUserPolicy(const OwnedPolicyRow& r) override {
    Policy("iam_user_policies", r);
    return Next(&RowSink::AddUserPolicy, r,
                "policy " + r.policy.policy_name + " of user " + r.owner_name);
  }
  Status AddRole(const RoleRow& r) override {
    T("iam_roles")
        .Str(r.account_id).Str(r.role_name).Str(r.role_id).Str(r.path).Str(r.trust_policy)
        .Str(r.description).Int(r.max_session_duration).Int(r.create_date)
        .Row();
    return Next(&RowSink::AddRole, r, "role " + r.role_name + " of account " + r.account_id);
  }
  Status AddRolePolicy(const OwnedPolicyRow& r) override {
    Policy("iam_role_policies", r);
    return Next(&RowSink::AddRolePolicy, r,
                "policy " + r.policy.policy_name + " of role " + r.owner_name);
  }
  Status AddAccessKey(const AccessKeyRow& r) override {
    T("access_keys")
        .Str(r.access_key_id).Str(r.account_id).Str(r.principal_arn).Str(r.status)
        .Int(r.created_at).Blob(r.wrapped_secret).Str(r.user_name).Str(r.session_token)
        .OptInt(r.expiration)
        .Row();
    return Next(&RowSink::AddAccessKey, r, "access key " + r.access_key_id);
  }

  const TableDigest& Table(const std::string& name) { return T(name); }

 private:
  TableDigest& T(const std::string& name) { return tables_[name]; }

  void Policy(const std::string& table, const OwnedPolicyRow& r) {
    T(table).Str(r.account_id).Str(r.owner_name).Str(r.policy.policy_name)
        .Str(r.policy.document).Row();
  }

  // Hands the row on, naming it in the error (never a wrapped value: only ids and names).
  template <class Row>
  Status Next(Status (RowSink::*add)(const Row&), const Row& row, const std::string& what) {
    if (next_ == nullptr) {
      return Ok();
    }
    Status added = (next_->*add)(row);
    if (!added) {
      return MakeError(added.error().code, "cannot copy " + what + ": " + added.error().message);
    }
    return Ok();
  }

  RowSink* next_;
  std::map<std::string, TableDigest> tables_;
};

// Runs the root checks on the first wrapped value of each kind, then stops the export early
// (a stop it recognises by `finished`).
class RootCheckSink : public RowSink {
 public:
  explicit RootCheckSink(const RootCheck& check) : check_(check) {}

  Status AddAccount(const AccountRow&) override { return Ok(); }
  Status AddCustomKeyStore(const CustomKeyStoreRow& r) override {
    if (!check_.custom_key_store || store_checked_) {
      return Ok();
    }
    store_checked_ = true;
    return Run(check_.custom_key_store(r),
               "the password of custom key store " + r.custom_key_store_id);
  }
  Status AddKey(const KeyRow& r) override {
    if (check_.key_version && !version_checked_ && r.custom_key_store_id.empty()) {
      KeyRow where;  // what a check needs of the key: where it lives, for its ARN
      where.key_id = r.key_id;
      where.account_id = r.account_id;
      where.region = r.region;
      keys_.emplace(r.key_id, std::move(where));
    }
    return Ok();
  }
  Status AddKeyVersion(const KeyVersionRow& r) override {
    if (version_checked_ || r.wrapped_material.empty()) {
      return Ok();
    }
    auto key = keys_.find(r.key_id);
    if (key == keys_.end()) {
      return Ok();  // a key of a custom key store: its token holds the material
    }
    version_checked_ = true;
    Status checked = Run(check_.key_version(key->second, r),
                         "backing key version " + r.version_id + " of key " + r.key_id);
    keys_.clear();
    return checked;
  }
  Status AddAlias(const AliasRow&) override { return Ok(); }
  Status AddGrant(const GrantRow&) override { return Ok(); }
  Status AddUser(const UserRow&) override { return Ok(); }
  Status AddUserPolicy(const OwnedPolicyRow&) override { return Ok(); }
  Status AddRole(const RoleRow&) override { return Ok(); }
  Status AddRolePolicy(const OwnedPolicyRow&) override { return Ok(); }
  Status AddAccessKey(const AccessKeyRow& r) override {
    if (check_.access_key) {
      SCY_RETURN_IF_ERROR(
          Run(check_.access_key(r), "the secret of access key " + r.access_key_id));
    }
    finished = true;  // access keys come last: nothing more to check
    return MakeError(ErrorCode::kInternal, "root check finished");
  }

  bool finished = false;
  std::vector<std::string> checked;

 private:
  Status Run(const Status& result, const std::string& what) {
    if (!result) {
      return MakeError(ErrorCode::kInvalidState,
                       "the root keystore cannot unwrap " + what + " of the source (" +
                           result.error().message +
                           "); the target must be served with the root keystore the source "
                           "was served with, so migrate with that one");
    }
    checked.push_back(what);
    return Ok();
  }

  const RootCheck& check_;
  bool store_checked_ = false;
  bool version_checked_ = false;
  std::map<std::string, KeyRow> keys_;
};

Status RequireEmpty(Store& target) {
  SCY_ASSIGN_OR_RETURN(auto counts, target.CountRows());
  for (const auto& [table, rows] : counts) {
    if (rows > 0) {
      return internal::StoreNotEmptyError(counts);
    }
  }
  return Ok();
}

}  // namespace

bool MigrationReport::Verified() const {
  for (const TableReport& t : tables) {
    if (!t.Matches()) {
      return false;
    }
  }
  return !tables.empty();
}

Result<MigrationReport> MigrateStore(Store& source, Store& target, const RootCheck& root_check) {
  if (&source == &target) {
    return MakeError(ErrorCode::kValidation, "the source and the target are the same store");
  }
  SCY_RETURN_IF_ERROR(RequireEmpty(target));

  MigrationReport report;
  RootCheckSink probe(root_check);
  Status probed = source.ExportAll(probe);
  if (!probed && !probe.finished) {
    return probed.error();
  }
  report.root_checks = probe.checked;

  // Rows pass through a DigestSink on their way into the target's transaction.
  std::optional<DigestSink> copied;
  Status imported = target.ImportAll([&](RowSink& into) {
    copied.emplace(&into);
    return source.ExportAll(*copied);
  });
  if (!imported && !copied) {
    return imported.error();  // refused before copying (e.g. rows arrived meanwhile)
  }
  if (!imported) {
    auto left = target.CountRows();
    int64_t rows = 0;
    for (const auto& [table, n] : left.value_or(std::map<std::string, int64_t>{})) {
      rows += n;
    }
    std::string state =
        !left ? "whether the target holds rows could not be read (" + left.error().message +
                    "): check it, and empty it before migrating again"
        : rows == 0 ? "it was rolled back: the target is still empty"
                    : "the target holds " + std::to_string(rows) +
                          " rows: it is incomplete; empty it before migrating again";
    return MakeError(imported.error().code,
                     "the copy failed, " + state + ". " + imported.error().message);
  }

  SCY_ASSIGN_OR_RETURN(auto counts, target.CountRows());
  DigestSink read_back;
  SCY_RETURN_IF_ERROR(target.ExportAll(read_back));
  for (const char* table : kStoreTables) {
    TableReport t;
    t.table = table;
    t.source_rows = copied->Table(table).rows();
    t.source_digest = copied->Table(table).hex();
    t.target_rows = counts[table];
    t.target_read = read_back.Table(table).rows();
    t.target_digest = read_back.Table(table).hex();
    report.tables.push_back(std::move(t));
  }
  return report;
}

}  // namespace scytale::storage

// Custom key stores of type AWS_CLOUDHSM, mapped onto PKCS#11 tokens: CreateCustomKeyStore,
// ConnectCustomKeyStore, DisconnectCustomKeyStore, DescribeCustomKeyStores,
// UpdateCustomKeyStore, DeleteCustomKeyStore, and what keys in such a store need (creation in
// the token, crypto inside it, the Unavailable state, random bytes, destruction).
//
// The KeyStorePassword (the token user's PIN) is kept only wrapped by the root keystore, bound
// to the store's account, region and id; it is never returned, logged or audited.
#include "kms/internal/custom_key_stores.h"

#include "common/encoding.h"
#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr size_t kMaxStoresPerAccountAndRegion = 10;
constexpr size_t kStoreIdHexChars = 17;
constexpr int kMaxDescribeLimit = 1000;
constexpr const char* kCloudHsmType = "AWS_CLOUDHSM";
constexpr const char* kConnected = "CONNECTED";
constexpr const char* kDisconnected = "DISCONNECTED";
constexpr const char* kFailed = "FAILED";

Error StoreNotFound(const std::string& id) {
  return MakeError(ErrorCode::kCustomKeyStoreNotFound,
                   "Custom key store '" + id + "' does not exist.");
}

Error ClusterNotFound(const std::string& cluster_id) {
  return MakeError(ErrorCode::kCloudHsmClusterNotFound,
                   "AWS CloudHSM cluster '" + cluster_id +
                       "' is not found: it is not a cluster this server is configured with.");
}

Error ClusterInUse(const std::string& cluster_id) {
  return MakeError(ErrorCode::kCloudHsmClusterInUse,
                   "AWS CloudHSM cluster '" + cluster_id +
                       "' is already associated with a custom key store.");
}

Error NameInUse(const std::string& name) {
  return MakeError(ErrorCode::kCustomKeyStoreNameInUse,
                   "Custom key store name '" + name + "' is already in use in this account.");
}

Error XksMembersUnsupported() {
  return MakeError(ErrorCode::kValidation,
                   "XksProxy parameters are valid only for custom key stores of type "
                   "EXTERNAL_KEY_STORE.");
}

// Binds a wrapped KeyStorePassword to its store.
Bytes PasswordAad(const storage::CustomKeyStoreRow& row) {
  std::string aad = "scytale:custom-key-store-password:" + row.account_id + ":" + row.region +
                    ":" + row.custom_key_store_id;
  return Bytes(aad.begin(), aad.end());
}

Result<storage::CustomKeyStoreRow> GetStore(Core& core, const CallContext& ctx,
                                            const std::string& id) {
  SCY_ASSIGN_OR_RETURN(auto row, core.store()->GetCustomKeyStore(ctx.account_id, ctx.region, id));
  if (!row) {
    return StoreNotFound(id);
  }
  return std::move(*row);
}

// AWS's ConnectionErrorCode for a token that would not open.
std::string ConnectionErrorCode(keystore::TokenFailure failure) {
  switch (failure) {
    case keystore::TokenFailure::kModuleUnavailable:
      return "NETWORK_ERRORS";
    case keystore::TokenFailure::kTokenNotFound:
      return "CLUSTER_NOT_FOUND";
    case keystore::TokenFailure::kPinIncorrect:
      return "INVALID_CREDENTIALS";
    case keystore::TokenFailure::kPinLocked:
      return "USER_LOCKED_OUT";
    case keystore::TokenFailure::kUserPinNotInitialized:
      return "USER_NOT_FOUND";
    case keystore::TokenFailure::kNone:
    case keystore::TokenFailure::kOther:
      break;
  }
  return "INTERNAL_ERROR";
}

// Logs in to the store's token with its password. On failure the token is null and
// `error_code` is the ConnectionErrorCode to record.
struct OpenedToken {
  std::shared_ptr<keystore::TokenKeys> token;
  std::string error_code;
};

OpenedToken OpenToken(Core& core, const storage::CustomKeyStoreRow& row) {
  std::optional<CloudHsmCluster> cluster = core.key_stores().Cluster(row.cloud_hsm_cluster_id);
  if (!cluster) {
    return {nullptr, "CLUSTER_NOT_FOUND"};
  }
  auto pin = core.root()->Unwrap(row.wrapped_password, PasswordAad(row));
  if (!pin) {
    return {nullptr, "INTERNAL_ERROR"};
  }
  keystore::Pkcs11TokenOptions options;
  options.module = cluster->module;
  options.token_label = cluster->token_label;
  options.pin = std::move(*pin);
  keystore::TokenFailure failure = keystore::TokenFailure::kNone;
  auto token = keystore::OpenPkcs11TokenKeys(options, &failure);
  if (!token) {
    return {nullptr, ConnectionErrorCode(failure)};
  }
  return {std::shared_ptr<keystore::TokenKeys>(std::move(*token)), ""};
}

// Opens the token of a store that should be connected and records the outcome in its row:
// CONNECTED, or FAILED with the error code. The caller holds key_stores().state_mutex().
Result<OpenedToken> ConnectLocked(Core& core, storage::CustomKeyStoreRow row) {
  OpenedToken opened = OpenToken(core, row);
  if (opened.token) {
    core.key_stores().Put(row.custom_key_store_id, opened.token);
    row.connection_state = kConnected;
    row.connection_error_code.clear();
  } else {
    core.key_stores().Drop(row.custom_key_store_id);
    row.connection_state = kFailed;
    row.connection_error_code = opened.error_code;
  }
  SCY_RETURN_IF_ERROR(core.store()->UpdateCustomKeyStore(row));
  return opened;
}

// The token of a store, when its row says CONNECTED: this node's, or opened now (after a
// restart, or when another node connected it). Null when the store is not connected.
Result<std::shared_ptr<keystore::TokenKeys>> ConnectedToken(
    Core& core, const storage::CustomKeyStoreRow& row) {
  if (row.connection_state != kConnected) {
    return std::shared_ptr<keystore::TokenKeys>();
  }
  if (auto token = core.key_stores().Find(row.custom_key_store_id)) {
    return token;
  }
  std::lock_guard lock(core.key_stores().state_mutex());
  if (auto token = core.key_stores().Find(row.custom_key_store_id)) {
    return token;
  }
  SCY_ASSIGN_OR_RETURN(auto fresh, core.store()->GetCustomKeyStore(row.account_id, row.region,
                                                                   row.custom_key_store_id));
  if (!fresh || fresh->connection_state != kConnected) {
    return std::shared_ptr<keystore::TokenKeys>();
  }
  SCY_ASSIGN_OR_RETURN(OpenedToken opened, ConnectLocked(core, std::move(*fresh)));
  return opened.token;
}

// The connected token holding a key's material; kInvalidState "<arn> is unavailable." when its
// store is not connected (the key state table's Unavailable row).
Result<std::shared_ptr<keystore::TokenKeys>> TokenOfKey(Core& core, const storage::KeyRow& key) {
  std::shared_ptr<keystore::TokenKeys> token = core.key_stores().Find(key.custom_key_store_id);
  if (token && core.key_stores().TakeStale(key.custom_key_store_id)) {
    // The store's row changed (here or through another node) since the token was opened: a
    // store disconnected elsewhere is closed here too.
    SCY_ASSIGN_OR_RETURN(auto row, core.store()->GetCustomKeyStore(key.account_id, key.region,
                                                                   key.custom_key_store_id));
    if (!row || row->connection_state != kConnected) {
      core.key_stores().Drop(key.custom_key_store_id);
      token = nullptr;
    }
  }
  if (!token) {
    SCY_ASSIGN_OR_RETURN(auto row, core.store()->GetCustomKeyStore(key.account_id, key.region,
                                                                   key.custom_key_store_id));
    if (row) {
      SCY_ASSIGN_OR_RETURN(token, ConnectedToken(core, *row));
    }
  }
  if (!token) {
    return MakeError(ErrorCode::kInvalidState, Arn(key) + " is unavailable.");
  }
  return token;
}

Result<std::string> NewStoreId() {
  SCY_ASSIGN_OR_RETURN(Bytes random, crypto::RandomBytes((kStoreIdHexChars + 1) / 2));
  return "cks-" + HexEncode(random).substr(0, kStoreIdHexChars);
}

// The trust anchor as DER: IncorrectTrustAnchorException when it is no certificate.
Result<Bytes> TrustAnchorDer(const std::string& pem) {
  auto der = crypto::CertificatePemToDer(pem);
  if (!der) {
    return MakeError(ErrorCode::kIncorrectTrustAnchor,
                     "The TrustAnchorCertificate is not a PEM-encoded X.509 certificate.");
  }
  return der;
}

CustomKeyStoreEntry EntryOf(const storage::CustomKeyStoreRow& row) {
  CustomKeyStoreEntry e;
  e.custom_key_store_id = row.custom_key_store_id;
  e.custom_key_store_name = row.name;
  e.cloud_hsm_cluster_id = row.cloud_hsm_cluster_id;
  e.trust_anchor_certificate = row.trust_anchor_certificate;
  e.connection_state = row.connection_state;
  e.connection_error_code = row.connection_state == kFailed ? row.connection_error_code : "";
  e.creation_date = row.creation_date;
  e.custom_key_store_type = row.type;
  return e;
}

}  // namespace

void KeyStoreConnections::Configure(std::vector<CloudHsmCluster> clusters) {
  std::lock_guard lock(mu_);
  clusters_.clear();
  for (auto& c : clusters) {
    std::string id = c.cluster_id;
    clusters_.emplace(std::move(id), std::move(c));
  }
}

std::optional<CloudHsmCluster> KeyStoreConnections::Cluster(const std::string& cluster_id) const {
  std::lock_guard lock(mu_);
  auto it = clusters_.find(cluster_id);
  if (it == clusters_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::shared_ptr<keystore::TokenKeys> KeyStoreConnections::Find(const std::string& store_id) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(store_id);
  return it == open_.end() ? nullptr : it->second;
}

void KeyStoreConnections::MarkStale(const std::string& store_id) {
  std::lock_guard lock(mu_);
  if (open_.contains(store_id)) {
    stale_.insert(store_id);
  }
}

void KeyStoreConnections::MarkAllStale() {
  std::lock_guard lock(mu_);
  for (const auto& [id, token] : open_) {
    stale_.insert(id);
  }
}

bool KeyStoreConnections::TakeStale(const std::string& store_id) {
  std::lock_guard lock(mu_);
  return stale_.erase(store_id) > 0;
}

void KeyStoreConnections::Put(const std::string& store_id,
                              std::shared_ptr<keystore::TokenKeys> token) {
  std::lock_guard lock(mu_);
  open_[store_id] = std::move(token);
}

void KeyStoreConnections::Drop(const std::string& store_id) {
  std::shared_ptr<keystore::TokenKeys> dropped;
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(store_id);
    if (it == open_.end()) {
      return;
    }
    dropped = std::move(it->second);
    open_.erase(it);
  }
  // `dropped` closes its sessions here, outside mu_, once no operation holds it.
}

Result<std::string> CreateCustomKeyStore(Core& core, const CallContext& ctx,
                                         const CreateCustomKeyStoreRequest& req) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:CreateCustomKeyStore"}));
  const std::string type = req.custom_key_store_type.value_or(kCloudHsmType);
  if (type != kCloudHsmType) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "Custom key stores of type " + type + " are not supported by this server.");
  }
  if (req.has_xks_members) {
    return XksMembersUnsupported();
  }
  if (!req.cloud_hsm_cluster_id || !req.trust_anchor_certificate || !req.key_store_password) {
    return MakeError(ErrorCode::kValidation,
                     "CloudHsmClusterId, TrustAnchorCertificate and KeyStorePassword are required "
                     "for a custom key store of type AWS_CLOUDHSM.");
  }
  std::optional<CloudHsmCluster> cluster = core.key_stores().Cluster(*req.cloud_hsm_cluster_id);
  if (!cluster) {
    return ClusterNotFound(*req.cloud_hsm_cluster_id);
  }
  SCY_ASSIGN_OR_RETURN(Bytes anchor, TrustAnchorDer(*req.trust_anchor_certificate));
  if (cluster->trust_anchor_pem) {
    SCY_ASSIGN_OR_RETURN(Bytes expected, crypto::CertificatePemToDer(*cluster->trust_anchor_pem));
    if (anchor != expected) {
      return MakeError(ErrorCode::kIncorrectTrustAnchor,
                       "The TrustAnchorCertificate is not the trust anchor certificate of AWS "
                       "CloudHSM cluster '" + cluster->cluster_id + "'.");
    }
  }

  std::lock_guard lock(core.key_stores().state_mutex());
  SCY_ASSIGN_OR_RETURN(auto all, core.store()->ListCustomKeyStores(std::nullopt, ""));
  size_t mine = 0;
  for (const auto& s : all) {
    if (s.cloud_hsm_cluster_id == cluster->cluster_id) {
      return ClusterInUse(cluster->cluster_id);
    }
    if (s.account_id == ctx.account_id && s.region == ctx.region) {
      if (s.name == req.custom_key_store_name) {
        return NameInUse(req.custom_key_store_name);
      }
      ++mine;
    }
  }
  if (mine >= kMaxStoresPerAccountAndRegion) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "An account can have at most " +
                         std::to_string(kMaxStoresPerAccountAndRegion) +
                         " custom key stores in a Region.");
  }
  storage::CustomKeyStoreRow row;
  SCY_ASSIGN_OR_RETURN(row.custom_key_store_id, NewStoreId());
  row.account_id = ctx.account_id;
  row.region = ctx.region;
  row.name = req.custom_key_store_name;
  row.type = kCloudHsmType;
  row.cloud_hsm_cluster_id = cluster->cluster_id;
  row.trust_anchor_certificate = *req.trust_anchor_certificate;
  SCY_ASSIGN_OR_RETURN(row.wrapped_password,
                       core.root()->Wrap(*req.key_store_password, PasswordAad(row)));
  row.connection_state = kDisconnected;
  row.creation_date = core.clock().NowSeconds();
  Status inserted = core.store()->InsertCustomKeyStore(row);
  if (!inserted && inserted.error().code == ErrorCode::kAlreadyExists) {
    // Another node took the name or cluster between the check and the insert.
    return NameInUse(req.custom_key_store_name);
  }
  SCY_RETURN_IF_ERROR(inserted);
  return row.custom_key_store_id;
}

Status ConnectCustomKeyStore(Core& core, const CallContext& ctx, const std::string& id) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:ConnectCustomKeyStore"}));
  std::lock_guard lock(core.key_stores().state_mutex());
  SCY_ASSIGN_OR_RETURN(storage::CustomKeyStoreRow row, GetStore(core, ctx, id));
  if (row.connection_state == kFailed) {
    return MakeError(ErrorCode::kCustomKeyStoreInvalidState,
                     "Custom key store '" + id +
                         "' failed to connect (" + row.connection_error_code +
                         "). Disconnect it, correct the error, then connect it again.");
  }
  if (row.connection_state == kConnected && core.key_stores().Find(id)) {
    return Ok();  // already connected
  }
  // Connecting is asynchronous in AWS: a failure shows in DescribeCustomKeyStores (FAILED and
  // its ConnectionErrorCode), not as an error of this call.
  SCY_RETURN_IF_ERROR(ConnectLocked(core, std::move(row)));
  return Ok();
}

Status DisconnectCustomKeyStore(Core& core, const CallContext& ctx, const std::string& id) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:DisconnectCustomKeyStore"}));
  std::lock_guard lock(core.key_stores().state_mutex());
  SCY_ASSIGN_OR_RETURN(storage::CustomKeyStoreRow row, GetStore(core, ctx, id));
  if (row.connection_state == kDisconnected) {
    return MakeError(ErrorCode::kCustomKeyStoreInvalidState,
                     "Custom key store '" + id + "' is already disconnected.");
  }
  core.key_stores().Drop(id);
  row.connection_state = kDisconnected;
  row.connection_error_code.clear();
  return core.store()->UpdateCustomKeyStore(row);
}

Result<DescribeCustomKeyStoresResponse> DescribeCustomKeyStores(
    Core& core, const CallContext& ctx, const DescribeCustomKeyStoresRequest& req) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:DescribeCustomKeyStores"}));
  if (req.custom_key_store_id && req.custom_key_store_name) {
    return MakeError(ErrorCode::kValidation,
                     "Specify either CustomKeyStoreId or CustomKeyStoreName, not both.");
  }
  SCY_ASSIGN_OR_RETURN(auto rows, core.store()->ListCustomKeyStores(ctx.account_id, ctx.region));
  if (req.custom_key_store_id || req.custom_key_store_name) {
    std::erase_if(rows, [&](const storage::CustomKeyStoreRow& r) {
      return req.custom_key_store_id ? r.custom_key_store_id != *req.custom_key_store_id
                                     : r.name != *req.custom_key_store_name;
    });
    if (rows.empty()) {
      return req.custom_key_store_id
                 ? StoreNotFound(*req.custom_key_store_id)
                 : MakeError(ErrorCode::kCustomKeyStoreNotFound,
                             "Custom key store with name '" + *req.custom_key_store_name +
                                 "' does not exist.");
    }
  }
  size_t start = 0;
  if (req.marker) {
    auto after = ParseMarker(*req.marker);
    auto it = after ? std::find_if(rows.begin(), rows.end(),
                                   [&](const auto& r) { return r.custom_key_store_id == *after; })
                    : rows.end();
    if (it == rows.end()) {
      return MakeError(ErrorCode::kInvalidMarker, "Invalid marker: " + *req.marker);
    }
    start = static_cast<size_t>(it - rows.begin()) + 1;
  }
  const size_t limit = static_cast<size_t>(req.limit.value_or(kMaxDescribeLimit));
  DescribeCustomKeyStoresResponse out;
  for (size_t i = start; i < rows.size() && out.custom_key_stores.size() < limit; ++i) {
    out.custom_key_stores.push_back(EntryOf(rows[i]));
  }
  out.truncated = start + out.custom_key_stores.size() < rows.size();
  if (out.truncated) {
    out.next_marker = MakeMarker(out.custom_key_stores.back().custom_key_store_id);
  }
  return out;
}

Status UpdateCustomKeyStore(Core& core, const CallContext& ctx,
                            const UpdateCustomKeyStoreRequest& req) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:UpdateCustomKeyStore"}));
  if (req.has_xks_members) {
    return XksMembersUnsupported();
  }
  std::lock_guard lock(core.key_stores().state_mutex());
  SCY_ASSIGN_OR_RETURN(storage::CustomKeyStoreRow row,
                       GetStore(core, ctx, req.custom_key_store_id));
  // Only the name may change while the store is not disconnected.
  if ((req.key_store_password || req.cloud_hsm_cluster_id) &&
      row.connection_state != kDisconnected) {
    return MakeError(ErrorCode::kCustomKeyStoreInvalidState,
                     "Custom key store '" + row.custom_key_store_id + "' is " +
                         row.connection_state +
                         ": disconnect it before changing its KeyStorePassword or "
                         "CloudHsmClusterId.");
  }
  SCY_ASSIGN_OR_RETURN(auto all, core.store()->ListCustomKeyStores(std::nullopt, ""));
  if (req.new_custom_key_store_name && *req.new_custom_key_store_name != row.name) {
    for (const auto& s : all) {
      if (s.account_id == row.account_id && s.region == row.region &&
          s.name == *req.new_custom_key_store_name) {
        return NameInUse(*req.new_custom_key_store_name);
      }
    }
    row.name = *req.new_custom_key_store_name;
  }
  if (req.cloud_hsm_cluster_id && *req.cloud_hsm_cluster_id != row.cloud_hsm_cluster_id) {
    std::optional<CloudHsmCluster> cluster = core.key_stores().Cluster(*req.cloud_hsm_cluster_id);
    if (!cluster) {
      return ClusterNotFound(*req.cloud_hsm_cluster_id);
    }
    for (const auto& s : all) {
      if (s.cloud_hsm_cluster_id == cluster->cluster_id) {
        return ClusterInUse(cluster->cluster_id);
      }
    }
    // A related cluster shares the store's trust anchor (in AWS, its backup history). Where the
    // new cluster's anchor is not configured, relatedness cannot be checked here; connecting
    // then finds whether the token holds the store's keys.
    if (cluster->trust_anchor_pem) {
      SCY_ASSIGN_OR_RETURN(Bytes expected,
                           crypto::CertificatePemToDer(*cluster->trust_anchor_pem));
      auto anchor = crypto::CertificatePemToDer(row.trust_anchor_certificate);
      if (!anchor || *anchor != expected) {
        return MakeError(ErrorCode::kCloudHsmClusterNotRelated,
                         "AWS CloudHSM cluster '" + cluster->cluster_id +
                             "' does not share the trust anchor of custom key store '" +
                             row.custom_key_store_id + "'.");
      }
    }
    row.cloud_hsm_cluster_id = cluster->cluster_id;
  }
  if (req.key_store_password) {
    SCY_ASSIGN_OR_RETURN(row.wrapped_password,
                         core.root()->Wrap(*req.key_store_password, PasswordAad(row)));
  }
  Status updated = core.store()->UpdateCustomKeyStore(row);
  if (!updated && updated.error().code == ErrorCode::kAlreadyExists) {
    return NameInUse(row.name);
  }
  if (!updated && updated.error().code == ErrorCode::kNotFound) {
    return StoreNotFound(row.custom_key_store_id);
  }
  return updated;
}

Status DeleteCustomKeyStore(Core& core, const CallContext& ctx, const std::string& id) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:DeleteCustomKeyStore"}));
  std::lock_guard lock(core.key_stores().state_mutex());
  SCY_ASSIGN_OR_RETURN(storage::CustomKeyStoreRow row, GetStore(core, ctx, id));
  if (row.connection_state != kDisconnected) {
    return MakeError(ErrorCode::kCustomKeyStoreInvalidState,
                     "Custom key store '" + id + "' is " + row.connection_state +
                         ": disconnect it before deleting it.");
  }
  Status deleted = core.store()->DeleteCustomKeyStore(ctx.account_id, ctx.region, id);
  if (!deleted && deleted.error().code == ErrorCode::kInvalidState) {
    return MakeError(ErrorCode::kCustomKeyStoreHasCmks,
                     "Custom key store '" + id +
                         "' contains KMS keys. Schedule their deletion and wait until they are "
                         "deleted before deleting the custom key store.");
  }
  if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
    return StoreNotFound(id);
  }
  return deleted;
}

Result<CustomKeyStoreRestoreReport> RestoreCustomKeyStoreConnections(Core& core) {
  CustomKeyStoreRestoreReport report;
  SCY_ASSIGN_OR_RETURN(auto rows, core.store()->ListCustomKeyStores(std::nullopt, ""));
  std::lock_guard lock(core.key_stores().state_mutex());
  for (auto& row : rows) {
    if (row.connection_state != kConnected || core.key_stores().Find(row.custom_key_store_id)) {
      continue;
    }
    const std::string id = row.custom_key_store_id;
    SCY_ASSIGN_OR_RETURN(OpenedToken opened, ConnectLocked(core, std::move(row)));
    if (opened.token) {
      ++report.connected;
    } else {
      report.failures.push_back(id + ": " + opened.error_code);
    }
  }
  return report;
}

Status CheckKeyInCustomKeyStore(Core& core, const CallContext& ctx, const CreateKeyRequest& req,
                                const std::string& origin, const std::string& spec,
                                const std::string& usage) {
  if (!req.custom_key_store_id) {
    return MakeError(ErrorCode::kValidation,
                     "A KMS key with Origin AWS_CLOUDHSM needs the CustomKeyStoreId of the AWS "
                     "CloudHSM key store to create it in.");
  }
  if (origin != kCloudHsmOrigin) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "To create a KMS key in an AWS CloudHSM key store, Origin must be "
                     "AWS_CLOUDHSM.");
  }
  if (spec != kSymmetricDefault || usage != "ENCRYPT_DECRYPT" || req.multi_region) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "A custom key store holds only single-Region symmetric encryption KMS keys "
                     "(KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT).");
  }
  if (req.material_for_seeding) {
    return MakeError(ErrorCode::kValidation,
                     "Seeded material cannot be given to a key in a custom key store.");
  }
  SCY_ASSIGN_OR_RETURN(storage::CustomKeyStoreRow row,
                       GetStore(core, ctx, *req.custom_key_store_id));
  SCY_ASSIGN_OR_RETURN(auto token, ConnectedToken(core, row));
  if (!token) {
    return MakeError(ErrorCode::kCustomKeyStoreInvalidState,
                     "Custom key store '" + row.custom_key_store_id +
                         "' is not connected; connect it (ConnectCustomKeyStore) to create KMS "
                         "keys in it.");
  }
  return Ok();
}

Result<KeyMetadata> InsertKeyInCustomKeyStore(Core& core, storage::KeyRow row) {
  SCY_ASSIGN_OR_RETURN(auto token, TokenOfKey(core, row));
  SCY_RETURN_IF_ERROR(token->GenerateKey(row.key_id));
  storage::KeyVersionRow version;
  version.key_id = row.key_id;
  SCY_ASSIGN_OR_RETURN(Bytes id, crypto::RandomBytes(kVersionIdSize));
  version.version_id = HexEncode(id);
  version.created_at = row.creation_date;
  // The material is the token object labelled with the key id; the row only names it.
  const std::string object = "pkcs11-token-object:" + row.key_id;
  version.wrapped_material.assign(object.begin(), object.end());
  Status inserted = core.store()->InsertKey(row, version);
  if (!inserted) {
    (void)token->DestroyKey(row.key_id);
    if (inserted.error().code == ErrorCode::kNotFound) {  // the store was deleted meanwhile
      return StoreNotFound(row.custom_key_store_id);
    }
    return inserted.error();
  }
  return core.Metadata(row);
}

Result<Bytes> SealInCustomKeyStore(Core& core, const storage::KeyRow& key,
                                   const std::string& version_id,
                                   std::span<const uint8_t> plaintext,
                                   const EncryptionContext& context) {
  SCY_ASSIGN_OR_RETURN(auto token, TokenOfKey(core, key));
  return SealBlobWith({Arn(key), version_id}, plaintext, context,
                      [&](std::span<const uint8_t>, std::span<const uint8_t> iv,
                          std::span<const uint8_t> aad, std::span<const uint8_t> pt) {
                        return token->Encrypt(key.key_id, iv, aad, pt);
                      });
}

Result<crypto::SecretBytes> OpenInCustomKeyStore(Core& core, const storage::KeyRow& key,
                                                 const ParsedBlob& blob,
                                                 const EncryptionContext& context) {
  SCY_ASSIGN_OR_RETURN(auto token, TokenOfKey(core, key));
  return OpenBlobWith(blob, context,
                      [&](std::span<const uint8_t>, std::span<const uint8_t> iv,
                          std::span<const uint8_t> aad, std::span<const uint8_t> sealed) {
                        return token->Decrypt(key.key_id, iv, aad, sealed);
                      });
}

Result<std::string> EffectiveKeyState(Core& core, const storage::KeyRow& key) {
  if (key.custom_key_store_id.empty() ||
      (key.key_state != "Enabled" && key.key_state != "Disabled")) {
    return key.key_state;
  }
  auto token = TokenOfKey(core, key);
  if (!token) {
    if (token.error().code != ErrorCode::kInvalidState) {
      return token.error();
    }
    return std::string("Unavailable");
  }
  return key.key_state;
}

Status AddCustomKeyStoreMetadata(Core& core, const storage::KeyRow& key, KeyMetadata* out) {
  SCY_ASSIGN_OR_RETURN(auto row, core.store()->GetCustomKeyStore(key.account_id, key.region,
                                                                 key.custom_key_store_id));
  out->custom_key_store_id = key.custom_key_store_id;
  out->cloud_hsm_cluster_id = row ? row->cloud_hsm_cluster_id : "";
  SCY_ASSIGN_OR_RETURN(out->key_state, EffectiveKeyState(core, key));
  out->enabled = out->key_state == "Enabled";
  return Ok();
}

Result<crypto::SecretBytes> RandomFromCustomKeyStore(Core& core, const CallContext& ctx,
                                                     const std::string& store_id, size_t size) {
  SCY_ASSIGN_OR_RETURN(storage::CustomKeyStoreRow row, GetStore(core, ctx, store_id));
  SCY_ASSIGN_OR_RETURN(auto token, ConnectedToken(core, row));
  if (!token) {
    return MakeError(ErrorCode::kCustomKeyStoreInvalidState,
                     "Custom key store '" + store_id + "' is not connected.");
  }
  return token->GenerateRandom(size);
}

void DestroyCustomKeyStoreMaterial(Core& core, const storage::KeyRow& key) {
  auto token = TokenOfKey(core, key);
  if (token) {
    (void)(*token)->DestroyKey(key.key_id);
  }
}

}  // namespace scytale::kms::internal

namespace scytale::kms {

Status CheckRootUnwrapsCustomKeyStorePassword(keystore::RootKeystore& root,
                                              const storage::CustomKeyStoreRow& row) {
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes password,
                       root.Unwrap(row.wrapped_password, internal::PasswordAad(row)));
  return Ok();
}

}  // namespace scytale::kms

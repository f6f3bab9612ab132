#include "kms/internal/core.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/ids.h"
#include "kms/internal/custom_key_stores.h"
#include "kms/internal/key_id.h"
#include "kms/internal/key_spec.h"

namespace scytale::kms::internal {
namespace {

constexpr size_t kBackingKeyCacheEntries = 10000;
constexpr std::chrono::seconds kBackingKeyCacheTtl{300};
constexpr std::string_view kMarkerPrefix = "scy1:";
constexpr size_t kPrivateKeyCacheEntries = 1000;

// Optimistic writes to one key (tags, policy, state) that lose to another writer re-read and
// retry. Immediate retries let one writer lose every round to the others (four concurrent
// TagResource calls on one key failed this way under ASan's slower timing), so a loser first
// waits a random time under a doubling cap, as the AWS SDKs back off: 1, 2, 4 ... 32 ms, at most
// about 220 ms over all attempts. With several nodes (PostgreSQL) many writers of one key really
// run at once, and each round lets one through.
constexpr int kUpdateAttempts = 12;
constexpr std::chrono::microseconds kFirstConflictBackoff{1000};
constexpr int kMaxBackoffDoublings = 5;

void BackOffAfterConflict(int attempt) {
  thread_local std::minstd_rand jitter{std::random_device{}()};
  auto cap = kFirstConflictBackoff * (int64_t{1} << std::min(attempt, kMaxBackoffDoublings));
  std::uniform_int_distribution<int64_t> pick(0, cap.count());
  std::this_thread::sleep_for(std::chrono::microseconds(pick(jitter)));
}

}  // namespace

size_t CodePoints(std::string_view utf8) {
  return static_cast<size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string Arn(const storage::KeyRow& row) {
  return KeyArn(row.region, row.account_id, row.key_id);
}

Core::Core(storage::Store* store, keystore::RootKeystore* root, std::shared_ptr<Clock> clock)
    : store_(store),
      root_(root),
      clock_(clock),
      cache_(kBackingKeyCacheEntries, kBackingKeyCacheTtl, clock),
      authorizer_(store, clock),
      key_stores_(std::make_shared<KeyStoreConnections>()) {}

Result<std::optional<storage::KeyRow>> Core::GetKey(const std::string& account_id,
                                                    const std::string& region,
                                                    const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(auto row, store_->GetKey(account_id, region, key_id));
  if (row && row->valid_to && *row->valid_to <= clock_->NowSeconds() &&
      (row->key_state == "Enabled" || row->key_state == "Disabled")) {
    row->key_state = "PendingImport";
  }
  return row;
}

Result<storage::KeyRow> Core::ResolveKey(const CallContext& ctx, const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(KeyRef ref, ParseKeyRef(key_id, ctx));
  if (ref.account_id != ctx.account_id) {
    // Cross-account use arrives with key policies; until then another account's key is not
    // visible at all.
    return MakeError(ErrorCode::kNotFound,
                     "Key '" + KeyArn(ref.region, ref.account_id, ref.id) + "' does not exist");
  }
  if (ref.is_alias) {
    SCY_ASSIGN_OR_RETURN(auto alias, store_->GetAlias(ref.account_id, ref.region, ref.id));
    if (!alias) {
      return MakeError(ErrorCode::kNotFound, "Alias arn:aws:kms:" + ref.region + ":" +
                                                 ref.account_id + ":" + ref.id +
                                                 " is not found.");
    }
    ref.id = alias->target_key_id;
  }
  SCY_ASSIGN_OR_RETURN(auto row, GetKey(ref.account_id, ref.region, ref.id));
  if (!row) {
    return MakeError(ErrorCode::kNotFound,
                     "Key '" + KeyArn(ref.region, ref.account_id, ref.id) + "' does not exist");
  }
  return std::move(*row);
}

Result<storage::KeyRow> Core::ResolveKeyIdOrArn(const CallContext& ctx,
                                                const std::string& key_id) {
  if (key_id.starts_with("alias/") ||
      (key_id.starts_with("arn:") && key_id.find(":alias/") != std::string::npos)) {
    return MakeError(ErrorCode::kNotFound, "Invalid keyId '" + key_id + "'");
  }
  return ResolveKey(ctx, key_id);
}

Result<storage::KeyRow> Core::UpdateKey(const storage::KeyRow& key,
                                        const std::function<Status(storage::KeyRow&)>& mutate) {
  return UpdateKeyWith(key, mutate,
                       [this](const storage::KeyRow& row) { return store_->UpdateKey(row); });
}

Result<storage::KeyRow> Core::UpdateKeyWith(
    const storage::KeyRow& key, const std::function<Status(storage::KeyRow&)>& mutate,
    const std::function<Status(const storage::KeyRow&)>& write) {
  auto lock = LockKeyWrites(key.key_id);
  storage::KeyRow row = key;
  for (int attempt = 0;; ++attempt) {
    SCY_RETURN_IF_ERROR(mutate(row));
    Status written = write(row);
    if (written) {
      cache_.Invalidate(row.key_id);
      ++row.revision;
      return row;
    }
    if (written.error().code != ErrorCode::kConflict || attempt + 1 == kUpdateAttempts) {
      return written.error();
    }
    BackOffAfterConflict(attempt);
    SCY_ASSIGN_OR_RETURN(auto fresh, GetKey(key.account_id, key.region, key.key_id));
    if (!fresh) {
      return MakeError(ErrorCode::kNotFound, "Key '" + Arn(key) + "' does not exist");
    }
    row = std::move(*fresh);
  }
}

Result<std::shared_ptr<const crypto::SecretBytes>> Core::BackingKey(
    const std::string& arn, const storage::KeyVersionRow& version) {
  if (auto hit = cache_.Get(version.key_id, version.version_id)) {
    return hit;
  }
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes material,
                       root_->Unwrap(version.wrapped_material,
                                     BackingKeyAad(arn, version.version_id)));
  auto shared = std::make_shared<const crypto::SecretBytes>(std::move(material));
  cache_.Put(version.key_id, version.version_id, shared);
  return shared;
}

Result<storage::KeyVersionRow> Core::NewBackingVersion(const storage::KeyRow& key,
                                                       std::string rotation_type,
                                                       const crypto::SecretBytes* material) {
  storage::KeyVersionRow version;
  version.key_id = key.key_id;
  if (material == nullptr) {
    SCY_ASSIGN_OR_RETURN(Bytes id, crypto::RandomBytes(32));
    version.version_id = HexEncode(id);
  } else {
    // Given material (seeding) gets an id derived from it and the key, so that the same seed
    // file yields the same ciphertext headers, and so decryptable ciphertexts, on any data
    // directory. The HMAC reveals nothing of the material.
    std::string label = "scytale:seeded-version:" + Arn(key);
    version.version_id =
        HexEncode(crypto::HmacSha256(material->Reveal(crypto::KeyAccess::Grant()), AsBytes(label)));
  }
  version.created_at = clock_->NowSeconds();
  version.rotation_type = std::move(rotation_type);
  crypto::SecretBytes fresh;
  if (material == nullptr) {
    SCY_ASSIGN_OR_RETURN(fresh, NewKeyMaterial(key.key_spec));
    material = &fresh;
  }
  SCY_ASSIGN_OR_RETURN(version.wrapped_material,
                       root_->Wrap(*material, BackingKeyAad(Arn(key), version.version_id)));
  return version;
}

Result<Core::CurrentMaterial> Core::CurrentKeyMaterial(const storage::KeyRow& key) {
  SCY_ASSIGN_OR_RETURN(auto current, store_->GetCurrentKeyVersion(key.key_id));
  if (!current) {
    return MakeError(ErrorCode::kInternal, "key " + key.key_id + " has no backing key");
  }
  SCY_ASSIGN_OR_RETURN(auto material, BackingKey(Arn(key), *current));
  return CurrentMaterial{current->version_id, std::move(material)};
}

Result<std::shared_ptr<const crypto::PrivateKey>> Core::PrivateKeyOf(const storage::KeyRow& key) {
  SCY_ASSIGN_OR_RETURN(auto current, store_->GetCurrentKeyVersion(key.key_id));
  if (!current) {
    return MakeError(ErrorCode::kInternal, "key " + key.key_id + " has no backing key");
  }
  {
    std::lock_guard lock(private_keys_mu_);
    auto it = private_keys_.find(current->version_id);
    if (it != private_keys_.end()) {
      return it->second;
    }
  }
  SCY_ASSIGN_OR_RETURN(auto material, BackingKey(Arn(key), *current));
  SCY_ASSIGN_OR_RETURN(crypto::PrivateKey parsed, crypto::PrivateKey::FromPkcs8(*material));
  auto shared = std::make_shared<const crypto::PrivateKey>(std::move(parsed));
  std::lock_guard lock(private_keys_mu_);
  if (private_keys_.size() >= kPrivateKeyCacheEntries) {
    private_keys_.clear();  // bounded; the store is the truth
  }
  private_keys_[current->version_id] = shared;
  return shared;
}

Result<KeyMetadata> Core::Metadata(const storage::KeyRow& row) {
  SCY_ASSIGN_OR_RETURN(auto versions, store_->ListKeyVersions(row.key_id));
  KeyMetadata m;
  m.aws_account_id = row.account_id;
  m.key_id = row.key_id;
  m.arn = Arn(row);
  m.creation_date = row.creation_date;
  m.enabled = row.key_state == "Enabled";
  m.description = row.description;
  m.key_usage = row.key_usage;
  m.key_state = row.key_state;
  if (!row.custom_key_store_id.empty()) {
    SCY_RETURN_IF_ERROR(AddCustomKeyStoreMetadata(*this, row, &m));
  }
  m.deletion_date = row.deletion_date;
  m.origin = row.origin;
  m.key_manager = row.key_manager;
  m.key_spec = row.key_spec;
  m.encryption_algorithms = EncryptionAlgorithmsOf(row.key_spec, row.key_usage);
  m.signing_algorithms = SigningAlgorithmsOf(row.key_spec, row.key_usage);
  m.mac_algorithms = MacAlgorithmsOf(row.key_spec, row.key_usage);
  m.key_agreement_algorithms = KeyAgreementAlgorithmsOf(row.key_spec, row.key_usage);
  m.multi_region = row.multi_region;
  if (!versions.empty() && row.key_spec == kSymmetricDefault) {
    // AWS reports key material ids for symmetric encryption keys only.
    m.current_key_material_id = versions.back().version_id;
  }
  m.expiration_model = row.expiration_model;
  m.valid_to = row.valid_to;
  return m;
}

Status CheckKeyState(std::string_view operation, const storage::KeyRow& row) {
  const std::string& state = row.key_state;
  const std::string arn = Arn(row);
  auto is = [&](std::initializer_list<std::string_view> ops) {
    for (std::string_view op : ops) {
      if (op == operation) {
        return true;
      }
    }
    return false;
  };
  auto invalid = [&](std::string_view what) {
    return MakeError(ErrorCode::kInvalidState, arn + " is " + std::string(what) + ".");
  };
  const bool crypto = is({"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
                          "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
                          "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac",
                          "VerifyMac", "GetPublicKey", "DeriveSharedSecret"});
  // Operations that run in every state.
  if (is({"DescribeKey", "GetKeyPolicy", "PutKeyPolicy", "ListGrants", "ListKeyPolicies",
          "ListResourceTags", "RetireGrant", "RevokeGrant", "DeleteAlias", "GetKeyLastUsage",
          "ListKeyRotations"})) {
    return Ok();
  }
  if (operation == "CancelKeyDeletion") {
    return state == "PendingDeletion" || state == "PendingReplicaDeletion"
               ? Ok()
               : Status(invalid("not pending deletion"));
  }
  if (state == "Enabled") {
    return Ok();
  }
  if (state == "Disabled") {
    if (crypto || is({"CreateGrant", "EnableKeyRotation", "DisableKeyRotation",
                      "RotateKeyOnDemand", "ReplicateKey", "UpdatePrimaryRegion"})) {
      return MakeError(ErrorCode::kDisabled, arn + " is disabled.");
    }
    return Ok();
  }
  if (state == "PendingDeletion" || state == "PendingReplicaDeletion") {
    if (operation == "GetKeyRotationStatus") {
      return Ok();  // reports false
    }
    return invalid("pending deletion");
  }
  if (state == "PendingImport") {
    if (is({"CreateAlias", "UpdateAlias", "TagResource", "UntagResource", "UpdateKeyDescription",
            "ScheduleKeyDeletion", "GetParametersForImport", "ImportKeyMaterial",
            "DeleteImportedKeyMaterial"})) {
      return Ok();
    }
    return invalid("pending import");
  }
  if (state == "Unavailable") {
    if (crypto) {
      return invalid("unavailable");
    }
    return Ok();
  }
  if (state == "Creating") {
    if (crypto || is({"CreateGrant", "EnableKey", "DisableKey", "EnableKeyRotation",
                      "DisableKeyRotation", "RotateKeyOnDemand"})) {
      return invalid("creating");
    }
    return Ok();
  }
  if (state == "Updating") {
    if (is({"EnableKey", "DisableKey", "ScheduleKeyDeletion", "RotateKeyOnDemand",
            "ReplicateKey"})) {
      return invalid("updating");
    }
    return Ok();
  }
  return invalid(state);
}

std::string DefaultKeyPolicy(const std::string& account_id) {
  nlohmann::ordered_json doc = {
      {"Version", "2012-10-17"},
      {"Id", "key-default-1"},
      {"Statement",
       {{{"Sid", "Enable IAM User Permissions"},
         {"Effect", "Allow"},
         {"Principal", {{"AWS", "arn:aws:iam::" + account_id + ":root"}}},
         {"Action", "kms:*"},
         {"Resource", "*"}}}}};
  return doc.dump();
}

Bytes BackingKeyAad(const std::string& arn, const std::string& version_id) {
  std::string aad = "scytale:backing-key:" + arn + ":" + version_id;
  return Bytes(aad.begin(), aad.end());
}

Status CheckTags(const std::vector<Tag>& tags) {
  if (tags.size() > kMaxTagsPerKey) {
    return MakeError(ErrorCode::kLimitExceeded, "A KMS key can have at most 50 tags.");
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    // TagKey 1..128 and TagValue 0..256 characters (the API layer checks these too).
    if (tags[i].key.empty() || CodePoints(tags[i].key) > 128 ||
        CodePoints(tags[i].value) > 256) {
      return MakeError(ErrorCode::kTag, "Tag keys are 1 to 128 characters and tag values 0 to "
                                        "256 characters.");
    }
    if (tags[i].key.starts_with("aws:")) {
      return MakeError(ErrorCode::kTag, "Tag keys beginning with 'aws:' are reserved.");
    }
    for (size_t j = 0; j < i; ++j) {
      if (tags[j].key == tags[i].key) {
        return MakeError(ErrorCode::kTag, "Duplicate tag keys: " + tags[i].key);
      }
    }
  }
  return Ok();
}

std::string MakeMarker(std::string_view position) {
  std::string raw = std::string(kMarkerPrefix) + std::string(position);
  return Base64Encode(AsBytes(raw));
}

std::optional<std::string> ParseMarker(const std::string& marker) {
  auto raw = Base64Decode(marker);
  if (!raw) {
    return std::nullopt;
  }
  std::string_view text = AsString(*raw);
  if (!text.starts_with(kMarkerPrefix)) {
    return std::nullopt;
  }
  return std::string(text.substr(kMarkerPrefix.size()));
}

std::optional<std::string> RequestAlias(const std::optional<std::string>& key_id) {
  if (!key_id) {
    return std::nullopt;
  }
  auto pos = key_id->find("alias/");
  if (pos == 0 || (key_id->starts_with("arn:") && pos != std::string::npos)) {
    return key_id->substr(pos);
  }
  return std::nullopt;
}

Error DryRunSucceeded() {
  return MakeError(ErrorCode::kDryRun,
                   "The request would have succeeded, but the DryRun option is set.");
}

}  // namespace scytale::kms::internal

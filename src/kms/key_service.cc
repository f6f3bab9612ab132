#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "crypto/crypto.h"
#include "kms/internal/ciphertext.h"
#include "kms/internal/key_cache.h"
#include "kms/internal/key_id.h"
#include "kms/kms.h"

namespace scytale::kms {

std::string KeyArn(const std::string& region, const std::string& account_id,
                   const std::string& key_id) {
  return "arn:aws:kms:" + region + ":" + account_id + ":key/" + key_id;
}

namespace {

constexpr size_t kBackingKeySize = 32;  // AES-256
constexpr size_t kMaxTagsPerKey = 50;
constexpr int kDefaultListLimit = 100;
constexpr const char* kMarkerPrefix = "scy1:";
constexpr const char* kSymmetricDefault = "SYMMETRIC_DEFAULT";
constexpr size_t kBackingKeyCacheEntries = 10000;
constexpr std::chrono::seconds kBackingKeyCacheTtl{300};
constexpr const char* kDryRunMessage = "The request would have succeeded, but the DryRun option is set.";
constexpr const char* kForeignCiphertext =
    "The ciphertext refers to a customer master key that does not exist, does not exist in this "
    "region, or you are not allowed to access.";

// The policy AWS attaches when CreateKey gets none: the account may use IAM policies to grant
// access to the key.
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

// Binds wrapped material to its key and version, so a row moved to another key fails to unwrap.
Bytes BackingKeyAad(const std::string& arn, const std::string& version_id) {
  std::string aad = "scytale:backing-key:" + arn + ":" + version_id;
  return Bytes(aad.begin(), aad.end());
}

KeyMetadata ToMetadata(const storage::KeyRow& row, const std::string& current_version) {
  KeyMetadata m;
  m.aws_account_id = row.account_id;
  m.key_id = row.key_id;
  m.arn = KeyArn(row.region, row.account_id, row.key_id);
  m.creation_date = row.creation_date;
  m.enabled = row.key_state == "Enabled";
  m.description = row.description;
  m.key_usage = row.key_usage;
  m.key_state = row.key_state;
  m.deletion_date = row.deletion_date;
  m.origin = row.origin;
  m.key_manager = row.key_manager;
  m.key_spec = row.key_spec;
  if (row.key_spec == "SYMMETRIC_DEFAULT") {
    m.encryption_algorithms = {"SYMMETRIC_DEFAULT"};
  }
  m.multi_region = row.multi_region;
  m.current_key_material_id = current_version;
  return m;
}

// The key state table (AWS Developer Guide, "Key states") for the cryptographic operations.
Status CheckUsableForCrypto(const storage::KeyRow& row) {
  const std::string arn = KeyArn(row.region, row.account_id, row.key_id);
  if (row.key_state == "Enabled" || row.key_state == "Updating") {
    return Ok();
  }
  if (row.key_state == "Disabled") {
    return MakeError(ErrorCode::kDisabled, arn + " is disabled.");
  }
  if (row.key_state == "PendingDeletion" || row.key_state == "PendingReplicaDeletion") {
    return MakeError(ErrorCode::kInvalidState, arn + " is pending deletion.");
  }
  if (row.key_state == "PendingImport") {
    return MakeError(ErrorCode::kInvalidState, arn + " is pending import.");
  }
  if (row.key_state == "Unavailable") {
    return MakeError(ErrorCode::kInvalidState, arn + " is unavailable.");
  }
  if (row.key_state == "Creating") {
    return MakeError(ErrorCode::kInvalidState, arn + " is creating.");
  }
  return MakeError(ErrorCode::kInvalidState, arn + " is " + row.key_state + ".");
}

// Symmetric encryption needs an ENCRYPT_DECRYPT key of spec SYMMETRIC_DEFAULT, and the
// algorithm, when named, must be SYMMETRIC_DEFAULT.
Status CheckSymmetricUsage(const storage::KeyRow& row, const std::optional<std::string>& algo,
                           std::string_view operation) {
  const std::string arn = KeyArn(row.region, row.account_id, row.key_id);
  if (row.key_usage != "ENCRYPT_DECRYPT" || row.key_spec != kSymmetricDefault) {
    return MakeError(ErrorCode::kInvalidKeyUsage,
                     arn + " key usage is " + row.key_usage + " which is not valid for " +
                         std::string(operation) + ".");
  }
  if (algo && *algo != kSymmetricDefault) {
    return MakeError(ErrorCode::kInvalidKeyUsage,
                     "The encryption algorithm " + *algo + " is not valid for KMS key " + arn +
                         ", whose KeySpec is " + row.key_spec + ".");
  }
  return Ok();
}

Error DryRunSucceeded() { return MakeError(ErrorCode::kDryRun, kDryRunMessage); }

Error RecipientUnsupported() {
  return MakeError(ErrorCode::kUnsupportedOperation,
                   "Recipient (attested enclave requests) is not supported by this server.");
}

class KeyServiceImpl : public KeyService {
 public:
  KeyServiceImpl(storage::Store* store, keystore::RootKeystore* root,
                 std::shared_ptr<Clock> clock)
      : store_(store),
        root_(root),
        clock_(clock),
        cache_(kBackingKeyCacheEntries, kBackingKeyCacheTtl, clock) {}

  Result<KeyMetadata> CreateKey(const CallContext& ctx, const CreateKeyRequest& req) override {
    if (req.key_spec && req.customer_master_key_spec) {
      return MakeError(ErrorCode::kValidation,
                       "You cannot specify KeySpec and CustomerMasterKeySpec in the same "
                       "request. CustomerMasterKeySpec is deprecated.");
    }
    std::string spec = req.key_spec.value_or(
        req.customer_master_key_spec.value_or("SYMMETRIC_DEFAULT"));
    std::string origin = req.origin.value_or("AWS_KMS");
    if (req.custom_key_store_id) {
      return MakeError(ErrorCode::kCustomKeyStoreNotFound,
                       "Custom key store '" + *req.custom_key_store_id + "' does not exist.");
    }
    if (origin != "AWS_KMS") {
      return MakeError(ErrorCode::kUnsupportedOperation,
                       "Origin " + origin + " is not supported by this server yet.");
    }
    if (spec != "SYMMETRIC_DEFAULT") {
      return MakeError(ErrorCode::kUnsupportedOperation,
                       "KeySpec " + spec + " is not supported in this region.");
    }
    std::string usage = req.key_usage.value_or("ENCRYPT_DECRYPT");
    if (usage != "ENCRYPT_DECRYPT") {
      return MakeError(ErrorCode::kValidation,
                       "KeyUsage " + usage + " is not compatible with KeySpec " + spec + ".");
    }
    if (req.multi_region) {
      return MakeError(ErrorCode::kUnsupportedOperation,
                       "Multi-Region keys are not supported by this server.");
    }
    SCY_RETURN_IF_ERROR(CheckTags(req.tags));
    std::string policy;
    if (req.policy) {
      // The policy language and its enforcement arrive with the authorization issue; until
      // then a document is at least required to be a JSON object.
      auto doc = nlohmann::json::parse(*req.policy, nullptr, /*allow_exceptions=*/false);
      if (doc.is_discarded() || !doc.is_object() || !doc.contains("Statement")) {
        return MakeError(ErrorCode::kMalformedPolicyDocument,
                         "The key policy is not a valid JSON policy document.");
      }
      policy = *req.policy;
    } else {
      policy = DefaultKeyPolicy(ctx.account_id);
    }

    storage::KeyRow row;
    row.key_id = NewUuid();
    row.account_id = ctx.account_id;
    row.region = ctx.region;
    row.description = req.description.value_or("");
    row.key_spec = spec;
    row.key_usage = usage;
    row.origin = origin;
    row.key_manager = "CUSTOMER";
    row.key_state = "Enabled";
    row.creation_date = clock_->NowSeconds();
    row.policy = std::move(policy);
    for (const auto& t : req.tags) {
      row.tags.emplace_back(t.key, t.value);
    }

    storage::KeyVersionRow version;
    version.key_id = row.key_id;
    SCY_ASSIGN_OR_RETURN(Bytes version_bytes, crypto::RandomBytes(32));
    version.version_id = HexEncode(version_bytes);
    version.created_at = row.creation_date;
    SCY_ASSIGN_OR_RETURN(crypto::SecretBytes material, crypto::RandomSecret(kBackingKeySize));
    std::string arn = KeyArn(row.region, row.account_id, row.key_id);
    SCY_ASSIGN_OR_RETURN(version.wrapped_material,
                         root_->Wrap(material, BackingKeyAad(arn, version.version_id)));

    SCY_RETURN_IF_ERROR(store_->InsertKey(row, version));
    return ToMetadata(row, version.version_id);
  }

  Result<KeyMetadata> DescribeKey(const CallContext& ctx, const std::string& key_id) override {
    SCY_ASSIGN_OR_RETURN(storage::KeyRow row, ResolveKey(ctx, key_id));
    SCY_ASSIGN_OR_RETURN(auto versions, store_->ListKeyVersions(row.key_id));
    return ToMetadata(row, versions.empty() ? "" : versions.back().version_id);
  }

  Result<ListKeysResponse> ListKeys(const CallContext& ctx, const ListKeysRequest& req) override {
    int limit = req.limit.value_or(kDefaultListLimit);
    int64_t after = 0;
    if (req.marker) {
      auto parsed = ParseMarker(*req.marker);
      if (!parsed) {
        return MakeError(ErrorCode::kInvalidMarker, "Invalid marker: " + *req.marker);
      }
      after = *parsed;
    }
    SCY_ASSIGN_OR_RETURN(auto rows, store_->ListKeys(ctx.account_id, ctx.region, after,
                                                     static_cast<size_t>(limit) + 1));
    ListKeysResponse out;
    out.truncated = rows.size() > static_cast<size_t>(limit);
    if (out.truncated) {
      rows.resize(static_cast<size_t>(limit));
      out.next_marker = kMarkerPrefix + std::to_string(rows.back().seq);
    }
    for (const auto& r : rows) {
      out.keys.push_back({r.key_id, KeyArn(r.region, r.account_id, r.key_id)});
    }
    return out;
  }

  Result<EncryptResponse> Encrypt(const CallContext& ctx, const EncryptRequest& req) override {
    SCY_ASSIGN_OR_RETURN(storage::KeyRow key, ResolveKey(ctx, req.key_id));
    SCY_RETURN_IF_ERROR(CheckUsableForCrypto(key));
    SCY_RETURN_IF_ERROR(CheckSymmetricUsage(key, req.algorithm, "Encrypt"));
    if (req.dry_run) {
      return DryRunSucceeded();
    }
    SCY_ASSIGN_OR_RETURN(Sealed sealed,
                         Seal(key, req.plaintext.Reveal(crypto::KeyAccess::Grant()), req.context));
    return EncryptResponse{std::move(sealed.blob), sealed.key_arn, kSymmetricDefault};
  }

  Result<DecryptResponse> Decrypt(const CallContext& ctx, const DecryptRequest& req) override {
    if (req.has_recipient) {
      return RecipientUnsupported();
    }
    if (req.dry_run && req.dry_run_ignore_ciphertext) {
      SCY_RETURN_IF_ERROR(DryRunWithoutCiphertext(ctx, req.key_id, req.algorithm, "Decrypt"));
    }
    if (!req.ciphertext_blob) {
      return MakeError(ErrorCode::kValidation,
                       "1 validation error detected: Value null at 'ciphertextBlob' failed to "
                       "satisfy constraint: Member must not be null");
    }
    SCY_ASSIGN_OR_RETURN(Opened opened, Open(ctx, *req.ciphertext_blob, req.context, req.key_id,
                                             req.algorithm, "Decrypt"));
    if (req.dry_run) {
      return DryRunSucceeded();
    }
    return DecryptResponse{opened.key_arn, std::move(opened.plaintext), kSymmetricDefault,
                           opened.version_id};
  }

  Result<ReEncryptResponse> ReEncrypt(const CallContext& ctx,
                                      const ReEncryptRequest& req) override {
    SCY_ASSIGN_OR_RETURN(storage::KeyRow destination, ResolveKey(ctx, req.destination_key_id));
    SCY_RETURN_IF_ERROR(CheckUsableForCrypto(destination));
    SCY_RETURN_IF_ERROR(CheckSymmetricUsage(destination, req.destination_algorithm, "ReEncrypt"));
    if (req.dry_run && req.dry_run_ignore_ciphertext) {
      SCY_RETURN_IF_ERROR(
          DryRunWithoutCiphertext(ctx, req.source_key_id, req.source_algorithm, "ReEncrypt"));
    }
    // The plaintext exists only inside this call, in wiping memory.
    SCY_ASSIGN_OR_RETURN(Opened opened,
                         Open(ctx, req.ciphertext_blob, req.source_context, req.source_key_id,
                              req.source_algorithm, "ReEncrypt"));
    if (req.dry_run) {
      return DryRunSucceeded();
    }
    SCY_ASSIGN_OR_RETURN(Sealed sealed,
                         Seal(destination, opened.plaintext.Reveal(crypto::KeyAccess::Grant()),
                              req.destination_context));
    return ReEncryptResponse{std::move(sealed.blob), opened.key_arn,     sealed.key_arn,
                             kSymmetricDefault,      kSymmetricDefault,  opened.version_id,
                             sealed.version_id};
  }

  Result<GenerateDataKeyResponse> GenerateDataKey(const CallContext& ctx,
                                                  const GenerateDataKeyRequest& req) override {
    return MakeDataKey(ctx, req, /*with_plaintext=*/true);
  }

  Result<GenerateDataKeyResponse> GenerateDataKeyWithoutPlaintext(
      const CallContext& ctx, const GenerateDataKeyRequest& req) override {
    return MakeDataKey(ctx, req, /*with_plaintext=*/false);
  }

  Result<crypto::SecretBytes> GenerateRandom(const CallContext&,
                                             const GenerateRandomRequest& req) override {
    if (req.custom_key_store_id) {
      return MakeError(ErrorCode::kCustomKeyStoreNotFound,
                       "Custom key store '" + *req.custom_key_store_id + "' does not exist.");
    }
    if (req.has_recipient) {
      return RecipientUnsupported();
    }
    if (!req.number_of_bytes) {
      return MakeError(ErrorCode::kValidation,
                       "1 validation error detected: Value null at 'numberOfBytes' failed to "
                       "satisfy constraint: Member must not be null");
    }
    return crypto::RandomSecret(static_cast<size_t>(*req.number_of_bytes));
  }

 private:
  struct Sealed {
    Bytes blob;
    std::string key_arn;
    std::string version_id;
  };
  struct Opened {
    crypto::SecretBytes plaintext;
    std::string key_arn;
    std::string version_id;
  };

  Result<GenerateDataKeyResponse> MakeDataKey(const CallContext& ctx,
                                              const GenerateDataKeyRequest& req,
                                              bool with_plaintext) {
    if (req.has_recipient) {
      return RecipientUnsupported();
    }
    SCY_ASSIGN_OR_RETURN(storage::KeyRow key, ResolveKey(ctx, req.key_id));
    SCY_RETURN_IF_ERROR(CheckUsableForCrypto(key));
    SCY_RETURN_IF_ERROR(CheckSymmetricUsage(
        key, std::nullopt,
        with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext"));
    if (req.number_of_bytes.has_value() == req.key_spec.has_value()) {
      return MakeError(ErrorCode::kValidation,
                       "Please specify either number of bytes or key spec.");
    }
    if (req.dry_run) {
      return DryRunSucceeded();
    }
    size_t size = req.number_of_bytes ? static_cast<size_t>(*req.number_of_bytes)
                                      : (*req.key_spec == "AES_128" ? 16 : 32);
    SCY_ASSIGN_OR_RETURN(crypto::SecretBytes data_key, crypto::RandomSecret(size));
    SCY_ASSIGN_OR_RETURN(Sealed sealed,
                         Seal(key, data_key.Reveal(crypto::KeyAccess::Grant()), req.context));
    GenerateDataKeyResponse out;
    out.ciphertext_blob = std::move(sealed.blob);
    out.key_arn = sealed.key_arn;
    out.key_material_id = sealed.version_id;
    if (with_plaintext) {
      out.plaintext = std::move(data_key);
    }
    return out;
  }

  // A dry run that ignores the ciphertext checks only the KeyId the caller named.
  Status DryRunWithoutCiphertext(const CallContext& ctx, const std::optional<std::string>& key_id,
                                 const std::optional<std::string>& algorithm,
                                 std::string_view operation) {
    if (!key_id) {
      return MakeError(ErrorCode::kValidation,
                       "KeyId is required when DryRunModifiers includes IGNORE_CIPHERTEXT.");
    }
    SCY_ASSIGN_OR_RETURN(storage::KeyRow key, ResolveKey(ctx, *key_id));
    SCY_RETURN_IF_ERROR(CheckUsableForCrypto(key));
    SCY_RETURN_IF_ERROR(CheckSymmetricUsage(key, algorithm, operation));
    return DryRunSucceeded();
  }

  // Encrypts under the key's newest backing version.
  Result<Sealed> Seal(const storage::KeyRow& key, std::span<const uint8_t> plaintext,
                      const EncryptionContext& context) {
    SCY_ASSIGN_OR_RETURN(auto versions, store_->ListKeyVersions(key.key_id));
    if (versions.empty()) {
      return MakeError(ErrorCode::kInternal, "key " + key.key_id + " has no backing key");
    }
    const std::string& version_id = versions.back().version_id;
    std::string arn = KeyArn(key.region, key.account_id, key.key_id);
    SCY_ASSIGN_OR_RETURN(auto material, BackingKey(arn, versions.back()));
    SCY_ASSIGN_OR_RETURN(Bytes blob,
                         internal::SealBlob({arn, version_id}, *material, plaintext, context));
    return Sealed{std::move(blob), std::move(arn), version_id};
  }

  // Decrypts a blob: finds its key from the blob itself, checks a named KeyId against it, the
  // key's state and usage, then the tag under the given context.
  Result<Opened> Open(const CallContext& ctx, std::span<const uint8_t> blob,
                      const EncryptionContext& context, const std::optional<std::string>& key_id,
                      const std::optional<std::string>& algorithm, std::string_view operation) {
    std::optional<storage::KeyRow> named;
    if (key_id) {
      SCY_ASSIGN_OR_RETURN(named, ResolveKey(ctx, *key_id));
    }
    SCY_ASSIGN_OR_RETURN(internal::ParsedBlob parsed, internal::ParseBlob(blob));
    auto ref = internal::ParseArn(parsed.header.key_arn);
    if (!ref || ref->is_alias) {
      return MakeError(ErrorCode::kInvalidCiphertext, "");
    }
    if (ref->account_id != ctx.account_id || ref->region != ctx.region) {
      return MakeError(ErrorCode::kAccessDenied, kForeignCiphertext);
    }
    if (named && named->key_id != ref->id) {
      return MakeError(ErrorCode::kIncorrectKey,
                       "The key ID in the request does not identify a CMK that can perform this "
                       "operation.");
    }
    SCY_ASSIGN_OR_RETURN(auto row, store_->GetKey(ref->account_id, ref->region, ref->id));
    if (!row) {
      return MakeError(ErrorCode::kAccessDenied, kForeignCiphertext);
    }
    SCY_RETURN_IF_ERROR(CheckUsableForCrypto(*row));
    SCY_RETURN_IF_ERROR(CheckSymmetricUsage(*row, algorithm, operation));
    SCY_ASSIGN_OR_RETURN(auto version, store_->GetKeyVersion(row->key_id, parsed.header.version_id));
    if (!version) {
      return MakeError(ErrorCode::kInvalidCiphertext, "");
    }
    SCY_ASSIGN_OR_RETURN(auto material, BackingKey(parsed.header.key_arn, *version));
    SCY_ASSIGN_OR_RETURN(crypto::SecretBytes plaintext,
                         internal::OpenBlob(parsed, *material, context));
    return Opened{std::move(plaintext), parsed.header.key_arn, version->version_id};
  }

  // The unwrapped material of a backing version, from the cache or the root keystore.
  Result<std::shared_ptr<const crypto::SecretBytes>> BackingKey(
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

  static std::optional<int64_t> ParseMarker(const std::string& marker) {
    std::string_view m(marker);
    if (!m.starts_with(kMarkerPrefix)) {
      return std::nullopt;
    }
    m.remove_prefix(std::string_view(kMarkerPrefix).size());
    if (m.empty() || m.size() > 18) {
      return std::nullopt;
    }
    int64_t v = 0;
    for (char c : m) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  static Status CheckTags(const std::vector<Tag>& tags) {
    if (tags.size() > kMaxTagsPerKey) {
      return MakeError(ErrorCode::kTag, "A KMS key can have at most 50 tags.");
    }
    for (size_t i = 0; i < tags.size(); ++i) {
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

  Result<storage::KeyRow> ResolveKey(const CallContext& ctx, const std::string& key_id) {
    SCY_ASSIGN_OR_RETURN(internal::KeyRef ref, internal::ParseKeyRef(key_id, ctx));
    if (ref.account_id != ctx.account_id) {
      // Cross-account use arrives with key policies; until then another account's key is not
      // visible at all.
      return MakeError(ErrorCode::kNotFound, "Key '" + KeyArn(ref.region, ref.account_id, ref.id) +
                                                 "' does not exist");
    }
    if (ref.is_alias) {
      // Aliases arrive with the lifecycle issue; until then no alias exists.
      return MakeError(ErrorCode::kNotFound,
                       "Alias arn:aws:kms:" + ref.region + ":" + ref.account_id + ":" + ref.id +
                           " is not found.");
    }
    SCY_ASSIGN_OR_RETURN(auto row, store_->GetKey(ref.account_id, ref.region, ref.id));
    if (!row) {
      return MakeError(ErrorCode::kNotFound, "Key '" + KeyArn(ref.region, ref.account_id, ref.id) +
                                                 "' does not exist");
    }
    return std::move(*row);
  }

  storage::Store* store_;
  keystore::RootKeystore* root_;
  std::shared_ptr<Clock> clock_;
  internal::BackingKeyCache cache_;
};

}  // namespace

std::unique_ptr<KeyService> KeyService::Create(storage::Store* store,
                                               keystore::RootKeystore* root,
                                               std::shared_ptr<Clock> clock) {
  return std::make_unique<KeyServiceImpl>(store, root, std::move(clock));
}

}  // namespace scytale::kms

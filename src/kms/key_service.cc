#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "crypto/crypto.h"
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

class KeyServiceImpl : public KeyService {
 public:
  KeyServiceImpl(storage::Store* store, keystore::RootKeystore* root,
                 std::shared_ptr<Clock> clock)
      : store_(store), root_(root), clock_(std::move(clock)) {}

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
      if (doc.is_discarded() || !doc.is_object()) {
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

 private:
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
};

}  // namespace

std::unique_ptr<KeyService> KeyService::Create(storage::Store* store,
                                               keystore::RootKeystore* root,
                                               std::shared_ptr<Clock> clock) {
  return std::make_unique<KeyServiceImpl>(store, root, std::move(clock));
}

}  // namespace scytale::kms

#include <functional>
#include <map>

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/internal/audit_fields.h"
#include "api/internal/secret_json.h"
#include "api/internal/validator.h"

namespace scytale::api {
namespace {

using json = nlohmann::json;
using Handler = std::function<Result<json>(const kms::CallContext&, const json&)>;

constexpr std::string_view kTargetPrefix = "TrentService.";

std::optional<std::string> OptString(const json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

bool OptBool(const json& in, const char* name) {
  auto it = in.find(name);
  return it != in.end() && it->is_boolean() && it->get<bool>();
}

std::optional<int> OptInt(const json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::nullopt;
  }
  return it->get<int>();
}

bool Present(const json& in, const char* name) {
  auto it = in.find(name);
  return it != in.end() && !it->is_null();
}

// Blobs were checked to be base64 by the validator.
std::optional<Bytes> OptBlob(const json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::nullopt;
  }
  return Base64Decode(it->get_ref<const std::string&>());
}

// A secret blob (Plaintext) goes straight into wiping memory.
crypto::SecretBytes SecretBlob(const json& in, const char* name) {
  std::optional<Bytes> raw = OptBlob(in, name);
  if (!raw) {
    return {};
  }
  crypto::SecretBytes out(*raw);
  OPENSSL_cleanse(raw->data(), raw->size());
  return out;
}

json SecretToBase64(const crypto::SecretBytes& secret) {
  return internal::SecretToBase64Json(secret);
}

// A caller's message to sign or MAC (the model marks it sensitive, as it does Plaintext) is
// wiped once the call is done, on every path.
struct WipeOnExit {
  Bytes& bytes;
  ~WipeOnExit() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

kms::EncryptionContext Context(const json& in, const char* name) {
  kms::EncryptionContext out;
  auto it = in.find(name);
  if (it != in.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      out.emplace(k, v.get<std::string>());
    }
  }
  return out;
}

bool IgnoresCiphertext(const json& in) {
  auto it = in.find("DryRunModifiers");
  if (it == in.end() || !it->is_array()) {
    return false;
  }
  for (const auto& m : *it) {
    if (m == "IGNORE_CIPHERTEXT") {
      return true;
    }
  }
  return false;
}

json MetadataToJson(const kms::KeyMetadata& m) {
  json out = {
      {"AWSAccountId", m.aws_account_id},
      {"KeyId", m.key_id},
      {"Arn", m.arn},
      {"CreationDate", m.creation_date},
      {"Enabled", m.enabled},
      {"Description", m.description},
      {"KeyUsage", m.key_usage},
      {"KeyState", m.key_state},
      {"Origin", m.origin},
      {"KeyManager", m.key_manager},
      {"CustomerMasterKeySpec", m.key_spec},
      {"KeySpec", m.key_spec},
      {"MultiRegion", m.multi_region},
  };
  if (m.deletion_date) {
    out["DeletionDate"] = *m.deletion_date;
  }
  if (m.pending_deletion_window_in_days) {
    out["PendingDeletionWindowInDays"] = *m.pending_deletion_window_in_days;
  }
  if (!m.encryption_algorithms.empty()) {
    out["EncryptionAlgorithms"] = m.encryption_algorithms;
  }
  if (!m.signing_algorithms.empty()) {
    out["SigningAlgorithms"] = m.signing_algorithms;
  }
  if (!m.mac_algorithms.empty()) {
    out["MacAlgorithms"] = m.mac_algorithms;
  }
  if (!m.key_agreement_algorithms.empty()) {
    out["KeyAgreementAlgorithms"] = m.key_agreement_algorithms;
  }
  if (!m.current_key_material_id.empty()) {
    out["CurrentKeyMaterialId"] = m.current_key_material_id;
  }
  if (!m.expiration_model.empty()) {
    out["ExpirationModel"] = m.expiration_model;
  }
  if (m.valid_to) {
    out["ValidTo"] = *m.valid_to;
  }
  if (!m.custom_key_store_id.empty()) {
    out["CustomKeyStoreId"] = m.custom_key_store_id;
    out["CloudHsmClusterId"] = m.cloud_hsm_cluster_id;
  }
  return out;
}

Result<json> CreateKey(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::CreateKeyRequest req;
  req.policy = OptString(in, "Policy");
  req.description = OptString(in, "Description");
  req.key_usage = OptString(in, "KeyUsage");
  req.customer_master_key_spec = OptString(in, "CustomerMasterKeySpec");
  req.key_spec = OptString(in, "KeySpec");
  req.origin = OptString(in, "Origin");
  req.custom_key_store_id = OptString(in, "CustomKeyStoreId");
  req.xks_key_id = OptString(in, "XksKeyId");
  req.bypass_policy_lockout_safety_check = in.value("BypassPolicyLockoutSafetyCheck", false);
  req.multi_region = in.value("MultiRegion", false);
  if (auto tags = in.find("Tags"); tags != in.end() && tags->is_array()) {
    for (const auto& t : *tags) {
      req.tags.push_back({t.at("TagKey").get<std::string>(), t.at("TagValue").get<std::string>()});
    }
  }
  SCY_ASSIGN_OR_RETURN(kms::KeyMetadata m, s->CreateKey(ctx, req));
  return json{{"KeyMetadata", MetadataToJson(m)}};
}

Result<json> DescribeKey(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::KeyMetadata m, s->DescribeKey(ctx, in.at("KeyId").get<std::string>()));
  return json{{"KeyMetadata", MetadataToJson(m)}};
}

Result<json> ListKeys(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::ListKeysRequest req;
  if (auto it = in.find("Limit"); it != in.end() && !it->is_null()) {
    req.limit = it->get<int>();
  }
  req.marker = OptString(in, "Marker");
  SCY_ASSIGN_OR_RETURN(kms::ListKeysResponse r, s->ListKeys(ctx, req));
  json keys = json::array();
  for (const auto& k : r.keys) {
    keys.push_back({{"KeyId", k.key_id}, {"KeyArn", k.key_arn}});
  }
  json out = {{"Keys", std::move(keys)}, {"Truncated", r.truncated}};
  if (r.next_marker) {
    out["NextMarker"] = *r.next_marker;
  }
  return out;
}

Result<json> Encrypt(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::EncryptRequest req;
  req.key_id = in.at("KeyId").get<std::string>();
  req.plaintext = SecretBlob(in, "Plaintext");
  req.context = Context(in, "EncryptionContext");
  req.algorithm = OptString(in, "EncryptionAlgorithm");
  req.dry_run = OptBool(in, "DryRun");
  SCY_ASSIGN_OR_RETURN(kms::EncryptResponse r, s->Encrypt(ctx, req));
  return json{{"CiphertextBlob", Base64Encode(r.ciphertext_blob)},
              {"KeyId", r.key_arn},
              {"EncryptionAlgorithm", r.algorithm}};
}

Result<json> Decrypt(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::DecryptRequest req;
  req.ciphertext_blob = OptBlob(in, "CiphertextBlob");
  req.context = Context(in, "EncryptionContext");
  req.key_id = OptString(in, "KeyId");
  req.algorithm = OptString(in, "EncryptionAlgorithm");
  req.has_recipient = Present(in, "Recipient");
  req.dry_run = OptBool(in, "DryRun");
  req.dry_run_ignore_ciphertext = IgnoresCiphertext(in);
  SCY_ASSIGN_OR_RETURN(kms::DecryptResponse r, s->Decrypt(ctx, req));
  json out = {{"KeyId", r.key_arn},
              {"Plaintext", SecretToBase64(r.plaintext)},
              {"EncryptionAlgorithm", r.algorithm}};
  if (!r.key_material_id.empty()) {  // symmetric encryption keys only
    out["KeyMaterialId"] = r.key_material_id;
  }
  return out;
}

Result<json> ReEncrypt(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::ReEncryptRequest req;
  std::optional<Bytes> blob = OptBlob(in, "CiphertextBlob");
  if (!blob) {
    return MakeError(ErrorCode::kValidation,
                     "1 validation error detected: Value null at 'ciphertextBlob' failed to "
                     "satisfy constraint: Member must not be null");
  }
  req.ciphertext_blob = std::move(*blob);
  req.source_context = Context(in, "SourceEncryptionContext");
  req.source_key_id = OptString(in, "SourceKeyId");
  req.destination_key_id = in.at("DestinationKeyId").get<std::string>();
  req.destination_context = Context(in, "DestinationEncryptionContext");
  req.source_algorithm = OptString(in, "SourceEncryptionAlgorithm");
  req.destination_algorithm = OptString(in, "DestinationEncryptionAlgorithm");
  req.dry_run = OptBool(in, "DryRun");
  req.dry_run_ignore_ciphertext = IgnoresCiphertext(in);
  SCY_ASSIGN_OR_RETURN(kms::ReEncryptResponse r, s->ReEncrypt(ctx, req));
  json out = {{"CiphertextBlob", Base64Encode(r.ciphertext_blob)},
              {"SourceKeyId", r.source_key_arn},
              {"KeyId", r.key_arn},
              {"SourceEncryptionAlgorithm", r.source_algorithm},
              {"DestinationEncryptionAlgorithm", r.destination_algorithm}};
  // Key material ids: for symmetric encryption keys only.
  if (!r.source_key_material_id.empty()) {
    out["SourceKeyMaterialId"] = r.source_key_material_id;
  }
  if (!r.destination_key_material_id.empty()) {
    out["DestinationKeyMaterialId"] = r.destination_key_material_id;
  }
  return out;
}

kms::GenerateDataKeyRequest DataKeyRequest(const json& in) {
  kms::GenerateDataKeyRequest req;
  req.key_id = in.at("KeyId").get<std::string>();
  req.context = Context(in, "EncryptionContext");
  req.number_of_bytes = OptInt(in, "NumberOfBytes");
  req.key_spec = OptString(in, "KeySpec");
  req.has_recipient = Present(in, "Recipient");
  req.dry_run = OptBool(in, "DryRun");
  return req;
}

Result<json> GenerateDataKey(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::GenerateDataKeyResponse r, s->GenerateDataKey(ctx, DataKeyRequest(in)));
  return json{{"CiphertextBlob", Base64Encode(r.ciphertext_blob)},
              {"Plaintext", SecretToBase64(r.plaintext)},
              {"KeyId", r.key_arn},
              {"KeyMaterialId", r.key_material_id}};
}

Result<json> GenerateDataKeyWithoutPlaintext(kms::KeyService* s, const kms::CallContext& ctx,
                                             const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::GenerateDataKeyResponse r,
                       s->GenerateDataKeyWithoutPlaintext(ctx, DataKeyRequest(in)));
  return json{{"CiphertextBlob", Base64Encode(r.ciphertext_blob)},
              {"KeyId", r.key_arn},
              {"KeyMaterialId", r.key_material_id}};
}

Result<json> GenerateRandom(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::GenerateRandomRequest req;
  req.number_of_bytes = OptInt(in, "NumberOfBytes");
  req.custom_key_store_id = OptString(in, "CustomKeyStoreId");
  req.has_recipient = Present(in, "Recipient");
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes r, s->GenerateRandom(ctx, req));
  return json{{"Plaintext", SecretToBase64(r)}};
}

std::string KeyIdOf(const json& in) { return in.at("KeyId").get<std::string>(); }
Bytes BlobOf(const json& in, const char* name) { return OptBlob(in, name).value_or(Bytes()); }

std::vector<kms::Tag> TagsOf(const json& in) {
  std::vector<kms::Tag> tags;
  if (auto it = in.find("Tags"); it != in.end() && it->is_array()) {
    for (const auto& t : *it) {
      tags.push_back({t.at("TagKey").get<std::string>(), t.at("TagValue").get<std::string>()});
    }
  }
  return tags;
}

Result<json> EnableKey(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->EnableKey(ctx, KeyIdOf(in)));
  return json();
}

Result<json> DisableKey(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->DisableKey(ctx, KeyIdOf(in)));
  return json();
}

Result<json> ScheduleKeyDeletion(kms::KeyService* s, const kms::CallContext& ctx,
                                 const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::ScheduleKeyDeletionResponse r,
                       s->ScheduleKeyDeletion(ctx, KeyIdOf(in), OptInt(in, "PendingWindowInDays")));
  return json{{"KeyId", r.key_arn},
              {"DeletionDate", r.deletion_date},
              {"KeyState", r.key_state},
              {"PendingWindowInDays", r.pending_window_in_days}};
}

Result<json> CancelKeyDeletion(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_ASSIGN_OR_RETURN(std::string arn, s->CancelKeyDeletion(ctx, KeyIdOf(in)));
  return json{{"KeyId", arn}};
}

Result<json> UpdateKeyDescription(kms::KeyService* s, const kms::CallContext& ctx,
                                  const json& in) {
  SCY_RETURN_IF_ERROR(
      s->UpdateKeyDescription(ctx, KeyIdOf(in), in.at("Description").get<std::string>()));
  return json();
}

Result<json> TagResource(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->TagResource(ctx, KeyIdOf(in), TagsOf(in)));
  return json();
}

Result<json> UntagResource(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(
      s->UntagResource(ctx, KeyIdOf(in), in.at("TagKeys").get<std::vector<std::string>>()));
  return json();
}

Result<json> ListResourceTags(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::ListResourceTagsRequest req{KeyIdOf(in), OptInt(in, "Limit"), OptString(in, "Marker")};
  SCY_ASSIGN_OR_RETURN(kms::ListResourceTagsResponse r, s->ListResourceTags(ctx, req));
  json tags = json::array();
  for (const auto& t : r.tags) {
    tags.push_back({{"TagKey", t.key}, {"TagValue", t.value}});
  }
  json out = {{"Tags", std::move(tags)}, {"Truncated", r.truncated}};
  if (r.next_marker) {
    out["NextMarker"] = *r.next_marker;
  }
  return out;
}

Result<json> CreateAlias(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->CreateAlias(ctx, in.at("AliasName").get<std::string>(),
                                     in.at("TargetKeyId").get<std::string>()));
  return json();
}

Result<json> UpdateAlias(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->UpdateAlias(ctx, in.at("AliasName").get<std::string>(),
                                     in.at("TargetKeyId").get<std::string>()));
  return json();
}

Result<json> DeleteAlias(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->DeleteAlias(ctx, in.at("AliasName").get<std::string>()));
  return json();
}

Result<json> ListAliases(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::ListAliasesRequest req{OptString(in, "KeyId"), OptInt(in, "Limit"),
                              OptString(in, "Marker")};
  SCY_ASSIGN_OR_RETURN(kms::ListAliasesResponse r, s->ListAliases(ctx, req));
  json aliases = json::array();
  for (const auto& a : r.aliases) {
    json entry = {{"AliasName", a.alias_name}, {"AliasArn", a.alias_arn}};
    if (a.target_key_id) {
      entry["TargetKeyId"] = *a.target_key_id;
    }
    if (a.creation_date) {
      entry["CreationDate"] = *a.creation_date;
    }
    if (a.last_updated_date) {
      entry["LastUpdatedDate"] = *a.last_updated_date;
    }
    aliases.push_back(std::move(entry));
  }
  json out = {{"Aliases", std::move(aliases)}, {"Truncated", r.truncated}};
  if (r.next_marker) {
    out["NextMarker"] = *r.next_marker;
  }
  return out;
}

Result<json> EnableKeyRotation(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->EnableKeyRotation(ctx, KeyIdOf(in), OptInt(in, "RotationPeriodInDays")));
  return json();
}

Result<json> DisableKeyRotation(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->DisableKeyRotation(ctx, KeyIdOf(in)));
  return json();
}

Result<json> GetKeyRotationStatus(kms::KeyService* s, const kms::CallContext& ctx,
                                  const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::KeyRotationStatus r, s->GetKeyRotationStatus(ctx, KeyIdOf(in)));
  json out = {{"KeyRotationEnabled", r.key_rotation_enabled}, {"KeyId", r.key_arn}};
  if (r.rotation_period_in_days) {
    out["RotationPeriodInDays"] = *r.rotation_period_in_days;
  }
  if (r.next_rotation_date) {
    out["NextRotationDate"] = *r.next_rotation_date;
  }
  if (r.on_demand_rotation_start_date) {
    out["OnDemandRotationStartDate"] = *r.on_demand_rotation_start_date;
  }
  return out;
}

Result<json> RotateKeyOnDemand(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_ASSIGN_OR_RETURN(std::string arn, s->RotateKeyOnDemand(ctx, KeyIdOf(in)));
  return json{{"KeyId", arn}};
}

Result<json> ListKeyRotations(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::ListKeyRotationsRequest req{KeyIdOf(in), OptString(in, "IncludeKeyMaterial"),
                                   OptInt(in, "Limit"), OptString(in, "Marker")};
  SCY_ASSIGN_OR_RETURN(kms::ListKeyRotationsResponse r, s->ListKeyRotations(ctx, req));
  json rotations = json::array();
  for (const auto& e : r.rotations) {
    json entry = {{"KeyId", e.key_id},
                  {"KeyMaterialId", e.key_material_id},
                  {"RotationDate", e.rotation_date},
                  {"KeyMaterialState", e.key_material_state}};
    if (!e.rotation_type.empty()) {
      entry["RotationType"] = e.rotation_type;
    }
    rotations.push_back(std::move(entry));
  }
  json out = {{"Rotations", std::move(rotations)}, {"Truncated", r.truncated}};
  if (r.next_marker) {
    out["NextMarker"] = *r.next_marker;
  }
  return out;
}

Result<json> GetParametersForImport(kms::KeyService* s, const kms::CallContext& ctx,
                                    const json& in) {
  kms::GetParametersForImportRequest req{KeyIdOf(in),
                                         in.at("WrappingAlgorithm").get<std::string>(),
                                         in.at("WrappingKeySpec").get<std::string>()};
  SCY_ASSIGN_OR_RETURN(kms::GetParametersForImportResponse r,
                       s->GetParametersForImport(ctx, req));
  return json{{"KeyId", r.key_arn},
              {"ImportToken", Base64Encode(r.import_token)},
              {"PublicKey", Base64Encode(r.public_key)},
              {"ParametersValidTo", r.parameters_valid_to}};
}

json ImportedMaterialJson(const kms::ImportedMaterialResponse& r) {
  json out = {{"KeyId", r.key_arn}};
  if (!r.key_material_id.empty()) {
    out["KeyMaterialId"] = r.key_material_id;
  }
  return out;
}

Result<json> ImportKeyMaterial(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::ImportKeyMaterialRequest req;
  req.key_id = KeyIdOf(in);
  req.import_token = BlobOf(in, "ImportToken");
  req.encrypted_key_material = BlobOf(in, "EncryptedKeyMaterial");
  if (auto it = in.find("ValidTo"); it != in.end() && !it->is_null()) {
    // A JSON 1.1 timestamp: epoch seconds, possibly with a fraction (checked by the validator).
    req.valid_to = static_cast<int64_t>(it->get<double>());
  }
  req.expiration_model = OptString(in, "ExpirationModel");
  req.import_type = OptString(in, "ImportType");
  req.key_material_id = OptString(in, "KeyMaterialId");
  req.has_key_material_description = Present(in, "KeyMaterialDescription");
  SCY_ASSIGN_OR_RETURN(kms::ImportedMaterialResponse r, s->ImportKeyMaterial(ctx, req));
  return ImportedMaterialJson(r);
}

Result<json> DeleteImportedKeyMaterial(kms::KeyService* s, const kms::CallContext& ctx,
                                       const json& in) {
  SCY_ASSIGN_OR_RETURN(
      kms::ImportedMaterialResponse r,
      s->DeleteImportedKeyMaterial(ctx, KeyIdOf(in), OptString(in, "KeyMaterialId")));
  return ImportedMaterialJson(r);
}

Result<json> PutKeyPolicy(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->PutKeyPolicy(ctx, KeyIdOf(in), in.at("Policy").get<std::string>(),
                                      OptString(in, "PolicyName"),
                                      OptBool(in, "BypassPolicyLockoutSafetyCheck")));
  return json();
}

Result<json> GetKeyPolicy(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::KeyPolicyResponse r,
                       s->GetKeyPolicy(ctx, KeyIdOf(in), OptString(in, "PolicyName")));
  return json{{"Policy", r.policy}, {"PolicyName", r.policy_name}};
}

Result<json> ListKeyPolicies(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::ListKeyPoliciesResponse r, s->ListKeyPolicies(ctx, KeyIdOf(in)));
  return json{{"PolicyNames", r.policy_names}, {"Truncated", r.truncated}};
}

std::optional<kms::EncryptionContext> OptContext(const json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::nullopt;
  }
  return Context(in, name);
}

json ContextJson(const kms::EncryptionContext& context) {
  json out = json::object();
  for (const auto& [k, v] : context) {
    out[k] = v;
  }
  return out;
}

Result<json> CreateGrant(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::CreateGrantRequest req;
  req.key_id = KeyIdOf(in);
  req.grantee_principal = in.at("GranteePrincipal").get<std::string>();
  req.retiring_principal = OptString(in, "RetiringPrincipal");
  for (const auto& op : in.at("Operations")) {
    req.operations.push_back(op.get<std::string>());
  }
  if (auto c = in.find("Constraints"); c != in.end() && c->is_object()) {
    kms::GrantConstraints constraints;
    constraints.encryption_context_equals = OptContext(*c, "EncryptionContextEquals");
    constraints.encryption_context_subset = OptContext(*c, "EncryptionContextSubset");
    req.constraints = std::move(constraints);
  }
  req.name = OptString(in, "Name");
  req.dry_run = OptBool(in, "DryRun");
  SCY_ASSIGN_OR_RETURN(kms::CreateGrantResponse r, s->CreateGrant(ctx, req));
  return json{{"GrantToken", r.grant_token}, {"GrantId", r.grant_id}};
}

json GrantsJson(const kms::ListGrantsResponse& r) {
  json grants = json::array();
  for (const auto& g : r.grants) {
    json entry = {{"KeyId", g.key_arn},
                  {"GrantId", g.grant_id},
                  {"CreationDate", g.creation_date},
                  {"GranteePrincipal", g.grantee_principal},
                  {"IssuingAccount", g.issuing_account},
                  {"Operations", g.operations}};
    if (!g.name.empty()) {
      entry["Name"] = g.name;
    }
    if (!g.retiring_principal.empty()) {
      entry["RetiringPrincipal"] = g.retiring_principal;
    }
    if (g.constraints && !g.constraints->empty()) {
      json constraints = json::object();
      if (g.constraints->encryption_context_equals) {
        constraints["EncryptionContextEquals"] = ContextJson(*g.constraints->encryption_context_equals);
      }
      if (g.constraints->encryption_context_subset) {
        constraints["EncryptionContextSubset"] = ContextJson(*g.constraints->encryption_context_subset);
      }
      entry["Constraints"] = std::move(constraints);
    }
    grants.push_back(std::move(entry));
  }
  json out = {{"Grants", std::move(grants)}, {"Truncated", r.truncated}};
  if (r.next_marker) {
    out["NextMarker"] = *r.next_marker;
  }
  return out;
}

Result<json> ListGrants(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::ListGrantsRequest req;
  req.key_id = KeyIdOf(in);
  req.limit = OptInt(in, "Limit");
  req.marker = OptString(in, "Marker");
  req.grant_id = OptString(in, "GrantId");
  req.grantee_principal = OptString(in, "GranteePrincipal");
  SCY_ASSIGN_OR_RETURN(kms::ListGrantsResponse r, s->ListGrants(ctx, req));
  return GrantsJson(r);
}

Result<json> ListRetirableGrants(kms::KeyService* s, const kms::CallContext& ctx,
                                 const json& in) {
  kms::ListRetirableGrantsRequest req;
  req.retiring_principal = in.at("RetiringPrincipal").get<std::string>();
  req.limit = OptInt(in, "Limit");
  req.marker = OptString(in, "Marker");
  SCY_ASSIGN_OR_RETURN(kms::ListGrantsResponse r, s->ListRetirableGrants(ctx, req));
  return GrantsJson(r);
}

Result<json> RetireGrant(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::RetireGrantRequest req;
  req.grant_token = OptString(in, "GrantToken");
  req.key_id = OptString(in, "KeyId");
  req.grant_id = OptString(in, "GrantId");
  req.dry_run = OptBool(in, "DryRun");
  SCY_RETURN_IF_ERROR(s->RetireGrant(ctx, req));
  return json();
}

Result<json> RevokeGrant(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_RETURN_IF_ERROR(s->RevokeGrant(ctx, KeyIdOf(in), in.at("GrantId").get<std::string>(),
                                     OptBool(in, "DryRun")));
  return json();
}

// Every operation that takes GrantTokens checks their form first, as AWS does, although grants
// here take effect at once and need no token.
Status CheckGrantTokens(const json& in) {
  auto it = in.find("GrantTokens");
  if (it == in.end() || !it->is_array()) {
    return Ok();
  }
  for (const auto& token : *it) {
    SCY_RETURN_IF_ERROR(kms::CheckGrantToken(token.get_ref<const std::string&>()));
  }
  return Ok();
}


Result<json> Sign(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::SignRequest req;
  WipeOnExit wipe{req.message};
  req.key_id = KeyIdOf(in);
  req.message = BlobOf(in, "Message");
  req.message_type = OptString(in, "MessageType").value_or("RAW");
  req.signing_algorithm = in.at("SigningAlgorithm").get<std::string>();
  req.dry_run = OptBool(in, "DryRun");
  SCY_ASSIGN_OR_RETURN(kms::SignResponse r, s->Sign(ctx, req));
  return json{{"KeyId", r.key_arn},
              {"Signature", Base64Encode(r.signature)},
              {"SigningAlgorithm", r.signing_algorithm}};
}

Result<json> Verify(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::VerifyRequest req;
  WipeOnExit wipe{req.message};
  req.key_id = KeyIdOf(in);
  req.message = BlobOf(in, "Message");
  req.message_type = OptString(in, "MessageType").value_or("RAW");
  req.signature = BlobOf(in, "Signature");
  req.signing_algorithm = in.at("SigningAlgorithm").get<std::string>();
  req.dry_run = OptBool(in, "DryRun");
  SCY_ASSIGN_OR_RETURN(kms::VerifyResponse r, s->Verify(ctx, req));
  return json{{"KeyId", r.key_arn},
              {"SignatureValid", r.signature_valid},
              {"SigningAlgorithm", r.signing_algorithm}};
}

Result<json> GetPublicKey(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::GetPublicKeyResponse r, s->GetPublicKey(ctx, KeyIdOf(in)));
  json out = {{"KeyId", r.key_arn},
              {"PublicKey", Base64Encode(r.public_key)},
              {"CustomerMasterKeySpec", r.key_spec},
              {"KeySpec", r.key_spec},
              {"KeyUsage", r.key_usage}};
  if (!r.encryption_algorithms.empty()) {
    out["EncryptionAlgorithms"] = r.encryption_algorithms;
  }
  if (!r.signing_algorithms.empty()) {
    out["SigningAlgorithms"] = r.signing_algorithms;
  }
  if (!r.key_agreement_algorithms.empty()) {
    out["KeyAgreementAlgorithms"] = r.key_agreement_algorithms;
  }
  return out;
}

kms::MacRequest MacRequestOf(const json& in) {
  kms::MacRequest req;
  req.key_id = KeyIdOf(in);
  req.message = BlobOf(in, "Message");
  req.mac_algorithm = in.at("MacAlgorithm").get<std::string>();
  req.mac = BlobOf(in, "Mac");
  req.dry_run = OptBool(in, "DryRun");
  return req;
}

Result<json> GenerateMac(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::MacRequest req = MacRequestOf(in);
  WipeOnExit wipe{req.message};
  SCY_ASSIGN_OR_RETURN(kms::MacResponse r, s->GenerateMac(ctx, req));
  return json{{"Mac", Base64Encode(r.mac)},
              {"MacAlgorithm", r.mac_algorithm},
              {"KeyId", r.key_arn}};
}

Result<json> VerifyMac(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::MacRequest req = MacRequestOf(in);
  WipeOnExit wipe{req.message};
  SCY_ASSIGN_OR_RETURN(kms::MacResponse r, s->VerifyMac(ctx, req));
  return json{{"KeyId", r.key_arn}, {"MacValid", true}, {"MacAlgorithm", r.mac_algorithm}};
}

Result<json> DeriveSharedSecret(kms::KeyService* s, const kms::CallContext& ctx,
                                const json& in) {
  kms::DeriveSharedSecretRequest req;
  req.key_id = KeyIdOf(in);
  req.key_agreement_algorithm = in.at("KeyAgreementAlgorithm").get<std::string>();
  req.public_key = BlobOf(in, "PublicKey");
  req.has_recipient = Present(in, "Recipient");
  req.dry_run = OptBool(in, "DryRun");
  SCY_ASSIGN_OR_RETURN(kms::DeriveSharedSecretResponse r, s->DeriveSharedSecret(ctx, req));
  return json{{"KeyId", r.key_arn},
              {"SharedSecret", SecretToBase64(r.shared_secret)},
              {"KeyAgreementAlgorithm", r.key_agreement_algorithm},
              {"KeyOrigin", r.key_origin}};
}

Result<json> DataKeyPair(kms::KeyService* s, const kms::CallContext& ctx, const json& in,
                         bool with_plaintext) {
  kms::GenerateDataKeyPairRequest req;
  req.key_id = KeyIdOf(in);
  req.context = Context(in, "EncryptionContext");
  req.key_pair_spec = in.at("KeyPairSpec").get<std::string>();
  req.has_recipient = Present(in, "Recipient");
  req.dry_run = OptBool(in, "DryRun");
  SCY_ASSIGN_OR_RETURN(kms::GenerateDataKeyPairResponse r,
                       s->GenerateDataKeyPair(ctx, req, with_plaintext));
  json out = {{"PrivateKeyCiphertextBlob", Base64Encode(r.private_key_ciphertext_blob)},
              {"PublicKey", Base64Encode(r.public_key)},
              {"KeyId", r.key_arn},
              {"KeyPairSpec", r.key_pair_spec},
              {"KeyMaterialId", r.key_material_id}};
  if (with_plaintext) {
    out["PrivateKeyPlaintext"] = SecretToBase64(r.private_key_plaintext);
  }
  return out;
}

Result<json> GenerateDataKeyPair(kms::KeyService* s, const kms::CallContext& ctx,
                                 const json& in) {
  return DataKeyPair(s, ctx, in, /*with_plaintext=*/true);
}

Result<json> GenerateDataKeyPairWithoutPlaintext(kms::KeyService* s,
                                                 const kms::CallContext& ctx, const json& in) {
  return DataKeyPair(s, ctx, in, /*with_plaintext=*/false);
}

// A secret string member (KeyStorePassword) goes straight into wiping memory.
std::optional<crypto::SecretBytes> OptSecretString(const json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::nullopt;
  }
  return crypto::SecretBytes(AsBytes(it->get_ref<const std::string&>()),
                             crypto::SecretBytes::Memory::kLocked);
}

bool HasXksMembers(const json& in) {
  for (const auto& [k, v] : in.items()) {
    if (k.starts_with("XksProxy") && !v.is_null()) {
      return true;
    }
  }
  return false;
}

Result<json> CreateCustomKeyStore(kms::KeyService* s, const kms::CallContext& ctx,
                                  const json& in) {
  kms::CreateCustomKeyStoreRequest req;
  req.custom_key_store_name = in.at("CustomKeyStoreName").get<std::string>();
  req.cloud_hsm_cluster_id = OptString(in, "CloudHsmClusterId");
  req.trust_anchor_certificate = OptString(in, "TrustAnchorCertificate");
  req.key_store_password = OptSecretString(in, "KeyStorePassword");
  req.custom_key_store_type = OptString(in, "CustomKeyStoreType");
  req.has_xks_members = HasXksMembers(in);
  SCY_ASSIGN_OR_RETURN(std::string id, s->CreateCustomKeyStore(ctx, req));
  return json{{"CustomKeyStoreId", id}};
}

Result<json> ConnectCustomKeyStore(kms::KeyService* s, const kms::CallContext& ctx,
                                   const json& in) {
  SCY_RETURN_IF_ERROR(
      s->ConnectCustomKeyStore(ctx, in.at("CustomKeyStoreId").get<std::string>()));
  return json::object();  // AWS answers {} (a JSON object with no properties)
}

Result<json> DisconnectCustomKeyStore(kms::KeyService* s, const kms::CallContext& ctx,
                                      const json& in) {
  SCY_RETURN_IF_ERROR(
      s->DisconnectCustomKeyStore(ctx, in.at("CustomKeyStoreId").get<std::string>()));
  return json::object();
}

Result<json> DescribeCustomKeyStores(kms::KeyService* s, const kms::CallContext& ctx,
                                     const json& in) {
  kms::DescribeCustomKeyStoresRequest req;
  req.custom_key_store_id = OptString(in, "CustomKeyStoreId");
  req.custom_key_store_name = OptString(in, "CustomKeyStoreName");
  req.limit = OptInt(in, "Limit");
  req.marker = OptString(in, "Marker");
  SCY_ASSIGN_OR_RETURN(kms::DescribeCustomKeyStoresResponse r,
                       s->DescribeCustomKeyStores(ctx, req));
  json stores = json::array();
  for (const auto& e : r.custom_key_stores) {
    json entry = {{"CustomKeyStoreId", e.custom_key_store_id},
                  {"CustomKeyStoreName", e.custom_key_store_name},
                  {"CloudHsmClusterId", e.cloud_hsm_cluster_id},
                  {"TrustAnchorCertificate", e.trust_anchor_certificate},
                  {"ConnectionState", e.connection_state},
                  {"CreationDate", e.creation_date},
                  {"CustomKeyStoreType", e.custom_key_store_type}};
    if (!e.connection_error_code.empty()) {
      entry["ConnectionErrorCode"] = e.connection_error_code;
    }
    stores.push_back(std::move(entry));
  }
  json out = {{"CustomKeyStores", std::move(stores)}, {"Truncated", r.truncated}};
  if (r.next_marker) {
    out["NextMarker"] = *r.next_marker;
  }
  return out;
}

Result<json> UpdateCustomKeyStore(kms::KeyService* s, const kms::CallContext& ctx,
                                  const json& in) {
  kms::UpdateCustomKeyStoreRequest req;
  req.custom_key_store_id = in.at("CustomKeyStoreId").get<std::string>();
  req.new_custom_key_store_name = OptString(in, "NewCustomKeyStoreName");
  req.key_store_password = OptSecretString(in, "KeyStorePassword");
  req.cloud_hsm_cluster_id = OptString(in, "CloudHsmClusterId");
  req.has_xks_members = HasXksMembers(in);
  SCY_RETURN_IF_ERROR(s->UpdateCustomKeyStore(ctx, req));
  return json::object();
}

Result<json> DeleteCustomKeyStore(kms::KeyService* s, const kms::CallContext& ctx,
                                  const json& in) {
  SCY_RETURN_IF_ERROR(s->DeleteCustomKeyStore(ctx, in.at("CustomKeyStoreId").get<std::string>()));
  return json::object();
}

class KmsApiImpl : public KmsApi {
 public:
  KmsApiImpl(kms::KeyService* service, std::unique_ptr<internal::ModelValidator> validator)
      : validator_(std::move(validator)) {
    auto bind = [service](auto fn) -> Handler {
      return [service, fn](const kms::CallContext& ctx, const json& in) {
        return fn(service, ctx, in);
      };
    };
    handlers_["CreateKey"] = bind(CreateKey);
    handlers_["DescribeKey"] = bind(DescribeKey);
    handlers_["ListKeys"] = bind(ListKeys);
    handlers_["Encrypt"] = bind(Encrypt);
    handlers_["Decrypt"] = bind(Decrypt);
    handlers_["ReEncrypt"] = bind(ReEncrypt);
    handlers_["GenerateDataKey"] = bind(GenerateDataKey);
    handlers_["GenerateDataKeyWithoutPlaintext"] = bind(GenerateDataKeyWithoutPlaintext);
    handlers_["GenerateRandom"] = bind(GenerateRandom);
    handlers_["EnableKey"] = bind(EnableKey);
    handlers_["DisableKey"] = bind(DisableKey);
    handlers_["ScheduleKeyDeletion"] = bind(ScheduleKeyDeletion);
    handlers_["CancelKeyDeletion"] = bind(CancelKeyDeletion);
    handlers_["UpdateKeyDescription"] = bind(UpdateKeyDescription);
    handlers_["TagResource"] = bind(TagResource);
    handlers_["UntagResource"] = bind(UntagResource);
    handlers_["ListResourceTags"] = bind(ListResourceTags);
    handlers_["CreateAlias"] = bind(CreateAlias);
    handlers_["UpdateAlias"] = bind(UpdateAlias);
    handlers_["DeleteAlias"] = bind(DeleteAlias);
    handlers_["ListAliases"] = bind(ListAliases);
    handlers_["EnableKeyRotation"] = bind(EnableKeyRotation);
    handlers_["DisableKeyRotation"] = bind(DisableKeyRotation);
    handlers_["GetKeyRotationStatus"] = bind(GetKeyRotationStatus);
    handlers_["RotateKeyOnDemand"] = bind(RotateKeyOnDemand);
    handlers_["ListKeyRotations"] = bind(ListKeyRotations);
    handlers_["PutKeyPolicy"] = bind(PutKeyPolicy);
    handlers_["GetKeyPolicy"] = bind(GetKeyPolicy);
    handlers_["ListKeyPolicies"] = bind(ListKeyPolicies);
    handlers_["Sign"] = bind(Sign);
    handlers_["Verify"] = bind(Verify);
    handlers_["GetPublicKey"] = bind(GetPublicKey);
    handlers_["GenerateMac"] = bind(GenerateMac);
    handlers_["VerifyMac"] = bind(VerifyMac);
    handlers_["DeriveSharedSecret"] = bind(DeriveSharedSecret);
    handlers_["GenerateDataKeyPair"] = bind(GenerateDataKeyPair);
    handlers_["GenerateDataKeyPairWithoutPlaintext"] = bind(GenerateDataKeyPairWithoutPlaintext);
    handlers_["CreateGrant"] = bind(CreateGrant);
    handlers_["ListGrants"] = bind(ListGrants);
    handlers_["ListRetirableGrants"] = bind(ListRetirableGrants);
    handlers_["RetireGrant"] = bind(RetireGrant);
    handlers_["RevokeGrant"] = bind(RevokeGrant);
    handlers_["GetParametersForImport"] = bind(GetParametersForImport);
    handlers_["ImportKeyMaterial"] = bind(ImportKeyMaterial);
    handlers_["DeleteImportedKeyMaterial"] = bind(DeleteImportedKeyMaterial);
    handlers_["CreateCustomKeyStore"] = bind(CreateCustomKeyStore);
    handlers_["ConnectCustomKeyStore"] = bind(ConnectCustomKeyStore);
    handlers_["DisconnectCustomKeyStore"] = bind(DisconnectCustomKeyStore);
    handlers_["DescribeCustomKeyStores"] = bind(DescribeCustomKeyStores);
    handlers_["UpdateCustomKeyStore"] = bind(UpdateCustomKeyStore);
    handlers_["DeleteCustomKeyStore"] = bind(DeleteCustomKeyStore);
  }

  std::string OperationOf(std::string_view target) const override {
    if (!target.starts_with(kTargetPrefix)) {
      return "";
    }
    std::string op(target.substr(kTargetPrefix.size()));
    return validator_->HasOperation(op) ? op : "";
  }

  JsonResponse Handle(const kms::CallContext& ctx, std::string_view target,
                      std::string_view body) override {
    std::string op = OperationOf(target);
    json in;  // null until parsed
    // The request's plaintext, message or password is wiped on every way out (after the audit
    // details, which never copy it, were taken).
    struct WipeRequestOnExit {
      json& in;
      ~WipeRequestOnExit() { internal::WipeSecretMembers(in); }
    } wipe_request{in};
    // Every answer carries what its audit record shows of the call (api/audit_fields.cc).
    auto fail = [&](const Error& error) {
      JsonResponse r = ErrorResponse(error);
      r.audit = internal::AuditDetailsOf(op.empty() ? target : op, in, nullptr, ctx, &error);
      return r;
    };
    if (op.empty()) {
      return fail(MakeError(ErrorCode::kUnknownOperation,
                            "The operation '" + std::string(target.substr(0, 128)) +
                                "' is not known to this service."));
    }
    // AWS JSON 1.1 allows an empty body for an operation whose input is all optional.
    in = body.empty() ? json::object() : json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (in.is_discarded()) {
      return fail(MakeError(ErrorCode::kSerialization, "The request body is not valid JSON."));
    }
    if (Status valid = validator_->Validate(op, in); !valid) {
      return fail(valid.error());
    }
    auto handler = handlers_.find(op);
    if (handler == handlers_.end()) {
      return fail(MakeError(ErrorCode::kUnsupportedOperation,
                            op + " is not supported by this server yet."));
    }
    if (Status tokens = CheckGrantTokens(in); !tokens) {
      return fail(tokens.error());
    }
    Result<json> out = handler->second(ctx, in);
    if (!out) {
      return fail(out.error());
    }
    // Operations without output answer 200 with an empty body.
    // The body is the one copy of an answer's plaintext that leaves; the server wipes it.
    JsonResponse r{200, out->is_null() ? "" : internal::DumpSizedOnce(*out)};
    r.audit = internal::AuditDetailsOf(op, in, &*out, ctx, nullptr);
    internal::WipeSecretMembers(*out);
    return r;
  }

 private:
  std::unique_ptr<internal::ModelValidator> validator_;
  std::map<std::string, Handler, std::less<>> handlers_;
};

}  // namespace

Result<std::unique_ptr<KmsApi>> KmsApi::Create(kms::KeyService* service) {
  SCY_ASSIGN_OR_RETURN(auto validator, internal::ModelValidator::Create());
  return std::unique_ptr<KmsApi>(std::make_unique<KmsApiImpl>(service, std::move(validator)));
}

}  // namespace scytale::api

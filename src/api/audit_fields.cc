// What an audit record shows of each KMS operation, following CloudTrail's KMS events: request
// members by an allowlist, camelCased (KeyId -> keyId, and inside Tags and Constraints too, but
// not the keys of an encryption context, which are the caller's); a few response elements per
// operation; the key ARN as the resource.
//
// Never recorded: Plaintext, CiphertextBlob, KeyMaterial, ImportToken, Message, Signature, Mac,
// PublicKey, the returned data keys and private keys, grant tokens (CloudTrail omits them), and
// a custom key store's KeyStorePassword (the token user's PIN).

#include <set>

#include "api/internal/audit_fields.h"
#include "common/ids.h"

namespace scytale::api::internal {
namespace {

using nlohmann::json;

// Request members that are recorded, in every operation that has them.
const std::set<std::string, std::less<>>& RecordedMembers() {
  static const std::set<std::string, std::less<>> kMembers = {
      "AliasName",
      "BypassPolicyLockoutSafetyCheck",
      "CloudHsmClusterId",
      "Constraints",
      "CustomKeyStoreId",
      "CustomKeyStoreName",
      "CustomKeyStoreType",
      "CustomerMasterKeySpec",
      "Description",
      "DestinationEncryptionAlgorithm",
      "DestinationEncryptionContext",
      "DestinationKeyId",
      "DryRun",
      "DryRunModifiers",
      "EncryptionAlgorithm",
      "EncryptionContext",
      "ExpirationModel",
      "GrantId",
      "GrantTokens",
      "GranteePrincipal",
      "ImportType",
      "KeyAgreementAlgorithm",
      "KeyId",
      "KeyMaterialId",
      "KeyPairSpec",
      "KeySpec",
      "KeyUsage",
      "Limit",
      "MacAlgorithm",
      "Marker",
      "MessageType",
      "MultiRegion",
      "Name",
      "NewCustomKeyStoreName",
      "NumberOfBytes",
      "Operations",
      "Origin",
      "PendingWindowInDays",
      "Policy",
      "PolicyName",
      "RetiringPrincipal",
      "RotationPeriodInDays",
      "SigningAlgorithm",
      "SourceEncryptionAlgorithm",
      "SourceEncryptionContext",
      "SourceKeyId",
      "TagKeys",
      "Tags",
      "TargetKeyId",
      "TrustAnchorCertificate",
      "ValidTo",
      "WrappingAlgorithm",
      "WrappingKeySpec",
  };
  return kMembers;
}

// Members whose object keys belong to the caller and are kept as sent.
bool IsContext(std::string_view member) {
  return member == "EncryptionContext" || member == "SourceEncryptionContext" ||
         member == "DestinationEncryptionContext" || member == "EncryptionContextEquals" ||
         member == "EncryptionContextSubset";
}

std::string Camel(std::string_view name) {
  std::string out(name);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') {
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  }
  return out;
}

json CamelKeys(const json& v) {
  if (v.is_array()) {
    json out = json::array();
    for (const json& x : v) {
      out.push_back(CamelKeys(x));
    }
    return out;
  }
  if (!v.is_object()) {
    return v;
  }
  json out = json::object();
  for (const auto& [k, x] : v.items()) {
    out[Camel(k)] = IsContext(k) ? x : CamelKeys(x);
  }
  return out;
}

// CloudTrail marks the calls that change nothing as readOnly, the cryptographic ones included.
bool IsReadOnly(std::string_view op) {
  for (std::string_view prefix : {"Describe", "List", "Get", "Encrypt", "Decrypt", "ReEncrypt",
                                  "Generate", "Sign", "Verify", "DeriveSharedSecret"}) {
    if (op.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

json ResponseElements(std::string_view op, const json& out) {
  auto pick = [&](std::initializer_list<const char*> members) {
    json r = json::object();
    for (const char* m : members) {
      if (auto it = out.find(m); it != out.end() && !it->is_null()) {
        r[Camel(m)] = CamelKeys(*it);
      }
    }
    return r.empty() ? json(nullptr) : r;
  };
  if (op == "CreateKey") {
    return pick({"KeyMetadata"});
  }
  if (op == "ScheduleKeyDeletion") {
    return pick({"KeyId", "DeletionDate", "KeyState", "PendingWindowInDays"});
  }
  if (op == "CancelKeyDeletion" || op == "RotateKeyOnDemand") {
    return pick({"KeyId"});
  }
  if (op == "ImportKeyMaterial" || op == "DeleteImportedKeyMaterial") {
    return pick({"KeyMaterialId"});
  }
  if (op == "CreateGrant") {
    return pick({"GrantId"});  // not GrantToken
  }
  if (op == "CreateCustomKeyStore") {
    return pick({"CustomKeyStoreId"});
  }
  return nullptr;
}

void AddKeyArn(const json& value, const kms::CallContext& ctx, std::vector<std::string>* arns) {
  if (!value.is_string()) {
    return;
  }
  const std::string& id = value.get_ref<const std::string&>();
  std::string arn;
  if (id.starts_with("arn:") && id.find(":key/") != std::string::npos) {
    arn = id;
  } else if (IsUuid(id) || id.starts_with("mrk-")) {
    arn = "arn:aws:kms:" + ctx.region + ":" + ctx.account_id + ":key/" + id;
  } else {
    return;  // an alias names no key by itself
  }
  for (const std::string& a : *arns) {
    if (a == arn) {
      return;
    }
  }
  arns->push_back(std::move(arn));
}

const json& Member(const json& object, const char* name) {
  static const json kNull;
  if (!object.is_object()) {
    return kNull;
  }
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

std::string EventNameOf(std::string_view operation) {
  constexpr std::string_view kPrefix = "TrentService.";
  if (operation.starts_with(kPrefix)) {
    operation.remove_prefix(kPrefix.size());
  }
  std::string out;
  for (char c : operation.substr(0, 64)) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

}  // namespace

AuditDetails AuditDetailsOf(std::string_view operation, const json& in, const json* out,
                            const kms::CallContext& ctx, const Error* error) {
  AuditDetails d;
  d.event_name = EventNameOf(operation);
  d.read_only = IsReadOnly(d.event_name);
  if (in.is_object()) {
    json params = json::object();
    for (const auto& [k, v] : in.items()) {
      if (RecordedMembers().contains(k)) {
        params[Camel(k)] = IsContext(k) ? v : CamelKeys(v);
      }
    }
    if (!params.empty()) {
      d.request_parameters = std::move(params);
    }
  }
  if (out != nullptr && out->is_object()) {
    d.response_elements = ResponseElements(d.event_name, *out);
    // The response names the key by ARN where the request may have used an alias.
    AddKeyArn(Member(*out, "SourceKeyId"), ctx, &d.resource_arns);
    AddKeyArn(Member(*out, "KeyId"), ctx, &d.resource_arns);
    AddKeyArn(Member(Member(*out, "KeyMetadata"), "Arn"), ctx, &d.resource_arns);
  }
  if (d.resource_arns.empty()) {
    for (const char* m : {"KeyId", "SourceKeyId", "DestinationKeyId", "TargetKeyId"}) {
      AddKeyArn(Member(in, m), ctx, &d.resource_arns);
    }
  }
  if (error != nullptr) {
    AwsError aws = ToAwsError(error->code);
    d.error_code = aws.type;
    // As the client was told: an internal error's detail stays in the server log.
    d.error_message = aws.status >= 500 ? "The request could not be processed because of an "
                                          "internal error. Try again later."
                                        : error->message;
  }
  return d;
}

}  // namespace scytale::api::internal

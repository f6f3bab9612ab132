#include "kms/internal/grant.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "crypto/crypto.h"
#include "kms/internal/core.h"

namespace scytale::kms::internal {
namespace {

constexpr uint8_t kTokenVersion = 1;
constexpr size_t kTokenNonceSize = 16;
constexpr size_t kTokenChecksumSize = 16;
constexpr size_t kGrantIdSize = 64;
constexpr std::string_view kTokenLabel = "scytale grant token v1";

std::array<uint8_t, 32> TokenChecksum(std::span<const uint8_t> body) {
  Bytes input(kTokenLabel.begin(), kTokenLabel.end());
  input.insert(input.end(), body.begin(), body.end());
  return crypto::Sha256(input);
}

nlohmann::json ContextJson(const EncryptionContext& context) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : context) {
    out[k] = v;
  }
  return out;
}

std::optional<EncryptionContext> ContextFrom(const nlohmann::json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || !it->is_object()) {
    return std::nullopt;
  }
  EncryptionContext out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) {
      out.emplace(k, v.get<std::string>());
    }
  }
  return out;
}

bool IsAccountId(std::string_view s) {
  return s.size() == 12 && std::all_of(s.begin(), s.end(), [](char c) {
           return c >= '0' && c <= '9';
         });
}

bool Contains(const EncryptionContext& whole, const EncryptionContext& part) {
  return std::all_of(part.begin(), part.end(), [&](const auto& kv) {
    auto it = whole.find(kv.first);
    return it != whole.end() && it->second == kv.second;
  });
}

}  // namespace

std::string EncodeGrantOperations(std::vector<std::string> operations) {
  std::sort(operations.begin(), operations.end());
  operations.erase(std::unique(operations.begin(), operations.end()), operations.end());
  std::string out;
  for (const auto& op : operations) {
    if (!out.empty()) {
      out += ',';
    }
    out += op;
  }
  return out;
}

std::vector<std::string> DecodeGrantOperations(std::string_view encoded) {
  std::vector<std::string> out;
  while (!encoded.empty()) {
    size_t comma = encoded.find(',');
    out.emplace_back(encoded.substr(0, comma));
    if (comma == std::string_view::npos) {
      break;
    }
    encoded.remove_prefix(comma + 1);
  }
  return out;
}

std::string EncodeGrantConstraints(const std::optional<GrantConstraints>& constraints) {
  if (!constraints || constraints->empty()) {
    return "";
  }
  nlohmann::json out = nlohmann::json::object();
  if (constraints->encryption_context_equals) {
    out["EncryptionContextEquals"] = ContextJson(*constraints->encryption_context_equals);
  }
  if (constraints->encryption_context_subset) {
    out["EncryptionContextSubset"] = ContextJson(*constraints->encryption_context_subset);
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<GrantConstraints> DecodeGrantConstraints(std::string_view encoded) {
  if (encoded.empty()) {
    return std::nullopt;
  }
  nlohmann::json in = nlohmann::json::parse(encoded, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) {
    return std::nullopt;
  }
  GrantConstraints out;
  out.encryption_context_equals = ContextFrom(in, "EncryptionContextEquals");
  out.encryption_context_subset = ContextFrom(in, "EncryptionContextSubset");
  return out;
}

std::optional<PrincipalArn> ParsePrincipalArn(std::string_view arn) {
  PrincipalArn out;
  std::string_view rest;
  if (arn.starts_with("arn:aws:iam::")) {
    rest = arn.substr(13);
  } else if (arn.starts_with("arn:aws:sts::")) {
    rest = arn.substr(13);
  } else {
    return std::nullopt;
  }
  const bool iam = arn[8] == 'i';
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos || !IsAccountId(rest.substr(0, colon))) {
    return std::nullopt;
  }
  out.account = std::string(rest.substr(0, colon));
  std::string_view resource = rest.substr(colon + 1);
  auto last_segment = [](std::string_view r) { return r.substr(r.rfind('/') + 1); };
  if (iam && resource == "root") {
    out.kind = "root";
  } else if (iam && (resource.starts_with("user/") || resource.starts_with("role/"))) {
    out.kind = std::string(resource.substr(0, 4));
    out.name = std::string(last_segment(resource));
  } else if (!iam && resource.starts_with("assumed-role/")) {
    std::string_view role_session = resource.substr(13);
    size_t slash = role_session.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == role_session.size()) {
      return std::nullopt;
    }
    out.kind = "assumed-role";
    out.name = std::string(role_session.substr(0, slash));
  } else if (!iam && resource.starts_with("federated-user/")) {
    out.kind = "federated-user";
    out.name = std::string(resource.substr(15));
  } else {
    return std::nullopt;
  }
  if (out.kind != "root" && out.name.empty()) {
    return std::nullopt;
  }
  return out;
}

GrantPrincipalMatch MatchGrantPrincipal(std::string_view grant_principal,
                                        std::string_view caller_arn) {
  if (grant_principal.empty() || caller_arn.empty()) {
    return GrantPrincipalMatch::kNone;
  }
  if (grant_principal == caller_arn) {
    return GrantPrincipalMatch::kDirect;
  }
  const std::optional<PrincipalArn> grant = ParsePrincipalArn(grant_principal);
  const std::optional<PrincipalArn> caller = ParsePrincipalArn(caller_arn);
  if (!grant || !caller || grant->account != caller->account) {
    return GrantPrincipalMatch::kNone;
  }
  if (grant->kind == "root") {
    return GrantPrincipalMatch::kViaAccount;
  }
  // A role (arn:aws:iam::A:role/path/Name) covers its sessions
  // (arn:aws:sts::A:assumed-role/Name/session), whatever the role's path.
  if (grant->kind == "role" && caller->kind == "assumed-role" && grant->name == caller->name) {
    return GrantPrincipalMatch::kDirect;
  }
  return GrantPrincipalMatch::kNone;
}

bool GrantConstraintsAllow(const GrantConstraints& constraints,
                           const EncryptionContext& context) {
  if (constraints.encryption_context_equals &&
      context != *constraints.encryption_context_equals) {
    return false;
  }
  if (constraints.encryption_context_subset &&
      !Contains(context, *constraints.encryption_context_subset)) {
    return false;
  }
  return true;
}

bool GrantConstraintsAtLeastAsStrict(const GrantConstraints& child,
                                     const GrantConstraints& parent) {
  if (parent.encryption_context_equals) {
    // Nothing is stricter than Equals except the same Equals.
    if (child.encryption_context_equals != parent.encryption_context_equals) {
      return false;
    }
  }
  if (parent.encryption_context_subset) {
    const EncryptionContext& required = *parent.encryption_context_subset;
    const bool by_equals = child.encryption_context_equals &&
                           Contains(*child.encryption_context_equals, required);
    const bool by_subset = child.encryption_context_subset &&
                           Contains(*child.encryption_context_subset, required);
    if (!by_equals && !by_subset) {
      return false;
    }
  }
  return true;
}

bool IsGrantId(std::string_view id) {
  return id.size() == kGrantIdSize && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::string> NewGrantId() {
  SCY_ASSIGN_OR_RETURN(Bytes raw, crypto::RandomBytes(kGrantIdSize / 2));
  return HexEncode(raw);
}

Result<std::string> MakeGrantToken(const std::string& key_arn, const std::string& grant_id) {
  SCY_ASSIGN_OR_RETURN(Bytes body, crypto::RandomBytes(kTokenNonceSize));
  body.insert(body.begin(), kTokenVersion);
  body.insert(body.end(), grant_id.begin(), grant_id.end());
  body.insert(body.end(), key_arn.begin(), key_arn.end());
  auto sum = TokenChecksum(body);
  body.insert(body.end(), sum.begin(), sum.begin() + kTokenChecksumSize);
  return Base64Encode(body);
}

Result<GrantTokenRef> ParseGrantToken(std::string_view token) {
  const Error invalid = MakeError(ErrorCode::kInvalidGrantToken, "Grant token is not valid.");
  std::optional<Bytes> raw = Base64Decode(token);
  if (!raw || raw->size() < 1 + kTokenNonceSize + kGrantIdSize + kTokenChecksumSize + 1 ||
      (*raw)[0] != kTokenVersion) {
    return invalid;
  }
  const std::span<const uint8_t> body(raw->data(), raw->size() - kTokenChecksumSize);
  auto sum = TokenChecksum(body);
  if (!crypto::ConstantTimeEquals(std::span<const uint8_t>(sum.data(), kTokenChecksumSize),
                                  std::span<const uint8_t>(raw->data() + body.size(),
                                                           kTokenChecksumSize))) {
    return invalid;
  }
  const size_t id_at = 1 + kTokenNonceSize;
  GrantTokenRef ref;
  ref.grant_id.assign(body.begin() + id_at, body.begin() + id_at + kGrantIdSize);
  ref.key_arn.assign(body.begin() + id_at + kGrantIdSize, body.end());
  if (!IsGrantId(ref.grant_id)) {
    return invalid;
  }
  return ref;
}

bool GrantOperationSuitsKey(std::string_view op, const storage::KeyRow& key) {
  if (op == "DescribeKey" || op == "CreateGrant" || op == "RetireGrant") {
    return true;
  }
  const bool symmetric = key.key_spec == kSymmetricDefault;
  if (key.key_usage == "ENCRYPT_DECRYPT") {
    if (op == "Encrypt" || op == "Decrypt" || op == "ReEncryptFrom" || op == "ReEncryptTo") {
      return true;
    }
    if (symmetric) {
      return op == "GenerateDataKey" || op == "GenerateDataKeyWithoutPlaintext" ||
             op == "GenerateDataKeyPair" || op == "GenerateDataKeyPairWithoutPlaintext";
    }
    return op == "GetPublicKey";
  }
  if (key.key_usage == "SIGN_VERIFY") {
    return op == "Sign" || op == "Verify" || op == "GetPublicKey";
  }
  if (key.key_usage == "GENERATE_VERIFY_MAC") {
    return op == "GenerateMac" || op == "VerifyMac";
  }
  if (key.key_usage == "KEY_AGREEMENT") {
    return op == "DeriveSharedSecret" || op == "GetPublicKey";
  }
  return false;
}

}  // namespace scytale::kms::internal

// Importing key material (origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
// DeleteImportedKeyMaterial, and the expiry of imported material.
//
// The import token is self-contained, so no state is kept between the two calls and any node
// can take the import: it carries the wrapping key's private half wrapped by the root keystore,
// with the key ARN, wrapping spec, algorithm and expiry as the wrap's authenticated data.
//
//   +----+------+-----------+--------------+--------------+-------+------------------------+
//   | 01 | spec | algorithm | expires u64  | ARN len u16  |  ARN  | root.Wrap(PKCS#8, aad) |
//   +----+------+-----------+--------------+--------------+-------+------------------------+
//   aad = "scytale:import-token:" || every byte before the wrapped key
//
// Imported material is stored like generated material: wrapped by the root in a backing version
// whose id is derived from the material and the key, so only the same material can be imported
// again, and ciphertexts made before a deletion decrypt again after the re-import.
#include <algorithm>

#include "kms/internal/key_spec.h"
#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr std::string_view kExternal = "EXTERNAL";
constexpr int64_t kImportTokenLifetimeSeconds = 24 * 3600;
constexpr int64_t kMaxValidToAheadSeconds = 365 * 86400;
constexpr uint8_t kTokenFormat = 1;
constexpr size_t kTokenHeaderFixed = 1 + 1 + 1 + 8 + 2;
constexpr std::string_view kTokenAadLabel = "scytale:import-token:";
constexpr std::string_view kExpires = "KEY_MATERIAL_EXPIRES";
constexpr std::string_view kDoesNotExpire = "KEY_MATERIAL_DOES_NOT_EXPIRE";

struct WrappingSpec {
  std::string_view name;
  crypto::KeyPairType type;
  size_t modulus_bytes;
  uint8_t code;
};
constexpr WrappingSpec kWrappingSpecs[] = {
    {"RSA_2048", crypto::KeyPairType::kRsa2048, 256, 1},
    {"RSA_3072", crypto::KeyPairType::kRsa3072, 384, 2},
    {"RSA_4096", crypto::KeyPairType::kRsa4096, 512, 3},
};

struct WrappingAlgorithm {
  std::string_view name;
  crypto::HashAlgorithm hash;
  bool aes_key_wrap;  // RSA_AES_KEY_WRAP_*: an AES key under RSA-OAEP, the material under KWP
  uint8_t code;
};
constexpr WrappingAlgorithm kWrappingAlgorithms[] = {
    {"RSAES_OAEP_SHA_1", crypto::HashAlgorithm::kSha1, false, 1},
    {"RSAES_OAEP_SHA_256", crypto::HashAlgorithm::kSha256, false, 2},
    {"RSA_AES_KEY_WRAP_SHA_1", crypto::HashAlgorithm::kSha1, true, 3},
    {"RSA_AES_KEY_WRAP_SHA_256", crypto::HashAlgorithm::kSha256, true, 4},
};

template <class T, size_t N>
const T* FindByName(const T (&table)[N], std::string_view name) {
  for (const T& entry : table) {
    if (entry.name == name) {
      return &entry;
    }
  }
  return nullptr;
}

template <class T, size_t N>
const T* FindByCode(const T (&table)[N], uint8_t code) {
  for (const T& entry : table) {
    if (entry.code == code) {
      return &entry;
    }
  }
  return nullptr;
}

// HMAC key lengths AWS accepts for import, in bytes, per spec.
struct HmacRange {
  std::string_view spec;
  size_t min;
  size_t max;
};
constexpr HmacRange kHmacImportLengths[] = {
    {"HMAC_224", 28, 64}, {"HMAC_256", 32, 64}, {"HMAC_384", 48, 128}, {"HMAC_512", 64, 128}};

Error NotExternal(const storage::KeyRow& key) {
  return MakeError(ErrorCode::kUnsupportedOperation,
                   Arn(key) + " origin is " + key.origin +
                       " which is not valid for this operation.");
}

// Resolves a key id or ARN, authorizes `action` and checks that the key takes imported material.
Result<storage::KeyRow> ImportKey(Core& core, const CallContext& ctx, const std::string& key_id,
                                  AuthRequest auth) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKeyIdOrArn(ctx, key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key, auth));
  if (key.origin != kExternal) {
    return NotExternal(key);
  }
  return key;
}

void PutU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void PutU64(Bytes& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}

uint64_t GetU64(std::span<const uint8_t> in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v = (v << 8) | in[i];
  }
  return v;
}

Bytes TokenAad(std::span<const uint8_t> header) {
  std::string aad(kTokenAadLabel);
  aad.append(AsString(header));
  return Bytes(aad.begin(), aad.end());
}

struct OpenedToken {
  const WrappingSpec* spec;
  const WrappingAlgorithm* algorithm;
  crypto::PrivateKey wrapping_key;
};

Error InvalidToken() {
  return MakeError(ErrorCode::kInvalidImportToken,
                   "The import token is invalid or was not issued for this KMS key.");
}

// Authenticates the token (it was made here, for this key), then checks its expiry.
Result<OpenedToken> OpenToken(Core& core, const storage::KeyRow& key, const Bytes& token) {
  if (token.size() < kTokenHeaderFixed || token[0] != kTokenFormat) {
    return InvalidToken();
  }
  const WrappingSpec* spec = FindByCode(kWrappingSpecs, token[1]);
  const WrappingAlgorithm* algorithm = FindByCode(kWrappingAlgorithms, token[2]);
  const uint64_t expires = GetU64(std::span(token).subspan(3, 8));
  const size_t arn_len = (static_cast<size_t>(token[11]) << 8) | token[12];
  const size_t header_len = kTokenHeaderFixed + arn_len;
  if (spec == nullptr || algorithm == nullptr || token.size() <= header_len) {
    return InvalidToken();
  }
  std::string_view arn(reinterpret_cast<const char*>(token.data()) + kTokenHeaderFixed, arn_len);
  if (arn != Arn(key)) {
    return InvalidToken();
  }
  std::span<const uint8_t> header = std::span(token).first(header_len);
  auto pkcs8 = core.root()->Unwrap(std::span(token).subspan(header_len), TokenAad(header));
  if (!pkcs8) {
    if (pkcs8.error().code == ErrorCode::kInvalidCiphertext) {
      return InvalidToken();
    }
    return pkcs8.error();  // the keystore failed: not the caller's fault
  }
  if (static_cast<int64_t>(expires) <= core.clock().NowSeconds()) {
    return MakeError(ErrorCode::kExpiredImportToken,
                     "The import token has expired. Use GetParametersForImport to get a new "
                     "public key and import token.");
  }
  SCY_ASSIGN_OR_RETURN(crypto::PrivateKey wrapping_key, crypto::PrivateKey::FromPkcs8(*pkcs8));
  return OpenedToken{spec, algorithm, std::move(wrapping_key)};
}

Error UnwrapFailed() {
  return MakeError(ErrorCode::kInvalidCiphertext,
                   "The encrypted key material could not be decrypted with the wrapping key and "
                   "algorithm of the import token.");
}

// Reverses the wrapping the caller did with the token's public key.
Result<crypto::SecretBytes> UnwrapMaterial(const OpenedToken& token, const Bytes& encrypted) {
  if (!token.algorithm->aes_key_wrap) {
    auto material = crypto::RsaOaepDecrypt(token.wrapping_key, token.algorithm->hash, encrypted);
    if (!material) {
      return UnwrapFailed();
    }
    return material;
  }
  const size_t k = token.spec->modulus_bytes;
  if (encrypted.size() <= k) {
    return UnwrapFailed();
  }
  auto aes_key = crypto::RsaOaepDecrypt(token.wrapping_key, token.algorithm->hash,
                                        std::span(encrypted).first(k));
  if (!aes_key || (aes_key->size() != 16 && aes_key->size() != 24 && aes_key->size() != 32)) {
    return UnwrapFailed();
  }
  auto material = crypto::AesKeyUnwrapPad(*aes_key, std::span(encrypted).subspan(k));
  if (!material) {
    return UnwrapFailed();
  }
  return material;
}

Error WrongMaterial(const storage::KeyRow& key, const std::string& what) {
  return MakeError(ErrorCode::kIncorrectKeyMaterial,
                   "The key material is not valid for KMS key " + Arn(key) + " (KeySpec " +
                       key.key_spec + "): " + what + ".");
}

struct CheckedMaterial {
  crypto::SecretBytes material;  // as stored: asymmetric keys re-encoded as PKCS#8
  std::string version_id;        // the key material id: the same for the same material
};

// Checks imported material against the key's spec and derives its version id: from the
// material itself (symmetric and HMAC; an HMAC, so the id reveals nothing of it), or from the
// public key (asymmetric; any encoding of the same private key gives the same id).
Result<CheckedMaterial> CheckMaterial(const storage::KeyRow& key, crypto::SecretBytes material) {
  const std::string label = "scytale:imported-version:" + Arn(key);
  const KeySpecInfo* info = FindKeySpec(key.key_spec);
  if (info == nullptr) {
    return NotExternal(key);
  }
  if (info->pair) {
    auto parsed = crypto::PrivateKey::FromPkcs8(material);
    if (!parsed) {
      return WrongMaterial(key, "it is not a PKCS#8 private key");
    }
    if (parsed->type() != *info->pair) {
      return WrongMaterial(key, "the private key is of another type or size");
    }
    SCY_ASSIGN_OR_RETURN(Bytes spki, parsed->Public().ToDer());
    Bytes input(label.begin(), label.end());
    input.insert(input.end(), spki.begin(), spki.end());
    SCY_ASSIGN_OR_RETURN(crypto::SecretBytes canonical, parsed->ToPkcs8());
    return CheckedMaterial{std::move(canonical), HexEncode(crypto::Sha256(input))};
  }
  if (key.key_spec == kSymmetricDefault) {
    if (material.size() != kBackingKeySize) {
      return WrongMaterial(key, "symmetric key material must be 256 bits (32 bytes)");
    }
  } else {
    auto range = std::find_if(std::begin(kHmacImportLengths), std::end(kHmacImportLengths),
                              [&](const HmacRange& r) { return r.spec == key.key_spec; });
    if (range == std::end(kHmacImportLengths) || material.size() < range->min ||
        material.size() > range->max) {
      return WrongMaterial(key, "HMAC key material has the wrong length");
    }
  }
  std::string id = HexEncode(crypto::HmacSha256(material.Reveal(crypto::KeyAccess::Grant()),
                                                AsBytes(label)));
  return CheckedMaterial{std::move(material), std::move(id)};
}

// The material id AWS reports: for symmetric encryption keys only.
std::string ReportedMaterialId(const storage::KeyRow& key, const std::string& version_id) {
  return key.key_spec == kSymmetricDefault ? version_id : "";
}

// Writes `version` with the key's new fields; retries when another writer changed the key.
Result<storage::KeyRow> PutVersion(Core& core, const storage::KeyRow& key,
                                   const storage::KeyVersionRow& version,
                                   const std::function<Status(storage::KeyRow&)>& mutate) {
  return core.UpdateKeyWith(key, mutate, [&](const storage::KeyRow& row) {
    return core.store()->PutKeyVersion(row, version);
  });
}

// Empties the key's current imported material: the key becomes PendingImport (unless it is
// pending deletion) until the same material is imported again.
Result<std::string> DeleteMaterial(Core& core, const storage::KeyRow& key) {
  SCY_ASSIGN_OR_RETURN(auto current, core.store()->GetCurrentKeyVersion(key.key_id));
  if (!current) {
    return std::string();  // nothing was ever imported
  }
  storage::KeyVersionRow emptied = *current;
  emptied.wrapped_material.clear();
  SCY_RETURN_IF_ERROR(PutVersion(core, key, emptied, [](storage::KeyRow& r) -> Status {
    if (r.key_state != "PendingDeletion" && r.key_state != "PendingReplicaDeletion") {
      r.key_state = "PendingImport";
    }
    r.expiration_model.clear();
    r.valid_to.reset();
    return Ok();
  }));
  return current->version_id;
}

}  // namespace

Result<bool> HasImportedMaterial(Core& core, const storage::KeyRow& key) {
  SCY_ASSIGN_OR_RETURN(auto current, core.store()->GetCurrentKeyVersion(key.key_id));
  return current && !current->wrapped_material.empty();
}

Result<GetParametersForImportResponse> GetParametersForImport(
    Core& core, const CallContext& ctx, const GetParametersForImportRequest& req) {
  SCY_ASSIGN_OR_RETURN(
      storage::KeyRow key,
      ImportKey(core, ctx, req.key_id,
                {.action = "kms:GetParametersForImport",
                 .wrapping_algorithm = req.wrapping_algorithm,
                 .wrapping_key_spec = req.wrapping_key_spec}));
  SCY_RETURN_IF_ERROR(CheckKeyState("GetParametersForImport", key));
  if (req.wrapping_key_spec == "SM2" || req.wrapping_algorithm == "SM2PKE") {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "SM2 wrapping keys are offered only in AWS China Regions; use an RSA "
                     "wrapping key.");
  }
  if (req.wrapping_algorithm == "RSAES_PKCS1_V1_5") {
    return MakeError(ErrorCode::kValidation,
                     "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use "
                     "RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.");
  }
  const WrappingSpec* spec = FindByName(kWrappingSpecs, req.wrapping_key_spec);
  const WrappingAlgorithm* algorithm = FindByName(kWrappingAlgorithms, req.wrapping_algorithm);
  if (spec == nullptr || algorithm == nullptr) {
    return MakeError(ErrorCode::kValidation, "Unknown wrapping key spec or algorithm.");
  }
  if (key.key_spec.starts_with("RSA_") && !algorithm->aes_key_wrap) {
    return MakeError(ErrorCode::kValidation,
                     "RSA private key material must be wrapped with RSA_AES_KEY_WRAP_SHA_1 or "
                     "RSA_AES_KEY_WRAP_SHA_256.");
  }
  SCY_ASSIGN_OR_RETURN(crypto::PrivateKey wrapping_key, crypto::PrivateKey::Generate(spec->type));
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes pkcs8, wrapping_key.ToPkcs8());
  SCY_ASSIGN_OR_RETURN(Bytes public_key, wrapping_key.Public().ToDer());
  const int64_t valid_to = core.clock().NowSeconds() + kImportTokenLifetimeSeconds;
  const std::string arn = Arn(key);
  Bytes token = {kTokenFormat, spec->code, algorithm->code};
  PutU64(token, static_cast<uint64_t>(valid_to));
  PutU16(token, static_cast<uint16_t>(arn.size()));
  token.insert(token.end(), arn.begin(), arn.end());
  SCY_ASSIGN_OR_RETURN(Bytes wrapped, core.root()->Wrap(pkcs8, TokenAad(token)));
  token.insert(token.end(), wrapped.begin(), wrapped.end());
  return GetParametersForImportResponse{arn, std::move(token), std::move(public_key), valid_to};
}

Result<ImportedMaterialResponse> ImportKeyMaterial(Core& core, const CallContext& ctx,
                                                   const ImportKeyMaterialRequest& req) {
  const std::string model = req.expiration_model.value_or(std::string(kExpires));
  std::optional<std::string> valid_to_text;
  if (req.valid_to) {
    valid_to_text = std::to_string(*req.valid_to);
  }
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key,
                       ImportKey(core, ctx, req.key_id,
                                 {.action = "kms:ImportKeyMaterial",
                                  .expiration_model = model,
                                  .valid_to = valid_to_text}));
  SCY_RETURN_IF_ERROR(CheckKeyState("ImportKeyMaterial", key));
  const int64_t now = core.clock().NowSeconds();
  if (model == kExpires) {
    if (!req.valid_to) {
      return MakeError(ErrorCode::kValidation,
                       "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.");
    }
    if (*req.valid_to <= now || *req.valid_to > now + kMaxValidToAheadSeconds) {
      return MakeError(ErrorCode::kValidation,
                       "ValidTo must be in the future and at most 365 days from now.");
    }
  } else if (req.valid_to) {
    return MakeError(ErrorCode::kValidation,
                     "ValidTo is not valid when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.");
  }
  if (key.key_spec != kSymmetricDefault &&
      (req.import_type || req.key_material_id || req.has_key_material_description)) {
    return MakeError(ErrorCode::kValidation,
                     "ImportType, KeyMaterialId and KeyMaterialDescription are only valid for "
                     "symmetric encryption keys.");
  }
  if (req.import_type == "NEW_KEY_MATERIAL" && req.key_material_id) {
    return MakeError(ErrorCode::kValidation,
                     "You cannot specify a KeyMaterialId with ImportType NEW_KEY_MATERIAL.");
  }

  SCY_ASSIGN_OR_RETURN(OpenedToken token, OpenToken(core, key, req.import_token));
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes material,
                       UnwrapMaterial(token, req.encrypted_key_material));
  SCY_ASSIGN_OR_RETURN(CheckedMaterial checked, CheckMaterial(key, std::move(material)));

  // One material per key: the first import fixes it; later imports must bring the same.
  SCY_ASSIGN_OR_RETURN(auto versions, core.store()->ListKeyVersions(key.key_id));
  if (versions.empty() && req.import_type == "EXISTING_KEY_MATERIAL") {
    return WrongMaterial(key, "no key material was imported into this key before");
  }
  if (!versions.empty() && req.import_type == "NEW_KEY_MATERIAL") {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "Importing new key material into a key that already has key material (for "
                     "on-demand rotation) is not supported by this server. Reimport the same key "
                     "material with ImportType EXISTING_KEY_MATERIAL.");
  }
  if (!versions.empty() && versions.back().version_id != checked.version_id) {
    return MakeError(ErrorCode::kIncorrectKeyMaterial,
                     "The key material is not the key material that was previously imported "
                     "into KMS key " + Arn(key) + ".");
  }
  if (req.key_material_id && *req.key_material_id != checked.version_id) {
    return MakeError(ErrorCode::kIncorrectKeyMaterial,
                     "The key material does not match KeyMaterialId " + *req.key_material_id +
                         ".");
  }

  storage::KeyVersionRow version;
  version.key_id = key.key_id;
  version.version_id = checked.version_id;
  version.created_at = versions.empty() ? now : versions.back().created_at;
  SCY_ASSIGN_OR_RETURN(version.wrapped_material,
                       core.root()->Wrap(checked.material,
                                         BackingKeyAad(Arn(key), version.version_id)));
  SCY_ASSIGN_OR_RETURN(
      storage::KeyRow written,
      PutVersion(core, key, version, [&](storage::KeyRow& r) -> Status {
        SCY_RETURN_IF_ERROR(CheckKeyState("ImportKeyMaterial", r));
        if (r.key_state == "PendingImport") {
          r.key_state = "Enabled";
        }
        r.expiration_model = model;
        r.valid_to = model == kExpires ? req.valid_to : std::nullopt;
        return Ok();
      }));
  return ImportedMaterialResponse{Arn(written), ReportedMaterialId(written, version.version_id)};
}

Result<ImportedMaterialResponse> DeleteImportedKeyMaterial(
    Core& core, const CallContext& ctx, const std::string& key_id,
    const std::optional<std::string>& key_material_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key,
                       ImportKey(core, ctx, key_id, {.action = "kms:DeleteImportedKeyMaterial"}));
  // Allowed while pending deletion (the state stays), and a no-op while pending import.
  if (key.key_state != "PendingDeletion" && key.key_state != "PendingReplicaDeletion") {
    SCY_RETURN_IF_ERROR(CheckKeyState("DeleteImportedKeyMaterial", key));
  }
  if (key_material_id) {
    SCY_ASSIGN_OR_RETURN(auto version, core.store()->GetKeyVersion(key.key_id, *key_material_id));
    if (!version) {
      return MakeError(ErrorCode::kNotFound, "Key material " + *key_material_id +
                                                 " is not associated with KMS key " + Arn(key) +
                                                 ".");
    }
  }
  SCY_ASSIGN_OR_RETURN(std::string version_id, DeleteMaterial(core, key));
  return ImportedMaterialResponse{Arn(key), ReportedMaterialId(key, version_id)};
}

Status ExpireImportedMaterial(Core& core, std::vector<std::string>* out_arns) {
  SCY_ASSIGN_OR_RETURN(auto due,
                       core.store()->ListKeysWithExpiredMaterial(core.clock().NowSeconds()));
  for (const storage::KeyRow& key : due) {
    auto deleted = DeleteMaterial(core, key);
    if (deleted) {
      out_arns->push_back(Arn(key));
    } else if (deleted.error().code != ErrorCode::kNotFound) {
      return deleted.error();  // a key deleted meanwhile (by another node) is fine
    }
  }
  return Ok();
}

}  // namespace scytale::kms::internal

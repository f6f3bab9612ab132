// Envelope encryption: Encrypt, Decrypt, ReEncrypt, data keys, random bytes.
#include "kms/internal/ciphertext.h"
#include "kms/internal/custom_key_stores.h"
#include "kms/internal/key_id.h"
#include "kms/internal/key_spec.h"
#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr const char* kForeignCiphertext =
    "The ciphertext refers to a customer master key that does not exist, does not exist in this "
    "region, or you are not allowed to access.";

Error RecipientUnsupported() {
  return MakeError(ErrorCode::kUnsupportedOperation,
                   "Recipient (attested enclave requests) is not supported by this server.");
}

// Symmetric encryption needs an ENCRYPT_DECRYPT key of spec SYMMETRIC_DEFAULT, and the
// algorithm, when named, must be SYMMETRIC_DEFAULT.
Status CheckSymmetricUsage(const storage::KeyRow& row, const std::optional<std::string>& algo,
                           std::string_view operation) {
  const std::string arn = Arn(row);
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

AuthRequest Auth(std::string_view action, const EncryptionContext& context,
                 const std::optional<std::string>& algorithm,
                 const std::optional<std::string>& key_id) {
  AuthRequest r;
  r.action = action;
  r.context = &context;
  r.encryption_algorithm = algorithm.value_or(kSymmetricDefault);
  r.request_alias = RequestAlias(key_id);
  return r;
}

// An RSA key of usage ENCRYPT_DECRYPT: Encrypt and Decrypt use RSAES-OAEP, with no header, no
// encryption context, and the algorithm named in every request.
bool IsAsymmetricEncryption(const storage::KeyRow& row) {
  return row.key_usage == "ENCRYPT_DECRYPT" && row.key_spec != kSymmetricDefault;
}

Result<crypto::HashAlgorithm> OaepHashFor(const storage::KeyRow& row,
                                          const std::optional<std::string>& algo,
                                          const EncryptionContext& context) {
  const std::string name = algo.value_or(kSymmetricDefault);
  std::optional<crypto::HashAlgorithm> hash = FindOaepAlgorithm(name);
  if (!hash) {
    return MakeError(ErrorCode::kInvalidKeyUsage,
                     "The encryption algorithm " + name + " is not valid for KMS key " +
                         Arn(row) + ", whose KeySpec is " + row.key_spec + ".");
  }
  if (!context.empty()) {
    return MakeError(ErrorCode::kValidation,
                     "EncryptionContext is not supported with asymmetric KMS keys.");
  }
  return *hash;
}

// RSAES-OAEP under the key's public key.
Result<Bytes> SealAsymmetric(Core& core, const storage::KeyRow& key, crypto::HashAlgorithm hash,
                             std::span<const uint8_t> plaintext) {
  SCY_ASSIGN_OR_RETURN(auto private_key, core.PrivateKeyOf(key));
  const crypto::PublicKey public_key = private_key->Public();
  const size_t max = crypto::RsaOaepMaxPlaintext(public_key, hash);
  if (plaintext.size() > max) {
    return MakeError(ErrorCode::kValidation,
                     "The plaintext is " + std::to_string(plaintext.size()) +
                         " bytes; KMS key " + Arn(key) + " with this algorithm takes at most " +
                         std::to_string(max) + " bytes.");
  }
  return crypto::RsaOaepEncrypt(public_key, hash, plaintext);
}

// State and usage, as the key state table and the key's spec decide. A key whose custom key
// store is not connected is in the Unavailable state.
Status CheckUsable(Core& core, const storage::KeyRow& row, const std::optional<std::string>& algo,
                   std::string_view operation) {
  if (!row.custom_key_store_id.empty()) {
    storage::KeyRow effective = row;
    SCY_ASSIGN_OR_RETURN(effective.key_state, EffectiveKeyState(core, row));
    SCY_RETURN_IF_ERROR(CheckKeyState(operation, effective));
  }
  SCY_RETURN_IF_ERROR(CheckKeyState(operation, row));
  return CheckSymmetricUsage(row, algo, operation);
}

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

// Encrypts under the key's newest backing version.
Result<Sealed> Seal(Core& core, const storage::KeyRow& key, std::span<const uint8_t> plaintext,
                    const EncryptionContext& context) {
  SCY_ASSIGN_OR_RETURN(auto current, core.store()->GetCurrentKeyVersion(key.key_id));
  if (!current) {
    return MakeError(ErrorCode::kInternal, "key " + key.key_id + " has no backing key");
  }
  const std::string& version_id = current->version_id;
  std::string arn = Arn(key);
  if (!key.custom_key_store_id.empty()) {
    SCY_ASSIGN_OR_RETURN(Bytes blob,
                         SealInCustomKeyStore(core, key, version_id, plaintext, context));
    return Sealed{std::move(blob), std::move(arn), version_id};
  }
  SCY_ASSIGN_OR_RETURN(auto material, core.BackingKey(arn, *current));
  SCY_ASSIGN_OR_RETURN(Bytes blob,
                       SealBlob({arn, version_id}, *material, plaintext, context));
  return Sealed{std::move(blob), std::move(arn), version_id};
}

// Decrypts a blob: finds its key from the blob itself, checks a named KeyId against it, the
// key's state and usage, then the tag under the given context.
Result<Opened> Open(Core& core, const CallContext& ctx, std::span<const uint8_t> blob,
                    const EncryptionContext& context, const std::optional<std::string>& key_id,
                    const std::optional<std::string>& algorithm, std::string_view operation) {
  std::optional<storage::KeyRow> named;
  if (key_id) {
    SCY_ASSIGN_OR_RETURN(named, core.ResolveKey(ctx, *key_id));
  }
  if (named && (named->key_usage != "ENCRYPT_DECRYPT" || named->key_spec != kSymmetricDefault)) {
    // Not a symmetric encryption key: the blob is RSA-OAEP under the named key, or the key
    // cannot decrypt at all (InvalidKeyUsageException after authorization).
    SCY_RETURN_IF_ERROR(core.Authorize(
        ctx, *named,
        Auth(operation == "Decrypt" ? "kms:Decrypt" : "kms:ReEncryptFrom", context, algorithm,
             key_id)));
    if (!IsAsymmetricEncryption(*named)) {
      SCY_RETURN_IF_ERROR(CheckUsable(core, *named, algorithm, operation));
    }
    SCY_RETURN_IF_ERROR(CheckKeyState(operation, *named));
    SCY_ASSIGN_OR_RETURN(crypto::HashAlgorithm hash, OaepHashFor(*named, algorithm, context));
    SCY_ASSIGN_OR_RETURN(auto private_key, core.PrivateKeyOf(*named));
    SCY_ASSIGN_OR_RETURN(crypto::SecretBytes plaintext,
                         crypto::RsaOaepDecrypt(*private_key, hash, blob));
    // AWS reports key material ids for symmetric encryption keys only.
    return Opened{std::move(plaintext), Arn(*named), ""};
  }
  SCY_ASSIGN_OR_RETURN(ParsedBlob parsed, ParseBlob(blob));
  auto ref = ParseArn(parsed.header.key_arn);
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
  SCY_ASSIGN_OR_RETURN(auto row, core.GetKey(ref->account_id, ref->region, ref->id));
  if (!row) {
    return MakeError(ErrorCode::kAccessDenied, kForeignCiphertext);
  }
  SCY_RETURN_IF_ERROR(core.Authorize(
      ctx, *row,
      Auth(operation == "Decrypt" ? "kms:Decrypt" : "kms:ReEncryptFrom", context, algorithm,
           key_id)));
  SCY_RETURN_IF_ERROR(CheckUsable(core, *row, algorithm, operation));
  SCY_ASSIGN_OR_RETURN(auto version, core.store()->GetKeyVersion(row->key_id, parsed.header.version_id));
  if (!version) {
    return MakeError(ErrorCode::kInvalidCiphertext, "");
  }
  if (!row->custom_key_store_id.empty()) {
    SCY_ASSIGN_OR_RETURN(crypto::SecretBytes plaintext,
                         OpenInCustomKeyStore(core, *row, parsed, context));
    return Opened{std::move(plaintext), parsed.header.key_arn, version->version_id};
  }
  SCY_ASSIGN_OR_RETURN(auto material, core.BackingKey(parsed.header.key_arn, *version));
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes plaintext,
                       OpenBlob(parsed, *material, context));
  return Opened{std::move(plaintext), parsed.header.key_arn, version->version_id};
}

// A dry run that ignores the ciphertext checks only the KeyId the caller named.
Status DryRunWithoutCiphertext(Core& core, const CallContext& ctx,
                               const std::optional<std::string>& key_id,
                               const std::optional<std::string>& algorithm,
                               std::string_view operation) {
  if (!key_id) {
    return MakeError(ErrorCode::kValidation,
                     "KeyId is required when DryRunModifiers includes IGNORE_CIPHERTEXT.");
  }
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKey(ctx, *key_id));
  static const EncryptionContext kNone;
  SCY_RETURN_IF_ERROR(core.Authorize(
      ctx, key,
      Auth(operation == "Decrypt" ? "kms:Decrypt" : "kms:ReEncryptFrom", kNone, algorithm,
           key_id)));
  SCY_RETURN_IF_ERROR(CheckUsable(core, key, algorithm, operation));
  return DryRunSucceeded();
}

}  // namespace

Result<EncryptResponse> Encrypt(Core& core, const CallContext& ctx, const EncryptRequest& req) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKey(ctx, req.key_id));
  SCY_RETURN_IF_ERROR(
      core.Authorize(ctx, key, Auth("kms:Encrypt", req.context, req.algorithm, req.key_id)));
  if (IsAsymmetricEncryption(key)) {
    SCY_RETURN_IF_ERROR(CheckKeyState("Encrypt", key));
    SCY_ASSIGN_OR_RETURN(crypto::HashAlgorithm hash, OaepHashFor(key, req.algorithm, req.context));
    if (req.dry_run) {
      return DryRunSucceeded();
    }
    SCY_ASSIGN_OR_RETURN(Bytes blob, SealAsymmetric(core, key, hash,
                                                    req.plaintext.Reveal(crypto::KeyAccess::Grant())));
    return EncryptResponse{std::move(blob), Arn(key), *req.algorithm};
  }
  SCY_RETURN_IF_ERROR(CheckUsable(core, key, req.algorithm, "Encrypt"));
  if (req.dry_run) {
    return DryRunSucceeded();
  }
  SCY_ASSIGN_OR_RETURN(Sealed sealed,
                       Seal(core, key, req.plaintext.Reveal(crypto::KeyAccess::Grant()), req.context));
  return EncryptResponse{std::move(sealed.blob), sealed.key_arn, kSymmetricDefault};
}

Result<DecryptResponse> Decrypt(Core& core, const CallContext& ctx, const DecryptRequest& req) {
  if (req.has_recipient) {
    return RecipientUnsupported();
  }
  if (req.dry_run && req.dry_run_ignore_ciphertext) {
    SCY_RETURN_IF_ERROR(DryRunWithoutCiphertext(core, ctx, req.key_id, req.algorithm, "Decrypt"));
  }
  if (!req.ciphertext_blob) {
    return MakeError(ErrorCode::kValidation,
                     "1 validation error detected: Value null at 'ciphertextBlob' failed to "
                     "satisfy constraint: Member must not be null");
  }
  SCY_ASSIGN_OR_RETURN(Opened opened, Open(core, ctx, *req.ciphertext_blob, req.context, req.key_id,
                                           req.algorithm, "Decrypt"));
  if (req.dry_run) {
    return DryRunSucceeded();
  }
  return DecryptResponse{opened.key_arn, std::move(opened.plaintext),
                         req.algorithm.value_or(kSymmetricDefault), opened.version_id};
}

Result<ReEncryptResponse> ReEncrypt(Core& core, const CallContext& ctx,
                                    const ReEncryptRequest& req) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow destination, core.ResolveKey(ctx, req.destination_key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, destination,
                                     Auth("kms:ReEncryptTo", req.destination_context,
                                          req.destination_algorithm, req.destination_key_id)));
  std::optional<crypto::HashAlgorithm> destination_hash;
  if (IsAsymmetricEncryption(destination)) {
    SCY_RETURN_IF_ERROR(CheckKeyState("ReEncrypt", destination));
    SCY_ASSIGN_OR_RETURN(destination_hash, OaepHashFor(destination, req.destination_algorithm,
                                                       req.destination_context));
  } else {
    SCY_RETURN_IF_ERROR(CheckUsable(core, destination, req.destination_algorithm, "ReEncrypt"));
  }
  if (req.dry_run && req.dry_run_ignore_ciphertext) {
    SCY_RETURN_IF_ERROR(
        DryRunWithoutCiphertext(core, ctx, req.source_key_id, req.source_algorithm, "ReEncrypt"));
  }
  // The plaintext exists only inside this call, in wiping memory.
  SCY_ASSIGN_OR_RETURN(Opened opened,
                       Open(core, ctx, req.ciphertext_blob, req.source_context, req.source_key_id,
                            req.source_algorithm, "ReEncrypt"));
  if (req.dry_run) {
    return DryRunSucceeded();
  }
  const std::string source_algorithm = req.source_algorithm.value_or(kSymmetricDefault);
  if (destination_hash) {
    SCY_ASSIGN_OR_RETURN(Bytes blob,
                         SealAsymmetric(core, destination, *destination_hash,
                                        opened.plaintext.Reveal(crypto::KeyAccess::Grant())));
    return ReEncryptResponse{std::move(blob),      opened.key_arn,
                             Arn(destination),     source_algorithm,
                             *req.destination_algorithm, opened.version_id, ""};
  }
  SCY_ASSIGN_OR_RETURN(Sealed sealed,
                       Seal(core, destination, opened.plaintext.Reveal(crypto::KeyAccess::Grant()),
                            req.destination_context));
  return ReEncryptResponse{std::move(sealed.blob), opened.key_arn,     sealed.key_arn,
                           source_algorithm,       kSymmetricDefault,  opened.version_id,
                           sealed.version_id};
}

Result<GenerateDataKeyResponse> GenerateDataKey(Core& core, const CallContext& ctx,
                                                const GenerateDataKeyRequest& req,
                                                bool with_plaintext) {
  if (req.has_recipient) {
    return RecipientUnsupported();
  }
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKey(ctx, req.key_id));
  std::string_view operation =
      with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext";
  SCY_RETURN_IF_ERROR(core.Authorize(
      ctx, key,
      Auth(with_plaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext",
           req.context, std::nullopt, req.key_id)));
  SCY_RETURN_IF_ERROR(CheckUsable(core, key, std::nullopt, operation));
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
                       Seal(core, key, data_key.Reveal(crypto::KeyAccess::Grant()), req.context));
  GenerateDataKeyResponse out;
  out.ciphertext_blob = std::move(sealed.blob);
  out.key_arn = sealed.key_arn;
  out.key_material_id = sealed.version_id;
  if (with_plaintext) {
    out.plaintext = std::move(data_key);
  }
  return out;
}

Result<GenerateDataKeyPairResponse> GenerateDataKeyPair(Core& core, const CallContext& ctx,
                                                        const GenerateDataKeyPairRequest& req,
                                                        bool with_plaintext) {
  if (req.has_recipient) {
    return RecipientUnsupported();
  }
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKey(ctx, req.key_id));
  std::string_view operation =
      with_plaintext ? "GenerateDataKeyPair" : "GenerateDataKeyPairWithoutPlaintext";
  AuthRequest auth = Auth(with_plaintext ? "kms:GenerateDataKeyPair"
                                         : "kms:GenerateDataKeyPairWithoutPlaintext",
                          req.context, std::nullopt, req.key_id);
  auth.key_pair_spec = req.key_pair_spec;
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key, auth));
  SCY_RETURN_IF_ERROR(CheckUsable(core, key, std::nullopt, operation));
  std::optional<crypto::KeyPairType> type = crypto::KeyPairTypeFromSpec(req.key_pair_spec);
  if (!type) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "KeyPairSpec " + req.key_pair_spec + " is not supported by this server.");
  }
  if (req.dry_run) {
    return DryRunSucceeded();
  }
  SCY_ASSIGN_OR_RETURN(crypto::PrivateKey pair, crypto::PrivateKey::Generate(*type));
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes pkcs8, pair.ToPkcs8());
  SCY_ASSIGN_OR_RETURN(Sealed sealed,
                       Seal(core, key, pkcs8.Reveal(crypto::KeyAccess::Grant()), req.context));
  GenerateDataKeyPairResponse out;
  out.private_key_ciphertext_blob = std::move(sealed.blob);
  SCY_ASSIGN_OR_RETURN(out.public_key, pair.Public().ToDer());
  out.key_arn = sealed.key_arn;
  out.key_pair_spec = req.key_pair_spec;
  out.key_material_id = sealed.version_id;
  if (with_plaintext) {
    out.private_key_plaintext = std::move(pkcs8);
  }
  return out;
}

Result<crypto::SecretBytes> GenerateRandom(Core& core, const CallContext& ctx,
                                           const GenerateRandomRequest& req) {
  SCY_RETURN_IF_ERROR(core.AuthorizeWithoutKey(ctx, {.action = "kms:GenerateRandom"}));
  if (req.has_recipient) {
    return RecipientUnsupported();
  }
  if (!req.number_of_bytes) {
    return MakeError(ErrorCode::kValidation,
                     "1 validation error detected: Value null at 'numberOfBytes' failed to "
                     "satisfy constraint: Member must not be null");
  }
  if (req.custom_key_store_id) {
    return RandomFromCustomKeyStore(core, ctx, *req.custom_key_store_id,
                                    static_cast<size_t>(*req.number_of_bytes));
  }
  return crypto::RandomSecret(static_cast<size_t>(*req.number_of_bytes));
}

}  // namespace scytale::kms::internal

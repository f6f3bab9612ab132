// Asymmetric and HMAC keys: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac,
// DeriveSharedSecret. (RSA Encrypt/Decrypt/ReEncrypt and GenerateDataKeyPair live with the
// other envelope operations in envelope.cc.)
#include <algorithm>

#include "kms/internal/key_spec.h"
#include "kms/internal/ops.h"

namespace scytale::kms::internal {
namespace {

constexpr std::string_view kSignVerify = "SIGN_VERIFY";
constexpr std::string_view kMac = "GENERATE_VERIFY_MAC";
constexpr std::string_view kKeyAgreement = "KEY_AGREEMENT";

Status CheckUsage(const storage::KeyRow& key, std::string_view usage,
                  std::string_view operation) {
  if (key.key_usage != usage) {
    return MakeError(ErrorCode::kInvalidKeyUsage,
                     Arn(key) + " key usage is " + key.key_usage + " which is not valid for " +
                         std::string(operation) + ".");
  }
  return Ok();
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The signing algorithm, checked against the key's spec, and the message checked against its
// type: RAW up to 4096 bytes (the model's limit), DIGEST of exactly the hash's length.
Result<SigningAlgorithm> CheckSigning(const storage::KeyRow& key, const std::string& name,
                                      const std::string& message_type, const Bytes& message) {
  if (name == "ED25519_PH_SHA_512" && key.key_spec == "ECC_NIST_EDWARDS25519") {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "ED25519_PH_SHA_512 (Ed25519ph) needs OpenSSL 3.2 or later; this server "
                     "has OpenSSL 3.0. Use ED25519_SHA_512.");
  }
  std::optional<SigningAlgorithm> algorithm = FindSigningAlgorithm(name);
  if (!algorithm || !Contains(SigningAlgorithmsOf(key.key_spec, key.key_usage), name)) {
    return MakeError(ErrorCode::kInvalidKeyUsage,
                     "The signing algorithm " + name + " is not valid for KMS key " + Arn(key) +
                         ", whose KeySpec is " + key.key_spec + ".");
  }
  if (message_type == "EXTERNAL_MU") {
    return MakeError(ErrorCode::kInvalidKeyUsage,
                     "MessageType EXTERNAL_MU is valid only with ML_DSA_SHAKE_256.");
  }
  if (message_type == "DIGEST") {
    if (algorithm->scheme == crypto::SignatureScheme::kEd25519) {
      return MakeError(ErrorCode::kValidation,
                       "ED25519_SHA_512 signs RAW messages only; use MessageType RAW.");
    }
    if (message.size() != crypto::DigestSize(algorithm->hash)) {
      return MakeError(ErrorCode::kValidation,
                       "Digest is invalid length for algorithm " + name + ".");
    }
  }
  return *algorithm;
}

}  // namespace

namespace {

// What Sign and Verify share: the key, authorized and checked, its signing algorithm, and its
// private key (Verify uses the public half). A dry run ends here.
struct SigningKey {
  storage::KeyRow key;
  SigningAlgorithm algorithm;
  std::shared_ptr<const crypto::PrivateKey> private_key;
};

Result<SigningKey> PrepareSigning(Core& core, const CallContext& ctx, std::string_view operation,
                                  const std::string& key_id, const std::string& algorithm_name,
                                  const std::string& message_type, const Bytes& message,
                                  bool dry_run) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKey(ctx, key_id));
  const std::string action = "kms:" + std::string(operation);
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key,
                                     {.action = action,
                                      .request_alias = RequestAlias(key_id),
                                      .signing_algorithm = algorithm_name,
                                      .message_type = message_type}));
  SCY_RETURN_IF_ERROR(CheckKeyState(operation, key));
  SCY_RETURN_IF_ERROR(CheckUsage(key, kSignVerify, operation));
  SCY_ASSIGN_OR_RETURN(SigningAlgorithm algorithm,
                       CheckSigning(key, algorithm_name, message_type, message));
  if (dry_run) {
    return DryRunSucceeded();
  }
  SCY_ASSIGN_OR_RETURN(auto private_key, core.PrivateKeyOf(key));
  return SigningKey{std::move(key), algorithm, std::move(private_key)};
}

}  // namespace

Result<SignResponse> Sign(Core& core, const CallContext& ctx, const SignRequest& req) {
  SCY_ASSIGN_OR_RETURN(SigningKey sk,
                       PrepareSigning(core, ctx, "Sign", req.key_id, req.signing_algorithm,
                                      req.message_type, req.message, req.dry_run));
  SCY_ASSIGN_OR_RETURN(Bytes signature,
                       crypto::Sign(*sk.private_key, sk.algorithm.scheme, sk.algorithm.hash,
                                    req.message, req.message_type == "DIGEST"));
  return SignResponse{Arn(sk.key), std::move(signature), req.signing_algorithm};
}

Result<VerifyResponse> Verify(Core& core, const CallContext& ctx, const VerifyRequest& req) {
  SCY_ASSIGN_OR_RETURN(SigningKey sk,
                       PrepareSigning(core, ctx, "Verify", req.key_id, req.signing_algorithm,
                                      req.message_type, req.message, req.dry_run));
  SCY_ASSIGN_OR_RETURN(bool valid, crypto::Verify(sk.private_key->Public(), sk.algorithm.scheme,
                                                   sk.algorithm.hash, req.message,
                                                   req.message_type == "DIGEST", req.signature));
  if (!valid) {
    return MakeError(ErrorCode::kKmsInvalidSignature,
                     "The signature is not valid for the given message, key and algorithm.");
  }
  return VerifyResponse{Arn(sk.key), true, req.signing_algorithm};
}

Result<GetPublicKeyResponse> GetPublicKey(Core& core, const CallContext& ctx,
                                          const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKey(ctx, key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(
      ctx, key, {.action = "kms:GetPublicKey", .request_alias = RequestAlias(key_id)}));
  SCY_RETURN_IF_ERROR(CheckKeyState("GetPublicKey", key));
  const KeySpecInfo* info = FindKeySpec(key.key_spec);
  if (info == nullptr || !info->pair) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     Arn(key) + " key spec is " + key.key_spec +
                         " which has no public key; GetPublicKey needs an asymmetric KMS key.");
  }
  SCY_ASSIGN_OR_RETURN(auto private_key, core.PrivateKeyOf(key));
  GetPublicKeyResponse out;
  out.key_arn = Arn(key);
  SCY_ASSIGN_OR_RETURN(out.public_key, private_key->Public().ToDer());
  out.key_spec = key.key_spec;
  out.key_usage = key.key_usage;
  out.encryption_algorithms = EncryptionAlgorithmsOf(key.key_spec, key.key_usage);
  out.signing_algorithms = SigningAlgorithmsOf(key.key_spec, key.key_usage);
  out.key_agreement_algorithms = KeyAgreementAlgorithmsOf(key.key_spec, key.key_usage);
  return out;
}

namespace {

struct MacKey {
  storage::KeyRow key;
  crypto::HashAlgorithm hash;
};

Result<MacKey> CheckMac(Core& core, const CallContext& ctx, const MacRequest& req,
                        std::string_view operation) {
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKey(ctx, req.key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key,
                                     {.action = operation == "GenerateMac" ? "kms:GenerateMac"
                                                                           : "kms:VerifyMac",
                                      .request_alias = RequestAlias(req.key_id),
                                      .mac_algorithm = req.mac_algorithm}));
  SCY_RETURN_IF_ERROR(CheckKeyState(operation, key));
  SCY_RETURN_IF_ERROR(CheckUsage(key, kMac, operation));
  std::optional<crypto::HashAlgorithm> hash = FindMacAlgorithm(req.mac_algorithm);
  if (!hash || !Contains(MacAlgorithmsOf(key.key_spec, key.key_usage), req.mac_algorithm)) {
    return MakeError(ErrorCode::kInvalidKeyUsage,
                     "The MAC algorithm " + req.mac_algorithm + " is not valid for KMS key " +
                         Arn(key) + ", whose KeySpec is " + key.key_spec + ".");
  }
  if (req.dry_run) {
    return DryRunSucceeded();
  }
  return MacKey{std::move(key), *hash};
}

}  // namespace

Result<MacResponse> GenerateMac(Core& core, const CallContext& ctx, const MacRequest& req) {
  SCY_ASSIGN_OR_RETURN(MacKey mk, CheckMac(core, ctx, req, "GenerateMac"));
  SCY_ASSIGN_OR_RETURN(auto current, core.CurrentKeyMaterial(mk.key));
  SCY_ASSIGN_OR_RETURN(Bytes mac, crypto::Hmac(mk.hash, *current.material, req.message));
  return MacResponse{Arn(mk.key), std::move(mac), req.mac_algorithm};
}

Result<MacResponse> VerifyMac(Core& core, const CallContext& ctx, const MacRequest& req) {
  SCY_ASSIGN_OR_RETURN(MacKey mk, CheckMac(core, ctx, req, "VerifyMac"));
  SCY_ASSIGN_OR_RETURN(auto current, core.CurrentKeyMaterial(mk.key));
  SCY_ASSIGN_OR_RETURN(bool valid,
                       crypto::HmacVerify(mk.hash, *current.material, req.message, req.mac));
  if (!valid) {
    return MakeError(ErrorCode::kKmsInvalidMac,
                     "The MAC is not valid for the given message, key and algorithm.");
  }
  return MacResponse{Arn(mk.key), {}, req.mac_algorithm};
}

Result<DeriveSharedSecretResponse> DeriveSharedSecret(Core& core, const CallContext& ctx,
                                                      const DeriveSharedSecretRequest& req) {
  if (req.has_recipient) {
    return MakeError(ErrorCode::kUnsupportedOperation,
                     "Recipient (attested enclave requests) is not supported by this server.");
  }
  SCY_ASSIGN_OR_RETURN(storage::KeyRow key, core.ResolveKey(ctx, req.key_id));
  SCY_RETURN_IF_ERROR(core.Authorize(ctx, key,
                                     {.action = "kms:DeriveSharedSecret",
                                      .request_alias = RequestAlias(req.key_id),
                                      .key_agreement_algorithm = req.key_agreement_algorithm}));
  SCY_RETURN_IF_ERROR(CheckKeyState("DeriveSharedSecret", key));
  SCY_RETURN_IF_ERROR(CheckUsage(key, kKeyAgreement, "DeriveSharedSecret"));
  if (!Contains(KeyAgreementAlgorithmsOf(key.key_spec, key.key_usage),
                req.key_agreement_algorithm)) {
    return MakeError(ErrorCode::kInvalidKeyUsage,
                     "The key agreement algorithm " + req.key_agreement_algorithm +
                         " is not valid for KMS key " + Arn(key) + ".");
  }
  SCY_ASSIGN_OR_RETURN(crypto::PublicKey peer, crypto::PublicKey::FromDer(req.public_key));
  SCY_ASSIGN_OR_RETURN(auto private_key, core.PrivateKeyOf(key));
  if (peer.type() != private_key->type()) {
    return MakeError(ErrorCode::kValidation,
                     "The public key must be on the same curve as KMS key " + Arn(key) + " (" +
                         key.key_spec + ").");
  }
  if (req.dry_run) {
    return DryRunSucceeded();
  }
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes secret, crypto::Ecdh(*private_key, peer));
  DeriveSharedSecretResponse out;
  out.key_arn = Arn(key);
  out.shared_secret = std::move(secret);
  out.key_agreement_algorithm = req.key_agreement_algorithm;
  out.key_origin = key.origin;
  return out;
}

}  // namespace scytale::kms::internal

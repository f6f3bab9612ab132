#include "crypto/asymmetric.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "crypto/internal/ossl_ptr.h"
#include "crypto/internal/pkey.h"

namespace scytale::crypto {

using internal::DrainErrors;
using internal::OsslPtr;
using internal::PkeyHolder;

namespace {

Error OsslError(std::string_view what) {
  return MakeError(ErrorCode::kInternal, std::string(what) + ": " + DrainErrors());
}

// A rejection of caller input: the OpenSSL error queue says why to a debugger, not to callers.
Error Rejected(ErrorCode code, std::string message) {
  ERR_clear_error();
  return MakeError(code, std::move(message));
}

// OpenSSL treats a null pointer as "no input" in places where an empty buffer is meant.
const uint8_t* DataOrEmpty(std::span<const uint8_t> data) {
  static const uint8_t kEmpty = 0;
  return data.empty() ? &kEmpty : data.data();
}

// The default SM2 distinguishing identifier (GB/T 32918.2, GM/T 0009), which AWS KMS uses.
constexpr std::string_view kSm2DefaultId = "1234567812345678";

// Fetched once each: implicit fetching costs a provider lookup per call in OpenSSL 3.
const EVP_MD* MdFor(HashAlgorithm hash) {
  static EVP_MD* const kSha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static EVP_MD* const kSha224 = EVP_MD_fetch(nullptr, "SHA224", nullptr);
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* const kSha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static EVP_MD* const kSha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  static EVP_MD* const kSm3 = EVP_MD_fetch(nullptr, "SM3", nullptr);
  switch (hash) {
    case HashAlgorithm::kSha1:
      return kSha1;
    case HashAlgorithm::kSha224:
      return kSha224;
    case HashAlgorithm::kSha256:
      return kSha256;
    case HashAlgorithm::kSha384:
      return kSha384;
    case HashAlgorithm::kSha512:
      return kSha512;
    case HashAlgorithm::kSm3:
      return kSm3;
  }
  return nullptr;
}

Result<const EVP_MD*> RequireMd(HashAlgorithm hash) {
  const EVP_MD* md = MdFor(hash);
  if (md == nullptr) {
    return Rejected(ErrorCode::kUnsupportedOperation, "hash algorithm not available in OpenSSL");
  }
  return md;
}

bool IsSha2(HashAlgorithm hash) {
  return hash == HashAlgorithm::kSha224 || hash == HashAlgorithm::kSha256 ||
         hash == HashAlgorithm::kSha384 || hash == HashAlgorithm::kSha512;
}

bool IsRsa(std::optional<KeyPairType> type) {
  return type == KeyPairType::kRsa2048 || type == KeyPairType::kRsa3072 ||
         type == KeyPairType::kRsa4096;
}

// Curves on which ECDSA and ECDH are offered (SM2 has its own schemes).
bool IsEcCurve(std::optional<KeyPairType> type) {
  return type == KeyPairType::kEcP256 || type == KeyPairType::kEcP384 ||
         type == KeyPairType::kEcP521 || type == KeyPairType::kEcSecp256k1;
}

// The OpenSSL short name of the curve of an EC KeyPairType; nullptr for other types.
const char* CurveName(KeyPairType type) {
  switch (type) {
    case KeyPairType::kEcP256:
      return SN_X9_62_prime256v1;
    case KeyPairType::kEcP384:
      return SN_secp384r1;
    case KeyPairType::kEcP521:
      return SN_secp521r1;
    case KeyPairType::kEcSecp256k1:
      return SN_secp256k1;
    case KeyPairType::kSm2:
      return SN_sm2;
    default:
      return nullptr;
  }
}

std::optional<KeyPairType> EcTypeOf(const EVP_PKEY* pkey, bool is_sm2_key) {
  // Keys with explicit curve parameters are refused even when the parameters happen to match a
  // named curve: RFC 5480 requires namedCurve, and AWS KMS returns and accepts only that form.
  char encoding[32] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding, sizeof(encoding),
                                     &len) != 1 ||
      std::strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  char group[64] = {};
  if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  int nid = OBJ_sn2nid(group);
  if (nid == NID_undef) {
    nid = EC_curve_nist2nid(group);
  }
  switch (nid) {
    case NID_X9_62_prime256v1:
      return is_sm2_key ? std::nullopt : std::optional(KeyPairType::kEcP256);
    case NID_secp384r1:
      return is_sm2_key ? std::nullopt : std::optional(KeyPairType::kEcP384);
    case NID_secp521r1:
      return is_sm2_key ? std::nullopt : std::optional(KeyPairType::kEcP521);
    case NID_secp256k1:
      return is_sm2_key ? std::nullopt : std::optional(KeyPairType::kEcSecp256k1);
    case NID_sm2:
      // OpenSSL 3 decodes keys on the SM2 curve as SM2 keys; an "EC" key on that curve would
      // reach ECDSA instead of SM2DSA, so it is not given a type.
      return is_sm2_key ? std::optional(KeyPairType::kSm2) : std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<KeyPairType> TypeOf(const EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    switch (EVP_PKEY_get_bits(pkey)) {
      case 2048:
        return KeyPairType::kRsa2048;
      case 3072:
        return KeyPairType::kRsa3072;
      case 4096:
        return KeyPairType::kRsa4096;
      default:
        return std::nullopt;
    }
  }
  if (EVP_PKEY_is_a(pkey, "ED25519")) {
    return KeyPairType::kEd25519;
  }
  if (EVP_PKEY_is_a(pkey, "SM2")) {
    return EcTypeOf(pkey, /*is_sm2_key=*/true);
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    return EcTypeOf(pkey, /*is_sm2_key=*/false);
  }
  return std::nullopt;
}

Bytes EncodeSpki(const EVP_PKEY* pkey) {
  int len = i2d_PUBKEY(pkey, nullptr);
  if (len <= 0) {
    ERR_clear_error();
    return {};
  }
  Bytes out(static_cast<size_t>(len));
  uint8_t* p = out.data();
  if (i2d_PUBKEY(pkey, &p) != len) {
    ERR_clear_error();
    return {};
  }
  return out;
}

std::shared_ptr<const PkeyHolder> Hold(OsslPtr<EVP_PKEY> pkey) {
  auto holder = std::make_shared<PkeyHolder>();
  holder->type = TypeOf(pkey.get());
  holder->spki = EncodeSpki(pkey.get());
  holder->pkey = std::move(pkey);
  return holder;
}

EVP_PKEY* PkeyOf(const PublicKey& key) { return key.holder().pkey.get(); }
EVP_PKEY* PkeyOf(const PrivateKey& key) { return key.holder().pkey.get(); }

}  // namespace

std::optional<KeyPairType> KeyPairTypeFromSpec(std::string_view spec) {
  static constexpr std::pair<std::string_view, KeyPairType> kSpecs[] = {
      {"RSA_2048", KeyPairType::kRsa2048},
      {"RSA_3072", KeyPairType::kRsa3072},
      {"RSA_4096", KeyPairType::kRsa4096},
      {"ECC_NIST_P256", KeyPairType::kEcP256},
      {"ECC_NIST_P384", KeyPairType::kEcP384},
      {"ECC_NIST_P521", KeyPairType::kEcP521},
      {"ECC_SECG_P256K1", KeyPairType::kEcSecp256k1},
      {"ECC_NIST_EDWARDS25519", KeyPairType::kEd25519},
      {"SM2", KeyPairType::kSm2},
  };
  for (const auto& [name, type] : kSpecs) {
    if (name == spec) {
      return type;
    }
  }
  return std::nullopt;
}

// ---- PublicKey ----

Result<PublicKey> PublicKey::FromDer(std::span<const uint8_t> spki) {
  if (spki.empty() || spki.size() > static_cast<size_t>(LONG_MAX)) {
    return Rejected(ErrorCode::kValidation, "public key is not a DER SubjectPublicKeyInfo");
  }
  const uint8_t* p = spki.data();
  OsslPtr<EVP_PKEY> pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!pkey || p != spki.data() + spki.size()) {
    return Rejected(ErrorCode::kValidation, "public key is not a DER SubjectPublicKeyInfo");
  }
  // d2i_PUBKEY reads BER (long-form and indefinite lengths, unused bits, undefined tags) and
  // skips some garbage; DER has exactly one encoding per key, so a key is taken only when it
  // encodes back to the same bytes. Compressed points stay compressed and pass.
  auto holder = Hold(std::move(pkey));
  if (!std::equal(holder->spki.begin(), holder->spki.end(), spki.begin(), spki.end())) {
    return Rejected(ErrorCode::kValidation, "public key is not a DER SubjectPublicKeyInfo");
  }
  return PublicKey(std::move(holder));
}

Result<PublicKey> PublicKey::FromRawEd25519(std::span<const uint8_t> raw) {
  if (raw.size() != 32) {
    return Rejected(ErrorCode::kValidation, "an Ed25519 public key is 32 bytes");
  }
  OsslPtr<EVP_PKEY> pkey(
      EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, raw.data(), raw.size()));
  if (!pkey) {
    return Rejected(ErrorCode::kValidation, "not an Ed25519 public key");
  }
  return PublicKey(Hold(std::move(pkey)));
}

std::optional<KeyPairType> PublicKey::type() const { return pkey_->type; }

Result<Bytes> PublicKey::ToDer() const {
  if (pkey_->spki.empty()) {
    return MakeError(ErrorCode::kInternal, "public key could not be encoded");
  }
  return pkey_->spki;
}

// ---- PrivateKey ----

Result<PrivateKey> PrivateKey::Generate(KeyPairType type) {
  OsslPtr<EVP_PKEY> pkey;
  switch (type) {
    case KeyPairType::kRsa2048:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
      break;
    case KeyPairType::kRsa3072:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072}));
      break;
    case KeyPairType::kRsa4096:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096}));
      break;
    case KeyPairType::kEcP256:
    case KeyPairType::kEcP384:
    case KeyPairType::kEcP521:
    case KeyPairType::kEcSecp256k1:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", CurveName(type)));
      break;
    case KeyPairType::kEd25519:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
      break;
    case KeyPairType::kSm2:
      pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2"));
      if (!pkey) {
        return Rejected(ErrorCode::kUnsupportedOperation, "SM2 is not available in OpenSSL");
      }
      break;
  }
  if (!pkey) {
    return OsslError("key generation");
  }
  auto holder = Hold(std::move(pkey));
  if (holder->type != type) {
    return MakeError(ErrorCode::kInternal, "generated key is not of the requested type");
  }
  return PrivateKey(std::move(holder), type);
}

Result<PrivateKey> PrivateKey::FromPkcs8(const SecretBytes& der) {
  auto bytes = der.Reveal(KeyAccess::Grant());
  if (bytes.empty() || bytes.size() > static_cast<size_t>(LONG_MAX)) {
    return Rejected(ErrorCode::kValidation, "private key is not PKCS#8 DER");
  }
  const uint8_t* p = bytes.data();
  OsslPtr<PKCS8_PRIV_KEY_INFO> p8(
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(bytes.size())));
  if (!p8 || p != bytes.data() + bytes.size()) {
    return Rejected(ErrorCode::kValidation, "private key is not PKCS#8 DER");
  }
  OsslPtr<EVP_PKEY> pkey(EVP_PKCS82PKEY(p8.get()));
  if (!pkey) {
    return Rejected(ErrorCode::kValidation, "private key does not parse");
  }
  auto holder = Hold(std::move(pkey));
  if (!holder->type) {
    return Rejected(ErrorCode::kValidation, "private key is not of a supported type");
  }
  KeyPairType type = *holder->type;
  return PrivateKey(std::move(holder), type);
}

Result<PrivateKey> PrivateKey::FromEcScalar(KeyPairType type, std::span<const uint8_t> scalar) {
  const char* curve = CurveName(type);
  if (curve == nullptr) {
    return Rejected(ErrorCode::kValidation, "not an elliptic-curve key type");
  }
  if (scalar.empty() || scalar.size() > 128) {
    return Rejected(ErrorCode::kValidation, "EC private scalar out of range");
  }
  OsslPtr<EC_GROUP> group(EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve)));
  OsslPtr<BN_CTX> bn_ctx(BN_CTX_secure_new());
  OsslPtr<BIGNUM> d(BN_secure_new());
  if (!group || !bn_ctx || !d) {
    return OsslError("EC setup");
  }
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  if (BN_bin2bn(scalar.data(), static_cast<int>(scalar.size()), d.get()) == nullptr) {
    return OsslError("BN_bin2bn");
  }
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return Rejected(ErrorCode::kValidation, "EC private scalar out of range");
  }
  // OpenSSL 3.0's EVP_PKEY_fromdata does not derive the public point, so compute it here
  // (constant-time fixed-base multiplication) for Public() and the PKCS#8 encoding.
  OsslPtr<EC_POINT> point(EC_POINT_new(group.get()));
  if (!point ||
      EC_POINT_mul(group.get(), point.get(), d.get(), nullptr, nullptr, bn_ctx.get()) != 1) {
    return OsslError("EC_POINT_mul");
  }
  size_t pub_len = EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED,
                                      nullptr, 0, bn_ctx.get());
  Bytes pub(pub_len);
  if (pub_len == 0 || EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED,
                                         pub.data(), pub.size(), bn_ctx.get()) != pub_len) {
    return OsslError("EC_POINT_point2oct");
  }
  OsslPtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                       pub.size()) != 1) {
    return OsslError("EC key parameters");
  }
  OsslPtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  OsslPtr<EVP_PKEY_CTX> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type == KeyPairType::kSm2 ? "SM2" : "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return OsslError("EVP_PKEY_fromdata");
  }
  auto holder = Hold(OsslPtr<EVP_PKEY>(raw));
  if (holder->type != type) {
    return MakeError(ErrorCode::kInternal, "EC key is not of the requested type");
  }
  return PrivateKey(std::move(holder), type);
}

Result<SecretBytes> PrivateKey::ToPkcs8() const {
  // EVP_PKEY2PKCS8 wipes its intermediate encoding; the PKCS#8 structure wipes on free.
  OsslPtr<PKCS8_PRIV_KEY_INFO> p8(EVP_PKEY2PKCS8(pkey_->pkey.get()));
  if (!p8) {
    return OsslError("EVP_PKEY2PKCS8");
  }
  int len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  if (len <= 0) {
    return OsslError("i2d_PKCS8_PRIV_KEY_INFO");
  }
  SecretBytes out(static_cast<size_t>(len));
  uint8_t* p = out.MutableReveal(KeyAccess::Grant()).data();
  if (i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p) != len) {
    return OsslError("i2d_PKCS8_PRIV_KEY_INFO");
  }
  return out;
}

// The public half shares the key object: a PublicKey only ever reads its public part.
PublicKey PrivateKey::Public() const { return PublicKey(pkey_); }

// ---- Digests ----

size_t DigestSize(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return 20;
    case HashAlgorithm::kSha224:
      return 28;
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha384:
      return 48;
    case HashAlgorithm::kSha512:
      return 64;
    case HashAlgorithm::kSm3:
      return 32;
  }
  return 0;
}

Result<Bytes> Digest(HashAlgorithm hash, std::span<const uint8_t> data) {
  SCY_ASSIGN_OR_RETURN(const EVP_MD* md, RequireMd(hash));
  Bytes out(DigestSize(hash));
  unsigned int len = 0;
  if (EVP_Digest(DataOrEmpty(data), data.size(), out.data(), &len, md, nullptr) != 1 ||
      len != out.size()) {
    return OsslError("EVP_Digest");
  }
  return out;
}

// ---- Signatures ----

namespace {

// kValidation unless `scheme` and `hash` fit a key of `type` and a digest input has the hash's
// length.
Status CheckSignatureInputs(std::optional<KeyPairType> type, SignatureScheme scheme,
                            HashAlgorithm hash, bool is_digest, size_t data_size) {
  bool fits = false;
  switch (scheme) {
    case SignatureScheme::kRsaPss:
    case SignatureScheme::kRsaPkcs1v15:
      fits = IsRsa(type) && IsSha2(hash);
      break;
    case SignatureScheme::kEcdsa:
      fits = IsEcCurve(type) && IsSha2(hash);
      break;
    case SignatureScheme::kEd25519:
      if (is_digest) {
        return MakeError(ErrorCode::kValidation, "Ed25519 signs messages, not digests");
      }
      fits = type == KeyPairType::kEd25519 && hash == HashAlgorithm::kSha512;
      break;
    case SignatureScheme::kSm2:
      fits = type == KeyPairType::kSm2 && hash == HashAlgorithm::kSm3;
      break;
  }
  if (!fits) {
    return MakeError(ErrorCode::kValidation, "signature scheme or hash does not fit the key");
  }
  if (is_digest && data_size != DigestSize(hash)) {
    return MakeError(ErrorCode::kValidation, "digest length does not match the hash algorithm");
  }
  return Ok();
}

// Padding, digest, MGF1 and salt length for a sign or verify context over a digest.
Status ConfigureSignature(EVP_PKEY_CTX* ctx, SignatureScheme scheme, const EVP_MD* md) {
  bool ok = true;
  switch (scheme) {
    case SignatureScheme::kRsaPss:
      ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_signature_md(ctx, md) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0;
      break;
    case SignatureScheme::kRsaPkcs1v15:
      ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
           EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
      break;
    case SignatureScheme::kEcdsa:
    case SignatureScheme::kSm2:
      ok = EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
      break;
    case SignatureScheme::kEd25519:
      break;
  }
  if (!ok) {
    return OsslError("signature parameters");
  }
  return Ok();
}

// The message or digest that EVP_PKEY_sign/verify take: the digest as given, or the message
// hashed here. Ed25519 and SM2 over a message go through EVP_DigestSign/Verify instead.
Result<Bytes> DigestInput(HashAlgorithm hash, std::span<const uint8_t> data, bool is_digest) {
  if (is_digest) {
    return Bytes(data.begin(), data.end());
  }
  return Digest(hash, data);
}

// An EVP_MD_CTX for one-shot message signing or verification (Ed25519, or SM2 over a message,
// where OpenSSL computes Z_A with the default distinguishing id).
Result<OsslPtr<EVP_MD_CTX>> MessageContext(EVP_PKEY* pkey, SignatureScheme scheme, bool sign) {
  OsslPtr<EVP_MD_CTX> md_ctx(EVP_MD_CTX_new());
  if (!md_ctx) {
    return OsslError("EVP_MD_CTX_new");
  }
  const char* md_name = scheme == SignatureScheme::kSm2 ? "SM3" : nullptr;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md_ctx
  int rc =
      sign ? EVP_DigestSignInit_ex(md_ctx.get(), &pctx, md_name, nullptr, nullptr, pkey, nullptr)
           : EVP_DigestVerifyInit_ex(md_ctx.get(), &pctx, md_name, nullptr, nullptr, pkey, nullptr);
  if (rc != 1) {
    return OsslError("EVP_DigestSignInit");
  }
  if (scheme == SignatureScheme::kSm2 &&
      EVP_PKEY_CTX_set1_id(pctx, kSm2DefaultId.data(), kSm2DefaultId.size()) != 1) {
    return OsslError("SM2 distinguishing id");
  }
  return md_ctx;
}

}  // namespace

Result<Bytes> Sign(const PrivateKey& key, SignatureScheme scheme, HashAlgorithm hash,
                   std::span<const uint8_t> data, bool is_digest) {
  SCY_RETURN_IF_ERROR(CheckSignatureInputs(key.type(), scheme, hash, is_digest, data.size()));
  SCY_ASSIGN_OR_RETURN(const EVP_MD* md, RequireMd(hash));
  EVP_PKEY* pkey = PkeyOf(key);
  if (scheme == SignatureScheme::kEd25519 || (scheme == SignatureScheme::kSm2 && !is_digest)) {
    SCY_ASSIGN_OR_RETURN(auto md_ctx, MessageContext(pkey, scheme, /*sign=*/true));
    size_t len = 0;
    if (EVP_DigestSign(md_ctx.get(), nullptr, &len, DataOrEmpty(data), data.size()) != 1) {
      return OsslError("EVP_DigestSign");
    }
    Bytes out(len);
    if (EVP_DigestSign(md_ctx.get(), out.data(), &len, DataOrEmpty(data), data.size()) != 1) {
      return OsslError("EVP_DigestSign");
    }
    out.resize(len);
    return out;
  }
  SCY_ASSIGN_OR_RETURN(Bytes digest, DigestInput(hash, data, is_digest));
  OsslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) {
    return OsslError("EVP_PKEY_sign_init");
  }
  SCY_RETURN_IF_ERROR(ConfigureSignature(ctx.get(), scheme, md));
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1) {
    return OsslError("EVP_PKEY_sign");
  }
  Bytes out(len);
  if (EVP_PKEY_sign(ctx.get(), out.data(), &len, digest.data(), digest.size()) != 1) {
    return OsslError("EVP_PKEY_sign");
  }
  out.resize(len);
  return out;
}

Result<bool> Verify(const PublicKey& key, SignatureScheme scheme, HashAlgorithm hash,
                    std::span<const uint8_t> data, bool is_digest,
                    std::span<const uint8_t> signature) {
  SCY_RETURN_IF_ERROR(CheckSignatureInputs(key.type(), scheme, hash, is_digest, data.size()));
  SCY_ASSIGN_OR_RETURN(const EVP_MD* md, RequireMd(hash));
  EVP_PKEY* pkey = PkeyOf(key);
  if (signature.empty()) {
    return false;
  }
  // RFC 8017 8.1.2 and 8.2.2 step 1: a signature is exactly k bytes. OpenSSL's PSS path would
  // otherwise read a shorter string as a smaller integer.
  if ((scheme == SignatureScheme::kRsaPss || scheme == SignatureScheme::kRsaPkcs1v15) &&
      signature.size() != static_cast<size_t>(EVP_PKEY_get_size(pkey))) {
    return false;
  }
  int rc = 0;
  if (scheme == SignatureScheme::kEd25519 || (scheme == SignatureScheme::kSm2 && !is_digest)) {
    SCY_ASSIGN_OR_RETURN(auto md_ctx, MessageContext(pkey, scheme, /*sign=*/false));
    rc = EVP_DigestVerify(md_ctx.get(), signature.data(), signature.size(), DataOrEmpty(data),
                          data.size());
  } else {
    SCY_ASSIGN_OR_RETURN(Bytes digest, DigestInput(hash, data, is_digest));
    OsslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
      return OsslError("EVP_PKEY_verify_init");
    }
    SCY_RETURN_IF_ERROR(ConfigureSignature(ctx.get(), scheme, md));
    rc = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                         digest.size());
  }
  // 0 is a bad signature and a negative value a malformed one: both are simply invalid.
  ERR_clear_error();
  return rc == 1;
}

// ---- RSA-OAEP ----

namespace {

bool IsOaepHash(HashAlgorithm hash) {
  return hash == HashAlgorithm::kSha1 || hash == HashAlgorithm::kSha256;
}

Status ConfigureOaep(EVP_PKEY_CTX* ctx, const EVP_MD* md, std::span<const uint8_t> label) {
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0) {
    return OsslError("OAEP parameters");
  }
  if (!label.empty()) {
    // The provider copies the label.
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL,
                                          const_cast<uint8_t*>(label.data()), label.size()),
        OSSL_PARAM_construct_end()};
    if (EVP_PKEY_CTX_set_params(ctx, params) != 1) {
      return OsslError("OAEP label");
    }
  }
  return Ok();
}

}  // namespace

size_t RsaOaepMaxPlaintext(const PublicKey& key, HashAlgorithm hash) {
  if (!IsRsa(key.type()) || !IsOaepHash(hash)) {
    return 0;
  }
  // RFC 8017 7.1.1: mLen <= k - 2 hLen - 2.
  size_t k = static_cast<size_t>(EVP_PKEY_get_size(PkeyOf(key)));
  size_t h = DigestSize(hash);
  return k >= 2 * h + 2 ? k - 2 * h - 2 : 0;
}

Result<Bytes> RsaOaepEncrypt(const PublicKey& key, HashAlgorithm hash,
                             std::span<const uint8_t> plaintext) {
  if (!IsRsa(key.type()) || !IsOaepHash(hash)) {
    return MakeError(ErrorCode::kValidation, "RSA-OAEP needs an RSA key and SHA-1 or SHA-256");
  }
  if (plaintext.size() > RsaOaepMaxPlaintext(key, hash)) {
    return MakeError(ErrorCode::kValidation, "plaintext too long for RSA-OAEP with this key");
  }
  SCY_ASSIGN_OR_RETURN(const EVP_MD* md, RequireMd(hash));
  OsslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, PkeyOf(key), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1) {
    return OsslError("EVP_PKEY_encrypt_init");
  }
  SCY_RETURN_IF_ERROR(ConfigureOaep(ctx.get(), md, {}));
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, DataOrEmpty(plaintext), plaintext.size()) != 1) {
    return OsslError("EVP_PKEY_encrypt");
  }
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, DataOrEmpty(plaintext), plaintext.size()) !=
      1) {
    return OsslError("EVP_PKEY_encrypt");
  }
  out.resize(len);
  return out;
}

namespace internal {

Result<SecretBytes> RsaOaepDecryptWithLabel(const PrivateKey& key, HashAlgorithm hash,
                                            std::span<const uint8_t> label,
                                            std::span<const uint8_t> ciphertext) {
  if (!IsRsa(key.type()) || !IsOaepHash(hash)) {
    return MakeError(ErrorCode::kValidation, "RSA-OAEP needs an RSA key and SHA-1 or SHA-256");
  }
  SCY_ASSIGN_OR_RETURN(const EVP_MD* md, RequireMd(hash));
  EVP_PKEY* pkey = PkeyOf(key);
  size_t k = static_cast<size_t>(EVP_PKEY_get_size(pkey));
  // RFC 8017 7.1.2 step 1b: a ciphertext is exactly k bytes.
  if (ciphertext.size() != k) {
    return MakeError(ErrorCode::kInvalidCiphertext, "decryption failed");
  }
  OsslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1) {
    return OsslError("EVP_PKEY_decrypt_init");
  }
  SCY_RETURN_IF_ERROR(ConfigureOaep(ctx.get(), md, label));
  SecretBytes buffer(k);  // wiped when it goes out of scope, on every path
  size_t len = buffer.size();
  if (EVP_PKEY_decrypt(ctx.get(), buffer.MutableReveal(KeyAccess::Grant()).data(), &len,
                       ciphertext.data(), ciphertext.size()) != 1 ||
      len > k) {
    // One answer for every failure: no padding oracle (Manger's attack).
    return Rejected(ErrorCode::kInvalidCiphertext, "decryption failed");
  }
  return SecretBytes(buffer.Reveal(KeyAccess::Grant()).first(len));
}

}  // namespace internal

Result<SecretBytes> RsaOaepDecrypt(const PrivateKey& key, HashAlgorithm hash,
                                   std::span<const uint8_t> ciphertext) {
  return internal::RsaOaepDecryptWithLabel(key, hash, {}, ciphertext);
}

// ---- ECDH ----

Result<SecretBytes> Ecdh(const PrivateKey& key, const PublicKey& peer) {
  if (key.type() == KeyPairType::kSm2) {
    return MakeError(ErrorCode::kUnsupportedOperation, "SM2 key agreement is not supported");
  }
  if (!IsEcCurve(key.type())) {
    return MakeError(ErrorCode::kValidation, "ECDH needs an elliptic-curve key");
  }
  if (peer.type() != key.type()) {
    return MakeError(ErrorCode::kValidation, "peer public key is not on the key's curve");
  }
  OsslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, PkeyOf(key), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return OsslError("EVP_PKEY_derive_init");
  }
  // validate_peer = 1: the peer point must be on the curve and of the group's order (invalid-
  // curve attacks).
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), PkeyOf(peer), 1) != 1) {
    return Rejected(ErrorCode::kValidation, "peer public key is invalid");
  }
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    return OsslError("EVP_PKEY_derive");
  }
  SecretBytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.MutableReveal(KeyAccess::Grant()).data(), &len) != 1) {
    return Rejected(ErrorCode::kValidation, "key agreement failed");
  }
  if (len != secret.size()) {
    return SecretBytes(secret.Reveal(KeyAccess::Grant()).first(len));
  }
  return secret;
}

// ---- HMAC ----

namespace {

const char* HmacDigestName(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha224:
      return "SHA224";
    case HashAlgorithm::kSha256:
      return "SHA256";
    case HashAlgorithm::kSha384:
      return "SHA384";
    case HashAlgorithm::kSha512:
      return "SHA512";
    default:
      return nullptr;
  }
}

}  // namespace

Result<Bytes> Hmac(HashAlgorithm hash, const SecretBytes& key, std::span<const uint8_t> data) {
  const char* digest_name = HmacDigestName(hash);
  if (digest_name == nullptr) {
    return MakeError(ErrorCode::kValidation, "HMAC is offered with SHA-224/256/384/512 only");
  }
  // Fetched once, as in HkdfSha256.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  OsslPtr<EVP_MAC_CTX> ctx(mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr);
  if (!ctx) {
    return OsslError("HMAC fetch");
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name), 0),
      OSSL_PARAM_construct_end()};
  auto key_bytes = key.Reveal(KeyAccess::Grant());
  // A null key means "keep the previous key" to OpenSSL; an empty key is a valid HMAC key.
  // The MAC context wipes its copy of the key when freed.
  if (EVP_MAC_init(ctx.get(), DataOrEmpty(key_bytes), key_bytes.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), DataOrEmpty(data), data.size()) != 1) {
    return OsslError("HMAC");
  }
  Bytes out(DigestSize(hash));
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    return OsslError("HMAC final");
  }
  return out;
}

Result<bool> HmacVerify(HashAlgorithm hash, const SecretBytes& key, std::span<const uint8_t> data,
                        std::span<const uint8_t> tag) {
  SCY_ASSIGN_OR_RETURN(Bytes expected, Hmac(hash, key, data));
  // Truncated tags are refused: a shorter tag is easier to forge.
  bool ok = ConstantTimeEquals(expected, tag);
  OPENSSL_cleanse(expected.data(), expected.size());
  return ok;
}

}  // namespace scytale::crypto

// Asymmetric and HMAC keys through the service layer: CreateKey per spec × usage, KeyMetadata's
// algorithm lists, Sign/Verify (RAW and DIGEST, every algorithm a spec offers), GetPublicKey,
// RSA-OAEP Encrypt/Decrypt/ReEncrypt, GenerateMac/VerifyMac, DeriveSharedSecret,
// GenerateDataKeyPair, and the errors for every wrong combination.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/testing/matchers.h"
#include "crypto/asymmetric.h"
#include "kms/kms.h"
#include "kms/testing/service_fixture.h"

namespace scytale::kms {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

Bytes Msg(std::string_view s) { return Bytes(s.begin(), s.end()); }

class AsymmetricTest : public testing::ServiceFixture {
 protected:
  Result<KeyMetadata> Create(const std::string& spec, const std::optional<std::string>& usage) {
    CreateKeyRequest req;
    req.key_spec = spec;
    req.key_usage = usage;
    return service_->CreateKey(Ctx(), req);
  }

  Result<SignResponse> SignWith(const std::string& key_id, const std::string& algorithm,
                                const Bytes& message, const std::string& type = "RAW") {
    SignRequest req;
    req.key_id = key_id;
    req.message = message;
    req.message_type = type;
    req.signing_algorithm = algorithm;
    return service_->Sign(Ctx(), req);
  }

  Result<VerifyResponse> VerifyWith(const std::string& key_id, const std::string& algorithm,
                                    const Bytes& message, const Bytes& signature,
                                    const std::string& type = "RAW") {
    VerifyRequest req;
    req.key_id = key_id;
    req.message = message;
    req.message_type = type;
    req.signature = signature;
    req.signing_algorithm = algorithm;
    return service_->Verify(Ctx(), req);
  }
};

TEST_F(AsymmetricTest, CreateKeyChecksSpecAgainstUsage) {
  EXPECT_THAT(Create("RSA_2048", "SIGN_VERIFY"), IsOk());
  EXPECT_THAT(Create("RSA_2048", std::nullopt), IsOk());  // ENCRYPT_DECRYPT by default
  EXPECT_THAT(Create("ECC_NIST_P256", "KEY_AGREEMENT"), IsOk());
  EXPECT_THAT(Create("HMAC_256", "GENERATE_VERIFY_MAC"), IsOk());
  EXPECT_THAT(Create("ECC_NIST_P256", std::nullopt), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Create("ECC_SECG_P256K1", "KEY_AGREEMENT"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Create("HMAC_256", std::nullopt), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Create("HMAC_256", "SIGN_VERIFY"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Create("RSA_2048", "GENERATE_VERIFY_MAC"), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Create("ML_DSA_44", "SIGN_VERIFY"), HasError(ErrorCode::kUnsupportedOperation));
}

TEST_F(AsymmetricTest, MetadataListsTheAlgorithmsOfSpecAndUsage) {
  auto rsa_sign = Create("RSA_3072", "SIGN_VERIFY").value();
  EXPECT_EQ(rsa_sign.signing_algorithms.size(), 6u);
  EXPECT_THAT(rsa_sign.encryption_algorithms, IsEmpty());
  auto rsa_enc = Create("RSA_2048", "ENCRYPT_DECRYPT").value();
  EXPECT_THAT(rsa_enc.encryption_algorithms, ElementsAre("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"));
  EXPECT_THAT(rsa_enc.signing_algorithms, IsEmpty());
  auto p384 = Create("ECC_NIST_P384", "SIGN_VERIFY").value();
  EXPECT_THAT(p384.signing_algorithms, ElementsAre("ECDSA_SHA_384"));
  auto ecdh = Create("ECC_NIST_P521", "KEY_AGREEMENT").value();
  EXPECT_THAT(ecdh.key_agreement_algorithms, ElementsAre("ECDH"));
  auto mac = Create("HMAC_384", "GENERATE_VERIFY_MAC").value();
  EXPECT_THAT(mac.mac_algorithms, ElementsAre("HMAC_SHA_384"));
  EXPECT_THAT(mac.encryption_algorithms, IsEmpty());
  auto described = service_->DescribeKey(Ctx(), mac.key_id).value();
  EXPECT_EQ(described.key_spec, "HMAC_384");
  EXPECT_EQ(described.key_usage, "GENERATE_VERIFY_MAC");
}

TEST_F(AsymmetricTest, EverySigningAlgorithmSignsAndVerifiesRawAndDigest) {
  struct Case {
    std::string spec;
    std::string algorithm;
    crypto::HashAlgorithm hash;
  };
  const std::vector<Case> cases = {
      {"RSA_2048", "RSASSA_PSS_SHA_256", crypto::HashAlgorithm::kSha256},
      {"RSA_2048", "RSASSA_PSS_SHA_384", crypto::HashAlgorithm::kSha384},
      {"RSA_2048", "RSASSA_PSS_SHA_512", crypto::HashAlgorithm::kSha512},
      {"RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", crypto::HashAlgorithm::kSha256},
      {"RSA_2048", "RSASSA_PKCS1_V1_5_SHA_384", crypto::HashAlgorithm::kSha384},
      {"RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", crypto::HashAlgorithm::kSha512},
      {"ECC_NIST_P256", "ECDSA_SHA_256", crypto::HashAlgorithm::kSha256},
      {"ECC_NIST_P384", "ECDSA_SHA_384", crypto::HashAlgorithm::kSha384},
      {"ECC_NIST_P521", "ECDSA_SHA_512", crypto::HashAlgorithm::kSha512},
      {"ECC_SECG_P256K1", "ECDSA_SHA_256", crypto::HashAlgorithm::kSha256},
  };
  const Bytes message = Msg("the message");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec + " " + c.algorithm);
    auto key = Create(c.spec, "SIGN_VERIFY").value();
    auto signed_raw = SignWith(key.key_id, c.algorithm, message);
    ASSERT_THAT(signed_raw, IsOk());
    EXPECT_EQ(signed_raw->key_arn, key.arn);
    EXPECT_THAT(VerifyWith(key.arn, c.algorithm, message, signed_raw->signature), IsOk());
    // The digest of the message verifies the same signature (no re-hashing of DIGEST input).
    Bytes digest = crypto::Digest(c.hash, message).value();
    EXPECT_THAT(VerifyWith(key.key_id, c.algorithm, digest, signed_raw->signature, "DIGEST"),
                IsOk());
    auto signed_digest = SignWith(key.key_id, c.algorithm, digest, "DIGEST").value();
    EXPECT_THAT(VerifyWith(key.key_id, c.algorithm, message, signed_digest.signature), IsOk());
    // Checked independently of the service: the public key verifies it.
    auto pub = service_->GetPublicKey(Ctx(), key.key_id).value();
    auto parsed = crypto::PublicKey::FromDer(pub.public_key).value();
    auto algorithm = c.algorithm.starts_with("RSASSA_PSS")   ? crypto::SignatureScheme::kRsaPss
                     : c.algorithm.starts_with("RSASSA_PKCS1") ? crypto::SignatureScheme::kRsaPkcs1v15
                                                              : crypto::SignatureScheme::kEcdsa;
    EXPECT_TRUE(crypto::Verify(parsed, algorithm, c.hash, message, false, signed_raw->signature)
                    .value());
    // One changed byte of message or signature: KMSInvalidSignatureException.
    Bytes other = message;
    other[0] ^= 1;
    EXPECT_THAT(VerifyWith(key.key_id, c.algorithm, other, signed_raw->signature),
                HasError(ErrorCode::kKmsInvalidSignature));
    Bytes bad = signed_raw->signature;
    bad[bad.size() / 2] ^= 0x10;
    EXPECT_THAT(VerifyWith(key.key_id, c.algorithm, message, bad),
                HasError(ErrorCode::kKmsInvalidSignature));
    // A digest of the wrong length is a ValidationException.
    EXPECT_THAT(SignWith(key.key_id, c.algorithm, Msg("short"), "DIGEST"),
                HasError(ErrorCode::kValidation));
  }
}

TEST_F(AsymmetricTest, Ed25519SignsRawMessagesOnly) {
  auto key = Create("ECC_NIST_EDWARDS25519", "SIGN_VERIFY").value();
  EXPECT_THAT(key.signing_algorithms, ElementsAre("ED25519_SHA_512"));
  auto sig = SignWith(key.key_id, "ED25519_SHA_512", Msg("hello")).value();
  EXPECT_EQ(sig.signature.size(), 64u);
  EXPECT_THAT(VerifyWith(key.key_id, "ED25519_SHA_512", Msg("hello"), sig.signature), IsOk());
  EXPECT_THAT(VerifyWith(key.key_id, "ED25519_SHA_512", Msg("hellO"), sig.signature),
              HasError(ErrorCode::kKmsInvalidSignature));
  EXPECT_THAT(SignWith(key.key_id, "ED25519_SHA_512", Bytes(64, 1), "DIGEST"),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(SignWith(key.key_id, "ED25519_PH_SHA_512", Bytes(64, 1), "DIGEST"),
              HasError(ErrorCode::kUnsupportedOperation));
}

TEST_F(AsymmetricTest, WrongUsageOrAlgorithmIsInvalidKeyUsage) {
  auto sym = NewKey();
  auto p256 = Create("ECC_NIST_P256", "SIGN_VERIFY").value();
  auto rsa_enc = Create("RSA_2048", "ENCRYPT_DECRYPT").value();
  auto mac = Create("HMAC_256", "GENERATE_VERIFY_MAC").value();
  EXPECT_THAT(SignWith(sym.key_id, "ECDSA_SHA_256", Msg("m")), HasError(ErrorCode::kInvalidKeyUsage));
  EXPECT_THAT(SignWith(rsa_enc.key_id, "RSASSA_PSS_SHA_256", Msg("m")),
              HasError(ErrorCode::kInvalidKeyUsage));
  EXPECT_THAT(SignWith(p256.key_id, "ECDSA_SHA_384", Msg("m")),
              HasError(ErrorCode::kInvalidKeyUsage));
  EXPECT_THAT(SignWith(p256.key_id, "RSASSA_PSS_SHA_256", Msg("m")),
              HasError(ErrorCode::kInvalidKeyUsage));
  EXPECT_THAT(SignWith(p256.key_id, "ECDSA_SHA_256", Msg("m"), "EXTERNAL_MU"),
              HasError(ErrorCode::kInvalidKeyUsage));
  EncryptRequest enc;
  enc.key_id = p256.key_id;
  enc.plaintext = crypto::SecretBytes(Msg("x"));
  EXPECT_THAT(service_->Encrypt(Ctx(), enc), HasError(ErrorCode::kInvalidKeyUsage));
  enc.key_id = mac.key_id;
  EXPECT_THAT(service_->Encrypt(Ctx(), enc), HasError(ErrorCode::kInvalidKeyUsage));
  GenerateDataKeyRequest gdk;
  gdk.key_id = rsa_enc.key_id;
  gdk.key_spec = "AES_256";
  EXPECT_THAT(service_->GenerateDataKey(Ctx(), gdk), HasError(ErrorCode::kInvalidKeyUsage));
  MacRequest m;
  m.key_id = p256.key_id;
  m.message = Msg("x");
  m.mac_algorithm = "HMAC_SHA_256";
  EXPECT_THAT(service_->GenerateMac(Ctx(), m), HasError(ErrorCode::kInvalidKeyUsage));
  m.key_id = mac.key_id;
  m.mac_algorithm = "HMAC_SHA_512";
  EXPECT_THAT(service_->GenerateMac(Ctx(), m), HasError(ErrorCode::kInvalidKeyUsage));
  EXPECT_THAT(service_->GetPublicKey(Ctx(), sym.key_id),
              HasError(ErrorCode::kUnsupportedOperation));
  EXPECT_THAT(service_->GetPublicKey(Ctx(), mac.key_id),
              HasError(ErrorCode::kUnsupportedOperation));
  EXPECT_THAT(service_->EnableKeyRotation(Ctx(), p256.key_id, std::nullopt),
              HasError(ErrorCode::kUnsupportedOperation));
}

TEST_F(AsymmetricTest, RsaOaepEncryptDecryptAndReEncrypt) {
  auto key = Create("RSA_2048", "ENCRYPT_DECRYPT").value();
  for (const std::string algorithm : {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}) {
    SCOPED_TRACE(algorithm);
    EncryptRequest enc;
    enc.key_id = key.key_id;
    enc.plaintext = crypto::SecretBytes(Msg("rsa plaintext"));
    enc.algorithm = algorithm;
    auto encrypted = service_->Encrypt(Ctx(), enc);
    ASSERT_THAT(encrypted, IsOk());
    EXPECT_EQ(encrypted->ciphertext_blob.size(), 256u);
    EXPECT_EQ(encrypted->algorithm, algorithm);
    DecryptRequest dec;
    dec.ciphertext_blob = encrypted->ciphertext_blob;
    dec.key_id = key.arn;
    dec.algorithm = algorithm;
    auto decrypted = service_->Decrypt(Ctx(), dec);
    ASSERT_THAT(decrypted, IsOk());
    EXPECT_EQ(decrypted->plaintext, crypto::SecretBytes(Msg("rsa plaintext")));
    EXPECT_EQ(decrypted->algorithm, algorithm);
    // Without KeyId the blob is not one of ours; with the other OAEP hash it does not open.
    dec.key_id.reset();
    EXPECT_THAT(service_->Decrypt(Ctx(), dec), HasError(ErrorCode::kInvalidCiphertext));
    dec.key_id = key.key_id;
    dec.algorithm = algorithm == "RSAES_OAEP_SHA_1" ? "RSAES_OAEP_SHA_256" : "RSAES_OAEP_SHA_1";
    EXPECT_THAT(service_->Decrypt(Ctx(), dec), HasError(ErrorCode::kInvalidCiphertext));
    dec.algorithm.reset();
    EXPECT_THAT(service_->Decrypt(Ctx(), dec), HasError(ErrorCode::kInvalidKeyUsage));
  }
  // Size limits per key and hash; no encryption context.
  EncryptRequest big;
  big.key_id = key.key_id;
  big.algorithm = "RSAES_OAEP_SHA_256";
  big.plaintext = crypto::SecretBytes(Bytes(190, 7));
  EXPECT_THAT(service_->Encrypt(Ctx(), big), IsOk());
  big.plaintext = crypto::SecretBytes(Bytes(191, 7));
  EXPECT_THAT(service_->Encrypt(Ctx(), big), HasError(ErrorCode::kValidation));
  big.plaintext = crypto::SecretBytes(Bytes(214, 7));
  big.algorithm = "RSAES_OAEP_SHA_1";
  EXPECT_THAT(service_->Encrypt(Ctx(), big), IsOk());
  big.context = {{"a", "b"}};
  big.plaintext = crypto::SecretBytes(Bytes(1, 7));
  EXPECT_THAT(service_->Encrypt(Ctx(), big), HasError(ErrorCode::kValidation));
  // ReEncrypt from a symmetric key to the RSA key and back.
  auto sym = NewKey();
  EncryptRequest enc;
  enc.key_id = sym.key_id;
  enc.plaintext = crypto::SecretBytes(Msg("moving"));
  auto blob = service_->Encrypt(Ctx(), enc).value().ciphertext_blob;
  ReEncryptRequest re;
  re.ciphertext_blob = blob;
  re.destination_key_id = key.key_id;
  re.destination_algorithm = "RSAES_OAEP_SHA_256";
  auto to_rsa = service_->ReEncrypt(Ctx(), re);
  ASSERT_THAT(to_rsa, IsOk());
  EXPECT_EQ(to_rsa->destination_algorithm, "RSAES_OAEP_SHA_256");
  ReEncryptRequest back;
  back.ciphertext_blob = to_rsa->ciphertext_blob;
  back.source_key_id = key.key_id;
  back.source_algorithm = "RSAES_OAEP_SHA_256";
  back.destination_key_id = sym.key_id;
  auto to_sym = service_->ReEncrypt(Ctx(), back);
  ASSERT_THAT(to_sym, IsOk());
  EXPECT_EQ(to_sym->source_algorithm, "RSAES_OAEP_SHA_256");
  DecryptRequest dec;
  dec.ciphertext_blob = to_sym->ciphertext_blob;
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).value().plaintext, crypto::SecretBytes(Msg("moving")));
}

TEST_F(AsymmetricTest, MacsVerifyAndAnyChangedByteFails) {
  for (const std::string spec : {"HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"}) {
    SCOPED_TRACE(spec);
    auto key = Create(spec, "GENERATE_VERIFY_MAC").value();
    MacRequest req;
    req.key_id = key.key_id;
    req.message = Msg("mac me");
    req.mac_algorithm = "HMAC_SHA_" + spec.substr(5);
    auto mac = service_->GenerateMac(Ctx(), req);
    ASSERT_THAT(mac, IsOk());
    EXPECT_EQ(mac->mac.size(), static_cast<size_t>(std::stoi(spec.substr(5)) / 8));
    req.mac = mac->mac;
    EXPECT_THAT(service_->VerifyMac(Ctx(), req), IsOk());
    for (size_t i = 0; i < req.mac.size(); i += 7) {
      MacRequest changed = req;
      changed.mac[i] ^= 0x01;
      EXPECT_THAT(service_->VerifyMac(Ctx(), changed), HasError(ErrorCode::kKmsInvalidMac));
    }
    MacRequest other = req;
    other.message = Msg("mac mE");
    EXPECT_THAT(service_->VerifyMac(Ctx(), other), HasError(ErrorCode::kKmsInvalidMac));
    // Same key, same message: the same MAC.
    EXPECT_EQ(service_->GenerateMac(Ctx(), req).value().mac, mac->mac);
  }
}

TEST_F(AsymmetricTest, DeriveSharedSecretMatchesALocalEcdh) {
  auto key = Create("ECC_NIST_P256", "KEY_AGREEMENT").value();
  auto kms_public = crypto::PublicKey::FromDer(
                        service_->GetPublicKey(Ctx(), key.key_id).value().public_key)
                        .value();
  auto local = crypto::PrivateKey::Generate(crypto::KeyPairType::kEcP256).value();
  DeriveSharedSecretRequest req;
  req.key_id = key.key_id;
  req.key_agreement_algorithm = "ECDH";
  req.public_key = local.Public().ToDer().value();
  auto derived = service_->DeriveSharedSecret(Ctx(), req);
  ASSERT_THAT(derived, IsOk());
  EXPECT_EQ(derived->key_origin, "AWS_KMS");
  EXPECT_EQ(derived->shared_secret, crypto::Ecdh(local, kms_public).value());
  // A peer on another curve, or no key at all.
  auto p384 = crypto::PrivateKey::Generate(crypto::KeyPairType::kEcP384).value();
  req.public_key = p384.Public().ToDer().value();
  EXPECT_THAT(service_->DeriveSharedSecret(Ctx(), req), HasError(ErrorCode::kValidation));
  req.public_key = Msg("not a key");
  EXPECT_THAT(service_->DeriveSharedSecret(Ctx(), req), HasError(ErrorCode::kValidation));
  auto signing = Create("ECC_NIST_P256", "SIGN_VERIFY").value();
  req.key_id = signing.key_id;
  req.public_key = local.Public().ToDer().value();
  EXPECT_THAT(service_->DeriveSharedSecret(Ctx(), req), HasError(ErrorCode::kInvalidKeyUsage));
}

TEST_F(AsymmetricTest, DataKeyPairsDecryptToTheirPrivateKey) {
  auto sym = NewKey();
  for (const std::string spec : {"RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1",
                                 "ECC_NIST_EDWARDS25519"}) {
    SCOPED_TRACE(spec);
    GenerateDataKeyPairRequest req;
    req.key_id = sym.key_id;
    req.key_pair_spec = spec;
    req.context = {{"purpose", "test"}};
    auto pair = service_->GenerateDataKeyPair(Ctx(), req, true);
    ASSERT_THAT(pair, IsOk());
    EXPECT_EQ(pair->key_pair_spec, spec);
    auto parsed = crypto::PrivateKey::FromPkcs8(pair->private_key_plaintext).value();
    EXPECT_EQ(parsed.Public().ToDer().value(), pair->public_key);
    DecryptRequest dec;
    dec.ciphertext_blob = pair->private_key_ciphertext_blob;
    dec.context = req.context;
    EXPECT_EQ(service_->Decrypt(Ctx(), dec).value().plaintext, pair->private_key_plaintext);
    auto without = service_->GenerateDataKeyPair(Ctx(), req, false);
    ASSERT_THAT(without, IsOk());
    EXPECT_TRUE(without->private_key_plaintext.empty());
  }
  GenerateDataKeyPairRequest bad;
  bad.key_id = Create("RSA_2048", "ENCRYPT_DECRYPT").value().key_id;
  bad.key_pair_spec = "ECC_NIST_P256";
  EXPECT_THAT(service_->GenerateDataKeyPair(Ctx(), bad, true),
              HasError(ErrorCode::kInvalidKeyUsage));
}

TEST_F(AsymmetricTest, DisabledKeysRefuseEveryOperation) {
  auto key = Create("ECC_NIST_P256", "SIGN_VERIFY").value();
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(SignWith(key.key_id, "ECDSA_SHA_256", Msg("m")), HasError(ErrorCode::kDisabled));
  EXPECT_THAT(service_->GetPublicKey(Ctx(), key.key_id), HasError(ErrorCode::kDisabled));
  SignRequest dry;
  dry.key_id = key.key_id;
  dry.message = Msg("m");
  dry.signing_algorithm = "ECDSA_SHA_256";
  dry.dry_run = true;
  ASSERT_THAT(service_->EnableKey(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(service_->Sign(Ctx(), dry), HasError(ErrorCode::kDryRun));
}

}  // namespace
}  // namespace scytale::kms

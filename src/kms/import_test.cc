// Importing key material through the service layer, as a client does it: GetParametersForImport,
// wrap the material with the returned public key (every wrapping algorithm and key spec),
// ImportKeyMaterial; then deletion, re-import, expiry, and the errors of each step.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/testing/matchers.h"
#include "crypto/asymmetric.h"
#include "crypto/crypto.h"
#include "kms/kms.h"
#include "kms/testing/service_fixture.h"

namespace scytale::kms {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::IsOk;

constexpr int64_t kNow = 1700000000;
constexpr int64_t kDay = 86400;

Bytes Msg(std::string_view s) { return Bytes(s.begin(), s.end()); }

class ImportTest : public testing::ServiceFixture {
 protected:
  KeyMetadata NewExternalKey(const std::string& spec = "SYMMETRIC_DEFAULT",
                             const std::optional<std::string>& usage = std::nullopt) {
    CreateKeyRequest req;
    req.origin = "EXTERNAL";
    req.key_spec = spec;
    req.key_usage = usage;
    return service_->CreateKey(Ctx(), req).value();
  }

  GetParametersForImportResponse Parameters(const std::string& key_id,
                                            const std::string& algorithm = "RSAES_OAEP_SHA_256",
                                            const std::string& spec = "RSA_2048") {
    return service_->GetParametersForImport(Ctx(), {key_id, algorithm, spec}).value();
  }

  // What a client does with the public key (AWS's documented procedure, with our crypto).
  static Bytes Wrap(const GetParametersForImportResponse& params, const std::string& algorithm,
                    const crypto::SecretBytes& material) {
    crypto::PublicKey pub = crypto::PublicKey::FromDer(params.public_key).value();
    crypto::HashAlgorithm hash = algorithm.ends_with("SHA_1") ? crypto::HashAlgorithm::kSha1
                                                              : crypto::HashAlgorithm::kSha256;
    if (!algorithm.starts_with("RSA_AES_KEY_WRAP")) {
      return crypto::RsaOaepEncrypt(pub, hash, material.Reveal(crypto::KeyAccess::Grant()))
          .value();
    }
    crypto::SecretBytes aes = crypto::RandomSecret(32).value();
    Bytes out = crypto::RsaOaepEncrypt(pub, hash, aes.Reveal(crypto::KeyAccess::Grant())).value();
    Bytes wrapped = crypto::AesKeyWrapPad(aes, material).value();
    out.insert(out.end(), wrapped.begin(), wrapped.end());
    return out;
  }

  Result<ImportedMaterialResponse> Import(const std::string& key_id,
                                          const crypto::SecretBytes& material,
                                          const std::string& algorithm = "RSAES_OAEP_SHA_256",
                                          const std::string& spec = "RSA_2048",
                                          std::optional<int64_t> valid_to = std::nullopt) {
    GetParametersForImportResponse params = Parameters(key_id, algorithm, spec);
    ImportKeyMaterialRequest req;
    req.key_id = key_id;
    req.import_token = params.import_token;
    req.encrypted_key_material = Wrap(params, algorithm, material);
    if (valid_to) {
      req.valid_to = valid_to;
    } else {
      req.expiration_model = "KEY_MATERIAL_DOES_NOT_EXPIRE";
    }
    return service_->ImportKeyMaterial(Ctx(), req);
  }

  Result<EncryptResponse> EncryptWith(const std::string& key_id) {
    EncryptRequest req;
    req.key_id = key_id;
    req.plaintext = crypto::SecretBytes(AsBytes("imported secret"));
    return service_->Encrypt(Ctx(), req);
  }

  Result<DecryptResponse> DecryptBlob(const Bytes& blob) {
    DecryptRequest req;
    req.ciphertext_blob = blob;
    return service_->Decrypt(Ctx(), req);
  }

  std::string State(const std::string& key_id) {
    return service_->DescribeKey(Ctx(), key_id).value().key_state;
  }

  static crypto::SecretBytes Material(uint8_t fill, size_t size = 32) {
    return crypto::SecretBytes(Bytes(size, fill));
  }
};

TEST_F(ImportTest, AnExternalKeyWaitsForItsMaterial) {
  KeyMetadata key = NewExternalKey();
  EXPECT_EQ(key.origin, "EXTERNAL");
  EXPECT_EQ(key.key_state, "PendingImport");
  EXPECT_FALSE(key.enabled);
  EXPECT_TRUE(key.current_key_material_id.empty());
  EXPECT_TRUE(key.expiration_model.empty());
  EXPECT_THAT(EncryptWith(key.key_id), HasError(ErrorCode::kInvalidState));
  EXPECT_EQ(EncryptWith(key.key_id).error().message, key.arn + " is pending import.");
  EXPECT_THAT(service_->EnableKey(Ctx(), key.key_id), HasError(ErrorCode::kInvalidState));
  EXPECT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, std::nullopt),
              HasError(ErrorCode::kUnsupportedOperation));
}

TEST_F(ImportTest, EveryWrappingAlgorithmAndSpecImportsSymmetricMaterial) {
  const std::pair<const char*, const char*> cases[] = {
      {"RSAES_OAEP_SHA_1", "RSA_2048"},         {"RSAES_OAEP_SHA_256", "RSA_2048"},
      {"RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"},   {"RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"},
      {"RSAES_OAEP_SHA_256", "RSA_3072"},       {"RSA_AES_KEY_WRAP_SHA_256", "RSA_4096"},
  };
  for (const auto& [algorithm, spec] : cases) {
    SCOPED_TRACE(std::string(algorithm) + " " + spec);
    KeyMetadata key = NewExternalKey();
    GetParametersForImportResponse params = Parameters(key.key_id, algorithm, spec);
    EXPECT_EQ(params.key_arn, key.arn);
    EXPECT_EQ(params.parameters_valid_to, kNow + kDay);
    auto pub = crypto::PublicKey::FromDer(params.public_key);
    ASSERT_THAT(pub, IsOk());
    auto imported = Import(key.key_id, Material(7), algorithm, spec);
    ASSERT_THAT(imported, IsOk());
    EXPECT_EQ(imported->key_arn, key.arn);
    EXPECT_EQ(imported->key_material_id.size(), 64u);
    KeyMetadata after = service_->DescribeKey(Ctx(), key.key_id).value();
    EXPECT_EQ(after.key_state, "Enabled");
    EXPECT_EQ(after.expiration_model, "KEY_MATERIAL_DOES_NOT_EXPIRE");
    EXPECT_FALSE(after.valid_to.has_value());
    EXPECT_EQ(after.current_key_material_id, imported->key_material_id);
    auto sealed = EncryptWith(key.key_id);
    ASSERT_THAT(sealed, IsOk());
    auto opened = DecryptBlob(sealed->ciphertext_blob);
    ASSERT_THAT(opened, IsOk());
    EXPECT_TRUE(opened->plaintext == crypto::SecretBytes(AsBytes("imported secret")));
  }
}

TEST_F(ImportTest, DeletedMaterialStrandsCiphertextsUntilTheSameMaterialReturns) {
  KeyMetadata key = NewExternalKey();
  auto first = Import(key.key_id, Material(1));
  ASSERT_THAT(first, IsOk());
  Bytes blob = EncryptWith(key.key_id).value().ciphertext_blob;

  auto deleted = service_->DeleteImportedKeyMaterial(Ctx(), key.key_id, std::nullopt);
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(deleted->key_material_id, first->key_material_id);
  EXPECT_EQ(State(key.key_id), "PendingImport");
  EXPECT_THAT(DecryptBlob(blob), HasError(ErrorCode::kInvalidState));
  // Deleting again while pending import changes nothing.
  EXPECT_THAT(service_->DeleteImportedKeyMaterial(Ctx(), key.key_id, std::nullopt), IsOk());

  // Other material is refused, whatever the wrapping; the same material comes back.
  EXPECT_THAT(Import(key.key_id, Material(2)), HasError(ErrorCode::kIncorrectKeyMaterial));
  auto again = Import(key.key_id, Material(1), "RSA_AES_KEY_WRAP_SHA_1", "RSA_3072");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->key_material_id, first->key_material_id);
  EXPECT_EQ(State(key.key_id), "Enabled");
  ASSERT_THAT(DecryptBlob(blob), IsOk());

  // An enabled key takes a re-import of its material (to change its expiry), not another one.
  EXPECT_THAT(Import(key.key_id, Material(3)), HasError(ErrorCode::kIncorrectKeyMaterial));
  ASSERT_THAT(Import(key.key_id, Material(1), "RSAES_OAEP_SHA_256", "RSA_2048", kNow + 10 * kDay),
              IsOk());
  EXPECT_EQ(service_->DescribeKey(Ctx(), key.key_id)->valid_to, kNow + 10 * kDay);
  // A disabled key stays disabled across a re-import.
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  ASSERT_THAT(Import(key.key_id, Material(1)), IsOk());
  EXPECT_EQ(State(key.key_id), "Disabled");
}

TEST_F(ImportTest, TheSameMaterialInAnotherKeyIsAnotherMaterialId) {
  KeyMetadata a = NewExternalKey();
  KeyMetadata b = NewExternalKey();
  auto ia = Import(a.key_id, Material(5));
  auto ib = Import(b.key_id, Material(5));
  ASSERT_THAT(ia, IsOk());
  ASSERT_THAT(ib, IsOk());
  EXPECT_NE(ia->key_material_id, ib->key_material_id);
  // A blob of one key is not the other's, even with equal material.
  Bytes blob = EncryptWith(a.key_id).value().ciphertext_blob;
  DecryptRequest req;
  req.ciphertext_blob = blob;
  req.key_id = b.key_id;
  EXPECT_THAT(service_->Decrypt(Ctx(), req), HasError(ErrorCode::kIncorrectKey));
}

TEST_F(ImportTest, MaterialExpiresAtValidToAndTheBackgroundPassDeletesIt) {
  KeyMetadata key = NewExternalKey();
  ASSERT_THAT(Import(key.key_id, Material(9), "RSAES_OAEP_SHA_256", "RSA_2048", kNow + 100),
              IsOk());
  KeyMetadata imported = service_->DescribeKey(Ctx(), key.key_id).value();
  EXPECT_EQ(imported.expiration_model, "KEY_MATERIAL_EXPIRES");
  EXPECT_EQ(imported.valid_to, kNow + 100);
  Bytes blob = EncryptWith(key.key_id).value().ciphertext_blob;

  clock_->Advance(std::chrono::seconds(99));
  EXPECT_THAT(DecryptBlob(blob), IsOk());
  auto early = service_->RunMaintenance();
  ASSERT_THAT(early, IsOk());
  EXPECT_TRUE(early->expired_material_key_arns.empty());

  // Unusable from the second it expires, before the background pass runs.
  clock_->Advance(std::chrono::seconds(1));
  EXPECT_EQ(State(key.key_id), "PendingImport");
  EXPECT_THAT(DecryptBlob(blob), HasError(ErrorCode::kInvalidState));
  auto due = service_->RunMaintenance();
  ASSERT_THAT(due, IsOk());
  EXPECT_EQ(due->expired_material_key_arns, std::vector<std::string>{key.arn});
  KeyMetadata expired = service_->DescribeKey(Ctx(), key.key_id).value();
  EXPECT_EQ(expired.key_state, "PendingImport");
  EXPECT_TRUE(expired.expiration_model.empty());
  EXPECT_FALSE(expired.valid_to.has_value());
  EXPECT_TRUE(service_->RunMaintenance()->expired_material_key_arns.empty());

  // Re-importing the same material brings the key and its ciphertexts back.
  ASSERT_THAT(Import(key.key_id, Material(9)), IsOk());
  EXPECT_EQ(State(key.key_id), "Enabled");
  EXPECT_THAT(DecryptBlob(blob), IsOk());
}

TEST_F(ImportTest, ExpirationModelAndValidToAreChecked) {
  KeyMetadata key = NewExternalKey();
  GetParametersForImportResponse params = Parameters(key.key_id);
  ImportKeyMaterialRequest req;
  req.key_id = key.key_id;
  req.import_token = params.import_token;
  req.encrypted_key_material = Wrap(params, "RSAES_OAEP_SHA_256", Material(4));
  // KEY_MATERIAL_EXPIRES is the default, and needs a ValidTo.
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kValidation));
  req.valid_to = kNow;  // not in the future
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kValidation));
  req.valid_to = kNow + 366 * kDay;  // more than 365 days ahead
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kValidation));
  req.valid_to = kNow + kDay;
  req.expiration_model = "KEY_MATERIAL_DOES_NOT_EXPIRE";
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kValidation));
  EXPECT_EQ(State(key.key_id), "PendingImport");
  req.expiration_model = "KEY_MATERIAL_EXPIRES";
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), IsOk());
}

TEST_F(ImportTest, ImportTokensAreBoundToTheirKeyAndExpireAfterADay) {
  KeyMetadata key = NewExternalKey();
  KeyMetadata other = NewExternalKey();
  GetParametersForImportResponse params = Parameters(key.key_id);
  ImportKeyMaterialRequest req;
  req.key_id = key.key_id;
  req.expiration_model = "KEY_MATERIAL_DOES_NOT_EXPIRE";
  req.encrypted_key_material = Wrap(params, "RSAES_OAEP_SHA_256", Material(6));

  req.import_token = params.import_token;
  req.import_token[req.import_token.size() - 1] ^= 1;  // tampered
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kInvalidImportToken));
  req.import_token = Bytes{1, 2, 3};
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kInvalidImportToken));
  req.import_token = Parameters(other.key_id).import_token;  // another key's
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kInvalidImportToken));
  // Material wrapped for one token does not unwrap with another token's key.
  EXPECT_THAT(service_->ImportKeyMaterial(
                  Ctx(), {.key_id = key.key_id,
                          .import_token = Parameters(key.key_id).import_token,
                          .encrypted_key_material = req.encrypted_key_material,
                          .expiration_model = "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
              HasError(ErrorCode::kInvalidCiphertext));

  req.import_token = params.import_token;
  clock_->Advance(std::chrono::seconds(kDay));
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kExpiredImportToken));
  EXPECT_EQ(State(key.key_id), "PendingImport");
}

TEST_F(ImportTest, MaterialMustFitTheKeySpec) {
  KeyMetadata key = NewExternalKey();
  EXPECT_THAT(Import(key.key_id, Material(1, 16)), HasError(ErrorCode::kIncorrectKeyMaterial));
  KeyMetadata hmac = NewExternalKey("HMAC_256", "GENERATE_VERIFY_MAC");
  EXPECT_THAT(Import(hmac.key_id, Material(1, 31)), HasError(ErrorCode::kIncorrectKeyMaterial));
  EXPECT_THAT(Import(hmac.key_id, Material(1, 65)), HasError(ErrorCode::kIncorrectKeyMaterial));
  KeyMetadata ec = NewExternalKey("ECC_NIST_P256", "SIGN_VERIFY");
  crypto::PrivateKey p384 = crypto::PrivateKey::Generate(crypto::KeyPairType::kEcP384).value();
  EXPECT_THAT(Import(ec.key_id, p384.ToPkcs8().value(), "RSA_AES_KEY_WRAP_SHA_256"),
              HasError(ErrorCode::kIncorrectKeyMaterial));
  EXPECT_THAT(Import(ec.key_id, Material(1)), HasError(ErrorCode::kIncorrectKeyMaterial));
  // RSA private keys are too long for RSAES_OAEP: AWS asks for an RSA_AES wrapping.
  KeyMetadata rsa = NewExternalKey("RSA_2048", "SIGN_VERIFY");
  EXPECT_THAT(service_->GetParametersForImport(Ctx(), {rsa.key_id, "RSAES_OAEP_SHA_256",
                                                       "RSA_4096"}),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(service_->GetParametersForImport(Ctx(), {key.key_id, "RSAES_PKCS1_V1_5",
                                                       "RSA_2048"}),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(service_->GetParametersForImport(Ctx(), {key.key_id, "SM2PKE", "SM2"}),
              HasError(ErrorCode::kUnsupportedOperation));
}

TEST_F(ImportTest, ImportedHmacMaterialMacsLikeALocalHmac) {
  KeyMetadata key = NewExternalKey("HMAC_384", "GENERATE_VERIFY_MAC");
  crypto::SecretBytes material = crypto::RandomSecret(48).value();
  ASSERT_THAT(Import(key.key_id, material), IsOk());
  MacRequest req;
  req.key_id = key.key_id;
  req.mac_algorithm = "HMAC_SHA_384";
  req.message = Msg("a message");
  auto mac = service_->GenerateMac(Ctx(), req);
  ASSERT_THAT(mac, IsOk());
  EXPECT_EQ(mac->mac,
            crypto::Hmac(crypto::HashAlgorithm::kSha384, material, req.message).value());
  req.mac = mac->mac;
  EXPECT_THAT(service_->VerifyMac(Ctx(), req), IsOk());
}

TEST_F(ImportTest, ImportedPrivateKeysSignAndTheirPublicKeyIsTheLocalOne) {
  for (auto [spec, type, algorithm] :
       {std::tuple{"ECC_NIST_P256", crypto::KeyPairType::kEcP256, "ECDSA_SHA_256"},
        std::tuple{"RSA_2048", crypto::KeyPairType::kRsa2048, "RSASSA_PSS_SHA_256"}}) {
    SCOPED_TRACE(spec);
    KeyMetadata key = NewExternalKey(spec, "SIGN_VERIFY");
    crypto::PrivateKey local = crypto::PrivateKey::Generate(type).value();
    ASSERT_THAT(Import(key.key_id, local.ToPkcs8().value(), "RSA_AES_KEY_WRAP_SHA_256"), IsOk());
    EXPECT_EQ(service_->GetPublicKey(Ctx(), key.key_id).value().public_key,
              local.Public().ToDer().value());
    SignRequest sign;
    sign.key_id = key.key_id;
    sign.message = Msg("signed by imported material");
    sign.message_type = "RAW";
    sign.signing_algorithm = algorithm;
    auto signature = service_->Sign(Ctx(), sign);
    ASSERT_THAT(signature, IsOk());
    crypto::SignatureScheme scheme = std::string(spec).starts_with("RSA")
                                         ? crypto::SignatureScheme::kRsaPss
                                         : crypto::SignatureScheme::kEcdsa;
    EXPECT_TRUE(crypto::Verify(local.Public(), scheme, crypto::HashAlgorithm::kSha256,
                               sign.message, /*is_digest=*/false, signature->signature)
                    .value());
    // Another key pair is other material.
    crypto::PrivateKey stranger = crypto::PrivateKey::Generate(type).value();
    EXPECT_THAT(Import(key.key_id, stranger.ToPkcs8().value(), "RSA_AES_KEY_WRAP_SHA_1"),
                HasError(ErrorCode::kIncorrectKeyMaterial));
  }
}

TEST_F(ImportTest, KeysWithGeneratedMaterialTakeNoImport) {
  KeyMetadata key = NewKey();
  EXPECT_THAT(service_->GetParametersForImport(Ctx(), {key.key_id, "RSAES_OAEP_SHA_256",
                                                       "RSA_2048"}),
              HasError(ErrorCode::kUnsupportedOperation));
  EXPECT_THAT(service_->DeleteImportedKeyMaterial(Ctx(), key.key_id, std::nullopt),
              HasError(ErrorCode::kUnsupportedOperation));
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), {.key_id = key.key_id,
                                                  .import_token = {1},
                                                  .encrypted_key_material = {1}}),
              HasError(ErrorCode::kUnsupportedOperation));
  EXPECT_THAT(service_->GetParametersForImport(Ctx(), {"alias/x", "RSAES_OAEP_SHA_256",
                                                       "RSA_2048"}),
              HasError(ErrorCode::kNotFound));
}

TEST_F(ImportTest, DeletionWhilePendingDeletionKeepsTheStateAndCancelWaitsForImport) {
  KeyMetadata key = NewExternalKey();
  ASSERT_THAT(Import(key.key_id, Material(8)), IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7), IsOk());
  EXPECT_THAT(service_->GetParametersForImport(Ctx(), {key.key_id, "RSAES_OAEP_SHA_256",
                                                       "RSA_2048"}),
              HasError(ErrorCode::kInvalidState));
  ASSERT_THAT(service_->DeleteImportedKeyMaterial(Ctx(), key.key_id, std::nullopt), IsOk());
  EXPECT_EQ(State(key.key_id), "PendingDeletion");
  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), IsOk());
  EXPECT_EQ(State(key.key_id), "PendingImport");
  // A key whose material stayed is Disabled after cancelling, as usual.
  KeyMetadata kept = NewExternalKey();
  ASSERT_THAT(Import(kept.key_id, Material(8)), IsOk());
  ASSERT_THAT(service_->ScheduleKeyDeletion(Ctx(), kept.key_id, 7), IsOk());
  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), kept.key_id), IsOk());
  EXPECT_EQ(State(kept.key_id), "Disabled");
}

TEST_F(ImportTest, ImportTypeAndMaterialIdAreChecked) {
  KeyMetadata key = NewExternalKey();
  GetParametersForImportResponse params = Parameters(key.key_id);
  ImportKeyMaterialRequest req;
  req.key_id = key.key_id;
  req.import_token = params.import_token;
  req.encrypted_key_material = Wrap(params, "RSAES_OAEP_SHA_256", Material(2));
  req.expiration_model = "KEY_MATERIAL_DOES_NOT_EXPIRE";
  req.import_type = "EXISTING_KEY_MATERIAL";  // nothing was imported yet
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kIncorrectKeyMaterial));
  req.import_type = "NEW_KEY_MATERIAL";
  auto first = service_->ImportKeyMaterial(Ctx(), req);
  ASSERT_THAT(first, IsOk());
  // New material for on-demand rotation is not offered; the same material with its id is fine.
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req),
              HasError(ErrorCode::kUnsupportedOperation));
  req.import_type = "EXISTING_KEY_MATERIAL";
  req.key_material_id = std::string(64, 'a');
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), HasError(ErrorCode::kIncorrectKeyMaterial));
  req.key_material_id = first->key_material_id;
  EXPECT_THAT(service_->ImportKeyMaterial(Ctx(), req), IsOk());
  EXPECT_THAT(service_->DeleteImportedKeyMaterial(Ctx(), key.key_id, std::string(64, 'b')),
              HasError(ErrorCode::kNotFound));
  // Asymmetric and HMAC keys take none of these members.
  KeyMetadata hmac = NewExternalKey("HMAC_256", "GENERATE_VERIFY_MAC");
  GetParametersForImportResponse hp = Parameters(hmac.key_id);
  EXPECT_THAT(service_->ImportKeyMaterial(
                  Ctx(), {.key_id = hmac.key_id,
                          .import_token = hp.import_token,
                          .encrypted_key_material = Wrap(hp, "RSAES_OAEP_SHA_256", Material(1)),
                          .expiration_model = "KEY_MATERIAL_DOES_NOT_EXPIRE",
                          .import_type = "NEW_KEY_MATERIAL"}),
              HasError(ErrorCode::kValidation));
}

}  // namespace
}  // namespace scytale::kms

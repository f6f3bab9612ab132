// A KeyService whose every operation answers UnsupportedOperationException. Test doubles and
// benchmarks derive from it and override only what they exercise.
#pragma once

#include <string>

#include "kms/kms.h"

namespace scytale::kms::testing {

class UnimplementedKeyService : public KeyService {
 public:
  Result<KeyMetadata> CreateKey(const CallContext&, const CreateKeyRequest&) override {
    return Unimplemented("CreateKey");
  }
  Result<KeyMetadata> DescribeKey(const CallContext&, const std::string&) override {
    return Unimplemented("DescribeKey");
  }
  Result<ListKeysResponse> ListKeys(const CallContext&, const ListKeysRequest&) override {
    return Unimplemented("ListKeys");
  }
  Result<EncryptResponse> Encrypt(const CallContext&, const EncryptRequest&) override {
    return Unimplemented("Encrypt");
  }
  Result<DecryptResponse> Decrypt(const CallContext&, const DecryptRequest&) override {
    return Unimplemented("Decrypt");
  }
  Result<ReEncryptResponse> ReEncrypt(const CallContext&, const ReEncryptRequest&) override {
    return Unimplemented("ReEncrypt");
  }
  Result<GenerateDataKeyResponse> GenerateDataKey(const CallContext&, const GenerateDataKeyRequest&) override {
    return Unimplemented("GenerateDataKey");
  }
  Result<GenerateDataKeyResponse> GenerateDataKeyWithoutPlaintext(const CallContext&, const GenerateDataKeyRequest&) override {
    return Unimplemented("GenerateDataKeyWithoutPlaintext");
  }
  Result<crypto::SecretBytes> GenerateRandom(const CallContext&, const GenerateRandomRequest&) override {
    return Unimplemented("GenerateRandom");
  }
  Status EnableKey(const CallContext&, const std::string&) override {
    return Unimplemented("EnableKey");
  }
  Status DisableKey(const CallContext&, const std::string&) override {
    return Unimplemented("DisableKey");
  }
  Result<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(const CallContext&, const std::string&, std::optional<int>) override {
    return Unimplemented("ScheduleKeyDeletion");
  }
  Result<std::string> CancelKeyDeletion(const CallContext&, const std::string&) override {
    return Unimplemented("CancelKeyDeletion");
  }
  Status UpdateKeyDescription(const CallContext&, const std::string&, const std::string&) override {
    return Unimplemented("UpdateKeyDescription");
  }
  Status TagResource(const CallContext&, const std::string&, const std::vector<Tag>&) override {
    return Unimplemented("TagResource");
  }
  Status UntagResource(const CallContext&, const std::string&, const std::vector<std::string>&) override {
    return Unimplemented("UntagResource");
  }
  Result<ListResourceTagsResponse> ListResourceTags(const CallContext&, const ListResourceTagsRequest&) override {
    return Unimplemented("ListResourceTags");
  }
  Status CreateAlias(const CallContext&, const std::string&, const std::string&) override {
    return Unimplemented("CreateAlias");
  }
  Status UpdateAlias(const CallContext&, const std::string&, const std::string&) override {
    return Unimplemented("UpdateAlias");
  }
  Status DeleteAlias(const CallContext&, const std::string&) override {
    return Unimplemented("DeleteAlias");
  }
  Result<ListAliasesResponse> ListAliases(const CallContext&, const ListAliasesRequest&) override {
    return Unimplemented("ListAliases");
  }
  Status EnableKeyRotation(const CallContext&, const std::string&, std::optional<int>) override {
    return Unimplemented("EnableKeyRotation");
  }
  Status DisableKeyRotation(const CallContext&, const std::string&) override {
    return Unimplemented("DisableKeyRotation");
  }
  Result<KeyRotationStatus> GetKeyRotationStatus(const CallContext&, const std::string&) override {
    return Unimplemented("GetKeyRotationStatus");
  }
  Result<std::string> RotateKeyOnDemand(const CallContext&, const std::string&) override {
    return Unimplemented("RotateKeyOnDemand");
  }
  Result<ListKeyRotationsResponse> ListKeyRotations(const CallContext&, const ListKeyRotationsRequest&) override {
    return Unimplemented("ListKeyRotations");
  }
  Result<SignResponse> Sign(const CallContext&, const SignRequest&) override {
    return Unimplemented("Sign");
  }
  Result<VerifyResponse> Verify(const CallContext&, const VerifyRequest&) override {
    return Unimplemented("Verify");
  }
  Result<GetPublicKeyResponse> GetPublicKey(const CallContext&, const std::string&) override {
    return Unimplemented("GetPublicKey");
  }
  Result<MacResponse> GenerateMac(const CallContext&, const MacRequest&) override {
    return Unimplemented("GenerateMac");
  }
  Result<MacResponse> VerifyMac(const CallContext&, const MacRequest&) override {
    return Unimplemented("VerifyMac");
  }
  Result<DeriveSharedSecretResponse> DeriveSharedSecret(const CallContext&,
                                                        const DeriveSharedSecretRequest&) override {
    return Unimplemented("DeriveSharedSecret");
  }
  Result<GenerateDataKeyPairResponse> GenerateDataKeyPair(const CallContext&,
                                                          const GenerateDataKeyPairRequest&,
                                                          bool) override {
    return Unimplemented("GenerateDataKeyPair");
  }
  Result<CreateGrantResponse> CreateGrant(const CallContext&, const CreateGrantRequest&) override {
    return Unimplemented("CreateGrant");
  }
  Result<ListGrantsResponse> ListGrants(const CallContext&, const ListGrantsRequest&) override {
    return Unimplemented("ListGrants");
  }
  Result<ListGrantsResponse> ListRetirableGrants(const CallContext&,
                                                 const ListRetirableGrantsRequest&) override {
    return Unimplemented("ListRetirableGrants");
  }
  Status RetireGrant(const CallContext&, const RetireGrantRequest&) override {
    return Unimplemented("RetireGrant");
  }
  Status RevokeGrant(const CallContext&, const std::string&, const std::string&, bool) override {
    return Unimplemented("RevokeGrant");
  }
  Result<GetParametersForImportResponse> GetParametersForImport(
      const CallContext&, const GetParametersForImportRequest&) override {
    return Unimplemented("GetParametersForImport");
  }
  Result<ImportedMaterialResponse> ImportKeyMaterial(const CallContext&,
                                                     const ImportKeyMaterialRequest&) override {
    return Unimplemented("ImportKeyMaterial");
  }
  Result<ImportedMaterialResponse> DeleteImportedKeyMaterial(
      const CallContext&, const std::string&, const std::optional<std::string>&) override {
    return Unimplemented("DeleteImportedKeyMaterial");
  }
  Result<std::string> CreateCustomKeyStore(const CallContext&,
                                           const CreateCustomKeyStoreRequest&) override {
    return Unimplemented("CreateCustomKeyStore");
  }
  Status ConnectCustomKeyStore(const CallContext&, const std::string&) override {
    return Unimplemented("ConnectCustomKeyStore");
  }
  Status DisconnectCustomKeyStore(const CallContext&, const std::string&) override {
    return Unimplemented("DisconnectCustomKeyStore");
  }
  Result<DescribeCustomKeyStoresResponse> DescribeCustomKeyStores(
      const CallContext&, const DescribeCustomKeyStoresRequest&) override {
    return Unimplemented("DescribeCustomKeyStores");
  }
  Status UpdateCustomKeyStore(const CallContext&, const UpdateCustomKeyStoreRequest&) override {
    return Unimplemented("UpdateCustomKeyStore");
  }
  Status DeleteCustomKeyStore(const CallContext&, const std::string&) override {
    return Unimplemented("DeleteCustomKeyStore");
  }
  Result<CustomKeyStoreRestoreReport> RestoreCustomKeyStoreConnections() override {
    return CustomKeyStoreRestoreReport{};
  }
  Result<MaintenanceReport> RunMaintenance() override {
    return Unimplemented("RunMaintenance");
  }
  ServiceStats Stats() const override { return {}; }

  Status PutKeyPolicy(const CallContext&, const std::string&, const std::string&,
                      const std::optional<std::string>&, bool) override {
    return Unimplemented("PutKeyPolicy");
  }
  Result<KeyPolicyResponse> GetKeyPolicy(const CallContext&, const std::string&,
                                         const std::optional<std::string>&) override {
    return Unimplemented("GetKeyPolicy");
  }
  Result<ListKeyPoliciesResponse> ListKeyPolicies(const CallContext&,
                                                  const std::string&) override {
    return Unimplemented("ListKeyPolicies");
  }

 protected:
  static Error Unimplemented(const std::string& operation) {
    return MakeError(ErrorCode::kUnsupportedOperation, operation + " is not implemented here.");
  }
};

}  // namespace scytale::kms::testing

// The operations, one free function each over a Core, grouped by the file that defines them.
#pragma once

#include "kms/internal/core.h"

namespace scytale::kms::internal {

// keys.cc
Result<KeyMetadata> CreateKey(Core& core, const CallContext& ctx, const CreateKeyRequest& req);
Result<KeyMetadata> DescribeKey(Core& core, const CallContext& ctx, const std::string& key_id);
Result<ListKeysResponse> ListKeys(Core& core, const CallContext& ctx, const ListKeysRequest& req);

// envelope.cc
Result<EncryptResponse> Encrypt(Core& core, const CallContext& ctx, const EncryptRequest& req);
Result<DecryptResponse> Decrypt(Core& core, const CallContext& ctx, const DecryptRequest& req);
Result<ReEncryptResponse> ReEncrypt(Core& core, const CallContext& ctx,
                                    const ReEncryptRequest& req);
Result<GenerateDataKeyResponse> GenerateDataKey(Core& core, const CallContext& ctx,
                                                const GenerateDataKeyRequest& req,
                                                bool with_plaintext);
Result<crypto::SecretBytes> GenerateRandom(Core& core, const CallContext& ctx,
                                           const GenerateRandomRequest& req);

// lifecycle.cc
Status EnableKey(Core& core, const CallContext& ctx, const std::string& key_id);
Status DisableKey(Core& core, const CallContext& ctx, const std::string& key_id);
Result<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(Core& core, const CallContext& ctx,
                                                        const std::string& key_id,
                                                        std::optional<int> window_days);
Result<std::string> CancelKeyDeletion(Core& core, const CallContext& ctx,
                                      const std::string& key_id);
Status UpdateKeyDescription(Core& core, const CallContext& ctx, const std::string& key_id,
                            const std::string& description);
Status TagResource(Core& core, const CallContext& ctx, const std::string& key_id,
                   const std::vector<Tag>& tags);
Status UntagResource(Core& core, const CallContext& ctx, const std::string& key_id,
                     const std::vector<std::string>& tag_keys);
Result<ListResourceTagsResponse> ListResourceTags(Core& core, const CallContext& ctx,
                                                  const ListResourceTagsRequest& req);
// Destroys every key whose deletion date has passed, appending each one's ARN to
// `out_deleted_arns` as it goes (so the keys destroyed before a failure are known).
Status DeleteDueKeys(Core& core, std::vector<std::string>* out_deleted_arns);

// aliases.cc
// An alias name customers may use: the alias/ prefix, the model's pattern (kValidation), not
// under alias/aws/ (kInvalidAliasName).
Status CheckAliasName(const std::string& alias_name);
Status CreateAlias(Core& core, const CallContext& ctx, const std::string& alias_name,
                   const std::string& target_key_id);
Status UpdateAlias(Core& core, const CallContext& ctx, const std::string& alias_name,
                   const std::string& target_key_id);
Status DeleteAlias(Core& core, const CallContext& ctx, const std::string& alias_name);
Result<ListAliasesResponse> ListAliases(Core& core, const CallContext& ctx,
                                        const ListAliasesRequest& req);

// policies.cc
Status PutKeyPolicy(Core& core, const CallContext& ctx, const std::string& key_id,
                    const std::string& policy, const std::optional<std::string>& name,
                    bool bypass_lockout_check);
Result<KeyPolicyResponse> GetKeyPolicy(Core& core, const CallContext& ctx,
                                       const std::string& key_id,
                                       const std::optional<std::string>& name);
Result<ListKeyPoliciesResponse> ListKeyPolicies(Core& core, const CallContext& ctx,
                                                const std::string& key_id);
// Checks a key policy document for CreateKey and PutKeyPolicy: size, syntax, and (unless
// bypassed) that it still lets the caller put a key policy afterwards.
Status CheckNewKeyPolicy(Core& core, const CallContext& ctx, const storage::KeyRow& key,
                         const std::string& policy, bool bypass_lockout_check);

// rotation.cc
Status EnableKeyRotation(Core& core, const CallContext& ctx, const std::string& key_id,
                         std::optional<int> period_days);
Status DisableKeyRotation(Core& core, const CallContext& ctx, const std::string& key_id);
Result<KeyRotationStatus> GetKeyRotationStatus(Core& core, const CallContext& ctx,
                                               const std::string& key_id);
Result<std::string> RotateKeyOnDemand(Core& core, const CallContext& ctx,
                                      const std::string& key_id);
Result<ListKeyRotationsResponse> ListKeyRotations(Core& core, const CallContext& ctx,
                                                  const ListKeyRotationsRequest& req);
// Rotates every key whose automatic rotation is due, appending each one's ARN to
// `out_rotated_arns` as it goes.
Status RotateDueKeys(Core& core, std::vector<std::string>* out_rotated_arns);

// asymmetric.cc
Result<SignResponse> Sign(Core& core, const CallContext& ctx, const SignRequest& req);
Result<VerifyResponse> Verify(Core& core, const CallContext& ctx, const VerifyRequest& req);
Result<GetPublicKeyResponse> GetPublicKey(Core& core, const CallContext& ctx,
                                          const std::string& key_id);
Result<MacResponse> GenerateMac(Core& core, const CallContext& ctx, const MacRequest& req);
Result<MacResponse> VerifyMac(Core& core, const CallContext& ctx, const MacRequest& req);
Result<DeriveSharedSecretResponse> DeriveSharedSecret(Core& core, const CallContext& ctx,
                                                      const DeriveSharedSecretRequest& req);
// envelope.cc, beside GenerateDataKey: the private key sealed like a data key.
Result<GenerateDataKeyPairResponse> GenerateDataKeyPair(Core& core, const CallContext& ctx,
                                                        const GenerateDataKeyPairRequest& req,
                                                        bool with_plaintext);

// import.cc
Result<GetParametersForImportResponse> GetParametersForImport(
    Core& core, const CallContext& ctx, const GetParametersForImportRequest& req);
Result<ImportedMaterialResponse> ImportKeyMaterial(Core& core, const CallContext& ctx,
                                                   const ImportKeyMaterialRequest& req);
Result<ImportedMaterialResponse> DeleteImportedKeyMaterial(
    Core& core, const CallContext& ctx, const std::string& key_id,
    const std::optional<std::string>& key_material_id);
// Deletes imported material whose ValidTo has passed (the key becomes PendingImport), appending
// each key's ARN to `out_arns` as it goes.
Status ExpireImportedMaterial(Core& core, std::vector<std::string>* out_arns);
// Whether a key with imported material has it now (false while PendingImport or deleted).
Result<bool> HasImportedMaterial(Core& core, const storage::KeyRow& key);

// grants.cc
Result<CreateGrantResponse> CreateGrant(Core& core, const CallContext& ctx,
                                        const CreateGrantRequest& req);
Result<ListGrantsResponse> ListGrants(Core& core, const CallContext& ctx,
                                      const ListGrantsRequest& req);
Result<ListGrantsResponse> ListRetirableGrants(Core& core, const CallContext& ctx,
                                               const ListRetirableGrantsRequest& req);
Status RetireGrant(Core& core, const CallContext& ctx, const RetireGrantRequest& req);
Status RevokeGrant(Core& core, const CallContext& ctx, const std::string& key_id,
                   const std::string& grant_id, bool dry_run);

// custom_key_stores.cc (the hooks for key operations are in custom_key_stores.h)
Result<std::string> CreateCustomKeyStore(Core& core, const CallContext& ctx,
                                         const CreateCustomKeyStoreRequest& req);
Status ConnectCustomKeyStore(Core& core, const CallContext& ctx, const std::string& id);
Status DisconnectCustomKeyStore(Core& core, const CallContext& ctx, const std::string& id);
Result<DescribeCustomKeyStoresResponse> DescribeCustomKeyStores(
    Core& core, const CallContext& ctx, const DescribeCustomKeyStoresRequest& req);
Status UpdateCustomKeyStore(Core& core, const CallContext& ctx,
                            const UpdateCustomKeyStoreRequest& req);
Status DeleteCustomKeyStore(Core& core, const CallContext& ctx, const std::string& id);
Result<CustomKeyStoreRestoreReport> RestoreCustomKeyStoreConnections(Core& core);

}  // namespace scytale::kms::internal

// kms/: the key management service itself, free of HTTP and JSON. Each operation is one
// method that reads like AWS's documentation of it: resolve the key, (authorize: later issue),
// check the key state, do the work through the keystore and the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <functional>
#include <map>

#include "common/clock.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "common/result.h"
#include "keystore/keystore.h"
#include "storage/storage.h"

namespace scytale::kms {

// Who calls, from where. The region is the one in the request's SigV4 credential scope.
struct CallContext {
  std::string account_id{};
  std::string region{};
  std::string principal_arn{};
  std::string request_id{};
  std::string source_ip{};        // aws:SourceIp
  bool secure_transport = false;  // aws:SecureTransport (TLS)
};

struct Tag {
  std::string key;
  std::string value;
};

struct CreateKeyRequest {
  std::optional<std::string> policy;
  std::optional<std::string> description;
  std::optional<std::string> key_usage;
  std::optional<std::string> customer_master_key_spec;
  std::optional<std::string> key_spec;
  std::optional<std::string> origin;
  std::optional<std::string> custom_key_store_id;
  std::optional<std::string> xks_key_id;
  bool bypass_policy_lockout_safety_check = false;
  std::vector<Tag> tags;
  bool multi_region = false;
  // Not AWS members: `scytale serve --seed` creates keys with fixed ids and, optionally, given
  // 256-bit symmetric material (so ciphertexts made in one CI run decrypt in the next).
  std::optional<std::string> key_id_for_seeding;
  std::optional<crypto::SecretBytes> material_for_seeding;
};

// KeyMetadata as AWS returns it.
struct KeyMetadata {
  std::string aws_account_id;
  std::string key_id;
  std::string arn;
  int64_t creation_date = 0;
  bool enabled = false;
  std::string description;
  std::string key_usage;
  std::string key_state;
  std::optional<int64_t> deletion_date;
  std::optional<int> pending_deletion_window_in_days;
  std::string origin;
  std::string key_manager;
  std::string key_spec;  // also returned as the deprecated CustomerMasterKeySpec
  std::vector<std::string> encryption_algorithms;
  std::vector<std::string> signing_algorithms;
  std::vector<std::string> mac_algorithms;
  std::vector<std::string> key_agreement_algorithms;
  bool multi_region = false;
  std::string current_key_material_id;
  // Keys with imported material (origin EXTERNAL), once material was imported.
  std::string expiration_model;    // KEY_MATERIAL_EXPIRES | KEY_MATERIAL_DOES_NOT_EXPIRE
  std::optional<int64_t> valid_to;  // when the material expires
  std::string custom_key_store_id;   // "" unless the key is in a custom key store
  std::string cloud_hsm_cluster_id;  // its store's cluster, likewise
};

struct ListKeysRequest {
  std::optional<int> limit;
  std::optional<std::string> marker;
};

struct KeyListEntry {
  std::string key_id;
  std::string key_arn;
};

struct ListKeysResponse {
  std::vector<KeyListEntry> keys;
  std::optional<std::string> next_marker;
  bool truncated = false;
};

using EncryptionContext = std::map<std::string, std::string>;

struct EncryptRequest {
  std::string key_id;
  crypto::SecretBytes plaintext;
  EncryptionContext context;
  std::optional<std::string> algorithm;
  bool dry_run = false;
};

struct EncryptResponse {
  Bytes ciphertext_blob;
  std::string key_arn;
  std::string algorithm;
};

struct DecryptRequest {
  std::optional<Bytes> ciphertext_blob;
  EncryptionContext context;
  std::optional<std::string> key_id;
  std::optional<std::string> algorithm;
  bool has_recipient = false;
  bool dry_run = false;
  bool dry_run_ignore_ciphertext = false;  // DryRunModifiers IGNORE_CIPHERTEXT
};

struct DecryptResponse {
  std::string key_arn;
  crypto::SecretBytes plaintext;
  std::string algorithm;
  std::string key_material_id;
};

struct ReEncryptRequest {
  Bytes ciphertext_blob;
  EncryptionContext source_context;
  std::optional<std::string> source_key_id;
  std::string destination_key_id;
  EncryptionContext destination_context;
  std::optional<std::string> source_algorithm;
  std::optional<std::string> destination_algorithm;
  bool dry_run = false;
  bool dry_run_ignore_ciphertext = false;
};

struct ReEncryptResponse {
  Bytes ciphertext_blob;
  std::string source_key_arn;
  std::string key_arn;
  std::string source_algorithm;
  std::string destination_algorithm;
  std::string source_key_material_id;
  std::string destination_key_material_id;
};

struct GenerateDataKeyRequest {
  std::string key_id;
  EncryptionContext context;
  std::optional<int> number_of_bytes;
  std::optional<std::string> key_spec;  // AES_128 | AES_256
  bool has_recipient = false;
  bool dry_run = false;
};

struct GenerateDataKeyResponse {
  Bytes ciphertext_blob;
  crypto::SecretBytes plaintext;  // empty for ...WithoutPlaintext
  std::string key_arn;
  std::string key_material_id;
};

struct GenerateRandomRequest {
  std::optional<int> number_of_bytes;
  std::optional<std::string> custom_key_store_id;
  bool has_recipient = false;
};

struct ScheduleKeyDeletionResponse {
  std::string key_arn;
  int64_t deletion_date = 0;
  std::string key_state;
  int pending_window_in_days = 0;
};

struct ListResourceTagsRequest {
  std::string key_id;
  std::optional<int> limit;
  std::optional<std::string> marker;
};

struct ListResourceTagsResponse {
  std::vector<Tag> tags;
  std::optional<std::string> next_marker;
  bool truncated = false;
};

struct AliasEntry {
  std::string alias_name;
  std::string alias_arn;
  std::optional<std::string> target_key_id;
  std::optional<int64_t> creation_date;
  std::optional<int64_t> last_updated_date;
};

struct ListAliasesRequest {
  std::optional<std::string> key_id;
  std::optional<int> limit;
  std::optional<std::string> marker;
};

struct ListAliasesResponse {
  std::vector<AliasEntry> aliases;
  std::optional<std::string> next_marker;
  bool truncated = false;
};

struct KeyRotationStatus {
  bool key_rotation_enabled = false;
  std::string key_arn;
  std::optional<int> rotation_period_in_days;
  std::optional<int64_t> next_rotation_date;
  std::optional<int64_t> on_demand_rotation_start_date;
};

struct ListKeyRotationsRequest {
  std::string key_id;
  std::optional<std::string> include_key_material;  // ROTATIONS_ONLY (default) | ALL_KEY_MATERIAL
  std::optional<int> limit;
  std::optional<std::string> marker;
};

struct RotationEntry {
  std::string key_id;
  std::string key_material_id;
  int64_t rotation_date = 0;
  std::string rotation_type;  // AUTOMATIC | ON_DEMAND; empty for the first material
  std::string key_material_state;  // CURRENT | NON_CURRENT
};

struct ListKeyRotationsResponse {
  std::vector<RotationEntry> rotations;
  std::optional<std::string> next_marker;
  bool truncated = false;
};

// Importing key material (origin EXTERNAL).
struct GetParametersForImportRequest {
  std::string key_id;
  std::string wrapping_algorithm;  // RSAES_OAEP_SHA_1 | RSAES_OAEP_SHA_256 | RSA_AES_KEY_WRAP_*
  std::string wrapping_key_spec;   // RSA_2048 | RSA_3072 | RSA_4096
};

struct GetParametersForImportResponse {
  std::string key_arn;
  Bytes import_token;
  Bytes public_key;  // DER SubjectPublicKeyInfo of the wrapping key
  int64_t parameters_valid_to = 0;
};

struct ImportKeyMaterialRequest {
  std::string key_id{};
  Bytes import_token{};
  Bytes encrypted_key_material{};
  std::optional<int64_t> valid_to{};
  std::optional<std::string> expiration_model{};
  std::optional<std::string> import_type{};  // NEW_KEY_MATERIAL | EXISTING_KEY_MATERIAL
  std::optional<std::string> key_material_id{};
  bool has_key_material_description = false;
};

// ImportKeyMaterial and DeleteImportedKeyMaterial.
struct ImportedMaterialResponse {
  std::string key_arn;
  std::string key_material_id;  // symmetric encryption keys only
};

struct KeyPolicyResponse {
  std::string policy;
  std::string policy_name;
};

struct ListKeyPoliciesResponse {
  std::vector<std::string> policy_names;
  bool truncated = false;
};

// Signatures (SIGN_VERIFY keys).
struct SignRequest {
  std::string key_id{};
  Bytes message{};
  std::string message_type = "RAW";  // RAW | DIGEST | EXTERNAL_MU
  std::string signing_algorithm{};
  bool dry_run = false;
};

struct SignResponse {
  std::string key_arn{};
  Bytes signature{};
  std::string signing_algorithm{};
};

struct VerifyRequest {
  std::string key_id{};
  Bytes message{};
  std::string message_type = "RAW";
  Bytes signature{};
  std::string signing_algorithm{};
  bool dry_run = false;
};

struct VerifyResponse {
  std::string key_arn{};
  bool signature_valid = false;  // always true: an invalid signature is kKmsInvalidSignature
  std::string signing_algorithm{};
};

struct GetPublicKeyResponse {
  std::string key_arn{};
  Bytes public_key{};  // DER SubjectPublicKeyInfo
  std::string key_spec{};
  std::string key_usage{};
  std::vector<std::string> encryption_algorithms{};
  std::vector<std::string> signing_algorithms{};
  std::vector<std::string> key_agreement_algorithms{};
};

// HMAC (GENERATE_VERIFY_MAC keys).
struct MacRequest {
  std::string key_id{};
  Bytes message{};
  std::string mac_algorithm{};
  Bytes mac{};  // VerifyMac only
  bool dry_run = false;
};

struct MacResponse {
  std::string key_arn{};
  Bytes mac{};  // GenerateMac only
  std::string mac_algorithm{};
};

// Key agreement (KEY_AGREEMENT keys).
struct DeriveSharedSecretRequest {
  std::string key_id{};
  std::string key_agreement_algorithm{};
  Bytes public_key{};  // the peer's, DER SubjectPublicKeyInfo
  bool has_recipient = false;
  bool dry_run = false;
};

struct DeriveSharedSecretResponse {
  std::string key_arn{};
  crypto::SecretBytes shared_secret{};
  std::string key_agreement_algorithm{};
  std::string key_origin{};
};

// Data key pairs, the private key encrypted under a symmetric KMS key.
struct GenerateDataKeyPairRequest {
  std::string key_id{};
  EncryptionContext context{};
  std::string key_pair_spec{};
  bool has_recipient = false;
  bool dry_run = false;
};

struct GenerateDataKeyPairResponse {
  Bytes private_key_ciphertext_blob{};
  crypto::SecretBytes private_key_plaintext{};  // empty for ...WithoutPlaintext
  Bytes public_key{};
  std::string key_arn{};
  std::string key_pair_spec{};
  std::string key_material_id{};
};

// Grant constraints: the encryption context a request must have (Equals) or contain (Subset)
// for the grant to allow it. Either, both or neither may be set.
struct GrantConstraints {
  std::optional<EncryptionContext> encryption_context_equals{};
  std::optional<EncryptionContext> encryption_context_subset{};
  bool empty() const { return !encryption_context_equals && !encryption_context_subset; }
  bool operator==(const GrantConstraints&) const = default;
};

struct CreateGrantRequest {
  std::string key_id{};
  std::string grantee_principal{};
  std::optional<std::string> retiring_principal{};
  std::vector<std::string> operations{};
  std::optional<GrantConstraints> constraints{};
  std::optional<std::string> name{};
  bool dry_run = false;
};

struct CreateGrantResponse {
  std::string grant_id{};
  std::string grant_token{};
};

struct GrantListEntry {
  std::string key_arn{};
  std::string grant_id{};
  std::string name{};  // "" when none
  int64_t creation_date = 0;
  std::string grantee_principal{};
  std::string retiring_principal{};  // "" when none
  std::string issuing_account{};
  std::vector<std::string> operations{};
  std::optional<GrantConstraints> constraints{};
};

struct ListGrantsRequest {
  std::string key_id{};
  std::optional<int> limit{};
  std::optional<std::string> marker{};
  std::optional<std::string> grant_id{};
  std::optional<std::string> grantee_principal{};
};

struct ListRetirableGrantsRequest {
  std::string retiring_principal{};
  std::optional<int> limit{};
  std::optional<std::string> marker{};
};

struct ListGrantsResponse {
  std::vector<GrantListEntry> grants{};
  std::optional<std::string> next_marker{};
  bool truncated = false;
};

// RetireGrant names its grant by token, or by key ARN and grant id.
struct RetireGrantRequest {
  std::optional<std::string> grant_token{};
  std::optional<std::string> key_id{};
  std::optional<std::string> grant_id{};
  bool dry_run = false;
};

// What one pass of background maintenance did. The ARNs are of the keys destroyed after
// their deletion window and of the keys given new material by automatic rotation, so that the
// server can record each as CloudTrail does (an AwsServiceEvent DeleteKey / RotateKey).
struct MaintenanceReport {
  int keys_deleted = 0;
  int keys_rotated = 0;
  std::vector<std::string> deleted_key_arns{};
  std::vector<std::string> rotated_key_arns{};
  std::vector<std::string> expired_material_key_arns{};  // imported material past its ValidTo
  // Set when the pass stopped at a failure (store or keystore); the keys above were handled
  // before it, and the next pass carries on.
  std::optional<Error> error{};
};

// Read-only counters of the service, for /metrics.
struct ServiceStats {
  // Lookups of unwrapped backing material since start: answered from the cache, or by the
  // root keystore (absent or expired). Asymmetric keys look up their material only when their
  // parsed private key is not cached yet.
  uint64_t backing_key_cache_hits = 0;
  uint64_t backing_key_cache_misses = 0;
  // Keys of every account and region by state (Enabled, Disabled, PendingDeletion, ...).
  // Counted by the store at most once per kKeyCountInterval, so scrapes do not load it; empty
  // until the first count succeeds, and the last good count when a later one fails.
  std::map<std::string, int64_t> keys_by_state{};
  static constexpr std::chrono::seconds kKeyCountInterval{5};
};

// Custom key stores (AWS_CLOUDHSM type) mapped onto PKCS#11 tokens. A "cluster" is a token the
// server is configured with (`scytale serve --cloudhsm-cluster`); a store names one cluster, and
// each of its KMS keys is a non-extractable AES-256 key object inside that token.
struct CloudHsmCluster {
  std::string cluster_id;  // as the model's CloudHsmClusterIdType: cluster-[2-7a-zA-Z]{11,16}
  std::filesystem::path module;  // the PKCS#11 library
  std::string token_label;
  // When set (PEM), CreateCustomKeyStore must present this certificate as TrustAnchorCertificate
  // (IncorrectTrustAnchorException otherwise), and UpdateCustomKeyStore moves a store only to a
  // cluster with the same one.
  std::optional<std::string> trust_anchor_pem{};
};

struct CreateCustomKeyStoreRequest {
  std::string custom_key_store_name{};
  std::optional<std::string> cloud_hsm_cluster_id{};
  std::optional<std::string> trust_anchor_certificate{};
  std::optional<crypto::SecretBytes> key_store_password{};  // the token user's PIN
  std::optional<std::string> custom_key_store_type{};  // AWS_CLOUDHSM (default) | EXTERNAL_KEY_STORE
  bool has_xks_members = false;  // any Xks* member was given
};

struct UpdateCustomKeyStoreRequest {
  std::string custom_key_store_id{};
  std::optional<std::string> new_custom_key_store_name{};
  std::optional<crypto::SecretBytes> key_store_password{};
  std::optional<std::string> cloud_hsm_cluster_id{};
  bool has_xks_members = false;
};

struct DescribeCustomKeyStoresRequest {
  std::optional<std::string> custom_key_store_id{};
  std::optional<std::string> custom_key_store_name{};
  std::optional<int> limit{};
  std::optional<std::string> marker{};
};

struct CustomKeyStoreEntry {
  std::string custom_key_store_id{};
  std::string custom_key_store_name{};
  std::string cloud_hsm_cluster_id{};
  std::string trust_anchor_certificate{};
  std::string connection_state{};       // CONNECTED | DISCONNECTED | FAILED
  std::string connection_error_code{};  // with FAILED only
  int64_t creation_date = 0;
  std::string custom_key_store_type{};
};

struct DescribeCustomKeyStoresResponse {
  std::vector<CustomKeyStoreEntry> custom_key_stores{};
  std::optional<std::string> next_marker{};
  bool truncated = false;
};

// What restoring the connections of custom key stores at start did.
struct CustomKeyStoreRestoreReport {
  int connected = 0;
  // "<store id>: <ConnectionErrorCode>" for each store that could not be connected again (it is
  // FAILED now, as DescribeCustomKeyStores shows).
  std::vector<std::string> failures{};
};

// The identity policies (IAM user or role policies) of a principal, for authorization; none
// for an account root. Must be thread-safe.
using IdentityPolicyLookup =
    std::function<Result<std::vector<std::shared_ptr<const policy::CompiledPolicy>>>(
        const std::string& principal_arn)>;

class KeyService {
 public:
  // `store` and `root` must outlive the service. Without `identity_policies`, no principal has
  // identity policies (only account roots exist).
  // `clusters`: the PKCS#11 tokens custom key stores may use.
  static std::unique_ptr<KeyService> Create(storage::Store* store, keystore::RootKeystore* root,
                                            std::shared_ptr<Clock> clock,
                                            IdentityPolicyLookup identity_policies = {},
                                            std::vector<CloudHsmCluster> clusters = {});
  virtual ~KeyService() = default;

  // All methods are thread-safe.
  virtual Result<KeyMetadata> CreateKey(const CallContext& ctx, const CreateKeyRequest& req) = 0;
  // `key_id`: key id, key ARN, alias name or alias ARN.
  virtual Result<KeyMetadata> DescribeKey(const CallContext& ctx, const std::string& key_id) = 0;
  virtual Result<ListKeysResponse> ListKeys(const CallContext& ctx,
                                            const ListKeysRequest& req) = 0;

  // Envelope encryption. Errors as AWS: kNotFound, kDisabled / kInvalidState (key state),
  // kInvalidKeyUsage, kInvalidCiphertext, kIncorrectKey, kAccessDenied (a blob whose key does
  // not exist here), kDryRun when a dry run would have succeeded.
  virtual Result<EncryptResponse> Encrypt(const CallContext& ctx, const EncryptRequest& req) = 0;
  virtual Result<DecryptResponse> Decrypt(const CallContext& ctx, const DecryptRequest& req) = 0;
  virtual Result<ReEncryptResponse> ReEncrypt(const CallContext& ctx,
                                              const ReEncryptRequest& req) = 0;
  virtual Result<GenerateDataKeyResponse> GenerateDataKey(const CallContext& ctx,
                                                          const GenerateDataKeyRequest& req) = 0;
  virtual Result<GenerateDataKeyResponse> GenerateDataKeyWithoutPlaintext(
      const CallContext& ctx, const GenerateDataKeyRequest& req) = 0;
  virtual Result<crypto::SecretBytes> GenerateRandom(const CallContext& ctx,
                                                     const GenerateRandomRequest& req) = 0;

  // Key states and deletion.
  virtual Status EnableKey(const CallContext& ctx, const std::string& key_id) = 0;
  virtual Status DisableKey(const CallContext& ctx, const std::string& key_id) = 0;
  virtual Result<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(
      const CallContext& ctx, const std::string& key_id, std::optional<int> window_days) = 0;
  // Returns the key ARN; the key is Disabled afterwards.
  virtual Result<std::string> CancelKeyDeletion(const CallContext& ctx,
                                                const std::string& key_id) = 0;

  // Description and tags.
  virtual Status UpdateKeyDescription(const CallContext& ctx, const std::string& key_id,
                                      const std::string& description) = 0;
  virtual Status TagResource(const CallContext& ctx, const std::string& key_id,
                             const std::vector<Tag>& tags) = 0;
  virtual Status UntagResource(const CallContext& ctx, const std::string& key_id,
                               const std::vector<std::string>& tag_keys) = 0;
  virtual Result<ListResourceTagsResponse> ListResourceTags(
      const CallContext& ctx, const ListResourceTagsRequest& req) = 0;

  // Aliases.
  virtual Status CreateAlias(const CallContext& ctx, const std::string& alias_name,
                             const std::string& target_key_id) = 0;
  virtual Status UpdateAlias(const CallContext& ctx, const std::string& alias_name,
                             const std::string& target_key_id) = 0;
  virtual Status DeleteAlias(const CallContext& ctx, const std::string& alias_name) = 0;
  virtual Result<ListAliasesResponse> ListAliases(const CallContext& ctx,
                                                  const ListAliasesRequest& req) = 0;

  // Key policies (one per key, named "default").
  virtual Status PutKeyPolicy(const CallContext& ctx, const std::string& key_id,
                              const std::string& policy, const std::optional<std::string>& name,
                              bool bypass_policy_lockout_safety_check) = 0;
  virtual Result<KeyPolicyResponse> GetKeyPolicy(const CallContext& ctx,
                                                 const std::string& key_id,
                                                 const std::optional<std::string>& name) = 0;
  virtual Result<ListKeyPoliciesResponse> ListKeyPolicies(const CallContext& ctx,
                                                          const std::string& key_id) = 0;

  // Rotation.
  virtual Status EnableKeyRotation(const CallContext& ctx, const std::string& key_id,
                                   std::optional<int> period_days) = 0;
  virtual Status DisableKeyRotation(const CallContext& ctx, const std::string& key_id) = 0;
  virtual Result<KeyRotationStatus> GetKeyRotationStatus(const CallContext& ctx,
                                                         const std::string& key_id) = 0;
  // Returns the key ARN.
  virtual Result<std::string> RotateKeyOnDemand(const CallContext& ctx,
                                                const std::string& key_id) = 0;
  virtual Result<ListKeyRotationsResponse> ListKeyRotations(
      const CallContext& ctx, const ListKeyRotationsRequest& req) = 0;

  // Asymmetric and HMAC keys.
  virtual Result<SignResponse> Sign(const CallContext& ctx, const SignRequest& req) = 0;
  // An invalid signature is kKmsInvalidSignature.
  virtual Result<VerifyResponse> Verify(const CallContext& ctx, const VerifyRequest& req) = 0;
  virtual Result<GetPublicKeyResponse> GetPublicKey(const CallContext& ctx,
                                                    const std::string& key_id) = 0;
  virtual Result<MacResponse> GenerateMac(const CallContext& ctx, const MacRequest& req) = 0;
  // An invalid MAC is kKmsInvalidMac.
  virtual Result<MacResponse> VerifyMac(const CallContext& ctx, const MacRequest& req) = 0;
  virtual Result<DeriveSharedSecretResponse> DeriveSharedSecret(
      const CallContext& ctx, const DeriveSharedSecretRequest& req) = 0;
  virtual Result<GenerateDataKeyPairResponse> GenerateDataKeyPair(
      const CallContext& ctx, const GenerateDataKeyPairRequest& req, bool with_plaintext) = 0;

  // Grants. Grants take effect at once (one store): a grant token is accepted and checked but
  // never needed.
  virtual Result<CreateGrantResponse> CreateGrant(const CallContext& ctx,
                                                  const CreateGrantRequest& req) = 0;
  virtual Result<ListGrantsResponse> ListGrants(const CallContext& ctx,
                                                const ListGrantsRequest& req) = 0;
  virtual Result<ListGrantsResponse> ListRetirableGrants(
      const CallContext& ctx, const ListRetirableGrantsRequest& req) = 0;
  virtual Status RetireGrant(const CallContext& ctx, const RetireGrantRequest& req) = 0;
  virtual Status RevokeGrant(const CallContext& ctx, const std::string& key_id,
                             const std::string& grant_id, bool dry_run) = 0;

  // Importing key material: the wrapping key and token, the import itself, and deleting the
  // imported material (the key becomes PendingImport until the same material is imported).
  virtual Result<GetParametersForImportResponse> GetParametersForImport(
      const CallContext& ctx, const GetParametersForImportRequest& req) = 0;
  virtual Result<ImportedMaterialResponse> ImportKeyMaterial(
      const CallContext& ctx, const ImportKeyMaterialRequest& req) = 0;
  virtual Result<ImportedMaterialResponse> DeleteImportedKeyMaterial(
      const CallContext& ctx, const std::string& key_id,
      const std::optional<std::string>& key_material_id) = 0;
  // Custom key stores. Errors as AWS: kCustomKeyStoreNotFound, kCustomKeyStoreInvalidState
  // (connection state), kCustomKeyStoreNameInUse, kCloudHsmClusterNotFound (not configured),
  // kCloudHsmClusterInUse, kCloudHsmClusterNotRelated, kIncorrectTrustAnchor,
  // kCustomKeyStoreHasCMKs, kLimitExceeded (10 per account and region). Connecting completes
  // before the call returns: a failure leaves the store FAILED with its ConnectionErrorCode
  // and is not an error of the call (as in AWS, where connecting is asynchronous).
  virtual Result<std::string> CreateCustomKeyStore(const CallContext& ctx,
                                                   const CreateCustomKeyStoreRequest& req) = 0;
  virtual Status ConnectCustomKeyStore(const CallContext& ctx, const std::string& id) = 0;
  virtual Status DisconnectCustomKeyStore(const CallContext& ctx, const std::string& id) = 0;
  virtual Result<DescribeCustomKeyStoresResponse> DescribeCustomKeyStores(
      const CallContext& ctx, const DescribeCustomKeyStoresRequest& req) = 0;
  virtual Status UpdateCustomKeyStore(const CallContext& ctx,
                                      const UpdateCustomKeyStoreRequest& req) = 0;
  virtual Status DeleteCustomKeyStore(const CallContext& ctx, const std::string& id) = 0;
  // At start: connects again every store that was connected when the server stopped (AWS keeps
  // them connected). Stores that fail are marked FAILED and reported.
  virtual Result<CustomKeyStoreRestoreReport> RestoreCustomKeyStoreConnections() = 0;
  // A change committed to the store, by this node or another (storage::CachingStore's
  // observers): a custom key store's row changed, so this node checks it before it next uses
  // the store's open token (a store disconnected through another node closes here too).
  virtual void OnStoreChange(const storage::Change& change) { (void)change; }

  // Background work, run periodically by the server: destroys keys whose deletion date has
  // passed and rotates keys whose rotation date has come, as of the service's clock. A failure
  // part-way is reported in MaintenanceReport::error, not as an error result, so that the keys
  // already destroyed or rotated are still reported (and audited).
  virtual Result<MaintenanceReport> RunMaintenance() = 0;

  // Counters for /metrics; cheap (see ServiceStats for when the store is asked).
  virtual ServiceStats Stats() const = 0;
};

struct SeedReport {
  int keys_created = 0;
  int keys_present = 0;
  int aliases_created = 0;
};

// Applies a seed document (JSON, see docs/seeding.md): creates the keys it names where absent,
// with their fixed ids, optional material, description and tags, and their aliases where
// absent. Idempotent. kValidation for a malformed document.
Result<SeedReport> ApplySeed(KeyService& service, std::string_view text,
                             const std::string& default_account,
                             const std::string& default_region);

// Checks the form of a grant token as the GrantTokens member carries it (kInvalidGrantToken).
Status CheckGrantToken(std::string_view token);

// arn:aws:kms:<region>:<account>:key/<key id>
std::string KeyArn(const std::string& region, const std::string& account_id,
                   const std::string& key_id);

// For `scytale migrate`, which must be run with the root keystore the rows were wrapped by:
// OK when `root` unwraps `version`, a backing key version of `key` (a key outside custom key
// stores, with material), as CreateKey, rotation and ImportKeyMaterial wrapped it; else the
// unwrap's error (kInvalidCiphertext for another root). The material is wiped at once.
Status CheckRootUnwrapsKeyVersion(keystore::RootKeystore& root, const storage::KeyRow& key,
                                  const storage::KeyVersionRow& version);
// The same for the KeyStorePassword of a custom key store.
Status CheckRootUnwrapsCustomKeyStorePassword(keystore::RootKeystore& root,
                                              const storage::CustomKeyStoreRow& row);

}  // namespace scytale::kms

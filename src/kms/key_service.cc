// KeyServiceImpl forwards each operation to its free function (internal/ops.h).
#include <mutex>

#include "kms/internal/custom_key_stores.h"
#include "kms/internal/ops.h"

namespace scytale::kms {
namespace {

class KeyServiceImpl : public KeyService {
 public:
  KeyServiceImpl(storage::Store* store, keystore::RootKeystore* root,
                 std::shared_ptr<Clock> clock, IdentityPolicyLookup identity_policies,
                 std::vector<CloudHsmCluster> clusters)
      : core_(store, root, std::move(clock)) {
    core_.key_stores().Configure(std::move(clusters));
    if (identity_policies) {
      core_.authorizer().set_identity_policies(
          [lookup = std::move(identity_policies)](const CallContext& ctx) {
            return lookup(ctx.principal_arn);
          });
    }
  }

  Result<KeyMetadata> CreateKey(const CallContext& ctx, const CreateKeyRequest& req) override {
    return internal::CreateKey(core_, ctx, req);
  }
  Result<KeyMetadata> DescribeKey(const CallContext& ctx, const std::string& key_id) override {
    return internal::DescribeKey(core_, ctx, key_id);
  }
  Result<ListKeysResponse> ListKeys(const CallContext& ctx, const ListKeysRequest& req) override {
    return internal::ListKeys(core_, ctx, req);
  }

  Result<EncryptResponse> Encrypt(const CallContext& ctx, const EncryptRequest& req) override {
    return internal::Encrypt(core_, ctx, req);
  }
  Result<DecryptResponse> Decrypt(const CallContext& ctx, const DecryptRequest& req) override {
    return internal::Decrypt(core_, ctx, req);
  }
  Result<ReEncryptResponse> ReEncrypt(const CallContext& ctx,
                                      const ReEncryptRequest& req) override {
    return internal::ReEncrypt(core_, ctx, req);
  }
  Result<GenerateDataKeyResponse> GenerateDataKey(const CallContext& ctx,
                                                  const GenerateDataKeyRequest& req) override {
    return internal::GenerateDataKey(core_, ctx, req, /*with_plaintext=*/true);
  }
  Result<GenerateDataKeyResponse> GenerateDataKeyWithoutPlaintext(
      const CallContext& ctx, const GenerateDataKeyRequest& req) override {
    return internal::GenerateDataKey(core_, ctx, req, /*with_plaintext=*/false);
  }
  Result<crypto::SecretBytes> GenerateRandom(const CallContext& ctx,
                                             const GenerateRandomRequest& req) override {
    return internal::GenerateRandom(core_, ctx, req);
  }

  Status EnableKey(const CallContext& ctx, const std::string& key_id) override {
    return internal::EnableKey(core_, ctx, key_id);
  }
  Status DisableKey(const CallContext& ctx, const std::string& key_id) override {
    return internal::DisableKey(core_, ctx, key_id);
  }
  Result<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(const CallContext& ctx,
                                                          const std::string& key_id,
                                                          std::optional<int> window) override {
    return internal::ScheduleKeyDeletion(core_, ctx, key_id, window);
  }
  Result<std::string> CancelKeyDeletion(const CallContext& ctx,
                                        const std::string& key_id) override {
    return internal::CancelKeyDeletion(core_, ctx, key_id);
  }
  Status UpdateKeyDescription(const CallContext& ctx, const std::string& key_id,
                              const std::string& description) override {
    return internal::UpdateKeyDescription(core_, ctx, key_id, description);
  }
  Status TagResource(const CallContext& ctx, const std::string& key_id,
                     const std::vector<Tag>& tags) override {
    return internal::TagResource(core_, ctx, key_id, tags);
  }
  Status UntagResource(const CallContext& ctx, const std::string& key_id,
                       const std::vector<std::string>& tag_keys) override {
    return internal::UntagResource(core_, ctx, key_id, tag_keys);
  }
  Result<ListResourceTagsResponse> ListResourceTags(const CallContext& ctx,
                                                    const ListResourceTagsRequest& req) override {
    return internal::ListResourceTags(core_, ctx, req);
  }

  Status CreateAlias(const CallContext& ctx, const std::string& alias_name,
                     const std::string& target_key_id) override {
    return internal::CreateAlias(core_, ctx, alias_name, target_key_id);
  }
  Status UpdateAlias(const CallContext& ctx, const std::string& alias_name,
                     const std::string& target_key_id) override {
    return internal::UpdateAlias(core_, ctx, alias_name, target_key_id);
  }
  Status DeleteAlias(const CallContext& ctx, const std::string& alias_name) override {
    return internal::DeleteAlias(core_, ctx, alias_name);
  }
  Result<ListAliasesResponse> ListAliases(const CallContext& ctx,
                                          const ListAliasesRequest& req) override {
    return internal::ListAliases(core_, ctx, req);
  }

  Status PutKeyPolicy(const CallContext& ctx, const std::string& key_id,
                      const std::string& policy, const std::optional<std::string>& name,
                      bool bypass) override {
    return internal::PutKeyPolicy(core_, ctx, key_id, policy, name, bypass);
  }
  Result<KeyPolicyResponse> GetKeyPolicy(const CallContext& ctx, const std::string& key_id,
                                         const std::optional<std::string>& name) override {
    return internal::GetKeyPolicy(core_, ctx, key_id, name);
  }
  Result<ListKeyPoliciesResponse> ListKeyPolicies(const CallContext& ctx,
                                                  const std::string& key_id) override {
    return internal::ListKeyPolicies(core_, ctx, key_id);
  }

  Status EnableKeyRotation(const CallContext& ctx, const std::string& key_id,
                           std::optional<int> period_days) override {
    return internal::EnableKeyRotation(core_, ctx, key_id, period_days);
  }
  Status DisableKeyRotation(const CallContext& ctx, const std::string& key_id) override {
    return internal::DisableKeyRotation(core_, ctx, key_id);
  }
  Result<KeyRotationStatus> GetKeyRotationStatus(const CallContext& ctx,
                                                 const std::string& key_id) override {
    return internal::GetKeyRotationStatus(core_, ctx, key_id);
  }
  Result<std::string> RotateKeyOnDemand(const CallContext& ctx,
                                        const std::string& key_id) override {
    return internal::RotateKeyOnDemand(core_, ctx, key_id);
  }
  Result<ListKeyRotationsResponse> ListKeyRotations(const CallContext& ctx,
                                                    const ListKeyRotationsRequest& req) override {
    return internal::ListKeyRotations(core_, ctx, req);
  }

  Result<SignResponse> Sign(const CallContext& ctx, const SignRequest& req) override {
    return internal::Sign(core_, ctx, req);
  }
  Result<VerifyResponse> Verify(const CallContext& ctx, const VerifyRequest& req) override {
    return internal::Verify(core_, ctx, req);
  }
  Result<GetPublicKeyResponse> GetPublicKey(const CallContext& ctx,
                                            const std::string& key_id) override {
    return internal::GetPublicKey(core_, ctx, key_id);
  }
  Result<MacResponse> GenerateMac(const CallContext& ctx, const MacRequest& req) override {
    return internal::GenerateMac(core_, ctx, req);
  }
  Result<MacResponse> VerifyMac(const CallContext& ctx, const MacRequest& req) override {
    return internal::VerifyMac(core_, ctx, req);
  }
  Result<DeriveSharedSecretResponse> DeriveSharedSecret(
      const CallContext& ctx, const DeriveSharedSecretRequest& req) override {
    return internal::DeriveSharedSecret(core_, ctx, req);
  }
  Result<GenerateDataKeyPairResponse> GenerateDataKeyPair(const CallContext& ctx,
                                                          const GenerateDataKeyPairRequest& req,
                                                          bool with_plaintext) override {
    return internal::GenerateDataKeyPair(core_, ctx, req, with_plaintext);
  }

  Result<CreateGrantResponse> CreateGrant(const CallContext& ctx,
                                          const CreateGrantRequest& req) override {
    return internal::CreateGrant(core_, ctx, req);
  }
  Result<ListGrantsResponse> ListGrants(const CallContext& ctx,
                                        const ListGrantsRequest& req) override {
    return internal::ListGrants(core_, ctx, req);
  }
  Result<ListGrantsResponse> ListRetirableGrants(const CallContext& ctx,
                                                 const ListRetirableGrantsRequest& req) override {
    return internal::ListRetirableGrants(core_, ctx, req);
  }
  Status RetireGrant(const CallContext& ctx, const RetireGrantRequest& req) override {
    return internal::RetireGrant(core_, ctx, req);
  }
  Status RevokeGrant(const CallContext& ctx, const std::string& key_id,
                     const std::string& grant_id, bool dry_run) override {
    return internal::RevokeGrant(core_, ctx, key_id, grant_id, dry_run);
  }

  Result<GetParametersForImportResponse> GetParametersForImport(
      const CallContext& ctx, const GetParametersForImportRequest& req) override {
    return internal::GetParametersForImport(core_, ctx, req);
  }
  Result<ImportedMaterialResponse> ImportKeyMaterial(const CallContext& ctx,
                                                     const ImportKeyMaterialRequest& req) override {
    return internal::ImportKeyMaterial(core_, ctx, req);
  }
  Result<ImportedMaterialResponse> DeleteImportedKeyMaterial(
      const CallContext& ctx, const std::string& key_id,
      const std::optional<std::string>& key_material_id) override {
    return internal::DeleteImportedKeyMaterial(core_, ctx, key_id, key_material_id);
  }
  Result<std::string> CreateCustomKeyStore(const CallContext& ctx,
                                           const CreateCustomKeyStoreRequest& req) override {
    return internal::CreateCustomKeyStore(core_, ctx, req);
  }
  Status ConnectCustomKeyStore(const CallContext& ctx, const std::string& id) override {
    return internal::ConnectCustomKeyStore(core_, ctx, id);
  }
  Status DisconnectCustomKeyStore(const CallContext& ctx, const std::string& id) override {
    return internal::DisconnectCustomKeyStore(core_, ctx, id);
  }
  Result<DescribeCustomKeyStoresResponse> DescribeCustomKeyStores(
      const CallContext& ctx, const DescribeCustomKeyStoresRequest& req) override {
    return internal::DescribeCustomKeyStores(core_, ctx, req);
  }
  Status UpdateCustomKeyStore(const CallContext& ctx,
                              const UpdateCustomKeyStoreRequest& req) override {
    return internal::UpdateCustomKeyStore(core_, ctx, req);
  }
  Status DeleteCustomKeyStore(const CallContext& ctx, const std::string& id) override {
    return internal::DeleteCustomKeyStore(core_, ctx, id);
  }
  Result<CustomKeyStoreRestoreReport> RestoreCustomKeyStoreConnections() override {
    return internal::RestoreCustomKeyStoreConnections(core_);
  }

  void OnStoreChange(const storage::Change& change) override {
    using Kind = storage::Change::Kind;
    if (change.kind == Kind::kKeyStore) {
      core_.key_stores().MarkStale(change.id);
    } else if (change.kind == Kind::kLost || change.kind == Kind::kResumed) {
      core_.key_stores().MarkAllStale();
    }
  }

  Result<MaintenanceReport> RunMaintenance() override {
    MaintenanceReport report;
    Status done = internal::DeleteDueKeys(core_, &report.deleted_key_arns);
    if (done) {
      done = internal::RotateDueKeys(core_, &report.rotated_key_arns);
    }
    if (done) {
      done = internal::ExpireImportedMaterial(core_, &report.expired_material_key_arns);
    }
    if (!done) {
      report.error = done.error();
    }
    report.keys_deleted = static_cast<int>(report.deleted_key_arns.size());
    report.keys_rotated = static_cast<int>(report.rotated_key_arns.size());
    return report;
  }

  ServiceStats Stats() const override {
    ServiceStats stats;
    const internal::BackingKeyCache::Counts cache = core_.cache().counts();
    stats.backing_key_cache_hits = cache.hits;
    stats.backing_key_cache_misses = cache.misses;
    const auto now = core_.clock().Now();
    std::lock_guard lock(key_count_mu_);
    // The service clock may be moved back by tests: count again then too.
    if (!key_count_time_ || now >= *key_count_time_ + ServiceStats::kKeyCountInterval ||
        now < *key_count_time_) {
      // A failed count keeps the last good one and is not retried before the interval.
      if (auto counted = core_.store()->CountKeysByState()) {
        key_count_ = std::move(*counted);
      }
      key_count_time_ = now;
    }
    stats.keys_by_state = key_count_;
    return stats;
  }

 private:
  internal::Core core_;
  // The last count of keys by state and when it was taken (Stats).
  mutable std::mutex key_count_mu_;
  mutable std::map<std::string, int64_t> key_count_;
  mutable std::optional<std::chrono::system_clock::time_point> key_count_time_;
};

}  // namespace

std::unique_ptr<KeyService> KeyService::Create(storage::Store* store,
                                               keystore::RootKeystore* root,
                                               std::shared_ptr<Clock> clock,
                                               IdentityPolicyLookup identity_policies,
                                               std::vector<CloudHsmCluster> clusters) {
  return std::make_unique<KeyServiceImpl>(store, root, std::move(clock),
                                          std::move(identity_policies), std::move(clusters));
}

}  // namespace scytale::kms

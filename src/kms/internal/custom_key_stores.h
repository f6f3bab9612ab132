// Custom key stores inside kms/: the configured clusters (PKCS#11 tokens), the tokens of the
// stores connected on this node, and what the key operations ask of them (custom_key_stores.cc).
//
// Connection state lives in two places. The store row keeps the state operators asked for
// (CONNECTED, DISCONNECTED, FAILED with its ConnectionErrorCode); it survives restarts and is
// shared by every node of a PostgreSQL deployment. This node's open tokens are a cache of it: a
// store whose row says CONNECTED is opened on first use (after a restart, or on another node),
// and a failure to open it marks the row FAILED.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kms/internal/ciphertext.h"
#include "kms/internal/core.h"

namespace scytale::kms::internal {

inline constexpr const char* kCloudHsmOrigin = "AWS_CLOUDHSM";

// Thread-safe.
class KeyStoreConnections {
 public:
  void Configure(std::vector<CloudHsmCluster> clusters);
  // The configured cluster of that id, or nullopt.
  std::optional<CloudHsmCluster> Cluster(const std::string& cluster_id) const;

  // The open token of a store connected on this node, or null.
  std::shared_ptr<keystore::TokenKeys> Find(const std::string& store_id) const;
  void Put(const std::string& store_id, std::shared_ptr<keystore::TokenKeys> token);
  // Forgets the store's token; operations still holding it finish, then its sessions close.
  void Drop(const std::string& store_id);
  // The store's row changed, on this node or another (the store's change feed): the next use
  // of its open token checks the row first (TakeStale), and closes the token unless the row
  // still says CONNECTED. MarkAllStale: every open store (the feed was interrupted).
  void MarkStale(const std::string& store_id);
  void MarkAllStale();
  // Whether the store was marked stale; clears the mark.
  bool TakeStale(const std::string& store_id);

  // Held while a store's connection state changes, so that connect, disconnect, update and
  // delete of stores happen one at a time (they are rare; each may wait for a token).
  std::mutex& state_mutex() { return state_mu_; }

 private:
  mutable std::mutex mu_;
  std::map<std::string, CloudHsmCluster> clusters_;                      // guarded by mu_
  std::map<std::string, std::shared_ptr<keystore::TokenKeys>> open_;  // guarded by mu_
  std::set<std::string> stale_;                                         // guarded by mu_
  std::mutex state_mu_;
};

// CreateKey with a CustomKeyStoreId or Origin AWS_CLOUDHSM: checks what AWS allows in a
// CloudHSM key store (a single-Region symmetric encryption key of origin AWS_CLOUDHSM), then
// that the store exists and is CONNECTED.
Status CheckKeyInCustomKeyStore(Core& core, const CallContext& ctx, const CreateKeyRequest& req,
                                const std::string& origin, const std::string& spec,
                                const std::string& usage);
// Generates the key's AES-256 key object inside the store's token (label = key id), then
// inserts the key (its one version holds no material); the token object is destroyed again if
// the insert fails.
Result<KeyMetadata> InsertKeyInCustomKeyStore(Core& core, storage::KeyRow row);

// Encrypts or decrypts a blob of a key in a custom key store inside its token.
// kInvalidState "<arn> is unavailable." when the store is not connected.
Result<Bytes> SealInCustomKeyStore(Core& core, const storage::KeyRow& key,
                                   const std::string& version_id,
                                   std::span<const uint8_t> plaintext,
                                   const EncryptionContext& context);
Result<crypto::SecretBytes> OpenInCustomKeyStore(Core& core, const storage::KeyRow& key,
                                                 const ParsedBlob& blob,
                                                 const EncryptionContext& context);

// The key state AWS reports: Unavailable for an Enabled or Disabled key whose store is not
// connected; otherwise the stored one.
Result<std::string> EffectiveKeyState(Core& core, const storage::KeyRow& key);
// DescribeKey's CustomKeyStoreId, CloudHsmClusterId, and the effective state.
Status AddCustomKeyStoreMetadata(Core& core, const storage::KeyRow& key, KeyMetadata* out);

// GenerateRandom with a CustomKeyStoreId: bytes from the connected store's token.
Result<crypto::SecretBytes> RandomFromCustomKeyStore(Core& core, const CallContext& ctx,
                                                     const std::string& store_id, size_t size);

// After a key in a custom key store is deleted: destroys its token object, best effort (as
// AWS, which leaves the material of a disconnected store's key in the cluster).
void DestroyCustomKeyStoreMaterial(Core& core, const storage::KeyRow& key);

}  // namespace scytale::kms::internal

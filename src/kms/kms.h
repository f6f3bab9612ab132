// kms/: the key management service itself, free of HTTP and JSON. Each operation is one
// method that reads like AWS's documentation of it: resolve the key, (authorize: later issue),
// check the key state, do the work through the keystore and the store.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <map>

#include "common/clock.h"
#include "crypto/crypto.h"
#include "common/result.h"
#include "keystore/keystore.h"
#include "storage/storage.h"

namespace scytale::kms {

// Who calls, from where. The region is the one in the request's SigV4 credential scope.
struct CallContext {
  std::string account_id;
  std::string region;
  std::string principal_arn;
  std::string request_id;
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
  std::string origin;
  std::string key_manager;
  std::string key_spec;  // also returned as the deprecated CustomerMasterKeySpec
  std::vector<std::string> encryption_algorithms;
  bool multi_region = false;
  std::string current_key_material_id;
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

class KeyService {
 public:
  // `store` and `root` must outlive the service.
  static std::unique_ptr<KeyService> Create(storage::Store* store, keystore::RootKeystore* root,
                                            std::shared_ptr<Clock> clock);
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
};

// arn:aws:kms:<region>:<account>:key/<key id>
std::string KeyArn(const std::string& region, const std::string& account_id,
                   const std::string& key_id);

}  // namespace scytale::kms

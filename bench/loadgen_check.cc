#include "loadgen_check.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>
#include <utility>

namespace scytale::loadgen {
namespace {

using json = nlohmann::json;

std::string Fail(std::string_view operation, std::string_view what) {
  return std::string(operation) + ": " + std::string(what);
}

// Answers name keys by ARN ("arn:aws:kms:REGION:ACCOUNT:key/ID"); requests may name them by id.
bool SameKey(std::string_view answered, std::string_view expected) {
  if (answered.empty() || expected.empty()) {
    return false;
  }
  auto ends_with_id = [](std::string_view arn, std::string_view id) {
    return arn.size() > id.size() && arn.ends_with(id) && arn[arn.size() - id.size() - 1] == '/';
  };
  return answered == expected || ends_with_id(answered, expected) ||
         ends_with_id(expected, answered);
}

// The string member `name` of `j`, or nullopt when absent or not a string.
std::optional<std::string> StringMember(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

// The base64 member `name` of `j`, decoded; nullopt when absent, not a string or not base64.
std::optional<Bytes> BlobMember(const json& j, const char* name) {
  std::optional<std::string> text = StringMember(j, name);
  if (!text || text->empty()) {
    return std::nullopt;
  }
  return Base64Decode(*text);
}

std::array<uint8_t, 32> DigestAndWipe(Bytes& plaintext) {
  std::array<uint8_t, 32> digest = crypto::Sha256(plaintext);
  OPENSSL_cleanse(plaintext.data(), plaintext.size());
  return digest;
}

std::optional<std::string> CheckKeyMetadata(std::string_view operation, const json& answer,
                                            std::string_view key_id, std::string_view description) {
  auto md = answer.find("KeyMetadata");
  if (md == answer.end() || !md->is_object()) {
    return Fail(operation, "no KeyMetadata");
  }
  std::optional<std::string> id = StringMember(*md, "KeyId");
  if (!id || (!key_id.empty() && !SameKey(*id, key_id)) || id->empty()) {
    return Fail(operation, "KeyMetadata.KeyId is not the key asked for");
  }
  if (StringMember(*md, "KeyState") != "Enabled") {
    return Fail(operation, "KeyMetadata.KeyState is not Enabled");
  }
  if (!description.empty() && StringMember(*md, "Description") != description) {
    return Fail(operation, "KeyMetadata.Description is not the one given");
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> CheckAnswer(std::string_view operation, const Expectation& expected,
                                       std::string_view body, std::optional<Sample>* out_sample) {
  const json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    return Fail(operation, "the body is not a JSON object");
  }
  Sample sample;
  sample.operation = std::string(operation);
  bool keep = false;
  if (operation == "Encrypt" || operation == "GenerateDataKey" ||
      operation == "GenerateDataKeyWithoutPlaintext" || operation == "ReEncrypt") {
    std::optional<std::string> key = StringMember(answer, "KeyId");
    if (!key || !SameKey(*key, expected.key_id)) {
      return Fail(operation, "KeyId is not the key asked for");
    }
    std::optional<Bytes> blob = BlobMember(answer, "CiphertextBlob");
    if (!blob) {
      return Fail(operation, "no base64 CiphertextBlob");
    }
    sample.ciphertext = *StringMember(answer, "CiphertextBlob");
    sample.key_id = expected.key_id;
    keep = true;
    if (operation == "Encrypt" || operation == "ReEncrypt") {
      if (expected.plaintext) {
        if (blob->size() <= expected.plaintext->size()) {
          return Fail(operation, "CiphertextBlob is shorter than the plaintext");
        }
        sample.plaintext_sha256 = crypto::Sha256(*expected.plaintext);
      }
    }
    if (operation == "ReEncrypt") {
      std::optional<std::string> source = StringMember(answer, "SourceKeyId");
      if (!source || !SameKey(*source, expected.source_key_id)) {
        return Fail(operation, "SourceKeyId is not the key of the ciphertext");
      }
    }
    if (operation == "GenerateDataKey") {
      std::optional<Bytes> plaintext = BlobMember(answer, "Plaintext");
      if (!plaintext || plaintext->size() != 32) {
        return Fail(operation, "Plaintext is not a 32-byte data key");
      }
      sample.plaintext_sha256 = DigestAndWipe(*plaintext);
    }
    if (operation == "GenerateDataKeyWithoutPlaintext") {
      if (answer.contains("Plaintext")) {
        return Fail(operation, "the answer holds a Plaintext");
      }
      sample.plaintext_size = 32;
    }
    if (operation == "Encrypt" &&
        StringMember(answer, "EncryptionAlgorithm") != "SYMMETRIC_DEFAULT") {
      return Fail(operation, "EncryptionAlgorithm is not SYMMETRIC_DEFAULT");
    }
    if (operation == "ReEncrypt" &&
        StringMember(answer, "DestinationEncryptionAlgorithm") != "SYMMETRIC_DEFAULT") {
      return Fail(operation, "DestinationEncryptionAlgorithm is not SYMMETRIC_DEFAULT");
    }
  } else if (operation == "Decrypt") {
    std::optional<std::string> key = StringMember(answer, "KeyId");
    if (!key || !SameKey(*key, expected.key_id)) {
      return Fail(operation, "KeyId is not the key of the ciphertext");
    }
    std::optional<Bytes> plaintext = BlobMember(answer, "Plaintext");
    if (!plaintext) {
      return Fail(operation, "no base64 Plaintext");
    }
    if (expected.plaintext && *plaintext != *expected.plaintext) {
      return Fail(operation, "Plaintext is not what was encrypted");
    }
  } else if (operation == "Sign") {
    std::optional<std::string> key = StringMember(answer, "KeyId");
    if (!key || !SameKey(*key, expected.key_id)) {
      return Fail(operation, "KeyId is not the key asked for");
    }
    std::optional<Bytes> signature = BlobMember(answer, "Signature");
    if (!signature) {
      return Fail(operation, "no base64 Signature");
    }
    if (expected.public_key) {
      Result<bool> valid =
          crypto::Verify(*expected.public_key, crypto::SignatureScheme::kEcdsa,
                         crypto::HashAlgorithm::kSha256, expected.message, false, *signature);
      if (!valid || !*valid) {
        return Fail(operation, "Signature does not verify with the key's public key");
      }
    }
  } else if (operation == "GenerateMac") {
    std::optional<std::string> key = StringMember(answer, "KeyId");
    if (!key || !SameKey(*key, expected.key_id)) {
      return Fail(operation, "KeyId is not the key asked for");
    }
    std::optional<Bytes> mac = BlobMember(answer, "Mac");
    if (!mac || (expected.mac && *mac != *expected.mac)) {
      return Fail(operation, "Mac is not the key's HMAC of the message");
    }
  } else if (operation == "DescribeKey") {
    if (auto error = CheckKeyMetadata(operation, answer, expected.key_id, "")) {
      return error;
    }
  } else if (operation == "CreateKey") {
    if (auto error = CheckKeyMetadata(operation, answer, "", expected.description)) {
      return error;
    }
    sample.key_id = answer["KeyMetadata"]["KeyId"].get<std::string>();
    sample.description = expected.description;
    keep = true;
  }
  if (keep && out_sample != nullptr) {
    *out_sample = std::move(sample);
  }
  return std::nullopt;
}

std::string SampleOperation(const Sample& sample) {
  return sample.ciphertext.empty() ? "DescribeKey" : "Decrypt";
}

std::string SampleRequestBody(const Sample& sample) {
  if (sample.ciphertext.empty()) {
    return json{{"KeyId", sample.key_id}}.dump();
  }
  return json{{"CiphertextBlob", sample.ciphertext}}.dump();
}

std::optional<std::string> CheckSampleAnswer(const Sample& sample, std::string_view body) {
  const std::string what = sample.operation + " then " + SampleOperation(sample);
  const json answer = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    return Fail(what, "the body is not a JSON object");
  }
  if (sample.ciphertext.empty()) {
    return CheckKeyMetadata(what, answer, sample.key_id, sample.description);
  }
  std::optional<std::string> key = StringMember(answer, "KeyId");
  if (!key || !SameKey(*key, sample.key_id)) {
    return Fail(what, "KeyId is not the key that encrypted");
  }
  std::optional<Bytes> plaintext = BlobMember(answer, "Plaintext");
  if (!plaintext) {
    return Fail(what, "no base64 Plaintext");
  }
  const size_t size = plaintext->size();
  const std::array<uint8_t, 32> digest = DigestAndWipe(*plaintext);
  if (sample.plaintext_sha256 && digest != *sample.plaintext_sha256) {
    return Fail(what, "the plaintext is not what was encrypted");
  }
  if (!sample.plaintext_sha256 && size != sample.plaintext_size) {
    return Fail(what, "the plaintext is not a data key of the expected size");
  }
  return std::nullopt;
}

}  // namespace scytale::loadgen

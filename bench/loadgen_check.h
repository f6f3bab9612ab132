// The load generator's --verify mode: what a 200 answer must hold, beyond its status.
//
// A server under load can answer 200 with the wrong thing (a plaintext from another request, a
// ciphertext under the wrong key, a truncated body). The load generator knows what it asked:
// every request of its pool names a key and a payload, so each 200 is checked against an
// Expectation built with the request. What one answer cannot show (that a ciphertext really
// decrypts, that a created key exists) is kept as a Sample and asked about after the load,
// when the server is quiet.
//
// Checks are pure functions of the answer's body; error messages name the operation and the
// member at fault and carry no value from the answer, so that they can be counted by message.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "crypto/asymmetric.h"

namespace scytale::loadgen {

// What a 200 answer to one request must hold. Members that do not apply to the operation are
// left empty and not looked at.
struct Expectation {
  // The key the answer names in KeyId (KeyMetadata.KeyId for DescribeKey), as the request
  // named it: a key id or an ARN (answers name ARNs; either matches).
  std::string key_id;
  std::string source_key_id;       // ReEncrypt: SourceKeyId
  std::optional<Bytes> plaintext;  // Decrypt: Plaintext; Encrypt, ReEncrypt: what the ciphertext
                                   // must decrypt to (checked on a Sample)
  std::optional<Bytes> mac;  // GenerateMac: HMAC is deterministic, so set-up asked for it once
  std::optional<crypto::PublicKey> public_key;  // Sign (ECDSA_SHA_256 over `message`, RAW)
  Bytes message;
  std::string description;  // CreateKey: the Description the request gave
};

// An answer to check after the load. With `ciphertext` set, Decrypt must name `key_id` and give
// a plaintext whose SHA-256 is `plaintext_sha256` (or, without it, of `plaintext_size` bytes: a
// data key never seen). Without it, `key_id` is a created key, which DescribeKey must show
// Enabled with `description`. Data keys are kept only as their digest.
struct Sample {
  std::string operation;   // the operation that answered
  std::string ciphertext;  // base64, as answered
  std::string key_id;
  std::optional<std::array<uint8_t, 32>> plaintext_sha256;
  size_t plaintext_size = 0;
  std::string description;
};

// Checks the body of a 200 answer to `operation` ("Encrypt", ... as in X-Amz-Target). nullopt
// when it holds, else what is wrong. Sets *out_sample (when not null) for answers that are
// checked again after the load: Encrypt, GenerateDataKey(WithoutPlaintext), ReEncrypt,
// CreateKey. Operations it does not know pass unchecked.
std::optional<std::string> CheckAnswer(std::string_view operation, const Expectation& expected,
                                       std::string_view body, std::optional<Sample>* out_sample);

// The request that checks a sample: its X-Amz-Target operation ("Decrypt" or "DescribeKey")
// and JSON body.
std::string SampleOperation(const Sample& sample);
std::string SampleRequestBody(const Sample& sample);

// Checks the 200 answer to SampleRequestBody(sample); nullopt when it holds.
std::optional<std::string> CheckSampleAnswer(const Sample& sample, std::string_view body);

}  // namespace scytale::loadgen

// The members of KMS JSON requests and answers that carry secrets, and how the codec keeps its
// copies of them out of freed memory. A request's plaintext, message or key store password and
// an answer's plaintext, data key or shared secret pass through nlohmann::json strings and the
// response body on their way between the wire and crypto::SecretBytes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace scytale::api::internal {

// A JSON string holding the base64 of `secret`, encoded straight into the string's own heap
// buffer: there is no temporary std::string, whose short-string buffer a move would copy and
// leave behind unwiped.
nlohmann::json SecretToBase64Json(const crypto::SecretBytes& secret);

// Overwrites (OPENSSL_cleanse) the string values of the members that carry secrets in a KMS
// request or answer object, the ones the AWS model marks sensitive: Plaintext,
// PrivateKeyPlaintext, SharedSecret, Message (Sign, Verify, GenerateMac, VerifyMac),
// KeyStorePassword and every string in XksProxyAuthenticationCredential. Their lengths stay;
// other members, and values that are not objects, are left alone.
void WipeSecretMembers(nlohmann::json& object);

// `value` serialized as dump(-1, ' ', false, error_handler_t::replace) does, into a string
// whose buffer is allocated once, at its final size. dump() grows its string by reallocation,
// and every buffer it outgrows is freed unwiped holding a prefix of the body, plaintext
// included.
std::string DumpSizedOnce(const nlohmann::json& value);

}  // namespace scytale::api::internal

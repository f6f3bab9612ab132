// Errors are values. Result<T> is std::expected<T, Error>; Status is Result<void>.
// Codes are Scytale's own; api/ alone maps them to AWS exception names and HTTP status.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace scytale {

enum class ErrorCode {
  kValidation,            // a member violates the service model (ValidationException)
  kSerialization,         // body is not the JSON the operation takes
  kUnknownOperation,      // X-Amz-Target names no operation
  kUnsupportedOperation,  // a valid request this server (or key) does not support
  kNotFound,
  kInvalidArn,
  kAlreadyExists,
  kDisabled,
  kInvalidState,
  kInvalidCiphertext,
  kIncorrectKey,
  kInvalidKeyUsage,
  kInvalidMarker,
  kInvalidGrantToken,
  kInvalidGrantId,
  kInvalidImportToken,     // ImportKeyMaterial: the token was not made here, for this key
  kExpiredImportToken,     // ImportKeyMaterial: the token's 24 hours have passed
  kIncorrectKeyMaterial,   // ImportKeyMaterial: not the key's material, or not valid for its spec
  kKmsInvalidSignature,  // Verify: the signature does not verify
  kKmsInvalidMac,        // VerifyMac: the MAC does not verify
  kMalformedPolicyDocument,
  kTag,
  kLimitExceeded,
  kAccessDenied,
  kDryRun,
  kMissingAuthenticationToken,
  kIncompleteSignature,
  kInvalidSignature,
  kUnrecognizedClient,
  kExpiredToken,
  kThrottling,
  kRequestTooLarge,
  kInternal,            // a bug or an environment failure (KMSInternalException)
  kDependencyTimeout,   // the store or keystore did not answer in time
  kKeyUnavailable,
  kCustomKeyStoreNotFound,
  kCustomKeyStoreInvalidState,  // the store's connection state forbids the operation
  kCustomKeyStoreNameInUse,
  kCustomKeyStoreHasCmks,
  kCloudHsmClusterNotFound,
  kCloudHsmClusterInUse,
  kCloudHsmClusterNotRelated,
  kIncorrectTrustAnchor,
  kInvalidAliasName,
  kConflict,  // a concurrent writer changed the row first (optimistic locking); retry
};

struct Error {
  ErrorCode code;
  std::string message;
};

template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result(Error e) : std::expected<T, Error>(std::unexpect, std::move(e)) {}  // NOLINT
};

using Status = Result<void>;

inline Status Ok() { return {}; }
inline Error MakeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace scytale

#define SCY_INTERNAL_CONCAT2(a, b) a##b
#define SCY_INTERNAL_CONCAT(a, b) SCY_INTERNAL_CONCAT2(a, b)

// Returns the error of `expr` (a Result or Status) from the enclosing function.
#define SCY_RETURN_IF_ERROR(expr)                    \
  do {                                               \
    auto&& scy_status_ = (expr);                     \
    if (!scy_status_.has_value()) {                  \
      return std::move(scy_status_).error();         \
    }                                                \
  } while (false)

// `SCY_ASSIGN_OR_RETURN(auto x, F())` binds x to F()'s value or returns its error.
#define SCY_ASSIGN_OR_RETURN(lhs, expr) \
  SCY_INTERNAL_ASSIGN_OR_RETURN(SCY_INTERNAL_CONCAT(scy_result_, __LINE__), lhs, expr)
#define SCY_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.has_value()) {                             \
    return std::move(tmp).error();                    \
  }                                                   \
  lhs = std::move(*tmp)

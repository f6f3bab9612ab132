#include <nlohmann/json.hpp>

#include "api/api.h"

namespace scytale::api {

// Status codes follow the KMS API Reference: 400 for every client error, 500 for the three
// server-side ones. SDKs dispatch on __type, never on the status.
AwsError ToAwsError(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidation:
      return {"ValidationException", 400};
    case ErrorCode::kSerialization:
      return {"SerializationException", 400};
    case ErrorCode::kUnknownOperation:
      return {"UnknownOperationException", 400};
    case ErrorCode::kUnsupportedOperation:
      return {"UnsupportedOperationException", 400};
    case ErrorCode::kNotFound:
      return {"NotFoundException", 400};
    case ErrorCode::kInvalidArn:
      return {"InvalidArnException", 400};
    case ErrorCode::kAlreadyExists:
      return {"AlreadyExistsException", 400};
    case ErrorCode::kDisabled:
      return {"DisabledException", 400};
    case ErrorCode::kInvalidState:
      return {"KMSInvalidStateException", 400};
    case ErrorCode::kInvalidCiphertext:
      return {"InvalidCiphertextException", 400};
    case ErrorCode::kIncorrectKey:
      return {"IncorrectKeyException", 400};
    case ErrorCode::kInvalidKeyUsage:
      return {"InvalidKeyUsageException", 400};
    case ErrorCode::kInvalidMarker:
      return {"InvalidMarkerException", 400};
    case ErrorCode::kInvalidGrantToken:
      return {"InvalidGrantTokenException", 400};
    case ErrorCode::kInvalidGrantId:
      return {"InvalidGrantIdException", 400};
    case ErrorCode::kInvalidImportToken:
      return {"InvalidImportTokenException", 400};
    case ErrorCode::kExpiredImportToken:
      return {"ExpiredImportTokenException", 400};
    case ErrorCode::kIncorrectKeyMaterial:
      return {"IncorrectKeyMaterialException", 400};
    case ErrorCode::kKmsInvalidSignature:
      return {"KMSInvalidSignatureException", 400};
    case ErrorCode::kKmsInvalidMac:
      return {"KMSInvalidMacException", 400};
    case ErrorCode::kMalformedPolicyDocument:
      return {"MalformedPolicyDocumentException", 400};
    case ErrorCode::kTag:
      return {"TagException", 400};
    case ErrorCode::kLimitExceeded:
      return {"LimitExceededException", 400};
    case ErrorCode::kAccessDenied:
      return {"AccessDeniedException", 400};
    case ErrorCode::kDryRun:
      return {"DryRunOperationException", 400};
    case ErrorCode::kMissingAuthenticationToken:
      return {"MissingAuthenticationTokenException", 400};
    case ErrorCode::kIncompleteSignature:
      return {"IncompleteSignatureException", 400};
    case ErrorCode::kInvalidSignature:
      return {"InvalidSignatureException", 400};
    case ErrorCode::kUnrecognizedClient:
      return {"UnrecognizedClientException", 400};
    case ErrorCode::kExpiredToken:
      return {"ExpiredTokenException", 400};
    case ErrorCode::kThrottling:
      return {"ThrottlingException", 400};
    case ErrorCode::kRequestTooLarge:
      return {"RequestEntityTooLargeException", 413};
    case ErrorCode::kInvalidAliasName:
      return {"InvalidAliasNameException", 400};
    case ErrorCode::kConflict:
      return {"ConflictException", 400};
    case ErrorCode::kCustomKeyStoreNotFound:
      return {"CustomKeyStoreNotFoundException", 400};
    case ErrorCode::kCustomKeyStoreInvalidState:
      return {"CustomKeyStoreInvalidStateException", 400};
    case ErrorCode::kCustomKeyStoreNameInUse:
      return {"CustomKeyStoreNameInUseException", 400};
    case ErrorCode::kCustomKeyStoreHasCmks:
      return {"CustomKeyStoreHasCMKsException", 400};
    case ErrorCode::kCloudHsmClusterNotFound:
      return {"CloudHsmClusterNotFoundException", 400};
    case ErrorCode::kCloudHsmClusterInUse:
      return {"CloudHsmClusterInUseException", 400};
    case ErrorCode::kCloudHsmClusterNotRelated:
      return {"CloudHsmClusterNotRelatedException", 400};
    case ErrorCode::kIncorrectTrustAnchor:
      return {"IncorrectTrustAnchorException", 400};
    case ErrorCode::kDependencyTimeout:
      return {"DependencyTimeoutException", 500};
    case ErrorCode::kKeyUnavailable:
      return {"KeyUnavailableException", 500};
    case ErrorCode::kInternal:
      break;
  }
  return {"KMSInternalException", 500};
}

JsonResponse ErrorResponse(const Error& error) {
  AwsError aws = ToAwsError(error.code);
  // An internal error's message may name files or library state; the client gets a fixed text
  // and the request id, the log gets the detail.
  std::string message = aws.status >= 500 ? "The request could not be processed because of an "
                                            "internal error. Try again later."
                                          : error.message;
  nlohmann::json body = {{"__type", aws.type}, {"message", message}};
  return {aws.status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

}  // namespace scytale::api

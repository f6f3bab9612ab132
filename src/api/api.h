// api/: the AWS JSON 1.1 codec of the KMS API. Turns an X-Amz-Target and a JSON body into a
// typed kms/ request, validated against the service model, and the typed answer (or error)
// back into AWS's JSON. Knows nothing of HTTP connections or SQL.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "kms/kms.h"

namespace scytale::api {

// What the audit record of a KMS call shows of it, as CloudTrail shows KMS calls: camelCase
// request members and response elements chosen per operation (api/audit_fields.cc), never
// plaintext, data keys, ciphertext blobs or key material.
struct AuditDetails {
  std::string event_name;
  nlohmann::json request_parameters;  // null or an object
  nlohmann::json response_elements;   // null or an object
  std::vector<std::string> resource_arns;
  bool read_only = false;
  std::string error_code;  // the AWS exception name; empty on success
  std::string error_message;
};

struct JsonResponse {
  int status = 200;
  std::string body;  // JSON; empty for operations without output
  std::optional<AuditDetails> audit{};  // set by KmsApi::Handle on every answer
};

// The AWS error name and HTTP status for an error code, e.g. kNotFound → NotFoundException,
// 400. Internal errors never carry their message to the client.
struct AwsError {
  std::string_view type;
  int status;
};
AwsError ToAwsError(ErrorCode code);
JsonResponse ErrorResponse(const Error& error);

class KmsApi {
 public:
  // `service` must outlive the codec.
  static Result<std::unique_ptr<KmsApi>> Create(kms::KeyService* service);
  virtual ~KmsApi() = default;

  // `target` is the X-Amz-Target header ("TrentService.CreateKey"). Never throws for bad
  // input. Thread-safe.
  virtual JsonResponse Handle(const kms::CallContext& ctx, std::string_view target,
                              std::string_view body) = 0;
  // The operation name of a target ("CreateKey"), or "" when it names none.
  virtual std::string OperationOf(std::string_view target) const = 0;
};

}  // namespace scytale::api

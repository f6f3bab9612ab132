// The per-operation choice of what an audit record shows of a KMS call (api/audit_fields.cc).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "common/result.h"
#include "kms/kms.h"

namespace scytale::api::internal {

// The audit view of one call: `operation` is the operation name (or, for an unknown one, the
// X-Amz-Target as sent); `in` the parsed request (null when it did not parse); `out` the
// response object before it was serialized (nullptr for errors); `error` the error answered
// (nullptr on success). Request members are copied only from an allowlist of non-secret
// members, so a new operation's Plaintext-like member never reaches the log.
AuditDetails AuditDetailsOf(std::string_view operation, const nlohmann::json& in,
                            const nlohmann::json* out, const kms::CallContext& ctx,
                            const Error* error);

}  // namespace scytale::api::internal

#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/internal/validator.h"

namespace scytale::api {
namespace {

using json = nlohmann::json;
using Handler = std::function<Result<json>(const kms::CallContext&, const json&)>;

constexpr std::string_view kTargetPrefix = "TrentService.";

std::optional<std::string> OptString(const json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

json MetadataToJson(const kms::KeyMetadata& m) {
  json out = {
      {"AWSAccountId", m.aws_account_id},
      {"KeyId", m.key_id},
      {"Arn", m.arn},
      {"CreationDate", m.creation_date},
      {"Enabled", m.enabled},
      {"Description", m.description},
      {"KeyUsage", m.key_usage},
      {"KeyState", m.key_state},
      {"Origin", m.origin},
      {"KeyManager", m.key_manager},
      {"CustomerMasterKeySpec", m.key_spec},
      {"KeySpec", m.key_spec},
      {"MultiRegion", m.multi_region},
  };
  if (m.deletion_date) {
    out["DeletionDate"] = *m.deletion_date;
  }
  if (!m.encryption_algorithms.empty()) {
    out["EncryptionAlgorithms"] = m.encryption_algorithms;
  }
  if (!m.current_key_material_id.empty()) {
    out["CurrentKeyMaterialId"] = m.current_key_material_id;
  }
  return out;
}

Result<json> CreateKey(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::CreateKeyRequest req;
  req.policy = OptString(in, "Policy");
  req.description = OptString(in, "Description");
  req.key_usage = OptString(in, "KeyUsage");
  req.customer_master_key_spec = OptString(in, "CustomerMasterKeySpec");
  req.key_spec = OptString(in, "KeySpec");
  req.origin = OptString(in, "Origin");
  req.custom_key_store_id = OptString(in, "CustomKeyStoreId");
  req.xks_key_id = OptString(in, "XksKeyId");
  req.bypass_policy_lockout_safety_check = in.value("BypassPolicyLockoutSafetyCheck", false);
  req.multi_region = in.value("MultiRegion", false);
  if (auto tags = in.find("Tags"); tags != in.end() && tags->is_array()) {
    for (const auto& t : *tags) {
      req.tags.push_back({t.at("TagKey").get<std::string>(), t.at("TagValue").get<std::string>()});
    }
  }
  SCY_ASSIGN_OR_RETURN(kms::KeyMetadata m, s->CreateKey(ctx, req));
  return json{{"KeyMetadata", MetadataToJson(m)}};
}

Result<json> DescribeKey(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  SCY_ASSIGN_OR_RETURN(kms::KeyMetadata m, s->DescribeKey(ctx, in.at("KeyId").get<std::string>()));
  return json{{"KeyMetadata", MetadataToJson(m)}};
}

Result<json> ListKeys(kms::KeyService* s, const kms::CallContext& ctx, const json& in) {
  kms::ListKeysRequest req;
  if (auto it = in.find("Limit"); it != in.end() && !it->is_null()) {
    req.limit = it->get<int>();
  }
  req.marker = OptString(in, "Marker");
  SCY_ASSIGN_OR_RETURN(kms::ListKeysResponse r, s->ListKeys(ctx, req));
  json keys = json::array();
  for (const auto& k : r.keys) {
    keys.push_back({{"KeyId", k.key_id}, {"KeyArn", k.key_arn}});
  }
  json out = {{"Keys", std::move(keys)}, {"Truncated", r.truncated}};
  if (r.next_marker) {
    out["NextMarker"] = *r.next_marker;
  }
  return out;
}

class KmsApiImpl : public KmsApi {
 public:
  KmsApiImpl(kms::KeyService* service, std::unique_ptr<internal::ModelValidator> validator)
      : validator_(std::move(validator)) {
    auto bind = [service](auto fn) -> Handler {
      return [service, fn](const kms::CallContext& ctx, const json& in) {
        return fn(service, ctx, in);
      };
    };
    handlers_["CreateKey"] = bind(CreateKey);
    handlers_["DescribeKey"] = bind(DescribeKey);
    handlers_["ListKeys"] = bind(ListKeys);
  }

  std::string OperationOf(std::string_view target) const override {
    if (!target.starts_with(kTargetPrefix)) {
      return "";
    }
    std::string op(target.substr(kTargetPrefix.size()));
    return validator_->HasOperation(op) ? op : "";
  }

  JsonResponse Handle(const kms::CallContext& ctx, std::string_view target,
                      std::string_view body) override {
    std::string op = OperationOf(target);
    if (op.empty()) {
      return ErrorResponse(MakeError(ErrorCode::kUnknownOperation,
                                     "The operation '" + std::string(target.substr(0, 128)) +
                                         "' is not known to this service."));
    }
    // AWS JSON 1.1 allows an empty body for an operation whose input is all optional.
    json in = body.empty() ? json::object()
                           : json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (in.is_discarded()) {
      return ErrorResponse(
          MakeError(ErrorCode::kSerialization, "The request body is not valid JSON."));
    }
    if (Status valid = validator_->Validate(op, in); !valid) {
      return ErrorResponse(valid.error());
    }
    auto handler = handlers_.find(op);
    if (handler == handlers_.end()) {
      return ErrorResponse(MakeError(ErrorCode::kUnsupportedOperation,
                                     op + " is not supported by this server yet."));
    }
    Result<json> out = handler->second(ctx, in);
    if (!out) {
      return ErrorResponse(out.error());
    }
    return {200, out->dump(-1, ' ', false, json::error_handler_t::replace)};
  }

 private:
  std::unique_ptr<internal::ModelValidator> validator_;
  std::map<std::string, Handler, std::less<>> handlers_;
};

}  // namespace

Result<std::unique_ptr<KmsApi>> KmsApi::Create(kms::KeyService* service) {
  SCY_ASSIGN_OR_RETURN(auto validator, internal::ModelValidator::Create());
  return std::unique_ptr<KmsApi>(std::make_unique<KmsApiImpl>(service, std::move(validator)));
}

}  // namespace scytale::api

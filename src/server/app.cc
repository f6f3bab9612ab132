#include "server/server.h"

namespace scytale::server {
namespace {

HttpResponse FromJson(const api::JsonResponse& r) {
  HttpResponse out;
  out.status = r.status;
  out.body = r.body;
  return out;
}

std::string_view HeaderOr(const HttpRequest& request, const std::string& name,
                          std::string_view fallback) {
  auto it = request.headers.find(name);
  return it == request.headers.end() ? fallback : std::string_view(it->second);
}

}  // namespace

App::App(auth::SigV4Verifier* verifier, api::KmsApi* kms_api)
    : verifier_(verifier), kms_api_(kms_api) {}

HttpResponse App::Handle(const HttpRequest& request, const std::string& request_id) const {
  std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  if (request.method == "GET" && path == "/healthz") {
    return HttpResponse{200, "application/json", R"({"status":"ok"})"};
  }
  if (request.method != "POST") {
    return FromJson(api::ErrorResponse(
        MakeError(ErrorCode::kUnknownOperation, "Only POST requests are served here.")));
  }
  auth::RequestView view{request.method, request.target, &request.headers, request.body};
  Result<auth::Identity> identity = verifier_->Verify(view);
  if (!identity) {
    return FromJson(api::ErrorResponse(identity.error()));
  }
  kms::CallContext ctx{identity->account_id, identity->region, identity->principal_arn,
                       request_id, request.remote_address, /*secure_transport=*/false};
  return FromJson(kms_api_->Handle(ctx, HeaderOr(request, "x-amz-target", ""), request.body));
}

}  // namespace scytale::server

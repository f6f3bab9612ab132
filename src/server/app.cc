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

HttpResponse FromQuery(const api::QueryResponse& r) {
  return HttpResponse{r.status, "text/xml", r.body};
}

// The signing name in the Authorization header's credential scope ("kms", "iam", "sts"), read
// before verification so that even an authentication failure is answered in the protocol the
// client speaks. "" when there is none.
std::string_view ScopeService(const HttpRequest& request) {
  auto it = request.headers.find("authorization");
  if (it == request.headers.end()) {
    return "";
  }
  std::string_view h = it->second;
  size_t end = h.find("/aws4_request");
  if (end == std::string_view::npos) {
    return "";
  }
  size_t start = h.rfind('/', end - 1);
  if (start == std::string_view::npos) {
    return "";
  }
  return h.substr(start + 1, end - start - 1);
}

}  // namespace

App::App(auth::SigV4Verifier* verifier, api::KmsApi* kms_api, api::QueryApi* query_api)
    : verifier_(verifier), kms_api_(kms_api), query_api_(query_api) {}

HttpResponse App::Handle(const HttpRequest& request, const std::string& request_id) const {
  std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  if (request.method == "GET" && path == "/healthz") {
    return HttpResponse{200, "application/json", R"({"status":"ok"})"};
  }
  const std::string_view scope_service = ScopeService(request);
  const bool query_protocol = scope_service == "iam" || scope_service == "sts";
  if (request.method != "POST" && !(query_protocol && request.method == "GET")) {
    return FromJson(api::ErrorResponse(
        MakeError(ErrorCode::kUnknownOperation, "Only POST requests are served here.")));
  }
  auth::RequestView view{request.method, request.target, &request.headers, request.body};
  Result<auth::Identity> identity = verifier_->Verify(view);
  if (!identity) {
    if (query_protocol) {
      return FromQuery(api::QueryErrorResponse(scope_service, identity.error(), request_id));
    }
    return FromJson(api::ErrorResponse(identity.error()));
  }
  if (identity->service == "iam" || identity->service == "sts") {
    size_t q = request.target.find('?');
    std::string_view query =
        q == std::string::npos ? std::string_view() : std::string_view(request.target).substr(q + 1);
    return FromQuery(query_api_->Handle({identity->account_id, identity->principal_arn},
                                        identity->service, query, request.body, request_id));
  }
  kms::CallContext ctx{identity->account_id, identity->region, identity->principal_arn,
                       request_id, request.remote_address, /*secure_transport=*/false};
  return FromJson(kms_api_->Handle(ctx, HeaderOr(request, "x-amz-target", ""), request.body));
}

}  // namespace scytale::server

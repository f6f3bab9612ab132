#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <ctime>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "common/encoding.h"
#include "common/json_text.h"
#include "server/quotas.h"
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

// Whether the request is a KMS data-plane call, which a node serves from the keys it caches
// (AppOptions::run_blocking).
bool ServedFromCache(const HttpRequest& request) {
  static const std::set<std::string, std::less<>> kOperations = {
      "TrentService.Encrypt",
      "TrentService.Decrypt",
      "TrentService.ReEncrypt",
      "TrentService.GenerateDataKey",
      "TrentService.GenerateDataKeyWithoutPlaintext",
      "TrentService.GenerateMac",
      "TrentService.VerifyMac",
      "TrentService.Sign",
      "TrentService.Verify",
      "TrentService.DescribeKey",
      "TrentService.GetPublicKey",
      "TrentService.GenerateRandom",
      "TrentService.DeriveSharedSecret",
  };
  auto it = request.headers.find("x-amz-target");
  return it != request.headers.end() && kOperations.contains(it->second);
}

// An answer known already.
Answer Ready(HttpResponse response) {
  return [response = std::move(response)]() mutable { return std::move(response); };
}

HttpResponse FromQuery(const api::QueryResponse& r) {
  return HttpResponse{r.status, "text/xml", r.body};
}

// The credential scope of the Authorization header, read before verification so that even an
// authentication failure is answered in the protocol the client speaks and recorded with the
// access key id and region it claimed. Empty members when there is none.
struct Scope {
  std::string_view access_key_id;
  std::string_view region;
  std::string_view service;  // "kms", "iam", "sts"
};

Scope ScopeOf(const HttpRequest& request) {
  auto it = request.headers.find("authorization");
  if (it == request.headers.end()) {
    return {};
  }
  std::string_view h = it->second;
  size_t cred = h.find("Credential=");
  size_t end = h.find("/aws4_request");
  if (cred == std::string_view::npos || end == std::string_view::npos || end < cred) {
    return {};
  }
  // Credential=AKID/20240501/us-east-1/kms/aws4_request
  std::string_view c = h.substr(cred + 11, end - cred - 11);
  Scope out;
  size_t a = c.find('/');
  size_t b = a == std::string_view::npos ? a : c.find('/', a + 1);
  size_t d = b == std::string_view::npos ? b : c.find('/', b + 1);
  if (d == std::string_view::npos) {
    return {};
  }
  out.access_key_id = c.substr(0, a);
  out.region = c.substr(b + 1, d - b - 1);
  out.service = c.substr(d + 1);
  return out;
}

std::string Printable(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

audit::UserIdentity IdentityOf(const auth::Identity& id) {
  audit::UserIdentity u;
  u.arn = id.principal_arn;
  u.account_id = id.account_id;
  u.access_key_id = id.access_key_id;
  std::string_view arn = id.principal_arn;
  size_t colon = arn.rfind(':');
  std::string_view resource = colon == std::string_view::npos ? arn : arn.substr(colon + 1);
  if (resource == "root") {
    u.type = "Root";
    u.principal_id = id.account_id;
  } else if (resource.starts_with("user/")) {
    u.type = "IAMUser";
    u.principal_id = std::string(resource.substr(resource.rfind('/') + 1));
  } else if (resource.starts_with("assumed-role/")) {
    // assumed-role/<role>/<session>; CloudTrail writes <role id>:<session>.
    u.type = "AssumedRole";
    std::string rest(resource.substr(13));
    std::replace(rest.begin(), rest.end(), '/', ':');
    u.principal_id = rest;
  } else {
    u.type = "Unknown";
  }
  return u;
}

// --- IAM and STS (query protocol) -----------------------------------------------------------

// Form parameters of the query string and the body; the first occurrence of a name wins, as in
// api::QueryApi.
std::map<std::string, std::string> FormParams(std::string_view query, std::string_view body) {
  std::map<std::string, std::string> out;
  for (std::string_view text : {query, body}) {
    while (!text.empty()) {
      size_t amp = text.find('&');
      std::string_view pair = text.substr(0, amp);
      text.remove_prefix(amp == std::string_view::npos ? text.size() : amp + 1);
      size_t eq = pair.find('=');
      std::string name = PercentDecode(pair.substr(0, eq), /*plus_is_space=*/true);
      std::string value =
          eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
      out.emplace(std::move(name), std::move(value));
    }
  }
  return out;
}

// IAM and STS request members that are recorded (CloudTrail's names, camelCase). Passwords,
// secret keys, MFA codes and external ids are not among them.
nlohmann::json QueryRequestParameters(const std::map<std::string, std::string>& params) {
  static const std::set<std::string, std::less<>> kRecorded = {
      "AccessKeyId",
      "AssumeRolePolicyDocument",
      "Description",
      "DurationSeconds",
      "Marker",
      "MaxItems",
      "MaxSessionDuration",
      "NewPath",
      "NewUserName",
      "Path",
      "PathPrefix",
      "PolicyArn",
      "PolicyDocument",
      "PolicyName",
      "RoleArn",
      "RoleName",
      "RoleSessionName",
      "Status",
      "UserName",
  };
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : params) {
    if (kRecorded.contains(k)) {
      std::string name = k;
      name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
      out[name] = v;
    }
  }
  return out.empty() ? nlohmann::json(nullptr) : out;
}

std::string XmlUnescape(std::string_view s) {
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool replaced = false;
    for (const auto& [entity, c] : kEntities) {
      if (s[i] == '&' && s.substr(i).starts_with(entity)) {
        out += c;
        i += entity.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      out += s[i];
    }
  }
  return out;
}

// The text of the first <tag>...</tag> of an XML document we wrote ourselves.
std::string XmlElement(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  size_t start = xml.find(open);
  if (start == std::string_view::npos) {
    return "";
  }
  start += open.size();
  size_t end = xml.find(close, start);
  return end == std::string_view::npos ? "" : XmlUnescape(xml.substr(start, end - start));
}

void DescribeQueryAnswer(const api::QueryResponse& r, audit::Event* event) {
  if (r.status >= 300) {
    event->error_code = XmlElement(r.body, "Code");
    event->error_message = XmlElement(r.body, "Message");
    return;
  }
  // CreateAccessKey and AssumeRole answer a secret too; only the key id is recorded.
  std::string key_id = XmlElement(r.body, "AccessKeyId");
  if (!key_id.empty()) {
    event->response_elements = {{"accessKeyId", key_id}};
  }
}

void DescribeError(const Error& error, audit::Event* event) {
  api::AwsError aws = api::ToAwsError(error.code);
  event->error_code = aws.type;
  event->error_message = aws.status >= 500 ? "internal error" : error.message;
}

std::string KmsEventName(const api::KmsApi& kms_api, std::string_view target) {
  std::string op = kms_api.OperationOf(target);
  if (!op.empty()) {
    return op;
  }
  constexpr std::string_view kPrefix = "TrentService.";
  if (target.starts_with(kPrefix)) {
    target.remove_prefix(kPrefix.size());
  }
  return target.empty() ? "Unknown" : Printable(target, 64);
}

std::string LogTime(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// One structured line on stderr, written before the call is answered. Never given secrets: ids,
// names, codes and timings only. A line goes out in one write(2), which Linux keeps whole
// against other writers of the same file (and a pipe, up to PIPE_BUF bytes), so the lines of
// concurrent requests do not interleave without a lock; only a longer line (or a write cut
// short) is written under one, so that its pieces stay together.
void WriteLogLine(std::string_view line) {
  if (line.size() <= PIPE_BUF) {
    ssize_t n;
    do {
      n = ::write(STDERR_FILENO, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0 || static_cast<size_t>(n) == line.size()) {
      return;  // written, or stderr is gone: nowhere to say so
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
  static std::mutex mu;
  std::lock_guard lock(mu);
  while (!line.empty()) {
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
}

void LogLine(LogLevel level, nlohmann::json fields) {
  fields["time"] = LogTime(std::chrono::system_clock::now());
  fields["level"] = LevelName(level);
  WriteLogLine(fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

// The internal error a call answers in its protocol (KMS JSON, or IAM/STS XML), its code put in
// `event`.
HttpResponse InternalErrorAnswer(const std::string& why, audit::Event* event) {
  Error internal = MakeError(ErrorCode::kInternal, why);
  if (event->event_source != "kms.amazonaws.com") {
    std::string service = event->event_source.substr(0, event->event_source.find('.'));
    HttpResponse r = FromQuery(api::QueryErrorResponse(service, internal, event->request_id));
    event->error_code = XmlElement(r.body, "Code");
    event->error_message = "internal error";
    return r;
  }
  event->error_code = "KMSInternalException";
  event->error_message = "internal error";
  return FromJson(api::ErrorResponse(internal));
}

}  // namespace

App::App(auth::SigV4Verifier* verifier, api::KmsApi* kms_api, api::QueryApi* query_api,
         AppOptions options)
    : verifier_(verifier), kms_api_(kms_api), query_api_(query_api), options_(std::move(options)) {}

HttpResponse App::Handle(const HttpRequest& request, const std::string& request_id) const {
  std::promise<HttpResponse> answered;
  std::future<HttpResponse> answer = answered.get_future();
  HandleAsync(request, request_id, [&answered](Answer answer) { answered.set_value(answer()); });
  return answer.get();
}

// A call between its service work and its answer: what Finish needs once the audit record is
// durable (or failed).
struct App::Pending {
  audit::Event event;
  HttpResponse response;
  std::string remote_address;
  std::chrono::steady_clock::time_point started;
  Reply reply;
};

void App::HandleAsync(const HttpRequest& request, const std::string& request_id,
                      Reply reply) const {
  std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  if (request.method == "GET" && path == "/healthz") {
    auto check = [this](Reply answer) {
      if (options_.health_check && !options_.health_check()) {
        // No detail: /healthz is unauthenticated, and the store's message names hosts.
        answer(Ready({503, "application/json", R"({"status":"unavailable","database":"down"})"}));
        return;
      }
      answer(Ready({200, "application/json", R"({"status":"ok"})"}));
    };
    if (options_.health_check && options_.run_blocking) {
      // The check may wait for the store to give up (about a second).
      options_.run_blocking(
          [check, reply = std::move(reply)]() mutable { check(std::move(reply)); });
    } else {
      check(std::move(reply));
    }
    return;
  }
  if (request.method == "GET" && path == "/metrics" && options_.metrics != nullptr) {
    std::optional<audit::Stats> stats;
    if (options_.audit != nullptr) {
      stats = options_.audit->GetStats();
    }
    std::optional<kms::ServiceStats> service;
    if (options_.key_service != nullptr) {
      service = options_.key_service->Stats();
    }
    reply(Ready(
        {200, "text/plain; version=0.0.4",
         options_.metrics->Render(stats ? &*stats : nullptr, service ? &*service : nullptr)}));
    return;
  }
  if (options_.run_blocking && !ServedFromCache(request)) {
    // The request is copied for the task (the caller's copy is gone when this returns); the
    // task wipes the body, which may carry a plaintext, once the call is served.
    auto copy = std::make_shared<HttpRequest>(request);
    options_.run_blocking(
        [this, copy = std::move(copy), request_id, reply = std::move(reply)]() mutable {
          Serve(*copy, request_id, std::move(reply));
          OPENSSL_cleanse(copy->body.data(), copy->body.size());
        });
    return;
  }
  Serve(request, request_id, std::move(reply));
}

void App::Serve(const HttpRequest& request, const std::string& request_id, Reply reply) const {
  auto pending = std::make_shared<Pending>();
  pending->started = std::chrono::steady_clock::now();
  pending->remote_address = request.remote_address;
  pending->reply = std::move(reply);
  audit::Event& event = pending->event;
  event.time = std::chrono::system_clock::now();
  event.source_ip = request.remote_address;
  event.user_agent = Printable(HeaderOr(request, "user-agent", ""), 1024);
  event.request_id = request_id;
  event.recipient_account_id = options_.account_id;
  try {
    pending->response = HandleCall(request, request_id, &event);
  } catch (const std::exception& e) {
    // A bug: answered and recorded as an internal error; the client learns nothing more.
    LogLine(LogLevel::kError, {{"msg", "internal error"},
                               {"requestId", request_id},
                               {"operation", event.event_name},
                               {"error", e.what()}});
    pending->response = InternalErrorAnswer("internal error", &event);
  }
  if (options_.audit == nullptr) {
    Reply answer_now = std::move(pending->reply);
    answer_now([this, pending] { return Finish(*pending, Ok()); });
    return;
  }
  // The record is serialized before AppendAsync returns; `event` stays readable by Finish. The
  // committer only hands the call back: Finish runs on the connection's thread.
  options_.audit->AppendAsync(event, [this, pending](Status recorded) {
    Reply answer_later = std::move(pending->reply);
    answer_later([this, pending, recorded = std::move(recorded)]() mutable {
      return Finish(*pending, std::move(recorded));
    });
  });
}

HttpResponse App::Finish(Pending& call, Status recorded) const {
  audit::Event& event = call.event;
  HttpResponse& response = call.response;
  const std::string& request_id = event.request_id;
  if (!recorded) {
    // Fail closed: no answer (and no plaintext) leaves without its durable record.
    LogLine(LogLevel::kError, {{"msg", "call refused: its audit record could not be written"},
                               {"requestId", request_id},
                               {"operation", event.event_name},
                               {"error", recorded.error().message}});
    OPENSSL_cleanse(response.body.data(), response.body.size());
    response = InternalErrorAnswer("the audit record could not be written", &event);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - call.started).count();
  const std::string outcome = audit::OutcomeOfErrorCode(event.error_code);
  if (options_.metrics != nullptr) {
    options_.metrics->ObserveRequest(event.event_name, outcome, seconds);
  }
  const LogLevel level = response.status >= 500 ? LogLevel::kError : LogLevel::kInfo;
  if (options_.request_log && level >= options_.log_level) {
    // Written directly (one per call): the members LogLine would write, in the same order.
    std::string line;
    line.reserve(384);
    JsonObjectWriter w(line);
    char duration[32];
    std::snprintf(duration, sizeof(duration), "%.3f", seconds * 1000);
    w.Key("durationMs").Raw(duration);
    if (!event.error_code.empty()) {
      w.Key("errorCode").String(event.error_code);
    }
    w.Key("level").String(LevelName(level));
    w.Key("msg").String("request");
    w.Key("operation").String(event.event_name);
    w.Key("outcome").String(outcome);
    if (event.user_identity) {
      w.Key("principal")
          .String(event.user_identity->arn.empty() ? event.user_identity->access_key_id
                                                   : event.user_identity->arn);
    }
    w.Key("remoteAddress").String(call.remote_address);
    w.Key("requestId").String(request_id);
    w.Key("service").String(
        std::string_view(event.event_source).substr(0, event.event_source.find('.')));
    w.Key("status").Int(response.status);
    w.Key("time").String(LogTime(std::chrono::system_clock::now()));
    w.End();
    line += '\n';
    WriteLogLine(line);
  }
  return std::move(response);
}

Status App::RecordMaintenance(const kms::MaintenanceReport& report) const {
  if (options_.audit == nullptr) {
    return Ok();
  }
  Status first = Ok();
  auto record = [&](std::string_view event_name, const std::string& arn) {
    Status s = options_.audit->Append(
        audit::KmsServiceEvent(event_name, arn, std::chrono::system_clock::now()));
    if (!s) {
      LogLine(LogLevel::kError, {{"msg", "the audit record of background work was not written"},
                                 {"operation", event_name},
                                 {"keyArn", arn},
                                 {"error", s.error().message}});
      if (first) {
        first = s;
      }
    }
  };
  for (const std::string& arn : report.deleted_key_arns) {
    record("DeleteKey", arn);
  }
  for (const std::string& arn : report.rotated_key_arns) {
    record("RotateKey", arn);
  }
  for (const std::string& arn : report.expired_material_key_arns) {
    record("DeleteExpiredKeyMaterial", arn);  // CloudTrail's name for this event
  }
  return first;
}

void App::RecordRejection(const Rejection& rejection) const {
  if (options_.metrics != nullptr) {
    options_.metrics->ObserveRejection(rejection.status);
  }
  if (options_.audit != nullptr) {
    audit::Event event;
    event.time = std::chrono::system_clock::now();
    event.event_name = "Unknown";  // the request was not read far enough to know
    event.source_ip = rejection.remote_address;
    event.request_id = rejection.request_id;
    event.recipient_account_id = options_.account_id;
    event.error_code = rejection.error_code;
    event.error_message = rejection.message;
    // Not waited for: the refusal changes nothing and carries nothing, and an I/O thread
    // waiting for an fsync per refused request would let a client sending garbage slow
    // everyone's calls. The record is still written (and its failure logged).
    options_.audit->AppendAsync(event, [request_id = rejection.request_id](Status s) {
      if (!s) {
        LogLine(LogLevel::kError,
                {{"msg", "the audit record of a rejected request was not written"},
                 {"requestId", request_id},
                 {"error", s.error().message}});
      }
    });
  }
  if (options_.request_log && LogLevel::kInfo >= options_.log_level) {
    LogLine(LogLevel::kInfo, {{"msg", "request"},
                              {"requestId", rejection.request_id},
                              {"operation", "Unknown"},
                              {"status", rejection.status},
                              {"outcome", "failure"},
                              {"errorCode", rejection.error_code},
                              {"remoteAddress", rejection.remote_address}});
  }
}

HttpResponse App::HandleCall(const HttpRequest& request, const std::string& request_id,
                             audit::Event* event) const {
  const Scope scope = ScopeOf(request);
  const bool query_protocol = scope.service == "iam" || scope.service == "sts";
  size_t q = request.target.find('?');
  std::string_view query =
      q == std::string::npos ? std::string_view() : std::string_view(request.target).substr(q + 1);
  std::map<std::string, std::string> params;
  event->aws_region = Printable(scope.region, 64);
  if (query_protocol) {
    event->event_source = std::string(scope.service) + ".amazonaws.com";
    params = FormParams(query, request.body);
    auto action = params.find("Action");
    event->event_name = action == params.end() ? "Unknown" : Printable(action->second, 64);
    event->read_only =
        event->event_name.starts_with("Get") || event->event_name.starts_with("List");
    event->request_parameters = QueryRequestParameters(params);
  } else {
    event->event_name = KmsEventName(*kms_api_, HeaderOr(request, "x-amz-target", ""));
    // As api/audit_fields.cc marks them, for calls that never reach the API (no identity).
    for (std::string_view prefix : {"Describe", "List", "Get", "Encrypt", "Decrypt", "ReEncrypt",
                                    "Generate", "Sign", "Verify", "DeriveSharedSecret"}) {
      event->read_only = event->read_only || event->event_name.starts_with(prefix);
    }
  }
  if (request.method != "POST" && !(query_protocol && request.method == "GET")) {
    Error error = MakeError(ErrorCode::kUnknownOperation, "Only POST requests are served here.");
    DescribeError(error, event);
    return FromJson(api::ErrorResponse(error));
  }
  auth::RequestView view{request.method, request.target, &request.headers, request.body};
  Result<auth::Identity> identity = verifier_->Verify(view);
  if (!identity) {
    event->user_identity =
        audit::UserIdentity{"Unknown", "", "", "", Printable(scope.access_key_id, 128)};
    if (query_protocol) {
      api::QueryResponse r = api::QueryErrorResponse(scope.service, identity.error(), request_id);
      DescribeQueryAnswer(r, event);
      return FromQuery(r);
    }
    DescribeError(identity.error(), event);
    return FromJson(api::ErrorResponse(identity.error()));
  }
  event->user_identity = IdentityOf(*identity);
  event->recipient_account_id = identity->account_id;
  event->aws_region = identity->region;
  if (identity->service == "iam" || identity->service == "sts") {
    api::QueryResponse r = query_api_->Handle({identity->account_id, identity->principal_arn},
                                              identity->service, query, request.body, request_id);
    DescribeQueryAnswer(r, event);
    return FromQuery(r);
  }
  if (options_.quotas != nullptr && !options_.quotas->Admit(identity->account_id, event->event_name,
                                                            std::chrono::steady_clock::now())) {
    Error error = MakeError(ErrorCode::kThrottling,
                            "You have exceeded the rate at which you may call KMS. Reduce the "
                            "frequency of your calls.");
    DescribeError(error, event);
    return FromJson(api::ErrorResponse(error));
  }
  kms::CallContext ctx{identity->account_id, identity->region,       identity->principal_arn,
                       request_id,           request.remote_address, request.secure};
  api::JsonResponse r = kms_api_->Handle(ctx, HeaderOr(request, "x-amz-target", ""), request.body);
  if (r.audit) {
    event->event_name = std::move(r.audit->event_name);
    event->request_parameters = std::move(r.audit->request_parameters);
    event->response_elements = std::move(r.audit->response_elements);
    event->resource_arns = std::move(r.audit->resource_arns);
    event->read_only = r.audit->read_only;
    event->error_code = std::move(r.audit->error_code);
    event->error_message = std::move(r.audit->error_message);
  }
  // Moved, not copied: the body may carry a plaintext, and the server wipes its one copy.
  return HttpResponse{r.status, "application/x-amz-json-1.1", std::move(r.body)};
}

}  // namespace scytale::server

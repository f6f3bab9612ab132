// The HTTP request path as a client reaches it: the bytes of one connection (a request, or
// several pipelined) through Beast's request parser with the server's limits and its conversion
// to HttpRequest (server/internal/http_request.h, the code the server runs), then into
// server::App as the server wires it (server/app.cc, cli/main.cc): /healthz, /metrics, SigV4,
// and the KMS JSON and IAM/STS query APIs behind it, on a temporary SQLite store, a soft
// keystore and an audit log kept in memory.
//
// Requests are served in order until one is incomplete or does not parse (the server answers
// 400, 413 or 431 itself and closes), or one asks for Connection: close.
//
// Signatures: the World's clock stands at 2026-11-28T14:20:00Z and its account's root key is
// AKIAIOSFODNN7EXAMPLE; the seeds are signed with them (fuzz/gen_http_seeds.py, botocore). A
// mutation breaks the signature, so a request whose Authorization header is "FUZZ-SIGN
// [service [region]]" (default kms us-east-1) is signed here, as a client signs, over every
// header it has (host and x-amz-date are added when absent): such inputs reach the APIs
// behind SigV4 whatever else they change.
//
// Invariants: Handle never throws; every answer has a status the APIs use on purpose (no
// KMSInternalException or InternalFailure on a healthy store) and a body of its content type
// (a JSON object naming its __type when it is a KMS error, an XML document); every call but
// GET /healthz and /metrics leaves exactly one audit record.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "api/api.h"
#include "api/iam_query.h"
#include "auth/auth.h"
#include "auth/internal/sigv4_internal.h"
#include "common/encoding.h"
#include "crypto/crypto.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/fuzz_world.h"
#include "fuzz/memory_env.h"
#include "iam/iam.h"
#include "keystore/keystore.h"
#include "server/internal/http_request.h"
#include "server/server.h"
#include "storage/caching_store.h"
#include "storage/storage.h"

namespace scytale::fuzz {
namespace {

namespace http = boost::beast::http;

constexpr char kAccountId[] = "111122223333";
constexpr char kAccessKeyId[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr int64_t kNow = 1795875600;  // 2026-11-28T14:20:00Z
constexpr char kAmzDate[] = "20261128T142000Z";
constexpr char kFuzzSign[] = "FUZZ-SIGN";
// Pipelined requests served per input, at most.
constexpr int kMaxRequests = 8;

struct World {
  std::unique_ptr<storage::CachingStore> store;
  std::unique_ptr<keystore::RootKeystore> root;
  std::shared_ptr<FakeClock> clock;
  std::unique_ptr<iam::Identities> identities;
  std::unique_ptr<iam::IamService> iam;
  std::unique_ptr<api::QueryApi> query_api;
  std::unique_ptr<kms::KeyService> service;
  std::unique_ptr<api::KmsApi> kms_api;
  std::unique_ptr<auth::SigV4Verifier> verifier;
  std::unique_ptr<audit::AuditLog> audit;
  server::Metrics metrics;
  std::unique_ptr<server::App> app;

  ~World() {
    app.reset();
    if (store) {
      store->RemoveObservers();
    }
  }
};

World& TheWorld() {
  static std::unique_ptr<World> world = [] {
    auto w = std::make_unique<World>();
    StoreAndRoot sqlite = OpenStoreAndRoot("fuzz-http");
    w->store = storage::CachingStore::Wrap(std::move(sqlite.store), {}).value();
    w->root = std::move(sqlite.root);
    w->clock = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(kNow));
    w->identities = std::make_unique<iam::Identities>(w->store.get(), w->root.get(), w->clock);
    if (!w->identities->BootstrapAccount(
            kAccountId,
            iam::RootCredentials{kAccessKeyId, crypto::SecretBytes(AsBytes(kSecret)), false})) {
      Fail("setup: BootstrapAccount");
    }
    w->iam = iam::IamService::Create(w->store.get(), w->root.get(), w->clock, w->identities.get());
    w->query_api = api::QueryApi::Create(w->iam.get());
    iam::IamService* iam_service = w->iam.get();
    w->service = kms::KeyService::Create(w->store.get(), w->root.get(), w->clock,
                                         [iam_service](const std::string& principal_arn) {
                                           return iam_service->IdentityPolicies(principal_arn);
                                         });
    kms::KeyService* key_service = w->service.get();
    w->store->AddObserver([iam_service, key_service](const storage::Change& change) {
      iam_service->OnStoreChange(change);
      key_service->OnStoreChange(change);
    });
    w->kms_api = api::KmsApi::Create(w->service.get()).value();
    iam::Identities* identities = w->identities.get();
    w->verifier = auth::SigV4Verifier::Create(
        [identities](std::string_view access_key_id) -> Result<auth::Credential> {
          SCY_ASSIGN_OR_RETURN(iam::AccessKey key,
                               identities->LookupAccessKey(std::string(access_key_id)));
          return auth::Credential{key.access_key_id, key.account_id, key.principal_arn,
                                  std::move(key.secret_access_key), key.session_token};
        },
        [](std::string_view region) { return region == "us-east-1" || region == "eu-west-1"; },
        w->clock, {"kms", "iam", "sts"});

    audit::LogOptions log;
    log.dir = "/audit";
    log.signing_key_path = "/audit-signing.key";
    log.root = w->root.get();
    log.env = std::make_shared<MemoryEnv>(/*keep_appends=*/false);
    log.clock = w->clock;
    log.digest_interval = std::chrono::seconds(0);
    w->audit = audit::AuditLog::Open(log).value();

    server::AppOptions options{w->audit.get(), kAccountId, &w->metrics};
    options.key_service = w->service.get();
    storage::CachingStore* store = w->store.get();
    options.health_check = [store] { return store->Ping(); };
    w->app = std::make_unique<server::App>(w->verifier.get(), w->kms_api.get(), w->query_api.get(),
                                           std::move(options));

    // Keys the seeds name by alias.
    kms::CallContext ctx{kAccountId, "us-east-1", iam::RootArn(kAccountId), "setup"};
    CreateFuzzKeys(*w->kms_api, ctx);
    return w;
  }();
  return *world;
}

// SigV4's split of a request-target into path and query (auth/sigv4.cc SplitTarget): an
// absolute-form target is reduced to its path, a fragment dropped.
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    std::string head(target.substr(0, scheme.size()));
    for (char& c : head) {
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (head == scheme) {
      target.remove_prefix(scheme.size());
      size_t path_start = target.find_first_of("/?");
      target =
          path_start == std::string_view::npos ? std::string_view() : target.substr(path_start);
      break;
    }
  }
  target = target.substr(0, target.find('#'));
  size_t question = target.find('?');
  if (question == std::string_view::npos) {
    return {target, {}};
  }
  return {target.substr(0, question), target.substr(question + 1)};
}

// Replaces "Authorization: FUZZ-SIGN [service [region]]" with a valid SigV4 signature of the
// request as it stands, signing every header.
void SignForFuzzing(server::HttpRequest& request) {
  auto auth_header = request.headers.find("authorization");
  if (auth_header == request.headers.end() || !auth_header->second.starts_with(kFuzzSign)) {
    return;
  }
  std::string_view rest = std::string_view(auth_header->second).substr(sizeof(kFuzzSign) - 1);
  auto word = [&rest](std::string_view fallback) {
    while (!rest.empty() && rest.front() == ' ') {
      rest.remove_prefix(1);
    }
    std::string_view w = rest.substr(0, rest.find(' '));
    rest.remove_prefix(w.size());
    return std::string(w.empty() ? fallback : w);
  };
  const std::string service = word("kms");
  const std::string region = word("us-east-1");
  request.headers.erase(auth_header);
  if (!request.headers.contains("host")) {
    request.headers.emplace("host", "localhost");
  }
  if (!request.headers.contains("x-amz-date")) {
    request.headers.emplace("x-amz-date", kAmzDate);
  }
  std::string amz_date = auth::internal::TrimAll(request.headers.find("x-amz-date")->second);
  const std::string date = amz_date.substr(0, 8);

  std::string signed_headers;
  std::string canonical_headers;
  for (const auto& [name, value] : request.headers) {  // sorted by name, one entry each
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
    canonical_headers += name + ":" + auth::internal::TrimAll(value) + "\n";
  }
  auto [path, query] = SplitTarget(request.target);
  const std::string canonical_request =
      request.method + "\n" + auth::internal::CanonicalUri(path) + "\n" +
      auth::internal::CanonicalQueryString(auth::internal::ParseQuery(query)) + "\n" +
      canonical_headers + "\n" + signed_headers + "\n" +
      HexEncode(crypto::Sha256(AsBytes(request.body)));
  const std::string scope = date + "/" + region + "/" + service + "/aws4_request";
  const std::string string_to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" +
                                     HexEncode(crypto::Sha256(AsBytes(canonical_request)));
  crypto::SecretBytes key = auth::internal::DeriveSigningKey(crypto::SecretBytes(AsBytes(kSecret)),
                                                             date, region, service);
  const std::string signature = HexEncode(
      crypto::HmacSha256(key.Reveal(crypto::KeyAccess::Grant()), AsBytes(string_to_sign)));
  request.headers.emplace("authorization",
                          "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKeyId) + "/" + scope +
                              ", SignedHeaders=" + signed_headers + ", Signature=" + signature);
}

[[noreturn]] void FailWith(const char* what, const server::HttpResponse& response) {
  std::fprintf(stderr, "status %d, %s: %s\n", response.status, response.content_type.c_str(),
               response.body.c_str());
  Fail(what);
}

void CheckResponse(const server::HttpRequest& request, const server::HttpResponse& response) {
  static const std::set<int> kStatuses = {200, 400, 403, 404, 409, 413, 500};
  if (!kStatuses.contains(response.status)) {
    FailWith("unexpected HTTP status", response);
  }
  if (response.content_type == "application/x-amz-json-1.1") {
    if (response.body.empty()) {
      if (response.status != 200) {
        FailWith("KMS error without a body", response);
      }
      return;
    }
    auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      FailWith("KMS answer is not a JSON object", response);
    }
    if (response.status == 200) {
      return;
    }
    if (!body.contains("__type") || !body["__type"].is_string()) {
      FailWith("KMS error without __type", response);
    }
    // KMS's deliberate 500s are about custom key stores; anything else is a bug.
    std::string type = body["__type"];
    if (response.status == 500 && type != "KeyUnavailableException" &&
        type != "DependencyTimeoutException") {
      FailWith("KMS internal error on a healthy store", response);
    }
  } else if (response.content_type == "text/xml") {
    if (!response.body.starts_with("<")) {
      FailWith("IAM/STS answer is not an XML document", response);
    }
    if (response.status == 500) {
      FailWith("IAM/STS internal error on a healthy store", response);
    }
  } else if (response.content_type == "application/json") {
    if (response.status != 200 || !request.target.starts_with("/healthz") ||
        nlohmann::json::parse(response.body, nullptr, false) != nlohmann::json{{"status", "ok"}}) {
      FailWith("unexpected health answer", response);
    }
  } else if (response.content_type != "text/plain; version=0.0.4" ||
             !request.target.starts_with("/metrics")) {
    FailWith("unexpected content type", response);
  }
}

}  // namespace
}  // namespace scytale::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scytale;
  using namespace scytale::fuzz;
  World& world = TheWorld();
  static const server::ServerOptions kServerDefaults;
  std::string_view rest = AsText(data, size);
  for (int n = 0; n < kMaxRequests && !rest.empty(); ++n) {
    // As the server reads a request, given all of the connection's bytes at once.
    server::internal::BeastRequestParser parser;
    server::internal::ApplyRequestLimits(kServerDefaults, parser);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec == http::error::need_more && used > 0) {
        ec = {};
        continue;
      }
      if (ec == http::error::need_more) {
        parser.put_eof(ec);  // no more bytes will come
      }
      if (ec || used == 0) {
        break;
      }
    }
    if (ec || !parser.is_done()) {
      return 0;  // answered by the server itself, which then closes
    }
    const bool keep_alive = parser.get().keep_alive();
    server::HttpRequest request =
        server::internal::ToHttpRequest(parser.get(), "127.0.0.1", /*secure=*/false);
    SignForFuzzing(request);
    const uint64_t records_before = world.audit->GetStats().records;
    server::HttpResponse response = world.app->Handle(request, "fuzz-" + std::to_string(n));
    CheckResponse(request, response);
    std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
    const bool unaudited = request.method == "GET" && (path == "/healthz" || path == "/metrics");
    if (world.audit->GetStats().records != records_before + (unaudited ? 0 : 1)) {
      Fail(unaudited ? "an audit record for /healthz or /metrics"
                     : "a call without exactly one audit record");
    }
    if (!keep_alive) {
      return 0;
    }
  }
  return 0;
}

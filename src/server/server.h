// server/: the HTTP/1.1 listener (Boost.Beast over Asio) and the pure request handler.
//
// HttpServer owns sockets, timeouts and limits and knows nothing of KMS; App turns one parsed
// request into one response (health, SigV4, the KMS JSON API) and knows nothing of sockets.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "api/iam_query.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "common/result.h"
#include "kms/kms.h"

namespace scytale::server {

struct HttpRequest {
  std::string method;
  std::string target;
  std::multimap<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string remote_address;
  bool secure = false;  // it came over TLS (aws:SecureTransport)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/x-amz-json-1.1";
  std::string body;
};

// The request handler: never throws for bad input; thread-safe.
using Handler = std::function<HttpResponse(const HttpRequest&, const std::string& request_id)>;

// An answer the connection computes on its own thread once the handler's work is done (e.g.
// metrics and the request log of a call whose audit record is now durable).
using Answer = std::move_only_function<HttpResponse()>;
// How an asynchronous handler answers: called exactly once, from any thread, at once or later;
// it only hands `answer` to the connection's thread, so it is cheap where it is called.
using Reply = std::move_only_function<void(Answer answer)>;
// The asynchronous request handler: answers through `reply` (e.g. once the call's audit record
// is durable), so that no server thread waits for it. It must not keep a reference to the
// request after it returns. Never throws for bad input (if it throws, it has not replied);
// thread-safe.
using AsyncHandler =
    std::function<void(const HttpRequest&, const std::string& request_id, Reply reply)>;

// A request the server answered itself, before (or instead of) the Handler: the request was not
// HTTP/1.1 (400), its header was too large (431) or its body (413).
struct Rejection {
  int status = 0;
  std::string error_code;  // the __type answered, e.g. RequestEntityTooLargeException
  std::string message;
  std::string remote_address;
  std::string request_id;  // the x-amzn-RequestId answered
};

class Metrics;

// The server's certificate chain and private key, PEM files (the chain: the leaf first, then
// the intermediates). Read at Create and again at each HttpServer::ReloadTls.
struct TlsOptions {
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
};

struct ServerOptions {
  // An IP address, or "localhost" (127.0.0.1). Without tls only loopback addresses are
  // accepted unless insecure_listen: requests carry signed calls and plaintexts in the clear.
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port
  int threads = 2;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  // A keep-alive connection may wait this long for its next request.
  std::chrono::seconds idle_timeout{60};
  // Once a request's first byte has arrived, all of it must arrive within this time.
  std::chrono::seconds read_timeout{10};
  // On Stop, in-flight requests get this long to finish before connections are cut.
  std::chrono::seconds drain_timeout{15};
  // When set, the server speaks only HTTPS: TLS 1.2 (ECDHE with AES-GCM or ChaCha20-Poly1305)
  // and TLS 1.3, no compression, no renegotiation.
  std::optional<TlsOptions> tls{};
  // A TLS client must finish its handshake within this time of connecting.
  std::chrono::seconds handshake_timeout{10};
  // Plain HTTP beyond loopback (e.g. behind a proxy that terminates TLS).
  bool insecure_listen = false;
  // Connections past either limit are closed as soon as they are accepted (counted in metrics).
  size_t max_connections = 4096;
  size_t max_connections_per_ip = 256;
  // Optional: counts connections (open, refused) and TLS handshakes. Must outlive the server.
  Metrics* metrics = nullptr;
  // Optional: told of every Rejection before it is answered, on the connection's thread (it
  // may block, as the Handler may). The App records them in the audit log.
  std::function<void(const Rejection&)> on_rejected{};
};

// What HttpServer::Create checks before it binds: the listen address (loopback only without
// TLS, unless insecure_listen) and, with TLS, that the certificate and key load and match.
// Lets a caller refuse bad options before it opens anything else.
Status CheckServerOptions(const ServerOptions& options);

class HttpServer {
 public:
  // Binds and listens (so port() is known), but serves nothing until Run(). Fails with
  // CheckServerOptions's errors, or when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Create(const ServerOptions& options,
                                                    AsyncHandler handler);
  // A handler that answers before it returns.
  static Result<std::unique_ptr<HttpServer>> Create(const ServerOptions& options, Handler handler);
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;
  // Serves on options.threads threads until Stop() and the drain finish. Call once.
  virtual void Run() = 0;
  // Stops accepting, lets in-flight requests finish, closes idle connections. Thread-safe and
  // async-signal-unsafe: call from a normal thread (main uses an asio::signal_set).
  virtual void Stop() = 0;
  // With TLS: reads the certificate and key files again; handshakes that start afterwards use
  // them, established connections keep theirs. When the files do not load (or do not match),
  // the error is returned and the current certificate stays. Answers the certificate now served
  // (as TlsDescription). Without TLS: kInvalidState. Thread-safe.
  virtual Result<std::string> ReloadTls() = 0;
  // The certificate served: subject, serial (hex) and expiry; "" without TLS. Thread-safe.
  virtual std::string TlsDescription() const = 0;
};

// Prometheus counters and histograms of the requests served. Thread-safe.
class Metrics {
 public:
  static constexpr std::array<double, 12> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,   0.5,   1,    2.5,   10};
  // Operation names come from requests; past this many distinct ones, new names count as
  // "other", so a client cannot grow the series without bound.
  static constexpr size_t kMaxOperations = 256;

  void ObserveRequest(const std::string& operation, const std::string& outcome, double seconds);
  // A request refused by the HTTP layer (413, 431, 400), counted by status.
  void ObserveRejection(int status);
  // Connections: accepted and served, closed (every accepted one ends so), or closed at once
  // because a limit was reached ("max_connections", "max_connections_per_ip").
  void ObserveConnectionOpened();
  void ObserveConnectionClosed();
  void ObserveConnectionRefused(std::string_view limit);
  // TLS handshakes by outcome: the version negotiated ("TLSv1.3"), or "failed", "timeout".
  void ObserveTlsHandshake(std::string_view outcome);
  // Certificate reloads (SIGHUP), "success" or "failure".
  void ObserveTlsReload(bool ok);
  // The text exposition format (version 0.0.4) of the request series and, when given, the
  // audit log's (records, fsyncs and their latency, batch sizes, failures, digests) and the key
  // service's (backing-key cache hits and misses, keys by state).
  std::string Render(const audit::Stats* audit, const kms::ServiceStats* service = nullptr) const;

 private:
  struct Latency {
    uint64_t count = 0;
    double sum = 0;
    std::array<uint64_t, kLatencyBounds.size() + 1> buckets{};
  };
  // The request series are kept in shards, so that concurrent calls take no common lock: a
  // thread counts into one shard (picked once per thread) and Render adds the shards up. The
  // operation-name bound applies per shard.
  struct OperationSeries {
    std::map<std::string, uint64_t, std::less<>> outcomes;
    Latency latency;
  };
  using OperationMap = std::map<std::string, OperationSeries, std::less<>>;
  struct alignas(64) RequestShard {
    std::mutex mu;
    OperationMap operations;
  };
  static constexpr size_t kShards = 16;
  mutable std::array<RequestShard, kShards> shards_;
  // The other series: rare events (connections, rejections, TLS).
  mutable std::mutex mu_;
  std::map<int, uint64_t> rejections_;
  int64_t connections_open_ = 0;
  uint64_t connections_accepted_ = 0;
  std::map<std::string, uint64_t, std::less<>> connections_refused_;
  std::map<std::string, uint64_t, std::less<>> tls_handshakes_;
  std::map<bool, uint64_t> tls_reloads_;
};

enum class LogLevel { kDebug, kInfo, kWarn, kError };

class RequestQuotas;  // quotas.h

struct AppOptions {
  // Where every call is recorded before it is answered; nullptr records nothing (unit tests).
  audit::AuditLog* audit = nullptr;
  // recipientAccountId of records whose caller is unknown (failed authentication).
  std::string account_id{};
  Metrics* metrics = nullptr;  // when set, GET /metrics serves it
  // When set (with metrics), /metrics also shows its Stats(). Must outlive the App.
  const kms::KeyService* key_service = nullptr;
  // One JSON line per request on stderr: 5xx at error, others at info; nothing below the level.
  LogLevel log_level = LogLevel::kInfo;
  bool request_log = false;
  // When set, GET /healthz answers 503 {"status":"unavailable","database":"down"} while it
  // fails (the store cannot be reached), so a load balancer sends calls to other nodes. It may
  // block for as long as the store takes to give up (about a second when the server is down).
  std::function<Status()> health_check{};
  // When set, KMS calls past their account's request quota answer ThrottlingException (400)
  // before they reach the service (they are still audited, as CloudTrail records throttled
  // calls). Must outlive the App.
  RequestQuotas* quotas = nullptr;
  // When set, every call but the data-plane operations a node serves from its cache (Encrypt,
  // Decrypt, ReEncrypt, GenerateDataKey*, GenerateMac, VerifyMac, Sign, Verify, DescribeKey,
  // GetPublicKey, GenerateRandom, DeriveSharedSecret) is served by a task given to it, e.g. a
  // thread pool's: those may wait on the store (a commit) or on an HSM, and the server's few
  // I/O threads must not. Unset: every call is served on the calling thread.
  std::function<void(std::move_only_function<void()>)> run_blocking{};
};

// The application: /healthz (200 {"status":"ok"}, or 503 while AppOptions::health_check fails),
// SigV4 verification, then the API of the service the request was signed for: KMS (AWS JSON 1.1),
// or IAM and STS (query protocol, XML). Every call but /healthz is recorded in the audit log,
// allowed, denied, failed or unauthenticated, and answered only once its record is durable; when
// the record cannot be written the call answers KMSInternalException (500) (InternalFailure for IAM
// and STS) instead.
class App {
 public:
  // All must outlive the App.
  App(auth::SigV4Verifier* verifier, api::KmsApi* kms_api, api::QueryApi* query_api,
      AppOptions options = {});
  // Does the call's work before it returns, then answers through `reply` once the call's audit
  // record is durable: from the audit log's committer thread (AuditLog::AppendAsync), or before
  // returning when there is no audit log or the request is /healthz or /metrics.
  void HandleAsync(const HttpRequest& request, const std::string& request_id, Reply reply) const;
  // HandleAsync, waiting for the answer.
  HttpResponse Handle(const HttpRequest& request, const std::string& request_id) const;
  // Records, as CloudTrail does, what background maintenance did by itself: an AwsServiceEvent
  // DeleteKey per key destroyed after its waiting period and RotateKey per automatic rotation.
  // The work is already done, so a record that cannot be written is logged (error) and the
  // first such failure returned; the others are still tried. Thread-safe.
  Status RecordMaintenance(const kms::MaintenanceReport& report) const;
  // Records a request the HTTP layer refused (ServerOptions::on_rejected): eventName Unknown,
  // its error code and message, no identity. Returns without waiting for the record to be
  // durable (the refusal is answered at once); failures are logged. Thread-safe.
  void RecordRejection(const Rejection& rejection) const;

 private:
  struct Pending;
  // HandleAsync past /healthz and /metrics, on the thread that serves the call.
  void Serve(const HttpRequest& request, const std::string& request_id, Reply reply) const;
  // The answer of a call whose record is written (or failed: the call then answers an
  // internal error instead); counts it in the metrics and logs it.
  HttpResponse Finish(Pending& call, Status recorded) const;
  // Serves one call and describes it in `event` (everything but the time, source and ids).
  HttpResponse HandleCall(const HttpRequest& request, const std::string& request_id,
                          audit::Event* event) const;

  auth::SigV4Verifier* verifier_;
  api::KmsApi* kms_api_;
  api::QueryApi* query_api_;
  AppOptions options_;
};

}  // namespace scytale::server

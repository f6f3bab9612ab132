// scytale-loadgen: an HTTP load generator for Scytale's KMS API (bench/run_load.sh runs it).
//
// N keep-alive connections on one or a few threads (one io_context each) send SigV4-signed AWS
// KMS JSON 1.1 requests back to back, each connection one request at a time (closed loop), and
// the latency of every request is kept, so the percentiles are exact. Requests are signed ahead
// of time: a pool of signed requests per endpoint and operation, replayed (the server accepts a
// signature for 5 minutes) and signed again every --resign-seconds, so the client spends its
// time on HTTP rather than on SHA-256. Every response's status is checked; a non-200 is counted
// by its __type and is not a success.
//
// At set-up it creates the keys the operation mix needs (symmetric, ECC_NIST_P256 for Sign,
// HMAC_256 for GenerateMac) and the ciphertexts Decrypt and ReEncrypt need, through the API.
// --key-ids-file uses existing symmetric keys instead of creating them (e.g. a hot set of the
// keys bench/preload_keys.cc wrote). --skip-setup signs requests with placeholder keys instead:
// for a baseline server (nginx answering a fixed 200) that does not look at them.
//
// --verify also checks what each 200 holds (bench/loadgen_check.h): the plaintext Decrypt gives
// back, the key each answer names, Sign's signature (with the key's public key), GenerateMac's
// tag (against one asked for at set-up); and keeps a uniform sample of ciphertexts and created
// keys, decrypted and described after the load. A wrong answer is an error of its operation
// ("200 wrong answer: ..."); with any, the exit status is 3.
//
// Output: a text table, and with --json FILE ("-": stdout) the same figures as JSON.
#include <openssl/crypto.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/result.h"
#include "crypto/asymmetric.h"
#include "crypto/crypto.h"
#include "loadgen_check.h"
#include "loadgen_signer.h"

namespace scytale::loadgen {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Operations

enum class Op : uint8_t {
  kEncrypt,
  kDecrypt,
  kGenerateDataKey,
  kGenerateDataKeyWithoutPlaintext,
  kReEncrypt,
  kSign,
  kGenerateMac,
  kCreateKey,
  kDescribeKey,
};
constexpr std::array<std::string_view, 9> kOpNames = {
    "Encrypt", "Decrypt",     "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
    "ReEncrypt", "Sign",      "GenerateMac",     "CreateKey",
    "DescribeKey"};
constexpr size_t kNumOps = kOpNames.size();

std::string_view OpName(Op op) { return kOpNames[static_cast<size_t>(op)]; }

std::optional<Op> OpFromName(std::string_view name) {
  for (size_t i = 0; i < kNumOps; ++i) {
    if (kOpNames[i] == name) {
      return static_cast<Op>(i);
    }
  }
  return std::nullopt;
}

std::string Target(Op op) { return "TrentService." + std::string(OpName(op)); }

struct MixEntry {
  Op op;
  double weight;
};

// "Encrypt" or "Encrypt=3,Decrypt=1": operations and their relative weights.
Result<std::vector<MixEntry>> ParseMix(std::string_view text) {
  std::vector<MixEntry> mix;
  std::stringstream in{std::string(text)};
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) {
      continue;
    }
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    std::optional<Op> op = OpFromName(name);
    if (!op) {
      return MakeError(ErrorCode::kValidation, "unknown operation in --mix: " + name);
    }
    double weight = 1;
    if (eq != std::string::npos) {
      char* end = nullptr;
      weight = std::strtod(item.c_str() + eq + 1, &end);
      if (end == item.c_str() + eq + 1 || *end != '\0' || !(weight > 0)) {
        return MakeError(ErrorCode::kValidation, "bad weight in --mix: " + item);
      }
    }
    mix.push_back({*op, weight});
  }
  if (mix.empty()) {
    return MakeError(ErrorCode::kValidation, "--mix names no operation");
  }
  return mix;
}

bool MixHas(const std::vector<MixEntry>& mix, std::initializer_list<Op> ops) {
  return std::any_of(mix.begin(), mix.end(), [&](const MixEntry& e) {
    return std::find(ops.begin(), ops.end(), e.op) != ops.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Endpoints and credentials

struct Endpoint {
  std::string url;  // as given
  std::string host;
  std::string port;
  std::string host_header;  // "host:port", what is signed
  tcp::resolver::results_type addresses;
};

// "http://127.0.0.1:8080" or "127.0.0.1:8080". TLS is not spoken.
Result<Endpoint> ParseEndpoint(const std::string& url) {
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    return MakeError(ErrorCode::kValidation, "https is not supported: " + url);
  }
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  }
  while (rest.ends_with('/')) {
    rest.remove_suffix(1);
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == rest.size() || colon == 0) {
    return MakeError(ErrorCode::kValidation, "endpoint needs HOST:PORT: " + url);
  }
  Endpoint e;
  e.url = url;
  e.host = std::string(rest.substr(0, colon));
  e.port = std::string(rest.substr(colon + 1));
  e.host_header = std::string(rest);
  if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']') {
    e.host = e.host.substr(1, e.host.size() - 2);
  }
  return e;
}

std::string Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) {
    return "";
  }
  const size_t end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

// One profile of an AWS shared credentials file (the format of the admin-credentials file the
// server writes in its data directory).
Result<SigningCredentials> ReadSharedCredentials(const std::string& path,
                                                 const std::string& profile) {
  std::ifstream in(path);
  if (!in) {
    return MakeError(ErrorCode::kNotFound, "cannot read " + path);
  }
  std::map<std::string, std::string> values;
  std::string line;
  bool in_profile = false;
  while (std::getline(in, line)) {
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') {
      continue;
    }
    if (t.front() == '[' && t.back() == ']') {
      in_profile = Trim(t.substr(1, t.size() - 2)) == profile;
      continue;
    }
    const size_t eq = t.find('=');
    if (in_profile && eq != std::string::npos) {
      values[Trim(t.substr(0, eq))] = Trim(t.substr(eq + 1));
    }
  }
  if (values["aws_access_key_id"].empty() || values["aws_secret_access_key"].empty()) {
    return MakeError(ErrorCode::kNotFound, "no aws_access_key_id and aws_secret_access_key in [" +
                                               profile + "] of " + path);
  }
  SigningCredentials c{values["aws_access_key_id"],
                       crypto::SecretBytes(AsBytes(values["aws_secret_access_key"])),
                       values["aws_session_token"]};
  OPENSSL_cleanse(values["aws_secret_access_key"].data(), values["aws_secret_access_key"].size());
  return c;
}

// Key ids, one a line (blank lines skipped). kNotFound for an unreadable file; kValidation for
// one with no id.
Result<std::vector<std::string>> ReadKeyIds(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return MakeError(ErrorCode::kNotFound, "cannot read " + path);
  }
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) {
    std::string id = Trim(line);
    if (!id.empty()) {
      ids.push_back(std::move(id));
    }
  }
  if (ids.empty()) {
    return MakeError(ErrorCode::kValidation, path + " holds no key id");
  }
  return ids;
}

int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Set-up through the API: one blocking keep-alive connection.

class BlockingClient {
 public:
  BlockingClient(const Endpoint& endpoint, RequestSigner* signer)
      : endpoint_(endpoint), signer_(signer), socket_(io_) {}

  // The response's JSON on 200; otherwise an error naming the status and __type.
  Result<json> Call(Op op, const json& request) { return Call(OpName(op), request.dump()); }

  // `operation`: any KMS operation ("GetPublicKey"), `body` its JSON. A ThrottlingException
  // (a server with --request-quotas: CreateKey is 5 a second there) is retried, as the SDKs
  // do, for up to a minute.
  Result<json> Call(std::string_view operation, const std::string& body) {
    for (int attempt = 0;; ++attempt) {
      bool throttled = false;
      Result<json> out = CallOnce(operation, body, &throttled);
      if (!throttled || attempt == 240) {
        return out;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

 private:
  Result<json> CallOnce(std::string_view operation, const std::string& body, bool* out_throttled) {
    const std::string bytes = signer_->SignedKmsRequestBytes(
        endpoint_.host_header, "TrentService." + std::string(operation), body, WallSeconds());
    beast::error_code ec;
    for (int attempt = 0; attempt < 2; ++attempt) {  // once more on a closed keep-alive
      if (!socket_.is_open()) {
        asio::connect(socket_, endpoint_.addresses, ec);
        if (ec) {
          return MakeError(ErrorCode::kInternal,
                           "cannot connect to " + endpoint_.url + ": " + ec.message());
        }
      }
      asio::write(socket_, asio::buffer(bytes), ec);
      http::response<http::string_body> res;
      if (!ec) {
        http::read(socket_, buffer_, res, ec);
      }
      if (ec) {
        socket_.close(ec);
        buffer_.clear();
        continue;
      }
      if (!res.keep_alive()) {
        socket_.close(ec);
      }
      json body = json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
      *out_throttled = res.result_int() == 400 && body.is_object() &&
                       body.value("__type", "").ends_with("ThrottlingException");
      if (res.result_int() != 200) {
        return MakeError(ErrorCode::kInternal, std::string(operation) + " answered " +
                                                   std::to_string(res.result_int()) + ": " +
                                                   res.body());
      }
      if (body.is_discarded()) {
        return MakeError(ErrorCode::kInternal,
                         std::string(operation) + " answered 200 without JSON: " + res.body());
      }
      return body;
    }
    return MakeError(ErrorCode::kInternal,
                     std::string(operation) + " to " + endpoint_.url + " failed: " + ec.message());
  }

  const Endpoint& endpoint_;
  RequestSigner* signer_;
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// What the requests refer to. Key ids are ARNs or ids as CreateKey returned them.
struct Fixtures {
  std::vector<std::string> symmetric_keys;
  std::vector<std::string> sign_keys;
  std::vector<std::string> mac_keys;
  std::vector<std::string> ciphertexts;  // base64; ciphertexts[k] is under symmetric_keys[k]
  std::vector<std::string> payloads;     // base64, random
  // --verify only: sign_public_keys[k] is sign_keys[k]'s; macs[i] is the tag of GenerateMac
  // request i of the pool (RequestBody).
  std::vector<crypto::PublicKey> sign_public_keys;
  std::vector<Bytes> macs;
};

json RequestBody(Op op, const Fixtures& f, size_t i);

Result<std::vector<std::string>> CreateKeys(BlockingClient& client, int count,
                                            std::string_view key_spec, std::string_view usage) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    const json request = {
        {"KeySpec", key_spec}, {"KeyUsage", usage}, {"Description", "scytale-loadgen"}};
    SCY_ASSIGN_OR_RETURN(json out, client.Call(Op::kCreateKey, request));
    ids.push_back(out.at("KeyMetadata").at("KeyId").get<std::string>());
  }
  return ids;
}

Result<std::vector<std::string>> RandomPayloads(size_t count, size_t bytes) {
  std::vector<std::string> payloads;
  for (size_t i = 0; i < count; ++i) {
    SCY_ASSIGN_OR_RETURN(Bytes b, crypto::RandomBytes(bytes));
    payloads.push_back(Base64Encode(b));
  }
  return payloads;
}

// `existing_keys`: symmetric keys to use instead of creating `keys` of them (may be empty).
// `verify`: also fetches what --verify checks answers against.
Result<Fixtures> SetUp(BlockingClient& client, const std::vector<MixEntry>& mix, int keys,
                       const std::vector<std::string>& existing_keys, size_t payloads,
                       size_t payload_bytes, bool verify) {
  Fixtures f;
  SCY_ASSIGN_OR_RETURN(f.payloads, RandomPayloads(payloads, payload_bytes));
  if (MixHas(mix, {Op::kEncrypt, Op::kDecrypt, Op::kGenerateDataKey,
                   Op::kGenerateDataKeyWithoutPlaintext, Op::kReEncrypt, Op::kDescribeKey})) {
    if (!existing_keys.empty()) {
      f.symmetric_keys = existing_keys;
    } else {
      SCY_ASSIGN_OR_RETURN(f.symmetric_keys,
                           CreateKeys(client, keys, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"));
    }
  }
  if (MixHas(mix, {Op::kSign})) {
    SCY_ASSIGN_OR_RETURN(f.sign_keys, CreateKeys(client, keys, "ECC_NIST_P256", "SIGN_VERIFY"));
  }
  if (MixHas(mix, {Op::kGenerateMac})) {
    SCY_ASSIGN_OR_RETURN(f.mac_keys, CreateKeys(client, keys, "HMAC_256", "GENERATE_VERIFY_MAC"));
  }
  if (MixHas(mix, {Op::kDecrypt, Op::kReEncrypt})) {
    for (size_t k = 0; k < f.symmetric_keys.size(); ++k) {
      const json request = {{"KeyId", f.symmetric_keys[k]},
                            {"Plaintext", f.payloads[k % f.payloads.size()]}};
      SCY_ASSIGN_OR_RETURN(json out, client.Call(Op::kEncrypt, request));
      f.ciphertexts.push_back(out.at("CiphertextBlob").get<std::string>());
    }
  }
  if (verify) {
    for (const std::string& key : f.sign_keys) {
      SCY_ASSIGN_OR_RETURN(json out, client.Call("GetPublicKey", json{{"KeyId", key}}.dump()));
      std::optional<Bytes> der = Base64Decode(out.value("PublicKey", ""));
      if (!der) {
        return MakeError(ErrorCode::kInternal, "GetPublicKey answered no base64 PublicKey");
      }
      SCY_ASSIGN_OR_RETURN(crypto::PublicKey pk, crypto::PublicKey::FromDer(*der));
      f.sign_public_keys.push_back(std::move(pk));
    }
    if (MixHas(mix, {Op::kGenerateMac})) {
      for (size_t i = 0; i < payloads; ++i) {
        SCY_ASSIGN_OR_RETURN(json out,
                             client.Call(Op::kGenerateMac, RequestBody(Op::kGenerateMac, f, i)));
        std::optional<Bytes> mac = Base64Decode(out.value("Mac", ""));
        if (!mac) {
          return MakeError(ErrorCode::kInternal, "GenerateMac answered no base64 Mac");
        }
        f.macs.push_back(std::move(*mac));
      }
    }
  }
  return f;
}

// A symmetric ciphertext blob's size beyond its plaintext with a key ARN of the default account
// and us-east-1 (kms/internal/ciphertext.h): 2 + 75 (ARN) + 32 + 16 + 12 + 16 (tag).
constexpr size_t kBlobOverheadBytes = 153;

// --skip-setup: well-formed placeholders, for a server that answers without looking.
Result<Fixtures> PlaceholderFixtures(int keys, size_t payloads, size_t payload_bytes) {
  Fixtures f;
  SCY_ASSIGN_OR_RETURN(f.payloads, RandomPayloads(payloads, payload_bytes));
  for (int k = 0; k < keys; ++k) {
    char id[40];
    std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", k);
    f.symmetric_keys.push_back(id);
    f.sign_keys.push_back(id);
    f.mac_keys.push_back(id);
    SCY_ASSIGN_OR_RETURN(Bytes blob, crypto::RandomBytes(payload_bytes + kBlobOverheadBytes));
    f.ciphertexts.push_back(Base64Encode(blob));
  }
  return f;
}

constexpr char kCreateKeyDescription[] = "scytale-loadgen CreateKey";

// The body of request number i of an operation: keys and payloads taken in turn.
json RequestBody(Op op, const Fixtures& f, size_t i) {
  auto key = [i](const std::vector<std::string>& keys) { return keys[i % keys.size()]; };
  const std::string& payload = f.payloads[i % f.payloads.size()];
  switch (op) {
    case Op::kEncrypt:
      return {{"KeyId", key(f.symmetric_keys)}, {"Plaintext", payload}};
    case Op::kDecrypt:
      return {{"CiphertextBlob", key(f.ciphertexts)}};
    case Op::kGenerateDataKey:
    case Op::kGenerateDataKeyWithoutPlaintext:
      return {{"KeyId", key(f.symmetric_keys)}, {"KeySpec", "AES_256"}};
    case Op::kReEncrypt:
      // To the next key (the same one when there is one key).
      return {{"CiphertextBlob", key(f.ciphertexts)},
              {"DestinationKeyId", f.symmetric_keys[(i + 1) % f.symmetric_keys.size()]}};
    case Op::kSign:
      return {{"KeyId", key(f.sign_keys)},
              {"Message", payload},
              {"MessageType", "RAW"},
              {"SigningAlgorithm", "ECDSA_SHA_256"}};
    case Op::kGenerateMac:
      return {{"KeyId", key(f.mac_keys)}, {"Message", payload}, {"MacAlgorithm", "HMAC_SHA_256"}};
    case Op::kCreateKey:
      return {{"KeySpec", "SYMMETRIC_DEFAULT"},
              {"KeyUsage", "ENCRYPT_DECRYPT"},
              {"Description", kCreateKeyDescription}};
    case Op::kDescribeKey:
      return {{"KeyId", key(f.symmetric_keys)}};
  }
  return json::object();
}

// What the answer to RequestBody(op, f, i) must hold (--verify): the same choices of key and
// payload, in the same order.
Expectation ExpectationFor(Op op, const Fixtures& f, size_t i) {
  auto key = [i](const std::vector<std::string>& keys) { return keys[i % keys.size()]; };
  auto payload = [&f](size_t j) {
    return Base64Decode(f.payloads[j % f.payloads.size()]).value_or(Bytes{});
  };
  Expectation e;
  switch (op) {
    case Op::kEncrypt:
      e.key_id = key(f.symmetric_keys);
      e.plaintext = payload(i);
      break;
    case Op::kDecrypt:
      // ciphertexts[k] is payloads[k] under symmetric_keys[k] (SetUp).
      e.key_id = key(f.symmetric_keys);
      e.plaintext = payload(i % f.ciphertexts.size());
      break;
    case Op::kGenerateDataKey:
    case Op::kGenerateDataKeyWithoutPlaintext:
    case Op::kDescribeKey:
      e.key_id = key(f.symmetric_keys);
      break;
    case Op::kReEncrypt:
      e.source_key_id = key(f.symmetric_keys);
      e.key_id = f.symmetric_keys[(i + 1) % f.symmetric_keys.size()];
      e.plaintext = payload(i % f.ciphertexts.size());
      break;
    case Op::kSign:
      e.key_id = key(f.sign_keys);
      if (!f.sign_public_keys.empty()) {
        e.public_key = f.sign_public_keys[i % f.sign_public_keys.size()];
      }
      e.message = payload(i);
      break;
    case Op::kGenerateMac:
      e.key_id = key(f.mac_keys);
      if (!f.macs.empty()) {
        e.mac = f.macs[i % f.macs.size()];
      }
      break;
    case Op::kCreateKey:
      e.description = kCreateKeyDescription;
      break;
  }
  return e;
}

// Signed requests, ready to send. Immutable once built, shared by the threads.
struct RequestPool {
  // requests[endpoint][op]: HTTP/1.1 request bytes; empty for operations not in the mix.
  std::vector<std::array<std::vector<std::string>, kNumOps>> requests;

  size_t Size(size_t endpoint, Op op) const {
    return requests[endpoint][static_cast<size_t>(op)].size();
  }

  const std::string& Get(size_t endpoint, Op op, size_t i) const {
    const std::vector<std::string>& v = requests[endpoint][static_cast<size_t>(op)];
    return v[i % v.size()];
  }
};

std::shared_ptr<const RequestPool> BuildPool(RequestSigner& signer,
                                             const std::vector<Endpoint>& endpoints,
                                             const std::vector<MixEntry>& mix, const Fixtures& f,
                                             size_t pool_size) {
  auto pool = std::make_shared<RequestPool>();
  pool->requests.resize(endpoints.size());
  const int64_t now = WallSeconds();
  for (size_t e = 0; e < endpoints.size(); ++e) {
    for (const MixEntry& m : mix) {
      std::vector<std::string>& out = pool->requests[e][static_cast<size_t>(m.op)];
      out.clear();
      for (size_t i = 0; i < pool_size; ++i) {
        out.push_back(signer.SignedKmsRequestBytes(endpoints[e].host_header, Target(m.op),
                                                   RequestBody(m.op, f, i).dump(), now));
      }
    }
  }
  return pool;
}

// ---------------------------------------------------------------------------------------------
// The load

struct Phases {
  SteadyClock::time_point measure_start;  // end of the warm-up
  SteadyClock::time_point measure_end;    // no request is started after this
  SteadyClock::time_point hard_stop;      // requests still in flight are abandoned
};

struct OpStats {
  std::vector<int64_t> latencies_ns;      // 200s completed in the measured window
  std::map<std::string, uint64_t> errors;  // in the window: "<status> <__type>" or transport
  uint64_t warmup_ok = 0;
  uint64_t warmup_errors = 0;
  uint64_t warmup_wrong_answers = 0;  // --verify: of warmup_errors, 200s that did not hold
};

// AWS JSON errors name themselves in __type, sometimes prefixed with a namespace and '#'.
std::string ErrorType(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("__type") && j["__type"].is_string()) {
    std::string type = j["__type"].get<std::string>();
    const size_t hash = type.rfind('#');
    return hash == std::string::npos ? type : type.substr(hash + 1);
  }
  return "(no __type)";
}

// --verify: expected[op][i] is what the answer to request i of the pool must hold.
struct AnswerChecks {
  std::array<std::vector<Expectation>, kNumOps> expected;
  size_t samples_per_op = 0;  // kept by each worker, a uniform sample of the measured window
};

struct LoadOptions {
  std::vector<MixEntry> mix;
  std::chrono::seconds timeout{30};
  const AnswerChecks* checks = nullptr;  // null: statuses only
};

class Worker;

// One keep-alive connection sending one request at a time. Runs on its worker's thread only.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Worker* worker, size_t endpoint_index, uint64_t seed);
  void Start() { Connect(); }
  void Abort() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  void Connect();
  void Send();
  void OnWrite(beast::error_code ec);
  void OnRead(beast::error_code ec);
  void OnError(std::string_view what, beast::error_code ec);
  void Finish();
  Op PickOp();

  Worker* worker_;
  size_t endpoint_index_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  asio::steady_timer retry_timer_;
  std::mt19937_64 rng_;
  std::shared_ptr<const RequestPool> pool_;  // kept alive while its bytes are being written
  std::optional<Op> in_flight_;
  size_t index_ = 0;  // of the request in flight in its pool
  SteadyClock::time_point started_;
  bool finished_ = false;
};

class Worker {
 public:
  Worker(const std::vector<Endpoint>* endpoints, const LoadOptions* options, Phases phases)
      : endpoints_(endpoints), options_(options), phases_(phases), stop_timer_(io_) {
    double total = 0;
    for (const MixEntry& m : options_->mix) {
      total += m.weight;
      cumulative_weights_.push_back(total);
    }
  }

  void AddConnection(size_t endpoint_index, uint64_t seed) {
    connections_.push_back(std::make_shared<Connection>(this, endpoint_index, seed));
  }

  // Thread-safe: the pool is swapped on the worker's own thread.
  void PostPool(std::shared_ptr<const RequestPool> pool) {
    asio::post(io_, [this, pool = std::move(pool)] { pool_ = pool; });
  }

  void Run(std::shared_ptr<const RequestPool> pool) {
    pool_ = std::move(pool);
    active_ = connections_.size();
    for (auto& c : connections_) {
      c->Start();
    }
    stop_timer_.expires_at(phases_.hard_stop);
    stop_timer_.async_wait([this](beast::error_code ec) {
      if (!ec) {
        for (auto& c : connections_) {
          c->Abort();
        }
      }
    });
    io_.run();
  }

  void ConnectionFinished() {
    if (--active_ == 0) {
      stop_timer_.cancel();
    }
  }

  // A completed request: a success or an error, counted by when it completed.
  void Record(Op op, SteadyClock::time_point start, SteadyClock::time_point end,
              std::optional<std::string> error) {
    OpStats& s = stats_[static_cast<size_t>(op)];
    if (end < phases_.measure_start) {
      ++(error ? s.warmup_errors : s.warmup_ok);
      if (error && error->starts_with("200 ")) {
        ++s.warmup_wrong_answers;
      }
    } else if (end < phases_.measure_end) {
      if (error) {
        ++s.errors[*error];
      } else {
        s.latencies_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
      }
    }
  }

  // Reservoir sampling (Vitter's algorithm R): every answer of the window is equally likely
  // to be among the samples kept.
  void KeepSample(Op op, SteadyClock::time_point end, Sample sample) {
    if (end < phases_.measure_start || end >= phases_.measure_end) {
      return;
    }
    const size_t i = static_cast<size_t>(op);
    const size_t capacity = options_->checks->samples_per_op;
    const uint64_t seen = ++samples_seen_[i];
    if (samples_[i].size() < capacity) {
      samples_[i].push_back(std::move(sample));
      return;
    }
    const uint64_t slot = sample_rng_() % seen;
    if (slot < capacity) {
      samples_[i][slot] = std::move(sample);
    }
  }

  void RecordConnectError(std::string error) {
    if (SteadyClock::now() < phases_.measure_end) {
      ++connect_errors_[std::move(error)];
    }
  }

  asio::io_context& io() { return io_; }
  const Endpoint& endpoint(size_t i) const { return (*endpoints_)[i]; }
  const LoadOptions& options() const { return *options_; }
  const Phases& phases() const { return phases_; }
  const std::shared_ptr<const RequestPool>& pool() const { return pool_; }
  const std::vector<double>& cumulative_weights() const { return cumulative_weights_; }
  std::array<OpStats, kNumOps>& stats() { return stats_; }
  std::map<std::string, uint64_t>& connect_errors() { return connect_errors_; }
  const std::array<std::vector<Sample>, kNumOps>& samples() const { return samples_; }

 private:
  asio::io_context io_;
  const std::vector<Endpoint>* endpoints_;
  const LoadOptions* options_;
  const Phases phases_;
  asio::steady_timer stop_timer_;
  std::vector<double> cumulative_weights_;
  std::vector<std::shared_ptr<Connection>> connections_;
  size_t active_ = 0;
  std::shared_ptr<const RequestPool> pool_;
  std::array<OpStats, kNumOps> stats_;
  std::map<std::string, uint64_t> connect_errors_;
  std::array<std::vector<Sample>, kNumOps> samples_;
  std::array<uint64_t, kNumOps> samples_seen_{};
  std::mt19937_64 sample_rng_{std::random_device{}()};
};

Connection::Connection(Worker* worker, size_t endpoint_index, uint64_t seed)
    : worker_(worker),
      endpoint_index_(endpoint_index),
      stream_(worker->io()),
      retry_timer_(worker->io()),
      rng_(seed) {}

void Connection::Connect() {
  stream_.expires_after(worker_->options().timeout);
  stream_.async_connect(worker_->endpoint(endpoint_index_).addresses,
                        [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
                          if (ec) {
                            self->OnError("connect", ec);
                            return;
                          }
                          self->stream_.socket().set_option(tcp::no_delay(true));
                          self->Send();
                        });
}

Op Connection::PickOp() {
  const std::vector<MixEntry>& mix = worker_->options().mix;
  if (mix.size() == 1) {
    return mix[0].op;
  }
  const std::vector<double>& cumulative = worker_->cumulative_weights();
  std::uniform_real_distribution<double> pick(0, cumulative.back());
  const double x = pick(rng_);
  const size_t i = std::upper_bound(cumulative.begin(), cumulative.end(), x) - cumulative.begin();
  return mix[std::min(i, mix.size() - 1)].op;
}

void Connection::Send() {
  if (SteadyClock::now() >= worker_->phases().measure_end) {
    Finish();
    return;
  }
  const Op op = PickOp();
  in_flight_ = op;
  pool_ = worker_->pool();
  // A request picked at random from the pool, so every key of a large key set is used from
  // the start (a walk in turn from a random offset would use only the keys near the offsets
  // of a short run). 64-bit draws make the modulo's bias negligible.
  index_ = static_cast<size_t>(rng_() % pool_->Size(endpoint_index_, op));
  const std::string& bytes = pool_->Get(endpoint_index_, op, index_);
  started_ = SteadyClock::now();
  stream_.expires_after(worker_->options().timeout);
  asio::async_write(stream_, asio::buffer(bytes),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->OnWrite(ec);
                    });
}

void Connection::OnWrite(beast::error_code ec) {
  if (ec) {
    OnError("write", ec);
    return;
  }
  parser_.emplace();
  parser_->body_limit(64 * 1024 * 1024);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void Connection::OnRead(beast::error_code ec) {
  const SteadyClock::time_point end = SteadyClock::now();
  if (ec) {
    OnError("read", ec);
    return;
  }
  const Op op = *in_flight_;
  in_flight_.reset();
  const auto& res = parser_->get();
  std::optional<std::string> error;
  if (res.result_int() != 200) {
    error = std::to_string(res.result_int()) + " " + ErrorType(res.body());
  } else if (const AnswerChecks* checks = worker_->options().checks; checks != nullptr) {
    std::optional<Sample> sample;
    const std::vector<Expectation>& expected = checks->expected[static_cast<size_t>(op)];
    error = CheckAnswer(OpName(op), expected[index_ % expected.size()], res.body(), &sample);
    if (error) {
      *error = "200 wrong answer: " + *error;
    } else if (sample) {
      worker_->KeepSample(op, end, std::move(*sample));
    }
  }
  worker_->Record(op, started_, end, std::move(error));
  if (!res.keep_alive()) {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
    Connect();
    return;
  }
  Send();
}

// A transport error ends the request in flight (an error of its operation) and the
// connection; a new one is opened after a short pause, so that a refusing server is not
// spun on.
void Connection::OnError(std::string_view what, beast::error_code ec) {
  const SteadyClock::time_point now = SteadyClock::now();
  if (now >= worker_->phases().measure_end) {
    Finish();  // stopping: whatever was in flight is not counted
    return;
  }
  std::string error = "transport " + std::string(what) + ": " + ec.message();
  if (in_flight_) {
    worker_->Record(*in_flight_, started_, now, std::move(error));
    in_flight_.reset();
  } else {
    worker_->RecordConnectError(std::move(error));
  }
  beast::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
  retry_timer_.expires_after(std::chrono::milliseconds(50));
  retry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) {
      self->Connect();
    }
  });
}

void Connection::Finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  worker_->ConnectionFinished();
}

// ---------------------------------------------------------------------------------------------
// Report

// Nearest-rank percentile of sorted values.
int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = static_cast<size_t>(std::max(1.0, rank)) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

struct Options {
  std::vector<std::string> endpoints;
  std::string credentials_file;
  std::string profile = "default";
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  int connections = 64;
  int threads = 1;
  double duration_seconds = 10;
  double warmup_seconds = 2;
  std::string mix = "Encrypt";
  size_t payload_bytes = 32;
  int keys = 1;
  size_t pool_size = 64;
  int resign_seconds = 60;
  int timeout_seconds = 30;
  bool skip_setup = false;
  std::string key_ids_file;
  std::string json_path;
  std::string label;
  bool verify = false;
  size_t verify_samples = 64;
};

// --verify, after the load: each kept sample asked about again (Decrypt or DescribeKey).
json CheckSamples(BlockingClient& client, const std::vector<MixEntry>& mix,
                  const std::vector<Worker*>& workers) {
  json by_op = json::object();
  json failures = json::array();
  uint64_t total_failed = 0;
  for (const MixEntry& m : mix) {
    const std::string name(OpName(m.op));
    if (by_op.contains(name)) {
      continue;
    }
    uint64_t checked = 0;
    uint64_t failed = 0;
    for (Worker* w : workers) {
      for (const Sample& sample : w->samples()[static_cast<size_t>(m.op)]) {
        ++checked;
        Result<json> answer = client.Call(SampleOperation(sample), SampleRequestBody(sample));
        std::optional<std::string> error =
            answer ? CheckSampleAnswer(sample, answer->dump()) : answer.error().message;
        if (error) {
          ++failed;
          if (failures.size() < 20) {
            failures.push_back(*error);
          }
        }
      }
    }
    if (checked > 0) {
      by_op[name] = {{"checked", checked}, {"failed", failed}};
    }
    total_failed += failed;
  }
  return {{"samples", by_op}, {"samples_failed", total_failed}, {"sample_failures", failures}};
}

json Report(const Options& o, const std::vector<MixEntry>& mix, std::vector<Worker*> workers,
            double client_cpu_seconds) {
  json ops = json::object();
  uint64_t total_ok = 0;
  uint64_t total_errors = 0;
  std::vector<int64_t> all;
  for (const MixEntry& m : mix) {
    const size_t i = static_cast<size_t>(m.op);
    if (ops.contains(OpName(m.op))) {
      continue;
    }
    std::vector<int64_t> lat;
    std::map<std::string, uint64_t> errors;
    uint64_t warmup_ok = 0;
    uint64_t warmup_errors = 0;
    uint64_t warmup_wrong_answers = 0;
    for (Worker* w : workers) {
      const OpStats& s = w->stats()[i];
      lat.insert(lat.end(), s.latencies_ns.begin(), s.latencies_ns.end());
      for (const auto& [type, n] : s.errors) {
        errors[type] += n;
      }
      warmup_ok += s.warmup_ok;
      warmup_errors += s.warmup_errors;
      warmup_wrong_answers += s.warmup_wrong_answers;
    }
    std::sort(lat.begin(), lat.end());
    uint64_t error_count = 0;
    for (const auto& [type, n] : errors) {
      error_count += n;
    }
    ops[std::string(OpName(m.op))] = {
        {"ok", lat.size()},
        {"rps", static_cast<double>(lat.size()) / o.duration_seconds},
        {"p50_ms", Ms(Percentile(lat, 50))},
        {"p99_ms", Ms(Percentile(lat, 99))},
        {"p99_9_ms", Ms(Percentile(lat, 99.9))},
        {"max_ms", Ms(lat.empty() ? 0 : lat.back())},
        {"errors", error_count},
        {"errors_by_type", errors},
        {"warmup_ok", warmup_ok},
        {"warmup_errors", warmup_errors},
        {"warmup_wrong_answers", warmup_wrong_answers},
    };
    total_ok += lat.size();
    total_errors += error_count;
    all.insert(all.end(), lat.begin(), lat.end());
  }
  std::sort(all.begin(), all.end());
  std::map<std::string, uint64_t> connect_errors;
  for (Worker* w : workers) {
    for (const auto& [type, n] : w->connect_errors()) {
      connect_errors[type] += n;
    }
  }
  json mix_json = json::object();
  for (const MixEntry& m : mix) {
    mix_json[std::string(OpName(m.op))] = m.weight;
  }
  return {
      {"label", o.label},
      {"endpoints", o.endpoints},
      {"connections", o.connections},
      {"threads", o.threads},
      {"duration_s", o.duration_seconds},
      {"warmup_s", o.warmup_seconds},
      {"payload_bytes", o.payload_bytes},
      {"keys", o.keys},
      {"mix", mix_json},
      {"setup", o.skip_setup             ? "placeholders"
                : o.key_ids_file.empty() ? "created through the API"
                                         : "symmetric keys from " + o.key_ids_file},
      {"pool", o.pool_size},
      {"client_cpu_s", client_cpu_seconds},
      {"ops", ops},
      {"total",
       {{"ok", total_ok},
        {"rps", static_cast<double>(total_ok) / o.duration_seconds},
        {"p50_ms", Ms(Percentile(all, 50))},
        {"p99_ms", Ms(Percentile(all, 99))},
        {"p99_9_ms", Ms(Percentile(all, 99.9))},
        {"max_ms", Ms(all.empty() ? 0 : all.back())},
        {"errors", total_errors},
        {"connect_errors", connect_errors}}},
  };
}

void PrintText(const json& r, std::ostream& out) {
  out << "scytale-loadgen";
  if (!r["label"].get<std::string>().empty()) {
    out << " [" << r["label"].get<std::string>() << "]";
  }
  out << ": " << r["connections"] << " connections on " << r["threads"] << " thread(s) to";
  for (const auto& e : r["endpoints"]) {
    out << " " << e.get<std::string>();
  }
  out << ", " << r["duration_s"] << " s after " << r["warmup_s"] << " s of warm-up, payload "
      << r["payload_bytes"] << " B, " << r["keys"] << " key(s), client CPU "
      << r["client_cpu_s"].get<double>() << " s\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%-32s %10s %10s %9s %9s %9s %9s %8s\n", "operation", "ok",
                "rps", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors");
  out << line;
  auto row = [&](const std::string& name, const json& s) {
    std::snprintf(line, sizeof(line), "%-32s %10llu %10.1f %9.3f %9.3f %9.3f %9.3f %8llu\n",
                  name.c_str(), static_cast<unsigned long long>(s["ok"].get<uint64_t>()),
                  s["rps"].get<double>(), s["p50_ms"].get<double>(), s["p99_ms"].get<double>(),
                  s["p99_9_ms"].get<double>(), s.value("max_ms", 0.0),
                  static_cast<unsigned long long>(s["errors"].get<uint64_t>()));
    out << line;
  };
  for (const auto& [name, s] : r["ops"].items()) {
    row(name, s);
  }
  if (r["ops"].size() > 1) {
    row("total", r["total"]);
  }
  for (const auto& [name, s] : r["ops"].items()) {
    for (const auto& [type, n] : s["errors_by_type"].items()) {
      out << "  error  " << name << "  " << type << "  x" << n << "\n";
    }
  }
  for (const auto& [type, n] : r["total"]["connect_errors"].items()) {
    out << "  error  (connect)  " << type << "  x" << n << "\n";
  }
  if (r.contains("verify")) {
    const json& v = r["verify"];
    out << "verify: " << v["wrong_answers"] << " wrong 200 answer(s); samples checked after the "
        << "load:";
    for (const auto& [name, s] : v["samples"].items()) {
      out << " " << name << " " << s["checked"] << " (" << s["failed"] << " failed)";
    }
    out << "\n";
    for (const auto& failure : v["sample_failures"]) {
      out << "  sample failed  " << failure.get<std::string>() << "\n";
    }
  }
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"scytale-loadgen: SigV4-signed AWS KMS JSON load against Scytale endpoints"};
  app.add_option("--endpoint", o.endpoints,
                 "http://HOST:PORT; repeat it to spread the connections round-robin over nodes")
      ->required();
  app.add_option("--credentials-file", o.credentials_file,
                 "AWS shared credentials file, e.g. DATA_DIR/admin-credentials (default: "
                 "AWS_SHARED_CREDENTIALS_FILE)");
  app.add_option("--profile", o.profile, "profile in the credentials file")->capture_default_str();
  app.add_option("--access-key-id", o.access_key_id, "instead of a credentials file");
  app.add_option("--secret-access-key", o.secret_access_key,
                 "instead of a credentials file (visible in `ps`; prefer the file)");
  app.add_option("--region", o.region, "region signed in the credential scope")
      ->capture_default_str();
  app.add_option("--connections", o.connections, "keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--threads", o.threads, "client threads (one io_context each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--duration", o.duration_seconds, "measured seconds")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--warmup", o.warmup_seconds, "seconds of load before measuring")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--mix", o.mix,
                 "operations and weights, e.g. Encrypt or Encrypt=3,Decrypt=1 (Encrypt, Decrypt, "
                 "GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncrypt, Sign, GenerateMac, "
                 "CreateKey, DescribeKey)")
      ->capture_default_str();
  app.add_option("--payload-bytes", o.payload_bytes,
                 "plaintext of Encrypt (and of Decrypt's ciphertexts), message of Sign and "
                 "GenerateMac")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--keys", o.keys, "distinct keys of each kind, created at set-up")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--key-ids-file", o.key_ids_file,
                 "existing symmetric key ids (or ARNs), one a line, used instead of creating "
                 "--keys of them (e.g. a hot set of what scytale-preload wrote)");
  app.add_option("--pool", o.pool_size,
                 "signed requests kept per endpoint and operation; raised to the number of keys, "
                 "so that requests name every key in turn")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--resign-seconds", o.resign_seconds,
                 "how often the pool is signed again (signatures are valid for 5 minutes)")
      ->capture_default_str()
      ->check(CLI::Range(1, 240));
  app.add_option("--timeout-seconds", o.timeout_seconds, "per connect, write and read")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_flag("--skip-setup", o.skip_setup,
               "create nothing; sign requests naming placeholder keys (for a baseline server)");
  app.add_option("--json", o.json_path, "also write the results as JSON to this file (- = stdout)");
  app.add_option("--label", o.label, "a name for this run, copied into the output");
  app.add_flag("--verify", o.verify,
               "check what each 200 holds (plaintexts, keys, signatures, MACs), and decrypt or "
               "describe a sample of the answers after the load; exit 3 on a wrong answer");
  app.add_option("--verify-samples", o.verify_samples,
                 "answers of each operation kept for the check after the load (per thread)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{100000}));
  CLI11_PARSE(app, argc, argv);
  if (o.verify && o.skip_setup) {
    std::cerr << "scytale-loadgen: --verify needs the set-up (not --skip-setup)\n";
    return 2;
  }

  auto mix = ParseMix(o.mix);
  if (!mix) {
    std::cerr << "scytale-loadgen: " << mix.error().message << "\n";
    return 2;
  }
  std::vector<std::string> existing_keys;
  if (!o.key_ids_file.empty()) {
    auto read = ReadKeyIds(o.key_ids_file);
    if (!read) {
      std::cerr << "scytale-loadgen: " << read.error().message << "\n";
      return 2;
    }
    existing_keys = std::move(*read);
    o.keys = static_cast<int>(existing_keys.size());
  }
  // Request i names key i % keys: a pool smaller than the key set would leave keys unused.
  o.pool_size = std::max(o.pool_size, static_cast<size_t>(o.keys));

  // Credentials: flags, else the file, else placeholders where nothing is set up (the baseline
  // still pays for signing).
  std::optional<SigningCredentials> credentials;
  if (!o.access_key_id.empty() || !o.secret_access_key.empty()) {
    credentials = SigningCredentials{o.access_key_id,
                                     crypto::SecretBytes(AsBytes(o.secret_access_key)), ""};
  } else {
    std::string file = o.credentials_file;
    if (file.empty() && std::getenv("AWS_SHARED_CREDENTIALS_FILE") != nullptr) {
      file = std::getenv("AWS_SHARED_CREDENTIALS_FILE");
    }
    if (!file.empty()) {
      auto read = ReadSharedCredentials(file, o.profile);
      if (!read) {
        std::cerr << "scytale-loadgen: " << read.error().message << "\n";
        return 2;
      }
      credentials = std::move(*read);
    } else if (o.skip_setup) {
      credentials = SigningCredentials{"AKIALOADGENBASELINE0",
                                       crypto::SecretBytes(AsBytes("loadgen-baseline-secret")), ""};
    } else {
      std::cerr << "scytale-loadgen: no credentials: give --credentials-file or "
                   "--access-key-id and --secret-access-key\n";
      return 2;
    }
  }
  RequestSigner signer(std::move(*credentials), o.region);

  std::vector<Endpoint> endpoints;
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    for (const std::string& url : o.endpoints) {
      auto e = ParseEndpoint(url);
      if (!e) {
        std::cerr << "scytale-loadgen: " << e.error().message << "\n";
        return 2;
      }
      beast::error_code ec;
      e->addresses = resolver.resolve(e->host, e->port, ec);
      if (ec) {
        std::cerr << "scytale-loadgen: cannot resolve " << url << ": " << ec.message() << "\n";
        return 2;
      }
      endpoints.push_back(std::move(*e));
    }
  }

  Result<Fixtures> fixtures = [&]() -> Result<Fixtures> {
    if (o.skip_setup) {
      return PlaceholderFixtures(o.keys, o.pool_size, o.payload_bytes);
    }
    BlockingClient client(endpoints.front(), &signer);
    return SetUp(client, *mix, o.keys, existing_keys, o.pool_size, o.payload_bytes, o.verify);
  }();
  if (!fixtures) {
    std::cerr << "scytale-loadgen: set-up failed: " << fixtures.error().message << "\n";
    return 1;
  }

  LoadOptions load{*mix, std::chrono::seconds(o.timeout_seconds)};
  AnswerChecks checks;
  if (o.verify) {
    for (const MixEntry& m : *mix) {
      std::vector<Expectation>& expected = checks.expected[static_cast<size_t>(m.op)];
      expected.clear();
      for (size_t i = 0; i < o.pool_size; ++i) {
        expected.push_back(ExpectationFor(m.op, *fixtures, i));
      }
    }
    checks.samples_per_op = o.verify_samples;
    load.checks = &checks;
  }
  std::shared_ptr<const RequestPool> pool = BuildPool(signer, endpoints, *mix, *fixtures,
                                                      o.pool_size);
  const SteadyClock::time_point start = SteadyClock::now();
  auto seconds = [](double s) {
    return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s));
  };
  Phases phases;
  phases.measure_start = start + seconds(o.warmup_seconds);
  phases.measure_end = phases.measure_start + seconds(o.duration_seconds);
  phases.hard_stop = phases.measure_end + std::chrono::seconds(o.timeout_seconds);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(&endpoints, &load, phases));
  }
  std::random_device seed_source;
  for (int c = 0; c < o.connections; ++c) {
    const uint64_t seed = (uint64_t{seed_source()} << 32) | seed_source();
    workers[static_cast<size_t>(c) % workers.size()]->AddConnection(
        static_cast<size_t>(c) % endpoints.size(), seed);
  }
  const double cpu_before = CpuSeconds();
  std::vector<std::thread> threads;
  std::atomic<int> running{o.threads};
  for (auto& w : workers) {
    threads.emplace_back([&, w = w.get()] {
      w->Run(pool);
      --running;
    });
  }
  // This thread signs the pool again while the workers send, and hands it over.
  auto next_sign = SteadyClock::now() + std::chrono::seconds(o.resign_seconds);
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (SteadyClock::now() >= next_sign && SteadyClock::now() < phases.measure_end) {
      pool = BuildPool(signer, endpoints, *mix, *fixtures, o.pool_size);
      for (auto& w : workers) {
        w->PostPool(pool);
      }
      next_sign += std::chrono::seconds(o.resign_seconds);
    }
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const double cpu_used = CpuSeconds() - cpu_before;

  std::vector<Worker*> worker_ptrs;
  for (auto& w : workers) {
    worker_ptrs.push_back(w.get());
  }
  json report = Report(o, *mix, worker_ptrs, cpu_used);
  bool wrong_answers = false;
  if (o.verify) {
    BlockingClient client(endpoints.front(), &signer);
    report["verify"] = CheckSamples(client, *mix, worker_ptrs);
    uint64_t wrong = 0;
    for (const auto& [name, op] : report["ops"].items()) {
      for (const auto& [type, n] : op["errors_by_type"].items()) {
        if (type.starts_with("200 wrong answer")) {
          wrong += n.get<uint64_t>();
        }
      }
      wrong += op["warmup_wrong_answers"].get<uint64_t>();
    }
    report["verify"]["wrong_answers"] = wrong;
    wrong_answers = wrong > 0 || report["verify"]["samples_failed"].get<uint64_t>() > 0;
  }
  PrintText(report, std::cout);
  if (o.json_path == "-") {
    std::cout << report.dump(2) << "\n";
  } else if (!o.json_path.empty()) {
    std::ofstream out(o.json_path);
    out << report.dump(2) << "\n";
    if (!out) {
      std::cerr << "scytale-loadgen: cannot write " << o.json_path << "\n";
      return 1;
    }
  }
  return wrong_answers ? 3 : 0;
}

}  // namespace
}  // namespace scytale::loadgen

int main(int argc, char** argv) { return scytale::loadgen::Main(argc, argv); }

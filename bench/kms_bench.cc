// Microbenchmarks of the request path below HTTP, layer by layer, so a request's cost can be
// split into its parts:
//
//   Api/*       api::KmsApi::Handle: JSON parse, model validation, base64, service, JSON dump
//   ApiCodec/*  the same Handle over a service that answers at once: the codec alone
//   Service/*   kms::KeyService over a real SQLite store and soft keystore (no HTTP, no JSON)
//   Store/*     the SQLite lookups a Service call makes, one at a time
//   Keystore/*  unwrapping a backing key: what a backing-key cache miss adds
//   Blob/*      kms SealBlob/OpenBlob: HKDF-SHA256 + AES-256-GCM + blob framing, no lookups
//   Crypto/*    the OpenSSL primitives alone
//   Pkcs11/*    the same Service calls with the root key in a SoftHSM2 token (cache warm: the
//               token is asked only on a miss), and with a key inside the token of a custom key
//               store (every call runs AES-GCM in the token)
//
// Service/Encrypt ≈ Store/GetKey + Store/ListKeyVersions + Blob/Seal (+ glue);
// Service/Decrypt ≈ Store/GetKey + Store/GetKeyVersion + Blob/Open (+ glue).
// Backing keys are cached by the service, so steady-state Service rows do not unwrap.
//
// The database lives in a fresh directory under $TMPDIR (or /tmp), removed at exit. Point
// TMPDIR at a tmpfs to take fsync out of Service/CreateKey. Run via bench/run_micro.sh.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "api/api.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/result.h"
#include "crypto/crypto.h"
#include "keystore/keystore.h"
#include "keystore/testing/softhsm.h"
#include "kms/internal/ciphertext.h"
#include "kms/kms.h"
#include "kms/testing/unimplemented_service.h"
#include "storage/storage.h"

namespace scytale::bench {
namespace {

// Setup failures end the run: a benchmark over a failing call would time the error path.
[[noreturn]] void Die(const char* what, const Error& e) {
  std::fprintf(stderr, "kms_bench: %s failed: %s\n", what, e.message.c_str());
  std::exit(1);
}

template <class T>
T ValueOrDie(Result<T> r, const char* what) {
  if (!r) {
    Die(what, r.error());
  }
  return std::move(*r);
}

void OkOrDie(const Status& s, const char* what) {
  if (!s) {
    Die(what, s.error());
  }
}

// Checks a result inside a timed loop. Returns false (and marks the benchmark failed) on error,
// so the caller can break out of the loop.
template <class T>
bool Check(benchmark::State& state, const Result<T>& r) {
  if (!r) {
    state.SkipWithError(r.error().message.c_str());
    return false;
  }
  return true;
}

crypto::SecretBytes PatternSecret(size_t size) {
  Bytes raw(size);
  for (size_t i = 0; i < size; ++i) {
    raw[i] = static_cast<uint8_t>(i * 31 + 7);
  }
  return crypto::SecretBytes(raw);
}

std::string PlaintextBase64(size_t size) {
  crypto::SecretBytes s = PatternSecret(size);
  return Base64Encode(s.Reveal(crypto::KeyAccess::Grant()));
}

// Answers Encrypt with a blob of the real size and does nothing else, so KmsApi::Handle over it
// measures the codec alone.
class CannedEncryptService final : public kms::testing::UnimplementedKeyService {
 public:
  Result<kms::EncryptResponse> Encrypt(const kms::CallContext& ctx,
                                       const kms::EncryptRequest& req) override {
    std::string arn = kms::KeyArn(ctx.region, ctx.account_id, req.key_id);
    // The blob layout of kms/internal/ciphertext.h: version, arnlen, ARN, version id, salt,
    // IV, ciphertext, tag.
    size_t blob_size = 2 + arn.size() + kms::internal::kVersionIdSize + kms::internal::kSaltSize +
                       crypto::kAesGcmIvSize + req.plaintext.size() + crypto::kAesGcmTagSize;
    return kms::EncryptResponse{Bytes(blob_size, 0xA5), std::move(arn), "SYMMETRIC_DEFAULT"};
  }
};

// One store, keystore, service and codec for the whole run, with two keys made up front.
// Created on first use; the directory is removed at exit.
class ServiceEnv {
 public:
  static ServiceEnv& Get() {
    static ServiceEnv env;
    return env;
  }

  kms::KeyService& service() { return *service_; }
  api::KmsApi& api() { return *api_; }
  api::KmsApi& canned_api() { return *canned_api_; }
  storage::Store& store() { return *store_; }
  keystore::RootKeystore& root() { return *root_; }
  const kms::CallContext& ctx() const { return ctx_; }
  const kms::KeyMetadata& key() const { return key_; }
  const kms::KeyMetadata& other_key() const { return other_key_; }

 private:
  ServiceEnv()
      : dir_(std::filesystem::temp_directory_path() / ("scy-bench-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = ValueOrDie(storage::OpenSqliteStore(dir_ / "db"), "OpenSqliteStore");
    keystore::SoftOptions options;
    options.path = dir_ / "root.key";
    root_ = ValueOrDie(keystore::OpenSoftKeystore(options), "OpenSoftKeystore");
    // A fixed clock: the backing-key cache never expires mid-run, so Service rows are the
    // steady state (cache hits).
    auto clock = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1700000000));
    service_ = kms::KeyService::Create(store_.get(), root_.get(), clock);
    api_ = ValueOrDie(api::KmsApi::Create(service_.get()), "KmsApi::Create");
    canned_api_ = ValueOrDie(api::KmsApi::Create(&canned_service_), "KmsApi::Create");
    ctx_ = {"111122223333", "us-east-1", "arn:aws:iam::111122223333:root", "bench"};
    key_ = ValueOrDie(service_->CreateKey(ctx_, {}), "CreateKey");
    other_key_ = ValueOrDie(service_->CreateKey(ctx_, {}), "CreateKey");
  }

  ~ServiceEnv() {
    canned_api_.reset();
    api_.reset();
    service_.reset();
    root_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<keystore::RootKeystore> root_;
  std::unique_ptr<kms::KeyService> service_;
  CannedEncryptService canned_service_;
  std::unique_ptr<api::KmsApi> api_;
  std::unique_ptr<api::KmsApi> canned_api_;
  kms::CallContext ctx_;
  kms::KeyMetadata key_;
  kms::KeyMetadata other_key_;
};

kms::EncryptRequest MakeEncryptRequest(const std::string& key_id, size_t size) {
  kms::EncryptRequest req;
  req.key_id = key_id;
  req.plaintext = PatternSecret(size);
  return req;
}

Bytes EncryptOrDie(ServiceEnv& env, size_t size) {
  return ValueOrDie(env.service().Encrypt(env.ctx(), MakeEncryptRequest(env.key().key_id, size)),
                    "Encrypt")
      .ciphertext_blob;
}

void SetThroughput(benchmark::State& state, size_t bytes_per_item) {
  state.SetItemsProcessed(state.iterations());
  if (bytes_per_item > 0) {
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes_per_item));
  }
}

// Encrypt of state.range(0) bytes under `key_id`, through `env`'s service.
template <class Env>
void EncryptWith(benchmark::State& state, Env& env, const std::string& key_id) {
  const size_t size = static_cast<size_t>(state.range(0));
  const kms::EncryptRequest req = MakeEncryptRequest(key_id, size);
  for (auto _ : state) {
    auto r = env.service().Encrypt(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, size);
}

// Unwrap of one wrapped 32-byte key by `root`: what a backing-key cache miss adds.
void UnwrapLoop(benchmark::State& state, keystore::RootKeystore& root) {
  const std::string aad = "scytale:backing-key:bench";
  Bytes wrapped = ValueOrDie(root.Wrap(PatternSecret(32), AsBytes(aad)), "Wrap");
  for (auto _ : state) {
    auto material = root.Unwrap(wrapped, AsBytes(aad));
    if (!Check(state, material)) {
      break;
    }
    benchmark::DoNotOptimize(material);
  }
  SetThroughput(state, 0);
}

// ---- Crypto: OpenSSL primitives alone ----

// A fixed IV is fine here: nothing is kept, and the cost of AES-GCM does not depend on it.
void BM_AesGcmSeal(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  crypto::SecretBytes key = PatternSecret(32);
  Bytes iv(crypto::kAesGcmIvSize, 0x01);
  crypto::SecretBytes plaintext = PatternSecret(size);
  for (auto _ : state) {
    auto sealed = crypto::AesGcmSeal(key, iv, plaintext.Reveal(crypto::KeyAccess::Grant()), {});
    if (!Check(state, sealed)) {
      break;
    }
    benchmark::DoNotOptimize(sealed);
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_AesGcmSeal)->Name("Crypto/AesGcmSeal")->Arg(32)->Arg(4096);

void BM_AesGcmOpen(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  crypto::SecretBytes key = PatternSecret(32);
  Bytes iv(crypto::kAesGcmIvSize, 0x01);
  crypto::SecretBytes plaintext = PatternSecret(size);
  Bytes sealed = ValueOrDie(
      crypto::AesGcmSeal(key, iv, plaintext.Reveal(crypto::KeyAccess::Grant()), {}), "Seal");
  for (auto _ : state) {
    auto opened = crypto::AesGcmOpen(key, iv, sealed, {});
    if (!Check(state, opened)) {
      break;
    }
    benchmark::DoNotOptimize(opened);
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_AesGcmOpen)->Name("Crypto/AesGcmOpen")->Arg(32)->Arg(4096);

// The message-key derivation of every blob: 32-byte IKM, 16-byte salt, 32-byte output.
void BM_HkdfSha256(benchmark::State& state) {
  crypto::SecretBytes ikm = PatternSecret(32);
  Bytes salt(kms::internal::kSaltSize, 0x02);
  const std::string info = "scytale/v1/message-key";
  for (auto _ : state) {
    auto okm = crypto::HkdfSha256(ikm, salt, AsBytes(info), 32);
    if (!Check(state, okm)) {
      break;
    }
    benchmark::DoNotOptimize(okm);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_HkdfSha256)->Name("Crypto/HkdfSha256_32B");

// ---- Blob: the kms ciphertext format alone (RNG for salt+IV, HKDF, AES-GCM, framing) ----

kms::internal::BlobHeader BenchHeader() {
  return {kms::KeyArn("us-east-1", "111122223333", "1234abcd-12ab-34cd-56ef-1234567890ab"),
          std::string(64, 'a')};
}

void BM_SealBlob(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const kms::internal::BlobHeader header = BenchHeader();
  crypto::SecretBytes backing_key = PatternSecret(32);
  crypto::SecretBytes plaintext = PatternSecret(size);
  const kms::internal::EncryptionContext context;
  for (auto _ : state) {
    auto blob = kms::internal::SealBlob(header, backing_key,
                                        plaintext.Reveal(crypto::KeyAccess::Grant()), context);
    if (!Check(state, blob)) {
      break;
    }
    benchmark::DoNotOptimize(blob);
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_SealBlob)->Name("Blob/Seal")->Arg(32)->Arg(4096);

// ParseBlob + OpenBlob, as Decrypt does.
void BM_OpenBlob(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  crypto::SecretBytes backing_key = PatternSecret(32);
  crypto::SecretBytes plaintext = PatternSecret(size);
  const kms::internal::EncryptionContext context;
  Bytes blob =
      ValueOrDie(kms::internal::SealBlob(BenchHeader(), backing_key,
                                         plaintext.Reveal(crypto::KeyAccess::Grant()), context),
                 "SealBlob");
  for (auto _ : state) {
    auto parsed = kms::internal::ParseBlob(blob);
    if (!Check(state, parsed)) {
      break;
    }
    auto opened = kms::internal::OpenBlob(*parsed, backing_key, context);
    if (!Check(state, opened)) {
      break;
    }
    benchmark::DoNotOptimize(opened);
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_OpenBlob)->Name("Blob/Open")->Arg(32)->Arg(4096);

// ---- Store and keystore: the lookups a Service call makes ----

// One key row plus its tags (two SELECTs); every Encrypt, Decrypt, GenerateDataKey does this
// once and ReEncrypt twice.
void BM_StoreGetKey(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  const auto& ctx = env.ctx();
  const std::string& key_id = env.key().key_id;
  for (auto _ : state) {
    auto row = env.store().GetKey(ctx.account_id, ctx.region, key_id);
    if (!Check(state, row)) {
      break;
    }
    benchmark::DoNotOptimize(row);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_StoreGetKey)->Name("Store/GetKey");

// Seal's lookup of the newest backing version (Encrypt, GenerateDataKey, ReEncrypt).
void BM_StoreListKeyVersions(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  const std::string& key_id = env.key().key_id;
  for (auto _ : state) {
    auto versions = env.store().ListKeyVersions(key_id);
    if (!Check(state, versions)) {
      break;
    }
    benchmark::DoNotOptimize(versions);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_StoreListKeyVersions)->Name("Store/ListKeyVersions");

// Open's lookup of the blob's backing version (Decrypt, ReEncrypt).
void BM_StoreGetKeyVersion(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  const std::string& key_id = env.key().key_id;
  const std::string& version_id = env.key().current_key_material_id;
  for (auto _ : state) {
    auto version = env.store().GetKeyVersion(key_id, version_id);
    if (!Check(state, version)) {
      break;
    }
    benchmark::DoNotOptimize(version);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_StoreGetKeyVersion)->Name("Store/GetKeyVersion");

// What a backing-key cache miss adds: the soft root keystore's Unwrap of one 32-byte key.
void BM_KeystoreUnwrap(benchmark::State& state) {
  UnwrapLoop(state, ServiceEnv::Get().root());
}
BENCHMARK(BM_KeystoreUnwrap)->Name("Keystore/Unwrap");

// ---- Service: KeyService without HTTP or JSON ----

void BM_ServiceEncrypt(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  EncryptWith(state, env, env.key().key_id);
}
BENCHMARK(BM_ServiceEncrypt)->Name("Service/Encrypt")->Arg(32)->Arg(4096);
// Two callers at once: the store has one connection behind one mutex, so this shows how much
// of a request is serialised. Real time, since the two threads' CPU time adds up.
BENCHMARK(BM_ServiceEncrypt)->Name("Service/Encrypt")->Arg(32)->Threads(2)->UseRealTime();

void BM_ServiceDecrypt(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  const size_t size = static_cast<size_t>(state.range(0));
  kms::DecryptRequest req;
  req.ciphertext_blob = EncryptOrDie(env, size);
  for (auto _ : state) {
    auto r = env.service().Decrypt(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, size);
}
BENCHMARK(BM_ServiceDecrypt)->Name("Service/Decrypt")->Arg(32)->Arg(4096);

void BM_ServiceGenerateDataKey(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  kms::GenerateDataKeyRequest req;
  req.key_id = env.key().key_id;
  req.key_spec = "AES_256";
  for (auto _ : state) {
    auto r = env.service().GenerateDataKey(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_ServiceGenerateDataKey)->Name("Service/GenerateDataKey_AES_256");

// A 32-byte plaintext moved from one key to another: Open under the source, Seal under the
// destination, and three store lookups of keys plus two of versions.
void BM_ServiceReEncrypt(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  kms::ReEncryptRequest req;
  req.ciphertext_blob = EncryptOrDie(env, 32);
  req.destination_key_id = env.other_key().key_id;
  for (auto _ : state) {
    auto r = env.service().ReEncrypt(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_ServiceReEncrypt)->Name("Service/ReEncrypt_32B");

// ---- Service: asymmetric and HMAC keys ----

// A key of `spec` and `usage`, created on first use (RSA generation is slow: not timed).
const kms::KeyMetadata& KeyOf(const std::string& spec, const std::string& usage) {
  static std::map<std::string, kms::KeyMetadata> keys;
  auto it = keys.find(spec + usage);
  if (it == keys.end()) {
    ServiceEnv& env = ServiceEnv::Get();
    kms::CreateKeyRequest req;
    req.key_spec = spec;
    req.key_usage = usage;
    it = keys.emplace(spec + usage, ValueOrDie(env.service().CreateKey(env.ctx(), req),
                                               "CreateKey")).first;
  }
  return it->second;
}

void SignBench(benchmark::State& state, const std::string& spec, const std::string& algorithm) {
  ServiceEnv& env = ServiceEnv::Get();
  kms::SignRequest req;
  req.key_id = KeyOf(spec, "SIGN_VERIFY").key_id;
  req.message = Bytes(256, 0x5a);
  req.signing_algorithm = algorithm;
  for (auto _ : state) {
    auto r = env.service().Sign(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, 0);
}
BENCHMARK_CAPTURE(SignBench, ecdsa_p256, "ECC_NIST_P256", "ECDSA_SHA_256")
    ->Name("Service/Sign_ECC_NIST_P256_256B");
BENCHMARK_CAPTURE(SignBench, rsa_2048_pss, "RSA_2048", "RSASSA_PSS_SHA_256")
    ->Name("Service/Sign_RSA_2048_PSS_256B");
BENCHMARK_CAPTURE(SignBench, ed25519, "ECC_NIST_EDWARDS25519", "ED25519_SHA_512")
    ->Name("Service/Sign_ED25519_256B");

void BM_ServiceVerifyP256(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  kms::SignRequest sign;
  sign.key_id = KeyOf("ECC_NIST_P256", "SIGN_VERIFY").key_id;
  sign.message = Bytes(256, 0x5a);
  sign.signing_algorithm = "ECDSA_SHA_256";
  kms::VerifyRequest req;
  req.key_id = sign.key_id;
  req.message = sign.message;
  req.signing_algorithm = sign.signing_algorithm;
  req.signature = ValueOrDie(env.service().Sign(env.ctx(), sign), "Sign").signature;
  for (auto _ : state) {
    auto r = env.service().Verify(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_ServiceVerifyP256)->Name("Service/Verify_ECC_NIST_P256_256B");

void BM_ServiceGenerateMac(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  kms::MacRequest req;
  req.key_id = KeyOf("HMAC_256", "GENERATE_VERIFY_MAC").key_id;
  req.message = Bytes(256, 0x5a);
  req.mac_algorithm = "HMAC_SHA_256";
  for (auto _ : state) {
    auto r = env.service().GenerateMac(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_ServiceGenerateMac)->Name("Service/GenerateMac_HMAC_256_256B");

// ---- Api: the JSON codec in front of the service ----

std::string EncryptBody(const std::string& key_id, size_t size) {
  return R"({"KeyId":")" + key_id + R"(","Plaintext":")" + PlaintextBase64(size) + R"("})";
}

void RunHandle(benchmark::State& state, api::KmsApi& api, const std::string& body, size_t size) {
  ServiceEnv& env = ServiceEnv::Get();
  for (auto _ : state) {
    api::JsonResponse r = api.Handle(env.ctx(), "TrentService.Encrypt", body);
    if (r.status != 200) {
      state.SkipWithError(r.body.c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, size);
}

// Handle over the real service: compare with Service/Encrypt at the same size.
void BM_ApiEncrypt(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  const size_t size = static_cast<size_t>(state.range(0));
  RunHandle(state, env.api(), EncryptBody(env.key().key_id, size), size);
}
BENCHMARK(BM_ApiEncrypt)->Name("Api/Encrypt")->Arg(32)->Arg(4096);

// Handle over a service that answers at once: parse, validate, decode, encode, dump.
void BM_ApiCodecEncrypt(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  const size_t size = static_cast<size_t>(state.range(0));
  RunHandle(state, env.canned_api(), EncryptBody(env.key().key_id, size), size);
}
BENCHMARK(BM_ApiCodecEncrypt)->Name("ApiCodec/Encrypt")->Arg(32)->Arg(4096);

// ---- CreateKey last: it grows the database the other rows read ----

// A new UUID and version id, 32 random bytes wrapped by the root key, the default policy as
// JSON, and one durable transaction (WAL + synchronous=FULL: an fsync per key). Real time,
// since most of it is spent waiting for the disk, which CPU time does not count.
void BM_ServiceCreateKey(benchmark::State& state) {
  ServiceEnv& env = ServiceEnv::Get();
  const kms::CreateKeyRequest req;
  for (auto _ : state) {
    auto r = env.service().CreateKey(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, 0);
}
BENCHMARK(BM_ServiceCreateKey)->Name("Service/CreateKey")->UseRealTime();

// ---- Pkcs11: SoftHSM2 tokens in a temporary directory ----

// A KeyService whose root key is in one SoftHSM2 token, with a custom key store on another.
class Pkcs11Env {
 public:
  static Pkcs11Env& Get() {
    static Pkcs11Env env;
    return env;
  }

  kms::KeyService& service() { return *service_; }
  keystore::RootKeystore& root() { return *root_; }
  const kms::CallContext& ctx() const { return ctx_; }
  const kms::KeyMetadata& root_key() const { return root_key_; }
  const kms::KeyMetadata& token_key() const { return token_key_; }

 private:
  static constexpr const char* kModule = keystore::testing::kSoftHsmModule;
  static constexpr const char* kPin = "bench-pin-1";

  Pkcs11Env()
      : dir_(std::filesystem::temp_directory_path() /
             ("scy-bench-p11-" + std::to_string(::getpid()))) {
    std::string failed = keystore::testing::MakeSoftHsmTokens(dir_, {"bench-root", "bench-cks"},
                                                              kPin);
    if (!failed.empty()) {
      Die("SoftHSM2 tokens", MakeError(ErrorCode::kInternal, failed));
    }
    keystore::Pkcs11Options options;
    options.module = kModule;
    options.token_label = "bench-root";
    options.key_label = "root";
    options.pin = crypto::SecretBytes(AsBytes(kPin));
    OkOrDie(keystore::CreatePkcs11RootKey(options), "CreatePkcs11RootKey");
    root_ = ValueOrDie(keystore::OpenPkcs11Keystore(options), "OpenPkcs11Keystore");
    store_ = ValueOrDie(storage::OpenSqliteStore(dir_ / "db"), "OpenSqliteStore");
    auto clock = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1700000000));
    service_ = kms::KeyService::Create(
        store_.get(), root_.get(), clock, {},
        {{"cluster-benchbenchbe", kModule, "bench-cks", std::nullopt}});
    ctx_ = {"111122223333", "us-east-1", "arn:aws:iam::111122223333:root", "bench"};
    root_key_ = ValueOrDie(service_->CreateKey(ctx_, {}), "CreateKey");
    kms::CreateCustomKeyStoreRequest create;
    create.custom_key_store_name = "bench";
    create.cloud_hsm_cluster_id = "cluster-benchbenchbe";
    create.trust_anchor_certificate = TrustAnchor();
    create.key_store_password = crypto::SecretBytes(AsBytes(kPin));
    std::string store_id =
        ValueOrDie(service_->CreateCustomKeyStore(ctx_, create), "CreateCustomKeyStore");
    OkOrDie(service_->ConnectCustomKeyStore(ctx_, store_id), "ConnectCustomKeyStore");
    kms::CreateKeyRequest in_store;
    in_store.origin = "AWS_CLOUDHSM";
    in_store.custom_key_store_id = store_id;
    token_key_ = ValueOrDie(service_->CreateKey(ctx_, in_store), "CreateKey in the token");
  }

  // A throwaway self-signed certificate (CreateCustomKeyStore checks only that it is one).
  std::string TrustAnchor() {
    std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                      "-days 1 -subj /CN=bench -keyout " +
                      (dir_ / "anchor.key").string() + " -out " + (dir_ / "anchor.pem").string() +
                      " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      Die("openssl req", MakeError(ErrorCode::kInternal, "cannot make a trust anchor"));
    }
    std::ifstream in(dir_ / "anchor.pem");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  ~Pkcs11Env() {
    service_.reset();
    root_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<keystore::RootKeystore> root_;
  std::unique_ptr<kms::KeyService> service_;
  kms::CallContext ctx_;
  kms::KeyMetadata root_key_;
  kms::KeyMetadata token_key_;
};

// Encrypt with the root key in a SoftHSM2 token: the backing key is cached after the first
// call, so this should match Service/Encrypt (soft root).
void BM_Pkcs11RootEncrypt(benchmark::State& state) {
  Pkcs11Env& env = Pkcs11Env::Get();
  EncryptWith(state, env, env.root_key().key_id);
}
BENCHMARK(BM_Pkcs11RootEncrypt)->Name("Pkcs11/Encrypt_RootInToken")->Arg(32)->Arg(4096);

// Encrypt with a key whose material is a key object inside the token (custom key store).
void BM_Pkcs11TokenKeyEncrypt(benchmark::State& state) {
  Pkcs11Env& env = Pkcs11Env::Get();
  EncryptWith(state, env, env.token_key().key_id);
}
BENCHMARK(BM_Pkcs11TokenKeyEncrypt)->Name("Pkcs11/Encrypt_KeyInToken")->Arg(32)->Arg(4096);

void BM_Pkcs11TokenKeyDecrypt(benchmark::State& state) {
  Pkcs11Env& env = Pkcs11Env::Get();
  kms::DecryptRequest req;
  req.ciphertext_blob = ValueOrDie(
      env.service().Encrypt(env.ctx(), MakeEncryptRequest(env.token_key().key_id, 32)), "Encrypt")
                            .ciphertext_blob;
  for (auto _ : state) {
    auto r = env.service().Decrypt(env.ctx(), req);
    if (!Check(state, r)) {
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  SetThroughput(state, 32);
}
BENCHMARK(BM_Pkcs11TokenKeyDecrypt)->Name("Pkcs11/Decrypt_KeyInToken")->Arg(32);

// What a backing-key cache miss adds with the root in the token.
void BM_Pkcs11RootUnwrap(benchmark::State& state) {
  UnwrapLoop(state, Pkcs11Env::Get().root());
}
BENCHMARK(BM_Pkcs11RootUnwrap)->Name("Pkcs11/Unwrap_RootInToken");

}  // namespace
}  // namespace scytale::bench

BENCHMARK_MAIN();

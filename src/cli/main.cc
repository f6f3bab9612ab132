// The `scytale` executable: `serve`, `init`, `migrate`, `audit verify`, `audit query` and
// `version`.

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "api/api.h"
#include "audit/audit.h"
#include "auth/auth.h"
#include "iam/iam.h"
#include "keystore/keystore.h"
#include "kms/kms.h"
#include "server/quotas.h"
#include "server/server.h"
#include "storage/caching_store.h"
#include "storage/migrate.h"
#include "storage/storage.h"

#ifndef SCYTALE_VERSION
#define SCYTALE_VERSION "0.0.0"
#endif

namespace scytale::cli {
namespace {

// The root keystore: `soft` (a file in the data directory) or `pkcs11` (a key in an HSM token).
// The PIN is never a flag: it comes from SCYTALE_PKCS11_PIN or --pkcs11-pin-file.
struct KeystoreFlags {
  std::string kind = "soft";
  std::string pkcs11_module;
  std::string pkcs11_token;
  std::string pkcs11_key_label;
  std::string pkcs11_pin_file;
};

void AddKeystoreOptions(CLI::App* cmd, KeystoreFlags* k) {
  cmd->add_option("--keystore", k->kind,
                  "root of trust: soft (a key file in the data directory) or pkcs11 (a "
                  "non-extractable key in an HSM token)")
      ->capture_default_str()
      ->check(CLI::IsMember({"soft", "pkcs11"}));
  cmd->add_option("--pkcs11-module", k->pkcs11_module,
                  "PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so");
  cmd->add_option("--pkcs11-token", k->pkcs11_token, "label of the PKCS#11 token");
  cmd->add_option("--pkcs11-key-label", k->pkcs11_key_label, "label of the root key in the token");
  cmd->add_option("--pkcs11-pin-file", k->pkcs11_pin_file,
                  "0600 file holding the token user's PIN (default: SCYTALE_PKCS11_PIN)");
}

struct ServeFlags {
  KeystoreFlags keystore;
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  std::string account_id = "111122223333";
  std::string regions;
  int threads = 0;
  int blocking_threads = 0;
  size_t max_body_bytes = 1024 * 1024;
  size_t max_header_bytes = 16 * 1024;
  int header_timeout_seconds = 10;
  int idle_timeout_seconds = 60;
  int drain_timeout_seconds = 15;
  std::string tls_cert;
  std::string tls_key;
  int tls_handshake_timeout_seconds = 10;
  bool insecure_listen = false;
  size_t max_connections = 4096;
  size_t max_connections_per_ip = 256;
  std::string seed_file;
  int maintenance_interval_seconds = 60;
  std::string testing_clock_file;  // hidden: end-to-end tests only
  std::string audit_dir;           // default <data-dir>/audit
  int audit_digest_interval_seconds = 60;
  uint64_t audit_max_file_bytes = 64 << 20;
  int audit_commit_delay_us = 200;
  std::string log_level = "info";
  std::string store;  // default: SCYTALE_STORE_URL, else SQLite in the data directory
  std::string request_quotas = "off";      // off | aws
  std::vector<std::string> request_quota;  // NAME=RPS, each overriding (or adding) one quota
  size_t store_pool_size = 8;
  // --cloudhsm-cluster CLUSTER_ID=MODULE_PATH:TOKEN_LABEL[:TRUST_ANCHOR_PEM], repeatable.
  std::vector<std::string> cloudhsm_clusters;
};

int Fail(const std::string& message) {
  std::cerr << "scytale: " << message << std::endl;
  return 1;
}

// Keeps the secrets a process holds (the root key, unwrapped backing keys, plaintexts, data
// keys, secret access keys) out of core dumps and debuggers. Called first thing by every
// subcommand that loads a secret. PR_SET_DUMPABLE 0 stops core files and same-user ptrace;
// RLIMIT_CORE 0 (soft and hard, so no child can raise it again) also covers
// fs.suid_dumpable=2, and a core_pattern pipe handler such as systemd-coredump honours it too.
// A failure is reported, not fatal: the OpenSSL secure heap and wiping still apply.
void KeepSecretsOutOfCoreDumps() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::cerr << "scytale: warning: prctl(PR_SET_DUMPABLE, 0) failed: " << std::strerror(errno)
              << std::endl;
  }
  const struct rlimit no_core = {0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    std::cerr << "scytale: warning: setrlimit(RLIMIT_CORE, 0) failed: " << std::strerror(errno)
              << std::endl;
  }
}

// Every connection is a descriptor. The soft limit is often 1024, below --max-connections; the
// hard limit is what the administrator allows, so take it all (as Go's runtime does), and say
// so when even that is too low: past it accept() fails and clients see resets.
void RaiseOpenFileLimit(size_t max_connections) {
  constexpr rlim_t kReserve = 256;  // store, audit files, PKCS#11, the listener
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
    (void)::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < max_connections + kReserve) {
    std::cerr << "scytale: warning: the open-file limit (" << limit.rlim_cur
              << ") is below --max-connections (" << max_connections << ") plus " << kReserve
              << " for the store and logs: raise it (ulimit -n, LimitNOFILE=) or lower "
                 "--max-connections"
              << std::endl;
  }
}

bool SplitHostPort(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return false;
  }
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) {
      return false;
    }
    *port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

// Writes the generated root credentials once, 0600, in the shared-credentials-file format so
// that AWS_SHARED_CREDENTIALS_FILE can point at it.
Status WriteCredentialsFile(const std::filesystem::path& path, const iam::RootCredentials& c) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kInternal, "cannot write " + path.string());
  }
  ::fchmod(fd, 0600);
  std::string text =
      "[default]\naws_access_key_id = " + c.access_key_id + "\naws_secret_access_key = " +
      std::string(AsString(c.secret_access_key.Reveal(crypto::KeyAccess::Grant()))) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  return ok ? Ok() : Status(MakeError(ErrorCode::kInternal, "cannot write " + path.string()));
}

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return std::nullopt;
  }
  return std::string(v);
}

// A store named by --store (or SCYTALE_STORE_URL): "" for SQLite in the data directory,
// "sqlite:DIR" for SQLite in DIR, or a postgres:// (postgresql://) URL.
struct OpenedStore {
  std::unique_ptr<storage::Store> store;
  std::string description;  // for logs: a path, or the URL without its password
};

Result<OpenedStore> OpenStore(const std::string& spec, const std::filesystem::path& data_dir,
                              size_t pool_size) {
  if (spec.empty() || spec.starts_with("sqlite:")) {
    std::filesystem::path dir = spec.empty() ? data_dir : std::filesystem::path(spec.substr(7));
    std::filesystem::path file = dir / "scytale.db";
    SCY_ASSIGN_OR_RETURN(auto store, storage::OpenSqliteStore(file));
    return OpenedStore{std::move(store), file.string()};
  }
  if (spec.starts_with("postgres://") || spec.starts_with("postgresql://")) {
    if (pool_size < 1 || pool_size > 1000) {
      return MakeError(ErrorCode::kValidation, "--store-pool-size must be between 1 and 1000");
    }
    SCY_ASSIGN_OR_RETURN(auto store,
                         storage::OpenPostgresStore({.url = spec, .pool_size = pool_size}));
    return OpenedStore{std::move(store), storage::RedactStoreUrl(spec)};
  }
  return MakeError(ErrorCode::kValidation,
                   "the store must be postgres://... (or postgresql://...) or sqlite:DIR, not " +
                       storage::RedactStoreUrl(spec));
}

Result<keystore::Pkcs11Options> Pkcs11OptionsFrom(const KeystoreFlags& k) {
  keystore::Pkcs11Options o;
  o.module = k.pkcs11_module;
  o.token_label = k.pkcs11_token;
  o.key_label = k.pkcs11_key_label;
  std::optional<std::filesystem::path> pin_file;
  if (!k.pkcs11_pin_file.empty()) {
    pin_file = k.pkcs11_pin_file;
  }
  SCY_ASSIGN_OR_RETURN(o.pin, keystore::ReadPkcs11Pin(pin_file));
  return o;
}

Result<std::unique_ptr<keystore::RootKeystore>> OpenRootKeystore(const KeystoreFlags& k,
                                                                 const std::filesystem::path& dir) {
  if (k.kind == "pkcs11") {
    SCY_ASSIGN_OR_RETURN(keystore::Pkcs11Options o, Pkcs11OptionsFrom(k));
    return keystore::OpenPkcs11Keystore(o);
  }
  if (!k.pkcs11_module.empty() || !k.pkcs11_token.empty() || !k.pkcs11_key_label.empty() ||
      !k.pkcs11_pin_file.empty()) {
    return MakeError(ErrorCode::kInvalidState, "the --pkcs11-* flags need --keystore pkcs11");
  }
  keystore::SoftOptions soft;
  soft.path = dir / "root.key";
  soft.passphrase = Env("SCYTALE_ROOT_PASSPHRASE");
  return keystore::OpenSoftKeystore(soft);
}

// `scytale init --keystore pkcs11 ...`: creates the root key inside the token, then checks that
// the token wraps and unwraps with it.
int InitKeystore(const KeystoreFlags& k) {
  KeepSecretsOutOfCoreDumps();  // the token PIN is read below
  if (k.kind != "pkcs11") {
    return Fail(
        "init creates a root key in a PKCS#11 token (--keystore pkcs11); the soft root "
        "key is created by `scytale serve` on its first start");
  }
  auto o = Pkcs11OptionsFrom(k);
  if (!o) {
    return Fail(o.error().message);
  }
  if (Status created = keystore::CreatePkcs11RootKey(*o); !created) {
    return Fail(created.error().message);
  }
  auto root = keystore::OpenPkcs11Keystore(*o);
  if (!root) {
    return Fail(root.error().message);
  }
  crypto::SecretBytes probe(AsBytes("scytale init: the token wraps and unwraps"));
  auto wrapped = (*root)->Wrap(probe, {});
  auto back =
      wrapped ? (*root)->Unwrap(*wrapped, {}) : Result<crypto::SecretBytes>(wrapped.error());
  if (!back || !(*back == probe)) {
    return Fail("the root key was created, but the token cannot wrap and unwrap with it: " +
                (back ? std::string("round trip mismatch") : back.error().message));
  }
  std::cout << "root key created in the token: " << (*root)->Describe() << std::endl;
  return 0;
}

// The PKCS#11 tokens custom key stores may use, from --cloudhsm-cluster
// CLUSTER_ID=MODULE_PATH:TOKEN_LABEL[:TRUST_ANCHOR_PEM_FILE]. Cluster ids follow the AWS
// model's CloudHsmClusterIdType (cluster-[2-7a-zA-Z]{11,16}); a token must not be the root's
// (the login of one application is shared by all its sessions with a token).
Result<std::vector<kms::CloudHsmCluster>> CloudHsmClustersFrom(const ServeFlags& flags) {
  static const std::regex kClusterId("cluster-[2-7a-zA-Z]{11,16}");
  std::vector<kms::CloudHsmCluster> out;
  for (const std::string& spec : flags.cloudhsm_clusters) {
    auto bad = [&](const std::string& why) {
      return MakeError(ErrorCode::kInvalidState, "--cloudhsm-cluster " + spec + ": " + why);
    };
    size_t eq = spec.find('=');
    if (eq == std::string::npos) {
      return bad("expected CLUSTER_ID=MODULE_PATH:TOKEN_LABEL[:TRUST_ANCHOR_PEM_FILE]");
    }
    kms::CloudHsmCluster c;
    c.cluster_id = spec.substr(0, eq);
    if (!std::regex_match(c.cluster_id, kClusterId)) {
      return bad("the cluster id must match cluster-[2-7a-zA-Z]{11,16} (as AWS's)");
    }
    std::vector<std::string> parts;
    std::stringstream rest(spec.substr(eq + 1));
    for (std::string part; std::getline(rest, part, ':');) {
      parts.push_back(part);
    }
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty() ||
        parts[1].size() > 32) {
      return bad("expected MODULE_PATH:TOKEN_LABEL[:TRUST_ANCHOR_PEM_FILE] after the '='");
    }
    c.module = parts[0];
    c.token_label = parts[1];
    if (parts.size() == 3) {
      std::ifstream in(parts[2]);
      if (!in) {
        return bad("cannot read the trust anchor " + parts[2]);
      }
      std::string pem((std::istreambuf_iterator<char>(in)), {});
      if (!crypto::CertificatePemToDer(pem)) {
        return bad(parts[2] + " is not a PEM X.509 certificate");
      }
      c.trust_anchor_pem = std::move(pem);
    }
    for (const auto& other : out) {
      if (other.cluster_id == c.cluster_id) {
        return bad("cluster " + c.cluster_id + " is configured twice");
      }
      if (other.token_label == c.token_label && other.module == c.module) {
        return bad("token '" + c.token_label + "' already backs cluster " + other.cluster_id);
      }
    }
    if (flags.keystore.kind == "pkcs11" && c.token_label == flags.keystore.pkcs11_token) {
      return bad("token '" + c.token_label + "' holds the root key; use a token of its own");
    }
    out.push_back(std::move(c));
  }
  return out;
}

// SIGHUP: new handshakes get the files as they are now; connections already open keep theirs.
void ReloadTls(server::HttpServer& http) {
  if (http.TlsDescription().empty()) {
    std::cout << "received SIGHUP: nothing to reload (no --tls-cert)" << std::endl;
    return;
  }
  auto reloaded = http.ReloadTls();
  if (!reloaded) {
    std::cerr << "scytale: tls: reload failed, still serving " << http.TlsDescription() << ": "
              << reloaded.error().message << std::endl;
    return;
  }
  std::cout << "tls: reloaded, serving the certificate " << *reloaded << std::endl;
}

int Serve(const ServeFlags& flags) {
  KeepSecretsOutOfCoreDumps();  // before the root key, or any other secret, is loaded
  if (!crypto::InitLockedMemory(1 << 16)) {
    std::cerr << "scytale: warning: cannot lock memory for the root key (RLIMIT_MEMLOCK); "
                 "it stays in ordinary memory"
              << std::endl;
  }
  if (!std::regex_match(flags.account_id, std::regex("[0-9]{12}"))) {
    return Fail("--account-id must be 12 digits");
  }
  server::ServerOptions options;
  if (!SplitHostPort(flags.listen, &options.host, &options.port)) {
    return Fail("--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
  }
  // No I/O thread waits for an audit fsync (calls are answered from the audit log's committer)
  // or for the store (calls that may are served by the blocking pool below): one per core
  // serves the data plane. More only add context switches: with 32, Encrypt cost twice the CPU
  // per call (bench/results/load-2026-11-29.md).
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.threads = flags.threads > 0 ? flags.threads : std::max(2, cores);
  options.max_body_bytes = flags.max_body_bytes;
  options.max_header_bytes = flags.max_header_bytes;
  options.read_timeout = std::chrono::seconds(flags.header_timeout_seconds);
  options.idle_timeout = std::chrono::seconds(flags.idle_timeout_seconds);
  options.drain_timeout = std::chrono::seconds(flags.drain_timeout_seconds);
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return Fail("give both --tls-cert and --tls-key, or neither");
  }
  if (!flags.tls_cert.empty()) {
    options.tls = server::TlsOptions{flags.tls_cert, flags.tls_key};
  }
  options.handshake_timeout = std::chrono::seconds(flags.tls_handshake_timeout_seconds);
  options.insecure_listen = flags.insecure_listen;
  options.max_connections = flags.max_connections;
  options.max_connections_per_ip = flags.max_connections_per_ip;
  // Before anything is opened or created: a refused address or a bad certificate changes nothing.
  if (Status checked = server::CheckServerOptions(options); !checked) {
    return Fail(checked.error().message);
  }
  RaiseOpenFileLimit(flags.max_connections);

  std::filesystem::path dir = flags.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Fail("cannot create --data-dir " + dir.string() + ": " + ec.message());
  }
  ::chmod(dir.c_str(), 0700);

  auto clusters = CloudHsmClustersFrom(flags);
  if (!clusters) {
    return Fail(clusters.error().message);
  }
  auto root = OpenRootKeystore(flags.keystore, dir);
  if (!root) {
    return Fail(root.error().message);
  }
  // The audit log opens before anything can be called: no call is served unrecorded.
  audit::LogOptions audit_options;
  audit_options.dir =
      flags.audit_dir.empty() ? dir / "audit" : std::filesystem::path(flags.audit_dir);
  audit_options.signing_key_path = dir / "audit-signing.key";
  audit_options.root = root->get();
  audit_options.digest_interval = std::chrono::seconds(flags.audit_digest_interval_seconds);
  audit_options.max_file_bytes = flags.audit_max_file_bytes;
  audit_options.commit_delay = std::chrono::microseconds(flags.audit_commit_delay_us);
  auto audit_log = audit::AuditLog::Open(audit_options);
  if (!audit_log) {
    return Fail("cannot open the audit log in " + audit_options.dir.string() + ": " +
                audit_log.error().message);
  }
  for (const audit::TornTail& torn : (*audit_log)->TornTailsCutAtOpen()) {
    std::cerr << "scytale: warning: the audit log ended in a torn record: " << torn.bytes
              << " bytes without a newline at offset " << torn.offset << " of "
              << (audit_options.dir / torn.file).string()
              << " (a write cut off by a crash; never acknowledged). They were cut off; the "
                 "chain goes on from the last complete record"
              << std::endl;
  }
  // The URL may hold a password: from the environment it stays out of `ps`.
  std::string store_spec =
      flags.store.empty() ? Env("SCYTALE_STORE_URL").value_or("") : flags.store;
  auto opened = OpenStore(store_spec, dir, flags.store_pool_size);
  if (!opened) {
    return Fail("cannot open the store: " + opened.error().message);
  }
  // Every node keeps the rows each request reads (keys, versions, aliases, access keys) and
  // drops them when they change, here or, on PostgreSQL, through any other node.
  auto cached = storage::CachingStore::Wrap(std::move(opened->store), {});
  if (!cached) {
    return Fail("cannot watch the store's changes: " + cached.error().message);
  }
  storage::CachingStore* store = cached->get();
  auto clock = SystemClock();
  // The key service's clock (deletion windows, rotation) may be shifted by end-to-end tests;
  // SigV4 always checks request times against the real clock.
  auto service_clock = clock;
  if (!flags.testing_clock_file.empty()) {
    std::cout << "warning: the key service clock follows " << flags.testing_clock_file
              << " (testing only)" << std::endl;
    service_clock = FileOffsetClock(flags.testing_clock_file);
  }
  // Session credentials expire by the service clock, so tests can carry time forward.
  iam::Identities identities(store, root->get(), service_clock);

  std::optional<iam::RootCredentials> given;
  auto env_id = Env("SCYTALE_ADMIN_ACCESS_KEY_ID");
  auto env_secret = Env("SCYTALE_ADMIN_SECRET_ACCESS_KEY");
  if (env_id.has_value() != env_secret.has_value()) {
    return Fail(
        "set both SCYTALE_ADMIN_ACCESS_KEY_ID and SCYTALE_ADMIN_SECRET_ACCESS_KEY, or "
        "neither");
  }
  if (env_id) {
    given = iam::RootCredentials{*env_id, crypto::SecretBytes(AsBytes(*env_secret)), false};
  }
  auto creds = identities.BootstrapAccount(flags.account_id, std::move(given));
  if (!creds) {
    return Fail(creds.error().message);
  }
  std::filesystem::path creds_file = dir / "admin-credentials";
  if (creds->generated) {
    if (Status s = WriteCredentialsFile(creds_file, *creds); !s) {
      return Fail(s.error().message);
    }
    std::cout << "admin credentials written to " << creds_file.string() << std::endl;
  } else if (!env_id && std::filesystem::exists(creds_file)) {
    std::cout << "admin credentials in " << creds_file.string() << std::endl;
  }

  std::vector<std::string> region_list;  // in the order given: the first is the seed default
  std::stringstream regions(flags.regions);
  for (std::string r; std::getline(regions, r, ',');) {
    if (!r.empty()) {
      region_list.push_back(r);
    }
  }
  std::set<std::string> served_regions(region_list.begin(), region_list.end());
  static const std::regex kRegionName("[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+");
  auth::RegionPolicy region_policy = [served_regions](std::string_view region) {
    if (!served_regions.empty()) {
      return served_regions.contains(std::string(region));
    }
    return std::regex_match(region.begin(), region.end(), kRegionName);
  };
  auth::CredentialLookup lookup =
      [&identities](std::string_view access_key_id) -> Result<auth::Credential> {
    SCY_ASSIGN_OR_RETURN(iam::AccessKey key,
                         identities.LookupAccessKey(std::string(access_key_id)));
    return auth::Credential{key.access_key_id, key.account_id, key.principal_arn,
                            std::move(key.secret_access_key), key.session_token};
  };
  auto verifier = auth::SigV4Verifier::Create(lookup, region_policy, clock, {"kms", "iam", "sts"});

  auto iam_service = iam::IamService::Create(store, root->get(), service_clock, &identities);
  auto query_api = api::QueryApi::Create(iam_service.get());
  auto key_service = kms::KeyService::Create(
      store, root->get(), service_clock,
      [&iam_service](const std::string& principal_arn) {
        return iam_service->IdentityPolicies(principal_arn);
      },
      *clusters);
  store->AddObserver([&iam_service, &key_service](const storage::Change& change) {
    iam_service->OnStoreChange(change);
    key_service->OnStoreChange(change);
  });
  // Destroyed before the services, on every way out: no observer runs once they are gone.
  struct ObserversGone {
    storage::CachingStore* store;
    ~ObserversGone() { store->RemoveObservers(); }
  } observers_gone{store};
  // Custom key stores connected before the restart are connected again (AWS keeps them so).
  if (auto restored = key_service->RestoreCustomKeyStoreConnections(); !restored) {
    return Fail("cannot restore custom key store connections: " + restored.error().message);
  } else {
    if (restored->connected > 0) {
      std::cout << "custom key stores: " << restored->connected << " connected again" << std::endl;
    }
    for (const auto& failure : restored->failures) {
      std::cerr << "scytale: warning: custom key store " << failure
                << " could not be connected again; it is FAILED" << std::endl;
    }
  }
  if (!flags.seed_file.empty()) {
    std::ifstream in(flags.seed_file);
    if (!in) {
      return Fail("cannot read --seed " + flags.seed_file);
    }
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::string default_region = region_list.empty() ? "us-east-1" : region_list.front();
    auto seeded = kms::ApplySeed(*key_service, text, flags.account_id, default_region);
    if (!seeded) {
      return Fail(seeded.error().message);
    }
    std::cout << "seed: " << seeded->keys_created << " keys created, " << seeded->keys_present
              << " already present, " << seeded->aliases_created << " aliases created" << std::endl;
  }
  auto kms_api = api::KmsApi::Create(key_service.get());
  if (!kms_api) {
    return Fail(kms_api.error().message);
  }
  server::Metrics metrics;
  options.metrics = &metrics;  // connections and TLS handshakes
  server::AppOptions app_options{audit_log->get(), flags.account_id, &metrics};
  app_options.key_service = key_service.get();  // cache and key-state series of /metrics
  app_options.request_log = true;
  app_options.log_level = flags.log_level == "debug"   ? server::LogLevel::kDebug
                          : flags.log_level == "warn"  ? server::LogLevel::kWarn
                          : flags.log_level == "error" ? server::LogLevel::kError
                                                       : server::LogLevel::kInfo;
  app_options.health_check = [store] { return store->Ping(); };
  // Request quotas: AWS's defaults and/or the ones given, per calling account.
  server::RequestQuotas::Table quota_table;
  if (flags.request_quotas == "aws") {
    quota_table = server::RequestQuotas::AwsDefaults();
  }
  for (const std::string& given : flags.request_quota) {
    auto parsed = server::RequestQuotas::ParseQuota(given);
    if (!parsed) {
      return Fail(parsed.error().message);
    }
    quota_table[parsed->first] = parsed->second;
  }
  std::optional<server::RequestQuotas> quotas;
  if (!quota_table.empty()) {
    quotas.emplace(std::move(quota_table));
    app_options.quotas = &*quotas;
  }
  // Calls that may wait (store writes and uncached reads, HSMs, IAM) run here, so that they
  // neither hold up the I/O threads nor queue behind each other: concurrent SQLite and
  // PostgreSQL commits share fsyncs.
  boost::asio::thread_pool blocking_pool(static_cast<size_t>(
      flags.blocking_threads > 0 ? flags.blocking_threads : std::max(32, 4 * cores)));
  app_options.run_blocking = [&blocking_pool](std::move_only_function<void()> task) {
    boost::asio::post(blocking_pool, std::move(task));
  };
  server::App app(verifier.get(), kms_api->get(), query_api.get(), std::move(app_options));
  // Requests refused before reaching the App (413, 431, 400) are audited too.
  options.on_rejected = [&app](const server::Rejection& r) { app.RecordRejection(r); };
  // Calls are answered from the audit log's committer once their record is durable: no server
  // thread waits on an fsync.
  auto http = server::HttpServer::Create(
      options, server::AsyncHandler(
                   [&app](const server::HttpRequest& r, const std::string& id,
                          server::Reply reply) { app.HandleAsync(r, id, std::move(reply)); }));
  if (!http) {
    return Fail(http.error().message);
  }

  // Signals are handled on a thread of their own, so that Stop() runs as ordinary code. SIGHUP
  // reloads the TLS certificate and key (certbot and the like renew files in place).
  boost::asio::io_context signal_ioc;
  boost::asio::signal_set signals(signal_ioc, SIGTERM, SIGINT, SIGHUP);
  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& wait_ec, int signo) {
      if (wait_ec) {
        return;
      }
      if (signo == SIGHUP) {
        ReloadTls(**http);
      } else {
        std::cout << "received signal " << signo << ", draining" << std::endl;
        (*http)->Stop();
      }
      wait_for_signal();
    });
  };
  wait_for_signal();
  std::thread signal_thread([&] { signal_ioc.run(); });

  // Background maintenance: deletions whose window has passed, rotations that are due.
  std::mutex maintenance_mu;
  std::condition_variable maintenance_cv;
  bool stopping = false;
  std::thread maintenance([&] {
    std::unique_lock lock(maintenance_mu);
    while (!stopping) {
      lock.unlock();
      // Once per cluster, not once per node: on PostgreSQL a node that finds another running
      // the pass skips it.
      Result<kms::MaintenanceReport> report = kms::MaintenanceReport{};
      auto ran =
          store->RunExclusively("maintenance", [&] { report = key_service->RunMaintenance(); });
      if (!ran) {
        report = ran.error();
      }
      if (report) {
        // Audited as CloudTrail does (AwsServiceEvent); failures are logged by the App.
        (void)app.RecordMaintenance(*report);
      }
      if (report && report->error) {
        std::cerr << "scytale: maintenance stopped: " << report->error->message << std::endl;
      }
      if (!report) {
        std::cerr << "scytale: maintenance failed: " << report.error().message << std::endl;
      } else if (report->keys_deleted > 0 || report->keys_rotated > 0) {
        std::cout << "maintenance: " << report->keys_deleted << " keys deleted, "
                  << report->keys_rotated << " keys rotated" << std::endl;
      }
      lock.lock();
      maintenance_cv.wait_for(lock, std::chrono::seconds(flags.maintenance_interval_seconds),
                              [&] { return stopping; });
    }
  });

  std::cout << "keystore " << (*root)->Describe() << ", store " << opened->description
            << ", account " << flags.account_id << std::endl;
  std::cout << "audit log " << audit_options.dir.string() << std::endl;
  if (options.tls) {
    std::cout << "tls: serving the certificate " << (*http)->TlsDescription() << std::endl;
  }
  std::cout << "listening on " << options.host << ":" << (*http)->port() << std::endl;
  (*http)->Run();
  // Calls still being served finish (their records queue in the audit log, which Close writes).
  blocking_pool.join();
  {
    std::lock_guard lock(maintenance_mu);
    stopping = true;
  }
  maintenance_cv.notify_all();
  maintenance.join();
  signal_ioc.stop();
  signal_thread.join();
  if (Status closed = (*audit_log)->Close(); !closed) {
    std::cerr << "scytale: the final audit digest could not be written: " << closed.error().message
              << std::endl;
  }
  std::cout << "stopped" << std::endl;
  return 0;
}

struct MigrateFlags {
  KeystoreFlags keystore;
  std::string from;  // default: SCYTALE_MIGRATE_FROM_URL
  std::string to;    // default: SCYTALE_MIGRATE_TO_URL
  std::string data_dir = "./data";
};

// `scytale migrate --from STORE --to STORE`: copies every row of one store into an empty one
// (storage::MigrateStore) after checking that the root keystore unwraps what the source holds,
// and prints per table the rows and digests of both sides. 0 when the target reads back equal
// to the source; 1 otherwise (nothing is committed unless the copy went through).
int Migrate(const MigrateFlags& flags) {
  KeepSecretsOutOfCoreDumps();  // the root key is in memory, as in `serve`
  (void)crypto::InitLockedMemory(1 << 16);
  // URLs may hold a password: from the environment they stay out of `ps`.
  std::string from = flags.from.empty() ? Env("SCYTALE_MIGRATE_FROM_URL").value_or("") : flags.from;
  std::string to = flags.to.empty() ? Env("SCYTALE_MIGRATE_TO_URL").value_or("") : flags.to;
  if (from.empty() || to.empty()) {
    return Fail(
        "migrate needs --from and --to (or SCYTALE_MIGRATE_FROM_URL and "
        "SCYTALE_MIGRATE_TO_URL): sqlite:DIR or postgres://...");
  }
  if (from == to) {
    return Fail("--from and --to name the same store");
  }
  // A source that does not exist would be created empty; say so instead.
  if (from.starts_with("sqlite:") &&
      !std::filesystem::exists(std::filesystem::path(from.substr(7)) / "scytale.db")) {
    return Fail("--from " + from + ": there is no scytale.db in that directory");
  }
  std::filesystem::path dir = flags.data_dir;
  // The soft root would be created where none is: a new root unwraps nothing of the source.
  if (flags.keystore.kind == "soft" && !std::filesystem::exists(dir / "root.key")) {
    return Fail("no root key at " + (dir / "root.key").string() +
                ": --data-dir must be the data directory the source was served with (its "
                "root.key wraps the source's keys)");
  }
  auto root = OpenRootKeystore(flags.keystore, dir);
  if (!root) {
    return Fail(root.error().message);
  }
  constexpr size_t kPoolSize = 2;
  auto source = OpenStore(from, dir, kPoolSize);
  if (!source) {
    return Fail("cannot open the source: " + source.error().message);
  }
  auto target = OpenStore(to, dir, kPoolSize);
  if (!target) {
    return Fail("cannot open the target: " + target.error().message);
  }
  std::cout << "migrate: from " << source->description << " to " << target->description
            << std::endl;
  keystore::RootKeystore& r = **root;
  storage::RootCheck check;
  check.key_version = [&r](const storage::KeyRow& key, const storage::KeyVersionRow& version) {
    return kms::CheckRootUnwrapsKeyVersion(r, key, version);
  };
  check.custom_key_store = [&r](const storage::CustomKeyStoreRow& row) {
    return kms::CheckRootUnwrapsCustomKeyStorePassword(r, row);
  };
  check.access_key = [&r](const storage::AccessKeyRow& row) {
    return iam::CheckRootUnwrapsAccessKey(r, row);
  };
  auto start = std::chrono::steady_clock::now();
  auto report = storage::MigrateStore(*source->store, *target->store, check);
  if (!report) {
    return Fail("migrate: " + report.error().message);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report->root_checks.empty()) {
    std::cout << "root keystore: the source holds no wrapped value to check it with" << std::endl;
  }
  for (const std::string& checked : report->root_checks) {
    std::cout << "root keystore " << r.Describe() << " unwraps " << checked << std::endl;
  }
  std::printf("%-18s %10s %10s  %s\n", "TABLE", "SOURCE", "TARGET", "SHA-256 OF THE ROWS");
  int64_t rows = 0;
  for (const storage::TableReport& t : report->tables) {
    rows += t.source_rows;
    std::string digest = t.Matches()
                             ? t.source_digest + " (equal)"
                             : "source " + t.source_digest + ", target " + t.target_digest +
                                   " (read back " + std::to_string(t.target_read) + ") DIFFERENT";
    std::printf("%-18s %10lld %10lld  %s\n", t.table.c_str(), static_cast<long long>(t.source_rows),
                static_cast<long long>(t.target_rows), digest.c_str());
  }
  std::fflush(stdout);
  if (!report->Verified()) {
    return Fail(
        "migrate: the target does not read back as the source was copied (see the "
        "tables marked DIFFERENT); do not serve from it");
  }
  std::cout << "migrated " << rows << " rows in " << seconds << " s; the target reads back "
            << "equal to the source" << std::endl;
  return 0;
}

// `scytale audit verify DIR`: 0 when the log verifies, 1 when it does not (naming the first bad
// record), 2 when it cannot be read.
int AuditVerify(const std::string& dir, const std::string& public_key) {
  std::optional<std::filesystem::path> pem;
  if (!public_key.empty()) {
    pem = public_key;
  }
  auto report = audit::VerifyLog(dir, pem);
  if (!report) {
    std::cerr << "scytale: " << report.error().message << std::endl;
    return 2;
  }
  if (report->ok) {
    std::cout << "OK: " << report->message << std::endl;
    return 0;
  }
  std::cout << "FAILED: " << report->bad_file;
  if (report->bad_line > 0) {
    std::cout << ":" << report->bad_line;
  }
  if (report->bad_sequence) {
    std::cout << " (seq " << *report->bad_sequence << ")";
  }
  std::cout << ": " << report->message << std::endl;
  return 1;
}

std::string Field(const nlohmann::json& r, std::initializer_list<const char*> path) {
  const nlohmann::json* cur = &r;
  for (const char* p : path) {
    if (!cur->is_object() || !cur->contains(p)) {
      return "";
    }
    cur = &(*cur)[p];
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

int AuditQuery(const std::string& dir, const audit::QueryFilter& filter,
               const std::string& format) {
  auto records = audit::QueryLog(dir, filter);
  if (!records) {
    std::cerr << "scytale: " << records.error().message << std::endl;
    return 2;
  }
  if (format == "json") {
    for (const auto& r : *records) {
      std::cout << r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    std::cout << std::flush;
    return 0;
  }
  std::vector<std::array<std::string, 7>> rows;
  rows.push_back({"TIME", "EVENT", "OUTCOME", "PRINCIPAL", "KEY", "SOURCE", "REQUEST ID"});
  for (const auto& r : *records) {
    std::string outcome = audit::OutcomeOf(r);
    if (outcome != "success") {
      outcome += " (" + Field(r, {"errorCode"}) + ")";
    }
    std::string principal = Field(r, {"userIdentity", "arn"});
    if (principal.empty()) {
      principal = Field(r, {"userIdentity", "accessKeyId"});
    }
    std::string key;
    if (r.contains("resources") && r["resources"].is_array() && !r["resources"].empty()) {
      key = Field(r["resources"][0], {"ARN"});
    } else {
      key = Field(r, {"requestParameters", "keyId"});
    }
    rows.push_back({Field(r, {"eventTime"}), Field(r, {"eventName"}), outcome, principal, key,
                    Field(r, {"sourceIPAddress"}), Field(r, {"requestID"})});
  }
  std::array<size_t, 7> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(width[i] - row[i].size() + 2, ' ');
      }
    }
    std::cout << line << "\n";
  }
  std::cout << std::flush;
  return 0;
}

}  // namespace
}  // namespace scytale::cli

int main(int argc, char** argv) {
  CLI::App app{"Scytale: a self-hosted key management service that speaks the AWS KMS API"};
  app.require_subcommand(1);
  scytale::cli::ServeFlags flags;
  auto* serve = app.add_subcommand("serve", "serve the KMS API");
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (port 0 picks one)")
      ->capture_default_str();
  serve->add_option("--data-dir", flags.data_dir, "directory for the database and root key")
      ->capture_default_str();
  serve->add_option("--account-id", flags.account_id, "the default account")->capture_default_str();
  serve->add_option("--regions", flags.regions,
                    "comma-separated regions to serve (default: any valid region name)");
  serve->add_option("--threads", flags.threads,
                    "I/O threads, which also serve the cached data-plane calls (default: one per "
                    "core, at least 2)");
  serve->add_option("--blocking-threads", flags.blocking_threads,
                    "threads serving the calls that may wait on the store or an HSM (default: 4 "
                    "per core, at least 32: concurrent commits share fsyncs)");
  serve->add_option("--max-body-bytes", flags.max_body_bytes, "largest request body")
      ->capture_default_str();
  serve->add_option("--max-header-bytes", flags.max_header_bytes, "largest request header")
      ->capture_default_str();
  serve
      ->add_option("--header-timeout-seconds", flags.header_timeout_seconds,
                   "time for a whole request to arrive once it has started")
      ->capture_default_str();
  serve
      ->add_option("--idle-timeout-seconds", flags.idle_timeout_seconds,
                   "time a keep-alive connection may wait for its next request")
      ->capture_default_str();
  serve
      ->add_option("--drain-timeout-seconds", flags.drain_timeout_seconds,
                   "time in-flight requests get on SIGTERM")
      ->capture_default_str();
  serve->add_option("--tls-cert", flags.tls_cert,
                    "PEM certificate chain (the server's first): serve HTTPS only (TLS 1.2 and "
                    "1.3); reloaded on SIGHUP");
  serve->add_option("--tls-key", flags.tls_key,
                    "PEM private key of --tls-cert, unencrypted, readable only by the server");
  serve
      ->add_option("--tls-handshake-timeout-seconds", flags.tls_handshake_timeout_seconds,
                   "time a TLS client has to finish its handshake")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  serve->add_flag("--insecure-listen", flags.insecure_listen,
                  "serve plain HTTP on an address other than loopback (only behind a proxy "
                  "that terminates TLS)");
  serve
      ->add_option("--max-connections", flags.max_connections,
                   "open connections at most; more are closed as soon as accepted")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  serve
      ->add_option("--max-connections-per-ip", flags.max_connections_per_ip,
                   "open connections from one client address at most")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  serve->add_option("--seed", flags.seed_file,
                    "JSON file of keys (fixed ids), aliases and tags to create where absent");
  serve
      ->add_option("--maintenance-interval-seconds", flags.maintenance_interval_seconds,
                   "how often due deletions and rotations are carried out")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  serve->add_option("--audit-dir", flags.audit_dir,
                    "directory of the audit log (default: DATA_DIR/audit)");
  serve
      ->add_option("--audit-digest-interval-seconds", flags.audit_digest_interval_seconds,
                   "how often new audit records are sealed by a signed digest")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  serve
      ->add_option("--audit-max-file-bytes", flags.audit_max_file_bytes,
                   "an audit file is rotated before it grows past this size")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 40));
  serve
      ->add_option("--audit-commit-delay-us", flags.audit_commit_delay_us,
                   "group commit: while calls arrive together, the audit log waits this long "
                   "before each write and fdatasync so that more records share it (a lone call "
                   "is never delayed; 0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  serve
      ->add_option("--log-level", flags.log_level,
                   "level of the JSON request log on stderr (one line per request; 5xx at "
                   "error, others at info)")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  serve->add_option("--store", flags.store,
                    "where keys and identities live: postgres://USER@HOST:PORT/DB?sslmode=... "
                    "(several nodes on one database; put a password in SCYTALE_STORE_URL or "
                    "PGPASSWORD, not here, where `ps` shows it) or sqlite:DIR (default: "
                    "SCYTALE_STORE_URL, else SQLite in the data directory)");
  serve
      ->add_option("--request-quotas", flags.request_quotas,
                   "per-account request quotas: off, or aws (AWS's default quotas, e.g. "
                   "50000/s shared by the symmetric cryptographic operations, CreateKey 5/s)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "aws"}));
  serve->add_option("--request-quota", flags.request_quota,
                    "one quota, NAME=REQUESTS_PER_SECOND (a family: SymmetricCryptographic, "
                    "AsymmetricCryptographic, GenerateDataKeyPair; or an operation such as "
                    "CreateKey); repeatable, and overrides --request-quotas aws");
  serve
      ->add_option("--store-pool-size", flags.store_pool_size,
                   "PostgreSQL connections this node keeps open")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000}));
  // Hidden (empty group): shifts the key service's clock for end-to-end tests.
  serve->add_option("--testing-clock-file", flags.testing_clock_file)->group("");
  serve->add_option("--cloudhsm-cluster", flags.cloudhsm_clusters,
                    "a PKCS#11 token custom key stores (AWS_CLOUDHSM) may use, as "
                    "CLUSTER_ID=MODULE_PATH:TOKEN_LABEL[:TRUST_ANCHOR_PEM_FILE]; repeatable. "
                    "The token user's PIN is the store's KeyStorePassword");
  scytale::cli::AddKeystoreOptions(serve, &flags.keystore);
  scytale::cli::KeystoreFlags init_flags;
  auto* init = app.add_subcommand("init", "create the root key in a PKCS#11 token");
  scytale::cli::AddKeystoreOptions(init, &init_flags);
  scytale::cli::MigrateFlags migrate_flags;
  auto* migrate = app.add_subcommand(
      "migrate",
      "copy every key, version, alias, grant, IAM user, role, policy, access key, custom key "
      "store and account from one store into an empty one (servers stopped), then compare");
  migrate->add_option("--from", migrate_flags.from,
                      "the store to copy: sqlite:DIR or postgres://USER@HOST:PORT/DB?... "
                      "(default: SCYTALE_MIGRATE_FROM_URL; put a password there or in "
                      "PGPASSWORD, not here, where `ps` shows it)");
  migrate->add_option("--to", migrate_flags.to,
                      "the empty store to fill, as --from (default: SCYTALE_MIGRATE_TO_URL)");
  migrate
      ->add_option("--data-dir", migrate_flags.data_dir,
                   "the data directory the source was served with: its root key (soft "
                   "keystore) must unwrap the source's keys")
      ->capture_default_str();
  scytale::cli::AddKeystoreOptions(migrate, &migrate_flags.keystore);
  auto* version = app.add_subcommand("version", "print the version");
  auto* audit_cmd = app.add_subcommand("audit", "check and read an audit log directory");
  audit_cmd->require_subcommand(1);
  std::string audit_dir;
  std::string audit_public_key;
  auto* verify = audit_cmd->add_subcommand(
      "verify", "check the hash chain and the signed digests; name the first bad record");
  verify->add_option("dir", audit_dir, "the audit directory (e.g. DATA_DIR/audit)")->required();
  verify->add_option("--public-key", audit_public_key,
                     "a trusted copy of the audit public key (default: DIR/audit-public-key.pem)");
  scytale::audit::QueryFilter filter;
  std::string format = "table";
  auto* query = audit_cmd->add_subcommand("query", "print the records that match every filter");
  query->add_option("dir", audit_dir, "the audit directory (e.g. DATA_DIR/audit)")->required();
  query->add_option("--from", filter.from, "eventTime at or after (ISO 8601, e.g. 2024-05-01)");
  query->add_option("--to", filter.to, "eventTime before (ISO 8601)");
  query->add_option("--key", filter.key, "key id, key ARN or alias");
  query->add_option("--principal", filter.principal,
                    "principal ARN, its last part (user or role name), access key id or account");
  query->add_option("--event", filter.event, "event name, e.g. Decrypt");
  query->add_option("--outcome", filter.outcome, "success, failure or denied")
      ->check(CLI::IsMember({"success", "failure", "denied"}));
  query->add_option("--format", format, "json (one record per line) or table")
      ->check(CLI::IsMember({"json", "table"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (init->parsed()) {
    return scytale::cli::InitKeystore(init_flags);
  }
  if (migrate->parsed()) {
    std::cout.setf(std::ios::unitbuf);
    return scytale::cli::Migrate(migrate_flags);
  }
  if (version->parsed()) {
    std::cout << "scytale " << SCYTALE_VERSION << std::endl;
    return 0;
  }
  if (verify->parsed()) {
    return scytale::cli::AuditVerify(audit_dir, audit_public_key);
  }
  if (query->parsed()) {
    return scytale::cli::AuditQuery(audit_dir, filter, format);
  }
  std::cout.setf(std::ios::unitbuf);  // lines reach a pipe at once (tests read them)
  return scytale::cli::Serve(flags);
}

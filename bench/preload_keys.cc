// scytale-preload: fills an empty store with N symmetric KMS keys in bulk, for the scale mode of
// bench/run_load.sh (issue 11 item 4: Encrypt over a hot set of a 1,000,000-key store).
//
// The keys are real: each row is what CreateKey writes for a SYMMETRIC_DEFAULT key of the
// account root (Enabled, the default key policy, no description, no tags), and its one backing
// version is made by the server's own code (kms::internal::Core::NewBackingVersion: fresh
// 256-bit material wrapped by the data directory's root keystore, bound to the key ARN and
// version id). The rows go in through Store::ImportAll, one transaction for all of them, which
// is the only bulk path the store has; CreateKey would commit (and fsync) once per key.
//
// An empty store only: ImportAll refuses a store holding any row (checked in its transaction),
// and so does this tool before it starts. Appending to a served store would need one durable
// transaction per key, i.e. the API; use the loadgen's set-up or CreateKey for that. Run it on
// a fresh data directory before the first `scytale serve`: the server then bootstraps the
// account's admin credentials as on any first start (BootstrapAccount finds no access key).
//
// The last of the N keys is made by kms::KeyService::CreateKey itself, after the import, and
// its stored row and backing version are compared with a bulk-made one field by field (all but
// ids, dates and seq); then a few bulk-made keys, picked at random, encrypt and decrypt through
// KeyService. Either check failing fails the run, so rows that drift from CreateKey's are
// caught here rather than as errors under load.
//
// Root keystore: soft only (DATA_DIR/root.key, created if absent, sealed with
// SCYTALE_ROOT_PASSPHRASE when set), as `scytale serve` opens it. Store: SQLite in the data
// directory, or --store / SCYTALE_STORE_URL (sqlite:DIR or postgres://...).
//
// Output: progress on stderr; the key ids, one a line, to --key-ids-file; a summary line with
// the rate on stdout (and as JSON with --json).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/ids.h"
#include "common/result.h"
#include "crypto/crypto.h"
#include "keystore/keystore.h"
#include "kms/internal/core.h"
#include "kms/kms.h"
#include "storage/storage.h"

namespace scytale::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return std::nullopt;
  }
  return std::string(v);
}

// The store `scytale serve --data-dir DIR --store SPEC` would open (cli/main.cc OpenStore).
Result<std::unique_ptr<storage::Store>> OpenStore(const std::string& spec,
                                                  const std::filesystem::path& data_dir) {
  if (spec.empty() || spec.starts_with("sqlite:")) {
    std::filesystem::path dir = spec.empty() ? data_dir : std::filesystem::path(spec.substr(7));
    return storage::OpenSqliteStore(dir / "scytale.db");
  }
  if (spec.starts_with("postgres://") || spec.starts_with("postgresql://")) {
    return storage::OpenPostgresStore({.url = spec});
  }
  return MakeError(ErrorCode::kValidation,
                   "--store must be sqlite:DIR or postgres://..., not " +
                       storage::RedactStoreUrl(spec));
}

struct Options {
  std::string data_dir;
  std::string store;
  int64_t keys = 1000000;
  std::string account_id = "111122223333";  // `scytale serve`'s default account
  std::string region = "us-east-1";
  std::string key_ids_file;
  int verify = 3;
  std::string json_path;
};

// A key row as kms::CreateKey writes it for {KeySpec: SYMMETRIC_DEFAULT} from the account root.
// seq and revision are what the store would assign (ImportAll keeps them as given).
storage::KeyRow SymmetricKeyRow(const Options& o, int64_t now, int64_t seq,
                                const std::string& policy) {
  storage::KeyRow row;
  row.key_id = NewUuid();
  row.account_id = o.account_id;
  row.region = o.region;
  row.key_spec = kms::internal::kSymmetricDefault;
  row.key_usage = "ENCRYPT_DECRYPT";
  row.origin = "AWS_KMS";
  row.key_manager = "CUSTOMER";
  row.key_state = "Enabled";
  row.creation_date = now;
  row.policy = policy;
  row.seq = seq;
  row.revision = 1;
  return row;
}

// Every field CreateKey decides, i.e. all but the ids, dates and seq.
Status SameShape(const storage::KeyRow& made, const storage::KeyVersionRow& made_version,
                 const storage::KeyRow& bulk, const storage::KeyVersionRow& bulk_version) {
  auto differs = [](const char* field) {
    return MakeError(ErrorCode::kInternal,
                     std::string("a preloaded key differs from CreateKey's in ") + field);
  };
  storage::KeyRow a = made;
  storage::KeyRow b = bulk;
  for (storage::KeyRow* r : {&a, &b}) {
    r->key_id.clear();
    r->creation_date = 0;
    r->seq = 0;
  }
  if (a.account_id != b.account_id || a.region != b.region) {
    return differs("account or region");
  }
  if (a.description != b.description || a.key_spec != b.key_spec ||
      a.key_usage != b.key_usage || a.origin != b.origin || a.key_manager != b.key_manager ||
      a.key_state != b.key_state) {
    return differs("description, spec, usage, origin, manager or state");
  }
  if (a.deletion_date != b.deletion_date || a.multi_region != b.multi_region ||
      a.pending_window_days != b.pending_window_days) {
    return differs("deletion or multi-Region fields");
  }
  if (a.policy != b.policy || a.tags != b.tags) {
    return differs("policy or tags");
  }
  if (a.rotation_enabled != b.rotation_enabled ||
      a.rotation_period_days != b.rotation_period_days ||
      a.next_rotation_date != b.next_rotation_date) {
    return differs("rotation fields");
  }
  if (a.expiration_model != b.expiration_model || a.valid_to != b.valid_to ||
      a.custom_key_store_id != b.custom_key_store_id || a.revision != b.revision) {
    return differs("import fields, custom key store or revision");
  }
  if (made_version.version_id.size() != bulk_version.version_id.size() ||
      made_version.rotation_type != bulk_version.rotation_type ||
      made_version.wrapped_material.size() != bulk_version.wrapped_material.size()) {
    return differs("its backing version (id, rotation type or wrapped size)");
  }
  return Ok();
}

Result<storage::KeyVersionRow> OnlyVersion(storage::Store& store, const std::string& key_id) {
  SCY_ASSIGN_OR_RETURN(auto versions, store.ListKeyVersions(key_id));
  if (versions.size() != 1) {
    return MakeError(ErrorCode::kInternal, "key " + key_id + " has " +
                                               std::to_string(versions.size()) + " versions");
  }
  return std::move(versions.front());
}

// CreateKey through the service for the last key, compared with the first bulk key; then
// Encrypt and Decrypt of `samples` random bulk keys.
Result<std::string> CreateAndVerify(storage::Store& store, keystore::RootKeystore& root,
                                    const Options& o, const std::string& first_bulk_key,
                                    const std::vector<std::string>& samples) {
  auto service = kms::KeyService::Create(&store, &root, SystemClock());
  kms::CallContext ctx;
  ctx.account_id = o.account_id;
  ctx.region = o.region;
  ctx.principal_arn = "arn:aws:iam::" + o.account_id + ":root";
  SCY_ASSIGN_OR_RETURN(kms::KeyMetadata made, service->CreateKey(ctx, {}));

  SCY_ASSIGN_OR_RETURN(auto made_row, store.GetKey(o.account_id, o.region, made.key_id));
  SCY_ASSIGN_OR_RETURN(auto bulk_row, store.GetKey(o.account_id, o.region, first_bulk_key));
  if (!made_row || !bulk_row) {
    return MakeError(ErrorCode::kInternal, "a key just written cannot be read back");
  }
  SCY_ASSIGN_OR_RETURN(auto made_version, OnlyVersion(store, made.key_id));
  SCY_ASSIGN_OR_RETURN(auto bulk_version, OnlyVersion(store, first_bulk_key));
  SCY_RETURN_IF_ERROR(SameShape(*made_row, made_version, *bulk_row, bulk_version));

  for (const std::string& key_id : samples) {
    SCY_ASSIGN_OR_RETURN(Bytes plaintext, crypto::RandomBytes(32));
    kms::EncryptRequest enc;
    enc.key_id = key_id;
    enc.plaintext = crypto::SecretBytes(plaintext);
    SCY_ASSIGN_OR_RETURN(kms::EncryptResponse sealed, service->Encrypt(ctx, enc));
    kms::DecryptRequest dec;
    dec.ciphertext_blob = sealed.ciphertext_blob;
    SCY_ASSIGN_OR_RETURN(kms::DecryptResponse opened, service->Decrypt(ctx, dec));
    if (!(opened.plaintext == crypto::SecretBytes(plaintext))) {
      return MakeError(ErrorCode::kInternal, "key " + key_id + " decrypted to other bytes");
    }
  }
  return made.key_id;
}

int Fail(const std::string& message) {
  std::cerr << "scytale-preload: " << message << "\n";
  return 1;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"scytale-preload: bulk-load N symmetric keys into an empty Scytale store"};
  app.add_option("--data-dir", o.data_dir, "the data directory `scytale serve` will use")
      ->required();
  app.add_option("--store", o.store,
                 "sqlite:DIR or postgres://... (default: SCYTALE_STORE_URL, else SQLite in the "
                 "data directory)");
  app.add_option("--keys", o.keys, "keys to write (the last through KeyService::CreateKey)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{2}, int64_t{100000000}));
  app.add_option("--account-id", o.account_id, "account of the keys (serve's --account-id)")
      ->capture_default_str();
  app.add_option("--region", o.region, "region of the keys")->capture_default_str();
  app.add_option("--key-ids-file", o.key_ids_file, "write the key ids here, one a line");
  app.add_option("--verify", o.verify, "bulk keys to Encrypt and Decrypt after the import")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--json", o.json_path, "also write the summary as JSON to this file");
  CLI11_PARSE(app, argc, argv);
  if (o.store.empty()) {
    o.store = Env("SCYTALE_STORE_URL").value_or("");
  }

  const std::filesystem::path dir = o.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Fail("cannot create " + dir.string() + ": " + ec.message());
  }
  keystore::SoftOptions soft;
  soft.path = dir / "root.key";
  soft.passphrase = Env("SCYTALE_ROOT_PASSPHRASE");
  auto root = keystore::OpenSoftKeystore(soft);
  if (!root) {
    return Fail("cannot open the root keystore: " + root.error().message);
  }
  auto store = OpenStore(o.store, dir);
  if (!store) {
    return Fail("cannot open the store: " + store.error().message);
  }
  auto counts = (*store)->CountRows();
  if (!counts) {
    return Fail("cannot count the store's rows: " + counts.error().message);
  }
  for (const auto& [table, rows] : *counts) {
    if (rows > 0) {
      return Fail("the store is not empty (" + table + ": " + std::to_string(rows) +
                  " rows); preload into a fresh data directory or database");
    }
  }
  std::ofstream ids;
  if (!o.key_ids_file.empty()) {
    ids.open(o.key_ids_file, std::ios::trunc);
    if (!ids) {
      return Fail("cannot write " + o.key_ids_file);
    }
  }

  // NewBackingVersion uses the root keystore and clock only; the store is never touched.
  auto clock = SystemClock();
  kms::internal::Core core(store->get(), root->get(), clock);
  const int64_t now = clock->NowSeconds();
  const std::string policy = kms::internal::DefaultKeyPolicy(o.account_id);
  const int64_t bulk = o.keys - 1;
  // Reservoir of keys to verify, so that any part of the import may be picked.
  std::vector<std::string> samples;
  std::mt19937_64 rng{std::random_device{}()};
  std::string first_bulk_key;

  std::cerr << "scytale-preload: writing " << bulk << " keys in one transaction into "
            << (o.store.empty() ? (dir / "scytale.db").string()
                                : storage::RedactStoreUrl(o.store))
            << "\n";
  const SteadyClock::time_point start = SteadyClock::now();
  double fill_seconds = 0;
  Status imported = (*store)->ImportAll([&](storage::RowSink& into) -> Status {
    SCY_RETURN_IF_ERROR(into.AddAccount({o.account_id, now}));
    // The sink takes all keys before any version (RowSink's order): versions are made with
    // their key and kept until the keys are in (some 300 B each: ~300 MB for 1M).
    std::vector<storage::KeyVersionRow> versions;
    versions.reserve(static_cast<size_t>(bulk));
    for (int64_t i = 0; i < bulk; ++i) {
      storage::KeyRow row = SymmetricKeyRow(o, now, i + 1, policy);
      SCY_ASSIGN_OR_RETURN(storage::KeyVersionRow version, core.NewBackingVersion(row, ""));
      SCY_RETURN_IF_ERROR(into.AddKey(row));
      versions.push_back(std::move(version));
      if (ids) {
        ids << row.key_id << '\n';
      }
      if (i == 0) {
        first_bulk_key = row.key_id;
      }
      if (samples.size() < static_cast<size_t>(o.verify)) {
        samples.push_back(row.key_id);
      } else if (o.verify > 0) {
        std::uniform_int_distribution<int64_t> pick(0, i);
        const int64_t slot = pick(rng);
        if (slot < o.verify) {
          samples[static_cast<size_t>(slot)] = row.key_id;
        }
      }
      if ((i + 1) % 100000 == 0) {
        std::cerr << "  " << (i + 1) << " keys, " << SecondsSince(start) << " s\n";
      }
    }
    for (const storage::KeyVersionRow& version : versions) {
      SCY_RETURN_IF_ERROR(into.AddKeyVersion(version));
    }
    fill_seconds = SecondsSince(start);
    return Ok();
  });
  if (!imported) {
    return Fail("the import failed (nothing was written): " + imported.error().message);
  }
  const double import_seconds = SecondsSince(start);
  std::cerr << "scytale-preload: committed after " << import_seconds << " s; checking\n";

  auto last = CreateAndVerify(**store, **root, o, first_bulk_key, samples);
  if (!last) {
    return Fail("verification failed: " + last.error().message);
  }
  if (ids) {
    ids << *last << '\n';
    ids.close();
    if (!ids) {
      return Fail("cannot write " + o.key_ids_file);
    }
  }
  const double rate = static_cast<double>(bulk) / import_seconds;
  std::cout << "preloaded " << o.keys << " keys: " << bulk << " in bulk in " << import_seconds
            << " s (" << static_cast<int64_t>(rate) << " keys/s; rows made and handed over in "
            << fill_seconds << " s, the rest is the commit), 1 through CreateKey; "
            << samples.size() << " bulk keys encrypted and decrypted" << std::endl;
  if (!o.json_path.empty()) {
    nlohmann::json summary = {{"keys", o.keys},
                              {"bulk_keys", bulk},
                              {"import_s", import_seconds},
                              {"fill_s", fill_seconds},
                              {"keys_per_s", rate},
                              {"verified_keys", samples.size()},
                              {"store", o.store.empty() ? "sqlite (data dir)"
                                                        : storage::RedactStoreUrl(o.store)}};
    std::ofstream out(o.json_path);
    out << summary.dump(2) << "\n";
    if (!out) {
      return Fail("cannot write " + o.json_path);
    }
  }
  return 0;
}

}  // namespace
}  // namespace scytale::bench

int main(int argc, char** argv) { return scytale::bench::Main(argc, argv); }

// Pieces of the worlds the API fuzz targets build: a store and root keystore in a temporary
// directory, and the keys their inputs name by alias.
#pragma once

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/api.h"
#include "fuzz/fuzz_util.h"
#include "keystore/keystore.h"
#include "storage/storage.h"

namespace scytale::fuzz {

struct StoreAndRoot {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<keystore::RootKeystore> root;
};

// A SQLite store and a soft root keystore in a fresh directory named for the target.
inline StoreAndRoot OpenStoreAndRoot(const char* name) {
  auto dir = MakeTempDir(name);
  StoreAndRoot out;
  out.store = storage::OpenSqliteStore(dir / "db").value();
  keystore::SoftOptions options;
  options.path = dir / "root.key";
  out.root = keystore::OpenSoftKeystore(options).value();
  return out;
}

// Set-up through the KMS codec: a call that must answer 200 (the target aborts otherwise).
inline nlohmann::json MustCall(api::KmsApi& api, const kms::CallContext& ctx, std::string_view op,
                               const nlohmann::json& body) {
  auto r = api.Handle(ctx, "TrentService." + std::string(op), body.dump());
  if (r.status != 200) {
    std::fprintf(stderr, "setup %s: %s\n", std::string(op).c_str(), r.body.c_str());
    Fail("setup: a KMS call failed");
  }
  return nlohmann::json::parse(r.body.empty() ? "{}" : r.body);
}

// The keys the seeds name: alias/fuzz (symmetric), alias/fuzz-hmac (HMAC_256) and
// alias/fuzz-rsa (RSA_2048, SIGN_VERIFY).
inline void CreateFuzzKeys(api::KmsApi& api, const kms::CallContext& ctx) {
  auto alias = [&](const char* name, const nlohmann::json& create) {
    std::string id = MustCall(api, ctx, "CreateKey", create)["KeyMetadata"]["KeyId"];
    MustCall(api, ctx, "CreateAlias", {{"AliasName", name}, {"TargetKeyId", id}});
  };
  alias("alias/fuzz", nlohmann::json::object());
  alias("alias/fuzz-hmac", {{"KeySpec", "HMAC_256"}, {"KeyUsage", "GENERATE_VERIFY_MAC"}});
  alias("alias/fuzz-rsa", {{"KeySpec", "RSA_2048"}, {"KeyUsage", "SIGN_VERIFY"}});
}

}  // namespace scytale::fuzz

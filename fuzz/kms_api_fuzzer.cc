// The KMS JSON API as a client reaches it: an X-Amz-Target and a JSON body into
// api::KmsApi::Handle, against a real KeyService on a temporary SQLite store and soft keystore.
//
// Input: the operation name, '\n', then the body. A name outside the list below is mapped onto
// one of its entries, so every input exercises a real operation's codec and the service behind
// it. One symmetric key (alias/fuzz), an HMAC key (alias/fuzz-hmac) and an RSA key
// (alias/fuzz-rsa) exist from the start, so inputs can name them.
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/fuzz_world.h"

namespace scytale::fuzz {
namespace {

constexpr std::string_view kOperations[] = {
    "CreateKey", "DescribeKey", "ListKeys", "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateRandom", "Sign", "Verify",
    "GenerateMac", "VerifyMac", "GetPublicKey", "CreateAlias", "UpdateAlias", "DeleteAlias",
    "ListAliases", "TagResource", "UntagResource", "ListResourceTags", "PutKeyPolicy",
    "GetKeyPolicy", "ListKeyPolicies", "EnableKey", "DisableKey", "ScheduleKeyDeletion",
    "CancelKeyDeletion", "EnableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand",
    "ListKeyRotations", "CreateGrant", "ListGrants", "RetireGrant", "RevokeGrant",
    "ListRetirableGrants", "UpdateKeyDescription", "GetParametersForImport",
    "ImportKeyMaterial", "DeleteImportedKeyMaterial", "DescribeCustomKeyStores",
};

struct World {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<keystore::RootKeystore> root;
  std::unique_ptr<kms::KeyService> service;
  std::unique_ptr<api::KmsApi> api;
  kms::CallContext ctx{"111122223333", "us-west-2", "arn:aws:iam::111122223333:root", "fuzz"};
};

World& TheWorld() {
  static std::unique_ptr<World> world = [] {
    auto w = std::make_unique<World>();
    auto [store, root] = OpenStoreAndRoot("fuzz-kms-api");
    w->store = std::move(store);
    w->root = std::move(root);
    w->service = kms::KeyService::Create(
        w->store.get(), w->root.get(),
        std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1795878245)));
    w->api = api::KmsApi::Create(w->service.get()).value();
    CreateFuzzKeys(*w->api, w->ctx);
    return w;
  }();
  return *world;
}

}  // namespace
}  // namespace scytale::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scytale::fuzz;
  World& world = TheWorld();
  std::string_view rest = AsText(data, size);
  std::string_view name = TakeLine(rest);
  std::string_view op = kOperations[0];
  bool known = false;
  for (std::string_view candidate : kOperations) {
    if (candidate == name) {
      op = candidate;
      known = true;
    }
  }
  if (!known) {
    op = kOperations[std::hash<std::string_view>{}(name) % std::size(kOperations)];
  }
  auto response = world.api->Handle(world.ctx, "TrentService." + std::string(op), rest);
  // Every answer is a status AWS uses and, when it has a body, a JSON object: an error names
  // its __type. Handle never throws for bad input (api.h).
  if (response.status != 200 && (response.status < 400 || response.status > 599)) {
    Fail("unexpected HTTP status");
  }
  if (!response.body.empty()) {
    auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      Fail("response body is not a JSON object");
    }
    if (response.status != 200 && !body.contains("__type")) {
      Fail("error response without __type");
    }
  }
  if (!response.audit) {
    Fail("answer without audit details");
  }
  return 0;
}

// The IAM and STS Query protocol decoder (api/iam_query.h): form-encoded parameters from a
// client into a real IamService on a temporary SQLite store and soft keystore.
//
// Input: the signing name selector ('s' for sts, anything else iam) as the first byte of the
// first line, the rest of that line as the URL query string, then the form-encoded body.
#include "api/iam_query.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/fuzz_world.h"
#include "iam/iam.h"

namespace scytale::fuzz {
namespace {

struct World {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<keystore::RootKeystore> root;
  std::shared_ptr<FakeClock> clock;
  std::unique_ptr<iam::Identities> identities;
  std::unique_ptr<iam::IamService> iam;
  std::unique_ptr<api::QueryApi> api;
};

World& TheWorld() {
  static std::unique_ptr<World> world = [] {
    auto w = std::make_unique<World>();
    auto [store, root] = OpenStoreAndRoot("fuzz-iam-query");
    w->store = std::move(store);
    w->root = std::move(root);
    w->clock = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1795878245));
    w->identities = std::make_unique<iam::Identities>(w->store.get(), w->root.get(), w->clock);
    if (!w->identities->BootstrapAccount("111122223333", std::nullopt)) {
      Fail("BootstrapAccount");
    }
    w->iam = iam::IamService::Create(w->store.get(), w->root.get(), w->clock,
                                     w->identities.get());
    w->api = api::QueryApi::Create(w->iam.get());
    return w;
  }();
  return *world;
}

}  // namespace
}  // namespace scytale::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scytale::fuzz;
  World& world = TheWorld();
  std::string_view body = AsText(data, size);
  std::string_view first = TakeLine(body);
  std::string_view service = !first.empty() && first[0] == 's' ? "sts" : "iam";
  std::string_view query = first.empty() ? first : first.substr(1);
  static const scytale::iam::Caller kRoot{"111122223333", "arn:aws:iam::111122223333:root"};
  auto response = world.api->Handle(kRoot, service, query, body, "fuzz-request");
  // Handle never throws and always answers an XML document with a status AWS uses.
  if (response.status != 200 && (response.status < 400 || response.status > 599)) {
    Fail("unexpected HTTP status");
  }
  if (response.body.rfind("<", 0) != 0) {
    Fail("response is not an XML document");
  }
  return 0;
}

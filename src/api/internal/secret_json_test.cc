#include "api/internal/secret_json.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

namespace scytale::api::internal {
namespace {

using json = nlohmann::json;

TEST(SecretJsonTest, SecretToBase64JsonIsTheBase64OfTheSecret) {
  for (std::string_view text : {"", "a", "ab", "abc", "a plaintext longer than sixteen bytes"}) {
    crypto::SecretBytes secret(AsBytes(text));
    json j = SecretToBase64Json(secret);
    ASSERT_TRUE(j.is_string());
    EXPECT_EQ(j.get<std::string>(), Base64Encode(AsBytes(text))) << text;
  }
}

TEST(SecretJsonTest, WipeSecretMembersOverwritesOnlyTheSecretMembers) {
  json j = {{"Plaintext", "cGxhaW50ZXh0"},
            {"PrivateKeyPlaintext", "a private key"},
            {"SharedSecret", "a shared secret"},
            {"Message", "a message"},
            {"KeyStorePassword", "a password"},
            {"XksProxyAuthenticationCredential",
             {{"AccessKeyId", "an access key id"}, {"RawSecretAccessKey", "a secret key"}}},
            {"KeyId", "alias/app"},
            {"CiphertextBlob", "Y2lwaGVydGV4dA=="},
            {"EncryptionContext", {{"Plaintext", "not a member of the request"}}}};
  const json before = j;
  WipeSecretMembers(j);
  for (const char* name :
       {"Plaintext", "PrivateKeyPlaintext", "SharedSecret", "Message", "KeyStorePassword"}) {
    const std::string& s = j[name].get_ref<const std::string&>();
    EXPECT_EQ(s, std::string(before[name].get<std::string>().size(), '\0')) << name;
  }
  for (const char* name : {"AccessKeyId", "RawSecretAccessKey"}) {
    const std::string& s = j["XksProxyAuthenticationCredential"][name].get_ref<const std::string&>();
    EXPECT_EQ(s.find_first_not_of('\0'), std::string::npos) << name;
  }
  EXPECT_EQ(j["KeyId"], before["KeyId"]);
  EXPECT_EQ(j["CiphertextBlob"], before["CiphertextBlob"]);
  EXPECT_EQ(j["EncryptionContext"], before["EncryptionContext"]);
}

TEST(SecretJsonTest, WipeSecretMembersLeavesOtherValuesAlone) {
  json values[] = {json(), json("Plaintext"), json::array({"Plaintext"}),
                   json{{"Plaintext", 5}}, json{{"Message", nullptr}}};
  for (json& v : values) {
    const json before = v;
    WipeSecretMembers(v);
    EXPECT_EQ(v, before);
  }
}

TEST(SecretJsonTest, DumpSizedOnceSerializesAsDumpIntoOneAllocation) {
  json j = {{"KeyId", "arn:aws:kms:us-east-1:111122223333:key/k"},
            {"Plaintext", std::string(4096, 'A')},
            {"Nested", {{"list", {1, 2.5, true, nullptr, "\x01quote\"\xff"}}}}};
  std::string body = DumpSizedOnce(j);
  EXPECT_EQ(body, j.dump(-1, ' ', false, json::error_handler_t::replace));
  // Reserved at the final size: no buffer was outgrown (and freed unwiped) on the way.
  EXPECT_LT(body.capacity() - body.size(), 32u);
  EXPECT_EQ(DumpSizedOnce(json()), "null");
}

// Random trees of every JSON type (strings with escapes, non-ASCII, invalid UTF-8; negative,
// unsigned and floating numbers; nested and empty containers; non-ASCII keys) dump as
// json::dump() does, into a buffer reserved at the final size.
TEST(SecretJsonTest, DumpSizedOnceMatchesDumpOnRandomTrees) {
  std::mt19937 rng(20261129);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const std::vector<std::string> pieces = {
      "", "a", "KeyId", "q\"uo\\te", "\x01\x1f\x7f\b\t\n\f\r", "caf\xc3\xa9",
      "\xe2\x82\xac\xf0\x9f\x94\x91", "bad \xff\xfe", std::string("nul\0in", 6),
      "AQIDBAUGBwgJCgsMDQ4PEA=="};
  auto text = [&] {
    std::string s;
    for (int i = pick(4); i >= 0; --i) {
      s += pieces[static_cast<size_t>(pick(static_cast<int>(pieces.size())))];
    }
    return s;
  };
  std::function<json(int)> tree = [&](int depth) -> json {
    switch (depth > 3 ? pick(6) : pick(8)) {
      case 0:
        return text();
      case 1:
        return -static_cast<int64_t>(rng()) * 4099;
      case 2:
        return static_cast<uint64_t>(rng()) << 31;
      case 3:
        return static_cast<double>(rng()) / 1000.0;
      case 4:
        return pick(2) == 0;
      case 5:
        return nullptr;
      case 6: {
        json a = json::array();
        for (int i = pick(4); i > 0; --i) {
          a.push_back(tree(depth + 1));
        }
        return a;
      }
      default: {
        json o = json::object();
        for (int i = pick(4); i > 0; --i) {
          o[text()] = tree(depth + 1);
        }
        return o;
      }
    }
  };
  for (int i = 0; i < 2000; ++i) {
    json j = tree(0);
    std::string body = DumpSizedOnce(j);
    ASSERT_EQ(body, j.dump(-1, ' ', false, json::error_handler_t::replace));
    // Reserved at the counted size (libstdc++ rounds a first allocation under 30 bytes up to 30):
    // a miscount would have grown the buffer, doubling it.
    EXPECT_LT(body.capacity() - body.size(), 16u) << body;
  }
}

}  // namespace
}  // namespace scytale::api::internal

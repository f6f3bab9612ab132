#include "api/internal/secret_json.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace scytale::api::internal

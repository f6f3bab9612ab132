// ApplySeed (`scytale serve --seed FILE`): keys with fixed ids and optionally fixed material,
// their descriptions, tags and aliases; idempotent; malformed documents are validation errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "common/testing/matchers.h"
#include "keystore/testing/soft_root.h"
#include "kms/kms.h"
#include "kms/testing/service_fixture.h"

namespace scytale::kms {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::HasErrorMessage;
using ::scytale::testing::IsOk;

using crypto::KeyAccess;
using crypto::SecretBytes;
using ::testing::HasSubstr;

constexpr char kKeyA[] = "0b5e9c3e-1a2b-4c3d-8e4f-5a6b7c8d9e0f";
constexpr char kKeyB[] = "7f0c1d2e-3a4b-4c5d-9e6f-0a1b2c3d4e5f";
// 32 bytes 0x00..0x1f, base64.
constexpr char kMaterial[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
// 32 bytes 0x01 * 32, base64.
constexpr char kOtherMaterial[] = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

std::string OneKeyDoc(const std::string& material) {
  return R"({"keys":[{"KeyId":")" + std::string(kKeyA) + R"(","KeyMaterial":")" + material +
         R"(","Aliases":["alias/ci"]}]})";
}

// A whole Scytale instance of its own (store, root key, service) in a directory, so a test can
// stand for "the next CI run": same seed, nothing else shared.
struct Instance {
  explicit Instance(const std::filesystem::path& dir) : dir(dir) {
    std::filesystem::create_directories(dir);
    store = storage::OpenSqliteStore(dir / "db").value();
    root = keystore::testing::OpenSoftRoot(dir);
    clock = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1800000000));
    service = KeyService::Create(store.get(), root.get(), clock);
  }
  std::filesystem::path dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<keystore::RootKeystore> root;
  std::shared_ptr<FakeClock> clock;
  std::unique_ptr<KeyService> service;
};

class SeedTest : public testing::ServiceFixture {
 protected:
  // ApplySeed, turning an escaping exception into a test failure (errors are values here).
  static Result<SeedReport> Apply(KeyService& service, std::string_view doc) {
    try {
      return ApplySeed(service, doc, "111122223333", "us-east-1");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "ApplySeed threw " << e.what() << " for " << doc;
      return MakeError(ErrorCode::kInternal, e.what());
    }
  }
  Result<SeedReport> Apply(std::string_view doc) { return Apply(*service_, doc); }

  static Bytes EncryptUnder(KeyService& service, const std::string& key_id, std::string_view text) {
    EncryptRequest req;
    req.key_id = key_id;
    req.plaintext = SecretBytes(AsBytes(text));
    auto r =
        service.Encrypt({"111122223333", "us-east-1", "arn:aws:iam::111122223333:root", "r"}, req);
    EXPECT_THAT(r, IsOk());
    return r ? r->ciphertext_blob : Bytes{};
  }
  static Result<DecryptResponse> DecryptIn(KeyService& service, const Bytes& blob) {
    DecryptRequest req;
    req.ciphertext_blob = blob;
    return service.Decrypt({"111122223333", "us-east-1", "arn:aws:iam::111122223333:root", "r"},
                           req);
  }
  size_t KeyCount(const std::string& region = "us-east-1",
                  const std::string& account = "111122223333") {
    auto r = service_->ListKeys(Ctx(region, account), {});
    EXPECT_THAT(r, IsOk());
    return r ? r->keys.size() : 0;
  }
  std::vector<std::string> AliasNames() {
    std::vector<std::string> names;
    auto r = service_->ListAliases(Ctx(), {});
    EXPECT_THAT(r, IsOk());
    if (r) {
      for (const AliasEntry& a : r->aliases) {
        names.push_back(a.alias_name);
      }
    }
    return names;
  }
};

TEST_F(SeedTest, ApplySeedCreatesKeysWithTheirIdsDescriptionsTagsAndAliases) {
  const std::string doc = R"({"keys":[
    {"KeyId":")" + std::string(kKeyA) +
                          R"(","Description":"ci key","KeyMaterial":")" + kMaterial + R"(",
     "Tags":[{"TagKey":"team","TagValue":"ci"},{"TagKey":"env","TagValue":""}],
     "Aliases":["alias/ci","alias/ci-2"]},
    {"KeyId":")" + std::string(kKeyB) +
                          R"(","Aliases":["alias/other"]}
  ]})";
  auto report = Apply(doc);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->keys_created, 2);
  EXPECT_EQ(report->keys_present, 0);
  EXPECT_EQ(report->aliases_created, 3);

  auto a = service_->DescribeKey(Ctx(), kKeyA);
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->key_id, kKeyA);
  EXPECT_EQ(a->arn, std::string("arn:aws:kms:us-east-1:111122223333:key/") + kKeyA);
  EXPECT_EQ(a->description, "ci key");
  EXPECT_EQ(a->key_state, "Enabled");
  EXPECT_EQ(a->key_spec, "SYMMETRIC_DEFAULT");
  auto tags = service_->ListResourceTags(Ctx(), {kKeyA, std::nullopt, std::nullopt});
  ASSERT_THAT(tags, IsOk());
  ASSERT_EQ(tags->tags.size(), 2u);
  EXPECT_EQ(tags->tags[0].key, "env");
  EXPECT_EQ(tags->tags[0].value, "");
  EXPECT_EQ(tags->tags[1].key, "team");
  EXPECT_EQ(tags->tags[1].value, "ci");

  auto b = service_->DescribeKey(Ctx(), kKeyB);
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->description, "");
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/ci")->key_id, kKeyA);
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/ci-2")->key_id, kKeyA);
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/other")->key_id, kKeyB);

  // The seeded keys work.
  Bytes blob = EncryptUnder(*service_, "alias/ci", "hello");
  auto dec = DecryptIn(*service_, blob);
  ASSERT_THAT(dec, IsOk());
  EXPECT_EQ(AsString(dec->plaintext.Reveal(KeyAccess::Grant())), "hello");
}

TEST_F(SeedTest, ApplyingTheSameSeedTwiceCreatesNothingNew) {
  const std::string doc = R"({"keys":[
    {"KeyId":")" + std::string(kKeyA) +
                          R"(","Aliases":["alias/a1","alias/a2"]},
    {"KeyId":")" + std::string(kKeyB) +
                          R"("}]})";
  auto first = Apply(doc);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->keys_created, 2);
  EXPECT_EQ(first->aliases_created, 2);
  const std::string material = service_->DescribeKey(Ctx(), kKeyA)->current_key_material_id;

  auto second = Apply(doc);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->keys_created, 0);
  EXPECT_EQ(second->keys_present, 2);
  EXPECT_EQ(second->aliases_created, 0);
  EXPECT_EQ(KeyCount(), 2u);
  EXPECT_EQ(AliasNames(), (std::vector<std::string>{"alias/a1", "alias/a2"}));
  EXPECT_EQ(service_->DescribeKey(Ctx(), kKeyA)->current_key_material_id, material);
}

TEST_F(SeedTest, ASeedAddsMissingAliasesToKeysThatExist) {
  ASSERT_THAT(Apply(R"({"keys":[{"KeyId":")" + std::string(kKeyA) + R"("}]})"), IsOk());
  auto r = Apply(R"({"keys":[{"KeyId":")" + std::string(kKeyA) + R"(","Aliases":["alias/new"]}]})");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->keys_created, 0);
  EXPECT_EQ(r->keys_present, 1);
  EXPECT_EQ(r->aliases_created, 1);
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/new")->key_id, kKeyA);
}

TEST_F(SeedTest, ASeedKeyMayNameItsAccountAndRegion) {
  auto r = Apply(R"({"keys":[{"KeyId":")" + std::string(kKeyA) +
                 R"(","Account":"444455556666","Region":"eu-west-1","Aliases":["alias/x"]}]})");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->keys_created, 1);
  auto m = service_->DescribeKey(Ctx("eu-west-1", "444455556666"), kKeyA);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->arn, std::string("arn:aws:kms:eu-west-1:444455556666:key/") + kKeyA);
  EXPECT_EQ(service_->DescribeKey(Ctx("eu-west-1", "444455556666"), "alias/x")->key_id, kKeyA);
  EXPECT_THAT(service_->DescribeKey(Ctx(), kKeyA), HasError(ErrorCode::kNotFound));
  EXPECT_EQ(KeyCount(), 0u);
}

TEST_F(SeedTest, AnUppercaseKeyIdIsStoredInLowercase) {
  std::string upper = kKeyA;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  ASSERT_THAT(Apply(R"({"keys":[{"KeyId":")" + upper + R"("}]})"), IsOk());
  auto m = service_->DescribeKey(Ctx(), kKeyA);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->key_id, kKeyA);
  // The same key again in lowercase is present, not new.
  auto again = Apply(R"({"keys":[{"KeyId":")" + std::string(kKeyA) + R"("}]})");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->keys_present, 1);
}

TEST_F(SeedTest, SeededMaterialIsTheKeysBackingKey) {
  ASSERT_THAT(Apply(OneKeyDoc(kMaterial)), IsOk());
  auto versions = store_->ListKeyVersions(kKeyA);
  ASSERT_THAT(versions, IsOk());
  ASSERT_EQ(versions->size(), 1u);
  std::string aad = "scytale:backing-key:arn:aws:kms:us-east-1:111122223333:key/" +
                    std::string(kKeyA) + ":" + (*versions)[0].version_id;
  auto material = root_->Unwrap((*versions)[0].wrapped_material, AsBytes(aad));
  ASSERT_THAT(material, IsOk());
  Bytes expected(32);
  for (size_t i = 0; i < expected.size(); ++i) {
    expected[i] = static_cast<uint8_t>(i);
  }
  EXPECT_TRUE(*material == SecretBytes(expected));
}

// The point of seeding material: a ciphertext made in one CI run (one instance, its own root
// key and database) decrypts in the next, seeded with the same document.
TEST_F(SeedTest, ACiphertextUnderSeededMaterialDecryptsInAnotherInstanceSeededAlike) {
  ASSERT_THAT(Apply(OneKeyDoc(kMaterial)), IsOk());
  Bytes blob = EncryptUnder(*service_, "alias/ci", "fixed material");

  Instance next(dir_ / "next-run");
  ASSERT_THAT(Apply(*next.service, OneKeyDoc(kMaterial)), IsOk());
  auto dec = DecryptIn(*next.service, blob);
  ASSERT_THAT(dec, IsOk());
  EXPECT_EQ(AsString(dec->plaintext.Reveal(KeyAccess::Grant())), "fixed material");

  // Seeded with other material, the same key id cannot decrypt it.
  Instance stranger(dir_ / "other-material");
  ASSERT_THAT(Apply(*stranger.service, OneKeyDoc(kOtherMaterial)), IsOk());
  EXPECT_THAT(DecryptIn(*stranger.service, blob), HasError(ErrorCode::kInvalidCiphertext));
  // Without material, the key gets fresh random material.
  Instance unseeded(dir_ / "no-material");
  ASSERT_THAT(Apply(*unseeded.service, R"({"keys":[{"KeyId":")" + std::string(kKeyA) + R"("}]})"),
              IsOk());
  EXPECT_THAT(DecryptIn(*unseeded.service, blob), HasError(ErrorCode::kInvalidCiphertext));
}

TEST_F(SeedTest, MalformedDocumentsAreValidationErrors) {
  const std::string id = kKeyA;
  const std::vector<std::string> docs = {
      "",
      "not json",
      "[]",
      "{}",
      R"({"keys":{}})",
      R"({"keys":"x"})",
      R"({"keys":[1]})",
      R"({"keys":[{}]})",
      R"({"keys":[{"KeyId":5}]})",
      R"({"keys":[{"KeyId":null}]})",
      R"({"keys":[{"KeyId":")" + id + R"(",)",  // truncated
  };
  for (const std::string& doc : docs) {
    auto r = Apply(doc);
    EXPECT_THAT(r, HasError(ErrorCode::kValidation)) << doc;
    if (!r) {
      EXPECT_THAT(r.error().message, HasSubstr("seed file")) << doc;
    }
  }
  EXPECT_EQ(KeyCount(), 0u);
}

// Members of the wrong JSON type must be reported as values, not escape as exceptions.
TEST_F(SeedTest, MembersOfTheWrongTypeAreValidationErrors) {
  const std::string id = kKeyA;
  const std::vector<std::string> docs = {
      R"({"keys":[{"KeyId":")" + id + R"(","Description":5}]})",
      R"({"keys":[{"KeyId":")" + id + R"(","KeyMaterial":32}]})",
      R"({"keys":[{"KeyId":")" + id + R"(","Tags":[{"TagKey":"a"}]}]})",
      R"({"keys":[{"KeyId":")" + id + R"(","Tags":[{"TagKey":1,"TagValue":"v"}]}]})",
      R"({"keys":[{"KeyId":")" + id + R"(","Tags":"team=ci"}]})",
      R"({"keys":[{"KeyId":")" + id + R"(","Aliases":[7]}]})",
      R"({"keys":[{"KeyId":")" + id + R"(","Account":111122223333}]})",
      R"({"keys":[{"KeyId":")" + id + R"(","Region":["us-east-1"]}]})",
  };
  for (const std::string& doc : docs) {
    EXPECT_THAT(Apply(doc), HasError(ErrorCode::kValidation)) << doc;
  }
}

TEST_F(SeedTest, AKeyIdThatIsNotAUuidIsValidationError) {
  const std::vector<std::string> ids = {
      "my-key",
      "",
      "alias/ci",
      "0b5e9c3e-1a2b-4c3d-8e4f-5a6b7c8d9e0",  // one digit short
      "mrk-0123456789abcdef0123456789abcdef",
      "arn:aws:kms:us-east-1:111122223333:key/0b5e9c3e-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
  };
  for (const std::string& id : ids) {
    auto r = Apply(R"({"keys":[{"KeyId":")" + id + R"("}]})");
    EXPECT_THAT(r, HasError(ErrorCode::kValidation)) << id;
  }
  auto r = Apply(R"({"keys":[{"KeyId":"my-key"}]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "seed file: KeyId 'my-key' is not a UUID");
  EXPECT_EQ(KeyCount(), 0u);
}

TEST_F(SeedTest, KeyMaterialOfTheWrongLengthIsValidationError) {
  const std::vector<std::string> bad = {
      "AAECAwQFBgcICQoLDA0ODw==",                      // 16 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",  // 31 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",  // 33 bytes
      "",
      "not base64!",
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",  // 32 bytes, unpadded
  };
  for (const std::string& material : bad) {
    auto r = Apply(OneKeyDoc(material));
    EXPECT_THAT(r, HasError(ErrorCode::kValidation)) << material;
    if (!r) {
      EXPECT_EQ(r.error().message,
                "seed file: key " + std::string(kKeyA) + ": KeyMaterial must be 32 bytes in base64");
    }
  }
  EXPECT_EQ(KeyCount(), 0u);
  EXPECT_TRUE(AliasNames().empty());
}

TEST_F(SeedTest, AReservedAliasNameIsRefusedBeforeTheKeyIsCreated) {
  auto r = Apply(R"({"keys":[{"KeyId":")" + std::string(kKeyA) +
                 R"(","Aliases":["alias/ok","alias/aws/ci"]}]})");
  EXPECT_THAT(r, ::testing::AnyOf(HasError(ErrorCode::kValidation),
                                  HasError(ErrorCode::kInvalidAliasName)));
  EXPECT_THAT(service_->DescribeKey(Ctx(), kKeyA), HasError(ErrorCode::kNotFound));
  EXPECT_TRUE(AliasNames().empty());
  EXPECT_THAT(Apply(R"({"keys":[{"KeyId":")" + std::string(kKeyA) + R"(","Aliases":["x"]}]})"),
              HasError(ErrorCode::kValidation));
  EXPECT_EQ(KeyCount(), 0u);
}

TEST_F(SeedTest, AReservedTagKeyIsRefusedAsTheServiceRefusesIt) {
  auto r = Apply(R"({"keys":[{"KeyId":")" + std::string(kKeyB) +
                 R"(","Tags":[{"TagKey":"aws:x","TagValue":"v"}]}]})");
  EXPECT_THAT(r, HasError(ErrorCode::kTag));
  if (!r) {
    EXPECT_THAT(r.error().message, HasSubstr(kKeyB));  // says which key
  }
  EXPECT_THAT(service_->DescribeKey(Ctx(), kKeyB), HasError(ErrorCode::kNotFound));
}

TEST_F(SeedTest, AnEmptyKeyListDoesNothing) {
  auto r = Apply(R"({"keys":[]})");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->keys_created, 0);
  EXPECT_EQ(r->keys_present, 0);
  EXPECT_EQ(r->aliases_created, 0);
}

}  // namespace
}  // namespace scytale::kms

// Custom key stores at the service level, against SoftHSM2 tokens made in a temporary directory
// (SOFTHSM2_CONF points at our own softhsm2.conf; the system's token store is never touched).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "keystore/testing/soft_root.h"
#include "keystore/testing/softhsm.h"
#include "kms/kms.h"

namespace scytale::kms {
namespace {

constexpr const char* kModule = keystore::testing::kSoftHsmModule;
constexpr const char* kPin = "kmsuser-pin";
constexpr const char* kClusterA = "cluster-abcdefghijk";  // token "ck-a"
constexpr const char* kClusterB = "cluster-bcdefghijkl";  // token "ck-b"
constexpr const char* kClusterGone = "cluster-cdefghijklm";  // a token that does not exist
constexpr const char* kClusterAnchored = "cluster-defghijklmn";  // token "ck-c", anchor B

std::filesystem::path g_dir;
std::string g_setup_error;
std::string g_anchor_a;  // PEM certificates
std::string g_anchor_b;

int RunShell(const std::string& command) {
  int rc = std::system((command + " >" + (g_dir / "setup.log").string() + " 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class CustomKeyStoresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_dir = std::filesystem::temp_directory_path() / ("scy-cks-" + std::to_string(::getpid()));
    g_setup_error = keystore::testing::MakeSoftHsmTokens(g_dir, {"ck-a", "ck-b", "ck-c"}, kPin);
    if (!g_setup_error.empty()) {
      return;
    }
    for (const char* name : {"a", "b"}) {
      std::string cmd = std::string("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                                    "-nodes -days 2 -subj /CN=anchor-") +
                        name + " -keyout " + (g_dir / name).string() + ".key -out " +
                        (g_dir / name).string() + ".pem";
      if (RunShell(cmd) != 0) {
        g_setup_error = "openssl req failed: " + ReadText(g_dir / "setup.log");
        return;
      }
    }
    g_anchor_a = ReadText(g_dir / "a.pem");
    g_anchor_b = ReadText(g_dir / "b.pem");
  }
  static void TearDownTestSuite() {
    if (!g_dir.empty()) {
      std::filesystem::remove_all(g_dir);
    }
  }

  void SetUp() override {
    if (!g_setup_error.empty()) {
      GTEST_FAIL() << g_setup_error;
    }
    dir_ = g_dir / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    store_ = storage::OpenSqliteStore(dir_ / "db").value();
    root_ = keystore::testing::OpenSoftRoot(dir_);
    clock_ = std::make_shared<FakeClock>(std::chrono::system_clock::from_time_t(1700000000));
    service_ = NewService();
  }
  void TearDown() override {
    // Every test leaves its tokens without its keys, so that the next one starts clean.
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::vector<CloudHsmCluster> Clusters() {
    return {{kClusterA, kModule, "ck-a", std::nullopt},
            {kClusterB, kModule, "ck-b", std::nullopt},
            {kClusterGone, kModule, "ck-gone", std::nullopt},
            {kClusterAnchored, kModule, "ck-c", g_anchor_b}};
  }
  std::unique_ptr<KeyService> NewService() {
    return KeyService::Create(store_.get(), root_.get(), clock_, {}, Clusters());
  }

  CallContext Ctx(const std::string& region = "us-east-1") {
    return {"111122223333", region, "arn:aws:iam::111122223333:root", "req"};
  }

  CreateCustomKeyStoreRequest CreateRequest(const std::string& name, const std::string& cluster,
                                            const std::string& pin = kPin) {
    CreateCustomKeyStoreRequest r;
    r.custom_key_store_name = name;
    r.cloud_hsm_cluster_id = cluster;
    r.trust_anchor_certificate = g_anchor_a;
    r.key_store_password = crypto::SecretBytes(AsBytes(pin));
    return r;
  }

  std::string NewStore(const std::string& name = "store",
                       const std::string& cluster = kClusterA) {
    auto id = service_->CreateCustomKeyStore(Ctx(), CreateRequest(name, cluster));
    EXPECT_TRUE(id.has_value()) << id.error().message;
    return id.value_or("");
  }

  CustomKeyStoreEntry Describe(const std::string& id) {
    DescribeCustomKeyStoresRequest r;
    r.custom_key_store_id = id;
    auto out = service_->DescribeCustomKeyStores(Ctx(), r);
    EXPECT_TRUE(out.has_value()) << out.error().message;
    EXPECT_EQ(out->custom_key_stores.size(), 1u);
    return out->custom_key_stores.at(0);
  }

  KeyMetadata NewKeyIn(const std::string& store_id) {
    CreateKeyRequest r;
    r.origin = "AWS_CLOUDHSM";
    r.custom_key_store_id = store_id;
    auto key = service_->CreateKey(Ctx(), r);
    EXPECT_TRUE(key.has_value()) << key.error().message;
    return key.value();
  }

  Bytes Encrypt(const std::string& key_id, const std::string& plaintext,
                EncryptionContext context = {}) {
    EncryptRequest r;
    r.key_id = key_id;
    r.plaintext = crypto::SecretBytes(AsBytes(plaintext));
    r.context = std::move(context);
    auto out = service_->Encrypt(Ctx(), r);
    EXPECT_TRUE(out.has_value()) << out.error().message;
    return out ? out->ciphertext_blob : Bytes{};
  }

  Result<DecryptResponse> Decrypt(const Bytes& blob, EncryptionContext context = {}) {
    DecryptRequest r;
    r.ciphertext_blob = blob;
    r.context = std::move(context);
    return service_->Decrypt(Ctx(), r);
  }

  // Deletes the test's keys from the token, as the end of their waiting period does.
  void DeleteAllKeysAfterTheirWindow(const std::vector<std::string>& key_ids) {
    for (const auto& id : key_ids) {
      ASSERT_TRUE(service_->ScheduleKeyDeletion(Ctx(), id, 7).has_value());
    }
    clock_->Advance(std::chrono::hours(24 * 8));
    auto report = service_->RunMaintenance();
    ASSERT_TRUE(report.has_value());
    EXPECT_FALSE(report->error) << report->error->message;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<keystore::RootKeystore> root_;
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<KeyService> service_;
};

TEST_F(CustomKeyStoresTest, StoreIsCreatedDisconnectedThenConnectsAndDisconnects) {
  std::string id = NewStore();
  EXPECT_EQ(id.size(), 21u);
  EXPECT_TRUE(id.starts_with("cks-"));
  CustomKeyStoreEntry e = Describe(id);
  EXPECT_EQ(e.custom_key_store_name, "store");
  EXPECT_EQ(e.cloud_hsm_cluster_id, kClusterA);
  EXPECT_EQ(e.trust_anchor_certificate, g_anchor_a);
  EXPECT_EQ(e.connection_state, "DISCONNECTED");
  EXPECT_EQ(e.connection_error_code, "");
  EXPECT_EQ(e.custom_key_store_type, "AWS_CLOUDHSM");
  EXPECT_EQ(e.creation_date, 1700000000);

  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  EXPECT_EQ(Describe(id).connection_state, "CONNECTED");
  // Connecting a connected store changes nothing.
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  EXPECT_EQ(Describe(id).connection_state, "CONNECTED");

  ASSERT_TRUE(service_->DisconnectCustomKeyStore(Ctx(), id).has_value());
  EXPECT_EQ(Describe(id).connection_state, "DISCONNECTED");
  EXPECT_EQ(service_->DisconnectCustomKeyStore(Ctx(), id).error().code,
            ErrorCode::kCustomKeyStoreInvalidState);
  ASSERT_TRUE(service_->DeleteCustomKeyStore(Ctx(), id).has_value());
  EXPECT_EQ(service_->ConnectCustomKeyStore(Ctx(), id).error().code,
            ErrorCode::kCustomKeyStoreNotFound);
}

TEST_F(CustomKeyStoresTest, CreateRefusesWhatAwsRefuses) {
  auto code = [&](const CreateCustomKeyStoreRequest& r) {
    auto out = service_->CreateCustomKeyStore(Ctx(), r);
    return out ? std::optional<ErrorCode>() : out.error().code;
  };
  EXPECT_EQ(code(CreateRequest("s", "cluster-zzzzzzzzzzz")), ErrorCode::kCloudHsmClusterNotFound);
  CreateCustomKeyStoreRequest xks = CreateRequest("s", kClusterA);
  xks.custom_key_store_type = "EXTERNAL_KEY_STORE";
  EXPECT_EQ(code(xks), ErrorCode::kUnsupportedOperation);
  CreateCustomKeyStoreRequest no_anchor = CreateRequest("s", kClusterA);
  no_anchor.trust_anchor_certificate.reset();
  EXPECT_EQ(code(no_anchor), ErrorCode::kValidation);
  CreateCustomKeyStoreRequest not_a_cert = CreateRequest("s", kClusterA);
  not_a_cert.trust_anchor_certificate = "-----BEGIN CERTIFICATE-----\nAAAA\n";
  EXPECT_EQ(code(not_a_cert), ErrorCode::kIncorrectTrustAnchor);
  // The cluster configured with anchor B refuses anchor A.
  EXPECT_EQ(code(CreateRequest("s", kClusterAnchored)), ErrorCode::kIncorrectTrustAnchor);
  CreateCustomKeyStoreRequest right = CreateRequest("anchored", kClusterAnchored);
  right.trust_anchor_certificate = g_anchor_b;
  EXPECT_EQ(code(right), std::nullopt);

  NewStore("one", kClusterA);
  EXPECT_EQ(code(CreateRequest("one", kClusterB)), ErrorCode::kCustomKeyStoreNameInUse);
  EXPECT_EQ(code(CreateRequest("two", kClusterA)), ErrorCode::kCloudHsmClusterInUse);
  // A cluster backs one store, whatever the region.
  auto other_region = service_->CreateCustomKeyStore(Ctx("eu-west-1"), CreateRequest("x", kClusterA));
  EXPECT_EQ(other_region.error().code, ErrorCode::kCloudHsmClusterInUse);
}

TEST_F(CustomKeyStoresTest, AnAccountHasAtMostTenStoresPerRegion) {
  std::vector<CloudHsmCluster> many;
  for (int i = 0; i < 11; ++i) {
    many.push_back({"cluster-manyclusters" + std::string(1, static_cast<char>('a' + i)), kModule,
                    "ck-a", std::nullopt});
  }
  service_ = KeyService::Create(store_.get(), root_.get(), clock_, {}, many);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(service_
                    ->CreateCustomKeyStore(Ctx(), CreateRequest("s" + std::to_string(i),
                                                                many[i].cluster_id))
                    .has_value());
  }
  EXPECT_EQ(service_->CreateCustomKeyStore(Ctx(), CreateRequest("s10", many[10].cluster_id))
                .error()
                .code,
            ErrorCode::kLimitExceeded);
  // DescribeCustomKeyStores pages them in creation order.
  DescribeCustomKeyStoresRequest page;
  page.limit = 4;
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    auto out = service_->DescribeCustomKeyStores(Ctx(), page).value();
    for (const auto& e : out.custom_key_stores) {
      names.push_back(e.custom_key_store_name);
    }
    if (!out.truncated) {
      break;
    }
    page.marker = out.next_marker;
  }
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names.front(), "s0");
  EXPECT_EQ(names.back(), "s9");
  page.marker = "bm9wZQ==";
  EXPECT_EQ(service_->DescribeCustomKeyStores(Ctx(), page).error().code,
            ErrorCode::kInvalidMarker);
  DescribeCustomKeyStoresRequest by_name;
  by_name.custom_key_store_name = "s3";
  EXPECT_EQ(service_->DescribeCustomKeyStores(Ctx(), by_name).value().custom_key_stores.size(),
            1u);
  by_name.custom_key_store_name = "nope";
  EXPECT_EQ(service_->DescribeCustomKeyStores(Ctx(), by_name).error().code,
            ErrorCode::kCustomKeyStoreNotFound);
}

TEST_F(CustomKeyStoresTest, WrongPasswordFailsWithInvalidCredentialsUntilUpdated) {
  auto id = service_->CreateCustomKeyStore(Ctx(), CreateRequest("s", kClusterA, "wrong-pin"));
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), *id).has_value());  // asynchronous in AWS
  CustomKeyStoreEntry e = Describe(*id);
  EXPECT_EQ(e.connection_state, "FAILED");
  EXPECT_EQ(e.connection_error_code, "INVALID_CREDENTIALS");
  // A FAILED store must be disconnected before it connects again or changes its password.
  EXPECT_EQ(service_->ConnectCustomKeyStore(Ctx(), *id).error().code,
            ErrorCode::kCustomKeyStoreInvalidState);
  UpdateCustomKeyStoreRequest update;
  update.custom_key_store_id = *id;
  update.key_store_password = crypto::SecretBytes(AsBytes(kPin));
  EXPECT_EQ(service_->UpdateCustomKeyStore(Ctx(), update).error().code,
            ErrorCode::kCustomKeyStoreInvalidState);
  ASSERT_TRUE(service_->DisconnectCustomKeyStore(Ctx(), *id).has_value());
  ASSERT_TRUE(service_->UpdateCustomKeyStore(Ctx(), update).has_value());
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), *id).has_value());
  e = Describe(*id);
  EXPECT_EQ(e.connection_state, "CONNECTED");
  EXPECT_EQ(e.connection_error_code, "");
  // The password is stored only wrapped.
  ASSERT_TRUE(service_->DisconnectCustomKeyStore(Ctx(), *id).has_value());
  service_.reset();
  store_.reset();
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(ReadText(f.path()).find(kPin), std::string::npos) << f.path();
  }
}

TEST_F(CustomKeyStoresTest, MissingTokenFailsWithClusterNotFound) {
  std::string id = NewStore("s", kClusterGone);
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  CustomKeyStoreEntry e = Describe(id);
  EXPECT_EQ(e.connection_state, "FAILED");
  EXPECT_EQ(e.connection_error_code, "CLUSTER_NOT_FOUND");
}

TEST_F(CustomKeyStoresTest, KeyInTheStoreEncryptsInsideTheToken) {
  std::string id = NewStore();
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  KeyMetadata key = NewKeyIn(id);
  EXPECT_EQ(key.origin, "AWS_CLOUDHSM");
  EXPECT_EQ(key.custom_key_store_id, id);
  EXPECT_EQ(key.cloud_hsm_cluster_id, kClusterA);
  EXPECT_EQ(key.key_state, "Enabled");
  EXPECT_EQ(key.key_spec, "SYMMETRIC_DEFAULT");

  Bytes blob = Encrypt(key.key_id, "secret", {{"purpose", "test"}});
  auto back = Decrypt(blob, {{"purpose", "test"}});
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(AsString(back->plaintext.Reveal(crypto::KeyAccess::Grant())), "secret");
  EXPECT_EQ(back->key_arn, key.arn);
  EXPECT_EQ(Decrypt(blob, {{"purpose", "other"}}).error().code, ErrorCode::kInvalidCiphertext);
  Bytes tampered = blob;
  tampered[tampered.size() - 1] ^= 1;
  EXPECT_EQ(Decrypt(tampered).error().code, ErrorCode::kInvalidCiphertext);

  // Data keys, and ReEncrypt to and from a key whose material the root wraps.
  GenerateDataKeyRequest gdk;
  gdk.key_id = key.key_id;
  gdk.key_spec = "AES_256";
  auto data_key = service_->GenerateDataKey(Ctx(), gdk);
  ASSERT_TRUE(data_key.has_value()) << data_key.error().message;
  EXPECT_EQ(data_key->plaintext.size(), 32u);
  auto again = Decrypt(data_key->ciphertext_blob);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->plaintext == data_key->plaintext);
  auto without = service_->GenerateDataKeyWithoutPlaintext(Ctx(), gdk);
  ASSERT_TRUE(without.has_value());
  EXPECT_TRUE(Decrypt(without->ciphertext_blob).has_value());

  KeyMetadata soft = service_->CreateKey(Ctx(), {}).value();
  ReEncryptRequest re;
  re.ciphertext_blob = blob;
  re.source_context = {{"purpose", "test"}};
  re.destination_key_id = soft.key_id;
  auto moved = service_->ReEncrypt(Ctx(), re);
  ASSERT_TRUE(moved.has_value()) << moved.error().message;
  re.ciphertext_blob = moved->ciphertext_blob;
  re.source_context = {};
  re.destination_key_id = key.key_id;
  auto home = service_->ReEncrypt(Ctx(), re);
  ASSERT_TRUE(home.has_value()) << home.error().message;
  EXPECT_EQ(AsString(Decrypt(home->ciphertext_blob).value().plaintext.Reveal(
                crypto::KeyAccess::Grant())),
            "secret");

  // Random bytes from the token.
  GenerateRandomRequest random;
  random.number_of_bytes = 48;
  random.custom_key_store_id = id;
  auto bytes = service_->GenerateRandom(Ctx(), random);
  ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
  EXPECT_EQ(bytes->size(), 48u);

  DeleteAllKeysAfterTheirWindow({key.key_id});
}

TEST_F(CustomKeyStoresTest, DisconnectedStoreMakesItsKeysUnavailable) {
  std::string id = NewStore();
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  KeyMetadata key = NewKeyIn(id);
  Bytes blob = Encrypt(key.key_id, "x");
  ASSERT_TRUE(service_->DisconnectCustomKeyStore(Ctx(), id).has_value());

  KeyMetadata described = service_->DescribeKey(Ctx(), key.key_id).value();
  EXPECT_EQ(described.key_state, "Unavailable");
  EXPECT_FALSE(described.enabled);
  EncryptRequest enc_req;
  enc_req.key_id = key.key_id;
  enc_req.plaintext = crypto::SecretBytes(AsBytes("x"));
  auto enc = service_->Encrypt(Ctx(), enc_req);
  ASSERT_FALSE(enc.has_value());
  EXPECT_EQ(enc.error().code, ErrorCode::kInvalidState);
  EXPECT_EQ(enc.error().message, key.arn + " is unavailable.");
  EXPECT_EQ(Decrypt(blob).error().code, ErrorCode::kInvalidState);
  GenerateDataKeyRequest gdk;
  gdk.key_id = key.key_id;
  gdk.number_of_bytes = 16;
  EXPECT_EQ(service_->GenerateDataKey(Ctx(), gdk).error().code, ErrorCode::kInvalidState);
  GenerateRandomRequest random;
  random.number_of_bytes = 8;
  random.custom_key_store_id = id;
  EXPECT_EQ(service_->GenerateRandom(Ctx(), random).error().code,
            ErrorCode::kCustomKeyStoreInvalidState);
  CreateKeyRequest create;
  create.origin = "AWS_CLOUDHSM";
  create.custom_key_store_id = id;
  EXPECT_EQ(service_->CreateKey(Ctx(), create).error().code,
            ErrorCode::kCustomKeyStoreInvalidState);
  // Management still works; a disabled key stays disabled when the store comes back.
  ASSERT_TRUE(service_->DisableKey(Ctx(), key.key_id).has_value());
  EXPECT_EQ(service_->DescribeKey(Ctx(), key.key_id).value().key_state, "Unavailable");

  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  EXPECT_EQ(service_->DescribeKey(Ctx(), key.key_id).value().key_state, "Disabled");
  ASSERT_TRUE(service_->EnableKey(Ctx(), key.key_id).has_value());
  ASSERT_TRUE(Decrypt(blob).has_value());
  DeleteAllKeysAfterTheirWindow({key.key_id});
}

TEST_F(CustomKeyStoresTest, CreateKeyTakesOnlySymmetricKeysOfOriginAwsCloudHsm) {
  std::string id = NewStore();
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  auto code = [&](const CreateKeyRequest& r) { return service_->CreateKey(Ctx(), r).error().code; };
  CreateKeyRequest no_origin;
  no_origin.custom_key_store_id = id;
  EXPECT_EQ(code(no_origin), ErrorCode::kUnsupportedOperation);
  CreateKeyRequest no_store;
  no_store.origin = "AWS_CLOUDHSM";
  EXPECT_EQ(code(no_store), ErrorCode::kValidation);
  auto in_store = [&] {
    CreateKeyRequest r;
    r.origin = "AWS_CLOUDHSM";
    r.custom_key_store_id = id;
    return r;
  };
  CreateKeyRequest rsa = in_store();
  rsa.key_spec = "RSA_2048";
  EXPECT_EQ(code(rsa), ErrorCode::kUnsupportedOperation);
  CreateKeyRequest hmac = in_store();
  hmac.key_spec = "HMAC_256";
  hmac.key_usage = "GENERATE_VERIFY_MAC";
  EXPECT_EQ(code(hmac), ErrorCode::kUnsupportedOperation);
  CreateKeyRequest multi = in_store();
  multi.multi_region = true;
  EXPECT_EQ(code(multi), ErrorCode::kUnsupportedOperation);
  CreateKeyRequest unknown = in_store();
  unknown.custom_key_store_id = "cks-00000000000000000";
  EXPECT_EQ(code(unknown), ErrorCode::kCustomKeyStoreNotFound);

  // Rotation is not for keys in a custom key store.
  KeyMetadata key = NewKeyIn(id);
  EXPECT_EQ(service_->EnableKeyRotation(Ctx(), key.key_id, std::nullopt).error().code,
            ErrorCode::kUnsupportedOperation);
  EXPECT_EQ(service_->RotateKeyOnDemand(Ctx(), key.key_id).error().code,
            ErrorCode::kUnsupportedOperation);
  DeleteAllKeysAfterTheirWindow({key.key_id});
}

TEST_F(CustomKeyStoresTest, StoreIsDeletedOnlyDisconnectedAndEmpty) {
  std::string id = NewStore();
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  KeyMetadata key = NewKeyIn(id);
  EXPECT_EQ(service_->DeleteCustomKeyStore(Ctx(), id).error().code,
            ErrorCode::kCustomKeyStoreInvalidState);
  ASSERT_TRUE(service_->DisconnectCustomKeyStore(Ctx(), id).has_value());
  EXPECT_EQ(service_->DeleteCustomKeyStore(Ctx(), id).error().code,
            ErrorCode::kCustomKeyStoreHasCmks);
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  DeleteAllKeysAfterTheirWindow({key.key_id});
  // The key object left the token with the key.
  keystore::Pkcs11TokenOptions o{kModule, "ck-a", crypto::SecretBytes(AsBytes(kPin))};
  auto token = keystore::OpenPkcs11TokenKeys(o);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_EQ((*token)->DestroyKey(key.key_id).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(service_->DisconnectCustomKeyStore(Ctx(), id).has_value());
  ASSERT_TRUE(service_->DeleteCustomKeyStore(Ctx(), id).has_value());
}

TEST_F(CustomKeyStoresTest, ConnectedStoreStaysConnectedAcrossARestart) {
  std::string id = NewStore();
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  KeyMetadata key = NewKeyIn(id);
  Bytes blob = Encrypt(key.key_id, "kept");
  service_.reset();
  service_ = NewService();
  auto restored = service_->RestoreCustomKeyStoreConnections();
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->connected, 1);
  EXPECT_TRUE(restored->failures.empty());
  EXPECT_EQ(Describe(id).connection_state, "CONNECTED");
  auto back = Decrypt(blob);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  // Without an explicit restore the first use connects it too.
  service_.reset();
  service_ = NewService();
  ASSERT_TRUE(Decrypt(blob).has_value());
  // A server no longer configured with the cluster reports the store FAILED.
  service_.reset();
  service_ = KeyService::Create(store_.get(), root_.get(), clock_, {}, {});
  restored = service_->RestoreCustomKeyStoreConnections();
  ASSERT_TRUE(restored.has_value());
  ASSERT_EQ(restored->failures.size(), 1u);
  EXPECT_EQ(restored->failures[0], id + ": CLUSTER_NOT_FOUND");
  EXPECT_EQ(service_->DescribeKey(Ctx(), key.key_id).value().key_state, "Unavailable");
  service_.reset();
  service_ = NewService();
  ASSERT_TRUE(service_->DisconnectCustomKeyStore(Ctx(), id).has_value());
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  DeleteAllKeysAfterTheirWindow({key.key_id});
}

TEST_F(CustomKeyStoresTest, UpdateRenamesAnytimeButMovesOnlyDisconnectedToRelatedClusters) {
  std::string id = NewStore("old");
  NewStore("taken", kClusterB);
  ASSERT_TRUE(service_->ConnectCustomKeyStore(Ctx(), id).has_value());
  UpdateCustomKeyStoreRequest rename;
  rename.custom_key_store_id = id;
  rename.new_custom_key_store_name = "new";
  ASSERT_TRUE(service_->UpdateCustomKeyStore(Ctx(), rename).has_value());
  EXPECT_EQ(Describe(id).custom_key_store_name, "new");
  rename.new_custom_key_store_name = "taken";
  EXPECT_EQ(service_->UpdateCustomKeyStore(Ctx(), rename).error().code,
            ErrorCode::kCustomKeyStoreNameInUse);

  UpdateCustomKeyStoreRequest move;
  move.custom_key_store_id = id;
  move.cloud_hsm_cluster_id = kClusterGone;
  EXPECT_EQ(service_->UpdateCustomKeyStore(Ctx(), move).error().code,
            ErrorCode::kCustomKeyStoreInvalidState);
  ASSERT_TRUE(service_->DisconnectCustomKeyStore(Ctx(), id).has_value());
  move.cloud_hsm_cluster_id = "cluster-zzzzzzzzzzz";
  EXPECT_EQ(service_->UpdateCustomKeyStore(Ctx(), move).error().code,
            ErrorCode::kCloudHsmClusterNotFound);
  move.cloud_hsm_cluster_id = kClusterB;
  EXPECT_EQ(service_->UpdateCustomKeyStore(Ctx(), move).error().code,
            ErrorCode::kCloudHsmClusterInUse);
  move.cloud_hsm_cluster_id = kClusterAnchored;  // trust anchor B, the store's is A
  EXPECT_EQ(service_->UpdateCustomKeyStore(Ctx(), move).error().code,
            ErrorCode::kCloudHsmClusterNotRelated);
  move.cloud_hsm_cluster_id = kClusterGone;
  ASSERT_TRUE(service_->UpdateCustomKeyStore(Ctx(), move).has_value());
  EXPECT_EQ(Describe(id).cloud_hsm_cluster_id, kClusterGone);
  UpdateCustomKeyStoreRequest missing;
  missing.custom_key_store_id = "cks-00000000000000000";
  EXPECT_EQ(service_->UpdateCustomKeyStore(Ctx(), missing).error().code,
            ErrorCode::kCustomKeyStoreNotFound);
}

TEST_F(CustomKeyStoresTest, StoresAreSeparatedByRegion) {
  std::string id = NewStore();
  EXPECT_EQ(service_->ConnectCustomKeyStore(Ctx("eu-west-1"), id).error().code,
            ErrorCode::kCustomKeyStoreNotFound);
  DescribeCustomKeyStoresRequest all;
  EXPECT_TRUE(
      service_->DescribeCustomKeyStores(Ctx("eu-west-1"), all).value().custom_key_stores.empty());
  DescribeCustomKeyStoresRequest both;
  both.custom_key_store_id = id;
  both.custom_key_store_name = "store";
  EXPECT_EQ(service_->DescribeCustomKeyStores(Ctx(), both).error().code, ErrorCode::kValidation);
}

}  // namespace
}  // namespace scytale::kms

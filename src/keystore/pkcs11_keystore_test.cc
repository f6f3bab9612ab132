// Tests of the pkcs11 root keystore against SoftHSM2, with a token made in a temporary directory
// (SOFTHSM2_CONF points at our own softhsm2.conf): the system's token store is never touched.

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "keystore/keystore.h"
#include "keystore/testing/softhsm.h"

namespace scytale::keystore {
namespace {

using crypto::KeyAccess;
using crypto::SecretBytes;

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
constexpr const char* kToken = "T";
constexpr const char* kPin = "1234";

std::filesystem::path g_dir;
std::string g_setup_error;  // non-empty: every test fails with it

// Runs a shell command; its output goes to `log`. Returns the exit status.
int RunShell(const std::string& command, const std::filesystem::path& log) {
  int rc = std::system((command + " >" + log.string() + " 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class Pkcs11KeystoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kModule) || std::system("command -v softhsm2-util >/dev/null") ||
        std::system("command -v pkcs11-tool >/dev/null")) {
      g_setup_error = std::string("SoftHSM2 (") + kModule +
                      ", softhsm2-util) or OpenSC's pkcs11-tool is not installed: run "
                      "scripts/install-deps.sh";
      return;
    }
    g_dir = std::filesystem::temp_directory_path() / ("scy-p11-" + std::to_string(::getpid()));
    g_setup_error = testing::MakeSoftHsmTokens(g_dir, {kToken, "Other"}, kPin);
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
  }

  // Options naming a key of this test's own (tests share the token).
  Pkcs11Options Options(std::string pin = kPin) {
    Pkcs11Options o;
    o.module = kModule;
    o.token_label = kToken;
    o.key_label =
        std::string("root-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.pin = SecretBytes(AsBytes(pin));
    o.session_pool_size = 4;
    return o;
  }

  std::unique_ptr<RootKeystore> CreateAndOpen() {
    Status created = CreatePkcs11RootKey(Options());
    EXPECT_TRUE(created.has_value()) << created.error().message;
    auto ks = OpenPkcs11Keystore(Options());
    EXPECT_TRUE(ks.has_value()) << ks.error().message;
    return ks ? std::move(*ks) : nullptr;
  }
};

// Direct access to the module, as another application of the token would have. Valid while a
// keystore of this process keeps the module initialized.
class RawToken {
 public:
  RawToken() {
    void* handle = ::dlopen(kModule, RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(handle, nullptr);
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    EXPECT_EQ(get(&f_), CKR_OK);
    ::dlclose(handle);  // the keystore still holds its reference
    CK_ULONG count = 16;
    CK_SLOT_ID slots[16];
    EXPECT_EQ(f_->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
    for (CK_ULONG i = 0; i < count; ++i) {
      CK_TOKEN_INFO info{};
      f_->C_GetTokenInfo(slots[i], &info);
      if (std::string(reinterpret_cast<char*>(info.label), 2) == std::string(kToken) + " ") {
        slot_ = slots[i];
      }
    }
    EXPECT_EQ(
        f_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session_),
        CKR_OK);
    CK_RV rv = f_->C_Login(session_, CKU_USER,
                           reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(kPin)), 4);
    EXPECT_TRUE(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) << rv;
  }
  ~RawToken() { f_->C_CloseSession(session_); }

  CK_OBJECT_HANDLE FindKey(const std::string& label) {
    CK_ATTRIBUTE tmpl[] = {{CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    EXPECT_EQ(f_->C_FindObjectsInit(session_, tmpl, 1), CKR_OK);
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    EXPECT_EQ(f_->C_FindObjects(session_, &key, 1, &n), CKR_OK);
    f_->C_FindObjectsFinal(session_);
    EXPECT_EQ(n, 1u);
    return key;
  }

  CK_FUNCTION_LIST_PTR f_ = nullptr;
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
};

TEST_F(Pkcs11KeystoreTest, CreatesTheRootKeyOnceAndDescribesIt) {
  ASSERT_TRUE(CreatePkcs11RootKey(Options()).has_value());
  Status again = CreatePkcs11RootKey(Options());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto ks = OpenPkcs11Keystore(Options());
  ASSERT_TRUE(ks.has_value()) << ks.error().message;
  EXPECT_EQ((*ks)->Describe(), "pkcs11:T/root-CreatesTheRootKeyOnceAndDescribesIt");
}

TEST_F(Pkcs11KeystoreTest, WrapsAndUnwrapsInsideTheToken) {
  auto ks = CreateAndOpen();
  ASSERT_TRUE(ks);
  for (size_t size : {0, 1, 16, 32, 64, 1000}) {
    SecretBytes secret(size);
    for (size_t i = 0; i < size; ++i) {
      secret.MutableReveal(KeyAccess::Grant())[i] = static_cast<uint8_t>(i * 7);
    }
    auto wrapped = ks->Wrap(secret, AsBytes("arn:aws:kms:us-east-1:111122223333:key/k:v1"));
    ASSERT_TRUE(wrapped.has_value()) << wrapped.error().message;
    ASSERT_EQ(wrapped->size(), 1 + 12 + size + 16);
    EXPECT_EQ((*wrapped)[0], 2);  // the pkcs11 format, not the soft root's 1
    auto back = ks->Unwrap(*wrapped, AsBytes("arn:aws:kms:us-east-1:111122223333:key/k:v1"));
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_TRUE(*back == secret) << size;
  }
  SecretBytes secret(AsBytes("k"));
  EXPECT_NE(ks->Wrap(secret, {}).value(), ks->Wrap(secret, {}).value());  // fresh IVs
}

TEST_F(Pkcs11KeystoreTest, UnwrapFailsUnderOtherAad) {
  auto ks = CreateAndOpen();
  ASSERT_TRUE(ks);
  SecretBytes secret(AsBytes("backing key"));
  Bytes wrapped = ks->Wrap(secret, AsBytes("key/1:v1")).value();
  for (const char* other : {"key/1:v2", "key/2:v1", ""}) {
    auto back = ks->Unwrap(wrapped, AsBytes(other));
    ASSERT_FALSE(back.has_value()) << other;
    EXPECT_EQ(back.error().code, ErrorCode::kInvalidCiphertext);
  }
  Bytes no_aad = ks->Wrap(secret, {}).value();
  EXPECT_EQ(ks->Unwrap(no_aad, AsBytes("x")).error().code, ErrorCode::kInvalidCiphertext);
  EXPECT_TRUE(ks->Unwrap(no_aad, {}).has_value());
}

TEST_F(Pkcs11KeystoreTest, TamperedOrTruncatedBlobIsInvalidCiphertext) {
  auto ks = CreateAndOpen();
  ASSERT_TRUE(ks);
  SecretBytes secret(AsBytes("0123456789abcdef0123456789abcdef"));
  Bytes wrapped = ks->Wrap(secret, AsBytes("a")).value();
  // Every byte: the version, the IV, the ciphertext and the tag.
  for (size_t i = 0; i < wrapped.size(); ++i) {
    Bytes tampered = wrapped;
    tampered[i] ^= 0x01;
    auto back = ks->Unwrap(tampered, AsBytes("a"));
    ASSERT_FALSE(back.has_value()) << "byte " << i;
    EXPECT_EQ(back.error().code, ErrorCode::kInvalidCiphertext) << back.error().message;
  }
  for (size_t size : {size_t{0}, size_t{1}, size_t{28}, wrapped.size() - 1}) {
    auto back = ks->Unwrap(std::span(wrapped).first(size), AsBytes("a"));
    ASSERT_FALSE(back.has_value()) << size;
    EXPECT_EQ(back.error().code, ErrorCode::kInvalidCiphertext);
  }
  Bytes soft_format = wrapped;  // a blob of the soft root's format says so
  soft_format[0] = 1;
  auto soft = ks->Unwrap(soft_format, AsBytes("a"));
  ASSERT_FALSE(soft.has_value());
  EXPECT_NE(soft.error().message.find("made by a soft root keystore"), std::string::npos);
  Bytes longer = wrapped;
  longer.push_back(0);
  EXPECT_EQ(ks->Unwrap(longer, AsBytes("a")).error().code, ErrorCode::kInvalidCiphertext);
  // The failures left every session usable.
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(ks->Unwrap(wrapped, AsBytes("a")).value() == secret);
  }
}

TEST_F(Pkcs11KeystoreTest, WrongPinFailsWithAClearMessageThatOmitsThePin) {
  ASSERT_TRUE(CreatePkcs11RootKey(Options()).has_value());
  auto ks = OpenPkcs11Keystore(Options("987654"));
  ASSERT_FALSE(ks.has_value());
  EXPECT_EQ(ks.error().code, ErrorCode::kInternal);
  EXPECT_NE(ks.error().message.find("wrong user PIN"), std::string::npos) << ks.error().message;
  EXPECT_NE(ks.error().message.find("CKR_PIN_INCORRECT"), std::string::npos);
  EXPECT_NE(ks.error().message.find("'T'"), std::string::npos);
  EXPECT_EQ(ks.error().message.find("987654"), std::string::npos);
  Status created = CreatePkcs11RootKey(Options("987654"));
  ASSERT_FALSE(created.has_value());
  EXPECT_NE(created.error().message.find("wrong user PIN"), std::string::npos);
  EXPECT_EQ(created.error().message.find("987654"), std::string::npos);
  // The right PIN still opens it (SoftHSM2 has no retry counter to exhaust).
  EXPECT_TRUE(OpenPkcs11Keystore(Options()).has_value());
}

TEST_F(Pkcs11KeystoreTest, UnknownTokenKeyOrModuleIsNamedInTheError) {
  ASSERT_TRUE(CreatePkcs11RootKey(Options()).has_value());
  Pkcs11Options o = Options();
  o.token_label = "NoSuchToken";
  auto ks = OpenPkcs11Keystore(o);
  ASSERT_FALSE(ks.has_value());
  EXPECT_NE(ks.error().message.find("no PKCS#11 token labelled 'NoSuchToken'"), std::string::npos)
      << ks.error().message;
  EXPECT_NE(ks.error().message.find("'T'"), std::string::npos) << ks.error().message;
  EXPECT_FALSE(CreatePkcs11RootKey(o).has_value());

  o = Options();
  o.key_label = "no-such-key";
  ks = OpenPkcs11Keystore(o);
  ASSERT_FALSE(ks.has_value());
  EXPECT_NE(ks.error().message.find("no secret key labelled 'no-such-key'"), std::string::npos)
      << ks.error().message;

  // A key of this label lives in token T, not in token Other.
  o = Options();
  o.token_label = "Other";
  ks = OpenPkcs11Keystore(o);
  ASSERT_FALSE(ks.has_value());
  EXPECT_NE(ks.error().message.find("no secret key labelled"), std::string::npos);

  o = Options();
  o.module = "/nonexistent/libpkcs11.so";
  ks = OpenPkcs11Keystore(o);
  ASSERT_FALSE(ks.has_value());
  EXPECT_NE(ks.error().message.find("cannot load the PKCS#11 module /nonexistent/libpkcs11.so"),
            std::string::npos)
      << ks.error().message;

  o = Options();
  o.module = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  if (std::filesystem::exists(o.module)) {
    ks = OpenPkcs11Keystore(o);
    ASSERT_FALSE(ks.has_value());
    EXPECT_NE(ks.error().message.find("is not a PKCS#11 module"), std::string::npos)
        << ks.error().message;
  }

  o = Options();
  o.pin = SecretBytes();
  ks = OpenPkcs11Keystore(o);
  ASSERT_FALSE(ks.has_value());
  EXPECT_NE(ks.error().message.find("SCYTALE_PKCS11_PIN"), std::string::npos);
}

TEST_F(Pkcs11KeystoreTest, WrapsAndUnwrapsConcurrentlyFromEightThreads) {
  auto ks = CreateAndOpen();  // 4 sessions for 8 threads: borrowers wait their turn
  ASSERT_TRUE(ks);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        std::string text = "secret " + std::to_string(t) + "/" + std::to_string(i);
        std::string aad = "aad " + std::to_string(t);
        SecretBytes secret(AsBytes(text));
        auto wrapped = ks->Wrap(secret, AsBytes(aad));
        if (!wrapped) {
          ++failures;
          continue;
        }
        auto back = ks->Unwrap(*wrapped, AsBytes(aad));
        if (!back || !(*back == secret)) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(Pkcs11KeystoreTest, ReopenedKeystoreUnwrapsOldBlobs) {
  SecretBytes secret(AsBytes("a backing key version"));
  Bytes wrapped;
  {
    auto ks = CreateAndOpen();
    ASSERT_TRUE(ks);
    wrapped = ks->Wrap(secret, AsBytes("arn:v1")).value();
  }  // the module is finalized here: nothing of the first open survives in the process
  auto reopened = OpenPkcs11Keystore(Options());
  ASSERT_TRUE(reopened.has_value()) << reopened.error().message;
  auto back = (*reopened)->Unwrap(wrapped, AsBytes("arn:v1"));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_TRUE(*back == secret);
}

TEST_F(Pkcs11KeystoreTest, RootKeyValueCannotBeReadThroughTheApiOrPkcs11Tool) {
  auto ks = CreateAndOpen();
  ASSERT_TRUE(ks);
  RawToken token;
  CK_OBJECT_HANDLE key = token.FindKey(Options().key_label);
  uint8_t value[64];
  CK_ATTRIBUTE attr{CKA_VALUE, value, sizeof value};
  EXPECT_EQ(token.f_->C_GetAttributeValue(token.session_, key, &attr, 1), CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(attr.ulValueLen, CK_UNAVAILABLE_INFORMATION);
  CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, wrap = CK_TRUE, token_obj = CK_FALSE;
  CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sensitive, 1},
                          {CKA_EXTRACTABLE, &extractable, 1},
                          {CKA_WRAP, &wrap, 1},
                          {CKA_TOKEN, &token_obj, 1}};
  ASSERT_EQ(token.f_->C_GetAttributeValue(token.session_, key, flags, 4), CKR_OK);
  EXPECT_EQ(sensitive, CK_TRUE);
  EXPECT_EQ(extractable, CK_FALSE);
  EXPECT_EQ(wrap, CK_FALSE);
  EXPECT_EQ(token_obj, CK_TRUE);

  // OpenSC's pkcs11-tool, another process, sees the key but cannot read it.
  std::string base =
      std::string("pkcs11-tool --module ") + kModule + " --token-label T --login --pin " + kPin;
  std::filesystem::path log = g_dir / "pkcs11-tool.log";
  ASSERT_EQ(RunShell(base + " --list-objects --type secrkey", log), 0) << ReadText(log);
  EXPECT_NE(ReadText(log).find(Options().key_label), std::string::npos) << ReadText(log);
  EXPECT_NE(RunShell(base + " --read-object --type secrkey --label " + Options().key_label +
                         " --output-file " + (g_dir / "stolen").string(),
                     log),
            0)
      << ReadText(log);
  EXPECT_FALSE(std::filesystem::exists(g_dir / "stolen") &&
               std::filesystem::file_size(g_dir / "stolen") > 0);
}

TEST_F(Pkcs11KeystoreTest, RefusesAnExtractableKeyAsRoot) {
  ASSERT_TRUE(CreatePkcs11RootKey(Options()).has_value());
  auto ks = OpenPkcs11Keystore(Options());  // keeps the module initialized for RawToken
  ASSERT_TRUE(ks.has_value());
  RawToken token;
  std::string label = "weak-root";
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG len = 32;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
                         {CKA_KEY_TYPE, &type, sizeof type},
                         {CKA_VALUE_LEN, &len, sizeof len},
                         {CKA_TOKEN, &yes, 1},
                         {CKA_SENSITIVE, &no, 1},
                         {CKA_EXTRACTABLE, &yes, 1},
                         {CKA_LABEL, label.data(), label.size()}};
  CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE key;
  ASSERT_EQ(token.f_->C_GenerateKey(token.session_, &mech, tmpl, 7, &key), CKR_OK);
  Pkcs11Options o = Options();
  o.key_label = label;
  auto weak = OpenPkcs11Keystore(o);
  ASSERT_FALSE(weak.has_value());
  EXPECT_NE(weak.error().message.find("extractable or not sensitive"), std::string::npos)
      << weak.error().message;
}

TEST_F(Pkcs11KeystoreTest, RecoversWhenTheTokenDropsEverySession) {
  auto ks = CreateAndOpen();
  ASSERT_TRUE(ks);
  SecretBytes secret(AsBytes("k"));
  Bytes wrapped = ks->Wrap(secret, AsBytes("a")).value();
  {
    RawToken token;
    // As after an HSM restart: every session of the application is gone, and with them the login.
    ASSERT_EQ(token.f_->C_CloseAllSessions(token.slot_), CKR_OK);
  }
  auto back = ks->Unwrap(wrapped, AsBytes("a"));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_TRUE(*back == secret);
  for (int i = 0; i < 10; ++i) {
    auto again = ks->Wrap(secret, AsBytes("a"));
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_TRUE(ks->Unwrap(*again, AsBytes("a")).value() == secret);
  }
}

TEST_F(Pkcs11KeystoreTest, PinComesFromTheEnvironmentOrAnOwnerOnlyFile) {
  ::setenv("SCYTALE_PKCS11_PIN", "env-pin", 1);
  auto pin = ReadPkcs11Pin(std::nullopt);
  ASSERT_TRUE(pin.has_value());
  EXPECT_EQ(AsString(pin->Reveal(KeyAccess::Grant())), "env-pin");

  std::filesystem::path file = g_dir / "pin";
  std::ofstream(file) << "file-pin\n";
  ::chmod(file.c_str(), 0600);
  pin = ReadPkcs11Pin(file);  // the file, when given, wins over the environment
  ASSERT_TRUE(pin.has_value()) << pin.error().message;
  EXPECT_EQ(AsString(pin->Reveal(KeyAccess::Grant())), "file-pin");

  ::chmod(file.c_str(), 0644);
  pin = ReadPkcs11Pin(file);
  ASSERT_FALSE(pin.has_value());
  EXPECT_NE(pin.error().message.find("chmod 600"), std::string::npos);
  EXPECT_EQ(pin.error().message.find("file-pin"), std::string::npos);

  std::ofstream(file, std::ios::trunc) << "\n";
  ::chmod(file.c_str(), 0600);
  EXPECT_FALSE(ReadPkcs11Pin(file).has_value());
  EXPECT_FALSE(ReadPkcs11Pin(g_dir / "missing").has_value());

  ::unsetenv("SCYTALE_PKCS11_PIN");
  pin = ReadPkcs11Pin(std::nullopt);
  ASSERT_FALSE(pin.has_value());
  EXPECT_NE(pin.error().message.find("SCYTALE_PKCS11_PIN"), std::string::npos);
}

// Not a benchmark (bench/ has those): a figure for the record, printed with the test output.
// Keys of a custom key store inside the token (TokenKeys).
Pkcs11TokenOptions TokenOptions(std::string pin = kPin, std::string token = kToken) {
  Pkcs11TokenOptions o;
  o.module = kModule;
  o.token_label = std::move(token);
  o.pin = SecretBytes(AsBytes(pin));
  o.session_pool_size = 2;
  return o;
}

std::string TestLabel(const std::string& suffix) {
  return std::string("tk-") + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
         "-" + suffix;
}

TEST_F(Pkcs11KeystoreTest, TokenKeysEncryptAndDecryptInsideTheToken) {
  TokenFailure failure = TokenFailure::kOther;
  auto keys = OpenPkcs11TokenKeys(TokenOptions(), &failure);
  ASSERT_TRUE(keys.has_value()) << keys.error().message;
  EXPECT_EQ(failure, TokenFailure::kNone);
  const std::string a = TestLabel("a"), b = TestLabel("b");
  ASSERT_TRUE((*keys)->GenerateKey(a).has_value());
  ASSERT_TRUE((*keys)->GenerateKey(b).has_value());
  auto again = (*keys)->GenerateKey(a);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  Bytes iv(12, 7);
  Bytes sealed = (*keys)->Encrypt(a, iv, AsBytes("aad"), AsBytes("hello")).value();
  EXPECT_EQ(sealed.size(), 5u + 16u);
  auto opened = (*keys)->Decrypt(a, iv, AsBytes("aad"), sealed);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(AsString(opened->Reveal(KeyAccess::Grant())), "hello");
  // Another key, aad or iv, or a flipped bit: the tag fails.
  EXPECT_EQ((*keys)->Decrypt(b, iv, AsBytes("aad"), sealed).error().code,
            ErrorCode::kInvalidCiphertext);
  EXPECT_EQ((*keys)->Decrypt(a, iv, AsBytes("aaX"), sealed).error().code,
            ErrorCode::kInvalidCiphertext);
  Bytes other_iv(12, 8);
  EXPECT_EQ((*keys)->Decrypt(a, other_iv, AsBytes("aad"), sealed).error().code,
            ErrorCode::kInvalidCiphertext);
  sealed[0] ^= 1;
  EXPECT_EQ((*keys)->Decrypt(a, iv, AsBytes("aad"), sealed).error().code,
            ErrorCode::kInvalidCiphertext);
  // The session survives failed tags.
  EXPECT_TRUE((*keys)->Encrypt(a, iv, {}, {}).has_value());

  auto missing = (*keys)->Encrypt(TestLabel("none"), iv, {}, AsBytes("x"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kKeyUnavailable);

  auto random = (*keys)->GenerateRandom(64);
  ASSERT_TRUE(random.has_value());
  EXPECT_EQ(random->size(), 64u);
  EXPECT_FALSE(*random == (*keys)->GenerateRandom(64).value());

  ASSERT_TRUE((*keys)->DestroyKey(a).has_value());
  EXPECT_EQ((*keys)->DestroyKey(a).error().code, ErrorCode::kNotFound);
  EXPECT_EQ((*keys)->Encrypt(a, iv, {}, AsBytes("x")).error().code, ErrorCode::kKeyUnavailable);
  EXPECT_EQ((*keys)->Describe(), "pkcs11:T");
}

TEST_F(Pkcs11KeystoreTest, TokenKeyIsSensitiveAndNotExtractable) {
  auto keys = OpenPkcs11TokenKeys(TokenOptions());
  ASSERT_TRUE(keys.has_value()) << keys.error().message;
  const std::string label = TestLabel("k");
  ASSERT_TRUE((*keys)->GenerateKey(label).has_value());
  RawToken token;
  CK_OBJECT_HANDLE key = token.FindKey(label);
  uint8_t value[64];
  CK_ATTRIBUTE attr{CKA_VALUE, value, sizeof value};
  EXPECT_EQ(token.f_->C_GetAttributeValue(token.session_, key, &attr, 1), CKR_ATTRIBUTE_SENSITIVE);
  CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, token_obj = CK_FALSE;
  CK_ULONG len = 0;
  CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sensitive, 1},
                          {CKA_EXTRACTABLE, &extractable, 1},
                          {CKA_TOKEN, &token_obj, 1},
                          {CKA_VALUE_LEN, &len, sizeof len}};
  ASSERT_EQ(token.f_->C_GetAttributeValue(token.session_, key, flags, 4), CKR_OK);
  EXPECT_EQ(sensitive, CK_TRUE);
  EXPECT_EQ(extractable, CK_FALSE);
  EXPECT_EQ(token_obj, CK_TRUE);
  EXPECT_EQ(len, 32u);
}

TEST_F(Pkcs11KeystoreTest, TokenKeysSayWhyTheTokenWouldNotOpen) {
  TokenFailure failure = TokenFailure::kNone;
  auto wrong = OpenPkcs11TokenKeys(TokenOptions("7654321"), &failure);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(failure, TokenFailure::kPinIncorrect);
  EXPECT_EQ(wrong.error().message.find("7654321"), std::string::npos);
  EXPECT_NE(wrong.error().message.find("KeyStorePassword"), std::string::npos)
      << wrong.error().message;

  EXPECT_FALSE(OpenPkcs11TokenKeys(TokenOptions(kPin, "NoSuchToken"), &failure).has_value());
  EXPECT_EQ(failure, TokenFailure::kTokenNotFound);

  Pkcs11TokenOptions no_module = TokenOptions();
  no_module.module = "/nonexistent/libpkcs11.so";
  EXPECT_FALSE(OpenPkcs11TokenKeys(no_module, &failure).has_value());
  EXPECT_EQ(failure, TokenFailure::kModuleUnavailable);
}

TEST_F(Pkcs11KeystoreTest, TokenKeysRecoverWhenTheTokenDropsEverySession) {
  auto keys = OpenPkcs11TokenKeys(TokenOptions());
  ASSERT_TRUE(keys.has_value()) << keys.error().message;
  const std::string label = TestLabel("k");
  ASSERT_TRUE((*keys)->GenerateKey(label).has_value());
  Bytes iv(12, 1);
  Bytes sealed = (*keys)->Encrypt(label, iv, {}, AsBytes("x")).value();
  {
    RawToken token;
    ASSERT_EQ(token.f_->C_CloseAllSessions(token.slot_), CKR_OK);
  }
  auto opened = (*keys)->Decrypt(label, iv, {}, sealed);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(AsString(opened->Reveal(KeyAccess::Grant())), "x");
}

TEST_F(Pkcs11KeystoreTest, ReportsWrapAndUnwrapLatency) {
  auto ks = CreateAndOpen();
  ASSERT_TRUE(ks);
  SecretBytes secret(32);
  std::span<const uint8_t> aad = AsBytes("arn:aws:kms:us-east-1:111122223333:key/1234abcd:v1");
  constexpr int kRounds = 2000;
  std::vector<Bytes> blobs;
  blobs.reserve(kRounds);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    blobs.push_back(ks->Wrap(secret, aad).value());
  }
  auto t1 = std::chrono::steady_clock::now();
  for (const Bytes& blob : blobs) {
    ASSERT_TRUE(ks->Unwrap(blob, aad).has_value());
  }
  auto t2 = std::chrono::steady_clock::now();
  auto us = [](auto d) { return std::chrono::duration<double, std::micro>(d).count() / kRounds; };
  std::cout << "[ latency  ] SoftHSM2 root, 32-byte key, one thread: Wrap " << us(t1 - t0)
            << " us, Unwrap " << us(t2 - t1) << " us" << std::endl;
  RecordProperty("wrap_us", std::to_string(us(t1 - t0)));
  RecordProperty("unwrap_us", std::to_string(us(t2 - t1)));
}

}  // namespace
}  // namespace scytale::keystore

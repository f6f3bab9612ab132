// The pkcs11 root keystore: the root key is an AES-256 secret key object inside a PKCS#11 token
// (blob layout in keystore.h). The module is loaded with dlopen and driven through the function
// list of the standard pkcs11.h (p11-kit's copy), so any vendor's library works without linking
// to it at build time.
//
// Concurrency: a PKCS#11 session runs one cryptographic operation at a time, so the keystore keeps
// a pool of sessions and each Wrap/Unwrap borrows one. The login state belongs to the application
// and the token, not to a session (PKCS#11 v2.40 §5.6): one C_Login covers every session, and
// closing the last session logs out. A session the token has dropped (CKR_SESSION_HANDLE_INVALID,
// CKR_USER_NOT_LOGGED_IN after a token reset, ...) is forgotten and replaced by a new, logged-in
// one, so an HSM that restarted does not need a server restart.

#include <dlfcn.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "keystore/keystore.h"

namespace scytale::keystore {
namespace {

using crypto::KeyAccess;
using crypto::SecretBytes;

constexpr uint8_t kPkcs11WrapVersion = 2;
constexpr size_t kRootKeyBytes = 32;
constexpr size_t kHeaderSize = 1 + crypto::kAesGcmIvSize;
constexpr size_t kMaxPinFileBytes = 1024;

std::string RvName(CK_RV rv) {
  static const std::map<CK_RV, const char*> kNames = {
      {CKR_OK, "CKR_OK"},
      {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
      {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
      {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
      {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
      {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
      {CKR_CANT_LOCK, "CKR_CANT_LOCK"},
      {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
      {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
      {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
      {CKR_DATA_INVALID, "CKR_DATA_INVALID"},
      {CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"},
      {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
      {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
      {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
      {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
      {CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
      {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
      {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
      {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
      {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
      {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
      {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
      {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
      {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
      {CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"},
      {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
      {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
      {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
      {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
      {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
      {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
      {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
      {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
      {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
      {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
      {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
      {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
      {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
      {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
      {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
      {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
      {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
      {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
      {CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"},
      {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
      {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
      {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
  };
  auto it = kNames.find(rv);
  if (it != kNames.end()) {
    return it->second;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%lx", static_cast<unsigned long>(rv));
  return buf;
}

// The token forgot the session (or its login): the session is dropped and a new one is opened.
bool IsSessionLost(CK_RV rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
         rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_KEY_HANDLE_INVALID ||
         rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_DEVICE_REMOVED ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

// The session handle itself is gone (not just its login): it must not be closed, since the token
// may already have given its number to a new session.
bool IsHandleDead(CK_RV rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

// Fixed-width, blank-padded PKCS#11 text (token labels) without its padding.
std::string PaddedText(const unsigned char* text, size_t size) {
  std::string s(reinterpret_cast<const char*>(text), size);
  size_t end = s.find_last_not_of(std::string(" \0", 2));
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

// Guards the registry of loaded modules and their C_Initialize/C_Finalize, so that a module being
// finalized is never initialized again at the same moment.
std::mutex& ModuleRegistryMutex() {
  static std::mutex mu;
  return mu;
}

// One loaded and initialized module. Shared by every keystore of the process that names the same
// file: C_Initialize may run only once per process, and C_Finalize only once nobody uses it.
class Module {
 public:
  static Result<std::shared_ptr<Module>> Load(const std::filesystem::path& path) {
    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
    std::string key = ec ? path.string() : canonical.string();
    static std::map<std::string, std::weak_ptr<Module>> loaded;
    std::lock_guard lock(ModuleRegistryMutex());
    if (auto existing = loaded[key].lock()) {
      return existing;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      return MakeError(ErrorCode::kInternal, "cannot load the PKCS#11 module " + path.string() +
                                                 ": " + (why ? why : "dlopen failed"));
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    CK_FUNCTION_LIST_PTR fns = nullptr;
    if (get_list == nullptr || get_list(&fns) != CKR_OK || fns == nullptr) {
      ::dlclose(handle);
      return MakeError(ErrorCode::kInternal, path.string() +
                                                 " is not a PKCS#11 module (no usable "
                                                 "C_GetFunctionList)");
    }
    // The token is called from many threads at once; the module must lock with the OS's
    // primitives.
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = fns->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      ::dlclose(handle);
      return MakeError(ErrorCode::kInternal, "the PKCS#11 module " + path.string() +
                                                 " failed to initialize (" + RvName(rv) +
                                                 "); check its configuration (for SoftHSM2: "
                                                 "SOFTHSM2_CONF and its token directory)");
    }
    // Initialized by someone else in this process (ALREADY_INITIALIZED): theirs to finalize.
    auto module = std::shared_ptr<Module>(new Module(handle, fns, rv == CKR_OK, path.string()));
    loaded[key] = module;
    return module;
  }

  ~Module() {
    std::lock_guard lock(ModuleRegistryMutex());
    if (finalize_) {
      fns_->C_Finalize(nullptr);
    }
    ::dlclose(handle_);
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST_PTR fns() const { return fns_; }
  const std::string& path() const { return path_; }

 private:
  Module(void* handle, CK_FUNCTION_LIST_PTR fns, bool finalize, std::string path)
      : handle_(handle), fns_(fns), finalize_(finalize), path_(std::move(path)) {}
  void* handle_;
  CK_FUNCTION_LIST_PTR fns_;
  bool finalize_;
  std::string path_;
};

// kNotFound when no initialized token has that label; kInternal for the rest.
Result<CK_SLOT_ID> FindToken(const Module& module, const std::string& label) {
  CK_FUNCTION_LIST_PTR f = module.fns();
  CK_ULONG count = 0;
  CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &count);
  std::vector<CK_SLOT_ID> slots(count);
  if (rv == CKR_OK && count > 0) {
    rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count);
    slots.resize(count);
  }
  if (rv != CKR_OK) {
    return MakeError(ErrorCode::kInternal,
                     "cannot list the slots of " + module.path() + " (" + RvName(rv) + ")");
  }
  std::vector<CK_SLOT_ID> matches;
  std::string seen;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slot, &info) != CKR_OK || !(info.flags & CKF_TOKEN_INITIALIZED)) {
      continue;
    }
    std::string token_label = PaddedText(info.label, sizeof info.label);
    if (token_label == label) {
      matches.push_back(slot);
    }
    seen += (seen.empty() ? "'" : ", '") + token_label + "'";
  }
  if (matches.empty()) {
    return MakeError(ErrorCode::kNotFound,
                     "no PKCS#11 token labelled '" + label + "' in " + module.path() +
                         " (initialized tokens: " + (seen.empty() ? "none" : seen) + ")");
  }
  if (matches.size() > 1) {
    return MakeError(ErrorCode::kInternal,
                     "more than one PKCS#11 token is labelled '" + label + "' in " + module.path());
  }
  return matches.front();
}

// Logs the application in on `session`'s token. Already logged in (by another session) is
// success: the login state is shared by all of the application's sessions. `pin_source` tells
// the reader where a wrong PIN came from; `out_rv`, when given, receives C_Login's result.
Status Login(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_SLOT_ID slot,
             const std::string& token_label, const SecretBytes& pin, std::string_view pin_source,
             CK_RV* out_rv = nullptr) {
  auto p = pin.Reveal(KeyAccess::Grant());
  // PKCS#11 2.x prototypes lack const; the token does not write the PIN.
  CK_RV rv = f->C_Login(session, CKU_USER, const_cast<CK_UTF8CHAR_PTR>(p.data()), p.size());
  if (out_rv != nullptr) {
    *out_rv = rv;
  }
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
    return Ok();
  }
  std::string token = "PKCS#11 token '" + token_label + "'";
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
    CK_TOKEN_INFO info{};
    std::string warning;
    if (f->C_GetTokenInfo(slot, &info) == CKR_OK && (info.flags & CKF_USER_PIN_FINAL_TRY)) {
      warning = "; one more wrong PIN locks the token";
    }
    return MakeError(ErrorCode::kInternal, "wrong user PIN for the " + token + " (" + RvName(rv) +
                                               "): check " + std::string(pin_source) + warning);
  }
  if (rv == CKR_PIN_LOCKED) {
    return MakeError(ErrorCode::kInternal, "the user PIN of the " + token +
                                               " is locked (CKR_PIN_LOCKED): too many "
                                               "wrong PINs; the security officer must reset it");
  }
  if (rv == CKR_USER_PIN_NOT_INITIALIZED) {
    return MakeError(ErrorCode::kInternal, "the " + token +
                                               " has no user PIN yet "
                                               "(CKR_USER_PIN_NOT_INITIALIZED)");
  }
  return MakeError(ErrorCode::kInternal, "cannot log in to the " + token + " (" + RvName(rv) + ")");
}

Result<std::vector<CK_OBJECT_HANDLE>> FindSecretKeys(CK_FUNCTION_LIST_PTR f,
                                                     CK_SESSION_HANDLE session,
                                                     const std::string& label) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
  };
  CK_RV rv = f->C_FindObjectsInit(session, tmpl, std::size(tmpl));
  if (rv != CKR_OK) {
    return MakeError(ErrorCode::kInternal, "cannot search the token for keys (" + RvName(rv) + ")");
  }
  std::vector<CK_OBJECT_HANDLE> found;
  CK_OBJECT_HANDLE batch[16];
  CK_ULONG n = 0;
  while ((rv = f->C_FindObjects(session, batch, std::size(batch), &n)) == CKR_OK && n > 0) {
    found.insert(found.end(), batch, batch + n);
  }
  f->C_FindObjectsFinal(session);
  if (rv != CKR_OK) {
    return MakeError(ErrorCode::kInternal, "cannot search the token for keys (" + RvName(rv) + ")");
  }
  return found;
}

// The root key object: exactly one AES secret key with `label`, 32 bytes, sensitive and not
// extractable (a key whose value could leave the token is no root of trust).
Result<CK_OBJECT_HANDLE> FindRootKey(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session,
                                     const std::string& token_label, const std::string& label) {
  SCY_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> keys, FindSecretKeys(f, session, label));
  std::string where = "in PKCS#11 token '" + token_label + "'";
  if (keys.empty()) {
    return MakeError(ErrorCode::kInternal,
                     "no secret key labelled '" + label + "' " + where +
                         " (create it with `scytale init --keystore pkcs11`)");
  }
  if (keys.size() > 1) {
    return MakeError(ErrorCode::kInternal,
                     "more than one secret key is labelled '" + label + "' " + where);
  }
  CK_KEY_TYPE type = 0;
  CK_ULONG value_len = 0;
  CK_BBOOL sensitive = CK_FALSE;
  CK_BBOOL extractable = CK_TRUE;
  CK_ATTRIBUTE attrs[] = {
      {CKA_KEY_TYPE, &type, sizeof type},
      {CKA_VALUE_LEN, &value_len, sizeof value_len},
      {CKA_SENSITIVE, &sensitive, sizeof sensitive},
      {CKA_EXTRACTABLE, &extractable, sizeof extractable},
  };
  CK_RV rv = f->C_GetAttributeValue(session, keys.front(), attrs, std::size(attrs));
  if (rv != CKR_OK) {
    return MakeError(ErrorCode::kInternal,
                     "cannot read the attributes of key '" + label + "' (" + RvName(rv) + ")");
  }
  if (type != CKK_AES || value_len != kRootKeyBytes) {
    return MakeError(ErrorCode::kInternal,
                     "key '" + label + "' " + where + " is not an AES-256 key");
  }
  if (sensitive != CK_TRUE || extractable != CK_FALSE) {
    return MakeError(ErrorCode::kInternal, "key '" + label + "' " + where +
                                               " is extractable or not sensitive; the root key "
                                               "must never leave the token");
  }
  return keys.front();
}

// Generates a non-extractable, sensitive AES-256 token object labelled `label` that can only
// encrypt and decrypt (it cannot wrap other keys out of the token either).
CK_RV GenerateAes256Key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const std::string& label,
                        CK_OBJECT_HANDLE* out_key) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG value_len = kRootKeyBytes;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_KEY_TYPE, &type, sizeof type},
      {CKA_VALUE_LEN, &value_len, sizeof value_len},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_ENCRYPT, &yes, sizeof yes},
      {CKA_DECRYPT, &yes, sizeof yes},
      {CKA_WRAP, &no, sizeof no},
      {CKA_UNWRAP, &no, sizeof no},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
  };
  CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
  return f->C_GenerateKey(s, &mech, tmpl, std::size(tmpl), out_key);
}

// A pool of logged-in sessions with one token. A PKCS#11 session runs one operation at a time,
// so each operation borrows a session; a session the token dropped is replaced and the
// operation retried. Every loss bumps generation(), so that object handles found before it
// (which a token reset invalidates) are looked up again.
class SessionPool {
 public:
  SessionPool(std::shared_ptr<Module> module, CK_SLOT_ID slot, std::string token_label,
              const SecretBytes& pin, std::string pin_source, int size, bool read_write)
      : module_(std::move(module)),
        f_(module_->fns()),
        slot_(slot),
        token_label_(std::move(token_label)),
        pin_(pin.Reveal(KeyAccess::Grant()), SecretBytes::Memory::kLocked),
        pin_source_(std::move(pin_source)),
        size_(std::max(1, size)),
        flags_(CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0)) {}

  ~SessionPool() {
    for (CK_SESSION_HANDLE s : idle_) {
      f_->C_CloseSession(s);
    }
  }
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  CK_FUNCTION_LIST_PTR f() const { return f_; }
  const std::string& token_label() const { return token_label_; }
  uint64_t generation() const { return generation_.load(); }

  // Opens the whole pool, so that a wrong PIN fails now and not at the first call.
  // `out_login_rv` receives the result of the failed C_Login, if that is what failed.
  Status Start(CK_RV* out_login_rv = nullptr) {
    std::unique_lock lock(mu_);
    for (int i = 0; i < size_; ++i) {
      SCY_ASSIGN_OR_RETURN(CK_SESSION_HANDLE s, OpenSessionLocked(out_login_rv));
      idle_.push_back(s);
      ++open_;
    }
    return Ok();
  }

  // Runs `op(session)` on a borrowed session; a lost session is replaced and `op` retried.
  // Returns the last failing CK_RV (CKR_OK on success) for the caller to describe.
  template <class Op>
  Result<CK_RV> Run(Op&& op) {
    constexpr int kAttempts = 3;
    CK_RV rv = CKR_OK;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      SCY_ASSIGN_OR_RETURN(CK_SESSION_HANDLE s, Acquire());
      rv = op(s);
      if (rv == CKR_OK) {
        Release(s);
        return rv;
      }
      Forget(s, rv);
      if (!IsSessionLost(rv)) {
        break;
      }
    }
    return rv;
  }

 private:
  Result<CK_SESSION_HANDLE> OpenSessionLocked(CK_RV* out_login_rv = nullptr) {
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_RV rv = f_->C_OpenSession(slot_, flags_, nullptr, nullptr, &s);
    if (rv != CKR_OK) {
      return MakeError(ErrorCode::kInternal, "cannot open a session with PKCS#11 token '" +
                                                 token_label_ + "' (" + RvName(rv) + ")");
    }
    Status logged_in = Login(f_, s, slot_, token_label_, pin_, pin_source_, out_login_rv);
    if (!logged_in) {
      f_->C_CloseSession(s);
      return logged_in.error();
    }
    return s;
  }

  Result<CK_SESSION_HANDLE> Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
    if (idle_.empty()) {
      SCY_ASSIGN_OR_RETURN(CK_SESSION_HANDLE s, OpenSessionLocked());
      ++open_;
      return s;
    }
    CK_SESSION_HANDLE s = idle_.back();
    idle_.pop_back();
    return s;
  }

  void Release(CK_SESSION_HANDLE s) {
    {
      std::lock_guard lock(mu_);
      idle_.push_back(s);
    }
    cv_.notify_one();
  }

  // An operation failed on `s`: close it (an operation may be left active in it) or, when the
  // token lost it, forget it and drop the idle sessions the token lost too (a token reset loses
  // them all).
  void Forget(CK_SESSION_HANDLE s, CK_RV rv) {
    {
      std::lock_guard lock(mu_);
      if (!IsHandleDead(rv)) {
        f_->C_CloseSession(s);  // still open, maybe with an operation left active
      }
      --open_;
      if (IsSessionLost(rv)) {
        ++generation_;  // object handles are found again
        // Idle sessions that are merely logged out are kept: the next C_Login logs in every
        // session of the application.
        std::erase_if(idle_, [&](CK_SESSION_HANDLE idle) {
          CK_SESSION_INFO info{};
          bool dead = f_->C_GetSessionInfo(idle, &info) != CKR_OK;
          open_ -= dead ? 1 : 0;
          return dead;
        });
      }
    }
    cv_.notify_all();
  }

  const std::shared_ptr<Module> module_;
  const CK_FUNCTION_LIST_PTR f_;
  const CK_SLOT_ID slot_;
  const std::string token_label_;
  const SecretBytes pin_;  // kept to log in again after the token drops its sessions
  const std::string pin_source_;
  const int size_;
  const CK_FLAGS flags_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CK_SESSION_HANDLE> idle_;  // guarded by mu_
  int open_ = 0;                         // idle and borrowed sessions; guarded by mu_
  std::atomic<uint64_t> generation_{0};
};

// Runs `op(session, key)` on a pooled session, with the key `find(session)` returns; a failed
// lookup is returned as it is. Returns op's CK_RV (CKR_OK on success) for the caller to describe.
template <class Find, class Op>
Result<CK_RV> RunWithKey(SessionPool& pool, Find&& find, Op&& op) {
  std::optional<Error> lookup;
  SCY_ASSIGN_OR_RETURN(CK_RV rv, pool.Run([&](CK_SESSION_HANDLE s) -> CK_RV {
    Result<CK_OBJECT_HANDLE> key = find(s);
    if (!key) {
      lookup = key.error();
      return CKR_OK;
    }
    return op(s, *key);
  }));
  if (lookup) {
    return *lookup;
  }
  return rv;
}

// CKM_AES_GCM's parameters with a 128-bit tag. ulIvBits is PKCS#11 v2.40's field; some tokens
// read only ulIvLen: both are set. The 2.x prototypes lack const; the token does not write its
// inputs. `empty` stands in for an empty aad (some tokens refuse a null pointer).
CK_GCM_PARAMS GcmParams(std::span<const uint8_t> iv, std::span<const uint8_t> aad,
                        uint8_t* empty) {
  return CK_GCM_PARAMS{const_cast<uint8_t*>(iv.data()),
                       iv.size(),
                       iv.size() * 8,
                       aad.empty() ? empty : const_cast<uint8_t*>(aad.data()),
                       aad.size(),
                       crypto::kAesGcmTagSize * 8};
}

// AES-256-GCM inside the token: `out` receives ciphertext || tag and must be exactly
// plaintext.size() + 16 bytes.
CK_RV GcmEncrypt(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
                 std::span<const uint8_t> iv, std::span<const uint8_t> aad,
                 std::span<const uint8_t> plaintext, std::span<uint8_t> out) {
  uint8_t empty = 0;
  CK_GCM_PARAMS params = GcmParams(iv, aad, &empty);
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
  CK_RV rv = f->C_EncryptInit(s, &mech, key);
  if (rv != CKR_OK) {
    return rv;
  }
  CK_ULONG len = out.size();
  rv = f->C_Encrypt(s, plaintext.empty() ? &empty : const_cast<uint8_t*>(plaintext.data()),
                    plaintext.size(), out.data(), &len);
  if (rv == CKR_OK && len != plaintext.size() + crypto::kAesGcmTagSize) {
    return CKR_GENERAL_ERROR;
  }
  return rv;
}

// Reverses GcmEncrypt into `out` (at least as large as the input: some tokens check the output
// size before subtracting the tag). Sets *out_tag_failed when the tag does not verify, and
// *out_len to the plaintext size.
CK_RV GcmDecrypt(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
                 std::span<const uint8_t> iv, std::span<const uint8_t> aad,
                 std::span<const uint8_t> sealed, std::span<uint8_t> out, CK_ULONG* out_len,
                 bool* out_tag_failed) {
  uint8_t empty = 0;
  CK_GCM_PARAMS params = GcmParams(iv, aad, &empty);
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
  CK_RV rv = f->C_DecryptInit(s, &mech, key);
  if (rv != CKR_OK) {
    return rv;
  }
  *out_len = out.size();
  rv = f->C_Decrypt(s, const_cast<uint8_t*>(sealed.data()), sealed.size(), out.data(), out_len);
  // A wrong tag: the spec's CKR_ENCRYPTED_DATA_INVALID, but SoftHSM2 2.6.1 answers
  // CKR_GENERAL_ERROR (seen in pkcs11_keystore_test), so that one counts as a wrong tag too.
  // Either way the operation has ended (PKCS#11 §5.2) and the session stays usable.
  if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
      rv == CKR_GENERAL_ERROR) {
    *out_tag_failed = true;
    return CKR_OK;
  }
  return rv;
}

class Pkcs11Keystore : public RootKeystore {
 public:
  Pkcs11Keystore(std::shared_ptr<Module> module, CK_SLOT_ID slot, const Pkcs11Options& options)
      : pool_(std::move(module), slot, options.token_label, options.pin,
              "SCYTALE_PKCS11_PIN or the PIN file", options.session_pool_size,
              /*read_write=*/false),
        f_(pool_.f()),
        key_label_(options.key_label) {}

  // Opens the whole pool (so a wrong PIN or a missing key fails at start, not at the first call)
  // and finds the key.
  Status Start() {
    SCY_RETURN_IF_ERROR(pool_.Start());
    return WithKey("key lookup", [](CK_SESSION_HANDLE, CK_OBJECT_HANDLE) { return CK_RV{CKR_OK}; });
  }

  Result<Bytes> Wrap(const SecretBytes& plaintext, std::span<const uint8_t> aad) override {
    SCY_ASSIGN_OR_RETURN(Bytes iv, crypto::RandomBytes(crypto::kAesGcmIvSize));
    auto pt = plaintext.Reveal(KeyAccess::Grant());
    Bytes out(kHeaderSize + pt.size() + crypto::kAesGcmTagSize);
    out[0] = kPkcs11WrapVersion;
    SCY_RETURN_IF_ERROR(WithKey("wrap", [&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
      return GcmEncrypt(f_, s, key, iv, aad, pt, std::span(out).subspan(kHeaderSize));
    }));
    // A token in FIPS mode may choose the IV itself and write it back into pIv (PKCS#11 v3.0
    // §2.12.3); the blob records whatever IV the token used.
    std::copy(iv.begin(), iv.end(), out.begin() + 1);
    return out;
  }

  Result<SecretBytes> Unwrap(std::span<const uint8_t> wrapped,
                             std::span<const uint8_t> aad) override {
    if (!wrapped.empty() && wrapped[0] == 1) {
      return MakeError(ErrorCode::kInvalidCiphertext,
                       "wrapped blob was made by a soft root keystore, not by this PKCS#11 root");
    }
    if (wrapped.size() < kHeaderSize + crypto::kAesGcmTagSize || wrapped[0] != kPkcs11WrapVersion) {
      return MakeError(ErrorCode::kInvalidCiphertext, "wrapped blob is malformed");
    }
    auto iv = wrapped.subspan(1, crypto::kAesGcmIvSize);
    auto sealed = wrapped.subspan(kHeaderSize);
    // The token writes the plaintext straight into wiping memory.
    SecretBytes buffer(sealed.size());
    CK_ULONG len = 0;
    bool tag_failed = false;
    SCY_RETURN_IF_ERROR(WithKey("unwrap", [&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
      return GcmDecrypt(f_, s, key, iv, aad, sealed, buffer.MutableReveal(KeyAccess::Grant()),
                        &len, &tag_failed);
    }));
    if (tag_failed || len != sealed.size() - crypto::kAesGcmTagSize) {
      return MakeError(ErrorCode::kInvalidCiphertext,
                       "wrapped blob does not authenticate under the PKCS#11 root key");
    }
    return SecretBytes(buffer.Reveal(KeyAccess::Grant()).first(len),
                       SecretBytes::Memory::kOrdinary);
  }

  std::string Describe() const override {
    return "pkcs11:" + pool_.token_label() + "/" + key_label_;
  }

 private:
  // The root key's handle, found again after the token lost its sessions.
  Result<CK_OBJECT_HANDLE> KeyIn(CK_SESSION_HANDLE s) {
    std::lock_guard lock(key_mu_);
    if (key_ == CK_INVALID_HANDLE || key_generation_ != pool_.generation()) {
      key_generation_ = pool_.generation();
      SCY_ASSIGN_OR_RETURN(key_, FindRootKey(f_, s, pool_.token_label(), key_label_));
    }
    return key_;
  }

  template <class Op>
  Status WithKey(const char* what, Op&& op) {
    SCY_ASSIGN_OR_RETURN(CK_RV rv,
                         RunWithKey(pool_, [&](CK_SESSION_HANDLE s) { return KeyIn(s); }, op));
    if (rv != CKR_OK) {
      return MakeError(ErrorCode::kInternal, std::string("PKCS#11 ") + what + " with key '" +
                                                 key_label_ + "' in token '" +
                                                 pool_.token_label() + "' failed (" + RvName(rv) +
                                                 ")");
    }
    return Ok();
  }

  SessionPool pool_;
  const CK_FUNCTION_LIST_PTR f_;
  const std::string key_label_;
  std::mutex key_mu_;
  CK_OBJECT_HANDLE key_ = CK_INVALID_HANDLE;  // guarded by key_mu_
  uint64_t key_generation_ = 0;               // guarded by key_mu_
};

// The keys of a custom key store inside one token, found by label and their handles cached
// until the token loses its sessions.
class Pkcs11TokenKeys : public TokenKeys {
 public:
  Pkcs11TokenKeys(std::shared_ptr<Module> module, CK_SLOT_ID slot,
                  const Pkcs11TokenOptions& options)
      : pool_(std::move(module), slot, options.token_label, options.pin,
              "the custom key store's KeyStorePassword", options.session_pool_size,
              /*read_write=*/true),
        f_(pool_.f()) {}

  Status Start(CK_RV* out_login_rv) { return pool_.Start(out_login_rv); }

  Status GenerateKey(const std::string& label) override {
    std::optional<Error> failed;
    SCY_ASSIGN_OR_RETURN(CK_RV rv, pool_.Run([&](CK_SESSION_HANDLE s) -> CK_RV {
      auto existing = FindSecretKeys(f_, s, label);
      if (!existing || !existing->empty()) {
        failed = existing ? MakeError(ErrorCode::kAlreadyExists,
                                      "PKCS#11 token '" + pool_.token_label() +
                                          "' already holds a key labelled '" + label + "'")
                          : existing.error();
        return CKR_OK;
      }
      CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
      CK_RV generated = GenerateAes256Key(f_, s, label, &key);
      if (generated == CKR_OK) {
        std::lock_guard lock(mu_);
        handles_[label] = key;
      }
      return generated;
    }));
    if (failed) {
      return *failed;
    }
    return Describe(rv, "key generation", label);
  }

  Result<Bytes> Encrypt(const std::string& label, std::span<const uint8_t> iv,
                        std::span<const uint8_t> aad,
                        std::span<const uint8_t> plaintext) override {
    Bytes out(plaintext.size() + crypto::kAesGcmTagSize);
    SCY_RETURN_IF_ERROR(WithKey(label, "encryption", [&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
      return GcmEncrypt(f_, s, k, iv, aad, plaintext, out);
    }));
    return out;
  }

  Result<SecretBytes> Decrypt(const std::string& label, std::span<const uint8_t> iv,
                              std::span<const uint8_t> aad,
                              std::span<const uint8_t> sealed) override {
    if (sealed.size() < crypto::kAesGcmTagSize) {
      return MakeError(ErrorCode::kInvalidCiphertext, "ciphertext is shorter than its tag");
    }
    SecretBytes buffer(sealed.size());
    CK_ULONG len = 0;
    bool tag_failed = false;
    SCY_RETURN_IF_ERROR(WithKey(label, "decryption", [&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
      return GcmDecrypt(f_, s, k, iv, aad, sealed, buffer.MutableReveal(KeyAccess::Grant()), &len,
                        &tag_failed);
    }));
    if (tag_failed || len != sealed.size() - crypto::kAesGcmTagSize) {
      return MakeError(ErrorCode::kInvalidCiphertext, "");
    }
    return SecretBytes(buffer.Reveal(KeyAccess::Grant()).first(len),
                       SecretBytes::Memory::kOrdinary);
  }

  Result<SecretBytes> GenerateRandom(size_t size) override {
    SecretBytes out(size);
    SCY_ASSIGN_OR_RETURN(CK_RV rv, pool_.Run([&](CK_SESSION_HANDLE s) -> CK_RV {
      if (size == 0) {
        return CKR_OK;
      }
      return f_->C_GenerateRandom(s, out.MutableReveal(KeyAccess::Grant()).data(), size);
    }));
    SCY_RETURN_IF_ERROR(Describe(rv, "random generation", ""));
    return out;
  }

  Status DestroyKey(const std::string& label) override {
    bool none = false;
    std::optional<Error> failed;
    SCY_ASSIGN_OR_RETURN(CK_RV rv, pool_.Run([&](CK_SESSION_HANDLE s) -> CK_RV {
      auto keys = FindSecretKeys(f_, s, label);
      if (!keys) {
        failed = keys.error();
        return CKR_OK;
      }
      none = keys->empty();
      for (CK_OBJECT_HANDLE k : *keys) {
        if (CK_RV destroyed = f_->C_DestroyObject(s, k); destroyed != CKR_OK) {
          return destroyed;
        }
      }
      return CKR_OK;
    }));
    {
      std::lock_guard lock(mu_);
      handles_.erase(label);
    }
    if (failed) {
      return *failed;
    }
    if (none) {
      return MakeError(ErrorCode::kNotFound, "PKCS#11 token '" + pool_.token_label() +
                                                 "' holds no key labelled '" + label + "'");
    }
    return Describe(rv, "key destruction", label);
  }

  std::string Describe() const override { return "pkcs11:" + pool_.token_label(); }

 private:
  Status Describe(CK_RV rv, const char* what, const std::string& label) const {
    if (rv == CKR_OK) {
      return Ok();
    }
    return MakeError(ErrorCode::kInternal,
                     std::string("PKCS#11 ") + what +
                         (label.empty() ? std::string() : " with key '" + label + "'") +
                         " in token '" + pool_.token_label() + "' failed (" + RvName(rv) + ")");
  }

  // The handle of the one AES key labelled `label`, cached per pool generation.
  Result<CK_OBJECT_HANDLE> KeyIn(CK_SESSION_HANDLE s, const std::string& label) {
    {
      std::lock_guard lock(mu_);
      if (generation_ != pool_.generation()) {
        handles_.clear();
        generation_ = pool_.generation();
      }
      if (auto it = handles_.find(label); it != handles_.end()) {
        return it->second;
      }
    }
    SCY_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> keys, FindSecretKeys(f_, s, label));
    if (keys.size() != 1) {
      return MakeError(ErrorCode::kKeyUnavailable,
                       keys.empty() ? "the key material of " + label +
                                          " is missing from its custom key store's token"
                                    : "more than one key in the custom key store's token is "
                                      "labelled " + label);
    }
    std::lock_guard lock(mu_);
    if (handles_.size() >= kMaxCachedHandles) {
      handles_.clear();
    }
    handles_[label] = keys.front();
    return keys.front();
  }

  template <class Op>
  Status WithKey(const std::string& label, const char* what, Op&& op) {
    SCY_ASSIGN_OR_RETURN(
        CK_RV rv, RunWithKey(pool_, [&](CK_SESSION_HANDLE s) { return KeyIn(s, label); }, op));
    return Describe(rv, what, label);
  }

  static constexpr size_t kMaxCachedHandles = 10000;

  SessionPool pool_;
  const CK_FUNCTION_LIST_PTR f_;
  std::mutex mu_;
  std::map<std::string, CK_OBJECT_HANDLE> handles_;  // guarded by mu_
  uint64_t generation_ = 0;                          // guarded by mu_
};

Status CheckOptions(const Pkcs11Options& o) {
  if (o.module.empty()) {
    return MakeError(ErrorCode::kInvalidState, "no PKCS#11 module given (--pkcs11-module)");
  }
  if (o.token_label.empty() || o.token_label.size() > 32) {
    return MakeError(ErrorCode::kInvalidState,
                     "a PKCS#11 token label (--pkcs11-token) of 1 to 32 bytes is required");
  }
  if (o.key_label.empty()) {
    return MakeError(ErrorCode::kInvalidState, "no root key label given (--pkcs11-key-label)");
  }
  if (o.pin.empty()) {
    return MakeError(ErrorCode::kInvalidState,
                     "no PKCS#11 user PIN: set SCYTALE_PKCS11_PIN or give --pkcs11-pin-file");
  }
  return Ok();
}

// The root's token: every failure to find it is kInternal (OpenPkcs11Keystore's contract).
Result<CK_SLOT_ID> RootToken(const Module& module, const std::string& label) {
  auto slot = FindToken(module, label);
  if (!slot) {
    return MakeError(ErrorCode::kInternal, slot.error().message);
  }
  return slot;
}

// A session that closes itself (used by init, outside the pool).
class ScopedSession {
 public:
  ScopedSession(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s) : f_(f), s_(s) {}
  ~ScopedSession() { f_->C_CloseSession(s_); }
  ScopedSession(const ScopedSession&) = delete;
  ScopedSession& operator=(const ScopedSession&) = delete;
  CK_SESSION_HANDLE get() const { return s_; }

 private:
  CK_FUNCTION_LIST_PTR f_;
  CK_SESSION_HANDLE s_;
};

}  // namespace

Result<SecretBytes> ReadPkcs11Pin(const std::optional<std::filesystem::path>& pin_file) {
  if (!pin_file) {
    const char* env = std::getenv("SCYTALE_PKCS11_PIN");
    if (env == nullptr || *env == '\0') {
      return MakeError(ErrorCode::kInvalidState,
                       "no PKCS#11 user PIN: set SCYTALE_PKCS11_PIN or give --pkcs11-pin-file");
    }
    return SecretBytes(AsBytes(std::string_view(env)), SecretBytes::Memory::kLocked);
  }
  const std::string name = pin_file->string();
  int fd = ::open(pin_file->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return MakeError(ErrorCode::kInvalidState,
                     "cannot open the PIN file " + name + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidState, "the PIN file " + name + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidState,
                     "the PIN file " + name + " is readable by group or others; chmod 600 it");
  }
  SecretBytes buffer(kMaxPinFileBytes + 1);
  auto buf = buffer.MutableReveal(KeyAccess::Grant());
  size_t size = 0;
  while (size < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + size, buf.size() - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ::close(fd);
      return MakeError(ErrorCode::kInvalidState, "cannot read the PIN file " + name);
    }
    if (n == 0) {
      break;
    }
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  if (size > kMaxPinFileBytes) {
    return MakeError(ErrorCode::kInvalidState, "the PIN file " + name + " is too large");
  }
  if (size > 0 && buf[size - 1] == '\n') {
    --size;
  }
  if (size > 0 && buf[size - 1] == '\r') {
    --size;
  }
  if (size == 0) {
    return MakeError(ErrorCode::kInvalidState, "the PIN file " + name + " is empty");
  }
  return SecretBytes(buffer.Reveal(KeyAccess::Grant()).first(size), SecretBytes::Memory::kLocked);
}

Result<std::unique_ptr<RootKeystore>> OpenPkcs11Keystore(const Pkcs11Options& options) {
  SCY_RETURN_IF_ERROR(CheckOptions(options));
  SCY_ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(options.module));
  SCY_ASSIGN_OR_RETURN(CK_SLOT_ID slot, RootToken(*module, options.token_label));
  auto keystore = std::make_unique<Pkcs11Keystore>(std::move(module), slot, options);
  SCY_RETURN_IF_ERROR(keystore->Start());
  return std::unique_ptr<RootKeystore>(std::move(keystore));
}

Status CreatePkcs11RootKey(const Pkcs11Options& options) {
  SCY_RETURN_IF_ERROR(CheckOptions(options));
  SCY_ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(options.module));
  SCY_ASSIGN_OR_RETURN(CK_SLOT_ID slot, RootToken(*module, options.token_label));
  CK_FUNCTION_LIST_PTR f = module->fns();
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CK_RV rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &handle);
  if (rv != CKR_OK) {
    return MakeError(ErrorCode::kInternal, "cannot open a read-write session with PKCS#11 token '" +
                                               options.token_label + "' (" + RvName(rv) + ")");
  }
  ScopedSession session(f, handle);
  SCY_RETURN_IF_ERROR(Login(f, session.get(), slot, options.token_label, options.pin,
                            "SCYTALE_PKCS11_PIN or the PIN file"));
  SCY_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> existing,
                       FindSecretKeys(f, session.get(), options.key_label));
  if (!existing.empty()) {
    return MakeError(ErrorCode::kAlreadyExists, "PKCS#11 token '" + options.token_label +
                                                    "' already holds a key labelled '" +
                                                    options.key_label + "'; it is never replaced");
  }
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  rv = GenerateAes256Key(f, session.get(), options.key_label, &key);
  if (rv != CKR_OK) {
    return MakeError(ErrorCode::kInternal, "cannot generate the root key in PKCS#11 token '" +
                                               options.token_label + "' (" + RvName(rv) + ")");
  }
  return Ok();
}

Result<std::unique_ptr<TokenKeys>> OpenPkcs11TokenKeys(const Pkcs11TokenOptions& options,
                                                       TokenFailure* out_failure) {
  TokenFailure ignored;
  TokenFailure& failure = out_failure != nullptr ? *out_failure : ignored;
  failure = TokenFailure::kOther;
  if (options.module.empty() || options.token_label.empty() || options.pin.empty()) {
    return MakeError(ErrorCode::kInvalidState, "a PKCS#11 module, token label and PIN are needed");
  }
  auto module = Module::Load(options.module);
  if (!module) {
    failure = TokenFailure::kModuleUnavailable;
    return module.error();
  }
  auto slot = FindToken(**module, options.token_label);
  if (!slot) {
    failure = slot.error().code == ErrorCode::kNotFound ? TokenFailure::kTokenNotFound
                                                        : TokenFailure::kOther;
    return MakeError(ErrorCode::kInternal, slot.error().message);
  }
  auto keys = std::make_unique<Pkcs11TokenKeys>(std::move(*module), *slot, options);
  CK_RV login_rv = CKR_OK;
  if (Status started = keys->Start(&login_rv); !started) {
    if (login_rv == CKR_PIN_INCORRECT || login_rv == CKR_PIN_INVALID ||
        login_rv == CKR_PIN_LEN_RANGE) {
      failure = TokenFailure::kPinIncorrect;
    } else if (login_rv == CKR_PIN_LOCKED) {
      failure = TokenFailure::kPinLocked;
    } else if (login_rv == CKR_USER_PIN_NOT_INITIALIZED) {
      failure = TokenFailure::kUserPinNotInitialized;
    }
    return started.error();
  }
  failure = TokenFailure::kNone;
  return std::unique_ptr<TokenKeys>(std::move(keys));
}

}  // namespace scytale::keystore

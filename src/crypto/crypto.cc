#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstring>
#include <new>
#include <string>

#include "common/ids.h"
#include "crypto/internal/ossl_ptr.h"

namespace scytale::crypto {

namespace internal {
std::string DrainErrors() {
  std::string out;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}
}  // namespace internal

using internal::DrainErrors;
using internal::OsslPtr;

namespace {
bool g_locked_memory = false;

Error OsslError(std::string_view what) {
  return MakeError(ErrorCode::kInternal, std::string(what) + ": " + DrainErrors());
}
}  // namespace

std::string DrainOpenSslErrors() { return DrainErrors(); }

bool InitLockedMemory(size_t bytes) {
  if (CRYPTO_secure_malloc_initialized()) {
    g_locked_memory = true;
    return true;
  }
  // min allocation 16 bytes; `bytes` must be a power of two.
  g_locked_memory = CRYPTO_secure_malloc_init(bytes, 16) == 1;
  return g_locked_memory;
}

SecretBytes::SecretBytes(size_t size, Memory memory) : size_(size), memory_(memory) {
  if (memory_ == Memory::kLocked && !g_locked_memory) {
    memory_ = Memory::kOrdinary;
  }
  if (size_ == 0) {
    return;
  }
  void* p = memory_ == Memory::kLocked ? OPENSSL_secure_zalloc(size_) : OPENSSL_zalloc(size_);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  data_ = static_cast<uint8_t*>(p);
}

SecretBytes::SecretBytes(std::span<const uint8_t> data, Memory memory)
    : SecretBytes(data.size(), memory) {
  if (!data.empty()) {
    std::memcpy(data_, data.data(), data.size());
  }
}

SecretBytes::~SecretBytes() { Release(); }

void SecretBytes::Release() {
  if (data_ == nullptr) {
    return;
  }
  if (memory_ == Memory::kLocked) {
    OPENSSL_secure_clear_free(data_, size_);
  } else {
    OPENSSL_clear_free(data_, size_);
  }
  data_ = nullptr;
  size_ = 0;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), memory_(other.memory_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    memory_ = other.memory_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes SecretBytes::Clone() const { return SecretBytes({data_, size_}, memory_); }

bool operator==(const SecretBytes& a, const SecretBytes& b) {
  return ConstantTimeEquals({a.data_, a.size_}, {b.data_, b.size_});
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<SecretBytes> RandomSecret(size_t size) {
  SecretBytes out(size);
  if (size > 0 &&
      RAND_priv_bytes(out.MutableReveal(KeyAccess::Grant()).data(), static_cast<int>(size)) != 1) {
    return OsslError("RAND_priv_bytes");
  }
  return out;
}

Result<Bytes> RandomBytes(size_t size) {
  Bytes out(size);
  // Pooled (common/ids.h): a DRBG round per 4 KiB, not per call.
  if (size > 0 && !PublicRandomBytes(out.data(), size)) {
    return OsslError("RAND_bytes");
  }
  return out;
}

namespace {
// SHA-256 and HMAC-SHA256 fetched once: EVP_sha256() and HMAC() fetch their algorithm on every
// call in OpenSSL 3 (a global lock and a lookup by name), which cost more than hashing a short
// input (SigV4 runs several per request, the audit chain one per record).
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// An HMAC context with its digest set, duplicated for each MAC.
const EVP_MAC_CTX* HmacSha256Template() {
  static EVP_MAC_CTX* const tmpl = [] {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* ctx = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
    EVP_MAC_free(mac);  // the context holds its own reference
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_end()};
    if (ctx != nullptr && EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      ctx = nullptr;
    }
    return ctx;
  }();
  return tmpl;
}
}  // namespace

std::array<uint8_t, 32> Sha256(std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, Sha256Md(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(SHA-256) failed: " + DrainErrors());
  }
  return out;
}

std::array<uint8_t, 32> HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  size_t len = 0;
  // OpenSSL 3.0 refuses a null key pointer even with length 0; an empty key is a valid HMAC key.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  const EVP_MAC_CTX* tmpl = HmacSha256Template();
  OsslPtr<EVP_MAC_CTX> ctx(tmpl != nullptr ? EVP_MAC_CTX_dup(tmpl) : nullptr);
  if (!ctx || EVP_MAC_init(ctx.get(), key_ptr, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed: " + DrainErrors());
  }
  return out;
}

namespace {
// The AES cipher of `mode` ("GCM", "WRAP-PAD") for a 16, 24 or 32-byte key, fetched once per key
// size: implicit fetching (EVP_aes_256_gcm()) costs a lookup per call in OpenSSL 3. Null for any
// other key size.
struct AesByKeySize {
  EVP_CIPHER* k128;
  EVP_CIPHER* k192;
  EVP_CIPHER* k256;
  explicit AesByKeySize(const std::string& mode)
      : k128(EVP_CIPHER_fetch(nullptr, ("AES-128-" + mode).c_str(), nullptr)),
        k192(EVP_CIPHER_fetch(nullptr, ("AES-192-" + mode).c_str(), nullptr)),
        k256(EVP_CIPHER_fetch(nullptr, ("AES-256-" + mode).c_str(), nullptr)) {}
  const EVP_CIPHER* For(size_t key_size) const {
    switch (key_size) {
      case 16:
        return k128;
      case 24:
        return k192;
      case 32:
        return k256;
      default:
        return nullptr;
    }
  }
};

const EVP_CIPHER* AesGcmFor(size_t key_size) {
  static const AesByKeySize kGcm("GCM");
  return kGcm.For(key_size);
}

// Sets up `ctx` for GCM with the key's size and the IV's length.
Status GcmInit(EVP_CIPHER_CTX* ctx, bool encrypt, const SecretBytes& key,
               std::span<const uint8_t> iv) {
  const EVP_CIPHER* cipher = AesGcmFor(key.size());
  if (cipher == nullptr || iv.empty()) {
    return MakeError(ErrorCode::kInternal, "AES-GCM needs a 16, 24 or 32-byte key and an IV");
  }
  size_t iv_len = iv.size();
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &iv_len),
                         OSSL_PARAM_construct_end()};
  if (EVP_CipherInit_ex2(ctx, cipher, nullptr, nullptr, encrypt ? 1 : 0, params) != 1 ||
      EVP_CipherInit_ex2(ctx, nullptr, key.Reveal(KeyAccess::Grant()).data(), iv.data(),
                         encrypt ? 1 : 0, nullptr) != 1) {
    return OsslError("AES-GCM init");
  }
  return Ok();
}
}  // namespace

Result<Bytes> AesGcmSeal(const SecretBytes& key, std::span<const uint8_t> iv,
                         std::span<const uint8_t> plaintext, std::span<const uint8_t> aad) {
  OsslPtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) {
    return OsslError("AES-GCM context");
  }
  SCY_RETURN_IF_ERROR(GcmInit(ctx.get(), /*encrypt=*/true, key, iv));
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return OsslError("AES-GCM aad");
  }
  Bytes out(plaintext.size() + kAesGcmTagSize);
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1) {
    return OsslError("AES-GCM encrypt");
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAesGcmTagSize,
                          out.data() + plaintext.size()) != 1) {
    return OsslError("AES-GCM final");
  }
  return out;
}

Result<SecretBytes> AesGcmOpen(const SecretBytes& key, std::span<const uint8_t> iv,
                               std::span<const uint8_t> ciphertext_and_tag,
                               std::span<const uint8_t> aad) {
  if (ciphertext_and_tag.size() < kAesGcmTagSize) {
    return MakeError(ErrorCode::kInvalidCiphertext, "ciphertext shorter than its tag");
  }
  size_t ct_len = ciphertext_and_tag.size() - kAesGcmTagSize;
  OsslPtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) {
    return OsslError("AES-GCM context");
  }
  SCY_RETURN_IF_ERROR(GcmInit(ctx.get(), /*encrypt=*/false, key, iv));
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return OsslError("AES-GCM aad");
  }
  SecretBytes out(ct_len);
  uint8_t* out_data = out.MutableReveal(KeyAccess::Grant()).data();
  if (ct_len > 0 && EVP_DecryptUpdate(ctx.get(), out_data, &len, ciphertext_and_tag.data(),
                                      static_cast<int>(ct_len)) != 1) {
    return OsslError("AES-GCM decrypt");
  }
  // OpenSSL takes a non-const tag pointer but does not write through it.
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAesGcmTagSize,
                          const_cast<uint8_t*>(ciphertext_and_tag.data() + ct_len)) != 1) {
    return OsslError("AES-GCM tag");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out_data + ct_len, &len) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidCiphertext, "authentication tag mismatch");
  }  // `out` is wiped by its destructor on the failure path above.
  return out;
}

namespace {

const EVP_CIPHER* AesWrapPadFor(size_t key_size) {
  static const AesByKeySize kWrapPad("WRAP-PAD");
  return kWrapPad.For(key_size);
}

// One pass of KWP in either direction; `out` must hold input + 16 bytes (wrap) or input bytes
// (unwrap). Returns the output length, or -1 when OpenSSL refuses (for unwrap: a bad wrapping).
Result<int> AesWrapPadRun(const SecretBytes& kek, bool wrap, std::span<const uint8_t> in,
                          uint8_t* out) {
  const EVP_CIPHER* cipher = AesWrapPadFor(kek.size());
  if (cipher == nullptr) {
    return MakeError(ErrorCode::kInvalidCiphertext,
                     "AES key wrap needs a 16, 24 or 32-byte key-encryption key");
  }
  OsslPtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) {
    return OsslError("AES key wrap context");
  }
  if (EVP_CipherInit_ex2(ctx.get(), cipher, kek.Reveal(KeyAccess::Grant()).data(), nullptr,
                         wrap ? 1 : 0, nullptr) != 1) {
    return OsslError("AES key wrap init");
  }
  int len = 0;
  int final_len = 0;
  if (EVP_CipherUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out + len, &final_len) != 1) {
    ERR_clear_error();
    return -1;
  }
  return len + final_len;
}

}  // namespace

Result<Bytes> AesKeyWrapPad(const SecretBytes& kek, const SecretBytes& plaintext) {
  if (plaintext.empty()) {
    return MakeError(ErrorCode::kInternal, "AES key wrap of nothing");
  }
  Bytes out(plaintext.size() + 16);
  SCY_ASSIGN_OR_RETURN(
      int len, AesWrapPadRun(kek, /*wrap=*/true, plaintext.Reveal(KeyAccess::Grant()), out.data()));
  if (len < 0) {
    return OsslError("AES key wrap");
  }
  out.resize(static_cast<size_t>(len));
  return out;
}

Result<SecretBytes> AesKeyUnwrapPad(const SecretBytes& kek, std::span<const uint8_t> wrapped) {
  // RFC 5649: at least two 64-bit blocks, a whole number of them.
  if (wrapped.size() < 16 || wrapped.size() % 8 != 0) {
    return MakeError(ErrorCode::kInvalidCiphertext, "the wrapped key has an invalid length");
  }
  SecretBytes out(wrapped.size());
  SCY_ASSIGN_OR_RETURN(int len, AesWrapPadRun(kek, /*wrap=*/false, wrapped,
                                              out.MutableReveal(KeyAccess::Grant()).data()));
  if (len <= 0) {
    return MakeError(ErrorCode::kInvalidCiphertext, "the wrapped key does not unwrap");
  }
  SecretBytes exact(out.Reveal(KeyAccess::Grant()).subspan(0, static_cast<size_t>(len)));
  return exact;
}

Result<SecretBytes> HkdfSha256(const SecretBytes& ikm, std::span<const uint8_t> salt,
                               std::span<const uint8_t> info, size_t out_len) {
  // Fetched once: a fetch per call costs more than the derivation itself (bench/). (OpenSSL 3.0
  // cannot duplicate an HKDF context, so the digest is still named, and looked up, per call.)
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  OsslPtr<EVP_KDF_CTX> ctx(kdf != nullptr ? EVP_KDF_CTX_new(kdf) : nullptr);
  if (!ctx) {
    return OsslError("HKDF fetch");
  }
  auto key = ikm.Reveal(KeyAccess::Grant());
  // An empty salt or info is left out: RFC 5869 treats an absent salt as zeros, which is what
  // OpenSSL does, and OpenSSL rejects zero-length octet-string params with a null pointer.
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] =
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(key.data()), key.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<uint8_t*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<uint8_t*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(out_len);
  if (EVP_KDF_derive(ctx.get(), out.MutableReveal(KeyAccess::Grant()).data(), out_len, params) !=
      1) {
    return OsslError("HKDF derive");
  }
  return out;
}

Result<SecretBytes> Scrypt(std::string_view passphrase, std::span<const uint8_t> salt,
                           const ScryptParams& params, size_t out_len) {
  SecretBytes out(out_len);
  // maxmem: 128 * r * N * p plus slack.
  uint64_t maxmem = 128 * params.r * params.n * params.p + (1 << 20);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt.data(), salt.size(), params.n,
                     params.r, params.p, maxmem, out.MutableReveal(KeyAccess::Grant()).data(),
                     out_len) != 1) {
    return OsslError("scrypt");
  }
  return out;
}

Result<Bytes> CertificatePemToDer(std::string_view pem) {
  internal::OsslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return OsslError("BIO_new_mem_buf");
  }
  internal::OsslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    DrainErrors();
    return MakeError(ErrorCode::kValidation, "not a PEM-encoded X.509 certificate");
  }
  int len = i2d_X509(cert.get(), nullptr);
  if (len <= 0) {
    return OsslError("i2d_X509");
  }
  Bytes der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  if (i2d_X509(cert.get(), &p) != len) {
    return OsslError("i2d_X509");
  }
  return der;
}

}  // namespace scytale::crypto

#include "audit/internal/signer.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto/crypto.h"

namespace scytale::audit::internal {
namespace {

// The wrapped key is bound to its purpose, so no other wrapped row can be swapped in.
constexpr std::string_view kWrapAad = "scytale:audit-signing-key:ed25519:v1";
constexpr size_t kEd25519KeySize = 32;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string DrainErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Error OsslError(const std::string& what) {
  return MakeError(ErrorCode::kInternal, what + ": " + DrainErrors());
}

class Ed25519Signer : public Signer {
 public:
  Ed25519Signer(PkeyPtr key, std::string pem) : key_(std::move(key)), pem_(std::move(pem)) {}

  Result<Bytes> Sign(std::span<const uint8_t> data) const override {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
      return OsslError("EVP_DigestSignInit");
    }
    size_t len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1) {
      return OsslError("EVP_DigestSign");
    }
    Bytes sig(len);
    if (EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1) {
      return OsslError("EVP_DigestSign");
    }
    sig.resize(len);
    return sig;
  }

  const std::string& PublicKeyPem() const override { return pem_; }

 private:
  PkeyPtr key_;
  std::string pem_;
};

Result<std::string> PublicPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return OsslError("PEM_write_bio_PUBKEY");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::unique_ptr<Signer>> FromRaw(const crypto::SecretBytes& raw) {
  auto bytes = raw.Reveal(crypto::KeyAccess::Grant());
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes.data(), bytes.size()));
  if (!key) {
    return OsslError("EVP_PKEY_new_raw_private_key");
  }
  SCY_ASSIGN_OR_RETURN(std::string pem, PublicPem(key.get()));
  return std::unique_ptr<Signer>(std::make_unique<Ed25519Signer>(std::move(key), std::move(pem)));
}

}  // namespace

Result<std::unique_ptr<Signer>> Signer::LoadOrCreate(const std::filesystem::path& path,
                                                     keystore::RootKeystore* root, Env* env) {
  if (root == nullptr) {
    return MakeError(ErrorCode::kInvalidState, "the audit log needs a root keystore");
  }
  Result<std::string> stored = env->ReadFile(path);
  if (stored) {
    Result<crypto::SecretBytes> raw = root->Unwrap(AsBytes(*stored), AsBytes(kWrapAad));
    if (!raw || raw->size() != kEd25519KeySize) {
      return MakeError(ErrorCode::kInvalidState,
                       "the audit signing key " + path.string() +
                           " does not unwrap under this root key");
    }
    return FromRaw(*raw);
  }
  if (stored.error().code != ErrorCode::kNotFound) {
    return stored.error();
  }
  SCY_ASSIGN_OR_RETURN(crypto::SecretBytes raw, crypto::RandomSecret(kEd25519KeySize));
  SCY_ASSIGN_OR_RETURN(Bytes wrapped, root->Wrap(raw, AsBytes(kWrapAad)));
  SCY_RETURN_IF_ERROR(env->WriteFileDurably(path, AsString(wrapped)));
  return FromRaw(raw);
}

Status VerifySignature(std::string_view public_key_pem, std::span<const uint8_t> data,
                       std::span<const uint8_t> signature) {
  BioPtr bio(BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    ERR_clear_error();
    return MakeError(ErrorCode::kValidation, "the public key is not an Ed25519 PEM public key");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return OsslError("EVP_DigestVerifyInit");
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data.data(),
                            data.size());
  ERR_clear_error();
  if (rc != 1) {
    return MakeError(ErrorCode::kInvalidSignature, "the signature does not verify");
  }
  return Ok();
}

std::string Sha256Hex(std::string_view data) { return HexEncode(crypto::Sha256(AsBytes(data))); }

}  // namespace scytale::audit::internal

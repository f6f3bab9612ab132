// The soft root keystore.
//
// File layout (all integers big-endian):
//
//   +--------+---------+------------------------------------------------------------+
//   | "SCYR" | version | body                                                       |
//   | 4 B    | 1 B = 1 |                                                            |
//   +--------+---------+------------------------------------------------------------+
//   body, mode 0 (clear):  0x00 | key (32 B)
//   body, mode 1 (sealed): 0x01 | log2(N) (1 B) | r (4 B) | p (4 B) | salt (16 B) |
//                          iv (12 B) | AES-256-GCM(kek, key) (32 B) | tag (16 B)
//   where kek = scrypt(passphrase, salt, N, r, p) and the AAD is the 5-byte header plus the
//   mode and parameter bytes, so a parameter cannot be changed without detection.
//
// Wrapped blobs: 0x01 | iv (12 B) | AES-256-GCM(root, plaintext, aad) | tag (16 B). (0x02 is the
// pkcs11 root's format: such a blob is refused with a message that says so.)

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "keystore/keystore.h"

namespace scytale::keystore {
namespace {

using crypto::KeyAccess;
using crypto::SecretBytes;

constexpr uint8_t kMagic[4] = {'S', 'C', 'Y', 'R'};
constexpr uint8_t kFileVersion = 1;
constexpr uint8_t kWrapVersion = 1;
constexpr size_t kRootKeySize = 32;
constexpr size_t kSaltSize = 16;

void PutU32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}
uint32_t GetU32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

class SoftKeystore : public RootKeystore {
 public:
  SoftKeystore(SecretBytes key, std::string description)
      : key_(std::move(key)), description_(std::move(description)) {}

  Result<Bytes> Wrap(const SecretBytes& plaintext, std::span<const uint8_t> aad) override {
    SCY_ASSIGN_OR_RETURN(Bytes iv, crypto::RandomBytes(crypto::kAesGcmIvSize));
    SCY_ASSIGN_OR_RETURN(Bytes sealed,
                         crypto::AesGcmSeal(key_, iv, plaintext.Reveal(KeyAccess::Grant()), aad));
    Bytes out;
    out.reserve(1 + iv.size() + sealed.size());
    out.push_back(kWrapVersion);
    out.insert(out.end(), iv.begin(), iv.end());
    out.insert(out.end(), sealed.begin(), sealed.end());
    return out;
  }

  Result<SecretBytes> Unwrap(std::span<const uint8_t> wrapped,
                             std::span<const uint8_t> aad) override {
    if (!wrapped.empty() && wrapped[0] == 2) {
      return MakeError(ErrorCode::kInvalidCiphertext,
                       "wrapped blob was made by a PKCS#11 root keystore, not by this soft root");
    }
    if (wrapped.size() < 1 + crypto::kAesGcmIvSize + crypto::kAesGcmTagSize ||
        wrapped[0] != kWrapVersion) {
      return MakeError(ErrorCode::kInvalidCiphertext, "wrapped blob is malformed");
    }
    return crypto::AesGcmOpen(key_, wrapped.subspan(1, crypto::kAesGcmIvSize),
                              wrapped.subspan(1 + crypto::kAesGcmIvSize), aad);
  }

  std::string Describe() const override { return description_; }

 private:
  const SecretBytes key_;
  const std::string description_;
};

Result<Bytes> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kInternal, "cannot read root key file " + path.string());
  }
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Writes the file with mode 0600 (created exclusively, so an existing file is never replaced),
// fsyncs it and its directory.
Status WriteNewFile(const std::filesystem::path& path, const Bytes& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kInternal,
                     "cannot create " + path.string() + ": " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::close(fd);
      return MakeError(ErrorCode::kInternal, "cannot write " + path.string());
    }
    off += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  int dir = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  if (!synced) {
    return MakeError(ErrorCode::kInternal, "cannot fsync " + path.string());
  }
  return Ok();
}

Bytes HeaderFor(uint8_t mode) {
  Bytes h(std::begin(kMagic), std::end(kMagic));
  h.push_back(kFileVersion);
  h.push_back(mode);
  return h;
}

Result<SecretBytes> CreateRootFile(const SoftOptions& o) {
  SCY_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(kRootKeySize));
  SecretBytes locked(key.Reveal(KeyAccess::Grant()), SecretBytes::Memory::kLocked);
  Bytes file;
  if (!o.passphrase) {
    file = HeaderFor(0);
    auto k = key.Reveal(KeyAccess::Grant());
    file.insert(file.end(), k.begin(), k.end());
  } else {
    file = HeaderFor(1);
    int log2n = 0;
    while ((uint64_t{1} << log2n) < o.scrypt.n) {
      ++log2n;
    }
    file.push_back(static_cast<uint8_t>(log2n));
    PutU32(file, static_cast<uint32_t>(o.scrypt.r));
    PutU32(file, static_cast<uint32_t>(o.scrypt.p));
    SCY_ASSIGN_OR_RETURN(Bytes salt, crypto::RandomBytes(kSaltSize));
    file.insert(file.end(), salt.begin(), salt.end());
    Bytes aad = file;
    crypto::ScryptParams params{uint64_t{1} << log2n, o.scrypt.r, o.scrypt.p};
    SCY_ASSIGN_OR_RETURN(SecretBytes kek, crypto::Scrypt(*o.passphrase, salt, params, 32));
    SCY_ASSIGN_OR_RETURN(Bytes iv, crypto::RandomBytes(crypto::kAesGcmIvSize));
    SCY_ASSIGN_OR_RETURN(Bytes sealed,
                         crypto::AesGcmSeal(kek, iv, key.Reveal(KeyAccess::Grant()), aad));
    file.insert(file.end(), iv.begin(), iv.end());
    file.insert(file.end(), sealed.begin(), sealed.end());
  }
  Status written = WriteNewFile(o.path, file);
  OPENSSL_cleanse(file.data(), file.size());
  SCY_RETURN_IF_ERROR(written);
  return locked;
}

Result<SecretBytes> LoadRootFile(const SoftOptions& o) {
  SCY_ASSIGN_OR_RETURN(Bytes file, ReadFile(o.path));
  auto corrupt = [&] {
    return MakeError(ErrorCode::kInvalidState, "root key file " + o.path.string() + " is corrupt");
  };
  if (file.size() < 6 || !std::equal(std::begin(kMagic), std::end(kMagic), file.begin()) ||
      file[4] != kFileVersion) {
    return corrupt();
  }
  uint8_t mode = file[5];
  Result<SecretBytes> out = corrupt();
  if (mode == 0 && file.size() == 6 + kRootKeySize) {
    if (o.passphrase) {
      out = MakeError(ErrorCode::kInvalidState,
                      "root key file is not sealed but SCYTALE_ROOT_PASSPHRASE is set");
    } else {
      out = SecretBytes(std::span(file).subspan(6), SecretBytes::Memory::kLocked);
    }
  } else if (mode == 1 &&
             file.size() == 6 + 1 + 8 + kSaltSize + crypto::kAesGcmIvSize + kRootKeySize +
                                crypto::kAesGcmTagSize) {
    if (!o.passphrase) {
      out = MakeError(ErrorCode::kInvalidState,
                      "root key file is sealed: set SCYTALE_ROOT_PASSPHRASE to open it");
    } else {
      const uint8_t* p = file.data() + 6;
      uint8_t log2n = p[0];
      crypto::ScryptParams params{uint64_t{1} << (log2n & 63), GetU32(p + 1), GetU32(p + 5)};
      std::span<const uint8_t> all(file);
      std::span<const uint8_t> aad = all.first(6 + 1 + 8 + kSaltSize);
      std::span<const uint8_t> salt = all.subspan(6 + 1 + 8, kSaltSize);
      std::span<const uint8_t> iv = all.subspan(aad.size(), crypto::kAesGcmIvSize);
      std::span<const uint8_t> sealed = all.subspan(aad.size() + crypto::kAesGcmIvSize);
      if (log2n < 10 || log2n > 22 || params.r == 0 || params.r > 32 || params.p == 0 ||
          params.p > 16) {
        out = corrupt();
      } else {
        auto kek = crypto::Scrypt(*o.passphrase, salt, params, 32);
        if (!kek) {
          out = kek.error();
        } else {
          auto key = crypto::AesGcmOpen(*kek, iv, sealed, aad);
          if (!key) {
            out = MakeError(ErrorCode::kInvalidState,
                            "cannot open the root key: wrong SCYTALE_ROOT_PASSPHRASE or a "
                            "damaged file");
          } else {
            out = SecretBytes(key->Reveal(KeyAccess::Grant()), SecretBytes::Memory::kLocked);
          }
        }
      }
    }
  }
  OPENSSL_cleanse(file.data(), file.size());
  return out;
}

}  // namespace

Result<std::unique_ptr<RootKeystore>> OpenSoftKeystore(const SoftOptions& options) {
  std::error_code ec;
  bool exists = std::filesystem::exists(options.path, ec);
  Result<SecretBytes> key = exists ? LoadRootFile(options) : CreateRootFile(options);
  SCY_RETURN_IF_ERROR(key);
  std::string description = "soft:" + options.path.string() +
                            (options.passphrase ? " (sealed)" : " (not sealed)");
  return std::unique_ptr<RootKeystore>(
      std::make_unique<SoftKeystore>(std::move(*key), std::move(description)));
}

}  // namespace scytale::keystore

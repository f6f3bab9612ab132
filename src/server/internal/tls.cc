#include "server/internal/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "crypto/crypto.h"

namespace scytale::server::internal {
namespace {

Status CheckReadable(const char* what, const std::filesystem::path& path) {
  if (path.empty()) {
    return MakeError(ErrorCode::kValidation, std::string(what) + " is empty");
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return MakeError(ErrorCode::kValidation, std::string("cannot read ") + what + " " +
                                                 path.string() + ": " + std::strerror(errno));
  }
  return Ok();
}

std::string Rfc2253(X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return "?";
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string SerialHex(const X509* cert) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), BN_free);
  if (!bn) {
    return "?";
  }
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) {
    return "?";
  }
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

std::string IsoTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) {
    return "?";
  }
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<LoadedTls> LoadServerTls(const TlsOptions& files) {
  namespace ssl = boost::asio::ssl;
  SCY_RETURN_IF_ERROR(CheckReadable("the TLS certificate", files.cert_file));
  SCY_RETURN_IF_ERROR(CheckReadable("the TLS key", files.key_file));
  ERR_clear_error();
  LoadedTls out;
  out.context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = out.context->native_handle();
  auto failed = [](const std::string& what) {
    return MakeError(ErrorCode::kValidation, what + ": " + crypto::DrainOpenSslErrors());
  };
  // Security level 2: 112-bit security at least (RSA/DH 2048, EC 224), no SHA-1 signatures.
  SSL_CTX_set_security_level(ctx, 2);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return failed("cannot limit TLS to versions 1.2 and 1.3");
  }
  // Compression invites CRIME-style attacks; renegotiation (TLS 1.2) is a CPU lever for a
  // client and has no use here. The server's order of suites wins.
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Ciphersuites) != 1) {
    return failed("cannot set the TLS cipher suites");
  }
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) {
    return failed("cannot set the TLS key exchange groups");
  }
  // Called by OpenSSL for an encrypted key: there is no one to ask, so say no (and remember it,
  // for the message). OpenSSL's default would prompt on the terminal and hang the server. (Asio
  // owns the callback's userdata and deletes it with the context: set it only through Asio.)
  auto passphrase_asked = std::make_shared<bool>(false);
  out.context->set_password_callback(
      [passphrase_asked](std::size_t, ssl::context::password_purpose) {
        *passphrase_asked = true;
        return std::string();
      });
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
    return failed("cannot load the TLS certificate " + files.cert_file.string() +
                  " (a PEM chain, the server's certificate first)");
  }
  auto mismatch = [&files] {
    ERR_clear_error();
    return MakeError(ErrorCode::kValidation, "the TLS key " + files.key_file.string() +
                                                 " does not match the certificate " +
                                                 files.cert_file.string());
  };
  const int key_loaded = SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM);
  if (key_loaded != 1) {
    if (*passphrase_asked) {
      ERR_clear_error();
      return MakeError(ErrorCode::kValidation,
                       "the TLS key " + files.key_file.string() +
                           " is encrypted; give it unencrypted, readable only by the server "
                           "(openssl pkey -in KEY -out KEY.plain)");
    }
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      return mismatch();
    }
    return failed("cannot load the TLS key " + files.key_file.string() + " (PEM)");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return mismatch();
  }
  X509* cert = SSL_CTX_get0_certificate(ctx);  // borrowed
  if (cert == nullptr) {
    return failed("no certificate in " + files.cert_file.string());
  }
  out.description = "subject " + Rfc2253(X509_get_subject_name(cert)) + ", serial " +
                    SerialHex(cert) + ", valid until " + IsoTime(X509_get0_notAfter(cert));
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
    out.warnings.push_back("the TLS certificate " + files.cert_file.string() +
                           " has expired: clients will refuse it");
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    out.warnings.push_back("the TLS certificate " + files.cert_file.string() +
                           " is not valid yet: clients will refuse it");
  }
  struct stat st {};
  if (::stat(files.key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    out.warnings.push_back("the TLS key " + files.key_file.string() +
                           " can be read by other users: chmod 600 it");
  }
  ERR_clear_error();
  return out;
}

}  // namespace scytale::server::internal

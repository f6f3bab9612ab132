// The HTTPS server: which handshakes it accepts, certificate reload, and what it does with
// clients that do not speak TLS or do not finish.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/server.h"
#include "server/testing/server_fixture.h"

namespace scytale::server {
namespace {

namespace beast = testing::beast;
namespace http = testing::http;
namespace net = testing::net;
namespace ssl = net::ssl;
using testing::tcp;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// RSA: the TLS 1.2 suites refused below include static-RSA key exchange, which only an RSA
// certificate could ever negotiate; refusing it must be the server's choice, not the key's.
EVP_PKEY* ServerKey() {
  static Pkey key(EVP_RSA_gen(2048));
  return key.get();
}

std::string PemOf(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// A self-signed certificate for `key` with the given serial, valid from an hour ago for a day.
std::string CertificatePem(EVP_PKEY* key, long serial) {
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("scytale test"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  EXPECT_GT(X509_sign(x.get(), key, EVP_sha256()), 0);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), x.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// A blocking TLS client that offers what it is told, at security level 0, so that a refusal
// can only come from the server.
struct TlsClient {
  // `configure` sets up the context before the stream exists: SSL_new copies its settings.
  TlsClient(net::io_context& ioc, const std::function<void(SSL_CTX*)>& configure)
      : context(Configured(configure)), stream(ioc, context) {}
  static ssl::context Configured(const std::function<void(SSL_CTX*)>& configure) {
    ssl::context c(ssl::context::tls_client);
    configure(c.native_handle());
    return c;
  }

  ssl::context context;
  ssl::stream<tcp::socket> stream;
  beast::error_code handshake_error;

  long PeerSerial() {
    X509* peer = SSL_get1_peer_certificate(stream.native_handle());
    if (peer == nullptr) {
      return -1;
    }
    long serial = ASN1_INTEGER_get(X509_get0_serialNumber(peer));
    X509_free(peer);
    return serial;
  }
  std::string Version() { return SSL_get_version(stream.native_handle()); }
};

class TlsServerTest : public testing::ServerFixture {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/scytale-tls-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    files_ = {dir_ / "cert.pem", dir_ / "key.pem"};
    WriteFile(files_.cert_file, CertificatePem(ServerKey(), 1));
    WriteFile(files_.key_file, PemOf(ServerKey()));
    std::filesystem::permissions(
        files_.key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  void TearDown() override {
    ServerFixture::TearDown();
    std::filesystem::remove_all(dir_);
  }
  void StartTlsServer(ServerOptions options = {}) {
    options.tls = files_;
    StartServer(options);
  }
  std::unique_ptr<TlsClient> ConnectTls(int min_version = TLS1_2_VERSION,
                                        int max_version = TLS1_3_VERSION,
                                        const std::string& tls12_ciphers = "ALL") {
    auto c = std::make_unique<TlsClient>(ioc_, [&](SSL_CTX* ctx) {
      SSL_CTX_set_security_level(ctx, 0);
      EXPECT_EQ(SSL_CTX_set_min_proto_version(ctx, min_version), 1);
      EXPECT_EQ(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
      EXPECT_EQ(SSL_CTX_set_cipher_list(ctx, (tls12_ciphers + ":@SECLEVEL=0").c_str()), 1);
    });
    c->stream.next_layer().connect({net::ip::make_address("127.0.0.1"), server_->port()});
    c->stream.handshake(ssl::stream_base::client, c->handshake_error);
    return c;
  }
  http::response<http::string_body> Get(TlsClient& c, const std::string& target) {
    return RoundTrip(c.stream, http::request<http::string_body>{http::verb::get, target, 11});
  }

  std::filesystem::path dir_;
  TlsOptions files_;
};

// The reason in a handshake error: the alert the server sent, as the client saw it.
int Reason(const beast::error_code& ec) {
  return ec.category() == net::error::get_ssl_category() ? ERR_GET_REASON(ec.value()) : 0;
}

TEST_F(TlsServerTest, Tls13HandshakeSucceedsAndRequestsAreMarkedSecure) {
  StartTlsServer();
  auto c = ConnectTls(TLS1_3_VERSION, TLS1_3_VERSION);
  ASSERT_FALSE(c->handshake_error) << c->handshake_error.message();
  EXPECT_EQ(c->Version(), "TLSv1.3");
  for (int i = 0; i < 2; ++i) {  // keep-alive over TLS
    auto res = Get(*c, "/x" + std::to_string(i));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "GET /x" + std::to_string(i) + "  secure");
  }
  EXPECT_EQ(Series(R"(scytale_tls_handshakes_total{outcome="TLSv1.3"})"), 1);
}

TEST_F(TlsServerTest, Tls12HandshakeWithEcdheAndAnAeadSucceeds) {
  StartTlsServer();
  for (const char* suite : {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                            "ECDHE-RSA-CHACHA20-POLY1305"}) {
    auto c = ConnectTls(TLS1_2_VERSION, TLS1_2_VERSION, suite);
    ASSERT_FALSE(c->handshake_error) << suite << ": " << c->handshake_error.message();
    EXPECT_EQ(c->Version(), "TLSv1.2");
    EXPECT_STREQ(SSL_get_cipher_name(c->stream.native_handle()), suite);
    EXPECT_EQ(Get(*c, "/").result_int(), 200);
  }
}

TEST_F(TlsServerTest, Tls11AndTls10AreRefusedByTheServer) {
  StartTlsServer();
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    auto c = ConnectTls(version, version);
    ASSERT_TRUE(c->handshake_error) << "version " << version << " was accepted";
    // The server's protocol_version alert, not a refusal by the client's own configuration.
    EXPECT_EQ(Reason(c->handshake_error), SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
        << c->handshake_error.message();
  }
  EXPECT_EQ(SeriesBecomes(R"(scytale_tls_handshakes_total{outcome="failed"})", 2), 2);
}

TEST_F(TlsServerTest, Tls12SuitesWithoutEcdheOrWithoutAnAeadAreRefused) {
  StartTlsServer();
  for (const char* weak : {"AES128-GCM-SHA256",          // RSA key exchange: no forward secrecy
                           "DHE-RSA-AES128-GCM-SHA256",  // finite-field DH
                           "ECDHE-RSA-AES128-SHA",       // CBC with SHA-1 HMAC
                           "ECDHE-RSA-AES256-SHA384",    // CBC
                           "AES128-SHA"}) {
    auto c = ConnectTls(TLS1_2_VERSION, TLS1_2_VERSION, weak);
    ASSERT_TRUE(c->handshake_error) << weak << " was accepted";
    EXPECT_EQ(Reason(c->handshake_error), SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE)
        << weak << ": " << c->handshake_error.message();
  }
}

TEST_F(TlsServerTest, ClientRenegotiationIsRefused) {
  StartTlsServer();
  auto c = ConnectTls(TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_FALSE(c->handshake_error) << c->handshake_error.message();
  ASSERT_EQ(SSL_renegotiate(c->stream.native_handle()), 1);
  beast::error_code ec;
  c->stream.handshake(ssl::stream_base::client, ec);
  // The server answers no_renegotiation (a warning alert) and the client gives up. (OpenSSL 3
  // refuses a client's renegotiation by default too; this holds whatever the defaults become.)
  EXPECT_TRUE(ec) << "renegotiation went through";
}

TEST_F(TlsServerTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  StartTlsServer();
  EXPECT_NE(server_->TlsDescription().find("serial 01"), std::string::npos)
      << server_->TlsDescription();
  auto before = ConnectTls();
  ASSERT_FALSE(before->handshake_error);
  EXPECT_EQ(before->PeerSerial(), 1);
  EXPECT_EQ(Get(*before, "/").result_int(), 200);

  WriteFile(files_.cert_file, CertificatePem(ServerKey(), 2));
  auto reloaded = server_->ReloadTls();
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error().message;
  EXPECT_NE(reloaded->find("serial 02"), std::string::npos) << *reloaded;

  auto after = ConnectTls();
  ASSERT_FALSE(after->handshake_error);
  EXPECT_EQ(after->PeerSerial(), 2);
  EXPECT_EQ(Get(*after, "/").result_int(), 200);
  // The connection made before the reload goes on, with the certificate it had.
  EXPECT_EQ(Get(*before, "/again").result_int(), 200);
  EXPECT_EQ(before->PeerSerial(), 1);
  EXPECT_EQ(Series(R"(scytale_tls_reloads_total{outcome="success"})"), 1);
}

TEST_F(TlsServerTest, ReloadOfBadFilesFailsAndKeepsTheCurrentCertificate) {
  StartTlsServer();
  const std::string cert1 = CertificatePem(ServerKey(), 1);
  Pkey other(EVP_EC_gen("P-256"));
  struct Case {
    std::string cert, key, expected;
  } cases[] = {
      {"not a certificate\n", PemOf(ServerKey()), "cannot load the TLS certificate"},
      {cert1, "not a key\n", "cannot load the TLS key"},
      {cert1, PemOf(other.get()), "does not match the certificate"},
      {"", "", "cannot read the TLS certificate"},  // removed
  };
  for (const Case& c : cases) {
    if (c.cert.empty()) {
      std::filesystem::remove(files_.cert_file);
    } else {
      WriteFile(files_.cert_file, c.cert);
      WriteFile(files_.key_file, c.key);
    }
    auto reloaded = server_->ReloadTls();
    ASSERT_FALSE(reloaded.has_value()) << c.expected;
    EXPECT_NE(reloaded.error().message.find(c.expected), std::string::npos)
        << reloaded.error().message;
    EXPECT_EQ(reloaded.error().message.find("PRIVATE KEY"), std::string::npos);
    auto client = ConnectTls();
    ASSERT_FALSE(client->handshake_error) << client->handshake_error.message();
    EXPECT_EQ(client->PeerSerial(), 1);
    EXPECT_EQ(Get(*client, "/").result_int(), 200);
  }
  EXPECT_EQ(Series(R"(scytale_tls_reloads_total{outcome="failure"})"), 4);
}

TEST_F(TlsServerTest, EncryptedKeyIsRefusedWithoutPrompting) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), ServerKey(), EVP_aes_128_cbc(), nullptr, 0, nullptr,
                                     const_cast<char*>("passphrase")),
            1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  WriteFile(files_.key_file, std::string(data, static_cast<size_t>(n)));
  ServerOptions o;
  o.tls = files_;
  Status checked = CheckServerOptions(o);
  ASSERT_FALSE(checked.has_value());
  EXPECT_NE(checked.error().message.find("is encrypted"), std::string::npos)
      << checked.error().message;
}

TEST_F(TlsServerTest, TlsAllowsAnyListenAddress) {
  ServerOptions o;
  o.tls = files_;
  o.host = "0.0.0.0";
  EXPECT_TRUE(CheckServerOptions(o).has_value());
}

TEST_F(TlsServerTest, PlainHttpOnTheTlsPortGetsA400AndTheConnectionCloses) {
  std::mutex mu;
  std::vector<Rejection> seen;
  ServerOptions o;
  o.on_rejected = [&](const Rejection& r) {
    std::lock_guard lock(mu);
    seen.push_back(r);
  };
  StartTlsServer(o);
  tcp::socket s = Connect();
  net::write(s, net::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string answer;
  EXPECT_LT(WaitForClose(s, std::chrono::seconds(5), &answer), std::chrono::seconds(3));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
  EXPECT_NE(answer.find("use an https:// endpoint"), std::string::npos) << answer;
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].status, 400);
  EXPECT_EQ(seen[0].remote_address, "127.0.0.1");
}

TEST_F(TlsServerTest, HandshakeThatNeverFinishesIsCutAtTheHandshakeTimeout) {
  ServerOptions o;
  o.handshake_timeout = std::chrono::seconds(1);
  StartTlsServer(o);
  tcp::socket silent = Connect();  // connects and sends nothing
  tcp::socket partial = Connect();
  // The first bytes of a TLS record header, then nothing.
  net::write(partial, net::buffer(std::string("\x16\x03\x01", 3)));
  EXPECT_LT(WaitForClose(silent, std::chrono::seconds(6)), std::chrono::seconds(3));
  EXPECT_LT(WaitForClose(partial, std::chrono::seconds(6)), std::chrono::seconds(3));
  EXPECT_EQ(SeriesBecomes(R"(scytale_tls_handshakes_total{outcome="timeout"})", 2), 2);
  EXPECT_EQ(SeriesBecomes("scytale_connections_open", 0), 0);  // both places given back
}

TEST_F(TlsServerTest, GarbageInsteadOfAHandshakeDoesNotHurtTheServer) {
  StartTlsServer();
  for (const std::string& junk :
       {std::string("\x16\x03\x01\x00\x05hello", 10), std::string("\x16\xff\xff\xff\xff", 5),
        std::string(4096, '\x16')}) {
    tcp::socket s = Connect();
    beast::error_code ec;
    net::write(s, net::buffer(junk), ec);
    EXPECT_LT(WaitForClose(s, std::chrono::seconds(15)), std::chrono::seconds(12));
  }
  auto c = ConnectTls();
  ASSERT_FALSE(c->handshake_error);
  EXPECT_EQ(Get(*c, "/").result_int(), 200);
}

TEST_F(TlsServerTest, StopClosesIdleTlsConnectionsAndHalfDoneHandshakes) {
  StartTlsServer();
  auto idle = ConnectTls();
  ASSERT_FALSE(idle->handshake_error);
  EXPECT_EQ(Get(*idle, "/").result_int(), 200);
  tcp::socket handshaking = Connect();
  net::write(handshaking, net::buffer(std::string("\x16\x03\x01", 3)));
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  thread_.join();
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace scytale::server

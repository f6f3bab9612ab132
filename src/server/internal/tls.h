// The server's TLS configuration: one OpenSSL context per load of the certificate and key, so
// that a reload swaps contexts and never changes one that handshakes are using.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "server/server.h"

namespace scytale::server::internal {

// TLS 1.2 suites: ECDHE key exchange (forward secrecy) with an AEAD only, ECDSA or RSA
// certificates (Mozilla's "intermediate" list without DHE). TLS 1.3 offers only AEADs.
inline constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr char kTls13Ciphersuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

struct LoadedTls {
  std::shared_ptr<boost::asio::ssl::context> context;
  // "subject CN=..., serial 03E9, valid until 2027-05-01T00:00:00Z", for logs.
  std::string description;
  // Worth a line in the log, not a refusal: an expired certificate, a key file others can read.
  std::vector<std::string> warnings;
};

// Reads the PEM certificate chain and private key and builds a server context: TLS 1.2 and 1.3
// only, the suites above, no compression, no renegotiation, security level 2 (RSA keys of 2048
// bits or more, EC keys of 224 or more). Fails with a message naming the file and OpenSSL's
// reason when a file cannot be read or parsed, the key is encrypted (no prompt: the server
// would hang), or the key does not match the certificate. Key bytes are never in a message.
Result<LoadedTls> LoadServerTls(const TlsOptions& files);

}  // namespace scytale::server::internal

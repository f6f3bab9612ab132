// One session per connection, shaped like Beast's advanced server examples (the "flex" one for
// TLS): each connection runs on its own strand; a request is parsed with header and body
// limits and given to the handler, which answers later (once the call's audit record is durable)
// through a Reply that posts the answer back to the strand; keep-alive loops back to reading.
// A TLS session first reads one byte: a TLS handshake starts with 0x16 (a handshake record),
// anything else is a client speaking plain HTTP to the HTTPS port, which gets a plain 400.

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/flat_stream.hpp>
#include <boost/beast/http.hpp>
#include <ctime>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "common/ids.h"
#include "server/internal/http_request.h"
#include "server/internal/tls.h"
#include "server/server.h"

namespace scytale::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// After a TLS connection's last answer, how long the peer gets to acknowledge our close_notify
// before the socket is closed anyway (most clients just close, which ends it at once).
constexpr std::chrono::seconds kTlsShutdownTimeout{1};
// After accept() fails (out of descriptors, say), the pause before the next try: retrying at
// once would spin a core while the condition lasts.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr uint8_t kTlsHandshakeRecord = 0x16;

std::string HttpDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d; it is the same client as
// a.b.c.d for the per-IP limit, aws:SourceIp and the audit log.
std::string AddressText(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

bool IsLoopback(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).is_loopback();
  }
  return a.is_loopback();  // 127.0.0.0/8, ::1
}

Result<net::ip::address> ListenAddress(const std::string& host) {
  beast::error_code ec;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    return MakeError(ErrorCode::kValidation,
                     "invalid listen address " + host + " (an IP address, or localhost)");
  }
  return address;
}

// The peer went away, a timeout cut it, the server cancelled it, or TLS broke: nothing can be
// answered on such a connection.
bool IsTransportError(const beast::error_code& ec) {
  return ec == beast::error::timeout || ec == http::error::end_of_stream ||
         ec == net::error::operation_aborted || ec == net::error::connection_reset ||
         ec == net::error::eof || ec == net::error::broken_pipe ||
         ec == ssl::error::stream_truncated || ec.category() == net::error::get_ssl_category();
}

http::response<http::string_body> ErrorResponse(int status, std::string_view type,
                                                std::string_view message,
                                                const std::string& request_id) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "scytale");
  res.set("x-amzn-RequestId", request_id);
  res.set(http::field::date, HttpDate());
  res.set(http::field::content_type, "application/x-amz-json-1.1");
  res.body() = std::string(R"({"__type":")") + std::string(type) + R"(","message":")" +
               std::string(message) + R"("})";
  res.keep_alive(false);
  res.prepare_payload();
  return res;
}

Status CheckAddressAndLimits(const ServerOptions& options);

// What a handler that threw answers. A bug: logged with the request id; the client learns
// nothing more than that.
HttpResponse InternalError(const std::string& request_id, const std::exception& e) {
  std::cerr << "scytale: internal error in request " << request_id << ": " << e.what() << std::endl;
  return HttpResponse{500, "application/x-amz-json-1.1",
                      R"({"__type":"KMSInternalException","message":"The request could not be )"
                      R"(processed because of an internal error. Try again later."})"};
}

class Server;

// What the server holds of a connection, whatever its transport.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void Start() = 0;
  // Closes the connection if it is waiting for a request (or a TLS handshake); otherwise it
  // closes after replying.
  virtual void Drain() = 0;
};

// A connection's place under the limits: taken when it is accepted, given back when its session
// is destroyed, so that every way out gives it back exactly once.
class ConnectionSlot {
 public:
  ConnectionSlot(Server* server, std::string ip) : server_(server), ip_(std::move(ip)) {}
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : server_(std::exchange(other.server_, nullptr)), ip_(std::move(other.ip_)) {}
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot();
  const std::string& ip() const { return ip_; }

 private:
  Server* server_;
  std::string ip_;
};

template <bool kTls>
class Session : public Connection, public std::enable_shared_from_this<Session<kTls>> {
 public:
  // What beast::ssl_stream is, spelt out: Boost 1.81's beast::ssl_stream cannot take the
  // buffered handshake (its constraint names the wrong completion signature), so the handshake
  // and shutdown go to the ssl::stream (Tls()). flat_stream joins a response's header and body
  // into one TLS record: written as two, the second waits on the client's delayed ACK (Nagle),
  // 40 ms a response.
  using Stream = std::conditional_t<kTls, beast::flat_stream<ssl::stream<beast::tcp_stream>>,
                                    beast::tcp_stream>;

  // tls: the context of the certificate served when the connection was accepted (kept for the
  // connection's life: a reload does not touch established connections); null for plain HTTP.
  Session(tcp::socket socket, Server* server, ConnectionSlot slot,
          std::shared_ptr<ssl::context> tls)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        server_(server),
        slot_(std::move(slot)) {}
  void Start() override;
  void Drain() override;

 private:
  static Stream MakeStream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  auto& Tls() requires kTls { return stream_.next_layer(); }

  void ReadFirstTlsByte();
  void OnFirstTlsByte(beast::error_code ec);
  void OnHandshake(beast::error_code ec);
  void RefusePlainHttp();
  void ReadFirstBytes();
  void OnFirstBytes(beast::error_code ec);
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnRequest(beast::error_code ec);
  // Sends the handler's answer to the request read last (on the strand).
  void SendAnswer(HttpResponse out, const std::string& request_id, unsigned version,
                  bool keep_alive);
  void Send(http::response<http::string_body> response, bool keep_alive);
  // Tells the server's on_rejected of a request it refuses; returns the request id answered.
  std::string ReportRejection(int status, std::string_view type, std::string_view message);
  void ReplyError(int status, std::string_view type, std::string_view message);
  void Close();
  void CloseSocket();

  std::shared_ptr<ssl::context> tls_;  // before stream_, which uses it
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Server* server_;
  ConnectionSlot slot_;
  // Guarded by the strand:
  bool idle_ = false;  // waiting for a request or a handshake: Drain may cut it
  bool handshake_done_ = false;
  bool closing_ = false;
};

class Server : public HttpServer {
 public:
  Server(const ServerOptions& options, AsyncHandler handler)
      : options_(options),
        handler_(std::move(handler)),
        acceptor_(net::make_strand(ioc_)),
        drain_timer_(ioc_),
        accept_retry_timer_(acceptor_.get_executor()) {}

  Status Listen() {
    SCY_RETURN_IF_ERROR(CheckAddressAndLimits(options_));
    if (options_.tls) {
      SCY_ASSIGN_OR_RETURN(internal::LoadedTls loaded, internal::LoadServerTls(*options_.tls));
      PrintWarnings(loaded.warnings);
      tls_context_ = std::move(loaded.context);
      tls_description_ = std::move(loaded.description);
    }
    SCY_ASSIGN_OR_RETURN(net::ip::address address, ListenAddress(options_.host));
    beast::error_code ec;
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return MakeError(ErrorCode::kInternal, "cannot listen on " + options_.host + ":" +
                                                 std::to_string(options_.port) + ": " +
                                                 ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return Ok();
  }

  uint16_t port() const override { return port_; }

  void Run() override {
    Accept();
    std::vector<std::thread> threads;
    for (int i = 1; i < options_.threads; ++i) {
      threads.emplace_back([this] { ioc_.run(); });
    }
    ioc_.run();
    for (auto& t : threads) {
      t.join();
    }
  }

  void Stop() override {
    net::post(acceptor_.get_executor(), [this] {
      if (draining_.exchange(true)) {
        return;
      }
      beast::error_code ec;
      acceptor_.close(ec);
      accept_retry_timer_.cancel();
      std::vector<std::shared_ptr<Connection>> live;
      {
        std::lock_guard lock(mu_);
        for (const auto& weak : sessions_) {
          if (auto s = weak.lock()) {
            live.push_back(std::move(s));
          }
        }
      }
      for (auto& s : live) {
        s->Drain();
      }
      // Whatever has not finished by the deadline is cut.
      drain_timer_.expires_after(options_.drain_timeout);
      drain_timer_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) {
          ioc_.stop();
        }
      });
      // If nothing is left, the timer alone keeps run() alive: cancel it when sessions end.
      MaybeFinishDrain();
    });
  }

  Result<std::string> ReloadTls() override {
    if (!options_.tls) {
      return MakeError(ErrorCode::kInvalidState, "the server does not serve TLS");
    }
    auto loaded = internal::LoadServerTls(*options_.tls);
    if (options_.metrics != nullptr) {
      options_.metrics->ObserveTlsReload(loaded.has_value());
    }
    if (!loaded) {
      return loaded.error();
    }
    PrintWarnings(loaded->warnings);
    std::lock_guard lock(tls_mu_);
    tls_context_ = std::move(loaded->context);
    tls_description_ = std::move(loaded->description);
    return tls_description_;
  }

  std::string TlsDescription() const override {
    std::lock_guard lock(tls_mu_);
    return tls_description_;
  }

  bool draining() const { return draining_.load(); }
  const ServerOptions& options() const { return options_; }
  const AsyncHandler& handler() const { return handler_; }
  Metrics* metrics() const { return options_.metrics; }

  void Unregister(Connection* s) {
    {
      std::lock_guard lock(mu_);
      for (auto it = sessions_.begin(); it != sessions_.end();) {
        auto locked = it->lock();
        if (!locked || locked.get() == s) {
          it = sessions_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (draining_) {
      net::post(acceptor_.get_executor(), [this] { MaybeFinishDrain(); });
    }
  }

  void ReleaseSlot(const std::string& ip) {
    {
      std::lock_guard lock(limits_mu_);
      --open_connections_;
      auto it = connections_per_ip_.find(ip);
      if (it != connections_per_ip_.end() && --it->second == 0) {
        connections_per_ip_.erase(it);
      }
    }
    if (options_.metrics != nullptr) {
      options_.metrics->ObserveConnectionClosed();
    }
  }

 private:
  static void PrintWarnings(const std::vector<std::string>& warnings) {
    for (const std::string& w : warnings) {
      std::cerr << "scytale: warning: " << w << std::endl;
    }
  }

  void MaybeFinishDrain() {
    std::lock_guard lock(mu_);
    bool any = false;
    for (const auto& weak : sessions_) {
      if (!weak.expired()) {
        any = true;
        break;
      }
    }
    if (!any) {
      drain_timer_.cancel();
    }
  }

  // A slot under both limits, or the name of the limit reached.
  std::variant<ConnectionSlot, std::string_view> TakeSlot(const std::string& ip) {
    std::lock_guard lock(limits_mu_);
    if (open_connections_ >= options_.max_connections) {
      return std::string_view("max_connections");
    }
    auto [it, inserted] = connections_per_ip_.try_emplace(ip, 0);
    if (it->second >= options_.max_connections_per_ip) {
      return std::string_view("max_connections_per_ip");
    }
    ++it->second;
    ++open_connections_;
    return ConnectionSlot(this, ip);
  }

  void Serve(tcp::socket socket) {
    beast::error_code ec;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) {
      return;  // already gone; the socket closes here
    }
    auto slot = TakeSlot(AddressText(peer.address()));
    if (auto* limit = std::get_if<std::string_view>(&slot)) {
      if (options_.metrics != nullptr) {
        options_.metrics->ObserveConnectionRefused(*limit);
      }
      // Closed before a byte is read or a handshake started: the cheapest refusal there is.
      socket.close(ec);
      return;
    }
    if (options_.metrics != nullptr) {
      options_.metrics->ObserveConnectionOpened();
    }
    // Every write is a whole answer (or a TLS close_notify after one): holding a small segment
    // until the client's delayed ACK (Nagle) only adds 40 ms to it.
    socket.set_option(tcp::no_delay(true), ec);
    std::shared_ptr<Connection> session;
    if (options_.tls) {
      std::shared_ptr<ssl::context> tls;
      {
        std::lock_guard lock(tls_mu_);
        tls = tls_context_;
      }
      session = std::make_shared<Session<true>>(
          std::move(socket), this, std::move(std::get<ConnectionSlot>(slot)), std::move(tls));
    } else {
      session = std::make_shared<Session<false>>(
          std::move(socket), this, std::move(std::get<ConnectionSlot>(slot)), nullptr);
    }
    {
      std::lock_guard lock(mu_);
      sessions_.insert(session);
    }
    session->Start();
  }

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           [this](beast::error_code ec, tcp::socket socket) {
                             if (ec == net::error::operation_aborted || draining_) {
                               return;
                             }
                             if (ec) {
                               // Out of descriptors and similar: the peer sees a reset; try again
                               // shortly.
                               accept_retry_timer_.expires_after(kAcceptRetryDelay);
                               accept_retry_timer_.async_wait([this](beast::error_code wait_ec) {
                                 if (!wait_ec && !draining_) {
                                   Accept();
                                 }
                               });
                               return;
                             }
                             Serve(std::move(socket));
                             Accept();
                           });
  }

  ServerOptions options_;
  AsyncHandler handler_;
  // Declared before ioc_: sessions still queued in it when it is destroyed give their slots
  // back to these.
  std::mutex limits_mu_;
  size_t open_connections_ = 0;
  std::unordered_map<std::string, size_t> connections_per_ip_;
  mutable std::mutex tls_mu_;
  std::shared_ptr<ssl::context> tls_context_;
  std::string tls_description_;
  std::mutex mu_;
  std::set<std::weak_ptr<Connection>, std::owner_less<std::weak_ptr<Connection>>> sessions_;

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer drain_timer_;
  net::steady_timer accept_retry_timer_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
};

ConnectionSlot::~ConnectionSlot() {
  if (server_ != nullptr) {
    server_->ReleaseSlot(ip_);
  }
}

template <bool kTls>
void Session<kTls>::Start() {
  net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
    if constexpr (kTls) {
      self->ReadFirstTlsByte();
    } else {
      self->ReadFirstBytes();
    }
  });
}

template <bool kTls>
void Session<kTls>::Drain() {
  net::post(stream_.get_executor(), [self = this->shared_from_this()] {
    if (!self->idle_) {
      return;
    }
    if (kTls && !self->handshake_done_) {
      // A handshake is a chain of reads, and between two of them there may be nothing to
      // cancel: a deadline that has passed ends the next one. (A deadline set while a read is
      // pending does not apply to that read: tcp_stream keeps the read's own.)
      self->Tcp().expires_after(std::chrono::seconds(0));
    }
    // The pending read ends with operation_aborted, and its handler closes. (A request that has
    // just arrived is served and answered with Connection: close.)
    self->Tcp().cancel();
  });
}

template <bool kTls>
void Session<kTls>::ReadFirstTlsByte() {
  if (server_->draining()) {
    Close();
    return;
  }
  idle_ = true;
  // The handshake, this byte included, must be over within the handshake timeout: a client
  // that connects and sends nothing, or trickles its hello, is cut then.
  Tcp().expires_after(server_->options().handshake_timeout);
  Tcp().async_read_some(buffer_.prepare(1),
                        [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                          self->buffer_.commit(n);
                          self->OnFirstTlsByte(ec);
                        });
}

template <bool kTls>
void Session<kTls>::OnFirstTlsByte(beast::error_code ec) {
  if constexpr (kTls) {
    if (ec) {
      idle_ = false;
      // A connection closed without a byte (a port probe, a load balancer's TCP check) is not a
      // failed handshake; one that sent nothing in time is.
      if (ec == beast::error::timeout && server_->metrics() != nullptr) {
        server_->metrics()->ObserveTlsHandshake("timeout");
      }
      Close();
      return;
    }
    if (server_->draining()) {
      idle_ = false;
      Close();
      return;
    }
    if (static_cast<const uint8_t*>(buffer_.data().data())[0] != kTlsHandshakeRecord) {
      idle_ = false;
      RefusePlainHttp();
      return;
    }
    // The byte already read is handed to the handshake, which reads the rest itself.
    Tls().async_handshake(
        ssl::stream_base::server, buffer_.data(),
        [self = this->shared_from_this()](beast::error_code hs_ec, std::size_t used) {
          self->buffer_.consume(used);
          self->OnHandshake(hs_ec);
        });
  }
}

template <bool kTls>
void Session<kTls>::OnHandshake(beast::error_code ec) {
  if constexpr (kTls) {
    idle_ = false;
    Metrics* metrics = server_->metrics();
    if (ec || buffer_.size() != 0) {
      if (metrics != nullptr && ec != net::error::operation_aborted && !server_->draining()) {
        metrics->ObserveTlsHandshake(ec == beast::error::timeout ? "timeout" : "failed");
      }
      Close();
      return;
    }
    handshake_done_ = true;
    if (metrics != nullptr) {
      metrics->ObserveTlsHandshake(SSL_get_version(Tls().native_handle()));
    }
    ReadFirstBytes();
  }
}

template <bool kTls>
void Session<kTls>::RefusePlainHttp() {
  // Read what the client has sent of its request (usually all of it is here by now): closing a
  // socket with unread bytes resets the connection, and the client might not see the answer.
  Tcp().expires_after(server_->options().read_timeout);
  Tcp().async_read_some(
      buffer_.prepare(server_->options().max_header_bytes),
      [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
        self->buffer_.commit(n);
        if (ec && ec != net::error::eof) {
          self->Close();
          return;
        }
        std::string request_id =
            self->ReportRejection(400, "SerializationException",
                                  "This port serves HTTPS only: use an https:// endpoint.");
        auto res = std::make_shared<http::response<http::string_body>>(
            ErrorResponse(400, "SerializationException",
                          "This port serves HTTPS only: use an https:// endpoint.", request_id));
        http::async_write(self->Tcp(), *res, [self, res](beast::error_code, std::size_t) {
          self->Close();  // no TLS was set up: closes the socket only
        });
      });
}

template <bool kTls>
void Session<kTls>::ReadFirstBytes() {
  if (server_->draining()) {
    Close();
    return;
  }
  parser_.emplace();
  internal::ApplyRequestLimits(server_->options(), *parser_);
  idle_ = true;
  if (buffer_.size() > 0) {  // a pipelined request is already here
    OnFirstBytes({});
    return;
  }
  Tcp().expires_after(server_->options().idle_timeout);
  // Wait for the first byte of the next request without consuming it as a parse.
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->buffer_.commit(n);
                            self->OnFirstBytes(ec);
                          });
}

template <bool kTls>
void Session<kTls>::OnFirstBytes(beast::error_code ec) {
  idle_ = false;
  if (ec) {
    Close();  // idle timeout, peer closed, or drained
    return;
  }
  // One deadline for the whole request, not one per read: a client that trickles a byte at a
  // time (slowloris) is cut when it passes, however steadily it sends.
  Tcp().expires_after(server_->options().read_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](
                              beast::error_code read_ec, std::size_t) { self->OnHeader(read_ec); });
}

template <bool kTls>
void Session<kTls>::OnHeader(beast::error_code ec) {
  if (ec) {
    OnRequest(ec);  // limits, timeouts and garbage are answered there
    return;
  }
  // RFC 9110 §10.1.1: a client that sent "Expect: 100-continue" waits for an interim answer
  // before sending its body (curl and some SDKs do). A body over the limit was already refused
  // when the header named its length.
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue") && !parser_->is_done()) {
    auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                      parser_->get().version());
    http::async_write(
        stream_, *interim,
        [self = this->shared_from_this(), interim](beast::error_code write_ec, std::size_t) {
          if (write_ec) {
            self->Close();
            return;
          }
          self->ReadBody();
        });
    return;
  }
  ReadBody();
}

template <bool kTls>
void Session<kTls>::ReadBody() {
  http::async_read(stream_, buffer_, *parser_,
                   [self = this->shared_from_this()](beast::error_code read_ec, std::size_t) {
                     self->OnRequest(read_ec);
                   });
}

template <bool kTls>
void Session<kTls>::OnRequest(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    ReplyError(413, "RequestEntityTooLargeException",
               "The request body is larger than the limit of " +
                   std::to_string(server_->options().max_body_bytes) + " bytes.");
    return;
  }
  if (ec == http::error::header_limit) {
    ReplyError(431, "RequestHeaderFieldsTooLarge", "The request headers are too large.");
    return;
  }
  if (IsTransportError(ec)) {
    Close();
    return;
  }
  if (ec) {
    ReplyError(400, "SerializationException", "The request is not valid HTTP/1.1.");
    return;
  }
  http::request<http::string_body>& req = parser_->get();
  HttpRequest request = internal::ToHttpRequest(req, slot_.ip(), kTls);

  std::string request_id = NewUuid();
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  // The answer may come from another thread (the audit log's): it is computed and sent on the
  // strand.
  Reply reply = [self = this->shared_from_this(), request_id, version,
                 keep_alive](Answer answer) mutable {
    auto* session = self.get();
    net::post(session->stream_.get_executor(), [self = std::move(self), answer = std::move(answer),
                                                request_id, version, keep_alive]() mutable {
      HttpResponse out;
      try {
        out = answer();
      } catch (const std::exception& e) {
        out = InternalError(request_id, e);
      }
      self->SendAnswer(std::move(out), request_id, version, keep_alive);
    });
  };
  try {
    server_->handler()(request, request_id, std::move(reply));
  } catch (const std::exception& e) {
    // The handler has not replied (its contract): answer here.
    SendAnswer(InternalError(request_id, e), request_id, version, keep_alive);
  }
  // Bodies may carry plaintexts and data keys (base64): wipe our copy once used (the handler
  // keeps no reference to the request).
  OPENSSL_cleanse(request.body.data(), request.body.size());
}

template <bool kTls>
void Session<kTls>::SendAnswer(HttpResponse out, const std::string& request_id, unsigned version,
                               bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(out.status), version};
  res.set(http::field::server, "scytale");
  res.set("x-amzn-RequestId", request_id);
  res.set(http::field::date, HttpDate());
  res.set(http::field::content_type, out.content_type);
  res.body() = std::move(out.body);
  res.prepare_payload();
  Send(std::move(res), keep_alive && !server_->draining());
}

template <bool kTls>
std::string Session<kTls>::ReportRejection(int status, std::string_view type,
                                           std::string_view message) {
  std::string request_id = NewUuid();
  if (server_->options().on_rejected) {
    try {
      server_->options().on_rejected(
          Rejection{status, std::string(type), std::string(message), slot_.ip(), request_id});
    } catch (const std::exception& e) {
      std::cerr << "scytale: internal error recording rejected request " << request_id << ": "
                << e.what() << std::endl;
    }
  }
  return request_id;
}

template <bool kTls>
void Session<kTls>::ReplyError(int status, std::string_view type, std::string_view message) {
  std::string request_id = ReportRejection(status, type, message);
  // The rest of the request was not read: the connection cannot be reused.
  Send(ErrorResponse(status, type, message, request_id), false);
}

template <bool kTls>
void Session<kTls>::Send(http::response<http::string_body> response, bool keep_alive) {
  response.keep_alive(keep_alive);
  auto res = std::make_shared<http::response<http::string_body>>(std::move(response));
  Tcp().expires_after(server_->options().read_timeout);
  http::async_write(
      stream_, *res,
      [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
        OPENSSL_cleanse(res->body().data(), res->body().size());
        if (ec || !keep_alive) {
          self->Close();
          return;
        }
        self->ReadFirstBytes();
      });
}

template <bool kTls>
void Session<kTls>::Close() {
  if (closing_) {
    return;
  }
  closing_ = true;
  if constexpr (kTls) {
    // RFC 8446 §6.1: say close_notify before closing, when TLS is up and the socket still is.
    if (handshake_done_ && Tcp().socket().is_open()) {
      Tcp().expires_after(kTlsShutdownTimeout);
      Tls().async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->CloseSocket(); });
      return;
    }
  }
  CloseSocket();
}

template <bool kTls>
void Session<kTls>::CloseSocket() {
  beast::error_code ec;
  Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  Tcp().close();
  server_->Unregister(this);
}

Status CheckAddressAndLimits(const ServerOptions& options) {
  SCY_ASSIGN_OR_RETURN(net::ip::address address, ListenAddress(options.host));
  if (!options.tls && !options.insecure_listen && !IsLoopback(address)) {
    return MakeError(ErrorCode::kInvalidState,
                     "refusing to serve plain HTTP on " + options.host +
                         ", which is not a loopback address: signed calls, plaintexts and data "
                         "keys would cross the network unencrypted; give --tls-cert and "
                         "--tls-key, or --insecure-listen if a TLS proxy fronts the server");
  }
  if (options.max_connections < 1 || options.max_connections_per_ip < 1) {
    return MakeError(ErrorCode::kValidation,
                     "the connection limits must be at least 1 (--max-connections, "
                     "--max-connections-per-ip)");
  }
  return Ok();
}

}  // namespace

Status CheckServerOptions(const ServerOptions& options) {
  SCY_RETURN_IF_ERROR(CheckAddressAndLimits(options));
  if (options.tls) {
    SCY_RETURN_IF_ERROR(internal::LoadServerTls(*options.tls));
  }
  return Ok();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const ServerOptions& options,
                                                       Handler handler) {
  return Create(options, AsyncHandler([handler = std::move(handler)](const HttpRequest& request,
                                                                     const std::string& request_id,
                                                                     Reply reply) {
                  HttpResponse response = handler(request, request_id);
                  reply([response = std::move(response)]() mutable { return std::move(response); });
                }));
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const ServerOptions& options,
                                                       AsyncHandler handler) {
  auto server = std::make_unique<Server>(options, std::move(handler));
  SCY_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace scytale::server

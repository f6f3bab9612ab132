// One session per connection, shaped like Beast's advanced server example: each connection
// runs on its own strand; a request is parsed with header and body limits, handled
// synchronously by the Handler, and answered; keep-alive loops back to reading.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/crypto.h>

#include <atomic>
#include <cctype>
#include <ctime>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "common/ids.h"
#include "server/server.h"

namespace scytale::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string HttpDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server* server);
  void Start();
  // Closes the connection if it is waiting for a request; otherwise it closes after replying.
  void Drain();

 private:
  void ReadFirstBytes();
  void OnFirstBytes(beast::error_code ec);
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnRequest(beast::error_code ec);
  void Reply(http::response<http::string_body> response, bool keep_alive);
  void ReplyError(int status, std::string_view type, std::string_view message);
  void Close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Server* server_;
  std::string remote_;
  bool idle_ = false;  // guarded by the strand
};

class Server : public HttpServer {
 public:
  Server(const ServerOptions& options, Handler handler)
      : options_(options),
        handler_(std::move(handler)),
        acceptor_(net::make_strand(ioc_)),
        drain_timer_(ioc_) {}

  Status Listen() {
    beast::error_code ec;
    auto address = net::ip::make_address(options_.host, ec);
    if (ec) {
      return MakeError(ErrorCode::kValidation, "invalid listen address " + options_.host);
    }
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
      std::vector<std::shared_ptr<Session>> live;
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

  bool draining() const { return draining_.load(); }
  const ServerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }

  void Register(const std::shared_ptr<Session>& s) {
    std::lock_guard lock(mu_);
    sessions_.insert(s);
  }
  void Unregister(Session* s) {
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

 private:
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

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec,
                                                          tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted || draining_) {
          return;
        }
        // Out of descriptors and similar: keep accepting; the peer sees a reset.
      } else if (!draining_) {
        auto session = std::make_shared<Session>(std::move(socket), this);
        Register(session);
        session->Start();
      }
      if (!draining_) {
        Accept();
      }
    });
  }

  ServerOptions options_;
  Handler handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer drain_timer_;
  uint16_t port_ = 0;
  std::atomic<bool> draining_{false};
  std::mutex mu_;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions_;
};

Session::Session(tcp::socket socket, Server* server)
    : stream_(std::move(socket)), server_(server) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    remote_ = ep.address().to_string();
  }
}

void Session::Start() {
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&Session::ReadFirstBytes, shared_from_this()));
}

void Session::Drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->idle_) {
      self->Close();
    }
  });
}

void Session::ReadFirstBytes() {
  if (server_->draining()) {
    Close();
    return;
  }
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_->options().max_header_bytes));
  parser_->body_limit(server_->options().max_body_bytes);
  idle_ = true;
  if (buffer_.size() > 0) {  // a pipelined request is already here
    OnFirstBytes({});
    return;
  }
  stream_.expires_after(server_->options().idle_timeout);
  // Wait for the first byte of the next request without consuming it as a parse.
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->buffer_.commit(n);
                            self->OnFirstBytes(ec);
                          });
}

void Session::OnFirstBytes(beast::error_code ec) {
  idle_ = false;
  if (ec) {
    Close();  // idle timeout, peer closed, or drained
    return;
  }
  stream_.expires_after(server_->options().read_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code read_ec, std::size_t) {
                            self->OnHeader(read_ec);
                          });
}

void Session::OnHeader(beast::error_code ec) {
  if (ec) {
    OnRequest(ec);  // limits, timeouts and garbage are answered there
    return;
  }
  // RFC 9110 §10.1.1: a client that sent "Expect: 100-continue" waits for an interim answer
  // before sending its body (curl and some SDKs do). A body over the limit was already refused
  // when the header named its length.
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue") &&
      !parser_->is_done()) {
    auto interim = std::make_shared<http::response<http::empty_body>>(
        http::status::continue_, parser_->get().version());
    http::async_write(stream_, *interim,
                      [self = shared_from_this(), interim](beast::error_code write_ec,
                                                           std::size_t) {
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

void Session::ReadBody() {
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code read_ec, std::size_t) {
                     self->OnRequest(read_ec);
                   });
}

void Session::OnRequest(beast::error_code ec) {
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
  if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset ||
      ec == net::error::eof) {
    Close();
    return;
  }
  if (ec) {
    ReplyError(400, "SerializationException", "The request is not valid HTTP/1.1.");
    return;
  }
  http::request<http::string_body>& req = parser_->get();
  HttpRequest request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name = Lower(field.name_string());
    auto existing = request.headers.find(name);
    if (existing != request.headers.end()) {
      existing->second += ",";
      existing->second += std::string(field.value());
    } else {
      request.headers.emplace(std::move(name), std::string(field.value()));
    }
  }
  request.body = std::move(req.body());
  request.remote_address = remote_;

  std::string request_id = NewUuid();
  HttpResponse out;
  try {
    out = server_->handler()(request, request_id);
  } catch (const std::exception& e) {
    // A bug: log it with the request id; the client learns nothing more than that.
    std::cerr << "scytale: internal error in request " << request_id << ": " << e.what()
              << std::endl;
    out = HttpResponse{500, "application/x-amz-json-1.1",
                       R"({"__type":"KMSInternalException","message":"The request could not be )"
                       R"(processed because of an internal error. Try again later."})"};
  }
  // Bodies may carry plaintexts and data keys (base64): wipe our copies once used.
  OPENSSL_cleanse(request.body.data(), request.body.size());
  http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
  res.set(http::field::server, "scytale");
  res.set("x-amzn-RequestId", request_id);
  res.set(http::field::date, HttpDate());
  res.set(http::field::content_type, out.content_type);
  res.body() = std::move(out.body);
  res.prepare_payload();
  Reply(std::move(res), req.keep_alive() && !server_->draining());
}

void Session::ReplyError(int status, std::string_view type, std::string_view message) {
  const std::string request_id = NewUuid();
  if (server_->options().on_rejected) {
    try {
      server_->options().on_rejected(Rejection{status, std::string(type), std::string(message),
                                               remote_, request_id});
    } catch (const std::exception& e) {
      std::cerr << "scytale: internal error recording rejected request " << request_id << ": "
                << e.what() << std::endl;
    }
  }
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "scytale");
  res.set("x-amzn-RequestId", request_id);
  res.set(http::field::date, HttpDate());
  res.set(http::field::content_type, "application/x-amz-json-1.1");
  res.body() = std::string(R"({"__type":")") + std::string(type) + R"(","message":")" +
               std::string(message) + R"("})";
  res.prepare_payload();
  // The rest of the request was not read: the connection cannot be reused.
  Reply(std::move(res), false);
}

void Session::Reply(http::response<http::string_body> response, bool keep_alive) {
  response.keep_alive(keep_alive);
  auto res = std::make_shared<http::response<http::string_body>>(std::move(response));
  stream_.expires_after(server_->options().read_timeout);
  http::async_write(stream_, *res,
                    [self = shared_from_this(), res, keep_alive](beast::error_code ec,
                                                                 std::size_t) {
                      OPENSSL_cleanse(res->body().data(), res->body().size());
                      if (ec || !keep_alive) {
                        self->Close();
                        return;
                      }
                      self->ReadFirstBytes();
                    });
}

void Session::Close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
  server_->Unregister(this);
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const ServerOptions& options,
                                                       Handler handler) {
  auto server = std::make_unique<Server>(options, std::move(handler));
  SCY_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace scytale::server

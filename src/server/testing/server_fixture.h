// A test fixture that runs an HttpServer on 127.0.0.1, port 0, on a thread of its own, with a
// handler that echoes the request ("METHOD TARGET BODY", and " secure" when it came over TLS),
// and blocking clients for it.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "server/server.h"

namespace scytale::server::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class ServerFixture : public ::testing::Test {
 protected:
  // options.port is forced to 0 and options.metrics to metrics_.
  void StartServer(ServerOptions options) {
    options.port = 0;
    options.metrics = &metrics_;
    auto server = HttpServer::Create(options, [](const HttpRequest& r, const std::string&) {
      return HttpResponse{200, "text/plain",
                          r.method + " " + r.target + " " + r.body + (r.secure ? " secure" : "")};
    });
    ASSERT_TRUE(server.has_value()) << server.error().message;
    server_ = std::move(*server);
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
      thread_.join();
    }
  }
  tcp::socket Connect(const char* from = nullptr) {
    tcp::socket s(ioc_);
    if (from != nullptr) {  // another loopback address as the client's (Linux routes 127/8)
      s.open(tcp::v4());
      s.bind({net::ip::make_address(from), 0});
    }
    s.connect({net::ip::make_address("127.0.0.1"), server_->port()});
    return s;
  }
  template <class Stream>
  http::response<http::string_body> RoundTrip(Stream& s, http::request<http::string_body> r) {
    r.set(http::field::host, "127.0.0.1");
    r.prepare_payload();
    http::write(s, r);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res;
  }
  // Reads until the server closes the connection or `limit` passes; returns how long it took
  // (limit when it stayed open) and what was read.
  std::chrono::steady_clock::duration WaitForClose(tcp::socket& s, std::chrono::seconds limit,
                                                   std::string* out_read = nullptr) {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + limit;
    char buf[4096];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd pfd{s.native_handle(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
        return limit;
      }
      beast::error_code ec;
      size_t n = s.read_some(net::buffer(buf), ec);
      if (out_read != nullptr) {
        out_read->append(buf, n);
      }
      if (ec == net::error::eof || ec == net::error::connection_reset) {
        return std::chrono::steady_clock::now() - start;
      }
      if (ec) {
        return limit;
      }
    }
  }
  // The value of a series in /metrics text, or -1 when it is absent.
  double Series(const std::string& name_and_labels) {
    std::string text = metrics_.Render(nullptr);
    size_t at = text.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) {
      return -1;
    }
    return std::stod(text.substr(at + name_and_labels.size() + 2));
  }

  // Series() once it equals `value`, or what it is after two seconds: the server counts some
  // events (a timeout, a close) after the client has seen them.
  double SeriesBecomes(const std::string& name_and_labels, double value) {
    double now = Series(name_and_labels);
    for (int i = 0; i < 100 && now != value; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      now = Series(name_and_labels);
    }
    return now;
  }

  net::io_context ioc_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace scytale::server::testing

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "server/server.h"

namespace scytale::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options) {
    options.port = 0;
    auto server = HttpServer::Create(options, [](const HttpRequest& r, const std::string&) {
      return HttpResponse{200, "text/plain", r.method + " " + r.target + " " + r.body};
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
  tcp::socket Connect() {
    tcp::socket s(ioc_);
    s.connect({net::ip::make_address("127.0.0.1"), server_->port()});
    return s;
  }
  http::response<http::string_body> RoundTrip(tcp::socket& s, http::request<http::string_body> r) {
    r.prepare_payload();
    http::write(s, r);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res;
  }

  net::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, ServesSeveralRequestsOnOneKeepAliveConnection) {
  StartServer({});
  tcp::socket s = Connect();
  for (int i = 0; i < 3; ++i) {
    http::request<http::string_body> req{http::verb::post, "/", 11};
    req.body() = "n" + std::to_string(i);
    auto res = RoundTrip(s, req);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "POST / n" + std::to_string(i));
    EXPECT_EQ(res["x-amzn-RequestId"].size(), 36u);
    EXPECT_FALSE(res["Date"].empty());
  }
}

TEST_F(HttpServerTest, BodyOverTheLimitGets413AndTheConnectionCloses) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  StartServer(o);
  tcp::socket s = Connect();
  http::request<http::string_body> req{http::verb::post, "/", 11};
  req.body() = std::string(5000, 'x');
  auto res = RoundTrip(s, req);
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_NE(res.body().find("RequestEntityTooLargeException"), std::string::npos);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(HttpServerTest, RejectionsAreReportedBeforeTheyAreAnswered) {
  std::mutex mu;
  std::vector<Rejection> seen;
  ServerOptions o;
  o.max_body_bytes = 1000;
  o.max_header_bytes = 2000;
  o.on_rejected = [&](const Rejection& r) {
    std::lock_guard lock(mu);
    seen.push_back(r);
  };
  StartServer(o);
  tcp::socket big_body = Connect();
  http::request<http::string_body> req{http::verb::post, "/", 11};
  req.body() = std::string(5000, 'x');
  auto res = RoundTrip(big_body, req);
  ASSERT_EQ(res.result_int(), 413);
  tcp::socket big_header = Connect();
  http::request<http::string_body> req2{http::verb::post, "/", 11};
  req2.set("x-padding", std::string(4000, 'p'));
  EXPECT_EQ(RoundTrip(big_header, req2).result_int(), 431);
  tcp::socket garbage = Connect();
  net::write(garbage, net::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  beast::flat_buffer buf;
  http::response<http::string_body> res3;
  http::read(garbage, buf, res3);
  EXPECT_EQ(res3.result_int(), 400);

  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].status, 413);
  EXPECT_EQ(seen[0].error_code, "RequestEntityTooLargeException");
  EXPECT_EQ(seen[0].remote_address, "127.0.0.1");
  EXPECT_EQ(seen[0].request_id, std::string(res["x-amzn-RequestId"]));
  EXPECT_EQ(seen[1].status, 431);
  EXPECT_EQ(seen[2].status, 400);
  EXPECT_EQ(seen[2].error_code, "SerializationException");
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimAnswerBeforeTheBody) {
  StartServer({});
  tcp::socket s = Connect();
  net::write(s, net::buffer(std::string(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                    "Expect: 100-continue\r\n\r\n")));
  beast::flat_buffer buf;
  http::response<http::empty_body> interim;
  http::read(s, buf, interim);
  EXPECT_EQ(interim.result_int(), 100);
  net::write(s, net::buffer(std::string("body")));
  http::response<http::string_body> res;
  http::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "POST / body");
}

TEST_F(HttpServerTest, SlowClientIsCutAfterTheReadTimeout) {
  ServerOptions o;
  o.read_timeout = std::chrono::seconds(1);
  StartServer(o);
  tcp::socket s = Connect();
  net::write(s, net::buffer(std::string("POST / HTTP/1.1\r\nHost: x\r\n")));
  char c;
  beast::error_code ec;
  auto start = std::chrono::steady_clock::now();
  s.read_some(net::buffer(&c, 1), ec);  // blocks until the server closes
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsAndReturns) {
  StartServer({});
  tcp::socket idle = Connect();
  http::request<http::string_body> req{http::verb::get, "/x", 11};
  EXPECT_EQ(RoundTrip(idle, req).result_int(), 200);
  server_->Stop();
  thread_.join();
  server_.reset();
  char c;
  beast::error_code ec;
  idle.read_some(net::buffer(&c, 1), ec);
  EXPECT_TRUE(ec) << "the idle connection was closed by the drain";
}

}  // namespace
}  // namespace scytale::server

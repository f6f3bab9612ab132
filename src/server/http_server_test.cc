#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "server/server.h"
#include "server/testing/server_fixture.h"

namespace scytale::server {
namespace {

using HttpServerTest = testing::ServerFixture;
namespace beast = testing::beast;
namespace http = testing::http;
namespace net = testing::net;
using testing::tcp;

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

TEST_F(HttpServerTest, ClientTricklingOneByteAtATimeIsCutAtTheReadTimeout) {
  // Slowloris: each byte comes well within any per-read timeout, but the whole request must
  // arrive within read_timeout of its first byte.
  ServerOptions o;
  o.read_timeout = std::chrono::seconds(1);
  StartServer(o);
  tcp::socket s = Connect();
  const std::string request = "POST / HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(200, 'p');
  auto start = std::chrono::steady_clock::now();
  beast::error_code ec;
  for (char c : request) {
    net::write(s, net::buffer(&c, 1), ec);
    if (ec) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec) << "the server was still reading after " << request.size() << " bytes";
  EXPECT_LT(elapsed, std::chrono::seconds(4));
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
}

TEST_F(HttpServerTest, ConnectionsPastTheGlobalLimitAreClosedAtOnce) {
  ServerOptions o;
  o.max_connections = 2;
  StartServer(o);
  tcp::socket a = Connect();
  tcp::socket b = Connect();
  http::request<http::string_body> req{http::verb::post, "/", 11};
  EXPECT_EQ(RoundTrip(a, req).result_int(), 200);
  EXPECT_EQ(RoundTrip(b, req).result_int(), 200);
  tcp::socket c = Connect();
  EXPECT_LT(WaitForClose(c, std::chrono::seconds(5)), std::chrono::seconds(2));
  EXPECT_EQ(Series(R"(scytale_connections_refused_total{limit="max_connections"})"), 1);
  EXPECT_EQ(SeriesBecomes("scytale_connections_open", 2), 2);
  // The two served are untouched, and a closed one frees its place.
  EXPECT_EQ(RoundTrip(a, req).result_int(), 200);
  b.close();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    tcp::socket d = Connect();
    beast::error_code ec;
    req.prepare_payload();
    http::write(d, req, ec);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(d, buf, res, ec);
    served = !ec && res.result_int() == 200;
  }
  EXPECT_TRUE(served) << "the place of a closed connection was not given back";
}

TEST_F(HttpServerTest, ConnectionsPastThePerIpLimitAreClosedButOtherClientsAreServed) {
  ServerOptions o;
  o.max_connections_per_ip = 1;
  StartServer(o);
  tcp::socket first = Connect("127.0.0.1");
  http::request<http::string_body> req{http::verb::post, "/", 11};
  EXPECT_EQ(RoundTrip(first, req).result_int(), 200);
  tcp::socket second = Connect("127.0.0.1");
  EXPECT_LT(WaitForClose(second, std::chrono::seconds(5)), std::chrono::seconds(2));
  tcp::socket other = Connect("127.0.0.2");
  EXPECT_EQ(RoundTrip(other, req).result_int(), 200);
  EXPECT_EQ(Series(R"(scytale_connections_refused_total{limit="max_connections_per_ip"})"), 1);
  EXPECT_EQ(Series(R"(scytale_connections_refused_total{limit="max_connections"})"), 0);
  EXPECT_EQ(Series("scytale_connections_accepted_total"), 2);
}

TEST(ServerOptionsTest, PlainHttpIsServedOnlyOnLoopbackUnlessInsecureListen) {
  for (const char* host : {"127.0.0.1", "127.0.0.2", "::1", "localhost", "::ffff:127.0.0.1"}) {
    ServerOptions o;
    o.host = host;
    EXPECT_TRUE(CheckServerOptions(o).has_value()) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "192.0.2.10", "::ffff:192.0.2.10"}) {
    ServerOptions o;
    o.host = host;
    Status refused = CheckServerOptions(o);
    ASSERT_FALSE(refused.has_value()) << host;
    EXPECT_NE(refused.error().message.find("not a loopback address"), std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("--insecure-listen"), std::string::npos);
    o.insecure_listen = true;
    EXPECT_TRUE(CheckServerOptions(o).has_value()) << host;
  }
  ServerOptions bad;
  bad.host = "example.com";
  EXPECT_FALSE(CheckServerOptions(bad).has_value());
  ServerOptions zero;
  zero.max_connections_per_ip = 0;
  EXPECT_FALSE(CheckServerOptions(zero).has_value());
}

}  // namespace
}  // namespace scytale::server

// weft::http::Server listening on a Unix domain socket (issue 17 item 5):
// curl --unix-socket as the client, keep-alive requests over a raw
// UnixStream, a graceful stop that removes the socket file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "io_test_support.hpp"
#include "peer_process.hpp"
#include "weft/http/server.hpp"
#include "weft/io/unix.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;
namespace http = weft::http;

namespace {

class HttpOverUnix : public weft::iotest::FdLeakCheck {};

weft::Task<http::Response> hello(http::Request& req) {
  co_return http::Response(200, "hello over " + std::string(req.path()), "text/plain");
}

std::string socket_path() {
  return (std::filesystem::temp_directory_path() / ("weft-http-" + std::to_string(::getpid())))
      .string();
}

int run_curl(std::string path) {
  // Two URLs: curl reuses the connection (keep-alive); each body to /dev/null.
  weft::iotest::PeerProcess curl({"curl", "-sS", "--max-time", "20", "--unix-socket", path, "-w",
                                  "%{http_code} %{size_download} %{num_connects}\\n", "-o",
                                  "/dev/null", "http://localhost/a", "-o", "/dev/null",
                                  "http://localhost/bb"});
  std::string a = curl.read_line(), b = curl.read_line();
  int rc = curl.wait();
  EXPECT_EQ(a, "200 13 1");
  EXPECT_EQ(b, "200 14 0");  // no new connection for the second request
  return rc;
}

weft::Task<int> curl_test(std::string path) {
  http::Server server(hello);
  server.listen(io::UnixAddress::path(path));
  auto serving = weft::spawn(server.serve());
  int rc = co_await weft::to_thread(run_curl, path);

  // Keep-alive over a raw UnixStream: two requests, one connection.
  io::UnixStream c = co_await io::UnixStream::connect(io::UnixAddress::path(path));
  co_await c.write_all(
      "GET /x HTTP/1.1\r\nHost: u\r\n\r\nGET /y HTTP/1.1\r\nHost: u\r\nConnection: close\r\n\r\n");
  std::string got;
  char buf[4096];
  for (;;) {
    std::size_t n = co_await c.read(buf, sizeof buf);
    if (n == 0) break;
    got.append(buf, n);
  }
  EXPECT_NE(got.find("hello over /x"), std::string::npos) << got;
  EXPECT_NE(got.find("hello over /y"), std::string::npos) << got;
  EXPECT_THROW(server.local_address(), io::ClosedError);
  EXPECT_THROW(server.listen(io::UnixAddress::path(path)), weft::InvalidStateError);
  server.stop();
  co_await serving;
  co_return rc;
}

TEST_F(HttpOverUnix, CurlThroughAUnixSocketAndKeepAlive) {
  weft::test::Watchdog dog(60s);
  const std::string path = socket_path();
  EXPECT_EQ(weft::run(curl_test(path), {.workers = 2}), 0);
  EXPECT_FALSE(std::filesystem::exists(path)) << "stop() left the socket file";
}

}  // namespace

// weft::http::DemoServer: a small httpbin-like server on weft::http::Server,
// embedded so that `weft-crawl --demo`, the client's tests and the W12 crawl
// benchmark need no network.
//
//   weft::http::DemoServer demo;
//   demo.listen();                                  // 127.0.0.1, any free port
//   auto serving = weft::spawn(demo.serve());
//   ... co_await client.get(demo.base_url() + "/get") ...
//   demo.stop(); co_await serving;
//
// Endpoints (GET and HEAD, /status/N any method; like httpbin.org's)
//   /               a plain-text list of the endpoints
//   /get            200, JSON echo of the query arguments, headers and URL
//   /post           (POST) 200, the same JSON plus the request body as "data"
//   /delay/S        waits S seconds (0-10, fractions allowed), then like /get
//   /status/N       status N (200-599), empty body; 3xx also send Location: /get
//   /bytes/N        N bytes (N <= 16 MiB) of a fixed pseudo-random pattern
//   /chunked/N      N bytes like /bytes/N, sent with Transfer-Encoding: chunked
//   /redirect/N     302 to /redirect/N-1, and /redirect/1 to /get (N <= 100)
// Anything else is 404; a malformed parameter is 400; another method 405.
//
// Thread-safety: as weft::http::Server (stop() from any thread).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "weft/http/message.hpp"
#include "weft/http/server.hpp"
#include "weft/io/address.hpp"
#include "weft/task.hpp"

namespace weft::http {

class DemoServer {
 public:
  /// Largest /bytes/N and /chunked/N.
  static constexpr std::size_t kMaxBytes = 16 * 1024 * 1024;
  /// Longest /delay/S, in seconds.
  static constexpr double kMaxDelay = 10.0;

  explicit DemoServer(ServerOptions options = {});

  /// Binds (default: 127.0.0.1, a free port). Call inside a task.
  io::SocketAddress listen(const io::SocketAddress& addr = io::SocketAddress::loopback_v4(0));
  /// Serves until stop(); see weft::http::Server::serve.
  Task<void> serve() { return server_.serve(); }
  void stop() noexcept { server_.stop(); }
  io::SocketAddress local_address() const { return server_.local_address(); }
  /// "http://127.0.0.1:PORT" (no trailing slash).
  std::string base_url() const;

  /// The request handler (usable with any weft::http::Server).
  static Task<Response> handle(Request& req);
  /// The byte at offset `i` of /bytes/N's and /chunked/N's body.
  static char pattern_byte(std::size_t i) noexcept;

  /// The URL list `weft-crawl --demo` crawls on `base` (a base_url()): the
  /// seed's four URLs (/get, /delay/1, /status/404 and a host under the
  /// reserved .invalid TLD, which fails to resolve) followed by `extra` URLs
  /// over every endpoint.
  static std::vector<std::string> demo_urls(const std::string& base, std::size_t extra = 300);

 private:
  Server server_;
};

}  // namespace weft::http

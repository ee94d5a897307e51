// hello-http [PORT] [WORKERS] [CERT KEY]: the W11 hello-world HTTP/1.1
// keep-alive server on 127.0.0.1 (default port 8080, 1 worker thread; env
// WEFT_WORKERS too); with CERT and KEY (PEM files) it serves https.
// GET / answers 200 "hello world"; anything else 404. SIGINT/SIGTERM stop it
// gracefully (in-flight requests finish).
//
//   build/release/tools/hello-http 8080 &
//   curl http://127.0.0.1:8080/
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace http = weft::http;

weft::Task<http::Response> hello(http::Request& req) {
  if (req.path() == "/" && (req.method == "GET" || req.method == "HEAD"))
    co_return http::Response(200, "hello world", "text/plain");
  co_return http::Response(404, "not found\n");
}

weft::Task<void> serve(std::uint16_t port, unsigned workers, std::string cert, std::string key) {
  http::ServerOptions o;
  if (!cert.empty()) o.tls.emplace(weft::io::TlsServerOptions{.cert_file = cert, .key_file = key});
  // Shared with the signal handlers, which may still run while serve() returns.
  auto server = std::make_shared<http::Server>(hello, o);
  auto addr = server->listen(weft::io::SocketAddress::loopback_v4(port));
  std::fprintf(stderr, "hello-http: listening on %s://%s/ (weft, %u worker threads)\n",
               cert.empty() ? "http" : "https", addr.to_string().c_str(), workers);
  auto stop = [server] { server->stop(); };  // a signal during start-up stops it at once
  weft::io::add_signal_handler(SIGINT, stop);
  weft::io::add_signal_handler(SIGTERM, stop);
  co_await server->serve();
  weft::io::remove_signal_handler(SIGINT);
  weft::io::remove_signal_handler(SIGTERM);
}

int main(int argc, char** argv) {
  // First, before any thread starts: a SIGINT/SIGTERM that comes before the
  // handlers are installed waits for them (weft/io/signal.hpp).
  weft::io::block_signals({SIGINT, SIGTERM});
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  const char* env = std::getenv("WEFT_WORKERS");
  unsigned workers = static_cast<unsigned>(argc > 2 ? std::atoi(argv[2])
                                           : env    ? std::atoi(env)
                                                    : 1);
  int rc = 0;
  try {
    weft::run(serve(port, workers ? workers : 1, argc > 4 ? argv[3] : "", argc > 4 ? argv[4] : ""),
              {.workers = workers ? workers : 1});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hello-http: %s\n", e.what());
    rc = 1;
  }
  return rc;
}

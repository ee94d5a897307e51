// hello-http [PORT] [WORKERS]: the W11 hello-world HTTP/1.1 keep-alive server
// on 127.0.0.1 (default port 8080, 1 worker thread; env WEFT_WORKERS too).
// GET / answers 200 "hello world"; anything else 404. SIGINT/SIGTERM stop it
// gracefully (in-flight requests finish).
//
//   build/release/tools/hello-http 8080 &
//   curl http://127.0.0.1:8080/
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace http = weft::http;

std::mutex g_mu;
http::Server* g_server = nullptr;  // guarded by g_mu: the signal thread stops it

struct Registration {  // publishes the server to the signal thread while it lives
  explicit Registration(http::Server* s) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_server = s;
  }
  ~Registration() {
    std::lock_guard<std::mutex> lock(g_mu);
    g_server = nullptr;
  }
};

weft::Task<http::Response> hello(http::Request& req) {
  if (req.path() == "/" && (req.method == "GET" || req.method == "HEAD"))
    co_return http::Response(200, "hello world", "text/plain");
  co_return http::Response(404, "not found\n");
}

weft::Task<void> serve(std::uint16_t port, unsigned workers) {
  http::Server server(hello);
  auto addr = server.listen(weft::io::SocketAddress::loopback_v4(port));
  std::fprintf(stderr, "hello-http: listening on http://%s/ (weft, %u worker threads)\n",
               addr.to_string().c_str(), workers);
  Registration reg(&server);
  co_await server.serve();
}

int main(int argc, char** argv) {
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  const char* env = std::getenv("WEFT_WORKERS");
  unsigned workers = static_cast<unsigned>(argc > 2 ? std::atoi(argv[2])
                                           : env    ? std::atoi(env)
                                                    : 1);
  // Signals go to one thread that asks the server to stop.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::thread stopper([&sigs] {
    int sig = 0;
    sigwait(&sigs, &sig);
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_server) g_server->stop();
  });
  int rc = 0;
  try {
    weft::run(serve(port, workers ? workers : 1), {.workers = workers ? workers : 1});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hello-http: %s\n", e.what());
    rc = 1;
  }
  pthread_kill(stopper.native_handle(), SIGTERM);  // ends its sigwait if no signal came
  stopper.join();
  return rc;
}

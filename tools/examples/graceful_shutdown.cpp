// Graceful shutdown of weft::http::Server on SIGTERM: stop accepting, let
// the requests in progress finish (within ServerOptions::shutdown_timeout),
// close idle keep-alive connections, cancel what is left, and count what was
// dropped (ServerStats::requests_dropped: 0 when the deadline is generous).
//
//   graceful_shutdown          loads its own server with 8 keep-alive clients,
//                              sends itself SIGTERM, prints what happened
//   graceful_shutdown PORT     serves 127.0.0.1:PORT until SIGTERM or SIGINT
//                              (try: curl 'http://127.0.0.1:PORT/work'; kill PID)
//
// The signal is taken the plain POSIX way: blocked in every thread (before
// the runtime starts its workers, which inherit the mask) and received by one
// thread with sigwait(), which calls Server::stop() (any thread may).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "example_time.hpp"
#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace http = weft::http;
namespace io = weft::io;

namespace {

std::atomic<long> g_answered{0};

/// /work takes 0.1 s (scaled): requests are in flight when the signal comes.
weft::Task<http::Response> handler(http::Request& req) {
  if (req.path() != "/work") co_return http::Response(404, "try /work\n");
  co_await weft::sleep(example::secs(0.1));
  co_return http::Response(200, "worked\n");
}

/// A keep-alive client: requests until the server says "Connection: close"
/// or refuses to connect.
weft::Task<void> client(io::SocketAddress addr) {
  for (;;) {
    io::TcpStream c;
    try {
      c = co_await io::TcpStream::connect(addr);
    } catch (const io::IoError&) {
      co_return;  // refused: the server has stopped listening
    }
    io::BufferedReader<io::TcpStream> in(c);
    bool closing = false;
    while (!closing) {
      try {
        co_await c.write_all("GET /work HTTP/1.1\r\nHost: example\r\n\r\n");
        std::string head = co_await in.read_until("\r\n\r\n");
        closing = head.find("Connection: close") != std::string::npos;
        std::string body(7, '\0');  // "worked\n"
        co_await in.read_exact(body.data(), body.size());
        g_answered++;
      } catch (const io::IoError&) {
        break;  // closed while idle, before our request was read
      }
    }
  }
}

class SignalThread {
 public:
  SignalThread() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      int sig = 0;
      sigwait(&set_, &sig);
      std::lock_guard<std::mutex> lock(mu_);
      if (done_) return;
      std::printf("%s: stopping gracefully\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      std::fflush(stdout);
      stopped_ = true;
      if (server_) server_->stop();
    });
  }
  ~SignalThread() {
    bool waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      waiting = !stopped_;
    }
    if (waiting) pthread_kill(thread_.native_handle(), SIGTERM);  // ends its sigwait()
    thread_.join();
  }
  void attach(http::Server& s) {
    std::lock_guard<std::mutex> lock(mu_);
    server_ = &s;
    if (stopped_) s.stop();
  }

 private:
  sigset_t set_{};
  std::mutex mu_;
  http::Server* server_ = nullptr;
  bool stopped_ = false;
  bool done_ = false;
  std::thread thread_;
};

weft::Task<void> serve(SignalThread* signals, int port) {
  http::Server server(handler, {.shutdown_timeout = std::chrono::seconds(10)});
  const io::SocketAddress addr =
      server.listen(io::SocketAddress::loopback_v4(static_cast<std::uint16_t>(port)));
  signals->attach(server);
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  std::vector<weft::JoinHandle<void>> clients;
  if (port == 0) {  // the self-test: load, then SIGTERM to ourselves
    std::printf("serving on %s with 8 keep-alive clients\n", addr.to_string().c_str());
    for (int i = 0; i < 8; ++i)
      clients.push_back(weft::spawn(client(addr)));
    co_await weft::sleep(example::secs(0.35));
    ::kill(::getpid(), SIGTERM);
  } else {
    std::printf("serving on http://%s/work until SIGTERM or SIGINT\n", addr.to_string().c_str());
  }
  std::fflush(stdout);
  co_await serving;  // returns once every connection has ended
  for (auto& c : clients)
    co_await c;
  const http::ServerStats st = server.stats();
  std::printf(
      "stopped: %llu connections served, %llu responses read by the clients, %llu requests "
      "dropped\n",
      static_cast<unsigned long long>(st.connections_accepted),
      static_cast<unsigned long long>(g_answered.load()),
      static_cast<unsigned long long>(st.requests_dropped));
}

}  // namespace

int main(int argc, char** argv) {
  SignalThread signals;  // first: every thread started later inherits the mask
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  try {
    weft::run(serve(&signals, port));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "graceful_shutdown: %s\n", e.what());
    return 1;
  }
  return 0;
}

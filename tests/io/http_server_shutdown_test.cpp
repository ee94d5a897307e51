// weft::http::Server's graceful shutdown (issue 17, item 2): SIGTERM to a
// loaded server stops it, and every request the server began got its
// response (none dropped with a generous deadline); with a short deadline,
// the requests still running are cancelled and counted as dropped.
//
// The signal is handled the plain way, inside this test: SIGTERM blocked in
// every thread (the mask is set before the runtime starts its workers) and
// taken by one thread with sigwait(), which calls Server::stop().
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io_test_support.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;
namespace http = weft::http;

namespace {

class HttpShutdown : public weft::iotest::FdLeakCheck {};

/// SIGTERM -> server->stop(), from a thread of its own (see the file comment).
class StopOnSigterm {
 public:
  StopOnSigterm() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] {
      int sig = 0;
      sigwait(&set_, &sig);
      std::lock_guard<std::mutex> lock(mu_);
      signalled_ = true;
      if (server_) server_->stop();
    });
  }
  ~StopOnSigterm() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!signalled_) pthread_kill(thread_.native_handle(), SIGTERM);  // end its wait
    }
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void attach(http::Server* s) {
    std::lock_guard<std::mutex> lock(mu_);
    server_ = s;
  }
  void detach() { attach(nullptr); }
  bool signalled() {
    std::lock_guard<std::mutex> lock(mu_);
    return signalled_;
  }

 private:
  sigset_t set_{}, old_{};
  std::mutex mu_;
  http::Server* server_ = nullptr;
  bool signalled_ = false;
  std::thread thread_;
};

struct Ledger {
  std::mutex mu;
  std::set<long> handled;   // requests whose handler ran (the server began them)
  std::set<long> answered;  // requests whose complete response a client read
  std::atomic<long> next_id{0};
  std::atomic<long> answers{0};
};
Ledger* g_ledger = nullptr;
std::atomic<int> g_hanging{0};

weft::Task<http::Response> handler(http::Request& req) {
  if (req.path() == "/hang") {
    g_hanging++;
    co_await weft::sleep(1h);
  }
  long id = std::stol(std::string(req.query().substr(3)));  // "id=N"
  {
    std::lock_guard<std::mutex> lock(g_ledger->mu);
    g_ledger->handled.insert(id);
  }
  co_await weft::sleep(std::chrono::milliseconds(id % 7));  // requests in flight at any time
  co_return http::Response(200, "done " + std::to_string(id));
}

/// One response: true with the body if it arrived whole; false if the
/// connection ended first. `closing` tells whether it said "Connection: close".
weft::Task<bool> read_reply(io::BufferedReader<io::TcpStream>& in, std::string& body,
                            bool& closing) {
  try {
    std::string head = co_await in.read_until("\r\n\r\n", 64 * 1024);
    closing = head.find("Connection: close") != std::string::npos;
    auto at = head.find("Content-Length: ");
    body.resize(std::stoul(head.substr(at + 16)));
    co_await in.read_exact(body.data(), body.size());
  } catch (const io::IoError&) {
    co_return false;  // EOF (UnexpectedEof) or a reset
  }
  co_return true;
}

/// Keep-alive requests, one after the other, reconnecting whenever the
/// server closes, until a connect is refused (the server stopped listening).
weft::Task<void> client(io::SocketAddress addr) {
  Ledger& l = *g_ledger;
  for (;;) {
    io::TcpStream c;
    try {
      c = co_await io::TcpStream::connect(addr);
    } catch (const io::IoError&) {
      co_return;  // refused: the server is gone
    }
    io::BufferedReader<io::TcpStream> in(c);
    for (;;) {
      const long id = l.next_id.fetch_add(1);
      bool sent = true;
      try {
        co_await c.write_all("GET /work?id=" + std::to_string(id) + " HTTP/1.1\r\nHost: t\r\n\r\n");
      } catch (const io::IoError&) {
        sent = false;
      }
      if (!sent) break;
      std::string body;
      bool closing = false;
      bool ok = co_await read_reply(in, body, closing);
      if (!ok) break;  // closed while idle, before our request was read: not begun
      EXPECT_EQ(body, "done " + std::to_string(id));
      {
        std::lock_guard<std::mutex> lock(l.mu);
        l.answered.insert(id);
      }
      l.answers++;
      if (closing) break;
    }
  }
}

weft::Task<void> sigterm_under_load(StopOnSigterm* signals) {
  Ledger ledger;
  g_ledger = &ledger;
  http::Server server(&handler, {.shutdown_timeout = 30s});
  const io::SocketAddress addr = server.listen(io::SocketAddress::loopback_v4(0));
  signals->attach(&server);
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  std::vector<weft::JoinHandle<void>> clients;
  for (int i = 0; i < 24; ++i)
    clients.push_back(weft::spawn(client(addr)));
  while (ledger.answers.load() < 500)
    co_await weft::sleep(1ms);
  ::kill(::getpid(), SIGTERM);
  co_await serving;  // returns once every connection has ended
  signals->detach();
  for (auto& c : clients)
    co_await c;
  EXPECT_TRUE(signals->signalled());
  const http::ServerStats st = server.stats();
  EXPECT_EQ(st.requests_dropped, 0u);
  EXPECT_EQ(st.active_connections, 0u);
  std::size_t missing = 0;
  for (long id : ledger.handled)
    if (!ledger.answered.count(id)) ++missing;
  EXPECT_EQ(missing, 0u) << "of " << ledger.handled.size() << " requests the server began";
  EXPECT_GE(ledger.handled.size(), 500u);
  g_ledger = nullptr;
}

TEST_F(HttpShutdown, SigtermToALoadedServerAnswersEveryRequestItBegan) {
  // Before any thread (the watchdog's, the runtime's) exists: they inherit the mask.
  StopOnSigterm signals;
  weft::test::Watchdog dog(120s);
  weft::run(sigterm_under_load(&signals), {.workers = 2});
}

weft::Task<void> short_deadline() {
  Ledger ledger;
  g_ledger = &ledger;
  g_hanging = 0;
  http::Server server(&handler, {.shutdown_timeout = 200ms});
  const io::SocketAddress addr = server.listen(io::SocketAddress::loopback_v4(0));
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  std::vector<io::TcpStream> hung;
  for (int i = 0; i < 3; ++i) {
    hung.push_back(co_await io::TcpStream::connect(addr));
    co_await hung.back().write_all("GET /hang?id=0 HTTP/1.1\r\nHost: t\r\n\r\n");
  }
  io::TcpStream idle = co_await io::TcpStream::connect(addr);
  while (g_hanging.load() < 3 || server.active_connections() < 4)
    co_await weft::sleep(1ms);
  server.stop();
  co_await serving;  // at the deadline the three hanging handlers are cancelled
  EXPECT_EQ(server.stats().requests_dropped, 3u);
  EXPECT_EQ(server.stats().active_connections, 0u);
  for (io::TcpStream& c : hung) {
    char b;
    long n = 0;
    try {
      n = static_cast<long>(co_await c.read(&b, 1));
    } catch (const io::IoError&) {
      n = 0;  // reset
    }
    EXPECT_EQ(n, 0);  // closed without a response
  }
  char b;
  EXPECT_EQ(co_await idle.read(&b, 1), 0u);
  g_ledger = nullptr;
}

TEST_F(HttpShutdown, ShortDeadlineCancelsWhatIsLeftAndCountsIt) {
  weft::test::Watchdog dog(60s);
  weft::run(short_deadline(), {.workers = 2});
}

}  // namespace

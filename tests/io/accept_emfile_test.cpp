// Accept under descriptor exhaustion: with RLIMIT_NOFILE lowered so that
// accept4() fails with EMFILE, the listener must neither spin nor crash; it
// backs off (sleeping at least 1 ms per retry), logs once, and accepts every
// pending connection once descriptors are available again. The same for a
// TcpListener and a UnixListener (they share the accept loop).
//
// Runs alone in its own test binary: the limit is process-wide.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "io_test_support.hpp"
#include "weft/io/unix.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;

namespace {

class AcceptEmfile : public weft::iotest::FdLeakCheck {};

template <class Listener>
weft::Task<int> accept_all(Listener* l, int n) {
  int got = 0;
  for (int i = 0; i < n; ++i) {
    auto s = co_await l->accept();
    co_await s.write_all("ok");
    ++got;
  }
  co_return got;
}

weft::Task<void> starve_and_recover(bool over_unix) {
  constexpr int kClients = 8;
  const auto where = io::UnixAddress::abstract("weft-emfile-test-" + std::to_string(::getpid()));
  io::TcpListener tcp;
  io::UnixListener unix_l;
  if (over_unix)
    unix_l = io::UnixListener::bind(where);
  else
    tcp = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
  std::vector<io::TcpStream> clients;
  std::vector<io::UnixStream> unix_clients;
  for (int i = 0; i < kClients; ++i) {
    if (over_unix)
      unix_clients.push_back(co_await io::UnixStream::connect(where));
    else
      clients.push_back(co_await io::TcpStream::connect(tcp.local_address()));
  }
  auto backoffs_so_far = [&] {
    return over_unix ? unix_l.resource_backoffs() : tcp.resource_backoffs();
  };
  // dup() returns the lowest free descriptor number: every number below it is
  // in use, so with that number as the limit, accept4() fails with EMFILE.
  rlimit old{};
  getrlimit(RLIMIT_NOFILE, &old);
  int lowest_free = dup(0);
  close(lowest_free);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(lowest_free);
  EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  const auto start = std::chrono::steady_clock::now();
  auto acceptor = over_unix ? weft::spawn(accept_all(&unix_l, kClients))
                            : weft::spawn(accept_all(&tcp, kClients));
  while (backoffs_so_far() < 5)
    co_await weft::sleep(2ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const std::uint64_t backoffs = backoffs_so_far();
  EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  // Each retry sleeps at least 1 ms (sleep never wakes early): a spinning
  // accept loop would have made millions of attempts in this time.
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  EXPECT_LE(backoffs, static_cast<std::uint64_t>(ms) + 2);
  EXPECT_EQ(co_await acceptor, kClients);
  for (auto& c : clients) {
    char buf[2];
    co_await c.read_exact(buf, 2);
  }
  for (auto& c : unix_clients) {
    char buf[2];
    co_await c.read_exact(buf, 2);
  }
}

void check_log_once(const std::string& log) {
  std::size_t first = log.find("accept failed");
  EXPECT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("accept failed", first + 1), std::string::npos) << "logged more than once";
  EXPECT_NE(log.find("Too many open files"), std::string::npos) << log;
}

TEST_F(AcceptEmfile, UnixListenerBacksOffLogsOnceAndRecovers) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  weft::run(starve_and_recover(true), {.workers = 2});
  std::string log = testing::internal::GetCapturedStderr();
  check_log_once(log);
  EXPECT_NE(log.find("UnixListener on @weft-emfile-test-"), std::string::npos) << log;
}

TEST_F(AcceptEmfile, BacksOffLogsOnceAndRecovers) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  weft::run(starve_and_recover(false), {.workers = 2});
  std::string log = testing::internal::GetCapturedStderr();
  check_log_once(log);
  EXPECT_NE(log.find("TcpListener on 127.0.0.1:"), std::string::npos) << log;
}

}  // namespace

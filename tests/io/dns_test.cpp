// weft::io::resolve: numeric hosts, names through getaddrinfo on the blocking
// pool, the cache, clear errors for unknown hosts, cancellation.
#include <gtest/gtest.h>
#include <netdb.h>

#include <algorithm>

#include "io_test_support.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;

namespace {

class Dns : public weft::iotest::FdLeakCheck {};

weft::Task<void> numeric_and_names() {
  auto v4 = co_await io::resolve("127.0.0.1", 80);
  EXPECT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4.at(0).to_string(), "127.0.0.1:80");
  auto v6 = co_await io::resolve("[::1]", 443);
  EXPECT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6.at(0).to_string(), "[::1]:443");
  io::clear_dns_cache();
  for (int round = 0; round < 2; ++round) {  // a lookup, then a cache hit
    auto local = co_await io::resolve("LocalHost", static_cast<std::uint16_t>(8080 + round));
    EXPECT_FALSE(local.empty());
    bool loopback = std::any_of(local.begin(), local.end(), [&](const io::SocketAddress& a) {
      return a.ip() == "127.0.0.1" || a.ip() == "::1";
    });
    EXPECT_TRUE(loopback);
    for (const auto& a : local)
      EXPECT_EQ(a.port(), 8080 + round);
  }
}

TEST_F(Dns, NumericHostsNamesAndTheCache) {
  weft::test::Watchdog dog(60s);
  weft::run(numeric_and_names(), {.workers = 2});
}

weft::Task<void> unknown_host() {
  for (int round = 0; round < 2; ++round) {  // the second answer may come from the cache
    std::string what;
    int code = 0;
    try {
      co_await io::resolve("no-such-host.invalid", 80);
    } catch (const io::DnsError& e) {
      what = e.what();
      code = e.gai_code();
    }
    EXPECT_NE(what.find("no-such-host.invalid"), std::string::npos) << what;
    EXPECT_NE(code, 0);
  }
  bool empty = false;
  try {
    co_await io::resolve("", 80);
  } catch (const io::DnsError&) {
    empty = true;
  }
  EXPECT_TRUE(empty);
  // connect(host, port) reports the same error.
  bool failed = false;
  try {
    co_await io::TcpStream::connect("no-such-host.invalid", 80);
  } catch (const io::DnsError&) {
    failed = true;
  }
  EXPECT_TRUE(failed);
}

TEST_F(Dns, UnknownHostsGiveAClearError) {
  weft::test::Watchdog dog(120s);
  weft::run(unknown_host(), {.workers = 2});
}

weft::Task<void> cancelled_lookup() {
  io::set_dns_cache_ttl(0s, 0s);  // every call goes to the pool
  for (int i = 0; i < 20; ++i) {
    auto h = weft::spawn(io::resolve("localhost", 1));
    if (i % 2) co_await weft::sleep(1ms);
    h.cancel();
    try {
      co_await h;  // either finished or cancelled; never hangs
    } catch (const weft::CancelledError&) {
    }
  }
  io::set_dns_cache_ttl(60s, 5s);
}

TEST_F(Dns, CancellingALookupStopsWaitingAtOnce) {
  weft::test::Watchdog dog(60s);
  weft::run(cancelled_lookup(), {.workers = 2});
}

}  // namespace

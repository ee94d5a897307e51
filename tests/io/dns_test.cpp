// weft::io::resolve: numeric hosts, names through getaddrinfo on the blocking
// pool, the cache, clear errors for unknown hosts, cancellation.
#include <gtest/gtest.h>
#include <netdb.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "io_test_support.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;

namespace {

class Dns : public weft::iotest::FdLeakCheck {};

// A stand-in for getaddrinfo, so that these tests do not depend on the
// machine's name service (a bare container has neither /etc/hosts nor DNS).
std::atomic<int> hook_calls{0};
std::atomic<bool> hook_block{false};
std::atomic<bool> hook_finished{false};

int fake_lookup(const std::string& host, std::vector<io::SocketAddress>& out) {
  hook_calls.fetch_add(1);
  while (hook_block.load())
    std::this_thread::sleep_for(1ms);  // a slow resolver
  hook_finished = true;
  if (host == "example.test") {
    out.push_back(io::SocketAddress("192.0.2.7", 0));  // TEST-NET-1
    out.push_back(io::SocketAddress("2001:db8::7", 0));
    return 0;
  }
  return EAI_NONAME;
}

struct FakeResolver {
  FakeResolver() {
    hook_calls = 0;
    io::clear_dns_cache();
    io::detail::set_lookup_hook_for_testing(&fake_lookup);
  }
  ~FakeResolver() {
    io::detail::set_lookup_hook_for_testing(nullptr);
    io::set_dns_cache_ttl(60s, 5s);
    io::clear_dns_cache();
  }
};

weft::Task<void> numeric_and_names() {
  auto v4 = co_await io::resolve("127.0.0.1", 80);
  EXPECT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4.at(0).to_string(), "127.0.0.1:80");
  auto v6 = co_await io::resolve("[::1]", 443);
  EXPECT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6.at(0).to_string(), "[::1]:443");
  // localhost never reaches the resolver (RFC 6761 6.3).
  for (const char* name : {"localhost", "LocalHost", "localhost.", "api.localhost"}) {
    auto local = co_await io::resolve(name, 8080);
    EXPECT_EQ(local.size(), 2u) << name;
    if (local.size() != 2) continue;  // (ASSERT_* cannot return from a coroutine)
    EXPECT_EQ(local[0].to_string(), "127.0.0.1:8080") << name;
    EXPECT_EQ(local[1].to_string(), "[::1]:8080") << name;
  }
  EXPECT_EQ(hook_calls.load(), 0);
  for (int round = 0; round < 2; ++round) {  // a lookup, then a cache hit
    auto addrs = co_await io::resolve("Example.TEST", static_cast<std::uint16_t>(8080 + round));
    EXPECT_EQ(addrs.size(), 2u);
    if (addrs.empty()) continue;
    EXPECT_EQ(addrs[0].ip(), "192.0.2.7");
    for (const auto& a : addrs)
      EXPECT_EQ(a.port(), 8080 + round);
  }
  EXPECT_EQ(hook_calls.load(), 1) << "the second answer must come from the cache";
  io::set_dns_cache_ttl(0s, 0s);  // no caching: every call asks
  io::clear_dns_cache();          // (a TTL applies to answers stored from now on)
  (void)co_await io::resolve("example.test", 1);
  (void)co_await io::resolve("example.test", 1);
  EXPECT_EQ(hook_calls.load(), 3);
}

TEST_F(Dns, NumericHostsNamesAndTheCache) {
  weft::test::Watchdog dog(60s);
  FakeResolver fake;
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
  for (int i = 0; i < 10; ++i) {
    hook_block = true;  // the lookup hangs until we let it go
    hook_finished = false;
    const int before = hook_calls.load();
    auto h = weft::spawn(io::resolve("example.test", 1));
    // Cancel once the lookup runs (cancelled before it starts, it is skipped).
    while (hook_calls.load() == before)
      co_await weft::sleep(1ms);
    h.cancel();
    bool cancelled = co_await weft::test::ends_cancelled(h);
    EXPECT_TRUE(cancelled);
    EXPECT_FALSE(hook_finished.load()) << "the task waited for the lookup";
    hook_block = false;
    while (!hook_finished.load())
      co_await weft::sleep(1ms);  // let it drain
  }
}

TEST_F(Dns, CancellingALookupStopsWaitingAtOnce) {
  weft::test::Watchdog dog(60s);
  FakeResolver fake;
  weft::run(cancelled_lookup(), {.workers = 2});
}

}  // namespace

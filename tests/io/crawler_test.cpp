// weft::AsyncCrawler: the seed's program against the demo server (every URL
// yields its result, in order), the max_concurrent bound (counted on the
// server), retries with backoff for 5xx and refused connections, invalid
// URLs as results, fetch_url, cancellation of a crawl, and bad options.
#include "weft/crawler.hpp"
#include "weft/http/retry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "io_test_support.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace http = weft::http;
namespace io = weft::io;

namespace {

class Crawler : public weft::iotest::FdLeakCheck {};

/// The status a demo URL answers with after redirects, as the W12 rule
/// ("/status/N" -> N, a 3xx -> 200 through /get, anything else 200).
int expected_status(const std::string& url) {
  auto at = url.find("/status/");
  if (at == std::string::npos) return 200;
  int n = std::stoi(url.substr(at + 8));
  return n >= 300 && n < 400 ? 200 : n;
}

weft::Task<void> seed_demo(unsigned extra) {
  http::DemoServer demo;
  demo.listen();
  weft::JoinHandle<void> serving = weft::spawn(demo.serve());
  std::vector<std::string> urls = http::DemoServer::demo_urls(demo.base_url(), extra);
  weft::CrawlerOptions o;
  o.max_concurrent = 5;
  o.timeout = 5s;
  o.follow_redirects = true;
  std::mutex mu;
  std::map<std::string, int> seen;
  o.on_result = [&](const weft::FetchResult& r) {
    std::lock_guard<std::mutex> lock(mu);
    seen[r.url]++;
  };
  weft::AsyncCrawler crawler(o);
  std::vector<weft::FetchResult> results = co_await crawler.crawl(urls);
  demo.stop();
  co_await serving;

  EXPECT_EQ(results.size(), urls.size());
  for (std::size_t i = 0; i < results.size() && i < urls.size(); ++i) {
    const weft::FetchResult& r = results[i];
    SCOPED_TRACE(urls[i]);
    EXPECT_EQ(r.url, urls[i]);
    EXPECT_EQ(seen[r.url] > 0, true);
    EXPECT_GE(r.attempts, 1);
    if (r.url.find(".invalid") != std::string::npos) {
      EXPECT_EQ(r.status, 0);
      EXPECT_EQ(r.error_kind, http::ErrorKind::dns);
      EXPECT_NE(r.error.value_or("").find("cannot resolve host"), std::string::npos);
      continue;
    }
    EXPECT_FALSE(r.error) << r.error.value_or("");
    EXPECT_EQ(r.status, expected_status(r.url));
    std::size_t at = r.url.find("/bytes/");
    if (at == std::string::npos) at = r.url.find("/chunked/");
    if (at != std::string::npos) {
      std::string n = r.url.substr(r.url.find('/', at + 1) + 1);
      EXPECT_EQ(r.content_length, std::stoull(n));
    }
  }
  std::size_t total = 0;
  for (auto& [url, n] : seen)
    total += static_cast<std::size_t>(n);
  EXPECT_EQ(total, urls.size());
}

TEST_F(Crawler, SeedProgramOnTheDemoServer) {
  weft::test::Watchdog wd(120s);
  weft::run(seed_demo(60), {.workers = 2});
}

/// A handler that counts requests in flight (the concurrency bound is
/// checked where it matters: at the server).
struct Gauge {
  std::atomic<int> now{0}, max{0}, total{0};
  std::mutex mu;
  std::map<std::string, int> hits;
};
Gauge* g_gauge = nullptr;

weft::Task<http::Response> gauge_handler(http::Request& req) {
  Gauge& g = *g_gauge;
  int n = g.now.fetch_add(1) + 1;
  int m = g.max.load();
  while (n > m && !g.max.compare_exchange_weak(m, n)) {
  }
  g.total.fetch_add(1);
  int hit;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    hit = ++g.hits[req.target];
  }
  co_await weft::sleep(5ms);
  g.now.fetch_sub(1);
  // /busy?after=V: 503 with "Retry-After: V".
  if (req.path() == "/busy") {
    http::Response r(503, "busy");
    r.headers.add("Retry-After", req.query().substr(6));
    co_return r;
  }
  // /flaky/K: 503 for the first K hits, then 200.
  if (req.path().starts_with("/flaky/")) {
    int k = std::stoi(std::string(req.path().substr(7)));
    co_return http::Response(hit <= k ? 503 : 200, "flaky");
  }
  co_return http::Response(200, "ok");
}

weft::Task<void> concurrency_and_retries() {
  Gauge gauge;
  g_gauge = &gauge;
  http::Server server(gauge_handler);
  server.listen(io::SocketAddress::loopback_v4(0));
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  const std::string base = "http://" + server.local_address().to_string();

  const long n = weft::test::stress_iterations(300);
  std::vector<std::string> urls;
  for (long i = 0; i < n; ++i)
    urls.push_back(base + "/p" + std::to_string(i));
  weft::AsyncCrawler seven(7, 10s);
  std::vector<weft::FetchResult> results = co_await seven.crawl(urls);
  for (const auto& r : results)
    EXPECT_EQ(r.status, 200) << r.url << ": " << r.error.value_or("");
  EXPECT_LE(gauge.max.load(), 7);
  EXPECT_GE(gauge.max.load(), 1);
  EXPECT_EQ(gauge.total.load(), n);
  weft::test::report_iterations("crawler max_concurrent", n);

  // Retries: 5xx and refused connections are tried again; others are not.
  std::uint16_t closed;
  {
    auto l = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
    closed = l.local_address().port();
  }
  weft::CrawlerOptions o;
  o.max_concurrent = 4;
  o.timeout = 5s;
  o.retries = 2;
  o.retry_backoff = 10ms;
  weft::AsyncCrawler retrying(o);
  // g++ 12: build the list before the co_await, not inside its operand.
  std::vector<std::string> mixed = {
      base + "/flaky/2",   base + "/flaky/5", "http://127.0.0.1:" + std::to_string(closed) + "/",
      "http://x.invalid/", "not a url",       base + "/p0"};
  results = co_await retrying.crawl(std::move(mixed));
  EXPECT_EQ(results[0].status, 200);
  EXPECT_EQ(results[0].attempts, 3);
  EXPECT_EQ(results[1].status, 503);  // still failing after 1 + 2 attempts: the last answer
  EXPECT_EQ(results[1].attempts, 3);
  EXPECT_FALSE(results[1].error);
  EXPECT_EQ(results[2].error_kind, http::ErrorKind::connect_refused);
  EXPECT_EQ(results[2].attempts, 3);
  EXPECT_GE(results[2].elapsed, 15ms);  // 10 ms + 20 ms of backoff, jittered down to half
  EXPECT_EQ(results[3].error_kind, http::ErrorKind::dns);
  EXPECT_EQ(results[3].attempts, 1);
  EXPECT_EQ(results[4].error_kind, http::ErrorKind::invalid_url);
  EXPECT_EQ(results[4].attempts, 1);
  EXPECT_EQ(results[5].status, 200);

  // fetch_url: the seed's per-URL call with a caller's client.
  http::Client client;
  weft::FetchResult one = co_await retrying.fetch_url(client, base + "/p1");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.content_length, 2u);

  // An empty crawl.
  std::vector<std::string> none;
  std::vector<weft::FetchResult> empty = co_await retrying.crawl(none);
  EXPECT_TRUE(empty.empty());

  server.stop();
  co_await serving;
  g_gauge = nullptr;
}

TEST_F(Crawler, MaxConcurrentRetriesAndErrorsAsResults) {
  weft::test::Watchdog wd(120s);
  weft::run(concurrency_and_retries(), {.workers = 4});
}

// Issue 18, item 4: --retries N waited 0.2 s x 2^k with no ceiling (N up to
// 100: days). Each wait is capped now (retry_backoff_max), the deadline
// bounds the whole URL, and Retry-After is honoured within the cap.
weft::Task<void> bounded_retries() {
  Gauge gauge;
  g_gauge = &gauge;
  http::Server server(gauge_handler);
  server.listen(io::SocketAddress::loopback_v4(0));
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  const std::string base = "http://" + server.local_address().to_string();

  // 100 retries of an always-503 URL with a doubling back-off: before the fix
  // the waits added up to 2^100 ms. Capped at 2 ms each and bounded by a
  // 300 ms deadline, the URL ends in well under the watchdog's minute.
  weft::CrawlerOptions o;
  o.timeout = 5s;
  o.retries = 100;
  o.retry_backoff = 1ms;
  o.retry_backoff_max = 2ms;
  o.deadline = 300ms;
  weft::AsyncCrawler capped(o);
  std::vector<std::string> flaky = {base + "/flaky/1000"};
  std::vector<weft::FetchResult> r = co_await capped.crawl(std::move(flaky));
  // The last answer, or the deadline's timeout if it passed during an attempt.
  EXPECT_TRUE(r[0].status == 503 || r[0].error_kind == http::ErrorKind::timeout)
      << r[0].status << " " << r[0].error.value_or("");
  // At least one attempt (how many fit in 300 ms depends on the machine's
  // load, so no more is asserted; the retry count is checked below, where
  // Retry-After 0 makes every retry).
  EXPECT_GE(r[0].attempts, 1);
  EXPECT_LE(r[0].attempts, 101);
  EXPECT_LT(r[0].elapsed, 30s);  // a hang guard only

  // Retry-After within the cap is honoured (0: at once, every retry made);
  // one longer than the cap ends the retries: the 503 stands.
  weft::CrawlerOptions ra;
  ra.timeout = 5s;
  ra.retries = 3;
  ra.retry_backoff = 1h;  // Retry-After replaces the back-off...
  ra.retry_backoff_max = 10s;
  weft::AsyncCrawler honour(ra);
  std::vector<std::string> busy = {base + "/busy?after=0", base + "/busy?after=3600"};
  r = co_await honour.crawl(std::move(busy));
  EXPECT_EQ(r[0].status, 503);
  EXPECT_EQ(r[0].attempts, 4);  // ... so no hour-long wait happened
  EXPECT_EQ(r[1].status, 503);
  EXPECT_EQ(r[1].attempts, 1);

  // The deadline also bounds one attempt: a 2 s answer under a 200 ms deadline.
  http::DemoServer demo;
  demo.listen();
  weft::JoinHandle<void> demo_serving = weft::spawn(demo.serve());
  weft::CrawlerOptions d;
  d.timeout = 30s;
  d.deadline = 200ms;
  weft::AsyncCrawler bounded(d);
  std::vector<std::string> slow = {demo.base_url() + "/delay/2"};
  r = co_await bounded.crawl(std::move(slow));
  EXPECT_EQ(r[0].error_kind, http::ErrorKind::timeout) << r[0].error.value_or("");
  demo.stop();
  co_await demo_serving;

  server.stop();
  co_await serving;
  g_gauge = nullptr;
}

TEST_F(Crawler, RetryWaitsAreCappedAndTheDeadlineBoundsAUrl) {
  weft::test::Watchdog wd(60s);
  weft::run(bounded_retries(), {.workers = 2});
}

TEST(HttpRetry, BackoffDoublesUpToItsCeilingWithJitter) {
  http::Backoff b{.base = 200ms, .max = 10s};
  EXPECT_EQ(b.wait(0, 0.0), 200ms);
  EXPECT_EQ(b.wait(1, 0.0), 400ms);
  EXPECT_EQ(b.wait(3, 0.0), 1600ms);
  EXPECT_EQ(b.wait(5, 0.0), 6400ms);
  EXPECT_EQ(b.wait(6, 0.0), 10s);  // 12.8 s capped
  for (int k : {20, 63, 64, 100, 1 << 30})
    EXPECT_EQ(b.wait(k, 0.0), 10s) << k;  // the old schedule: 0.2 s x 2^k (58 h at k = 20)
  EXPECT_EQ(b.wait(-1, 0.0), 200ms);
  // Jitter: between half and all of the wait.
  EXPECT_EQ(b.wait(100, 0.5), 7500ms);
  EXPECT_GE(b.wait(100, 0.999999), 5s);
  EXPECT_LE(b.wait(100, 0.999999), 10s);
  EXPECT_EQ(b.wait(0, -1.0), 200ms);
  EXPECT_EQ(b.wait(0, 7.0), 100ms);
  http::Backoff odd{.base = 30s, .max = 10s};  // a base over the ceiling
  EXPECT_EQ(odd.wait(0, 0.0), 10s);
}

TEST(HttpRetry, RetryAfterSecondsAndTheThreeDateFormats) {
  using std::chrono::system_clock;
  const system_clock::time_point t = system_clock::from_time_t(784111777);  // 06 Nov 1994 08:49:37
  EXPECT_EQ(http::parse_retry_after("120", t), std::optional<weft::Clock::duration>(120s));
  EXPECT_EQ(http::parse_retry_after(" 0 ", t), std::optional<weft::Clock::duration>(0s));
  EXPECT_EQ(http::parse_retry_after("99999999999999999999", t),
            std::optional<weft::Clock::duration>(365 * 24h));
  for (const char* bad : {"", "-1", "1.5", "abc", "12s", "Sun, 06 Nov 1994 08:49:37 UTC",
                          "Sun, 32 Nov 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"})
    EXPECT_FALSE(http::parse_retry_after(bad, t)) << bad;
  const auto earlier = t - 30s;
  const std::optional<weft::Clock::duration> thirty(30s);
  EXPECT_EQ(http::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", earlier), thirty);
  EXPECT_EQ(http::parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", earlier), thirty);
  EXPECT_EQ(http::parse_retry_after("Sun Nov  6 08:49:37 1994", earlier), thirty);
  EXPECT_EQ(http::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t + 1h),
            std::optional<weft::Clock::duration>(0s));  // in the past
}

weft::Task<void> cancel_a_crawl() {
  http::DemoServer demo;
  demo.listen();
  weft::JoinHandle<void> serving = weft::spawn(demo.serve());
  std::vector<std::string> urls(200, demo.base_url() + "/delay/0.5");
  weft::AsyncCrawler crawler(10, 30s);
  auto run = [](weft::AsyncCrawler* c, std::vector<std::string> u) -> weft::Task<std::size_t> {
    std::vector<weft::FetchResult> r = co_await c->crawl(std::move(u));
    co_return r.size();
  };
  weft::JoinHandle<std::size_t> h = weft::spawn(run(&crawler, urls));
  co_await weft::sleep(100ms);
  h.cancel();
  bool cancelled = co_await weft::test::ends_cancelled(h);
  EXPECT_TRUE(cancelled);
  // The permits all came back: a new crawl runs at full width.
  std::vector<std::string> two = {demo.base_url() + "/get", demo.base_url() + "/get"};
  std::vector<weft::FetchResult> again = co_await crawler.crawl(std::move(two));
  EXPECT_EQ(again[0].status, 200);
  EXPECT_EQ(again[1].status, 200);
  demo.stop();
  co_await serving;
}

TEST_F(Crawler, CancellingACrawlCancelsItsFetches) {
  weft::test::Watchdog wd(60s);
  weft::run(cancel_a_crawl(), {.workers = 2});
}

TEST(CrawlerOptionsCheck, BadOptionsAreRejected) {
  EXPECT_THROW(weft::AsyncCrawler(0, 1s), std::invalid_argument);
  EXPECT_THROW(weft::AsyncCrawler(1, 0s), std::invalid_argument);
  weft::CrawlerOptions o;
  o.retries = -1;
  EXPECT_THROW(weft::AsyncCrawler{o}, std::invalid_argument);
  o.retries = 1;
  o.deadline = -1s;
  EXPECT_THROW(weft::AsyncCrawler{o}, std::invalid_argument);
}

}  // namespace

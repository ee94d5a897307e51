// The bad-server table: weft::AsyncCrawler (and weft::http::Client under it)
// against FaultServer's faults. Every fault yields its error kind — the
// timeouts within the crawler's timeout — the crawl keeps going (a good URL
// after every fault still succeeds), and nothing leaks: no descriptor (the
// fixture counts them), no memory (ASan's leak check), no task.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fault_server.hpp"
#include "io_test_support.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace http = weft::http;
using Kind = http::ErrorKind;

namespace {

class BadServer : public weft::iotest::FdLeakCheck {};

struct Expect {
  const char* path;
  Kind kind;       // none: a success
  int status = 0;  // for a success
  std::uint64_t bytes = 0;
};

const std::vector<Expect>& table() {
  static const std::vector<Expect> t = {
      {"/garbage-status", Kind::protocol},
      {"/binary-garbage", Kind::protocol},
      {"/bad-status-code", Kind::protocol},
      {"/http2", Kind::protocol},
      {"/no-length-close", Kind::none, 200, 12},
      {"/no-length-open", Kind::timeout},
      {"/duplicate-length", Kind::none, 200, 5},
      {"/contradicting-length", Kind::protocol},
      {"/length-list", Kind::protocol},
      {"/negative-length", Kind::protocol},
      {"/length-and-chunked", Kind::protocol},
      {"/truncated", Kind::protocol},
      {"/truncated-chunked", Kind::protocol},
      {"/bad-chunk-size", Kind::protocol},
      {"/huge-chunk-size", Kind::protocol},
      {"/endless-chunk", Kind::body_too_large},
      {"/length-over-limit", Kind::body_too_large},
      {"/huge-header", Kind::protocol},
      {"/many-headers", Kind::protocol},
      {"/endless-empty-lines", Kind::protocol},
      {"/obs-fold", Kind::protocol},
      {"/bad-header", Kind::protocol},
      {"/switching", Kind::protocol},
      {"/interim", Kind::none, 200, 2},
      {"/reset-mid-body", Kind::connection},
      {"/close-immediately", Kind::connection},
      {"/never-answers", Kind::timeout},
      {"/drip", Kind::timeout},
      {"/redirect-loop", Kind::too_many_redirects},
  };
  return t;
}

weft::Task<void> crawl_the_table(int rounds) {
  weft::iotest::FaultServer server;
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  std::vector<std::string> urls;
  for (int r = 0; r < rounds; ++r) {
    for (const Expect& e : table()) {
      urls.push_back(server.url(e.path));
      urls.push_back(server.url("/ok"));  // the crawl goes on after each fault
    }
  }
  weft::CrawlerOptions o;
  o.max_concurrent = 16;
  o.timeout = 1s;
  o.follow_redirects = true;
  o.max_redirects = 5;
  o.max_body_bytes = 1 << 20;
  std::atomic<int> reported{0};
  o.on_result = [&reported](const weft::FetchResult&) { reported.fetch_add(1); };
  weft::AsyncCrawler crawler(o);
  std::vector<weft::FetchResult> results = co_await crawler.crawl(urls);
  server.stop();
  co_await serving;

  EXPECT_EQ(results.size(), urls.size());
  if (results.size() != urls.size()) co_return;
  EXPECT_EQ(reported.load(), static_cast<int>(urls.size()));
  for (std::size_t i = 0; i < results.size(); ++i) {
    const weft::FetchResult& r = results[i];
    const Expect& e = table()[(i / 2) % table().size()];
    SCOPED_TRACE(r.url);
    EXPECT_EQ(r.url, urls[i]);
    if (i % 2 == 1) {  // the good URL after a fault
      EXPECT_FALSE(r.error) << *r.error;
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.content_length, 2u);
      continue;
    }
    EXPECT_EQ(http::to_string(r.error_kind), http::to_string(e.kind))
        << e.path << ": " << r.error.value_or("(no error)");
    if (e.kind == Kind::none) {
      EXPECT_EQ(r.status, e.status);
      EXPECT_EQ(r.content_length, e.bytes);
    } else {
      EXPECT_EQ(r.status, 0);
      EXPECT_TRUE(r.error && !r.error->empty());
    }
    EXPECT_EQ(r.attempts, 1);
  }
}

TEST_F(BadServer, EveryFaultYieldsItsErrorKindAndTheCrawlGoesOn) {
  weft::test::Watchdog wd(180s, "bad server table");
  weft::run(crawl_the_table(1), {.workers = 4});
}

TEST_F(BadServer, TableRepeatedOnFewWorkers) {
  weft::test::Watchdog wd(300s, "bad server table x3");
  weft::run(crawl_the_table(3), {.workers = 2});
}

/// The client's exceptions for some faults: types, and the excerpt of the
/// offending bytes in a ProtocolError.
weft::Task<void> client_exceptions() {
  weft::iotest::FaultServer server;
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  http::ClientOptions o;
  o.total_timeout = 1s;
  o.max_body_bytes = 1 << 20;
  http::Client client(o);
  bool protocol = false, timeout = false, reset = false, too_large = false;
  try {
    co_await client.get(server.url("/garbage-status"));
  } catch (const http::ProtocolError& e) {
    protocol = true;
    EXPECT_EQ(e.excerpt(), "HTTX/1.1 200 OK");
    EXPECT_NE(std::string(e.what()).find("GET " + server.url("/garbage-status")), std::string::npos)
        << e.what();
  }
  try {
    co_await client.get(server.url("/drip"));
  } catch (const http::RequestTimeout& e) {
    timeout = true;
    EXPECT_EQ(e.phase(), http::TimeoutPhase::total);
  }
  try {
    co_await client.get(server.url("/reset-mid-body"));
  } catch (const http::ConnectionError& e) {
    reset = true;
    EXPECT_EQ(e.code(), ECONNRESET) << e.what();
  }
  try {
    co_await client.get(server.url("/length-over-limit"));
  } catch (const http::BodyTooLarge& e) {
    too_large = true;
    EXPECT_EQ(e.limit(), 1u << 20);
  }
  EXPECT_TRUE(protocol && timeout && reset && too_large);
  // A read timeout names its phase when it fires first.
  http::ClientOptions r;
  r.read_timeout = 200ms;
  r.total_timeout = 10s;
  http::Client reader(r);
  bool read_timeout = false;
  try {
    co_await reader.get(server.url("/never-answers"));
  } catch (const http::RequestTimeout& e) {
    read_timeout = e.phase() == http::TimeoutPhase::read;
  }
  EXPECT_TRUE(read_timeout);
  server.stop();
  co_await serving;
}

TEST_F(BadServer, ClientExceptionTypes) {
  weft::test::Watchdog wd(120s, "client exceptions");
  weft::run(client_exceptions(), {.workers = 2});
}

/// A pooled connection the server closes when the next request arrives is
/// retried once on a fresh connection (GET is idempotent); a POST is not.
weft::Task<void> stale_connection_retry() {
  weft::iotest::FaultServer server;
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  http::Client client;
  for (int i = 0; i < 5; ++i) {
    http::ClientResponse r = co_await client.get(server.url("/stale"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "fresh");
  }
  http::ClientStats s = client.stats();
  EXPECT_EQ(s.stale_retries, 4u);
  EXPECT_EQ(s.connections_opened, 5u);
  bool failed = false;
  try {
    co_await client.post(server.url("/stale"), "x");  // reuses the pooled connection
  } catch (const http::ConnectionError&) {
    failed = true;
  }
  EXPECT_TRUE(failed);
  EXPECT_EQ(client.stats().stale_retries, 4u);
  server.stop();
  co_await serving;
}

TEST_F(BadServer, StalePooledConnectionIsRetriedOnce) {
  weft::test::Watchdog wd(60s, "stale retry");
  weft::run(stale_connection_retry(), {.workers = 2});
}

}  // namespace

// Seed: 實戰範例：HTTP 爬蟲 — the seed's crawler. weft::AsyncCrawler
// (weft/crawler.hpp) is the seed's class (semaphore, per-request timeout,
// FetchResult, one client per crawl), made robust. httpbin.org is replaced by
// weft's embedded httpbin-like server on 127.0.0.1, and the invalid host by
// one under the reserved .invalid TLD, so the program needs no network.
#include <cstdio>
#include <string>
#include <vector>

#include "example_time.hpp"
#include "weft/crawler.hpp"
#include "weft/http/demo_server.hpp"
#include "weft/weft.hpp"

using namespace std::chrono_literals;

/// "1", or e.g. "0.05" when the example's time is scaled.
std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s * example::time_scale());
  return buf;
}

weft::Task<void> async_main() {
  weft::http::DemoServer httpbin;  // instead of https://httpbin.org
  httpbin.listen();
  auto serving = weft::spawn(httpbin.serve());
  const std::string base = httpbin.base_url();

  std::vector<std::string> urls = {
      base + "/get",
      base + "/delay/" + seconds_text(1),  // /delay/1, scaled
      base + "/status/404",
      "http://invalid-url.example.invalid",
  };

  weft::AsyncCrawler crawler(/*max_concurrent=*/5, /*timeout=*/5s);
  std::vector<weft::FetchResult> results = co_await crawler.crawl(urls);

  for (const auto& result : results) {
    if (result.error)
      std::printf("❌ %s: %s\n", result.url.c_str(), result.error->c_str());
    else
      std::printf("✅ %s: %d (%llu bytes)\n", result.url.c_str(), result.status,
                  static_cast<unsigned long long>(result.content_length));
  }

  httpbin.stop();
  co_await serving;
}

int main() {
  weft::run(async_main());
}

// weft::AsyncCrawler: the seed's asyncio + httpx crawler (實戰範例：HTTP 爬蟲),
// on weft::http::Client.
//
//   weft::AsyncCrawler crawler(/*max_concurrent=*/5, /*timeout=*/5s);
//   std::vector<weft::FetchResult> results = co_await crawler.crawl(urls);
//   for (const auto& r : results)
//     if (r.error) std::cout << "❌ " << r.url << ": " << *r.error << "\n";
//     else         std::cout << "✅ " << r.url << ": " << r.status << " ("
//                            << r.content_length << " bytes)\n";
//
// Semantics (the seed's, made robust)
//  - crawl(urls) returns one FetchResult per URL, in the order of `urls`.
//    Every failure — an invalid URL, DNS, refused connections, timeouts, TLS,
//    malformed responses, oversized bodies — becomes that URL's result
//    (error + error_kind); nothing a URL does stops the crawl. Only
//    cancelling the task running crawl() ends it early (its fetches are
//    cancelled and awaited; crawl() then throws CancelledError).
//  - At most max_concurrent fetches run at once: every fetch holds a permit
//    of the crawler's weft::Semaphore, as in the seed (shared by every
//    crawl() and fetch_url() of this crawler). crawl() runs
//    min(max_concurrent, urls.size()) worker tasks in a TaskGroup that take
//    the URLs in order, instead of one task per URL waiting on the
//    semaphore: memory is O(max_concurrent) plus the results, and a worker
//    that finishes a URL goes on with the next without a hand-off.
//  - One http::Client per crawl (the seed's `async with httpx.AsyncClient()`):
//    keep-alive connections are reused across URLs, up to max_concurrent per
//    origin. `timeout` bounds each attempt as a whole (connect, read and
//    total deadline of the client); bodies are counted, not kept.
//  - Retries (retries > 0): after a connect failure (refused, unreachable),
//    a connect timeout, a 5xx or a 429 status, the URL is tried again after
//    a wait of retry_backoff, doubled each time up to retry_backoff_max, and
//    jittered (between half and all of it: http::Backoff); a Retry-After
//    field of the answer replaces that wait when it asks for at most
//    retry_backoff_max, and stops the retries when it asks for more. The
//    permit is kept while it waits. `deadline` bounds the whole URL,
//    attempts and waits together: each attempt gets min(timeout, what is
//    left), and no retry starts whose wait would end past it. The result is
//    the last attempt's; `attempts` counts them.
//  - on_result, if set, is called once per URL as soon as its result is
//    known, on whichever worker finished it, possibly concurrently with
//    other calls: it must be thread-safe (the CLI's progress bar uses it).
//
// Thread-safety: one crawler may run several crawl()s at once from different
// tasks; they share the max_concurrent permits. The crawler must outlive them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "weft/http/client.hpp"
#include "weft/semaphore.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft {

/// The result of fetching one URL (the seed's dataclass, plus diagnostics).
struct FetchResult {
  std::string url;
  int status = 0;                    ///< 0 when the fetch failed
  std::uint64_t content_length = 0;  ///< body bytes received
  std::optional<std::string> error;  ///< why it failed (the URL is not repeated)
  http::ErrorKind error_kind = http::ErrorKind::none;
  std::chrono::microseconds elapsed{0};  ///< from the first attempt to the result
  int attempts = 0;

  bool ok() const noexcept { return !error; }
};

struct CrawlerOptions {
  /// Fetches in flight at once (the seed's max_concurrent).
  std::size_t max_concurrent = 10;
  /// Each attempt of each URL, as a whole (the seed's timeout).
  Clock::duration timeout = std::chrono::seconds(30);
  /// Extra attempts after connect failures and 5xx answers.
  int retries = 0;
  /// Wait before the first retry; doubled for each further one ...
  Clock::duration retry_backoff = std::chrono::milliseconds(200);
  /// ... up to this (also the longest Retry-After honoured).
  Clock::duration retry_backoff_max = std::chrono::seconds(10);
  /// The whole URL, every attempt and wait included. 0: timeout x (1 + retries).
  Clock::duration deadline = Clock::duration::zero();
  /// Follow redirects (up to max_redirects; more is a too-many-redirects error).
  bool follow_redirects = false;
  int max_redirects = 10;
  /// https: verify certificates (false: the CLI's --insecure).
  bool verify_tls = true;
  std::uint64_t max_body_bytes = 64ull * 1024 * 1024;
  /// Called once per URL when its result is known (see above).
  std::function<void(const FetchResult&)> on_result;
};

class AsyncCrawler {
 public:
  /// The seed's constructor. Throws std::invalid_argument for max_concurrent 0.
  explicit AsyncCrawler(std::size_t max_concurrent = 10,
                        Clock::duration timeout = std::chrono::seconds(30));
  explicit AsyncCrawler(CrawlerOptions options);
  AsyncCrawler(const AsyncCrawler&) = delete;
  AsyncCrawler& operator=(const AsyncCrawler&) = delete;

  /// Fetches one URL with `client` under the crawler's semaphore (the seed's
  /// fetch_url). Never throws for a failed fetch (only CancelledError).
  Task<FetchResult> fetch_url(http::Client& client, std::string url);
  /// Fetches every URL (see above).
  Task<std::vector<FetchResult>> crawl(std::vector<std::string> urls);

  /// The options of the Client a crawl uses.
  http::ClientOptions client_options() const;
  const CrawlerOptions& options() const noexcept { return opts_; }

 private:
  /// One URL with its retries, without the semaphore.
  Task<FetchResult> fetch(http::Client& client, std::string url);
  /// One of crawl()'s workers: takes the next URL index until none is left.
  static Task<void> crawl_worker(AsyncCrawler* self, http::Client* client,
                                 const std::vector<std::string>* urls,
                                 std::vector<FetchResult>* results, std::atomic<std::size_t>* next);

  CrawlerOptions opts_;
  Semaphore semaphore_;
};

}  // namespace weft

// AsyncCrawler: fetch with retries, and crawl() as a TaskGroup of workers
// that take the URLs in order, each fetch under a permit of the crawler's
// semaphore.
#include "weft/crawler.hpp"

#include <algorithm>
#include <atomic>
#include <random>
#include <stdexcept>

#include "weft/http/retry.hpp"
#include "weft/task_group.hpp"

namespace weft {

namespace {

bool retryable_kind(http::ErrorKind k) noexcept {
  return k == http::ErrorKind::connect_refused || k == http::ErrorKind::connect;
}

/// Jitter for the back-off, in [0, 1): one generator per thread, seeded once.
double jitter() {
  thread_local std::minstd_rand gen(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

std::int64_t checked_permits(std::size_t max_concurrent) {
  if (max_concurrent == 0)
    throw std::invalid_argument("weft::AsyncCrawler: max_concurrent must be at least 1");
  return static_cast<std::int64_t>(max_concurrent);
}

}  // namespace

namespace {
CrawlerOptions seed_options(std::size_t max_concurrent, Clock::duration timeout) {
  CrawlerOptions o;
  o.max_concurrent = max_concurrent;
  o.timeout = timeout;
  return o;
}
}  // namespace

AsyncCrawler::AsyncCrawler(std::size_t max_concurrent, Clock::duration timeout)
    : AsyncCrawler(seed_options(max_concurrent, timeout)) {}

AsyncCrawler::AsyncCrawler(CrawlerOptions options)
    : opts_(std::move(options)), semaphore_(checked_permits(opts_.max_concurrent)) {
  if (opts_.timeout <= Clock::duration::zero())
    throw std::invalid_argument("weft::AsyncCrawler: timeout must be positive");
  if (opts_.retries < 0) throw std::invalid_argument("weft::AsyncCrawler: retries must be >= 0");
  if (opts_.retry_backoff < Clock::duration::zero() ||
      opts_.retry_backoff_max < Clock::duration::zero() || opts_.deadline < Clock::duration::zero())
    throw std::invalid_argument(
        "weft::AsyncCrawler: retry_backoff, retry_backoff_max and deadline must be >= 0");
}

http::ClientOptions AsyncCrawler::client_options() const {
  http::ClientOptions c;
  c.connect_timeout = opts_.timeout;
  c.read_timeout = opts_.timeout;
  c.total_timeout = opts_.timeout;
  c.max_connections_per_host = opts_.max_concurrent;
  c.max_idle_total = std::max<std::size_t>(256, opts_.max_concurrent);
  c.max_redirects = opts_.follow_redirects ? opts_.max_redirects : 0;
  c.verify_tls = opts_.verify_tls;
  c.max_body_bytes = opts_.max_body_bytes;
  return c;
}

Task<FetchResult> AsyncCrawler::fetch(http::Client& client, std::string url) {
  FetchResult r;
  r.url = std::move(url);
  const auto start = Clock::now();
  const Clock::duration budget = opts_.deadline > Clock::duration::zero()
                                     ? opts_.deadline
                                     : opts_.timeout * (1 + opts_.retries);
  const auto deadline = start + budget;
  const http::Backoff backoff{.base = opts_.retry_backoff, .max = opts_.retry_backoff_max};
  http::RequestOptions counted;
  counted.keep_body = false;
  for (int attempt = 0;; ++attempt) {
    r.attempts = attempt + 1;
    bool retryable = false;
    std::optional<Clock::duration> retry_after;
    bool retry_after_too_long = false;
    // At least 1 ms: a total timeout of 0 would mean none.
    counted.total_timeout = std::max<Clock::duration>(
        std::min(opts_.timeout, deadline - Clock::now()), std::chrono::milliseconds(1));
    http::ClientRequest req;
    req.url = r.url;
    Outcome<http::ClientResponse> o = co_await client.try_send(std::move(req), counted);
    if (o.has_value()) {
      const http::ClientResponse& resp = o.value();
      r.status = resp.status;
      r.content_length = resp.body_bytes;
      r.error.reset();
      r.error_kind = http::ErrorKind::none;
      retryable = r.status >= 500 || r.status == 429;
      if (auto v = resp.headers.get("Retry-After"); v && retryable) {
        retry_after = http::parse_retry_after(*v, std::chrono::system_clock::now());
        retry_after_too_long = retry_after && *retry_after > opts_.retry_backoff_max;
      }
    } else {
      r.status = 0;
      r.content_length = 0;
      // One rethrow, right here, to read the failure's type.
      try {
        std::rethrow_exception(o.error());
      } catch (const http::RequestTimeout& e) {
        r.error = e.detail();
        r.error_kind = e.kind();
        retryable = e.phase() == http::TimeoutPhase::connect;
      } catch (const http::Error& e) {
        r.error = e.detail();
        r.error_kind = e.kind();
        retryable = retryable_kind(e.kind());
      } catch (const std::exception& e) {  // std::invalid_argument, bad_alloc
        r.error = e.what();
        r.error_kind = http::ErrorKind::other;
      }
    }
    if (!retryable || attempt >= opts_.retries) break;
    // The server asked for a longer pause than we wait: its answer stands.
    if (retry_after_too_long) break;
    const Clock::duration wait = retry_after ? *retry_after : backoff.wait(attempt, jitter());
    if (Clock::now() + wait >= deadline) break;  // no time left for another attempt
    co_await weft::sleep(wait);
  }
  r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  co_return r;
}

Task<FetchResult> AsyncCrawler::fetch_url(http::Client& client, std::string url) {
  Semaphore::Guard permit = co_await semaphore_.scoped();
  co_return co_await fetch(client, std::move(url));
}

Task<void> AsyncCrawler::crawl_worker(AsyncCrawler* self, http::Client* client,
                                      const std::vector<std::string>* urls,
                                      std::vector<FetchResult>* results,
                                      std::atomic<std::size_t>* next) {
  for (;;) {
    // relaxed: the counter only hands out distinct indices; each result is
    // published to crawl() by the task group's join.
    const std::size_t i = next->fetch_add(1, std::memory_order_relaxed);
    if (i >= urls->size()) co_return;
    Semaphore::Guard permit = co_await self->semaphore_.scoped();
    FetchResult& r = (*results)[i];
    r = co_await self->fetch(*client, (*urls)[i]);
    permit.release();
    if (self->opts_.on_result) self->opts_.on_result(r);
  }
}

Task<std::vector<FetchResult>> AsyncCrawler::crawl(std::vector<std::string> urls) {
  std::vector<FetchResult> results(urls.size());
  http::Client client(client_options());
  std::atomic<std::size_t> next{0};
  const std::size_t workers = std::min(opts_.max_concurrent, urls.size());
  TaskGroup group;
  std::exception_ptr error;
  try {
    for (std::size_t w = 0; w < workers; ++w)
      group.spawn(crawl_worker(this, &client, &urls, &results, &next), "weft-crawl worker");
  } catch (...) {
    error = std::current_exception();
  }
  co_await group.join(std::move(error));
  co_return results;
}

}  // namespace weft

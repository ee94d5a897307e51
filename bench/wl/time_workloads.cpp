// W9 sleep_many, W9b timeout_ready.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "workload.hpp"

namespace weft::wl {
namespace {

using SteadyClock = std::chrono::steady_clock;

// W9: N tasks each sleep a pseudo-random duration in [1 ms, 100 ms] (fixed
// seed); report the total time and the p99 of (actual wake - deadline).
Task<void> sleeper(std::chrono::microseconds d, double* late_ms) {
  auto deadline = SteadyClock::now() + d;
  co_await sleep_until(deadline);
  *late_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - deadline).count();
}

Result sleep_many(const Context& ctx) {
  const long n = ctx.scaled(100'000);
  std::vector<double> late(static_cast<std::size_t>(n), -1.0);
  std::mt19937 rng(12345);
  std::vector<std::chrono::microseconds> durations;
  durations.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i)
    durations.emplace_back(1000 + rng() % 99'001);
  auto body = [&]() -> Task<double> {
    std::vector<JoinHandle<void>> hs;
    hs.reserve(static_cast<std::size_t>(n));
    auto t0 = SteadyClock::now();
    for (long i = 0; i < n; ++i)
      hs.push_back(spawn(
          sleeper(durations[static_cast<std::size_t>(i)], &late[static_cast<std::size_t>(i)])));
    for (auto& h : hs)
      co_await h;
    co_return std::chrono::duration<double>(SteadyClock::now() - t0).count();
  };
  Result r;
  r.seconds = run(body(), {.workers = ctx.threads});
  r.ops = n;
  std::vector<double> sorted = late;
  std::sort(sorted.begin(), sorted.end());
  r.ok = sorted.front() >= 0.0;  // every task woke, none before its deadline
  r.extra["p99_late_ms"] = sorted[static_cast<std::size_t>(static_cast<double>(n - 1) * 0.99)];
  r.extra["max_late_ms"] = sorted.back();
  return r;
}

// W9b: 1,000,000 x timeout(10 s, an operation that is already ready): as the
// Tokio harness does, put an item into a capacity-1 queue, then receive it
// under a timeout. The same loop without the timeout is measured too
// (overhead_ns = the difference per op).
Result timeout_ready(const Context& ctx) {
  const long n = ctx.scaled(1'000'000);
  auto loop = [n](bool with_timeout) -> Task<std::pair<double, long>> {
    Queue<long> q(1);
    long good = 0;
    auto t0 = SteadyClock::now();
    for (long i = 0; i < n; ++i) {
      if (!q.try_put(long{i})) break;
      long v =
          with_timeout ? co_await timeout(std::chrono::seconds(10), q.get()) : co_await q.get();
      if (v != i) break;
      ++good;
    }
    co_return std::pair<double, long>{
        std::chrono::duration<double>(SteadyClock::now() - t0).count(), good};
  };
  Runtime rt({.workers = ctx.threads});
  auto [base_s, base_good] = rt.block_on(loop(false));
  auto [s, good] = rt.block_on(loop(true));
  Result r;
  r.seconds = s;
  r.ops = n;
  r.ok = good == n && base_good == n;
  r.extra["baseline_ns_per_op"] = base_s * 1e9 / static_cast<double>(n);
  r.extra["overhead_ns"] = (s - base_s) * 1e9 / static_cast<double>(n);
  return r;
}

WEFT_WORKLOAD("W9", "sleep_many", sleep_many);
WEFT_WORKLOAD("W9b", "timeout_ready", timeout_ready);

}  // namespace
}  // namespace weft::wl

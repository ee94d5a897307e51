// W1 spawn_many, W2 yield_many, W4 chained_spawn, W5 fib.
#include <atomic>
#include <chrono>
#include <vector>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "workload.hpp"

namespace weft::wl {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// W1: from inside the runtime spawn N detached tasks that each bump a counter;
// the last one sets an event the spawning task waits on (the spec's
// "counter+notify" form, as the Tokio and Go harnesses do: no join handle
// keeps a finished task alive).
Task<void> bump(std::atomic<long>* counter, long n, Event* done) {
  if (counter->fetch_add(1, std::memory_order_acq_rel) + 1 == n) done->set();
  co_return;
}

Result spawn_many_with(const Context& ctx, bool eager) {
  const long n = ctx.scaled(1'000'000);
  std::atomic<long> counter{0};
  Event done;
  auto body = [&]() -> Task<double> {
    auto t0 = Clock::now();
    for (long i = 0; i < n; ++i)
      spawn(bump(&counter, n, &done)).detach();
    co_await done.wait();
    co_return since(t0);
  };
  Result r;
  r.seconds = run(body(), {.workers = ctx.threads, .eager_tasks = eager});
  r.ops = n;
  r.ok = counter.load() == n;
  return r;
}

Result spawn_many(const Context& ctx) {
  return spawn_many_with(ctx, false);
}
// X1: W1 with asyncio's eager task factory (RunOptions::eager_tasks).
Result spawn_many_eager(const Context& ctx) {
  return spawn_many_with(ctx, true);
}

// W2: 1,000 tasks each yield 1,000 times.
Result yield_many(const Context& ctx) {
  const long tasks = 1000;
  const long yields = ctx.scaled(1000);
  std::atomic<long> done{0};
  auto body = [&]() -> Task<double> {
    auto yielder = [](long k, std::atomic<long>& d) -> Task<void> {
      for (long i = 0; i < k; ++i)
        co_await yield();
      d.fetch_add(1, std::memory_order_relaxed);
    };
    std::vector<JoinHandle<void>> handles;
    auto t0 = Clock::now();
    for (long i = 0; i < tasks; ++i)
      handles.push_back(spawn(yielder(yields, done)));
    for (auto& h : handles)
      co_await h;
    co_return since(t0);
  };
  Result r;
  r.seconds = run(body(), {.workers = ctx.threads});
  r.ops = tasks * yields;
  r.ok = done.load() == tasks;
  return r;
}

// W4: each task spawns the next and exits; the last one sets an event.
Task<void> chain_link(long remaining, std::atomic<long>* count, Event* done) {
  count->fetch_add(1, std::memory_order_relaxed);
  if (remaining == 0) {
    done->set();
    co_return;
  }
  spawn(chain_link(remaining - 1, count, done)).detach();
}

Result chained_spawn(const Context& ctx) {
  const long depth = ctx.scaled(1'000'000);
  std::atomic<long> count{0};
  Event done;
  auto body = [&]() -> Task<double> {
    auto t0 = Clock::now();
    spawn(chain_link(depth - 1, &count, &done)).detach();
    co_await done.wait();
    co_return since(t0);
  };
  Result r;
  r.seconds = run(body(), {.workers = ctx.threads});
  r.ops = depth;
  r.ok = count.load() == depth;
  return r;
}

// W5: fork-join fib(30), no cutoff: fib(n) = spawn(fib(n-1)) + fib(n-2).
// ops = spawns = fib(n+1) - 1, known in advance as in the peers' harnesses:
// a shared counter bumped at every spawn would put a contended cache line on
// the measured path that no peer pays. The result check covers the whole tree
// (every leaf contributes to it).
Task<long> fib(int n) {
  if (n < 2) co_return n;
  JoinHandle<long> child = spawn(fib(n - 1));
  long b = co_await fib(n - 2);
  long a = co_await child;
  co_return a + b;
}

Result fib_wl(const Context& ctx) {
  int n = ctx.scale >= 1.0 ? 30 : 25;
  auto body = [&]() -> Task<std::pair<double, long>> {
    auto t0 = Clock::now();
    long v = co_await fib(n);
    co_return std::pair<double, long>{since(t0), v};
  };
  auto [seconds, value] = run(body(), {.workers = ctx.threads});
  Result r;
  r.seconds = seconds;
  r.ops = n == 30 ? 1'346'268 : 121'392;
  r.ok = n == 30 ? value == 832040 : value == 75025;
  return r;
}

WEFT_WORKLOAD("W1", "spawn_many", spawn_many);
WEFT_WORKLOAD("X1", "spawn_many_eager", spawn_many_eager);
WEFT_WORKLOAD("W2", "yield_many", yield_many);
WEFT_WORKLOAD("W4", "chained_spawn", chained_spawn);
WEFT_WORKLOAD("W5", "fib", fib_wl);

}  // namespace
}  // namespace weft::wl

// W3 ping_pong, W6 mutex, W7 semaphore, W8 mpsc, W8b mpmc, W10 parked_memory:
// the standard workloads that exercise weft::sync (shared/bench/WORKLOADS.md).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <vector>

#include "weft/event.hpp"
#include "weft/lock.hpp"
#include "weft/queue.hpp"
#include "weft/runtime.hpp"
#include "weft/semaphore.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "workload.hpp"

namespace weft::wl {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- W3: two tasks exchange one message n times over two capacity-1 queues ----

Task<void> echo(Queue<long>& in, Queue<long>& out, long n) {
  for (long i = 0; i < n; ++i) {
    long v = co_await in.get();
    co_await out.put(v + 1);
  }
}

Task<long> pinger(Queue<long>& to, Queue<long>& from, long n) {
  long sum = 0;
  for (long i = 0; i < n; ++i) {
    co_await to.put(i);
    sum += co_await from.get();
  }
  co_return sum;
}

Task<std::pair<double, long>> ping_pong_body(long n) {
  Queue<long> ab(1), ba(1);
  auto t0 = Clock::now();
  auto b = spawn(echo(ab, ba, n));
  auto a = spawn(pinger(ab, ba, n));
  long sum = co_await a;
  co_await b;
  co_return std::pair<double, long>{since(t0), sum};
}

Result ping_pong(const Context& ctx) {
  const long n = ctx.scaled(200'000);
  auto [seconds, sum] = run(ping_pong_body(n), {.workers = ctx.threads});
  Result r;
  r.ops = n;
  r.seconds = seconds;
  r.ok = sum == n * (n - 1) / 2 + n;
  return r;
}

// ---- W6: 1,000 tasks x 1,000 acquisitions, a non-atomic counter under the lock ----

Task<void> lock_worker(Lock& lock, long& counter, long iterations) {
  for (long i = 0; i < iterations; ++i) {
    co_await lock.lock();
    ++counter;
    lock.unlock();
  }
}

Task<double> mutex_body(long tasks, long iterations, long& counter) {
  Lock lock;
  std::vector<JoinHandle<void>> hs;
  hs.reserve(static_cast<std::size_t>(tasks));
  auto t0 = Clock::now();
  for (long t = 0; t < tasks; ++t)
    hs.push_back(spawn(lock_worker(lock, counter, iterations)));
  for (auto& h : hs)
    co_await h;
  co_return since(t0);
}

Result mutex(const Context& ctx) {
  const long tasks = 1000;
  const long iterations = ctx.scaled(1000);
  long counter = 0;
  Result r;
  r.seconds = run(mutex_body(tasks, iterations, counter), {.workers = ctx.threads});
  r.ops = tasks * iterations;
  r.ok = counter == r.ops;
  return r;
}

// ---- W7: 100,000 tasks acquire one of 64 permits, yield once, release ----

struct SemState {
  Semaphore sem{64};
  std::atomic<long> holders{0};
  std::atomic<long> max_holders{0};
  std::atomic<long> finished{0};
  Event done;
  long n = 0;
};

Task<void> sem_worker(SemState& st) {
  {
    auto permit = co_await st.sem.scoped();
    long h = st.holders.fetch_add(1, std::memory_order_acq_rel) + 1;
    long m = st.max_holders.load(std::memory_order_relaxed);
    while (h > m && !st.max_holders.compare_exchange_weak(m, h)) {
    }
    co_await yield();
    st.holders.fetch_sub(1, std::memory_order_acq_rel);
  }
  if (st.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == st.n) st.done.set();
}

Task<double> semaphore_body(SemState& st) {
  auto t0 = Clock::now();
  for (long i = 0; i < st.n; ++i)
    spawn(sem_worker(st)).detach();
  co_await st.done.wait();
  co_return since(t0);
}

Result semaphore(const Context& ctx) {
  SemState st;
  st.n = ctx.scaled(100'000);
  Result r;
  r.seconds = run(semaphore_body(st), {.workers = ctx.threads});
  r.ops = st.n;
  r.ok = st.finished.load() == st.n && st.max_holders.load() <= 64 && st.sem.value() == 64;
  r.extra["max_holders"] = static_cast<double>(st.max_holders.load());
  return r;
}

// ---- W8 / W8b: 4 producers x 250,000 ints through one Queue(1024) ----

Task<void> producer(Queue<long>& q, long base, long count) {
  for (long i = 0; i < count; ++i)
    co_await q.put(base + i);
}

Task<long> consumer(Queue<long>& q) {
  long sum = 0;
  for (;;) {
    long v;
    try {
      v = co_await q.get();
    } catch (const QueueShutDown&) {
      break;  // drained after the producers finished (Go: range over a closed chan)
    }
    sum += v;
  }
  co_return sum;
}

Task<std::pair<double, long>> queue_body(int consumers, long per_producer, std::int64_t maxsize) {
  constexpr int kProducers = 4;
  Queue<long> q(maxsize);
  auto t0 = Clock::now();
  std::vector<JoinHandle<long>> cs;
  for (int c = 0; c < consumers; ++c)
    cs.push_back(spawn(consumer(q)));
  std::vector<JoinHandle<void>> ps;
  for (int p = 0; p < kProducers; ++p)
    ps.push_back(spawn(producer(q, p * per_producer, per_producer)));
  for (auto& p : ps)
    co_await p;
  q.shutdown();
  long sum = 0;
  for (auto& c : cs)
    sum += co_await c;
  co_return std::pair<double, long>{since(t0), sum};
}

Result queue_wl(const Context& ctx, int consumers, std::int64_t maxsize = 1024) {
  const long per = ctx.scaled(250'000);
  const long total = 4 * per;
  auto [seconds, sum] = run(queue_body(consumers, per, maxsize), {.workers = ctx.threads});
  Result r;
  r.ops = total;
  r.seconds = seconds;
  r.ok = sum == total * (total - 1) / 2;
  return r;
}

Result mpsc(const Context& ctx) {
  return queue_wl(ctx, 1);
}
Result mpmc(const Context& ctx) {
  return queue_wl(ctx, 4);
}
// X8u / X8bu: W8 / W8b through an unbounded Queue (the block storage), the
// form TMC's W8b (tmc::channel) and its TMC_QUEUE=channel W8 take.
Result mpsc_unbounded(const Context& ctx) {
  return queue_wl(ctx, 1, 0);
}
Result mpmc_unbounded(const Context& ctx) {
  return queue_wl(ctx, 4, 0);
}

// ---- W10: 1,000,000 tasks park on one Event; memory per task; wake-all time ----

struct ParkState {
  Event event;
  Event all_done;
  std::atomic<long> parked{0};
  std::atomic<long> finished{0};
  long n = 0;
};

Task<void> parked_task(ParkState* st) {
  st->parked.fetch_add(1, std::memory_order_relaxed);
  co_await st->event.wait();
  if (st->finished.fetch_add(1, std::memory_order_acq_rel) + 1 == st->n) st->all_done.set();
}

struct ParkResult {
  double wake_seconds = 0;
  double spawn_park_seconds = 0;
  long rss_before_kb = 0;
  long rss_parked_kb = 0;
  long early_finished = 0;
};

Task<ParkResult> parked_body(ParkState& st) {
  ParkResult out;
  out.rss_before_kb = current_rss_kb();
  auto t_spawn = Clock::now();
  for (long i = 0; i < st.n; ++i)
    spawn(parked_task(&st)).detach();
  while (st.parked.load(std::memory_order_acquire) < st.n)
    co_await sleep(std::chrono::milliseconds(1));
  for (int i = 0; i < 4; ++i)
    co_await yield();
  co_await sleep(std::chrono::milliseconds(10));  // the last ones reach their wait
  out.spawn_park_seconds = since(t_spawn);
  out.rss_parked_kb = current_rss_kb();
  out.early_finished = st.finished.load();
  auto t0 = Clock::now();
  st.event.set();
  co_await st.all_done.wait();
  out.wake_seconds = since(t0);
  co_return out;
}

Result parked_memory(const Context& ctx) {
  ParkState st;
  st.n = ctx.scaled(1'000'000);
  ParkResult pr = run(parked_body(st), {.workers = ctx.threads});
  Result r;
  r.ops = st.n;
  r.seconds = pr.wake_seconds;
  r.ok = pr.early_finished == 0 && st.finished.load() == st.n;
  const double delta_kb = static_cast<double>(std::max(0L, pr.rss_parked_kb - pr.rss_before_kb));
  r.extra["bytes_per_task"] = delta_kb * 1024.0 / static_cast<double>(st.n);
  r.extra["rss_delta_kb"] = delta_kb;
  r.extra["spawn_park_seconds"] = pr.spawn_park_seconds;
  return r;
}

WEFT_WORKLOAD("W3", "ping_pong", ping_pong);
WEFT_WORKLOAD("W6", "mutex", mutex);
WEFT_WORKLOAD("W7", "semaphore", semaphore);
WEFT_WORKLOAD("W8", "mpsc", mpsc);
WEFT_WORKLOAD("W8b", "mpmc", mpmc);
WEFT_WORKLOAD("X8u", "mpsc_unbounded", mpsc_unbounded);
WEFT_WORKLOAD("X8bu", "mpmc_unbounded", mpmc_unbounded);
WEFT_WORKLOAD("W10", "parked_memory", parked_memory);

}  // namespace
}  // namespace weft::wl

// to_thread / run_in_executor / ThreadPool / TbbArenaExecutor and the elastic
// default pool: results, exceptions, forwarding, cancellation, growth and
// shrinkage, shutdown behaviour.
#include <gtest/gtest.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include <atomic>
#include <functional>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sys/mpmc_queue.hpp"  // blocking_queue_failing_allocations
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

std::string blocking_io() {
  std::this_thread::sleep_for(20ms);  // the seed sleeps 2 s
  return "I/O done";
}

long cpu_intensive() {
  long total = 0;
  for (long i = 0; i < 1'000'000; ++i)
    total += i % 7;
  return total;
}

// Seed: run_in_executor with the default pool and with ThreadPoolExecutor(4).
TEST(Blocking, SeedRunInExecutor) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<std::vector<std::string>> {
    std::vector<std::string> out;
    std::string r = co_await weft::run_in_executor(nullptr, blocking_io);
    out.push_back(r);
    {
      weft::ThreadPool executor(4);
      long v = co_await weft::run_in_executor(executor, cpu_intensive);
      out.push_back(std::to_string(v));
    }
    co_return out;
  };
  auto out = weft::run(main_task(), {.workers = 2});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], "I/O done");
  EXPECT_EQ(out[1], std::to_string(cpu_intensive()));
}

// Seed: to_thread.
TEST(Blocking, SeedToThread) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<std::string> {
    co_return co_await weft::to_thread(blocking_io);
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 1}), "I/O done");
}

TEST(Blocking, RunsOffTheWorkers) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<bool> {
    auto worker_id = std::this_thread::get_id();
    auto where = co_await weft::to_thread([] { return std::this_thread::get_id(); });
    co_return where != worker_id;
  };
  EXPECT_TRUE(weft::run(main_task(), {.workers = 1}));
}

TEST(Blocking, ArgumentsAreCopiedUnlessWrappedInRef) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    int value = 1;
    auto bump = [](int& x) { return ++x; };
    auto by_copy = [](int x) { return x + 10; };
    int r1 = co_await weft::to_thread(by_copy, value);
    EXPECT_EQ(r1, 11);
    int r2 = co_await weft::to_thread(bump, std::ref(value));
    EXPECT_EQ(r2, 2);
    EXPECT_EQ(value, 2);
    auto owned = std::make_unique<int>(5);
    int r3 = co_await weft::to_thread([](std::unique_ptr<int> p) { return *p; }, std::move(owned));
    EXPECT_EQ(r3, 5);
    co_await weft::to_thread([] {});  // void
  };
  weft::run(main_task(), {.workers = 1});
}

TEST(Blocking, ExceptionsPropagate) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<std::string> {
    try {
      co_await weft::to_thread([]() -> int { throw std::runtime_error("disk on fire"); });
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 1}), "disk on fire");
}

struct Tracked {
  static inline std::atomic<int> live{0};
  Tracked() { ++live; }
  Tracked(const Tracked&) { ++live; }
  Tracked(Tracked&&) noexcept { ++live; }
  ~Tracked() { --live; }
};

TEST(Blocking, CancelWhileRunningDropsTheResultSafely) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> started{false}, release{false}, finished{false};
  auto main_task = [&]() -> weft::Task<void> {
    auto slow = [&]() -> Tracked {
      started = true;
      while (!release.load())
        std::this_thread::sleep_for(1ms);
      finished = true;
      return Tracked{};
    };
    auto waiter = [&]() -> weft::Task<void> { (void)co_await weft::to_thread(slow); };
    auto h = weft::spawn(waiter());
    while (!started.load())
      co_await weft::sleep(1ms);
    h.cancel();
    bool cancelled = false;
    try {
      co_await h;  // resumes at once, although the callable still runs
    } catch (const weft::CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_FALSE(finished.load());
    release = true;
    while (!finished.load())
      co_await weft::sleep(1ms);
  };
  weft::run(main_task(), {.workers = 2});
  // The result was created in the pool thread and destroyed there, or when the
  // runtime's pool shut down: nothing leaks.
  EXPECT_EQ(Tracked::live.load(), 0);
}

TEST(Blocking, CancelBeforeStartSkipsTheCallable) {
  weft::test::Watchdog dog(60s);
  std::atomic<int> ran{0};
  weft::Runtime rt({.workers = 1, .blocking_threads_max = 1});
  std::atomic<bool> release{false};
  auto main_task = [&]() -> weft::Task<void> {
    auto hog = [&] {
      while (!release.load())
        std::this_thread::sleep_for(1ms);
    };
    auto hogger = [&]() -> weft::Task<void> { co_await weft::to_thread(hog); };
    auto counted = [&]() -> weft::Task<void> { co_await weft::to_thread([&] { ran++; }); };
    auto h1 = weft::spawn(hogger());  // occupies the only blocking thread
    co_await weft::sleep(5ms);
    auto h2 = weft::spawn(counted());
    co_await weft::sleep(5ms);
    h2.cancel();
    try {
      co_await h2;
    } catch (const weft::CancelledError&) {
    }
    release = true;
    co_await h1;
    co_await weft::to_thread([] {});  // the queue has moved past h2's job
  };
  rt.block_on(main_task());
  EXPECT_EQ(ran.load(), 0);
}

TEST(Blocking, PoolGrowsToItsCapAndShrinksWhenIdle) {
  weft::test::Watchdog dog(120s);
  weft::Runtime rt({.workers = 2, .blocking_threads_max = 32, .blocking_keep_alive = 50ms});
  std::atomic<int> concurrent{0}, peak{0}, done{0}, started{0};
  const int calls = static_cast<int>(weft::test::stress_iterations(10'000));
  // The first two jobs wait for each other: the pool must have grown to two
  // threads for the run to finish (the watchdog fails it otherwise), whatever
  // the load. (It used to read metrics().blocking_threads after the run,
  // which keep_alive may already have shrunk.)
  std::latch two(2);
  auto job = [&] {
    if (started++ < 2) two.arrive_and_wait();
    int now = ++concurrent;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(100us);
    --concurrent;
    ++done;
  };
  auto one = [](std::function<void()>* f) -> weft::Task<void> { co_await weft::to_thread(*f); };
  std::function<void()> fn = job;
  auto main_task = [&]() -> weft::Task<void> {
    std::vector<weft::JoinHandle<void>> hs;
    for (int i = 0; i < calls; ++i)
      hs.push_back(weft::spawn(one(&fn)));
    for (auto& h : hs)
      co_await h;
  };
  rt.block_on(main_task());
  EXPECT_EQ(done.load(), calls);
  EXPECT_LE(peak.load(), 32);
  // Idle threads retire after keep_alive (the watchdog bounds the wait).
  while (rt.metrics().blocking_threads != 0)
    std::this_thread::sleep_for(10ms);
  weft::test::report_iterations("PoolGrowsToItsCapAndShrinksWhenIdle", calls);
}

// cancel_pending: the work queued behind a running job is discarded (its
// awaiters get CancelledError), later submits are refused. Sequenced by
// state, not by sleeps: the blocker is known to run, the five waiters are
// known to be queued (debug mode's task list says they wait on the pool),
// and the blocker is released only once a probe submit was refused, i.e.
// after shutdown() set cancel_pending and closed the pool. (Sequenced by
// 5 ms sleeps, it failed under load in a full test run: all five ran.)
TEST(Blocking, ThreadPoolShutdownModes) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<std::pair<int, int>> {
    std::atomic<int> ran{0};
    weft::ThreadPool pool(1);
    std::atomic<bool> blocking{false};
    std::atomic<bool> release{false};
    auto block = [&] {
      blocking = true;
      while (!release.load())
        std::this_thread::sleep_for(1ms);
    };
    auto waiter = [&]() -> weft::Task<int> {
      try {
        co_await weft::run_in_executor(pool, [&] { ran++; });
      } catch (const weft::CancelledError&) {
        co_return 1;
      }
      co_return 0;
    };
    auto blocker = [&]() -> weft::Task<void> { co_await weft::run_in_executor(pool, block); };
    auto b = weft::spawn(blocker());
    while (!blocking.load())
      co_await weft::sleep(1ms);
    std::vector<weft::JoinHandle<int>> hs;
    for (int i = 0; i < 5; ++i)
      hs.push_back(weft::spawn(waiter(), "waiter"));
    auto count = [](const char* name) {
      std::size_t n = 0;
      for (const weft::TaskSnapshot& t : weft::all_tasks())
        n += t.name == name && t.state == "suspended" && t.waiting_on == "blocking work";
      return n;
    };
    while (count("waiter") != 5)
      co_await weft::sleep(1ms);
    std::thread stopper([&] { pool.shutdown(weft::ShutdownMode::cancel_pending); });
    // Probes until one is refused: each either queues behind the waiters
    // (submitted before shutdown() closed the pool: discarded with them) or
    // is refused (closed, so cancel_pending is set too).
    std::atomic<bool> refused{false};
    auto probe = [&]() -> weft::Task<void> {
      try {
        co_await weft::run_in_executor(pool, [&] { ran++; });
      } catch (const weft::RuntimeError&) {
        refused = true;
      } catch (const weft::CancelledError&) {
        // queued before the pool closed: discarded
      }
    };
    std::vector<weft::JoinHandle<void>> probes;
    while (!refused.load()) {
      probes.push_back(weft::spawn(probe(), "probe"));
      while (!refused.load() && count("probe") != probes.size())
        co_await weft::sleep(1ms);
    }
    release = true;
    stopper.join();
    co_await b;
    int cancelled = 0;
    for (auto& h : hs)
      cancelled += co_await h;
    for (auto& p : probes)
      co_await p;
    co_return std::pair<int, int>{ran.load(), cancelled};
  };
  auto [ran, cancelled] = weft::run(main_task(), {.workers = 2, .debug = true});
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(cancelled, 5);
}

TEST(Blocking, ThreadPoolDrainsOnDestruction) {
  weft::test::Watchdog dog(60s);
  std::atomic<int> ran{0};
  auto main_task = [&]() -> weft::Task<void> {
    weft::ThreadPool pool(2);
    std::vector<weft::JoinHandle<void>> hs;
    auto one = [](weft::ThreadPool* p, std::atomic<int>* r) -> weft::Task<void> {
      co_await weft::run_in_executor(*p, [r] {
        std::this_thread::sleep_for(1ms);
        (*r)++;
      });
    };
    for (int i = 0; i < 20; ++i)
      hs.push_back(weft::spawn(one(&pool, &ran)));
    for (auto& h : hs)
      co_await h;
  };
  weft::run(main_task(), {.workers = 2});
  EXPECT_EQ(ran.load(), 20);
  EXPECT_THROW(weft::ThreadPool(0), std::invalid_argument);
}

int forty_two() {
  return 42;
}

// A job the executor's queue cannot take (out of memory) fails its awaiter
// with std::bad_alloc. Before, the failed enqueue was ignored: the job was in
// no queue and its task waited forever (here: until wait_for's 20 s).
TEST(Blocking, SubmitThatCannotAllocateFailsTheAwaiter) {
  weft::test::Watchdog dog(60s);
  auto attempt = [](weft::Executor* ex) -> weft::Task<std::string> {
    // A fresh thread's first enqueue allocates moodycamel's producer: fail it.
    weft::detail::blocking_queue_failing_allocations.store(1'000'000);
    std::string outcome;
    try {
      int v = 0;
      if (ex)
        v = co_await weft::wait_for(weft::run_in_executor(*ex, forty_two), 20s);
      else
        v = co_await weft::wait_for(weft::to_thread(forty_two), 20s);
      outcome = "ran " + std::to_string(v);
    } catch (const std::bad_alloc&) {
      outcome = "bad_alloc";
    } catch (const weft::TimeoutError&) {
      outcome = "lost";
    }
    weft::detail::blocking_queue_failing_allocations.store(0);
    // Memory is back: the same executor works.
    int again = 0;
    if (ex)
      again = co_await weft::run_in_executor(*ex, forty_two);
    else
      again = co_await weft::to_thread(forty_two);
    co_return outcome + ", then " + std::to_string(again);
  };
  EXPECT_EQ(weft::run(attempt(nullptr), {.workers = 1}), "bad_alloc, then 42");
  weft::ThreadPool pool(1);
  EXPECT_EQ(weft::run(attempt(&pool), {.workers = 1}), "bad_alloc, then 42");
}

TEST(Blocking, TbbArenaRunsParallelAlgorithms) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<long> {
    weft::TbbArenaExecutor arena(2);
    long sum = co_await weft::run_in_executor(arena, [] {
      return tbb::parallel_reduce(
          tbb::blocked_range<long>(0, 1'000'000), 0L,
          [](const tbb::blocked_range<long>& r, long acc) {
            for (long i = r.begin(); i != r.end(); ++i)
              acc += i;
            return acc;
          },
          std::plus<long>());
    });
    co_return sum;
  };
  EXPECT_EQ(weft::run(main_task(), {.workers = 1}), 999'999L * 1'000'000L / 2);
  EXPECT_THROW(weft::TbbArenaExecutor(0), std::invalid_argument);
}

TEST(Blocking, OutsideATaskIsAClearError) {
  auto aw = weft::to_thread([] { return 1; });
  EXPECT_THROW(aw.await_suspend(std::noop_coroutine()), weft::RuntimeError);
}

}  // namespace

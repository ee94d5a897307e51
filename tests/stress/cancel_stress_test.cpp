// Cancellation stress: tasks run random await chains (sleep, yield, nested
// tasks, joins of spawned children, blocking work, timeout scopes, shields)
// while plain threads and tasks cancel random tasks at random moments.
// Checks: every cleanup guard is destroyed exactly once per construction,
// every task finishes (no hang: watchdog), nothing leaks (ASan/LSan).
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

struct Counters {
  std::atomic<long> guards_made{0};
  std::atomic<long> guards_gone{0};
  std::atomic<long> cancels_seen{0};
  std::atomic<long> swallowed{0};
  std::atomic<long> steps{0};
};

struct Guard {
  Counters* c;
  explicit Guard(Counters* counters) : c(counters) { c->guards_made.fetch_add(1); }
  Guard(const Guard&) = delete;
  ~Guard() { c->guards_gone.fetch_add(1); }
};

weft::Task<int> chain(Counters* c, std::uint64_t seed, int depth);

weft::Task<int> step(Counters* c, std::mt19937_64& rng, int depth) {
  c->steps.fetch_add(1, std::memory_order_relaxed);
  switch (rng() % 8) {
    case 0:
      co_await weft::sleep(std::chrono::microseconds(rng() % 2000));
      co_return 1;
    case 1:
      co_await weft::yield();
      co_return 1;
    case 2:
      if (depth > 0) co_return co_await chain(c, rng(), depth - 1);
      co_return 1;
    case 3:
      if (depth > 0) {
        auto h = weft::spawn(chain(c, rng(), depth - 1));  // join: cancel is forwarded
        co_return co_await h;
      }
      co_return 1;
    case 4: {
      int v = co_await weft::to_thread([] {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        return 1;
      });
      co_return v;
    }
    case 5: {
      bool timed_out = false;
      int v = 0;
      try {
        v = co_await weft::wait_for(chain(c, rng(), depth > 0 ? depth - 1 : 0),
                                    std::chrono::microseconds(rng() % 3000));
      } catch (const weft::TimeoutError&) {
        timed_out = true;
      }
      co_return timed_out ? 0 : v;
    }
    case 6:
      if (depth > 0) {
        auto h = weft::spawn(chain(c, rng(), depth - 1));
        int v = 0;
        bool cancelled = false;
        try {
          v = co_await weft::shield(h);
        } catch (const weft::CancelledError&) {
          cancelled = true;
        }
        if (cancelled) {
          h.cancel();  // we leave: do not orphan the shielded child
          try {
            co_await h;
          } catch (const weft::CancelledError&) {
          }
          throw weft::CancelledError();
        }
        co_return v;
      }
      co_return 1;
    default: {
      auto body = [](Counters* c, std::uint64_t seed) -> weft::Task<int> {
        co_return co_await chain(c, seed, 0);
      };
      try {
        co_return co_await weft::timeout(std::chrono::microseconds(rng() % 3000), body(c, rng()));
      } catch (const weft::TimeoutError&) {
      }
      co_return 0;
    }
  }
}

weft::Task<int> chain(Counters* c, std::uint64_t seed, int depth) {
  std::mt19937_64 rng(seed);
  Guard guard(c);
  int total = 0;
  int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) {
    bool cancelled = false;
    try {
      total += co_await step(c, rng, depth);
    } catch (const weft::CancelledError&) {
      cancelled = true;
    }
    if (cancelled) {
      c->cancels_seen.fetch_add(1, std::memory_order_relaxed);
      if (rng() % 4 == 0) {  // sometimes swallow it and carry on (asyncio allows it)
        c->swallowed.fetch_add(1, std::memory_order_relaxed);
        weft::this_task::uncancel();
        continue;
      }
      co_await weft::sleep(std::chrono::microseconds(rng() % 200));  // cleanup may await
      throw weft::CancelledError();
    }
  }
  co_return total;
}

TEST(CancelStress, RandomCancellationAtEverySuspensionPoint) {
  weft::test::Watchdog dog(600s, "cancel stress");
  const long tasks = weft::test::stress_iterations(3000);
  Counters c;
  {
    weft::Runtime rt({.workers = 3, .blocking_threads_max = 8});
    std::vector<weft::JoinHandle<int>> hs;
    std::mt19937_64 seeds(99);
    for (long i = 0; i < tasks; ++i)
      hs.push_back(rt.spawn(chain(&c, seeds(), 3)));
    std::atomic<bool> stop{false};
    std::vector<std::thread> cancellers;
    for (int t = 0; t < 3; ++t)
      cancellers.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t + 1));
        while (!stop.load()) {
          hs[rng() % hs.size()].cancel();
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % 100));
        }
      });
    auto task_canceller = [](std::vector<weft::JoinHandle<int>>* v,
                             std::atomic<bool>* stop) -> weft::Task<void> {
      std::mt19937 rng(7);
      while (!stop->load()) {
        (*v)[rng() % v->size()].cancel();
        co_await weft::sleep(std::chrono::microseconds(rng() % 300));
      }
    };
    auto tc = rt.spawn(task_canceller(&hs, &stop));
    auto join_all = [](std::vector<weft::JoinHandle<int>>* v, long* finished) -> weft::Task<void> {
      for (auto& h : *v) {
        try {
          (void)co_await h;
        } catch (const weft::CancelledError&) {
        }
        ++*finished;
      }
    };
    long finished = 0;
    rt.block_on(join_all(&hs, &finished));
    stop = true;
    for (auto& t : cancellers)
      t.join();
    auto wait_void = [](weft::JoinHandle<void> h) -> weft::Task<void> { co_await h; };
    rt.block_on(wait_void(tc));
    EXPECT_EQ(finished, tasks);
    for (auto& h : hs)
      EXPECT_TRUE(h.done());
  }  // shutdown: spawned grandchildren that outlived their parents finish here
  EXPECT_EQ(c.guards_made.load(), c.guards_gone.load()) << "a cleanup ran twice or never";
  EXPECT_GT(c.cancels_seen.load(), 0);
  std::printf("[stress] cancels seen %ld, swallowed %ld, steps %ld\n", c.cancels_seen.load(),
              c.swallowed.load(), c.steps.load());
  weft::test::report_iterations("RandomCancellationAtEverySuspensionPoint", tasks);
}

}  // namespace

// Scheduler stress: lost wake-ups, the deque's exactly-once guarantee, spawn
// storms from plain threads, and shutdown with work still queued. Every test
// runs under a watchdog (a hang is a failure) and reports its iteration count.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "weft/detail/chase_lev_deque.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// A one-slot rendezvous: a task parks itself in `slot`; whoever exchanges it
// out wakes it. Built directly on the wake protocol, so the test exercises
// exactly the scheduler's wake/release transitions.
struct Gate {
  std::atomic<weft::detail::TaskHeader*> slot{nullptr};

  struct Awaiter : weft::detail::Suspension {
    Gate* gate;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      auto* t = weft::detail::require_current_task("Gate");
      t->resume_point_ = h;
      t->suspended_on_ = this;
      withdraw = [](weft::detail::Suspension*, weft::detail::TaskHeader*) noexcept {
        return weft::detail::Withdraw::too_late;  // not cancellable: the opener always comes
      };
      gate->slot.store(t, std::memory_order_release);  // published: may be woken at once
    }
    void await_resume() const noexcept {}
  };
  Awaiter wait() {
    Awaiter a;
    a.gate = this;
    return a;
  }
  void open() {
    if (auto* t = slot.exchange(nullptr, std::memory_order_acq_rel)) t->wake();
  }
};

weft::Task<void> gate_waiter(Gate* g, long rounds, std::atomic<long>* passed) {
  for (long i = 0; i < rounds; ++i) {
    co_await g->wait();
    passed->fetch_add(1, std::memory_order_relaxed);
  }
}

weft::Task<void> task_opener(Gate* g, std::atomic<bool>* stop) {
  while (!stop->load(std::memory_order_relaxed)) {
    g->open();
    co_await weft::yield();
  }
}

weft::Task<void> join_all(std::vector<weft::JoinHandle<void>>* v) {
  for (auto& h : *v)
    co_await h;
}

TEST(SchedulerStress, NoLostWakeupsFromPlainThreadsAndWorkers) {
  weft::test::Watchdog dog(300s, "lost-wake-up hunt");
  const long rounds = weft::test::stress_iterations(8'000);
  const int pairs = 8;
  for (unsigned workers : {1u, 2u, 4u}) {
    weft::Runtime rt({.workers = workers});
    std::vector<Gate> gates(pairs);
    std::atomic<long> passed{0};
    std::vector<weft::JoinHandle<void>> hs;
    for (int i = 0; i < pairs; ++i)
      hs.push_back(rt.spawn(gate_waiter(&gates[i], rounds, &passed)));
    // Half the gates are opened by plain threads, half by tasks on the workers.
    std::atomic<bool> stop{false};
    std::vector<std::thread> openers;
    for (int i = 0; i < pairs / 2; ++i)
      openers.emplace_back([&, i] {
        while (!stop.load(std::memory_order_relaxed))
          gates[i].open();
      });
    std::vector<weft::JoinHandle<void>> opener_tasks;
    for (int i = pairs / 2; i < pairs; ++i)
      opener_tasks.push_back(rt.spawn(task_opener(&gates[i], &stop)));
    rt.block_on(join_all(&hs));
    stop = true;
    for (auto& t : openers)
      t.join();
    rt.block_on(join_all(&opener_tasks));
    EXPECT_EQ(passed.load(), rounds * pairs);
  }
  weft::test::report_iterations("NoLostWakeupsFromPlainThreadsAndWorkers", rounds * 8 * 3);
}

TEST(SchedulerStress, DequeEveryItemTakenExactlyOnce) {
  weft::test::Watchdog dog(300s, "deque stress");
  const long items = weft::test::stress_iterations(2'000'000);
  for (std::size_t capacity : {4u, 256u}) {  // a tiny ring forces wrap-around
    weft::detail::ChaseLevDeque<long*> d(capacity);
    std::vector<long> payload(static_cast<std::size_t>(items));
    std::vector<std::atomic<int>> taken(static_cast<std::size_t>(items));
    std::atomic<bool> done{false};
    std::atomic<long> stolen{0};
    auto take = [&](long* p) { taken[static_cast<std::size_t>(p - payload.data())].fetch_add(1); };
    std::vector<std::thread> thieves;
    for (int i = 0; i < 3; ++i)
      thieves.emplace_back([&] {
        long n = 0;
        while (!done.load(std::memory_order_acquire) || !d.empty())
          if (long* p = d.steal()) {
            take(p);
            ++n;
          }
        stolen += n;
      });
    std::mt19937 rng(1);
    long next = 0;
    long claimed = 0;
    while (next < items) {
      int burst = 1 + static_cast<int>(rng() % 8);
      for (int i = 0; i < burst && next < items; ++i) {
        if (!d.push(&payload[static_cast<std::size_t>(next)])) break;
        ++next;
      }
      // The owner claims one of its recent pushes from anywhere in the deque
      // (a join of an older child), racing the thieves for it.
      if (next > 0 && rng() % 2) {
        long back = static_cast<long>(rng() % 8);
        long* p = &payload[static_cast<std::size_t>(next - 1 - std::min(back, next - 1))];
        if (d.claim(p)) {
          take(p);
          ++claimed;
        }
      }
      int pops = static_cast<int>(rng() % 6);
      for (int i = 0; i < pops; ++i)
        if (long* p = (rng() % 2) ? d.pop() : d.take()) take(p);
    }
    while (long* p = d.pop())
      take(p);
    done = true;
    for (auto& t : thieves)
      t.join();
    long missing = 0, duplicated = 0;
    for (auto& t : taken) {
      int v = t.load();
      if (v == 0) ++missing;
      if (v > 1) ++duplicated;
    }
    EXPECT_EQ(missing, 0) << "capacity " << capacity;
    EXPECT_EQ(duplicated, 0) << "capacity " << capacity;
    EXPECT_GT(claimed, 0) << "capacity " << capacity;
  }
  weft::test::report_iterations("DequeEveryItemTakenExactlyOnce", items * 2);
}

weft::Task<void> leaf(std::atomic<long>* count) {
  count->fetch_add(1, std::memory_order_relaxed);
  co_return;
}

weft::Task<void> fan_out(int depth, std::atomic<long>* count) {
  count->fetch_add(1, std::memory_order_relaxed);
  if (depth == 0) co_return;
  auto a = weft::spawn(fan_out(depth - 1, count));
  auto b = weft::spawn(leaf(count));
  co_await fan_out(depth - 1, count);
  co_await a;
  co_await b;
}

weft::Task<void> wait_one(weft::JoinHandle<void> h) {
  co_await h;
}

TEST(SchedulerStress, SpawnStormsFromPlainThreadsAndTasks) {
  weft::test::Watchdog dog(300s, "spawn storm");
  const long per_thread = weft::test::stress_iterations(20'000);
  weft::Runtime rt({.workers = 2});
  std::atomic<long> count{0};
  std::vector<std::vector<weft::JoinHandle<void>>> handles(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (long i = 0; i < per_thread; ++i)
        handles[t].push_back(rt.spawn(leaf(&count)));
    });
  auto tree = rt.spawn(fan_out(12, &count));
  for (auto& t : threads)
    t.join();
  rt.block_on(wait_one(tree));
  // Every leaf must have run before shutdown: shutdown cancels tasks that
  // have not started yet (asyncio.run), so they would never count.
  for (auto& v : handles)
    rt.block_on(join_all(&v));
  // fan_out(d) = 1 + 1 (its leaf) + 2 fan_out(d-1), fan_out(0) = 1.
  long expected_tree = 1;
  for (int d = 1; d <= 12; ++d)
    expected_tree = 2 + 2 * expected_tree;
  EXPECT_EQ(count.load(), per_thread * 4 + expected_tree);
  weft::test::report_iterations("SpawnStormsFromPlainThreadsAndTasks", per_thread * 4);
}

weft::Task<void> yield_forever(std::atomic<long>* ran) {
  for (;;) {
    ran->fetch_add(1, std::memory_order_relaxed);
    co_await weft::yield();
  }
}

weft::Task<void> sleep_long() {
  co_await weft::sleep(1h);
}

TEST(SchedulerStress, ShutdownWithQueuedAndSuspendedTasksLeaksNothing) {
  weft::test::Watchdog dog(300s, "shutdown stress");
  const long rounds = weft::test::stress_iterations(200);
  std::mt19937 rng(3);
  for (long r = 0; r < rounds; ++r) {
    std::atomic<long> ran{0};
    weft::Runtime rt({.workers = 1 + static_cast<unsigned>(rng() % 3)});
    for (int i = 0; i < 50; ++i)
      rt.spawn(yield_forever(&ran)).detach();
    for (int i = 0; i < 50; ++i)
      rt.spawn(leaf(&ran)).detach();
    for (int i = 0; i < 20; ++i)
      rt.spawn(sleep_long()).detach();
    if (rng() % 2) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
  }  // each destructor cancels everything and frees every frame (LSan checks)
  weft::test::report_iterations("ShutdownWithQueuedAndSuspendedTasksLeaksNothing", rounds);
}

}  // namespace

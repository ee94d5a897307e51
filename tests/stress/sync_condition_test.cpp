// Stress: weft::Condition as the guard of a shared queue: producer tasks and a
// plain-thread producer push items and notify (1, 2 or all); consumer tasks
// wait with random timeouts while plain threads cancel them at random.
// Checks: every item is consumed exactly once, the lock is held whenever
// wait() returns or throws (asyncio's rule), no waiter is lost (the run ends).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "weft/condition.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

struct Shared {
  weft::Condition cond;
  std::deque<long> items;       // guarded by cond's lock
  std::vector<int> seen;        // guarded by cond's lock
  long produced_total = 0;      // guarded
  bool producers_done = false;  // guarded
  std::atomic<long> lock_not_held{0};
  std::atomic<long> cancelled{0};
  std::atomic<long> timed_out{0};
  std::atomic<long> waits{0};
  long consumed = 0;  // guarded; the consumers' return values may be dropped (see below)
};

using weft::test::next_rand;

void notify_some(Shared& sh, std::uint32_t r) {
  switch (r % 3) {
    case 0:
      sh.cond.notify();
      break;
    case 1:
      sh.cond.notify(2);
      break;
    default:
      sh.cond.notify_all();
  }
}

weft::Task<void> producer(Shared& sh, long first, long count) {
  std::uint32_t rng = static_cast<std::uint32_t>(first) * 2654435761u + 1;
  for (long i = 0; i < count; ++i) {
    const std::uint32_t r = next_rand(rng);
    {
      auto g = co_await sh.cond.scoped();
      sh.items.push_back(first + i);
      notify_some(sh, r);
    }
    if (r % 4 == 0) co_await weft::yield();
  }
}

weft::Task<long> consumer(Shared& sh, int id) {
  std::uint32_t rng = 0x27d4eb2fu * static_cast<std::uint32_t>(id + 1);
  long consumed = 0;
  for (;;) {
    // Cancellations may land on the lock() too: retry until we hold it.
    bool locked = false;
    try {
      co_await sh.cond.lock();
      locked = true;
    } catch (const weft::CancelledError&) {
      sh.cancelled++;
    }
    if (!locked) continue;
    bool done = false;
    while (sh.items.empty() && !sh.producers_done) {
      const std::uint32_t r = next_rand(rng);
      sh.waits++;
      try {
        if (r % 2)
          co_await weft::wait_for(sh.cond.wait(), std::chrono::microseconds(200 + r % 1000));
        else
          co_await sh.cond.wait();
      } catch (const weft::CancelledError&) {
        sh.cancelled++;
      } catch (const weft::TimeoutError&) {
        sh.timed_out++;
      }
      if (!sh.cond.underlying_lock().held_by_current()) {
        sh.lock_not_held++;
        co_return consumed;  // cannot go on safely
      }
    }
    if (!sh.items.empty()) {
      long item = sh.items.front();
      sh.items.pop_front();
      sh.seen[static_cast<std::size_t>(item)]++;
      ++sh.consumed;
      ++consumed;
    } else {
      done = true;  // producers finished and nothing is left
    }
    sh.cond.unlock();
    if (done) co_return consumed;
  }
}

TEST(SyncConditionStress, ProducersConsumersCancelTimeout) {
  weft::test::Watchdog dog(600s, "SyncConditionStress");
  const long rounds = weft::test::stress_iterations(3);
  constexpr int kProducers = 8;
  constexpr long kPerProducer = 30000;
  constexpr long kPlain = 20000;
  constexpr int kConsumers = 24;
  const long total = kProducers * kPerProducer + kPlain;
  for (long round = 0; round < rounds; ++round) {
    Shared sh;
    sh.seen.assign(static_cast<std::size_t>(total), 0);
    weft::Runtime rt({.workers = 4});
    std::vector<weft::JoinHandle<long>> consumers;
    for (int c = 0; c < kConsumers; ++c)
      consumers.push_back(rt.spawn(consumer(sh, c + static_cast<int>(round) * kConsumers)));
    std::vector<weft::JoinHandle<void>> producers;
    for (int p = 0; p < kProducers; ++p)
      producers.push_back(rt.spawn(producer(sh, p * kPerProducer, kPerProducer)));
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {  // canceller
      std::uint32_t rng = 5150;
      while (!stop.load(std::memory_order_relaxed)) {
        consumers[next_rand(rng) % kConsumers].cancel();
        std::this_thread::sleep_for(std::chrono::microseconds(next_rand(rng) % 300));
      }
    });
    std::thread plain_producer([&] {  // notify() from a plain thread holding the lock
      std::uint32_t rng = 8;
      for (long i = 0; i < kPlain; ++i) {
        while (!sh.cond.try_lock())
          std::this_thread::yield();
        sh.items.push_back(kProducers * kPerProducer + i);
        notify_some(sh, next_rand(rng));
        sh.cond.unlock();
      }
    });
    auto finish = [&]() -> weft::Task<long> {
      for (auto& p : producers)
        co_await p;
      co_return 0;
    };
    rt.block_on(finish());
    plain_producer.join();
    // Tell the consumers to stop once the queue is drained.
    while (!sh.cond.try_lock())
      std::this_thread::yield();
    sh.producers_done = true;
    sh.cond.notify_all();
    sh.cond.unlock();
    auto join_consumers = [&]() -> weft::Task<long> {
      long sum = 0;
      for (auto& c : consumers) {
        try {
          sum += co_await c;
        } catch (const weft::CancelledError&) {
        }
      }
      co_return sum;
    };
    // A consumer's return value is a lower bound only: one cancel()led after
    // its last suspension ends cancelled and its value is dropped (asyncio's
    // "cancelled right before coro stops"). The exact count is sh.consumed.
    const long returned = rt.block_on(join_consumers());
    const long consumed = sh.consumed;
    EXPECT_LE(returned, consumed);
    stop = true;
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(sh.lock_not_held.load(), 0);
    // Consumers cancelled before they ever ran leave their share to the others.
    EXPECT_EQ(consumed, total);
    long wrong = 0;
    for (int n : sh.seen)
      if (n != 1) ++wrong;
    EXPECT_EQ(wrong, 0) << "items not consumed exactly once";
    EXPECT_FALSE(sh.cond.locked());
    std::fprintf(stderr, "round %ld: consumed %ld, waits %ld, cancelled %ld, timed out %ld\n",
                 round, consumed, sh.waits.load(), sh.cancelled.load(), sh.timed_out.load());
  }
  weft::test::report_iterations("SyncConditionStress", rounds * total);
}

}  // namespace

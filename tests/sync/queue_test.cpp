// weft::Queue: the seed's Queue example, asyncio's API (nowait, try_, task_done,
// join, qsize/empty/full), move-only items, FIFO waiters, cancellation and
// timeouts, Python 3.13 shutdown, plain threads.
#include "weft/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// ---- the seed's Queue 基本用法 example (0.1 s / 0.3 s scaled to 1 ms / 3 ms) ----

struct SeedState {
  std::atomic<int> processed{0};
  std::vector<std::atomic<int>> seen = std::vector<std::atomic<int>>(10);
  std::atomic<int> max_qsize{0};
};

weft::Task<void> seed_producer(weft::Queue<int>& queue, SeedState& st) {
  for (int i = 0; i < 10; ++i) {
    co_await queue.put(i);  // print(f"生產: {i}")
    int q = static_cast<int>(queue.qsize());
    int m = st.max_qsize.load();
    while (q > m && !st.max_qsize.compare_exchange_weak(m, q)) {
    }
    co_await weft::sleep(1ms);
  }
}

weft::Task<void> seed_consumer(weft::Queue<int>& queue, SeedState& st) {
  for (;;) {
    int item = co_await queue.get();  // print(f"{name} 處理: {item}")
    st.seen[static_cast<std::size_t>(item)]++;
    co_await weft::sleep(3ms);
    st.processed++;
    queue.task_done();
  }
}

weft::Task<void> seed_queue_main(SeedState& st) {
  weft::Queue<int> queue(5);
  std::vector<weft::JoinHandle<void>> consumers;
  for (int i = 0; i < 3; ++i)
    consumers.push_back(weft::spawn(seed_consumer(queue, st)));
  co_await seed_producer(queue, st);
  co_await queue.join();               // 等待佇列處理完成
  EXPECT_EQ(st.processed.load(), 10);  // join returned only after every task_done
  EXPECT_EQ(queue.unfinished_tasks(), 0u);
  for (auto& c : consumers)
    c.cancel();
  for (auto& c : consumers) {
    bool cancelled = co_await weft::test::ends_cancelled(c);
    EXPECT_TRUE(cancelled);
  }
}

TEST(Queue, SeedExample) {
  weft::test::Watchdog dog(60s);
  SeedState st;
  weft::run(seed_queue_main(st), {.workers = 2});
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(st.seen[static_cast<std::size_t>(i)].load(), 1) << i;
  EXPECT_LE(st.max_qsize.load(), 5);
}

// ---- non-waiting API ----

TEST(Queue, NowaitApi) {
  weft::Queue<int> q(2);
  EXPECT_EQ(q.maxsize(), 2);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  q.put_nowait(1);
  EXPECT_TRUE(q.try_put(2));
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_THROW(q.put_nowait(3), weft::QueueFull);
  int x = 3;
  EXPECT_FALSE(q.try_put(std::move(x)));
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.try_get(), std::optional<int>(2));
  EXPECT_EQ(q.try_get(), std::nullopt);
  EXPECT_THROW(q.get_nowait(), weft::QueueEmpty);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.unfinished_tasks(), 2u);
  q.task_done();
  q.task_done();
  EXPECT_THROW(q.task_done(), weft::ValueError);
}

TEST(Queue, LargeBoundsAndBadMaxsize) {
  // Above the ring's limit a bounded queue keeps its items in a list: same rules.
  weft::Queue<int> big(5000);
  for (int i = 0; i < 5000; ++i)
    big.put_nowait(i);
  EXPECT_TRUE(big.full());
  EXPECT_THROW(big.put_nowait(1), weft::QueueFull);
  EXPECT_EQ(big.get_nowait(), 0);
  EXPECT_TRUE(big.try_put(5000));
  EXPECT_THROW(weft::Queue<int>(std::int64_t{1} << 62), weft::ValueError);
  // The counts' differences have 36 bits: 2^35 - 1 items at most.
  EXPECT_THROW(weft::Queue<int>(std::int64_t{1} << 35), weft::ValueError);
  weft::Queue<int> largest((std::int64_t{1} << 35) - 1);
  EXPECT_EQ(largest.maxsize(), (std::int64_t{1} << 35) - 1);
  EXPECT_TRUE(largest.try_put(1));
  EXPECT_FALSE(largest.full());
  weft::Queue<int> negative(-3);  // asyncio: maxsize <= 0 is unbounded
  EXPECT_EQ(negative.maxsize(), 0);
  EXPECT_FALSE(negative.full());
}

TEST(Queue, UnboundedNeverFull) {
  weft::Queue<int> q;  // asyncio.Queue(): maxsize 0
  EXPECT_EQ(q.maxsize(), 0);
  for (int i = 0; i < 10000; ++i)
    q.put_nowait(i);
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.qsize(), 10000u);
  for (int i = 0; i < 10000; ++i)
    ASSERT_EQ(q.get_nowait(), i);
}

TEST(Queue, MoveOnlyItems) {
  weft::Queue<std::unique_ptr<int>> q(4);
  q.put_nowait(std::make_unique<int>(1));
  auto p = std::make_unique<int>(2);
  EXPECT_TRUE(q.try_put(std::move(p)));
  EXPECT_EQ(p, nullptr);
  auto a = q.get_nowait();
  EXPECT_EQ(*a, 1);
  auto b = q.try_get();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(**b, 2);
  // A failed put leaves the item with the caller.
  weft::Queue<std::unique_ptr<int>> tiny(1);
  tiny.put_nowait(std::make_unique<int>(3));
  auto c = std::make_unique<int>(4);
  EXPECT_FALSE(tiny.try_put(std::move(c)));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(*c, 4);
  EXPECT_THROW(tiny.put_nowait(std::move(c)), weft::QueueFull);
  ASSERT_NE(c, nullptr);
}

TEST(Queue, ItemsLeftInADestroyedQueueAreDestroyed) {
  auto counter = std::make_shared<int>(0);
  // blocks, ring, blocks with a bound; 150 items span three blocks of 63.
  for (std::int64_t maxsize : {0, 8, 100000}) {
    const int n = maxsize == 8 ? 5 : 150;
    {
      weft::Queue<std::shared_ptr<int>> q(maxsize);
      for (int i = 0; i < n; ++i)
        q.put_nowait(counter);
      (void)q.get_nowait();
      q.put_nowait(counter);
      EXPECT_EQ(counter.use_count(), n + 1);
    }
    EXPECT_EQ(counter.use_count(), 1) << maxsize;
  }
}

TEST(Queue, RingWrapsAroundManyTimes) {
  weft::Queue<int> q(3);  // a ring of 4 slots: tickets wrap every 4 items
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    while (q.try_put(next_in))
      ++next_in;
    for (int k = 0; k <= round % 3; ++k)
      ASSERT_EQ(q.get_nowait(), next_out++);
  }
  while (auto v = q.try_get())
    ASSERT_EQ(*v, next_out++);
  EXPECT_EQ(next_in, next_out);
}

// A Queue whose 36-bit tickets (room_, avail_ and the ring's sequence
// numbers: queue_core.hpp) start `below_wrap` short of 2^36, so a test
// crosses the wrap without 2^36 operations.
template <class T>
struct WrapQueue : weft::detail::BasicQueue<T, weft::detail::FifoStorage<T>> {
  using Base = weft::detail::BasicQueue<T, weft::detail::FifoStorage<T>>;
  WrapQueue(std::int64_t maxsize, std::uint64_t below_wrap)
      : Base(maxsize, typename Base::FirstTicket{(std::uint64_t{1} << 36) - below_wrap}) {}
};

TEST(Queue, TicketsWrapAroundAt2To36) {
  weft::test::Watchdog dog(60s);  // a ring slot waiting for a ticket that never comes
  for (std::int64_t maxsize : {1, 3, 8}) {
    WrapQueue<int> q(maxsize, 5);
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 40; ++round) {
      while (q.try_put(next_in))
        ++next_in;
      ASSERT_TRUE(q.full());
      ASSERT_EQ(q.qsize(), static_cast<std::size_t>(maxsize));
      EXPECT_THROW(q.put_nowait(-1), weft::QueueFull);
      for (int k = 0; k <= round % static_cast<int>(maxsize); ++k)
        ASSERT_EQ(q.get_nowait(), next_out++);
    }
    while (auto v = q.try_get())
      ASSERT_EQ(*v, next_out++);
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.full());
    EXPECT_THROW(q.get_nowait(), weft::QueueEmpty);
    EXPECT_EQ(next_in, next_out);
    EXPECT_GT(next_in, 5 + static_cast<int>(maxsize));
  }
}

TEST(Queue, ItemsLeftAcrossTheTicketWrapAreDestroyed) {
  weft::test::Watchdog dog(60s);
  auto counter = std::make_shared<int>(0);
  {
    WrapQueue<std::shared_ptr<int>> q(4, 2);  // tickets 2^36-2, 2^36-1, 0, 1, ...
    for (int i = 0; i < 4; ++i)
      q.put_nowait(counter);
    (void)q.get_nowait();
    (void)q.get_nowait();
    q.put_nowait(counter);  // the slots now hold tickets 0..2 (past 2^36: wrapped)
    EXPECT_EQ(counter.use_count(), 4);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

weft::Task<void> wrap_waiters_main() {
  // Capacity 2, tickets crossing the wrap while putters and getters wait: the
  // combiner's grants draw the tickets then.
  WrapQueue<int> q(2, 3);
  constexpr int kItems = 200;
  auto producer = [](WrapQueue<int>& q, int base) -> weft::Task<void> {
    for (int i = 0; i < kItems; ++i) {
      co_await q.put(base + i);
      if (i % 3 == 0) co_await weft::yield();
    }
  };
  auto consumer = [](WrapQueue<int>& q, std::vector<int>& got) -> weft::Task<void> {
    for (;;) {
      int v;
      try {
        v = co_await q.get();
      } catch (const weft::QueueShutDown&) {
        co_return;
      }
      got.push_back(v);
      if (v % 5 == 0) co_await weft::yield();
    }
  };
  std::vector<int> got_a, got_b;
  auto ca = weft::spawn(consumer(q, got_a));
  auto cb = weft::spawn(consumer(q, got_b));
  auto p1 = weft::spawn(producer(q, 0));
  auto p2 = weft::spawn(producer(q, 1000));
  co_await p1;
  co_await p2;
  q.shutdown();
  co_await ca;
  co_await cb;
  // Every item exactly once, each producer's items in order for each consumer.
  std::vector<int> all(got_a);
  all.insert(all.end(), got_b.begin(), got_b.end());
  std::sort(all.begin(), all.end());
  std::vector<int> want;
  for (int i = 0; i < kItems; ++i)
    want.push_back(i);
  for (int i = 0; i < kItems; ++i)
    want.push_back(1000 + i);
  EXPECT_EQ(all, want);
  for (const auto* got : {&got_a, &got_b}) {
    int last0 = -1, last1 = 999;
    for (int v : *got) {
      int& last = v < 1000 ? last0 : last1;
      EXPECT_GT(v, last);
      last = v;
    }
  }
}

TEST(Queue, WaitingPuttersAndGettersAcrossTheTicketWrap) {
  weft::test::Watchdog dog(60s);
  weft::run(wrap_waiters_main(), {.workers = 1});
  weft::run(wrap_waiters_main(), {.workers = 2});
}

// ---- awaiting API ----

weft::Task<void> fifo_waiters_main() {
  weft::Queue<int> q(1);
  std::vector<int> got;
  auto getter = [](weft::Queue<int>& q, std::vector<int>& got, int id) -> weft::Task<void> {
    int v = co_await q.get();
    got.push_back(id * 100 + v);
  };
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 4; ++i) {
    hs.push_back(weft::spawn(getter(q, got, i)));
    co_await weft::yield();  // one worker: each getter waits before the next starts
  }
  EXPECT_THROW(q.get_nowait(), weft::QueueEmpty);
  for (int v = 0; v < 4; ++v)
    co_await q.put(v);
  for (auto& h : hs)
    co_await h;
  // The first waiter got the first item, and so on (they may run in any order).
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int>{0, 101, 202, 303}));
}

TEST(Queue, WaitingGettersAreServedInFifoOrder) {
  weft::test::Watchdog dog(60s);
  weft::run(fifo_waiters_main(), {.workers = 1});
}

weft::Task<void> get_and_record(weft::Queue<int>& q, std::vector<std::pair<int, int>>& order,
                                int id) {
  int v = co_await q.get();
  order.emplace_back(id, v);  // one worker: no data race
}

// Items put in one go, without a yield between: getter i gets item i, and the
// getters resume in that order, at every offset against the worker's 61-step
// maintenance turn.
weft::Task<void> batch_getters_main(int n) {
  weft::Queue<int> q;
  std::vector<std::pair<int, int>> order;
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i)
    hs.push_back(weft::spawn(get_and_record(q, order, i)));
  co_await weft::yield();  // one worker: each has reached get() before we go on
  for (int i = 0; i < n; ++i)
    q.put_nowait(100 + i);
  for (auto& h : hs)
    co_await h;
  std::vector<std::pair<int, int>> expected;
  for (int i = 0; i < n; ++i)
    expected.emplace_back(i, 100 + i);
  EXPECT_EQ(order, expected);
}

TEST(Queue, GettersServedTogetherResumeInFifoOrder) {
  weft::test::Watchdog dog(60s);
  for (int n = 1; n <= weft::test::kWakeOrderSweep; ++n)
    weft::run(batch_getters_main(n), {.workers = 1});
}

weft::Task<void> put_waiter(weft::Queue<int>& q, int v) {
  co_await q.put(v);
}

weft::Task<void> fifo_putters_main() {
  weft::Queue<int> q(1);
  q.put_nowait(-1);
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 4; ++i) {
    hs.push_back(weft::spawn(put_waiter(q, i)));
    co_await weft::yield();
  }
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(99), weft::QueueFull);
  std::vector<int> got;
  for (int i = 0; i < 5; ++i)
    got.push_back(co_await q.get());
  EXPECT_EQ(got, (std::vector<int>{-1, 0, 1, 2, 3}));
  for (auto& h : hs)
    co_await h;
}

TEST(Queue, WaitingPuttersAreServedInFifoOrder) {
  weft::test::Watchdog dog(60s);
  weft::run(fifo_putters_main(), {.workers = 1});
}

weft::Task<int> get_one(weft::Queue<int>& q, std::atomic<int>& state) {
  state = 1;
  int v = co_await q.get();
  state = 2;
  co_return v;
}

weft::Task<void> cancel_get_main() {
  weft::Queue<int> q;
  std::atomic<int> state{0};
  auto h = weft::spawn(get_one(q, state));
  while (state.load() != 1)
    co_await weft::yield();
  co_await weft::sleep(2ms);
  h.cancel();
  bool cancelled = co_await weft::test::ends_cancelled(h);
  EXPECT_TRUE(cancelled);
  // The cancelled get took nothing: the next item goes to the next get.
  q.put_nowait(5);
  EXPECT_EQ(q.qsize(), 1u);
  int v = co_await q.get();  // (no co_await inside an if condition: g++ 12)
  EXPECT_EQ(v, 5);
}

TEST(Queue, CancelledGetTakesNothing) {
  weft::test::Watchdog dog(60s);
  for (unsigned w : {1u, 2u})
    weft::run(cancel_get_main(), {.workers = w});
}

weft::Task<void> timeouts_main() {
  weft::Queue<std::unique_ptr<int>> q(1);
  bool timed_out = false;
  try {
    (void)co_await weft::wait_for(q.get(), 10ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  q.put_nowait(std::make_unique<int>(1));
  timed_out = false;
  try {
    co_await weft::wait_for(q.put(std::make_unique<int>(2)), 10ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  // The timed-out put left nothing behind.
  EXPECT_EQ(q.qsize(), 1u);
  auto a = co_await weft::timeout(1s, q.get());
  EXPECT_EQ(*a, 1);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.try_get(), std::nullopt);
}

TEST(Queue, TimeoutsLeaveNoTrace) {
  weft::test::Watchdog dog(60s);
  weft::run(timeouts_main(), {.workers = 2});
}

// ---- join ----

weft::Task<void> join_main() {
  weft::Queue<int> q;
  co_await q.join();  // nothing unfinished: immediate
  q.put_nowait(1);
  q.put_nowait(2);
  std::atomic<bool> joined{false};
  auto joiner = [](weft::Queue<int>& q, std::atomic<bool>& joined) -> weft::Task<void> {
    co_await q.join();
    joined = true;
  };
  auto h = weft::spawn(joiner(q, joined));
  co_await weft::sleep(2ms);
  EXPECT_FALSE(joined.load());
  (void)q.get_nowait();
  q.task_done();
  co_await weft::sleep(2ms);
  EXPECT_FALSE(joined.load());
  (void)q.get_nowait();
  q.task_done();
  co_await h;
  EXPECT_TRUE(joined.load());
  EXPECT_THROW(q.task_done(), weft::ValueError);
}

TEST(Queue, JoinWaitsForEveryTaskDone) {
  weft::test::Watchdog dog(60s);
  weft::run(join_main(), {.workers = 2});
}

// ---- shutdown (Python 3.13) ----

weft::Task<void> shutdown_main() {
  weft::Queue<int> q(2);
  q.put_nowait(1);
  q.put_nowait(2);
  std::atomic<int> put_result{0};
  auto putter = [](weft::Queue<int>& q, std::atomic<int>& r) -> weft::Task<void> {
    try {
      co_await q.put(3);
      r = 1;
    } catch (const weft::QueueShutDown&) {
      r = 2;
    }
  };
  auto hp = weft::spawn(putter(q, put_result));
  co_await weft::sleep(2ms);
  q.shutdown();
  co_await hp;
  EXPECT_EQ(put_result.load(), 2);  // the waiting putter is refused
  EXPECT_THROW(q.put_nowait(4), weft::QueueShutDown);
  EXPECT_THROW(co_await q.put(4), weft::QueueShutDown);
  EXPECT_TRUE(q.is_shutdown());
  // Gets drain what is left, then fail.
  int first = co_await q.get();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_THROW(q.get_nowait(), weft::QueueShutDown);
  EXPECT_THROW(co_await q.get(), weft::QueueShutDown);
}

TEST(Queue, ShutdownRefusesPutsAndDrainsGets) {
  weft::test::Watchdog dog(60s);
  weft::run(shutdown_main(), {.workers = 2});
}

weft::Task<void> shutdown_wakes_getters_main() {
  weft::Queue<int> q;
  std::atomic<int> refused{0};
  auto getter = [](weft::Queue<int>& q, std::atomic<int>& refused) -> weft::Task<void> {
    try {
      (void)co_await q.get();
    } catch (const weft::QueueShutDown&) {
      refused++;
    }
  };
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < 3; ++i)
    hs.push_back(weft::spawn(getter(q, refused)));
  co_await weft::sleep(2ms);
  q.shutdown();
  for (auto& h : hs)
    co_await h;
  EXPECT_EQ(refused.load(), 3);
}

TEST(Queue, ShutdownWakesWaitingGetters) {
  weft::test::Watchdog dog(60s);
  weft::run(shutdown_wakes_getters_main(), {.workers = 2});
}

weft::Task<void> immediate_main() {
  auto counter = std::make_shared<int>(0);
  weft::Queue<std::shared_ptr<int>> q;
  for (int i = 0; i < 3; ++i)
    q.put_nowait(counter);
  (void)q.get_nowait();  // one taken, not yet done
  std::atomic<bool> joined{false};
  auto joiner = [](weft::Queue<std::shared_ptr<int>>& q, std::atomic<bool>& j) -> weft::Task<void> {
    co_await q.join();
    j = true;
  };
  auto h = weft::spawn(joiner(q, joined));
  co_await weft::sleep(2ms);
  q.shutdown(/*immediate=*/true);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(counter.use_count(), 1);    // the dropped items are destroyed
  EXPECT_EQ(q.unfinished_tasks(), 1u);  // the taken one is still unfinished
  EXPECT_THROW(co_await q.get(), weft::QueueShutDown);
  q.task_done();
  co_await h;
  EXPECT_TRUE(joined.load());
}

TEST(Queue, ImmediateShutdownDropsItemsAndReleasesJoin) {
  weft::test::Watchdog dog(60s);
  weft::run(immediate_main(), {.workers = 2});
}

// ---- plain threads ----

weft::Task<long> consume_sum(weft::Queue<int>& q, int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i)
    sum += co_await q.get();
  co_return sum;
}

TEST(Queue, PlainThreadsAndTasks) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  weft::Queue<int> q(8);
  auto consumer = rt.spawn(consume_sum(q, 2000));
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i)
      q.put_blocking(i);
    for (int i = 1000; i < 2000; ++i) {
      while (!q.try_put(i))
        std::this_thread::yield();
    }
  });
  producer.join();
  auto join = [](weft::JoinHandle<long> h) -> weft::Task<long> { co_return co_await h; };
  EXPECT_EQ(rt.block_on(join(consumer)), 1999L * 2000 / 2);
  // Blocking gets with a timeout.
  EXPECT_EQ(q.get_blocking(5ms), std::nullopt);
  q.put_nowait(7);
  EXPECT_EQ(q.get_blocking(1s), std::optional<int>(7));
}

TEST(Queue, BlockingCallsRefuseWorkerThreads) {
  weft::test::Watchdog dog(60s);
  weft::Queue<int> q;
  auto body = [](weft::Queue<int>& q) -> weft::Task<bool> {
    try {
      (void)q.get_blocking(1ms);
    } catch (const weft::InvalidStateError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(q), {.workers = 1}));
}

}  // namespace

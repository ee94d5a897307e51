// weft::Event: the seed's Event example, set/clear/is_set, wake-all exactly
// once with generations, cancellation and timeouts, plain threads.
#include "weft/event.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// ---- the seed's Event example (2 s scaled to 20 ms) ----

struct Log {
  std::mutex m;
  std::vector<std::string> lines;
  void add(std::string s) {
    std::lock_guard<std::mutex> g(m);
    lines.push_back(std::move(s));
  }
};

weft::Task<void> waiter(weft::Event& event, Log& log, std::string name) {
  log.add(name + " waiting");
  co_await event.wait();
  log.add(name + " triggered");
}

weft::Task<void> setter(weft::Event& event, Log& log) {
  co_await weft::sleep(20ms);
  log.add("set");
  event.set();
}

weft::Task<void> seed_event_main(weft::Event& event, Log& log) {
  std::vector<weft::JoinHandle<void>> tasks;
  tasks.push_back(weft::spawn(waiter(event, log, "A")));
  tasks.push_back(weft::spawn(waiter(event, log, "B")));
  tasks.push_back(weft::spawn(waiter(event, log, "C")));
  tasks.push_back(weft::spawn(setter(event, log)));
  for (auto& t : tasks)
    co_await t;
}

TEST(Event, SeedExample) {
  weft::test::Watchdog dog(60s);
  weft::Event event;
  Log log;
  weft::run(seed_event_main(event, log), {.workers = 2});
  ASSERT_EQ(log.lines.size(), 7u);
  auto pos = [&](const std::string& s) {
    return std::find(log.lines.begin(), log.lines.end(), s) - log.lines.begin();
  };
  for (std::string n : {"A", "B", "C"}) {
    EXPECT_LT(pos(n + " waiting"), pos("set"));
    EXPECT_GT(pos(n + " triggered"), pos("set"));
  }
  EXPECT_TRUE(event.is_set());
}

// ---- API ----

weft::Task<void> api_main(weft::Event& e) {
  EXPECT_FALSE(e.is_set());
  e.set();
  EXPECT_TRUE(e.is_set());
  co_await e.wait();  // set: returns at once
  e.set();            // idempotent
  e.clear();
  EXPECT_FALSE(e.is_set());
  e.clear();
  EXPECT_FALSE(e.is_set());
  bool timed_out = false;
  try {
    co_await weft::wait_for(e.wait(), 5ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
}

TEST(Event, SetClearIsSet) {
  weft::test::Watchdog dog(60s);
  weft::Event e;
  weft::run(api_main(e), {.workers = 1});
}

// ---- a set wakes every current waiter exactly once, even if cleared at once ----

weft::Task<void> wait_and_count(weft::Event& e, std::atomic<int>& woken) {
  co_await e.wait();
  woken++;
}

weft::Task<void> generations_main() {
  weft::Event e;
  std::atomic<int> woken{0};
  std::vector<weft::JoinHandle<void>> first;
  for (int i = 0; i < 5; ++i) {
    first.push_back(weft::spawn(wait_and_count(e, woken)));
    co_await weft::yield();  // one worker: each reaches wait() before we go on
  }
  e.set();
  e.clear();  // the set above still wakes all five
  // A waiter that starts after the clear waits for the next set.
  std::atomic<int> late_woken{0};
  auto late = weft::spawn(wait_and_count(e, late_woken));
  for (auto& h : first)
    co_await h;
  EXPECT_EQ(woken.load(), 5);
  co_await weft::sleep(5ms);
  EXPECT_EQ(late_woken.load(), 0);
  EXPECT_FALSE(late.done());
  e.set();
  co_await late;
  EXPECT_EQ(late_woken.load(), 1);
  EXPECT_EQ(woken.load(), 5);  // nobody was woken twice
}

TEST(Event, SetWakesCurrentWaitersOnceEvenIfClearedAtOnce) {
  weft::test::Watchdog dog(60s);
  weft::run(generations_main(), {.workers = 1});
}

// ---- cancellation ----

weft::Task<void> cancel_main() {
  weft::Event e;
  std::atomic<int> woken{0};
  auto a = weft::spawn(wait_and_count(e, woken));
  auto b = weft::spawn(wait_and_count(e, woken));
  co_await weft::sleep(2ms);
  a.cancel();
  bool cancelled = co_await weft::test::ends_cancelled(a);
  EXPECT_TRUE(cancelled);
  e.set();
  co_await b;
  EXPECT_EQ(woken.load(), 1);  // only b: a left the list
}

TEST(Event, CancelledWaiterLeavesNoTrace) {
  weft::test::Watchdog dog(60s);
  for (unsigned w : {1u, 2u})
    weft::run(cancel_main(), {.workers = w});
}

// event.hpp's memory claim (W10): a waiting wait() is 56 bytes in the frame.
TEST(Event, WaitingAwaiterIs56Bytes) {
  EXPECT_EQ(sizeof(weft::Event::WaitAwaiter), 56u);
}

// ---- wake order ----

weft::Task<void> wait_and_record(weft::Event& e, std::vector<int>& order, int id) {
  co_await e.wait();
  order.push_back(id);  // one worker: no other thread touches the vector
}

weft::Task<void> wake_order_main(int n) {
  weft::Event e;
  std::vector<int> order;
  std::vector<weft::JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i)
    hs.push_back(weft::spawn(wait_and_record(e, order, i)));
  co_await weft::yield();  // one worker: each has reached wait() before we go on
  EXPECT_TRUE(order.empty());
  e.set();
  for (auto& h : hs)
    co_await h;
  // event.hpp: in the order the waits reached the combiner.
  EXPECT_EQ(order, weft::test::first_n(n));
}

TEST(Event, SetResumesWaitersInTheOrderTheyWaited) {
  weft::test::Watchdog dog(60s);
  for (int n = 1; n <= weft::test::kWakeOrderSweep; ++n)
    weft::run(wake_order_main(n), {.workers = 1});
}

// ---- plain threads ----

TEST(Event, PlainThreadsWaitAndSet) {
  weft::test::Watchdog dog(60s);
  weft::Event e;
  EXPECT_FALSE(e.wait_blocking(5ms));  // times out
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      if (e.wait_blocking()) woken++;
    });
  weft::Runtime rt({.workers = 2});
  std::atomic<int> task_woken{0};
  auto h = rt.spawn(wait_and_count(e, task_woken));
  std::this_thread::sleep_for(5ms);
  std::thread setter_thread([&] { e.set(); });
  setter_thread.join();
  for (auto& t : threads)
    t.join();
  auto join = [](weft::JoinHandle<void> h) -> weft::Task<void> { co_await h; };
  rt.block_on(join(h));
  EXPECT_EQ(woken.load(), 4);
  EXPECT_EQ(task_woken.load(), 1);
  EXPECT_TRUE(e.wait_blocking(0ns));  // set: true at once
}

TEST(Event, WaitBlockingRefusesWorkerThreads) {
  weft::test::Watchdog dog(60s);
  weft::Event e;
  auto body = [](weft::Event& e) -> weft::Task<bool> {
    try {
      (void)e.wait_blocking(1ms);
    } catch (const weft::InvalidStateError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(e), {.workers = 1}));
}

}  // namespace

// The plain-thread bridge (weft/threadsafe.hpp): call_soon_threadsafe,
// call_later / call_at with TimerHandle, run_coroutine_threadsafe with
// ConcurrentFuture. Every wait here waits for a state (a std::promise, a
// counter); the watchdogs only guard against hangs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

using weft::test::Watchdog;

/// Spins (yielding the CPU) until `pred` holds: waits for a state, not a time.
template <class P>
void wait_until(P pred) {
  while (!pred())
    std::this_thread::yield();
}

// ---- call_soon_threadsafe ----

TEST(CallSoonThreadsafe, RunsOnAWorkerOfTheRuntime) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  std::promise<weft::Runtime*> ran;
  rt.call_soon_threadsafe([&] { ran.set_value(weft::Runtime::try_current()); });
  EXPECT_EQ(ran.get_future().get(), &rt);
}

TEST(CallSoonThreadsafe, CallsFromOneThreadRunInOrder) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 4});
  std::vector<int> order;  // callbacks run one at a time: no lock needed
  std::promise<void> last;
  constexpr int kCalls = 1000;
  for (int i = 0; i < kCalls; ++i)
    rt.call_soon_threadsafe([&, i] {
      order.push_back(i);
      if (i == kCalls - 1) last.set_value();
    });
  last.get_future().get();
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i)
    EXPECT_EQ(order[i], i);
}

TEST(CallSoonThreadsafe, EachThreadsCallsKeepTheirOrder) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 4});
  constexpr int kThreads = 4, kCalls = 2000;
  std::vector<std::vector<int>> seen(kThreads);
  std::atomic<int> running{0}, concurrent_max{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i)
        rt.call_soon_threadsafe([&, t, i] {
          int now = running.fetch_add(1) + 1;
          if (now > concurrent_max.load()) concurrent_max.store(now);
          seen[t].push_back(i);
          running.fetch_sub(1);
          done.fetch_add(1);
        });
    });
  for (auto& th : threads)
    th.join();
  wait_until([&] { return done.load() == kThreads * kCalls; });
  EXPECT_EQ(concurrent_max.load(), 1);  // one at a time
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<std::size_t>(kCalls));
    for (int i = 0; i < kCalls; ++i)
      ASSERT_EQ(seen[t][i], i) << "thread " << t;
  }
}

TEST(CallSoonThreadsafe, WorksFromInsideATask) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  std::atomic<int> ran{0};
  auto body = [&]() -> weft::Task<void> {
    weft::Runtime::current().call_soon_threadsafe([&] { ran.store(1); });
    co_return;
  };
  rt.block_on(body());
  wait_until([&] { return ran.load() == 1; });
}

TEST(CallSoonThreadsafe, ACallbackMaySpawn) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  std::promise<int> got;
  auto child = [&]() -> weft::Task<void> {
    got.set_value(7);
    co_return;
  };
  rt.call_soon_threadsafe([&] { weft::spawn(child()).detach(); });
  EXPECT_EQ(got.get_future().get(), 7);
}

TEST(CallSoonThreadsafe, AnExceptionIsReportedAndTheNextCallbackRuns) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  testing::internal::CaptureStderr();
  std::promise<void> after;
  rt.call_soon_threadsafe([] { throw std::runtime_error("boom"); });
  rt.call_soon_threadsafe([] { throw weft::CancelledError("stop"); });
  rt.call_soon_threadsafe([&] { after.set_value(); });
  after.get_future().get();
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("weft: exception in callback (call_soon_threadsafe): runtime_error('boom')"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("CancelledError('stop')"), std::string::npos) << err;
  // The worker is still there.
  auto two = []() -> weft::Task<int> { co_return 2; };
  EXPECT_EQ(rt.block_on(two()), 2);
}

TEST(CallSoonThreadsafe, AClosedRuntimeRefusesCalls) {
  weft::Runtime rt({.workers = 1});
  EXPECT_FALSE(rt.is_closed());
  rt.shutdown();
  EXPECT_TRUE(rt.is_closed());
  auto token = std::make_shared<int>(0);
  try {
    rt.call_soon_threadsafe([token] {});
    ADD_FAILURE() << "no exception";
  } catch (const weft::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(token.use_count(), 1);  // the refused callable is gone
  EXPECT_THROW(rt.call_later(1ms, [] {}), weft::RuntimeError);
  EXPECT_THROW(rt.call_at(weft::Clock::now(), [] {}), weft::RuntimeError);
  auto one = []() -> weft::Task<int> { co_return 1; };
  EXPECT_THROW(weft::run_coroutine_threadsafe(one(), rt), weft::RuntimeError);
}

// Callbacks still queued when the shutdown stops the runner are destroyed,
// never leaked; every callable is destroyed exactly once, run or not.
TEST(CallSoonThreadsafe, CallbacksLeftAtShutdownAreDestroyed) {
  Watchdog dog(60s);
  struct Probe {
    std::atomic<int>* gone;
    explicit Probe(std::atomic<int>* g) : gone(g) {}
    Probe(Probe&& o) noexcept : gone(std::exchange(o.gone, nullptr)) {}
    Probe(const Probe&) = delete;
    ~Probe() {
      if (gone) gone->fetch_add(1);
    }
  };
  constexpr int kCalls = 500;
  std::atomic<int> ran{0}, gone{0};
  {
    weft::Runtime rt({.workers = 2});
    std::atomic<bool> first_started{false};
    // The first callback holds the runner until the shutdown has begun, so
    // the others are still queued when it does.
    rt.call_soon_threadsafe([&, p = Probe(&gone)] {
      first_started.store(true);
      wait_until([&] { return rt.is_closed(); });
      ran.fetch_add(1);
    });
    for (int i = 1; i < kCalls; ++i)
      rt.call_soon_threadsafe([&, p = Probe(&gone)] { ran.fetch_add(1); });
    wait_until([&] { return first_started.load(); });
    rt.shutdown();
  }
  EXPECT_EQ(gone.load(), kCalls);
  EXPECT_GE(ran.load(), 1);
  EXPECT_LT(ran.load(), kCalls);  // the runner stopped at its first yield (64 callbacks)
}

// ---- call_later / call_at ----

TEST(CallLater, FiresOnAWorkerNoEarlierThanItsDeadline) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  std::promise<weft::Clock::time_point> fired;
  std::atomic<bool> on_worker{false};
  auto start = weft::Clock::now();
  weft::TimerHandle h = rt.call_later(20ms, [&] {
    on_worker.store(weft::Runtime::try_current() == &rt);
    fired.set_value(weft::Clock::now());
  });
  EXPECT_GE(h.when(), start + 20ms);
  EXPECT_LE(h.when(), weft::Clock::now() + 20ms);
  auto at = fired.get_future().get();
  EXPECT_GE(at, h.when());  // never early
  EXPECT_TRUE(on_worker.load());
  EXPECT_FALSE(h.cancelled());
  EXPECT_FALSE(h.cancel());  // it ran: too late
  EXPECT_FALSE(h.cancelled());
}

TEST(CallLater, CancelBeforeTheDeadlinePreventsTheCallAndFreesTheCallable) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  auto token = std::make_shared<int>(0);
  std::atomic<int> ran{0};
  weft::TimerHandle h = rt.call_later(1h, [&, token] { ran.fetch_add(1); });
  EXPECT_TRUE(h.cancel());
  EXPECT_TRUE(h.cancelled());
  EXPECT_FALSE(h.cancel());  // only the first cancel prevents it
  h = {};                    // the task may not have started: its frame keeps the state
  wait_until([&] { return token.use_count() == 1; });  // freed soon, not in an hour
  EXPECT_EQ(ran.load(), 0);
}

TEST(CallAt, RunsAtATimePointAndReportsIt) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  auto when = weft::Clock::now() + 5ms;
  std::promise<weft::Clock::time_point> fired;
  weft::TimerHandle h = rt.call_at(when, [&] { fired.set_value(weft::Clock::now()); });
  EXPECT_EQ(h.when(), when);
  EXPECT_GE(fired.get_future().get(), when);
}

TEST(CallLater, ADelayInThePastRunsSoon) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  std::promise<void> a, b;
  auto before = weft::Clock::now();
  weft::TimerHandle h1 = rt.call_later(-5s, [&] { a.set_value(); });
  weft::TimerHandle h2 = rt.call_at(weft::Clock::now() - 1h, [&] { b.set_value(); });
  a.get_future().get();
  b.get_future().get();
  EXPECT_GE(h1.when(), before);  // negative delays are zero (asyncio)
  EXPECT_LE(h1.when(), weft::Clock::now());
}

TEST(CallLater, HugeDelaysAreClampedAndNanIsRefused) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  weft::TimerHandle h1 = rt.call_later(std::chrono::hours::max(), [] {});
  EXPECT_EQ(h1.when(), weft::Clock::time_point(std::chrono::nanoseconds(INT64_MAX)));
  weft::TimerHandle h2 = rt.call_later(std::chrono::duration<double>(1e300), [] {});
  EXPECT_EQ(h2.when(), h1.when());
  EXPECT_TRUE(h1.cancel());
  EXPECT_TRUE(h2.cancel());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(rt.call_later(std::chrono::duration<double>(nan), [] {}), std::invalid_argument);
  std::promise<void> ok;
  weft::TimerHandle h3 =
      rt.call_later(std::chrono::duration<double, std::milli>(1.5), [&] { ok.set_value(); });
  ok.get_future().get();
}

TEST(CallLater, AnExceptionIsReported) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  auto token = std::make_shared<int>(0);
  testing::internal::CaptureStderr();
  rt.call_later(0ms, [token] { throw std::logic_error("late"); });
  // The callable is destroyed right after the report is written.
  wait_until([&] { return token.use_count() == 1; });
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("weft: exception in callback (call_later): logic_error('late')"),
            std::string::npos)
      << err;
  std::promise<void> after;
  rt.call_soon_threadsafe([&] { after.set_value(); });  // the worker is fine
  after.get_future().get();
}

TEST(CallLater, PendingTimersAreCancelledByTheShutdown) {
  Watchdog dog(60s);
  auto token = std::make_shared<int>(0);
  weft::TimerHandle h;
  {
    weft::Runtime rt({.workers = 2});
    h = rt.call_later(1h, [token] {});
  }
  EXPECT_TRUE(h.cancelled());
  EXPECT_FALSE(h.cancel());  // the shutdown prevented it, not this call
  h = {};
  EXPECT_EQ(token.use_count(), 1);
}

TEST(CallLater, WorksFromATaskAndFromManyThreads) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  std::atomic<int> ran{0};
  auto body = [&]() -> weft::Task<void> {
    weft::Runtime::current().call_later(1ms, [&] { ran.fetch_add(1); });
    co_return;
  };
  rt.block_on(body());
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        rt.call_later(std::chrono::microseconds(i * 10), [&] { ran.fetch_add(1); });
    });
  for (auto& t : ts)
    t.join();
  wait_until([&] { return ran.load() == 201; });
}

TEST(TimerHandle, AnEmptyHandleThrows) {
  weft::TimerHandle h;
  EXPECT_FALSE(h);
  EXPECT_THROW(h.cancel(), weft::InvalidStateError);
  EXPECT_THROW((void)h.cancelled(), weft::InvalidStateError);
  EXPECT_THROW((void)h.when(), weft::InvalidStateError);
}

// ---- run_coroutine_threadsafe ----

weft::Task<int> add_after(weft::Event* go, int a, int b) {
  co_await go->wait();
  co_return a + b;
}

weft::Task<int> fails() {
  co_await weft::yield();
  throw std::runtime_error("task failed");
}

weft::Task<int> sleeps_long() {
  co_await weft::sleep(1h);
  co_return 0;
}

TEST(RunCoroutineThreadsafe, ResultBlocksUntilTheTaskFinishes) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  weft::Event go;
  weft::ConcurrentFuture<int> f = weft::run_coroutine_threadsafe(add_after(&go, 2, 3), rt);
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.wait_for(0ms));  // a poll
  std::thread setter([&] { go.set(); });
  EXPECT_EQ(f.result(), 5);
  setter.join();
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(f.wait_for(0ms));
  EXPECT_EQ(f.exception(), nullptr);
  weft::ConcurrentFuture<int> copy = f;  // copies share the task
  EXPECT_EQ(copy.result(1s), 5);
}

TEST(RunCoroutineThreadsafe, ResultWithATimeoutThrowsTimeoutErrorAndTheTaskGoesOn) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  weft::Event go;
  auto f = weft::run_coroutine_threadsafe(add_after(&go, 1, 1), rt);
  EXPECT_THROW(f.result(2ms), weft::TimeoutError);
  EXPECT_FALSE(f.wait_for(1ms));
  EXPECT_THROW(f.exception(1ms), weft::TimeoutError);
  go.set();
  EXPECT_TRUE(f.wait_for(std::chrono::hours::max()));
  EXPECT_EQ(f.result(1ns), 2);
  EXPECT_THROW(f.wait_for(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())),
               std::invalid_argument);
}

TEST(RunCoroutineThreadsafe, TheTasksExceptionIsRethrown) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  auto f = weft::run_coroutine_threadsafe(fails(), rt);
  try {
    (void)f.result();
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task failed");
  }
  EXPECT_NE(f.exception(), nullptr);
}

TEST(RunCoroutineThreadsafe, CancelCancelsTheTask) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  auto f = weft::run_coroutine_threadsafe(sleeps_long(), rt);
  EXPECT_TRUE(f.cancel());
  EXPECT_THROW(f.result(), weft::CancelledError);
  EXPECT_TRUE(f.done());
  EXPECT_TRUE(f.cancelled());
  EXPECT_FALSE(f.cancel());  // finished
  EXPECT_THROW(f.exception(), weft::CancelledError);
}

TEST(RunCoroutineThreadsafe, MoveOnlyResultsMoveOut) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  auto make = []() -> weft::Task<std::unique_ptr<int>> { co_return std::make_unique<int>(9); };
  auto f = weft::run_coroutine_threadsafe(make(), rt);
  std::unique_ptr<int> p = std::move(f).result();
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 9);
}

TEST(RunCoroutineThreadsafe, VoidTasks) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 1});
  std::atomic<int> ran{0};
  auto body = [&]() -> weft::Task<void> {
    ran.store(1);
    co_return;
  };
  auto f = weft::run_coroutine_threadsafe(body(), rt);
  f.result();
  EXPECT_EQ(ran.load(), 1);
}

TEST(RunCoroutineThreadsafe, ManyThreadsWaitOnOneFuture) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  weft::Event go;
  auto f = weft::run_coroutine_threadsafe(add_after(&go, 20, 22), rt);
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, f] {
      if (f.result() == 42) ok.fetch_add(1);
    });
  go.set();
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(ok.load(), 4);
}

// Blocking on a worker of the task's runtime could deadlock: refused. Not
// blocking (done, or a zero timeout) is fine there.
TEST(RunCoroutineThreadsafe, BlockingOnAWorkerIsRefused) {
  Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  weft::Runtime other({.workers = 1});
  weft::Event go;
  auto pending = weft::run_coroutine_threadsafe(add_after(&go, 0, 1), rt);
  auto in_task = [&]() -> weft::Task<std::string> {
    std::string out;
    try {
      (void)pending.result();
    } catch (const weft::InvalidStateError& e) {
      out = e.what();
    }
    try {
      (void)pending.wait_for(1s);
    } catch (const weft::InvalidStateError&) {
      out += " | wait_for refused";
    }
    if (!pending.wait_for(0s)) out += " | poll ok";
    co_return out;
  };
  std::string same = rt.block_on(in_task());
  EXPECT_NE(same.find("own runtime"), std::string::npos) << same;
  EXPECT_NE(same.find("wait_for refused"), std::string::npos) << same;
  EXPECT_NE(same.find("poll ok"), std::string::npos) << same;
  std::string foreign = other.block_on(in_task());
  EXPECT_NE(foreign.find("weft worker thread"), std::string::npos) << foreign;
  go.set();
  EXPECT_EQ(pending.result(), 1);
  auto done_in_task = [&]() -> weft::Task<int> { co_return pending.result(); };
  EXPECT_EQ(rt.block_on(done_in_task()), 1);  // done: no blocking, allowed
  // From a task, the handle is awaited instead.
  auto awaits = [&]() -> weft::Task<int> { co_return co_await pending.join_handle(); };
  EXPECT_EQ(rt.block_on(awaits()), 1);
}

TEST(RunCoroutineThreadsafe, EmptyFuturesAndTasksAreRefused) {
  weft::ConcurrentFuture<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_THROW((void)f.done(), weft::InvalidStateError);
  EXPECT_THROW((void)f.result(), weft::InvalidStateError);
  EXPECT_THROW((void)f.wait_for(1ms), weft::InvalidStateError);
  weft::Runtime rt({.workers = 1});
  weft::Task<int> t;
  EXPECT_THROW(weft::run_coroutine_threadsafe(std::move(t), rt), weft::InvalidStateError);
}

TEST(RunCoroutineThreadsafe, AFutureOutlivesItsRuntime) {
  Watchdog dog(60s);
  weft::ConcurrentFuture<int> f;
  {
    weft::Runtime rt({.workers = 1});
    f = weft::run_coroutine_threadsafe(sleeps_long(), rt);
  }  // the shutdown cancels it
  EXPECT_TRUE(f.done());
  EXPECT_TRUE(f.cancelled());
  EXPECT_THROW(f.result(), weft::CancelledError);
}

}  // namespace

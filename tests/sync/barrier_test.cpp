// weft::Barrier: asyncio 3.11's Barrier, case by case against what CPython
// does with the same steps (the expected values in the comments were printed
// by Python 3.11.7), plus the claims of weft/barrier.hpp: errors and their
// messages, reuse across cycles, draining, abort/reset, cancellation, where
// waiters resume, memory ordering across threads (TSan), the awaiter's size.
#include "weft/barrier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

/// What one wait() ended with: its index, "cancelled" or "broken:<message>".
std::string outcome_of(std::int64_t i) {
  return std::to_string(i);
}

weft::Task<std::string> wait_outcome(weft::Barrier& b) {
  try {
    std::int64_t i = co_await b.wait();
    co_return outcome_of(i);
  } catch (const weft::CancelledError&) {
    co_return "cancelled";
  } catch (const weft::BrokenBarrierError& e) {
    std::string what = e.what();
    // Keep asyncio's part of the message ("weft::Barrier::wait: " prefix).
    co_return "broken:" + what.substr(what.find(": ") + 2);
  }
}

/// Yields until `pred()` (other tasks on the single worker run meanwhile).
template <class Pred>
weft::Task<void> until(Pred pred) {
  while (!pred())
    co_await weft::yield();
}

// ---- construction ----

TEST(Barrier, PartiesMustBePositive) {
  EXPECT_THROW(weft::Barrier(0), weft::ValueError);
  EXPECT_THROW(weft::Barrier(-3), weft::ValueError);
  EXPECT_THROW(weft::Barrier(weft::Barrier::kMaxParties + 1), weft::ValueError);
  try {
    weft::Barrier b(0);
    FAIL();
  } catch (const weft::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("parties must be > 0"), std::string::npos) << e.what();
  }
  weft::Barrier b(3);
  EXPECT_EQ(b.parties(), 3);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

TEST(Barrier, BrokenBarrierErrorIsARuntimeError) {
  weft::BrokenBarrierError e;
  const weft::RuntimeError& r = e;  // asyncio: BrokenBarrierError(RuntimeError)
  EXPECT_STREQ(r.what(), "Barrier aborted");
}

TEST(Barrier, WaitOutsideATaskThrowsRuntimeErrorBeforeAnyChange) {
  weft::Barrier b(2);
  auto aw = b.wait();
  EXPECT_THROW((void)aw.await_ready(), weft::RuntimeError);
  EXPECT_EQ(b.n_waiting(), 0);
}

TEST(Barrier, WaitingAwaiterIs64Bytes) {
  EXPECT_LE(sizeof(weft::Barrier::WaitAwaiter), 64u);
}

// ---- one cycle, many cycles ----

weft::Task<void> one_cycle_main() {
  weft::Barrier b(3);
  auto x = weft::spawn(wait_outcome(b));
  auto y = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 2; });
  std::int64_t mine = co_await b.wait();  // trips it
  EXPECT_EQ(mine, 2);
  EXPECT_EQ(b.n_waiting(), 0);  // draining
  std::vector<std::string> got;
  got.push_back(co_await x);
  got.push_back(co_await y);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

TEST(Barrier, IndicesAreTheArrivalOrderAndTheLastTrips) {
  weft::test::Watchdog dog(60s);
  weft::run(one_cycle_main(), {.workers = 1});
}

weft::Task<void> single_party_main() {
  weft::Barrier b(1);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(co_await b.wait(), 0);
  EXPECT_EQ(b.n_waiting(), 0);
}

TEST(Barrier, OnePartyReturnsZeroAtOnce) {
  weft::test::Watchdog dog(60s);
  weft::run(single_party_main(), {.workers = 1});
}

weft::Task<void> cycles_party(weft::Barrier& b, int cycles, std::vector<std::atomic<int>>& seen) {
  for (int c = 0; c < cycles; ++c) {
    std::int64_t i = co_await b.wait();
    seen[static_cast<std::size_t>(c) * 4 + static_cast<std::size_t>(i)]++;
  }
}

TEST(Barrier, ReusedForManyCyclesOnManyWorkers) {
  weft::test::Watchdog dog(120s);
  constexpr int kCycles = 500;
  weft::Barrier b(4);
  std::vector<std::atomic<int>> seen(kCycles * 4);
  auto main_task = [&]() -> weft::Task<void> {
    std::vector<weft::JoinHandle<void>> hs;
    for (int p = 0; p < 4; ++p)
      hs.push_back(weft::spawn(cycles_party(b, kCycles, seen)));
    for (auto& h : hs)
      co_await h;
  };
  weft::run(main_task(), {.workers = 4});
  for (auto& s : seen)
    EXPECT_EQ(s.load(), 1);  // each index exactly once per cycle
}

// ---- draining ----

// Python: b = Barrier(2); A waits; C and D are created; B trips (1): C and D
// run before A has resumed, so they wait to enter the next cycle and are let
// in, in arrival order, once A has left: A 0, C 0, D 1; filling 0/2 after.
weft::Task<void> draining_main() {
  weft::Barrier b(2);
  auto a = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  auto c = weft::spawn(wait_outcome(b));  // queued before A is woken
  auto d = weft::spawn(wait_outcome(b));
  EXPECT_EQ(co_await b.wait(), 1);
  EXPECT_EQ(co_await a, "0");
  EXPECT_EQ(co_await c, "0");
  EXPECT_EQ(co_await d, "1");
  EXPECT_EQ(b.n_waiting(), 0);
}

TEST(Barrier, ArrivalsWhileDrainingEnterTheNextCycleInOrder) {
  weft::test::Watchdog dog(60s);
  weft::run(draining_main(), {.workers = 1});
}

// The tripping task's own next wait() comes while the barrier drains: it waits
// for the released task to leave, then enters as index 0.
weft::Task<void> tripper_again_main() {
  weft::Barrier b(2);
  auto a = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  EXPECT_EQ(co_await b.wait(), 1);
  auto e = weft::spawn(wait_outcome(b));  // the next cycle's second party
  EXPECT_EQ(co_await b.wait(), 0);        // entered after A left: index 0
  EXPECT_EQ(co_await a, "0");
  EXPECT_EQ(co_await e, "1");
}

TEST(Barrier, TheTripperWaitingAgainWaitsForTheDrain) {
  weft::test::Watchdog dog(60s);
  weft::run(tripper_again_main(), {.workers = 1});
}

// ---- abort and reset ----

// Python: X waits in Barrier(2); abort(): X gets "Abort or reset of barrier";
// Y's later wait(): "Barrier aborted"; broken True, n_waiting 0; reset():
// broken False.
weft::Task<void> abort_main() {
  weft::Barrier b(2);
  auto x = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  b.abort();
  EXPECT_TRUE(b.broken());
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_EQ(co_await x, "broken:Abort or reset of barrier");
  EXPECT_EQ(co_await wait_outcome(b), "broken:Barrier aborted");
  b.abort();  // idempotent
  b.reset();
  EXPECT_FALSE(b.broken());
  // Usable again.
  auto p = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  EXPECT_EQ(co_await b.wait(), 1);
  EXPECT_EQ(co_await p, "0");
}

TEST(Barrier, AbortBreaksWaitersAndLaterWaitsUntilReset) {
  weft::test::Watchdog dog(60s);
  weft::run(abort_main(), {.workers = 1});
}

// Python: R waits in Barrier(3); reset(): R gets "Abort or reset of barrier";
// afterwards filling, 0/3.
weft::Task<void> reset_main() {
  weft::Barrier b(3);
  auto r = weft::spawn(wait_outcome(b));
  auto s = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 2; });
  b.reset();
  EXPECT_EQ(b.n_waiting(), 0);  // resetting until they have left
  EXPECT_EQ(co_await r, "broken:Abort or reset of barrier");
  EXPECT_EQ(co_await s, "broken:Abort or reset of barrier");
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.n_waiting(), 0);
  b.reset();  // nobody inside: stays filling
  auto p = weft::spawn(wait_outcome(b));
  auto q = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 2; });
  EXPECT_EQ(co_await b.wait(), 2);
  EXPECT_EQ(co_await p, "0");
  EXPECT_EQ(co_await q, "1");
}

TEST(Barrier, ResetBreaksTheWaitersThenRefills) {
  weft::test::Watchdog dog(60s);
  weft::run(reset_main(), {.workers = 1});
}

// Python: A waits in Barrier(2); B trips (1) and calls reset() before A has
// resumed: A gets "Abort or reset of barrier" (the outcome is decided at the
// resumption); filling 0/2 afterwards.
weft::Task<void> reset_after_trip_main() {
  weft::Barrier b(2);
  auto a = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  EXPECT_EQ(co_await b.wait(), 1);
  b.reset();
  EXPECT_EQ(co_await a, "broken:Abort or reset of barrier");
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
}

TEST(Barrier, ResetAfterTheTripBreaksWhoHasNotResumed) {
  weft::test::Watchdog dog(60s);
  weft::run(reset_after_trip_main(), {.workers = 1});
}

// Python (abort spawned before the trip, so it runs before A resumes): B's
// second wait() waits to enter, abort() refuses it with "Barrier aborted" and
// A, released into a broken barrier, gets "Abort or reset of barrier".
weft::Task<void> abort_it(weft::Barrier& b) {
  b.abort();
  co_return;
}

weft::Task<void> abort_while_entering_main() {
  weft::Barrier b(2);
  auto a = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  auto x = weft::spawn(abort_it(b));
  EXPECT_EQ(co_await b.wait(), 1);  // trips; A is woken after x was queued
  EXPECT_EQ(co_await wait_outcome(b), "broken:Barrier aborted");
  co_await x;
  EXPECT_EQ(co_await a, "broken:Abort or reset of barrier");
  EXPECT_TRUE(b.broken());
}

TEST(Barrier, AbortRefusesTasksWaitingToEnter) {
  weft::test::Watchdog dog(60s);
  weft::run(abort_while_entering_main(), {.workers = 1});
}

// ---- cancellation ----

// Python: A and B wait in Barrier(3); A is cancelled: n_waiting 1, not broken;
// C and D arrive: [('A', 'cancelled'), ('D', 2), ('B', 1), ('C', 1)] -- the
// barrier does not break and C gets the index A had left.
weft::Task<void> cancel_filling_main() {
  weft::Barrier b(3);
  auto a = weft::spawn(wait_outcome(b));
  auto bb = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 2; });
  a.cancel();
  EXPECT_EQ(b.n_waiting(), 2);  // A counts until it has resumed (and left)
  EXPECT_EQ(co_await a, "cancelled");
  EXPECT_EQ(b.n_waiting(), 1);
  EXPECT_FALSE(b.broken());
  auto c = weft::spawn(wait_outcome(b));
  auto d = weft::spawn(wait_outcome(b));
  EXPECT_EQ(co_await bb, "1");
  EXPECT_EQ(co_await c, "1");
  EXPECT_EQ(co_await d, "2");
  EXPECT_EQ(b.n_waiting(), 0);
}

TEST(Barrier, CancellingAFillingWaiterLeavesWithoutBreakingIt) {
  weft::test::Watchdog dog(60s);
  weft::run(cancel_filling_main(), {.workers = 1});
}

weft::Task<void> timeout_main() {
  weft::Barrier b(2);
  bool timed_out = false;
  try {
    (void)co_await weft::wait_for(b.wait(), 5ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.n_waiting(), 0);
  auto p = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  EXPECT_EQ(co_await b.wait(), 1);
  EXPECT_EQ(co_await p, "0");
}

TEST(Barrier, ATimedOutWaitLeavesWithoutBreakingIt) {
  weft::test::Watchdog dog(60s);
  weft::run(timeout_main(), {.workers = 1});
}

// Python: A waits in Barrier(2); B trips (1) and cancels A before it resumed:
// A is cancelled, the barrier is filling 0/2 (A counted as having passed).
weft::Task<void> cancel_after_release_main() {
  weft::Barrier b(2);
  auto a = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  EXPECT_EQ(co_await b.wait(), 1);
  a.cancel();
  EXPECT_EQ(co_await a, "cancelled");
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  auto p = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  EXPECT_EQ(co_await b.wait(), 1);
  EXPECT_EQ(co_await p, "0");
}

TEST(Barrier, CancelledAfterTheReleaseThrowsCancelledAndCountsAsPassed) {
  weft::test::Watchdog dog(60s);
  weft::run(cancel_after_release_main(), {.workers = 1});
}

// A wait to enter (while draining) that is cancelled leaves no trace.
weft::Task<void> cancel_it(weft::JoinHandle<std::string>* h) {
  h->cancel();
  co_return;
}

weft::Task<void> cancel_entering_main() {
  weft::Barrier b(2);
  auto a = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  auto c = weft::spawn(wait_outcome(b));  // queued before A is woken
  auto k = weft::spawn(cancel_it(&c));    // runs after c waits to enter, before A
  EXPECT_EQ(co_await b.wait(), 1);
  co_await k;
  EXPECT_EQ(co_await c, "cancelled");
  EXPECT_EQ(co_await a, "0");
  auto p = weft::spawn(wait_outcome(b));
  co_await until([&] { return b.n_waiting() == 1; });
  EXPECT_EQ(co_await b.wait(), 1);
  EXPECT_EQ(co_await p, "0");
}

TEST(Barrier, ACancelledWaitToEnterLeavesNoTrace) {
  weft::test::Watchdog dog(60s);
  weft::run(cancel_entering_main(), {.workers = 1});
}

// ---- where waiters resume ----

weft::Task<void> mark_after_wait(weft::Barrier& b, bool& resumed) {
  try {
    (void)co_await b.wait();
  } catch (const weft::BrokenBarrierError&) {
  }
  resumed = true;
}

weft::Task<void> not_inline_main() {
  weft::Barrier b(2);
  bool resumed = false;
  auto a = weft::spawn(mark_after_wait(b, resumed));
  co_await until([&] { return b.n_waiting() == 1; });
  (void)co_await b.wait();
  EXPECT_FALSE(resumed);  // released by scheduling, not inside our wait()
  co_await a;
  EXPECT_TRUE(resumed);
  resumed = false;
  auto c = weft::spawn(mark_after_wait(b, resumed));
  co_await until([&] { return b.n_waiting() == 1; });
  b.abort();
  EXPECT_FALSE(resumed);  // nor inside abort()
  co_await c;
  EXPECT_TRUE(resumed);
}

TEST(Barrier, WaitersAreResumedByScheduling) {
  weft::test::Watchdog dog(60s);
  weft::run(not_inline_main(), {.workers = 1});
}

// ---- memory order: what a party wrote before wait() is visible after (TSan) ----

weft::Task<void> publish_party(weft::Barrier& b, std::vector<long>& slots, int me, int parties,
                               int cycles, std::atomic<long>& bad) {
  for (int c = 0; c < cycles; ++c) {
    slots[static_cast<std::size_t>(c * parties + me)] = c * 1000 + me;  // plain write
    (void)co_await b.wait();
    for (int p = 0; p < parties; ++p)  // plain reads of the others' writes
      if (slots[static_cast<std::size_t>(c * parties + p)] != c * 1000 + p) bad++;
  }
}

TEST(Barrier, WritesBeforeWaitAreVisibleAfterIt) {
  weft::test::Watchdog dog(120s);
  constexpr int kParties = 4;
  constexpr int kCycles = 200;
  weft::Barrier b(kParties);
  std::vector<long> slots(kParties * kCycles, -1);
  std::atomic<long> bad{0};
  auto main_task = [&]() -> weft::Task<void> {
    std::vector<weft::JoinHandle<void>> hs;
    for (int p = 0; p < kParties; ++p)
      hs.push_back(weft::spawn(publish_party(b, slots, p, kParties, kCycles, bad)));
    for (auto& h : hs)
      co_await h;
  };
  weft::run(main_task(), {.workers = 4});
  EXPECT_EQ(bad.load(), 0);
}

// reset() and abort() from a plain thread, while tasks wait.
TEST(Barrier, AbortFromAPlainThread) {
  weft::test::Watchdog dog(60s);
  weft::Barrier b(3);
  weft::Runtime rt({.workers = 2});
  auto x = rt.spawn(wait_outcome(b));
  auto y = rt.spawn(wait_outcome(b));
  while (b.n_waiting() != 2)
    std::this_thread::yield();
  b.abort();
  auto join = [&]() -> weft::Task<void> {
    EXPECT_EQ(co_await x, "broken:Abort or reset of barrier");
    EXPECT_EQ(co_await y, "broken:Abort or reset of barrier");
  };
  rt.block_on(join());
  EXPECT_TRUE(b.broken());
  b.reset();
  EXPECT_FALSE(b.broken());
}

}  // namespace

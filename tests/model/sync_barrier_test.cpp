// weft::Barrier under the model: a cancellation racing the trip, and a
// reset() racing the trip, with two parties. Every outcome is one asyncio
// allows; the barrier's counts stay exact (afterwards a fresh cycle of two
// waits returns indices 0 and 1 -- a count leaked by a cancelled waiter would
// leave it resetting, and the model would report the deadlock).
#include <gtest/gtest.h>

#include <vector>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

constexpr int kCancelled = -1;
constexpr int kBroken = -2;

weft::Task<int> wait_barrier(weft::Barrier* b) {
  try {
    co_return static_cast<int>(co_await b->wait());
  } catch (const weft::CancelledError&) {
    co_return kCancelled;
  } catch (const weft::BrokenBarrierError&) {
    co_return kBroken;
  }
}

/// Waits until `b` is done or stuck alone in a filling barrier (n_waiting()
/// is then 1, for good: nobody else arrives), and aborts it out of there.
void finish_stuck(weft::Barrier& barrier, const weft::JoinHandle<int>& b) {
  while (!b.done() && barrier.n_waiting() != 1)
    weft::model::yield_point();
  if (!b.done()) barrier.abort();
  wait_done(b);
}

/// What a task ended with: its wait's outcome, or kCancelled if the task
/// itself ended cancelled (a cancel() that arrived after its wait returned,
/// with no later suspension: asyncio ends such a task cancelled too).
int outcome(const weft::JoinHandle<int>& h) {
  return h.cancelled() ? kCancelled : h.result();
}

/// After any scenario: reset, and one clean cycle (parties() fresh waits:
/// each index once).
void expect_clean_cycle(weft::Runtime& rt, weft::Barrier& barrier) {
  barrier.reset();
  WEFT_MODEL_ASSERT(!barrier.broken());
  WEFT_MODEL_ASSERT(barrier.n_waiting() == 0);
  std::vector<weft::JoinHandle<int>> hs;
  for (std::int64_t i = 0; i < barrier.parties(); ++i)
    hs.push_back(rt.spawn(wait_barrier(&barrier)));
  unsigned seen = 0;
  for (auto& h : hs) {
    wait_done(h);
    const int r = h.result();
    WEFT_MODEL_ASSERT(r >= 0 && r < barrier.parties());
    seen |= 1u << r;
  }
  WEFT_MODEL_ASSERT(seen == (1u << barrier.parties()) - 1);
}

// A waits in the barrier; B arrives while A is cancelled. Either A left first
// (B then waits alone: aborted out here), or B tripped it (B gets 1; A gets
// its index 0, or CancelledError if the cancel reached it after the release).
// A cancellation never breaks the barrier.
TEST(ModelBarrier, CancelRacingTheTrip) {
  weft_test::expect_model_ok("barrier cancel vs trip", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Barrier barrier(2);
    auto a = rt.spawn(wait_barrier(&barrier));
    wait_until_suspended(a);
    auto b = rt.spawn(wait_barrier(&barrier));
    Thread canceller([&] { a.cancel(); }, "canceller");
    canceller.join();
    wait_done(a);
    WEFT_MODEL_ASSERT(outcome(a) == kCancelled || outcome(a) == 0);
    WEFT_MODEL_ASSERT(!barrier.broken());
    finish_stuck(barrier, b);
    if (outcome(a) == 0) WEFT_MODEL_ASSERT(outcome(b) == 1);
    WEFT_MODEL_ASSERT(outcome(b) == 1 || (outcome(b) == kBroken && outcome(a) == kCancelled));
    expect_clean_cycle(rt, barrier);
  });
}

// A waits; B arrives while a plain thread calls reset(). Reset first: A gets
// BrokenBarrierError and B waits to enter until A has left, then waits alone
// (aborted out here). Trip first: B gets 1, and A gets 0 -- or
// BrokenBarrierError if the reset came before A resumed (asyncio decides at
// the resumption too).
TEST(ModelBarrier, ResetRacingTheTrip) {
  weft_test::expect_model_ok("barrier reset vs trip", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Barrier barrier(2);
    auto a = rt.spawn(wait_barrier(&barrier));
    wait_until_suspended(a);
    auto b = rt.spawn(wait_barrier(&barrier));
    Thread resetter([&] { barrier.reset(); }, "resetter");
    resetter.join();
    wait_done(a);
    WEFT_MODEL_ASSERT(outcome(a) == 0 || outcome(a) == kBroken);
    finish_stuck(barrier, b);
    if (outcome(a) == 0) WEFT_MODEL_ASSERT(outcome(b) == 1);
    WEFT_MODEL_ASSERT(outcome(b) == 1 || outcome(b) == kBroken);
    expect_clean_cycle(rt, barrier);
  });
}

// Three parties, two tasks inside, one cancelled while the third arrives and
// an abort() comes from another thread: every wait ends exactly once, with an
// outcome asyncio allows, and the counts stay exact.
TEST(ModelBarrier, CancelAndAbortAgainstThreeParties) {
  weft_test::expect_model_ok("barrier cancel + abort, three parties", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Barrier barrier(3);
    auto a = rt.spawn(wait_barrier(&barrier));
    auto b = rt.spawn(wait_barrier(&barrier));
    wait_until_suspended(a);
    wait_until_suspended(b);
    auto c = rt.spawn(wait_barrier(&barrier));
    Thread canceller([&] { a.cancel(); }, "canceller");
    Thread aborter([&] { barrier.abort(); }, "aborter");
    canceller.join();
    aborter.join();
    wait_done(a);
    wait_done(b);
    wait_done(c);
    // Nobody is left waiting: the abort releases whoever did not trip.
    WEFT_MODEL_ASSERT(outcome(a) == kCancelled || outcome(a) == kBroken || outcome(a) >= 0);
    WEFT_MODEL_ASSERT(outcome(b) == kBroken || outcome(b) >= 0);
    WEFT_MODEL_ASSERT(outcome(c) == kBroken || outcome(c) == 2);
    if (outcome(c) == 2) {
      // It tripped with A and B inside: they got 0 and 1, unless the abort
      // (or A's cancellation) reached them before they resumed.
      WEFT_MODEL_ASSERT(outcome(a) != 2 && outcome(b) != 2);
    }
    WEFT_MODEL_ASSERT(barrier.broken());
    expect_clean_cycle(rt, barrier);
  });
}

}  // namespace

// weft::wait_for timeouts under the model against the plain-thread operations
// that end the same waits: Semaphore::acquire() against release() (and a
// BoundedSemaphore's, against its bound),
// Event::wait() (and a plain thread's wait_blocking with a timeout) against
// set() and a racing clear(), Condition::wait() against notify(1). The
// model's clock is virtual: it jumps to the earliest deadline only when every
// thread waits, so a 1 ms sleep on a plain thread and a task's 1 ms timeout
// end at the same instant and the release / set / notify races the timer's
// cancel. Each waiter ends exactly one way, whatever was handed to a waiter
// that timed out is passed on, and both outcomes are explored.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "model_test.hpp"
#include "sys/clock.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

namespace {

using namespace std::chrono_literals;
using weft::detail::Atomic;
using weft::detail::Thread;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

struct Outcome {
  int got = 0;
  int timed_out = 0;
  int ends() const { return got + timed_out; }
};

// Across the executions of one scenario: which outcomes were explored.
struct Seen {
  std::uint64_t got = 0, timed_out = 0;
  std::uint64_t blocking_got = 0, blocking_timed_out = 0;
};

// (a) Semaphore(0): w waits with weft::wait_for(acquire(), 1 ms), w2 waits
// behind it without a timeout; a plain thread sleeps 1 ms and releases the
// one permit. w takes it (and gives it back) or times out, exactly one; w2
// always gets it (a permit granted to w while its timer cancelled it is
// passed on); afterwards exactly one permit is free, no waiter is counted
// (the fast path is open) and a try_acquire() succeeds. Breaks it: an
// AcquireAwaiter::await_resume that drops the permit of a grant that came
// with the cancel (no give_back: w2 waits forever, a deadlock report); one
// that gives back a permit on every cancel (value() == 2).
weft::Task<void> acquire_within(weft::Semaphore* sem, Outcome* o) {
  try {
    co_await weft::wait_for(sem->acquire(), 1ms);
  } catch (const weft::TimeoutError&) {
    ++o->timed_out;
    co_return;
  }
  ++o->got;
  sem->release();
}

weft::Task<void> acquire_release(weft::Semaphore* sem, Outcome* o) {
  co_await sem->acquire();
  ++o->got;
  sem->release();
}

// The race of (a) and (a'): w times out against the release of the one
// permit, w2 waits behind it. Returns with both done and the permit back.
void wait_for_against_release(weft::Runtime& rt, weft::Semaphore& sem, Seen& seen) {
  Outcome ow, ow2;
  auto w = rt.spawn(acquire_within(&sem, &ow));
  wait_until_suspended(w);
  auto w2 = rt.spawn(acquire_release(&sem, &ow2));
  wait_until_suspended(w2);
  Thread releaser(
      [&] {
        weft::detail::sleep_ns(1'000'000);  // virtual: ends with w's timer
        sem.release();
      },
      "release");
  releaser.join();
  wait_done(w);
  wait_done(w2);
  WEFT_MODEL_ASSERT(ow.ends() == 1);
  WEFT_MODEL_ASSERT(ow2.got == 1);
  WEFT_MODEL_ASSERT(sem.value() == 1);
  seen.got += ow.got;
  seen.timed_out += ow.timed_out;
}

TEST(ModelTimeout, SemaphoreWaitForAgainstRelease) {
  static Seen seen;
  weft_test::expect_model_ok("semaphore wait_for vs release", 2500, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Semaphore sem(0);
    wait_for_against_release(rt, sem, seen);
    WEFT_MODEL_ASSERT(!sem.locked());
    WEFT_MODEL_ASSERT(sem.try_acquire());
  });
  EXPECT_GT(seen.got, 0u);
  EXPECT_GT(seen.timed_out, 0u);
}

// (a') BoundedSemaphore(1), its one permit held by the main thread: w waits
// with weft::wait_for(acquire(), 1 ms), w2 behind it without a timeout; a
// plain thread sleeps 1 ms and releases the permit. As in (a), w ends one way
// and w2 always gets the permit; and the bound holds throughout: the permit
// w passes on when its timeout came with the grant goes back within the
// bound (never lost, never counted twice), so at the end the value is 1 and
// one more release() throws ValueError. Breaks it: an await_resume that
// drops the permit of a grant that came with the timeout (w2 waits forever:
// a deadlock report); a give-back without the bound check (the last
// release() does not throw).
TEST(ModelTimeout, BoundedSemaphoreWaitForAgainstRelease) {
  static Seen seen;
  weft_test::expect_model_ok("bounded semaphore wait_for vs release", 2500, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::BoundedSemaphore sem(1);
    WEFT_MODEL_ASSERT(sem.try_acquire());
    wait_for_against_release(rt, sem, seen);
    bool over = false;
    try {
      sem.release();
    } catch (const weft::ValueError&) {
      over = true;
    }
    WEFT_MODEL_ASSERT(over);
    WEFT_MODEL_ASSERT(sem.value() == 1);
    WEFT_MODEL_ASSERT(sem.try_acquire());
  });
  EXPECT_GT(seen.got, 0u);
  EXPECT_GT(seen.timed_out, 0u);
}

// (b) Event: w waits with weft::wait_for(wait(), 1 ms), w0 waits without a
// timeout, a plain thread waits with wait_blocking(1 ms); one plain thread
// sleeps 1 ms and set()s, another sleeps 1 ms and clear()s. w and the blocking
// waiter each end exactly one way (woken or timed out); w0, waiting before
// the set(), is woken whether or not the clear() follows at once; a task that
// starts waiting once both are done returns at once if the event is still
// set, and otherwise only at a later set(). Breaks it: a clear() that does
// not advance the generation (w0's request, still in the mailbox at the
// set() and clear(), is linked as if no set() had happened: a deadlock
// report); an Event::accept() that grants every arriving waiter (the late
// waiter returns before the second set()).
weft::Task<void> wait_within(weft::Event* e, Outcome* o) {
  try {
    co_await weft::wait_for(e->wait(), 1ms);
  } catch (const weft::TimeoutError&) {
    ++o->timed_out;
    co_return;
  }
  ++o->got;
}

weft::Task<void> wait_event(weft::Event* e, Outcome* o) {
  co_await e->wait();
  ++o->got;
}

weft::Task<void> wait_then_check(weft::Event* e, Atomic<std::uint32_t>* second_set, bool was_set,
                                 Outcome* o) {
  co_await e->wait();
  // Woken by the set() it found, or by the second one, never by the first.
  WEFT_MODEL_ASSERT(was_set || second_set->load() == 1);
  ++o->got;
}

TEST(ModelTimeout, EventWaitForAgainstSetAndClear) {
  static Seen seen;
  weft_test::expect_model_ok("event wait_for vs set vs clear", 2500, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Event e;
    Outcome ow, ow0, olate;
    int blocking_woken = -1;
    auto w = rt.spawn(wait_within(&e, &ow));
    wait_until_suspended(w);
    auto w0 = rt.spawn(wait_event(&e, &ow0));
    wait_until_suspended(w0);
    Thread blocking([&] { blocking_woken = e.wait_blocking(1ms); }, "wait_blocking");
    Thread setter(
        [&] {
          weft::detail::sleep_ns(1'000'000);  // virtual: ends with the timeouts
          e.set();
        },
        "set");
    Thread clearer(
        [&] {
          weft::detail::sleep_ns(1'000'000);  // the same instant: races the set()
          e.clear();
        },
        "clear");
    setter.join();
    clearer.join();
    const bool was_set = e.is_set();  // nobody sets or clears until the second set()
    Atomic<std::uint32_t> second_set{0};
    auto late = rt.spawn(wait_then_check(&e, &second_set, was_set, &olate));
    wait_done(w0);
    WEFT_MODEL_ASSERT(ow0.got == 1);
    blocking.join();
    wait_done(w);
    WEFT_MODEL_ASSERT(ow.ends() == 1);
    WEFT_MODEL_ASSERT(blocking_woken == 0 || blocking_woken == 1);
    second_set.store(1);
    e.set();
    wait_done(late);
    WEFT_MODEL_ASSERT(olate.got == 1);
    seen.got += ow.got;
    seen.timed_out += ow.timed_out;
    seen.blocking_got += blocking_woken == 1;
    seen.blocking_timed_out += blocking_woken == 0;
  });
  EXPECT_GT(seen.got, 0u);
  EXPECT_GT(seen.timed_out, 0u);
  EXPECT_GT(seen.blocking_got, 0u);
  EXPECT_GT(seen.blocking_timed_out, 0u);
}

// (c) Condition: a waits with weft::wait_for(cond.wait(), 1 ms) in a
// predicate loop, b waits without a timeout; the main thread sleeps 1 ms and
// spawns a task that makes one item ready and notify(1)s under the lock. a
// takes the item or times out, exactly one, and comes out of wait_for with
// the lock held either way; the one notification is never lost: if it was
// aimed at a and a timed out, a passes it on and b takes the item (one more
// item and notify for b if a took it). Breaks it: a Condition::wait() that
// does not pass the notification on when cancelled after it (b waits
// forever: a deadlock report); a Condition::match() that spends the credit
// on a cancelled waiter (likewise).
struct CondShared {
  weft::Condition cond;
  int ready = 0;  // guarded by cond's lock
};

weft::Task<void> cond_take_within(CondShared* s, Outcome* o) {
  co_await s->cond.lock();
  try {
    while (s->ready == 0)
      co_await weft::wait_for(s->cond.wait(), 1ms);
  } catch (const weft::TimeoutError&) {
    WEFT_MODEL_ASSERT(s->cond.underlying_lock().held_by_current());
    ++o->timed_out;
    s->cond.unlock();
    co_return;
  }
  WEFT_MODEL_ASSERT(s->cond.underlying_lock().held_by_current());
  --s->ready;
  ++o->got;
  s->cond.unlock();
}

weft::Task<void> cond_take(CondShared* s, Outcome* o) {
  auto guard = co_await s->cond.scoped();
  while (s->ready == 0)
    co_await s->cond.wait();
  --s->ready;
  ++o->got;
}

weft::Task<void> cond_give(CondShared* s) {
  auto guard = co_await s->cond.scoped();
  ++s->ready;
  s->cond.notify(1);
}

TEST(ModelTimeout, ConditionWaitForAgainstNotify) {
  static Seen seen;
  weft_test::expect_model_ok("condition wait_for vs notify", 2500, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    CondShared s;
    Outcome oa, ob;
    auto a = rt.spawn(cond_take_within(&s, &oa));
    wait_until_suspended(a);
    auto b = rt.spawn(cond_take(&s, &ob));
    wait_until_suspended(b);
    weft::detail::sleep_ns(1'000'000);  // virtual: ends with a's timer
    auto n = rt.spawn(cond_give(&s));
    wait_done(n);
    wait_done(a);
    WEFT_MODEL_ASSERT(oa.ends() == 1);
    if (oa.got) wait_done(rt.spawn(cond_give(&s)));  // a took the item: one for b
    wait_done(b);
    WEFT_MODEL_ASSERT(ob.got == 1);
    WEFT_MODEL_ASSERT(s.ready == 0);
    WEFT_MODEL_ASSERT(!s.cond.locked());
    seen.got += oa.got;
    seen.timed_out += oa.timed_out;
  });
  EXPECT_GT(seen.got, 0u);
  EXPECT_GT(seen.timed_out, 0u);
}

}  // namespace

// weft::Lock under the model: grant against withdraw against try_lock against
// plain threads; FIFO with no barging; nothing lost on cancellation.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "model_test.hpp"
#include "sys/clock.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

namespace {

using weft::detail::Atomic;
using weft::detail::Thread;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

weft::Task<void> take_and_hold(weft::Lock* lock, weft::Event* release) {
  co_await lock->lock();
  co_await release->wait();  // holds the lock until told
  lock->unlock();
}

weft::Task<void> take_and_give_back(weft::Lock* lock) {
  co_await lock->lock();
  lock->unlock();
}

// R6: waiter A is withdrawn (cancelled) while waiter B's request is still in
// the combiner's mailbox; the canceller, combining, saw an empty list and
// cleared the waiters flag; the holder then unlocked without a hand-off and a
// try_lock() from a plain thread took the lock past B, who was waiting: FIFO
// broken (barging).
TEST(ModelLock, TryLockNeverBargesPastAPublishedWaiter) {
  weft_test::expect_model_ok("lock try_lock vs waiter in the mailbox", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Lock lock;
    weft::Event release;
    WEFT_MODEL_ASSERT(lock.try_lock());  // the main thread holds it
    auto a = rt.spawn(take_and_give_back(&lock));
    auto b = rt.spawn(take_and_hold(&lock, &release));
    Thread canceller(
        [&] {
          wait_until_suspended(a);
          a.cancel();
        },
        "canceller");
    bool took = false;
    Thread barger(
        [&] {
          wait_until_suspended(b);
          // b waits for the lock (it cannot hold it yet: it keeps it once granted).
          took = lock.try_lock();
          WEFT_MODEL_ASSERT(!took);
        },
        "try_lock");
    wait_until_suspended(b);
    lock.unlock();
    canceller.join();
    barger.join();
    if (took) lock.unlock();
    release.set();
    wait_done(a);
    wait_done(b);
    WEFT_MODEL_ASSERT(!lock.locked());
  });
}

// ---- outcomes counted inside the tasks ----
// A cancel() that arrives after a task's last suspension ends it cancelled and
// drops its value (asyncio's S1), so the tests count what happened inside the
// task, not through its result.
struct Outcome {
  int got = 0;        // lock() returned and the task held the lock
  int cancelled = 0;  // lock() threw CancelledError
};

weft::Task<void> lock_once(weft::Lock* lock, Outcome* o, std::string* order = nullptr,
                           char name = 0) {
  try {
    co_await lock->lock();
  } catch (const weft::CancelledError&) {
    ++o->cancelled;
    throw;
  }
  WEFT_MODEL_ASSERT(lock->held_by_current());
  ++o->got;
  if (order) order->push_back(name);  // under the lock
  lock->unlock();
}

// Across the executions of one scenario: which outcomes were explored.
struct Seen {
  std::uint64_t got = 0, cancelled = 0;
};

// (a) Grant against withdraw: the holder's CAS kWaiting -> kGranted on the
// oldest node and a canceller's CAS kWaiting -> kCancelled decide one outcome.
// Catches a grant that does not test the node's state (a withdrawn waiter is
// handed the lock: the lock is lost to a task that already left, or the task
// is woken twice), and a withdraw that does not test it (the waiter gets
// CancelledError while the lock was handed to it: the lock is never freed,
// and the next waiter never gets it).
TEST(ModelLock, GrantAgainstWithdraw) {
  static Seen seen;
  weft_test::expect_model_ok("lock grant vs withdraw", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Lock lock;
    Outcome wo, no;
    WEFT_MODEL_ASSERT(lock.try_lock());  // the main thread holds it
    auto w = rt.spawn(lock_once(&lock, &wo));
    wait_until_suspended(w);
    auto next = rt.spawn(lock_once(&lock, &no));
    wait_until_suspended(next);
    Thread canceller([&] { w.cancel(); }, "canceller");
    lock.unlock();  // grants w, unless the canceller withdrew it first
    canceller.join();
    wait_done(w);
    wait_done(next);
    WEFT_MODEL_ASSERT(wo.got + wo.cancelled == 1);        // never both, never neither
    WEFT_MODEL_ASSERT(no.got == 1 && no.cancelled == 0);  // passed on either way
    WEFT_MODEL_ASSERT(!lock.locked());
    seen.got += wo.got;
    seen.cancelled += wo.cancelled;
  });
  // Both sides of the race were explored.
  EXPECT_GT(seen.got, 0u);
  EXPECT_GT(seen.cancelled, 0u);
}

// (b) FIFO with a withdrawn waiter in the middle: A, B, C wait in that order,
// B is cancelled while the main thread's unlock() takes the stack (B's node is
// in the word's stack or already in the holder's FIFO list). A holds the lock
// until the cancel is done, so B is withdrawn for certain; A's unlock must
// drop B's node and grant C. Catches a stack served newest first (no
// reversal: C before A), a withdrawn node that is granted anyway, and a
// withdrawn node that ends the hand-off (C never woken: a hang).
TEST(ModelLock, FifoSkipsAWithdrawnWaiter) {
  weft_test::expect_model_ok("lock fifo with a withdrawn waiter", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Lock lock;
    weft::Event release_a;
    std::string order;  // written under the lock
    Outcome oa, ob, oc;
    WEFT_MODEL_ASSERT(lock.try_lock());
    auto a = rt.spawn(
        [](weft::Lock* l, weft::Event* e, std::string* ord, Outcome* o) -> weft::Task<void> {
          co_await l->lock();
          ++o->got;
          ord->push_back('A');
          co_await e->wait();  // holds the lock until told
          l->unlock();
        }(&lock, &release_a, &order, &oa));
    wait_until_suspended(a);
    auto b = rt.spawn(lock_once(&lock, &ob, &order, 'B'));
    wait_until_suspended(b);
    auto c = rt.spawn(lock_once(&lock, &oc, &order, 'C'));
    wait_until_suspended(c);
    Thread canceller([&] { b.cancel(); }, "canceller");
    lock.unlock();  // to A
    canceller.join();
    release_a.set();
    wait_done(a);
    wait_done(b);
    wait_done(c);
    WEFT_MODEL_ASSERT(ob.cancelled == 1 && ob.got == 0);
    WEFT_MODEL_ASSERT(order == "AC");
    WEFT_MODEL_ASSERT(!lock.locked());
  });
}

// (c) The lost-wake-up window: a task's enqueue CAS against the holder's
// unlock-to-zero CAS, with a plain thread's try_lock()/unlock() in between.
// Whatever the order, the waiting task gets the lock. Catches an unlock that
// clears the word with a plain store (a waiter pushed at that instant is
// dropped: the task sleeps forever, which the model reports as a deadlock),
// and an enqueue that pushes onto a free lock (nobody would ever unlock it).
TEST(ModelLock, EnqueueAgainstUnlockToZero) {
  weft_test::expect_model_ok("lock enqueue vs unlock to zero", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Lock lock;
    Outcome o;
    WEFT_MODEL_ASSERT(lock.try_lock());
    auto w = rt.spawn(lock_once(&lock, &o));
    int plain_took = 0;
    Thread plain(
        [&] {
          for (int i = 0; i < 2; ++i) {
            if (lock.try_lock()) {
              ++plain_took;
              lock.unlock();
            }
            weft::model::yield_point();
          }
        },
        "try_lock");
    lock.unlock();  // no wait for w: its push races this
    plain.join();
    wait_done(w);
    WEFT_MODEL_ASSERT(o.got == 1);
    WEFT_MODEL_ASSERT(!lock.locked());
  });
}

// (d) weft::wait_for(lock.lock(), 1 ms) timing out against a grant. The
// model's clock is virtual: it jumps to the earliest deadline only when every
// thread waits, so the main thread's 1 ms sleep and the timeout's 1 ms timer
// end at the same instant, and the unlock() races the timer's cancel. One
// outcome only: the lock taken (no timeout), or TimeoutError with the lock
// passed on (a grant that arrived with the cancel is handed back). Catches a
// timed-out waiter that keeps a grant (the lock stays locked) or that loses
// it and gets the lock anyway.
TEST(ModelLock, WaitForTimeoutAgainstGrant) {
  static Seen seen;
  weft_test::expect_model_ok("lock wait_for timeout vs grant", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Lock lock;
    int got = 0, timed_out = 0;
    WEFT_MODEL_ASSERT(lock.try_lock());
    auto w = rt.spawn([](weft::Lock* l, int* g, int* t) -> weft::Task<void> {
      try {
        co_await weft::wait_for(l->lock(), std::chrono::milliseconds(1));
      } catch (const weft::TimeoutError&) {
        ++*t;
        co_return;
      }
      WEFT_MODEL_ASSERT(l->held_by_current());
      ++*g;
      l->unlock();
    }(&lock, &got, &timed_out));
    wait_until_suspended(w);
    weft::detail::sleep_ns(1'000'000);  // virtual: ends with the timer's tick
    lock.unlock();
    wait_done(w);
    WEFT_MODEL_ASSERT(got + timed_out == 1);
    WEFT_MODEL_ASSERT(!lock.locked());
    seen.got += got;
    seen.cancelled += timed_out;
  });
  EXPECT_GT(seen.got, 0u);
  EXPECT_GT(seen.cancelled, 0u);
}

// (e) The budget path. The task spends its whole budget on an uncontended
// lock, so its lock() of the contended one yields first (before it tries to
// take it) and the worker's resume hook then takes it or waits for it. A
// plain thread cancels the task at any moment after the warm-up: at the
// yield, while it is queued after the yield (the hook delivers it), during
// the hook, while it waits, or after it took the lock. The main thread
// unlocks meanwhile. Exactly one outcome, and the lock is never lost. Catches
// a hook that resumes the frame although it published a wait (two holders),
// a yield cancelled without being withdrawn (the task resumes as if it held
// the lock), and a node published by the hook but never granted or withdrawn
// (a hang).
weft::Task<void> lock_after_spent_budget(weft::Lock* warm, weft::Lock* target, Outcome* o,
                                         Atomic<std::uint32_t>* warmed) {
  for (int i = 0; i < weft::detail::kTaskBudget; ++i) {
    co_await warm->lock();  // never waits: only this task uses it
    warm->unlock();
  }
  warmed->store(1);
  co_await lock_once(target, o);  // the budget is spent: this one yields first
}

TEST(ModelLock, SpentBudgetYieldsBeforeAcquiringAgainstCancel) {
  static Seen seen;
  weft_test::expect_model_ok("lock spent budget vs cancel", 5000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Lock warm, target;
    Outcome o;
    Atomic<std::uint32_t> warmed{0};
    WEFT_MODEL_ASSERT(target.try_lock());
    auto t = rt.spawn(lock_after_spent_budget(&warm, &target, &o, &warmed));
    Thread canceller(
        [&] {
          // Not during the warm-up (a cancel there is delivered at the same
          // yield, and would win every race against the 128 steps).
          while (warmed.load() == 0)
            weft::model::yield_point();
          t.cancel();
        },
        "canceller");
    weft::model::yield_point();
    target.unlock();
    canceller.join();
    wait_done(t);
    WEFT_MODEL_ASSERT(o.got + o.cancelled == 1);
    WEFT_MODEL_ASSERT(!target.locked() && !warm.locked());
    seen.got += o.got;
    seen.cancelled += o.cancelled;
  });
  EXPECT_GT(seen.got, 0u);
  EXPECT_GT(seen.cancelled, 0u);
}

// (e') A cancel() that reaches the task while it is queued after its budget
// yield: the hook must deliver it (CancelledError from that lock(), the lock
// not taken), not take the free lock and leave the cancel for later. One
// worker makes the order certain: the task spawns the canceller just before
// its lock(), so the canceller runs between the yield and the hook.
TEST(ModelLock, CancelDuringTheBudgetYieldIsDeliveredThere) {
  weft_test::expect_model_ok("lock cancel during the budget yield", 2000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 1});
    weft::Lock warm, target;
    weft::Event go;
    weft::JoinHandle<void> self;
    int got = 0, cancelled = 0;
    auto t = rt.spawn([](weft::Lock* w, weft::Lock* l, weft::Event* go,
                         weft::JoinHandle<void>* self, int* g, int* c) -> weft::Task<void> {
      co_await go->wait();     // `self` is set
      co_await weft::yield();  // a new step: the whole budget (a set Event's wait spends one)
      for (int i = 0; i < weft::detail::kTaskBudget; ++i) {
        co_await w->lock();
        w->unlock();
      }
      // Queued ahead of our yield: it runs while we are queued behind it.
      weft::spawn([](weft::JoinHandle<void>* h) -> weft::Task<void> {
        h->cancel();
        co_return;
      }(self));
      try {
        co_await l->lock();
      } catch (const weft::CancelledError&) {
        ++*c;
        throw;
      }
      ++*g;
      l->unlock();
    }(&warm, &target, &go, &self, &got, &cancelled));
    self = t;
    go.set();
    wait_done(t);
    WEFT_MODEL_ASSERT(cancelled == 1 && got == 0);
    WEFT_MODEL_ASSERT(t.cancelled());
    WEFT_MODEL_ASSERT(!target.locked());
  });
}

// (f) Condition: a waiter cancelled while a notify() reaches it. wait()
// re-acquires the lock in every outcome (notified, cancelled, notified then
// cancelled: it passes the notification on), through lock() calls that may
// themselves be cancelled or handed the lock with a cancel on its way.
// Catches a wait() that comes back (or throws) without the lock, a re-acquire
// that loses a hand-off, and a lost notification (the second waiter hangs).
struct CondShared {
  weft::Condition cond;
  int ready = 0;  // guarded by cond's lock
};

weft::Task<void> cond_take(CondShared* s, Outcome* o) {
  co_await s->cond.lock();
  try {
    while (s->ready == 0)
      co_await s->cond.wait();
  } catch (const weft::CancelledError&) {
    WEFT_MODEL_ASSERT(s->cond.underlying_lock().held_by_current());
    ++o->cancelled;
    s->cond.unlock();
    throw;
  }
  WEFT_MODEL_ASSERT(s->cond.underlying_lock().held_by_current());
  --s->ready;
  ++o->got;
  s->cond.unlock();
}

TEST(ModelLock, ConditionReacquiresAgainstCancelAndNotify) {
  weft_test::expect_model_ok("lock condition cancel vs notify", 10000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    CondShared s;
    Outcome oa, ob;
    auto a = rt.spawn(cond_take(&s, &oa));
    wait_until_suspended(a);
    auto b = rt.spawn(cond_take(&s, &ob));
    wait_until_suspended(b);
    Thread canceller([&] { a.cancel(); }, "canceller");
    auto n = rt.spawn([](CondShared* s) -> weft::Task<void> {
      auto guard = co_await s->cond.scoped();
      ++s->ready;
      s->cond.notify(1);
    }(&s));
    canceller.join();
    wait_done(n);
    wait_done(a);
    WEFT_MODEL_ASSERT(oa.got + oa.cancelled == 1);
    if (oa.got) {  // a took the item: one more for b
      auto m = rt.spawn([](CondShared* s) -> weft::Task<void> {
        auto guard = co_await s->cond.scoped();
        ++s->ready;
        s->cond.notify(1);
      }(&s));
      wait_done(m);
    }
    wait_done(b);
    WEFT_MODEL_ASSERT(ob.got == 1);
    WEFT_MODEL_ASSERT(!s.cond.locked());
  });
}

}  // namespace

// weft::Semaphore under the model: grant against withdraw against try_acquire
// against releases from plain threads; FIFO with no barging; no permit lost.
#include <gtest/gtest.h>

#include <string>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

weft::Task<void> acquire_and_hold(weft::Semaphore* sem, weft::Event* release) {
  co_await sem->acquire();
  co_await release->wait();
  sem->release();
}

weft::Task<void> acquire_and_release(weft::Semaphore* sem) {
  co_await sem->acquire();
  sem->release();
}

// R6 for Semaphore: as for Lock, a try_acquire() took a released permit past
// a waiter whose request sat in the mailbox after a canceller cleared the flag.
TEST(ModelSemaphore, TryAcquireNeverBargesPastAPublishedWaiter) {
  weft_test::expect_model_ok("semaphore try_acquire vs waiter in the mailbox", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Semaphore sem(0);
    weft::Event release;
    auto a = rt.spawn(acquire_and_release(&sem));
    auto b = rt.spawn(acquire_and_hold(&sem, &release));
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
          took = sem.try_acquire();  // b waits (it keeps its permit once granted)
          WEFT_MODEL_ASSERT(!took);
        },
        "try_acquire");
    wait_until_suspended(b);
    sem.release();
    canceller.join();
    barger.join();
    if (took) sem.release();
    release.set();
    wait_done(a);
    wait_done(b);
    WEFT_MODEL_ASSERT(sem.value() == 1);  // the one permit, neither lost nor doubled
  });
}

// Waiters cancelled while permits are released from plain threads and
// try_acquire()d: every permit ends up back in the semaphore.
TEST(ModelSemaphore, PermitsBalanceUnderCancellation) {
  weft_test::expect_model_ok("semaphore permits balance", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Semaphore sem(1);
    auto a = rt.spawn(acquire_and_release(&sem));
    auto b = rt.spawn(acquire_and_release(&sem));
    Thread other(
        [&] {
          if (sem.try_acquire()) sem.release();
          b.cancel();
        },
        "other");
    a.cancel();
    other.join();
    wait_done(a);
    wait_done(b);
    WEFT_MODEL_ASSERT(sem.value() == 1);
    WEFT_MODEL_ASSERT(!sem.locked());  // no waiter left counted: the fast path is open
    WEFT_MODEL_ASSERT(sem.try_acquire());
  });
}

// FIFO past a withdrawn waiter: A, B, C wait in that order on a semaphore of
// one permit; B is cancelled while the main thread's release() grants A. A
// holds its permit until the cancel is done, so B is withdrawn for certain;
// A's release must skip B's node and grant C. Catches waiters served newest
// first, a withdrawn node granted anyway (the permit lost to a task that
// left), and a withdrawn node that ends the hand-off (C never woken: a hang).
struct Outcome {
  int got = 0;        // acquire() returned
  int cancelled = 0;  // acquire() threw CancelledError
};

weft::Task<void> acquire_once(weft::Semaphore* sem, Outcome* o, std::string* order, char name,
                              weft::Event* hold = nullptr) {
  try {
    co_await sem->acquire();
  } catch (const weft::CancelledError&) {
    ++o->cancelled;
    throw;
  }
  ++o->got;
  order->push_back(name);  // one permit: one holder at a time
  if (hold) co_await hold->wait();
  sem->release();
}

TEST(ModelSemaphore, FifoSkipsAWithdrawnWaiter) {
  weft_test::expect_model_ok("semaphore fifo with a withdrawn waiter", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Semaphore sem(1);
    weft::Event release_a;
    std::string order;
    Outcome oa, ob, oc;
    WEFT_MODEL_ASSERT(sem.try_acquire());
    auto a = rt.spawn(acquire_once(&sem, &oa, &order, 'A', &release_a));
    wait_until_suspended(a);
    auto b = rt.spawn(acquire_once(&sem, &ob, &order, 'B'));
    wait_until_suspended(b);
    auto c = rt.spawn(acquire_once(&sem, &oc, &order, 'C'));
    wait_until_suspended(c);
    Thread canceller([&] { b.cancel(); }, "canceller");
    sem.release();  // to A
    canceller.join();
    release_a.set();
    wait_done(a);
    wait_done(b);
    wait_done(c);
    WEFT_MODEL_ASSERT(oa.got == 1 && oc.got == 1);
    WEFT_MODEL_ASSERT(ob.cancelled == 1 && ob.got == 0);
    WEFT_MODEL_ASSERT(order == "AC");
    WEFT_MODEL_ASSERT(sem.value() == 1);
  });
}

}  // namespace

// weft::Lock under the model: grant against withdraw against try_lock against
// plain threads; FIFO with no barging; nothing lost on cancellation.
#include <gtest/gtest.h>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

namespace {

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

}  // namespace

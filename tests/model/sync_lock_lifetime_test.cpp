// weft::Lock's lifetime claim under the model (ASan in the model build): the
// task a Lock is handed to may destroy it at once, while the unlock() that
// handed it over is still running; and a Lock destroyed while held, with a
// withdrawn waiter's node still in it, frees that node (LeakSanitizer).
#include <gtest/gtest.h>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

weft::Task<int> take_then_destroy(weft::Lock* lock) {
  co_await lock->lock();
  lock->unlock();
  delete lock;  // the unlock() that handed it to us may still be running
  co_return 1;
}

// A hand-off that touched the Lock after its wake (the holder recorded after
// the wake, say) would be a use-after-free that ASan reports here.
TEST(ModelLockLifetime, WaiterMayDestroyTheLockWhileUnlockIsRunning) {
  weft_test::expect_model_ok("lock destroyed by the waiter it was handed to", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto* lock = new weft::Lock;
    WEFT_MODEL_ASSERT(lock->try_lock());  // this plain thread holds it
    auto a = rt.spawn(take_then_destroy(lock));
    wait_until_suspended(a);  // waiting for the lock (or already done? no: we hold it)
    lock->unlock();           // hands it over; `a` may free it meanwhile
    wait_done(a);
    WEFT_MODEL_ASSERT(a.result() == 1);
  });
}

weft::Task<void> wait_for_lock(weft::Lock* lock) {
  co_await lock->lock();
  lock->unlock();
}

// A waiter withdrawn while the lock is held leaves its node in the lock word
// for the holder; if the holder never unlocks and the Lock goes, ~Lock must
// free it.
TEST(ModelLockLifetime, DestroyedWhileHeldFreesWithdrawnNodes) {
  weft_test::expect_model_ok("lock destroyed held, with a withdrawn waiter", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto* lock = new weft::Lock;
    WEFT_MODEL_ASSERT(lock->try_lock());
    auto a = rt.spawn(wait_for_lock(lock));
    Thread canceller(
        [&] {
          wait_until_suspended(a);
          a.cancel();
        },
        "canceller");
    canceller.join();
    wait_done(a);
    WEFT_MODEL_ASSERT(a.cancelled());
    delete lock;  // still held by this thread: only the withdrawn node is left
  });
}

}  // namespace

// weft::Event under the model: set() and clear() from plain threads against
// waiters being published and cancelled: nobody waiting when set() came
// misses it, nobody is woken twice.
#include <gtest/gtest.h>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

weft::Task<int> wait_event(weft::Event* e) {
  try {
    co_await e->wait();
    co_return 1;
  } catch (const weft::CancelledError&) {
    co_return 0;
  }
}

TEST(ModelEvent, SetAgainstWaitersAndCancellation) {
  weft_test::expect_model_ok("event set vs waiters vs cancel", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Event e;
    auto a = rt.spawn(wait_event(&e));
    auto b = rt.spawn(wait_event(&e));
    Thread canceller([&] { a.cancel(); }, "canceller");
    e.set();
    canceller.join();
    wait_done(a);
    wait_done(b);
    WEFT_MODEL_ASSERT(b.result() == 1);  // not cancelled: it sees the set
    WEFT_MODEL_ASSERT(a.cancelled() || a.result() == 0 || a.result() == 1);
  });
}

// A waiter that started waiting before a set() is woken even if the event is
// cleared again right away (asyncio: set() wakes every waiter at that moment).
TEST(ModelEvent, SetThenClearStillWakesWhoWaited) {
  weft_test::expect_model_ok("event set then clear", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Event e;
    auto a = rt.spawn(wait_event(&e));
    wait_until_suspended(a);
    e.set();
    e.clear();
    wait_done(a);
    WEFT_MODEL_ASSERT(a.result() == 1);
  });
}

// The waiter owns the Event and destroys it as soon as its wait returns, while
// the set() that ended the wait may still be running on another thread (a
// "done" Event in a frame). Under the model build's ASan, any access of set()
// after the wake-up it caused is a use-after-free. Failed before the combiner
// deferred its wake-ups past its last access to the primitive, and before
// set() stopped re-reading the state word after publishing the set bit.
weft::Task<int> wait_then_destroy(weft::Event* e) {
  co_await e->wait();
  delete e;
  co_return 1;
}

TEST(ModelEvent, WaiterMayDestroyTheEventWhileSetIsRunning) {
  weft_test::expect_model_ok("event destroyed by the waiter it woke", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto* e = new weft::Event;
    auto a = rt.spawn(wait_then_destroy(e));
    e->set();
    wait_done(a);
    WEFT_MODEL_ASSERT(a.result() == 1);
  });
}

}  // namespace

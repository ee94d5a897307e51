// weft::Condition under the model: notify() against waiters being published,
// cancelled and re-acquiring the lock; a notification is never lost (a
// cancelled waiter that was notified passes it on) and never duplicated.
#include <gtest/gtest.h>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

struct Shared {
  weft::Condition cond;
  int ready = 0;     // guarded by cond's lock
  int consumed = 0;  // guarded by cond's lock: items taken
};

weft::Task<int> wait_ready(Shared* s, int* took) {
  try {
    auto guard = co_await s->cond.scoped();
    while (s->ready == 0)
      co_await s->cond.wait();
    --s->ready;
    ++*took;
    co_return 1;
  } catch (const weft::CancelledError&) {
    co_return 0;
  }
}

weft::Task<void> notify_one(Shared* s) {
  auto guard = co_await s->cond.scoped();
  ++s->ready;
  s->cond.notify(1);
}

// Two waiters, one cancelled from a plain thread, one notify(): the waiter that
// is not cancelled always gets through (the notification reaches it directly,
// or is passed on by the cancelled one).
TEST(ModelCondition, NotifyAgainstACancelledWaiter) {
  weft_test::expect_model_ok("condition notify vs cancel", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    Shared s;
    int a_took = 0, b_took = 0;
    auto a = rt.spawn(wait_ready(&s, &a_took));
    auto b = rt.spawn(wait_ready(&s, &b_took));
    wait_until_suspended(a);
    wait_until_suspended(b);
    Thread canceller([&] { a.cancel(); }, "canceller");
    auto n = rt.spawn(notify_one(&s));
    canceller.join();
    wait_done(n);
    wait_done(a);
    // a took the one item (whether it then ended cancelled or not, as asyncio
    // ends a task cancelled right before it stops): one more for b.
    if (a_took) wait_done(rt.spawn(notify_one(&s)));
    wait_done(b);
    WEFT_MODEL_ASSERT(a_took + b_took == (a_took ? 2 : 1));
    WEFT_MODEL_ASSERT(b_took == 1);
  });
}

}  // namespace

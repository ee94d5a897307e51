// weft::Queue under the model: hand-offs to waiting getters and putters
// against cancellation and the *_nowait fast paths; FIFO among waiters, no
// barging, no item lost or duplicated.
#include <gtest/gtest.h>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

weft::Task<int> get_one(weft::Queue<int>* q) {
  try {
    co_return co_await q->get();
  } catch (const weft::CancelledError&) {
    co_return -1;
  }
}

// R6 for Queue getters: getter a is cancelled while getter b's request sits in
// the mailbox; an item put then was taken by get_nowait() past b.
TEST(ModelQueue, GetNowaitNeverBargesPastAPublishedGetter) {
  weft_test::expect_model_ok("queue get_nowait vs getter in the mailbox", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Queue<int> q;
    auto a = rt.spawn(get_one(&q));
    auto b = rt.spawn(get_one(&q));
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
          try {
            (void)q.get_nowait();  // b waits for the one item: it is b's
            took = true;
          } catch (const weft::QueueEmpty&) {
          }
          WEFT_MODEL_ASSERT(!took);
        },
        "get_nowait");
    wait_until_suspended(b);
    q.put_nowait(7);
    canceller.join();
    barger.join();
    if (took) q.put_nowait(7);  // give it back so that b can end
    wait_done(a);
    if (a.result() == 7) q.put_nowait(8);  // a got it before its cancel: one for b
    wait_done(b);
    // The item went to a or to b, exactly once; b got the other one if a had it.
    WEFT_MODEL_ASSERT((a.result() == 7) + (b.result() == 7) == 1);
    WEFT_MODEL_ASSERT(q.empty());
  });
}

weft::Task<int> put_one(weft::Queue<int>* q, int v) {
  try {
    co_await q->put(v);
    co_return 1;
  } catch (const weft::CancelledError&) {
    co_return 0;
  }
}

// R6 for Queue putters: a full queue, putter a cancelled while putter b's
// request sits in the mailbox; room freed then was taken by put_nowait() past b.
TEST(ModelQueue, PutNowaitNeverBargesPastAPublishedPutter) {
  weft_test::expect_model_ok("queue put_nowait vs putter in the mailbox", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Queue<int> q(1);
    q.put_nowait(0);  // full
    auto a = rt.spawn(put_one(&q, 1));
    auto b = rt.spawn(put_one(&q, 2));
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
          try {
            q.put_nowait(3);  // b waits for the room: it is b's
            took = true;
          } catch (const weft::QueueFull&) {
          }
          WEFT_MODEL_ASSERT(!took);
        },
        "put_nowait");
    wait_until_suspended(b);
    WEFT_MODEL_ASSERT(q.get_nowait() == 0);  // frees the room
    canceller.join();
    barger.join();
    while (!b.done()) {  // drain so that every putter can end
      try {
        (void)q.get_nowait();
      } catch (const weft::QueueEmpty&) {
      }
      weft::model::yield_point();
    }
    wait_done(a);
    wait_done(b);
  });
}

// The Dekker pairs of queue_core.hpp: a put's publish (or a get's free) reads
// the waiter count after its fetch_add, a waiter counts itself in before the
// combiner reads the counter. Here the get_nowait's free races the putter's
// suspension on the full queue; had the free looked at the putters first
// (or the combiner not looked at freed_ again), the putter would wait
// forever (a lost wake-up the model reports). Putting the free's look first
// on purpose fails this test.
TEST(ModelQueue, FreeNeverMissesAPutterCountingItselfIn) {
  weft_test::expect_model_ok("queue free vs putter counting itself in", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Queue<int> q(1);
    q.put_nowait(0);  // full
    auto a = rt.spawn(put_one(&q, 1));
    WEFT_MODEL_ASSERT(q.get_nowait() == 0);  // races the putter: no wait for it
    // Nothing else touches the queue until the putter is done (a later get
    // would make the combiner look again and hide a missed wake-up).
    wait_done(a);
    WEFT_MODEL_ASSERT(a.result() == 1);
    WEFT_MODEL_ASSERT(q.get_nowait() == 1);
    WEFT_MODEL_ASSERT(q.empty() && !q.full());
  });
}

// The mirror image: the put_nowait's publish races the getter's suspension
// on the empty queue (the hand-over to a waiting getter is not taken while
// the getter has not counted itself in). Putting the publish's look at the
// getters before its fetch_add on purpose fails this test.
TEST(ModelQueue, PublishNeverMissesAGetterCountingItselfIn) {
  weft_test::expect_model_ok("queue publish vs getter counting itself in", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Queue<int> q(1);
    auto a = rt.spawn(get_one(&q));
    q.put_nowait(5);  // races the getter: no wait for it
    wait_done(a);
    WEFT_MODEL_ASSERT(a.result() == 5);
    WEFT_MODEL_ASSERT(q.empty() && !q.full());
  });
}

// Every waiter is counted out exactly once: after the getters were served or
// cancelled, both fast paths are open again (a waiter count left above zero
// would close them for good).
TEST(ModelQueue, WaiterCountsReturnToZero) {
  weft_test::expect_model_ok("queue waiter counts return to zero", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Queue<int> q(1);
    auto a = rt.spawn(get_one(&q));
    auto b = rt.spawn(get_one(&q));
    Thread canceller([&] { a.cancel(); }, "canceller");
    q.put_nowait(1);
    canceller.join();
    wait_done(a);
    if (!a.cancelled() && a.result() == 1) q.put_nowait(2);  // b still waits for one
    wait_done(b);
    WEFT_MODEL_ASSERT(q.empty());
    WEFT_MODEL_ASSERT(q.try_put(3));
    WEFT_MODEL_ASSERT(q.try_get().value_or(-9) == 3);
  });
}

weft::Task<int> get_then_task_done(weft::Queue<int>* q) {
  int v = co_await q->get();
  q->task_done();  // must not throw ValueError: the put counted the item first
  co_return v;
}

// An item is counted unfinished before any getter can see it, on the fast
// path and on the hand-over to a waiting getter: task_done() right after
// get() never underflows, and join's count returns to zero.
TEST(ModelQueue, TaskDoneRightAfterGetNeverUnderflows) {
  weft_test::expect_model_ok("queue task_done after get", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Queue<int> q;
    auto a = rt.spawn(get_then_task_done(&q));
    auto b = rt.spawn(get_then_task_done(&q));
    Thread putter([&] { q.put_nowait(1); }, "putter");
    q.put_nowait(2);
    putter.join();
    wait_done(a);
    wait_done(b);
    WEFT_MODEL_ASSERT(!a.cancelled() && !b.cancelled());
    WEFT_MODEL_ASSERT(a.result() + b.result() == 3);
    WEFT_MODEL_ASSERT(q.unfinished_tasks() == 0);
  });
}

}  // namespace

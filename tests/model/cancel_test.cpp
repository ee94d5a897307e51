// The task state word under the model: wake against cancel against release
// against completion, from workers and plain threads, and the asyncio rules
// that ride on it (one CancelledError per resumption, a request pending at
// the end ends the task cancelled).
#include <gtest/gtest.h>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

namespace weft::detail {
void block_until_complete(TaskHeader* task);  // runtime.cpp
}

namespace {

using weft::detail::Thread;

weft::Task<int> wait_then_value(weft::Event* e) {
  co_await e->wait();
  co_return 5;
}

// A plain thread sets the event (the wake) while another cancels the task,
// with the task's worker releasing it meanwhile. Exactly one of two outcomes,
// and never a hang: the wake won and the task returned its value, or the
// cancellation won (it was withdrawn from the event, or it was woken and the
// pending request ended it cancelled at its end: S1).
TEST(ModelCancel, WakeAgainstCancelAgainstRelease) {
  weft_test::expect_model_ok("task state wake vs cancel", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Event e;
    auto h = rt.spawn(wait_then_value(&e));
    bool cancel_accepted = false;
    Thread canceller([&] { cancel_accepted = h.cancel(); }, "canceller");
    e.set();
    canceller.join();
    weft::detail::block_until_complete(h.header());
    if (h.cancelled()) {
      WEFT_MODEL_ASSERT(cancel_accepted);
    } else {
      WEFT_MODEL_ASSERT(h.result() == 5);
      WEFT_MODEL_ASSERT(!cancel_accepted);  // an accepted cancel always ends it cancelled
    }
    WEFT_MODEL_ASSERT(h.cancelling() == (cancel_accepted ? 1u : 0u));
  });
}

weft::Task<void> child_ends_after(weft::Event* started, weft::Event* second_issued) {
  started->set();
  bool cancelled = false;
  try {
    co_await weft::sleep(std::chrono::seconds(100));
  } catch (const weft::CancelledError&) {
    cancelled = true;
  }
  if (cancelled) co_await second_issued->wait();  // cancelled again while waiting: fine too
  throw weft::CancelledError();
}

weft::Task<int> parent_counts_cancellations(weft::Event* child_started,
                                            weft::Event* second_issued) {
  auto child = weft::spawn(child_ends_after(child_started, second_issued));
  int seen = 0;
  try {
    co_await child;  // the first cancel is handed to the child
  } catch (const weft::CancelledError&) {
    ++seen;
  }
  try {
    co_await weft::yield();  // cleanup with a suspension point
  } catch (const weft::CancelledError&) {
    ++seen;
  }
  co_return seen;
}

// Two cancels of a task that awaits a child, from a plain thread; the child
// ends only after the second cancel() returned, so the parent resumes after
// both, wherever they landed (handed off to the child, or while the parent was
// being woken). asyncio delivers one CancelledError and lets the cleanup run
// (R8: the second was delivered again at the cleanup's suspension). The
// cancels wait until the child has begun: a child cancelled before its first
// step would end at once, and the parent could resume between the two
// cancels and rightly see the second at its yield (the model found that).
TEST(ModelCancel, TwoCancelsOfAJoiningTaskDeliverOneCancelledError) {
  weft_test::expect_model_ok("two cancels of a joining task", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Event child_started, second_issued;
    auto parent = rt.spawn(parent_counts_cancellations(&child_started, &second_issued));
    child_started.wait_blocking();
    parent.cancel();
    parent.cancel();
    second_issued.set();
    weft::detail::block_until_complete(parent.header());
    WEFT_MODEL_ASSERT(!parent.cancelled() && parent.result() == 1);
  });
}

weft::Task<int> lock_then_value(weft::Lock* lock) {
  co_await lock->lock();
  lock->unlock();
  co_return 9;
}

// A lock handed to a waiting task races a cancel from another thread; the task
// has no suspension point after the lock. Either the cancel withdrew the wait
// (CancelledError), or the task got the lock and, if the cancel came before it
// ended, ends cancelled (S1); the lock is never lost or left locked.
TEST(ModelCancel, LockHandOffAgainstCancelWithNoLaterSuspension) {
  weft_test::expect_model_ok("lock hand-off vs cancel", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Lock lock;
    WEFT_MODEL_ASSERT(lock.try_lock());
    auto h = rt.spawn(lock_then_value(&lock));
    bool accepted = false;
    Thread canceller([&] { accepted = h.cancel(); }, "canceller");
    lock.unlock();
    canceller.join();
    weft::detail::block_until_complete(h.header());
    WEFT_MODEL_ASSERT(h.cancelled() == accepted);
    WEFT_MODEL_ASSERT(!lock.locked());
    WEFT_MODEL_ASSERT(lock.try_lock());
    lock.unlock();
  });
}

}  // namespace

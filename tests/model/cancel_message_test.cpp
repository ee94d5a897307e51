// Cancel messages under the model: the hand-over of a cancel(msg) request's
// message from a cancelling thread to the task (cancel_message.hpp) when the
// cancel races the task's resumption (a wake, the worker releasing it, its
// last step), another cancel, and a forward to an awaited task. Whatever the
// interleaving, a task that ends cancelled carries a message that was sent to
// it (or forwarded to it), never an empty or a torn one, and the message its
// body saw is the one its awaiters see. The model build runs under ASan: a
// message freed while read, or leaked, fails the execution.
#include <gtest/gtest.h>

#include <string>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

namespace {

using weft::detail::Thread;

std::string final_message(const weft::JoinHandle<int>& h) {
  try {
    (void)h.exception();
  } catch (const weft::CancelledError& c) {
    return c.what();
  }
  return "<not cancelled>";
}

/// Waits on `e`, then suspends once more, then returns 1; records the message
/// of a CancelledError seen in the body.
weft::Task<int> wait_yield_return(weft::Event* e, std::string* saw) {
  try {
    co_await e->wait();
    co_await weft::yield();
  } catch (const weft::CancelledError& c) {
    *saw = c.what();
    throw;
  }
  co_return 1;
}

// A cancel(msg) from a plain thread against the wake from another, with the
// worker resuming and releasing the task meanwhile: the cancel lands before
// the wait (withdrawn), while the task is woken (pending at a resumption),
// during the yield, or after the last suspension (S1). Either the task returns
// its value, or it ends cancelled with exactly that message.
TEST(ModelCancelMessage, CancelWithMessageAgainstResumption) {
  weft_test::expect_model_ok("cancel message vs resumption", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Event e;
    std::string saw;
    auto h = rt.spawn(wait_yield_return(&e, &saw));
    bool accepted = false;
    Thread canceller([&] { accepted = h.cancel("the message"); }, "canceller");
    e.set();
    canceller.join();
    weft_test::wait_done(h);
    if (h.cancelled()) {
      WEFT_MODEL_ASSERT(accepted);
      WEFT_MODEL_ASSERT(final_message(h) == "the message");
      WEFT_MODEL_ASSERT(saw.empty() ||
                        saw == "the message");  // empty: ended before or after its body's waits
    } else {
      WEFT_MODEL_ASSERT(!accepted);
      WEFT_MODEL_ASSERT(h.result() == 1);
    }
  });
}

weft::Task<int> wait_forever(weft::Event* never, std::string* saw) {
  try {
    co_await never->wait();
  } catch (const weft::CancelledError& c) {
    *saw = c.what();
    throw;
  }
  co_return 0;
}

// Two threads cancel with different messages while the task starts and
// suspends: it ends cancelled with the message of a request that was
// accepted, and its body (if it ran to the wait) saw that same one.
TEST(ModelCancelMessage, TwoCancellersTwoMessages) {
  weft_test::expect_model_ok("two cancellers, two messages", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Event never;
    std::string saw;
    auto h = rt.spawn(wait_forever(&never, &saw));
    bool a_accepted = false, b_accepted = false;
    Thread a([&] { a_accepted = h.cancel("from a"); }, "canceller-a");
    Thread b([&] { b_accepted = h.cancel("from b"); }, "canceller-b");
    a.join();
    b.join();
    weft_test::wait_done(h);
    // The first request ends it; the second may find it finished already.
    WEFT_MODEL_ASSERT(a_accepted || b_accepted);
    WEFT_MODEL_ASSERT(h.cancelled());
    std::string m = final_message(h);
    WEFT_MODEL_ASSERT((a_accepted && m == "from a") || (b_accepted && m == "from b"));
    WEFT_MODEL_ASSERT(saw.empty() || saw == m);
    WEFT_MODEL_ASSERT(h.cancelling() == (a_accepted ? 1u : 0u) + (b_accepted ? 1u : 0u));
  });
}

weft::Task<int> join_child(weft::JoinHandle<int> child) {
  co_return co_await child;
}

// A cancel of the parent (forwarded to the child it awaits, with its message)
// against a direct cancel of the child: both end cancelled, with messages
// that were sent; a parent that reached its join rethrows the child's.
TEST(ModelCancelMessage, ForwardedMessageAgainstADirectOne) {
  weft_test::expect_model_ok("forwarded message vs direct", 20000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Event never;
    std::string child_saw;
    auto child = rt.spawn(wait_forever(&never, &child_saw));
    auto parent = rt.spawn(join_child(child));
    Thread p([&] { parent.cancel("to parent"); }, "cancel-parent");
    child.cancel("to child");
    p.join();
    weft_test::wait_done(parent);
    weft_test::wait_done(child);
    WEFT_MODEL_ASSERT(child.cancelled() && parent.cancelled());
    std::string pm = final_message(parent), cm = final_message(child);
    WEFT_MODEL_ASSERT(cm == "to parent" || cm == "to child");
    WEFT_MODEL_ASSERT(pm == "to parent" || pm == cm);
    WEFT_MODEL_ASSERT(child_saw.empty() || child_saw == cm);
  });
}

}  // namespace

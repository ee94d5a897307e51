// Context variables under the model: a context map shared by reference
// between a plain thread and the tasks it spawned (on two workers), each
// dropping its reference at its own time, and a to_thread job carrying a copy
// to a pool thread while its awaiter is cancelled. Every value is destroyed
// exactly once, by whichever thread drops the last reference, and every
// reader saw the value of its own context.
#include <gtest/gtest.h>

#include <atomic>

#include "model_test.hpp"
#include "sys/thread.hpp"

namespace {

using weft::detail::Thread;
using weft_test::wait_done;

struct Tally {
  std::atomic<int> made{0};
  std::atomic<int> gone{0};
};

struct Counted {
  Tally* t;
  int v;
  Counted(Tally* tally, int x) : t(tally), v(x) { t->made.fetch_add(1); }
  Counted(const Counted& o) : t(o.t), v(o.v) { t->made.fetch_add(1); }
  ~Counted() { t->gone.fetch_add(1); }
};

weft::ContextVar<Counted> var("counted");

weft::Task<int> read_then_set(Tally* tally, int mine) {
  int inherited = var.get().v;
  (void)var.set(tally, mine);
  co_await weft::yield();
  co_return inherited * 100 + var.get().v;
}

TEST(ModelContextVar, SharedMapReleasedByWhoeverIsLast) {
  weft_test::expect_model_ok("context map shared by a thread and two tasks", 3000, [] {
    Tally tally;
    {
      weft::Runtime rt(weft::RunOptions{.workers = 2});
      auto token = var.set(&tally, 7);
      auto a = rt.spawn(read_then_set(&tally, 1));
      auto b = rt.spawn(read_then_set(&tally, 2));
      var.reset(token);  // the thread's reference goes while the tasks run
      Thread other(
          [&] {
            wait_done(a);
            WEFT_MODEL_ASSERT(a.result() == 701);
          },
          "joiner");
      wait_done(b);
      WEFT_MODEL_ASSERT(b.result() == 702);
      other.join();
    }
    WEFT_MODEL_ASSERT(tally.made.load() == tally.gone.load());
  });
}

weft::Task<int> offload(Tally* tally) {
  (void)var.set(tally, 5);
  try {
    co_return co_await weft::to_thread([] { return var.get().v; });
  } catch (const weft::CancelledError&) {
    co_return -1;
  }
}

TEST(ModelContextVar, ToThreadCopyAgainstCancellation) {
  weft_test::expect_model_ok("to_thread context copy vs cancel", 3000, [] {
    Tally tally;
    {
      weft::Runtime rt(weft::RunOptions{.workers = 1});
      auto h = rt.spawn(offload(&tally));
      Thread canceller([&] { h.cancel(); }, "canceller");
      wait_done(h);
      canceller.join();
      int r = h.cancelled() ? -1 : h.result();  // cancelled before it started: no result
      WEFT_MODEL_ASSERT(r == 5 || r == -1);
    }
    WEFT_MODEL_ASSERT(tally.made.load() == tally.gone.load());
  });
}

}  // namespace

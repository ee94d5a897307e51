// weft::Queue under the model: shutdown() and shutdown(immediate=true) from a
// plain thread against waiting getters and putters, some of them cancelled,
// and join() against task_done() and new puts (the epoch). Every waiter ends
// exactly once (an item, QueueShutDown or CancelledError), every item ends
// exactly once (got, or dropped by an immediate shutdown: queue_ledger.hpp),
// and join() returns.
#include <gtest/gtest.h>

#include <cstdint>

#include "model_test.hpp"
#include "queue_ledger.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using weft::detail::Atomic;
using weft::detail::Thread;
using weft_test::Ledger;
using weft_test::Tok;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

// Outcomes counted inside the tasks (a cancel() after a task's last
// suspension ends it cancelled and drops its result).
struct GetOutcome {
  int got = -1;  // the id received
  int shut = 0;
  int cancelled = 0;
  int ends() const { return (got >= 0) + shut + cancelled; }
};

struct PutOutcome {
  int started = 0;  // a task cancelled before it first runs never starts its body
  int ok = 0;
  int shut = 0;
  int cancelled = 0;
  int ends() const { return ok + shut + cancelled; }
};

weft::Task<void> get_one(weft::Queue<Tok>* q, GetOutcome* o) {
  try {
    Tok t = co_await q->get();
    o->got = t.take();
    q->task_done();
  } catch (const weft::QueueShutDown&) {
    ++o->shut;
  } catch (const weft::CancelledError&) {
    ++o->cancelled;
    throw;
  }
}

weft::Task<void> put_one(weft::Queue<Tok>* q, Ledger* l, int id, PutOutcome* o) {
  ++o->started;
  try {
    co_await q->put(Tok(id, l));
    l->put_ok[id] = true;
    ++o->ok;
  } catch (const weft::QueueShutDown&) {
    ++o->shut;
  } catch (const weft::CancelledError&) {
    ++o->cancelled;
    throw;
  }
}

weft::Task<void> join_queue(weft::Queue<Tok>* q) {
  co_await q->join();
}

// Gets what is left after a shutdown (get_nowait throws QueueShutDown once
// the queue is shut down and empty); returns how many there were.
int drain_left(weft::Queue<Tok>& q) {
  int left = 0;
  for (;;) {
    try {
      Tok t = q.get_nowait();
      t.take();
      q.task_done();
      ++left;
    } catch (const weft::QueueShutDown&) {
      return left;
    }
  }
}

// Across the executions of one scenario: which outcomes were explored.
struct Seen {
  std::uint64_t get_shut = 0, get_cancelled = 0, get_item = 0;
  std::uint64_t put_ok = 0, put_shut = 0, put_cancelled = 0, dropped = 0;
};

// The end of a "grant to a waiting putter vs shutdown" execution (c, c2):
// every waiter ended once; a getter refused with QueueShutDown left nothing
// behind; the queue is shut down, empty and has nothing unfinished.
template <std::size_t N>
void check_grant_against_shutdown(weft::Queue<Tok>& q, const PutOutcome& po,
                                  const GetOutcome* const (&gets)[N], Seen& seen) {
  const int left = drain_left(q);
  WEFT_MODEL_ASSERT(po.ends() == 1);
  for (const GetOutcome* o : gets) {
    WEFT_MODEL_ASSERT(o->ends() == 1);
    if (o->shut) WEFT_MODEL_ASSERT(left == 0);
    seen.get_shut += o->shut;
    seen.get_item += o->got >= 0;
  }
  WEFT_MODEL_ASSERT(q.is_shutdown() && q.empty());
  WEFT_MODEL_ASSERT(q.unfinished_tasks() == 0);
  seen.put_ok += po.ok;
  seen.put_shut += po.shut;
}

// (a) shutdown() from a plain thread against two getters (one of them waiting
// for certain and cancelled from another plain thread), a put_nowait() from
// the main thread that races the second getter's get(), and two tasks' puts
// that wait for room (maxsize 1). Every waiter ends exactly once; every item
// put is got exactly once (by a getter or by the final drain); a getter
// refused with QueueShutDown saw the queue empty for good (nothing left for
// the drain: gets go on while items remain, and an awaiting get waits for a
// put still in flight). join() returns. Breaks it: an awaiting get that
// ignores a put in flight (reserve_item, or serve_getters, without its
// slots_in_use() == 0 check) refuses a getter while that put's item is on its
// way (left == 1 with a refused getter); serve_putters without its
// refuse_all on SHUT leaves a putter waiting for room that never comes (a
// deadlock report).
TEST(ModelQueueShutdown, ShutdownAgainstWaitersAndCancel) {
  static Seen seen;
  weft_test::expect_model_ok("queue shutdown vs waiters vs cancel", 2500, [] {
    Ledger l;
    {
      weft::Runtime rt(weft::RunOptions{.workers = 2});
      weft::Queue<Tok> q(1);
      GetOutcome o1, o2;
      PutOutcome po, po2;
      auto g1 = rt.spawn(get_one(&q, &o1));
      wait_until_suspended(g1);
      Thread canceller([&] { g1.cancel(); }, "canceller");
      Thread shutter([&] { q.shutdown(); }, "shutdown");
      auto g2 = rt.spawn(get_one(&q, &o2));  // its get() races the put below
      try {
        q.put_nowait(Tok(0, &l));
        l.put_ok[0] = true;
      } catch (const weft::QueueShutDown&) {
      }
      // Wait for room while item 0 is queued; three items for at most two
      // gets: with g1 cancelled, one of them stays until the shutdown refuses it.
      auto p = rt.spawn(put_one(&q, &l, 1, &po));
      auto p2 = rt.spawn(put_one(&q, &l, 2, &po2));
      canceller.join();
      shutter.join();
      wait_done(g1);
      wait_done(g2);
      wait_done(p);
      wait_done(p2);
      const int left = drain_left(q);
      WEFT_MODEL_ASSERT(o1.ends() == 1 && o2.ends() == 1 && po.ends() == 1 && po2.ends() == 1);
      WEFT_MODEL_ASSERT(o2.cancelled == 0 && po.cancelled == 0 && po2.cancelled == 0);
      if (o1.shut || o2.shut) WEFT_MODEL_ASSERT(left == 0);
      WEFT_MODEL_ASSERT(q.is_shutdown() && q.empty());
      WEFT_MODEL_ASSERT(q.unfinished_tasks() == 0);
      wait_done(rt.spawn(join_queue(&q)));  // returns: nothing unfinished
      seen.get_shut += o1.shut + o2.shut;
      seen.get_cancelled += o1.cancelled;
      seen.get_item += (o1.got >= 0) + (o2.got >= 0);
      seen.put_ok += po.ok + po2.ok;
      seen.put_shut += po.shut + po2.shut;
    }
    l.check(/*dropping=*/false);
  });
  EXPECT_GT(seen.get_shut, 0u);
  EXPECT_GT(seen.get_cancelled, 0u);
  EXPECT_GT(seen.get_item, 0u);
  EXPECT_GT(seen.put_ok, 0u);
  EXPECT_GT(seen.put_shut, 0u);
}

// (c) shutdown() against the combiner's grant of room to a waiting putter: a
// full queue (maxsize 1), a put that waits, then two getters and a plain
// thread's shutdown() at once. The get that takes item 0 frees its room, and
// the combiner grants it to the waiting put while the other get may find the
// queue shut down and empty. A getter refused with QueueShutDown must leave
// nothing behind: the put either got in before the shutdown (then the
// refusal waited for it) or fails with QueueShutDown. Breaks it: the grant
// drawn with a plain fetch_add after the combiner's look at SHUT (the item
// arrives after a getter was refused: left == 1).
TEST(ModelQueueShutdown, GrantToAWaitingPutterAgainstShutdown) {
  static Seen seen;
  weft_test::expect_model_ok("queue grant to a waiting putter vs shutdown", 3000, [] {
    Ledger l;
    {
      weft::Runtime rt(weft::RunOptions{.workers = 2});
      weft::Queue<Tok> q(1);
      q.put_nowait(Tok(0, &l));
      l.put_ok[0] = true;
      PutOutcome po;
      GetOutcome o1, o2;
      auto p = rt.spawn(put_one(&q, &l, 1, &po));
      wait_until_suspended(p);
      auto g1 = rt.spawn(get_one(&q, &o1));
      auto g2 = rt.spawn(get_one(&q, &o2));
      Thread shutter([&] { q.shutdown(); }, "shutdown");
      shutter.join();
      wait_done(p);
      wait_done(g1);
      wait_done(g2);
      const GetOutcome* const gets[] = {&o1, &o2};
      check_grant_against_shutdown(q, po, gets, seen);
    }
    l.check(/*dropping=*/false);
  });
  EXPECT_GT(seen.get_shut, 0u);
  EXPECT_GT(seen.get_item, 0u);
  EXPECT_GT(seen.put_ok, 0u);
  EXPECT_GT(seen.put_shut, 0u);
}

// (c2) The same race through a plain thread's put_blocking(): it waits for
// room in a full queue (maxsize 1) while a task's get frees the room and
// another plain thread shuts the queue down. put_blocking either returns true
// with its item in the queue (got by the getter or by the final drain) or
// throws QueueShutDown with its item destroyed, never both; the getter gets
// item 0 or, once the queue is shut down and empty, QueueShutDown. Breaks it:
// a put_blocking that ignores a grant the combiner could not keep (no
// throw_if_not_kept()) returns true for an item that was refused (the Ledger
// sees a successful put that nobody got).
TEST(ModelQueueShutdown, GrantToABlockingPutterAgainstShutdown) {
  static Seen seen;
  weft_test::expect_model_ok("queue grant to a put_blocking thread vs shutdown", 3000, [] {
    Ledger l;
    {
      weft::Runtime rt(weft::RunOptions{.workers = 2});
      weft::Queue<Tok> q(1);
      q.put_nowait(Tok(0, &l));
      l.put_ok[0] = true;
      PutOutcome po;
      GetOutcome o;
      Thread putter(
          [&] {
            try {
              if (q.put_blocking(Tok(1, &l))) {  // no timeout: true or QueueShutDown
                l.put_ok[1] = true;
                ++po.ok;
              }
            } catch (const weft::QueueShutDown&) {
              ++po.shut;
            }
          },
          "put_blocking");
      auto g = rt.spawn(get_one(&q, &o));
      Thread shutter([&] { q.shutdown(); }, "shutdown");
      shutter.join();
      putter.join();
      wait_done(g);
      const GetOutcome* const gets[] = {&o};
      check_grant_against_shutdown(q, po, gets, seen);
    }
    l.check(/*dropping=*/false);
  });
  EXPECT_GT(seen.get_item, 0u);
  EXPECT_GT(seen.put_ok, 0u);
  EXPECT_GT(seen.put_shut, 0u);
}

// (b) shutdown(immediate=true) from a plain thread against two getters, the
// main thread's put_nowait() and a task's put that waits for room and is
// cancelled from another plain thread. Every waiter ends exactly once; every
// item put is either got or dropped, exactly once; nothing is left in the
// queue; a dropped item counts as done, so that after the getters' task_done()
// nothing is unfinished and join() returns. Breaks it: a drain() that does not
// count its items done (join() hangs, reported as a deadlock, or the
// unfinished count stays above zero); a drain() that also takes the items
// promised to a waiting getter (no kWaiterMask check: it races the
// combiner's grant for the same item; found within 1000 executions, reported
// as a livelock).
TEST(ModelQueueShutdown, ImmediateShutdownAgainstWaitersAndCancel) {
  static Seen seen;
  weft_test::expect_model_ok("queue immediate shutdown vs waiters vs cancel", 2500, [] {
    Ledger l;
    {
      weft::Runtime rt(weft::RunOptions{.workers = 2});
      weft::Queue<Tok> q(1);
      GetOutcome o1, o2;
      PutOutcome po;
      auto g1 = rt.spawn(get_one(&q, &o1));
      Thread shutter([&] { q.shutdown(/*immediate=*/true); }, "shutdown");
      try {
        q.put_nowait(Tok(0, &l));
        l.put_ok[0] = true;
      } catch (const weft::QueueShutDown&) {
      }
      auto p = rt.spawn(put_one(&q, &l, 1, &po));
      auto g2 = rt.spawn(get_one(&q, &o2));
      Thread canceller([&] { p.cancel(); }, "canceller");
      canceller.join();
      shutter.join();
      wait_done(g1);
      wait_done(g2);
      wait_done(p);
      WEFT_MODEL_ASSERT(o1.ends() == 1 && o2.ends() == 1 && po.ends() == po.started);
      WEFT_MODEL_ASSERT(drain_left(q) == 0);  // immediate: nothing stays queued
      WEFT_MODEL_ASSERT(q.qsize() == 0);
      WEFT_MODEL_ASSERT(q.unfinished_tasks() == 0);  // dropped ones count as done
      wait_done(rt.spawn(join_queue(&q)));
      seen.get_shut += o1.shut + o2.shut;
      seen.get_item += (o1.got >= 0) + (o2.got >= 0);
      seen.put_ok += po.ok;
      seen.put_shut += po.shut;
      seen.put_cancelled += po.cancelled;
    }
    l.check(/*dropping=*/true);
    for (int i = 0; i < 2; ++i)
      if (l.put_ok[i] && l.destroyed[i]) ++seen.dropped;
  });
  EXPECT_GT(seen.get_shut, 0u);
  EXPECT_GT(seen.get_item, 0u);
  EXPECT_GT(seen.put_ok, 0u);
  EXPECT_GT(seen.put_shut, 0u);
  EXPECT_GT(seen.put_cancelled, 0u);
  EXPECT_GT(seen.dropped, 0u);
}

// (c) join() against a plain thread's task_done() that brings the count to
// zero, followed at once by a new put (the epoch in unfinished_). Joiner j
// waits for certain before the zero: it must return although the count is
// back at one before the combiner looks (asyncio wakes joiners at the zero).
// Joiner j2 starts at any moment: if it started after the new put, it must
// wait for that item's task_done() too. Breaks it: task_done() without the
// epoch bump, or a serve_joiners() that keeps joiners while the count is not
// zero whatever their epoch (j waits for item 2, whose task_done() comes only
// after j returned: a deadlock report); an accept() that grants every
// arriving joiner (j2 returns before item 2's task_done()).
struct JoinSeen {
  std::uint32_t phase_at_start = 9;
  std::uint32_t second_done_at_return = 9;
};

weft::Task<void> join_late(weft::Queue<int>* q, Atomic<std::uint32_t>* phase,
                           Atomic<std::uint32_t>* second_done, JoinSeen* s) {
  s->phase_at_start = phase->load();
  co_await q->join();
  s->second_done_at_return = second_done->load();
}

weft::Task<void> join_int_queue(weft::Queue<int>* q) {
  co_await q->join();
}

TEST(ModelQueueJoin, JoinSeesAZeroThatANewPutFollowsAtOnce) {
  weft_test::expect_model_ok("queue join vs task_done vs new put", 2500, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Queue<int> q(4);
    Atomic<std::uint32_t> phase{0}, second_done{0};
    JoinSeen s2;
    q.put_nowait(1);
    auto j = rt.spawn(join_int_queue(&q));
    wait_until_suspended(j);
    auto j2 = rt.spawn(join_late(&q, &phase, &second_done, &s2));
    Thread worker(
        [&] {
          WEFT_MODEL_ASSERT(q.get_nowait() == 1);
          q.task_done();  // zero: j is due
          phase.store(1);
          q.put_nowait(2);  // and at one again at once
          phase.store(2);
        },
        "task_done");
    worker.join();
    wait_done(j);  // without item 2's task_done
    second_done.store(1);
    WEFT_MODEL_ASSERT(q.get_nowait() == 2);
    q.task_done();
    wait_done(j2);
    WEFT_MODEL_ASSERT(s2.phase_at_start <= 2 && s2.second_done_at_return <= 1);
    // Started after item 2 was put: returned only after its task_done().
    if (s2.phase_at_start == 2) WEFT_MODEL_ASSERT(s2.second_done_at_return == 1);
    WEFT_MODEL_ASSERT(q.unfinished_tasks() == 0);
  });
}

}  // namespace

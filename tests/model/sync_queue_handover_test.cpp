// weft::Queue under the model: the put-side hand-over straight into a waiting
// getter (QueueCore::try_hand_over) against that getter's cancellation, and
// plain threads' put_blocking()/get_blocking() against tasks' put()/get() and
// cancellation on a queue of size 1. Every item ends exactly once
// (queue_ledger.hpp), FIFO among waiting getters and among one producer's
// items.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "model_test.hpp"
#include "queue_ledger.hpp"
#include "sys/clock.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using namespace std::chrono_literals;
using weft::detail::Thread;
using weft_test::Ledger;
using weft_test::Tok;
using weft_test::wait_done;
using weft_test::wait_until_suspended;

struct GetOutcome {
  int got = -1;  // the id received
  int cancelled = 0;
  int ends() const { return (got >= 0) + cancelled; }
};

weft::Task<void> get_one(weft::Queue<Tok>* q, GetOutcome* o) {
  try {
    Tok t = co_await q->get();
    o->got = t.take();
  } catch (const weft::CancelledError&) {
    ++o->cancelled;
    throw;
  }
}

weft::Task<void> put_from_task(weft::Queue<Tok>* q, Ledger* l, int id) {
  co_await q->put(Tok(id, l));  // room, or a getter waiting: never waits here
  l->put_ok[id] = true;
}

// (a) Getters g and g2 wait, in that order, on an empty queue; a plain thread
// cancels g while the main thread's put_nowait() hands its item over (the
// storage is empty and getters are counted: try_hand_over takes the combiner
// role and moves the item straight into the first getter it can claim). The
// item goes to g, or -- g withdrawn first -- to g2, never to both and never
// into a withdrawn getter's awaiter; if g took it, a task's put() hands a
// second one to g2. Afterwards nothing is queued and both fast paths are
// open again (every getter counted out once). Breaks it: try_hand_over
// without its claim() (the item goes to g although g was withdrawn, and g is
// counted out twice: found within 200 executions, reported as a livelock);
// try_hand_over without its getter count-out (try_get() stays closed and the
// ledger finds item 2 never got).
TEST(ModelQueueHandOver, HandOverAgainstGetterCancel) {
  static std::uint64_t seen_g = 0, seen_g2 = 0;
  weft_test::expect_model_ok("queue hand-over vs getter cancel", 3000, [] {
    Ledger l;
    {
      weft::Runtime rt(weft::RunOptions{.workers = 2});
      weft::Queue<Tok> q(1);
      GetOutcome og, og2;
      auto g = rt.spawn(get_one(&q, &og));
      wait_until_suspended(g);
      auto g2 = rt.spawn(get_one(&q, &og2));
      wait_until_suspended(g2);
      Thread canceller([&] { g.cancel(); }, "canceller");
      q.put_nowait(Tok(0, &l));
      l.put_ok[0] = true;
      canceller.join();
      wait_done(g);
      WEFT_MODEL_ASSERT(og.ends() == 1);
      if (og.got >= 0) wait_done(rt.spawn(put_from_task(&q, &l, 1)));  // one for g2
      wait_done(g2);
      WEFT_MODEL_ASSERT(og2.ends() == 1 && og2.cancelled == 0);
      WEFT_MODEL_ASSERT(og.got >= 0 ? og.got == 0 && og2.got == 1 : og2.got == 0);  // FIFO
      WEFT_MODEL_ASSERT(q.empty());
      WEFT_MODEL_ASSERT(q.try_put(Tok(2, &l)));  // no waiter left counted
      l.put_ok[2] = true;
      auto t = q.try_get();
      WEFT_MODEL_ASSERT(t.has_value());
      if (t) t->take();
      WEFT_MODEL_ASSERT(q.unfinished_tasks() == (og.got >= 0 ? 3u : 2u));
      seen_g += og.got >= 0;
      seen_g2 += og.got < 0;
    }
    l.check(/*dropping=*/false);
  });
  EXPECT_GT(seen_g, 0u);   // the hand-over reached g
  EXPECT_GT(seen_g2, 0u);  // g was withdrawn first
}

// (b) maxsize 1: a plain thread put_blocking()s ids 0..2 and a task put()s ids
// 8..9 (the task may be cancelled while it waits for room); a task get()s
// until cancelled (from a plain thread) or refused, a plain thread
// get_blocking()s until refused; once both producers are done the main
// thread try_put()s id 7 and shuts the queue down, so that the consumers end
// after the drain. Every
// item put is got exactly once, a cancelled put delivers nothing, the plain
// producer is never refused (it ends before the shutdown), once both
// producers are done a try_put() from the main thread succeeds as soon as
// there is room (no putter is left counted), and each consumer sees each
// producer's items in the order they were put. Breaks it: serve_getters() or
// serve_putters() granting a waiter without claim() (a cancelled getter is
// handed an item, a cancelled putter's item is stored: a deadlock or
// livelock report); serve_putters() that does not count the putter out
// (the try_put() never succeeds: a livelock report).
struct Consumer {
  std::vector<int> ids;  // in the order received
  int cancelled = 0;
  int shut = 0;
};

weft::Task<void> consume_task(weft::Queue<Tok>* q, Consumer* c) {
  try {
    for (;;) {
      Tok t = co_await q->get();
      c->ids.push_back(t.take());
    }
  } catch (const weft::QueueShutDown&) {
    ++c->shut;
  } catch (const weft::CancelledError&) {
    ++c->cancelled;
    throw;
  }
}

weft::Task<void> produce_task(weft::Queue<Tok>* q, Ledger* l, int first, int n, int* cancelled) {
  try {
    for (int i = first; i < first + n; ++i) {
      co_await q->put(Tok(i, l));
      l->put_ok[i] = true;
    }
  } catch (const weft::CancelledError&) {
    ++*cancelled;
    throw;
  }
}

// Each producer's ids (0..7 the plain thread's, 8.. the task's) rise.
bool per_producer_fifo(const std::vector<int>& ids) {
  int last_plain = -1, last_task = -1;
  for (int id : ids) {
    int& last = id < 8 ? last_plain : last_task;
    if (id <= last) return false;
    last = id;
  }
  return true;
}

TEST(ModelQueueHandOver, BlockingThreadsAgainstTasksAndCancel) {
  static std::uint64_t seen_put_cancelled = 0, seen_get_cancelled = 0;
  weft_test::expect_model_ok("queue blocking threads vs tasks vs cancel", 2000, [] {
    Ledger l;
    {
      weft::Runtime rt(weft::RunOptions{.workers = 2});
      weft::Queue<Tok> q(1);
      Consumer ct, cb;
      int put_cancelled = 0;
      auto consumer = rt.spawn(consume_task(&q, &ct));
      auto producer = rt.spawn(produce_task(&q, &l, 8, 2, &put_cancelled));
      Thread plain_producer(
          [&] {
            for (int i = 0; i < 3; ++i) {
              q.put_blocking(Tok(i, &l));  // no timeout: true or QueueShutDown
              l.put_ok[i] = true;
            }
          },
          "put_blocking");
      Thread plain_consumer(
          [&] {
            try {
              for (;;) {
                auto t = q.get_blocking();
                WEFT_MODEL_ASSERT(t.has_value());  // no timeout
                if (t) cb.ids.push_back(t->take());
              }
            } catch (const weft::QueueShutDown&) {
              ++cb.shut;
            }
          },
          "get_blocking");
      Thread canceller(
          [&] {
            producer.cancel();
            consumer.cancel();
          },
          "canceller");
      plain_producer.join();
      wait_done(producer);
      // No putter is left counted: the fast path opens again once the
      // plain consumer has made room.
      Tok last(7, &l);
      while (!q.try_put(std::move(last)))  // moved from only on success
        weft::model::yield_point();
      l.put_ok[7] = true;
      q.shutdown();  // every producer is done: the consumers drain, then end
      plain_consumer.join();
      canceller.join();
      wait_done(consumer);
      WEFT_MODEL_ASSERT(l.put_ok[0] && l.put_ok[1] && l.put_ok[2]);
      WEFT_MODEL_ASSERT(cb.shut == 1);
      WEFT_MODEL_ASSERT(ct.shut + ct.cancelled <= 1);
      WEFT_MODEL_ASSERT(per_producer_fifo(ct.ids) && per_producer_fifo(cb.ids));
      WEFT_MODEL_ASSERT(q.empty());
      seen_put_cancelled += put_cancelled;
      seen_get_cancelled += ct.cancelled;
    }
    l.check(/*dropping=*/false);
  });
  EXPECT_GT(seen_put_cancelled, 0u);
  EXPECT_GT(seen_get_cancelled, 0u);
}

// (c) Plain threads' timed waits: one put_blocking(1 ms)s into a full queue,
// another get_blocking(1 ms)s on an empty one; the main thread sleeps 1 ms
// and then makes room in the first (get_nowait) and puts an item into the
// second (put_nowait, a hand-over if the getter still waits). Each grant
// races the waiter's own withdrawal at its deadline (Combiner::wait_blocking:
// the CAS kWaiting -> kCancelled against the combiner's claim; see the end of
// the test for when the deadlines come). Each wait ends one way: put (the
// item is queued) or timed out (it is not: it is destroyed with the waiter's
// awaiter), got the item or timed out (the item is queued); afterwards both
// fast paths are open again. Breaks it: a withdrawal that does not test the
// node's state (Combiner::wait_blocking storing kCancelled over a grant: the
// item is put and reported as timed out); a hand-over that does not claim
// the getter (the item is moved into a withdrawn getter's awaiter and lost).
TEST(ModelQueueHandOver, BlockingTimeoutsAgainstHandOffs) {
  std::uint64_t seen_put = 0, seen_put_timeout = 0, seen_got = 0, seen_get_timeout = 0;
  weft_test::expect_model_ok("queue blocking timeouts vs hand-offs", 2000, [&] {
    Ledger l;
    {
      weft::Queue<Tok> full(1), empty(1);
      full.put_nowait(Tok(0, &l));
      l.put_ok[0] = true;
      bool put = false;
      int got = -1;
      Thread putter(
          [&] {
            put = full.put_blocking(Tok(1, &l), 1ms);
            l.put_ok[1] = put;
          },
          "put_blocking");
      Thread getter(
          [&] {
            auto t = empty.get_blocking(1ms);
            if (t) got = t->take();
          },
          "get_blocking");
      weft::detail::sleep_ns(1'000'000);  // virtual: ends with the waiters' deadlines
      {
        Tok t = full.get_nowait();  // room, at the putter's deadline
        WEFT_MODEL_ASSERT(t.take() == 0);
      }
      empty.put_nowait(Tok(2, &l));  // an item, at the getter's deadline
      l.put_ok[2] = true;
      putter.join();
      getter.join();
      WEFT_MODEL_ASSERT(full.qsize() == (put ? 1u : 0u));
      WEFT_MODEL_ASSERT(empty.qsize() == (got >= 0 ? 0u : 1u));
      WEFT_MODEL_ASSERT(got == -1 || got == 2);
      ++(put ? seen_put : seen_put_timeout);
      ++(got >= 0 ? seen_got : seen_get_timeout);
      for (weft::Queue<Tok>* q : {&full, &empty}) {
        if (auto t = q->try_get()) t->take();
        WEFT_MODEL_ASSERT(q->try_put(Tok(3 + (q == &empty), &l)));  // no waiter left counted
        l.put_ok[3 + (q == &empty)] = true;
        auto t = q->try_get();
        WEFT_MODEL_ASSERT(t.has_value());
        if (t) t->take();
      }
    }
    l.check(/*dropping=*/false);
  });
  // Both ends of each race were explored, each in at least a tenth of the
  // executions (the exploration is deterministic: the test's name seeds it).
  // This failed before put_blocking and get_blocking took their deadline from
  // the model's clock: they read std::chrono::steady_clock, so in the model
  // build a 1 ms timeout ended when the virtual clock jumped by the host's
  // uptime less 1000 s, and only 34 of 2000 puts timed out.
  const std::uint64_t runs = seen_put + seen_put_timeout;
  EXPECT_GE(seen_put * 10, runs);
  EXPECT_GE(seen_put_timeout * 10, runs);
  EXPECT_GE(seen_got * 10, runs);
  EXPECT_GE(seen_get_timeout * 10, runs);
}

}  // namespace

// Plain threads and the blocking pool under the model: a plain thread's
// blocking waits on sync primitives against tasks and cancellation, to_thread
// against cancellation, and the parked worker that holds the driver being
// woken for work (the driver's hand-over between parking workers).
#include <gtest/gtest.h>

#include <chrono>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/sync.hpp"

namespace {

using namespace std::chrono_literals;
using weft::detail::Thread;
using weft_test::wait_done;

weft::Task<int> take(weft::Queue<int>* q) {
  try {
    co_return co_await q->get();
  } catch (const weft::CancelledError&) {
    co_return -1;
  }
}

// A plain thread's put_blocking into a full queue against a task's get that a
// third thread cancels: every item ends up either got or still queued.
TEST(ModelBlocking, PlainThreadPutBlockingAgainstCancelledGetter) {
  weft_test::expect_model_ok("plain thread put_blocking vs cancelled getter", 10000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::Queue<int> q(1);
    q.put_nowait(1);
    auto g = rt.spawn(take(&q));
    Thread canceller([&] { g.cancel(); }, "canceller");
    bool put = q.put_blocking(2, 10s);  // times out only if nobody makes room
    canceller.join();
    wait_done(g);
    int got = g.cancelled() ? -1 : g.result();
    int left = static_cast<int>(q.qsize());
    // Every item that went in was got or is still queued; the put found room
    // only if the getter took an item (it may time out first: time may pass
    // at any point in the model).
    if (put) WEFT_MODEL_ASSERT(got > 0);
    WEFT_MODEL_ASSERT(left + (got > 0 ? 1 : 0) == (put ? 2 : 1));
  });
}

int work(int x) {
  return x * 2;
}

weft::Task<int> offload() {
  try {
    co_return co_await weft::to_thread(work, 21);
  } catch (const weft::CancelledError&) {
    co_return -1;
  }
}

// to_thread's job hand-off and its withdrawal on cancel (the job's waiter
// slot decides), with the pool's thread start, idle wait and shutdown.
TEST(ModelBlocking, ToThreadAgainstCancel) {
  weft_test::expect_model_ok("to_thread vs cancel", 10000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto h = rt.spawn(offload());
    Thread canceller([&] { h.cancel(); }, "canceller");
    canceller.join();
    wait_done(h);
    WEFT_MODEL_ASSERT(h.cancelled() || h.result() == 42 || h.result() == -1);
  });
}

weft::Task<int> offload_to(weft::ThreadPool* pool) {
  try {
    co_return co_await weft::run_in_executor(*pool, work, 21);
  } catch (const weft::RuntimeError&) {
    co_return -2;  // refused: the pool had shut down
  } catch (const weft::CancelledError&) {
    co_return -1;  // discarded
  }
}

// ThreadPool::submit racing shutdown(drain): the job is refused or run, never
// left behind. Before, a submit that passed its `closed` check before
// shutdown() began and enqueued after shutdown() had joined the threads and
// emptied the queue left the job in no one's hands: its task waited forever
// (a deadlock report here).
TEST(ModelBlocking, ThreadPoolSubmitAgainstShutdown) {
  weft_test::expect_model_ok("ThreadPool submit vs shutdown", 10000, [] {
    weft::ThreadPool pool(1);
    weft::Runtime rt(weft::RunOptions{.workers = 1});
    auto h = rt.spawn(offload_to(&pool));
    pool.shutdown(weft::ShutdownMode::drain);
    wait_done(h);
    WEFT_MODEL_ASSERT(h.result() == 42 || h.result() == -2);
  });
}

weft::Task<int> sleep_then(int v) {
  co_await weft::sleep(2ms);
  co_return v;
}

// Both workers park with timers (one of them in the driver), woken by their
// timers and by spawns from a plain thread: the driver changes hands between
// parking workers and every wake-up reaches a worker.
TEST(ModelBlocking, DriverHandOverBetweenParkingWorkers) {
  weft_test::expect_model_ok("driver hand-over", 10000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    auto a = rt.spawn(sleep_then(1));
    auto b = rt.spawn(sleep_then(2));
    weft::JoinHandle<int> c;
    Thread spawner([&] { c = rt.spawn(sleep_then(3)); }, "spawner");
    spawner.join();
    wait_done(a);
    wait_done(b);
    wait_done(c);
    WEFT_MODEL_ASSERT(a.result() + b.result() + c.result() == 6);
  });
}

}  // namespace

#include "blocking/blocking_pool.hpp"

#include <atomic>
#include <cstdio>
#include <new>

#include "sys/futex.hpp"
#include "sys/mpmc_queue.hpp"
#include "sys/thread.hpp"
#include "weft/detail/atomic.hpp"

namespace weft::detail {

struct BlockingPool::State {
  BlockingMpmcQueue<BlockingJob*> queue;
  const std::size_t max_threads;
  const std::chrono::milliseconds keep_alive;
  detail::Atomic<std::size_t> threads{0};
  detail::Atomic<std::size_t> idle{0};
  detail::Atomic<bool> closed{false};
  /// Bumped whenever a thread exits, for shutdown's futex wait.
  detail::Atomic<std::uint32_t> exits{0};

  State(std::size_t max, std::chrono::milliseconds ka) : max_threads(max), keep_alive(ka) {}
};

namespace {

void pool_thread(std::shared_ptr<BlockingPool::State> s);

void start_thread(const std::shared_ptr<BlockingPool::State>& s) {
  Thread t([s] { pool_thread(s); }, "weft-blocking");
  t.detach();  // the thread owns a reference to the state; shutdown waits on `threads`
}

void exit_thread(BlockingPool::State& s) {
  s.threads.fetch_sub(1, std::memory_order_acq_rel);
  s.exits.fetch_add(1, std::memory_order_release);
  futex_wake(&s.exits, 1 << 30);
}

void pool_thread(std::shared_ptr<BlockingPool::State> sp) {
  BlockingPool::State& s = *sp;
  for (;;) {
    BlockingJob* job = nullptr;
    if (s.queue.try_dequeue(job)) {
      if (job) job->execute();  // null: shutdown's wake-up
      continue;
    }
    if (s.closed.load(std::memory_order_acquire)) break;
    s.idle.fetch_add(1, std::memory_order_seq_cst);
    bool got = s.queue.wait_dequeue_timed(job, s.keep_alive);
    // seq_cst: pairs with submit(): enqueue, then read idle.
    s.idle.fetch_sub(1, std::memory_order_seq_cst);
    if (got) {
      if (job) job->execute();
      continue;
    }
    // Idle for keep_alive: retire, unless work slipped in meanwhile.
    // seq_cst fence: the queue read must not move above the idle decrement
    // (Dekker pairing with submit()); under TSan submit() does an RMW on
    // `idle` instead, which our RMW above already pairs with.
#ifndef WEFT_TSAN
    detail::fence(std::memory_order_seq_cst);
#endif
    if (s.queue.size_approx() == 0 && !s.closed.load(std::memory_order_acquire)) break;
  }
  exit_thread(s);
}

}  // namespace

BlockingPool::BlockingPool(std::size_t max_threads, std::chrono::milliseconds keep_alive)
    : state_(std::make_shared<State>(max_threads ? max_threads : 1, keep_alive)) {}

BlockingPool::~BlockingPool() {
  shutdown(std::chrono::milliseconds(10'000));
}

void BlockingPool::submit(BlockingJob* job) {
  State& s = *state_;
  if (s.closed.load(std::memory_order_acquire))
    throw RuntimeError("weft: the runtime's blocking pool has shut down");
  if (!s.queue.enqueue(job)) throw std::bad_alloc();  // not queued: the caller still owns it
    // seq_cst fence: the enqueue's stores must not be reordered after the read
    // of `idle` (Dekker pairing with a retiring thread; see the header).
#ifdef WEFT_TSAN
  if (s.idle.fetch_add(0, std::memory_order_seq_cst) > 0) return;  // TSan: no fences
#else
  detail::fence(std::memory_order_seq_cst);
  if (s.idle.load(std::memory_order_relaxed) > 0) return;
#endif
  std::size_t n = s.threads.load(std::memory_order_relaxed);
  while (n < s.max_threads) {
    if (s.threads.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) {
      try {
        start_thread(state_);
      } catch (...) {
        s.threads.fetch_sub(1, std::memory_order_acq_rel);
        // No thread to run it: the job stays queued for an existing thread, or
        // (none at all) cannot run: the awaiting task must not hang.
        if (s.threads.load(std::memory_order_acquire) == 0) {
          BlockingJob* j = nullptr;
          while (s.queue.try_dequeue(j))
            j->discard();
        }
        throw RuntimeError("weft: cannot start a blocking-pool thread");
      }
      return;
    }
  }
  // At the cap: the job waits in the queue for the next free thread.
}

void BlockingPool::shutdown(std::chrono::milliseconds timeout) {
  State& s = *state_;
  if (s.closed.exchange(true, std::memory_order_acq_rel)) return;
  // Wake every idle thread so it sees `closed`; each drains what is queued
  // first. A wake-up that cannot be queued (out of memory) only delays that
  // thread until its keep-alive wait ends.
  for (std::size_t i = 0, n = s.threads.load(); i < n; ++i)
    (void)s.queue.enqueue(nullptr);
  const std::int64_t deadline =
      monotonic_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  for (;;) {
    std::uint32_t seen = s.exits.load(std::memory_order_acquire);
    if (s.threads.load(std::memory_order_acquire) == 0) break;
    const std::int64_t now = monotonic_ns();
    if (now >= deadline) {
      std::fprintf(stderr,
                   "weft: blocking pool: %zu thread(s) still running a job at shutdown; "
                   "leaving them\n",
                   s.threads.load());
      return;
    }
    futex_wait(&s.exits, seen, deadline - now);
  }
  // No thread left: jobs submitted concurrently with shutdown never run.
  BlockingJob* j = nullptr;
  while (s.queue.try_dequeue(j))
    if (j) j->discard();
}

BlockingPoolStats BlockingPool::stats() const noexcept {
  BlockingPoolStats st;
  st.threads = state_->threads.load(std::memory_order_relaxed);
  st.idle = state_->idle.load(std::memory_order_relaxed);
  st.queued = state_->queue.size_approx();
  return st;
}

}  // namespace weft::detail

// ThreadPool: a fixed set of threads running BlockingJobs (see weft/blocking.hpp).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "sys/futex.hpp"
#include "sys/mpmc_queue.hpp"
#include "sys/thread.hpp"
#include "weft/blocking.hpp"
#include "weft/detail/atomic.hpp"

namespace weft {

struct ThreadPool::State {
  detail::BlockingMpmcQueue<detail::BlockingJob*> queue;
  std::vector<detail::Thread> threads;
  detail::Atomic<bool> closed{false};
  detail::Atomic<bool> cancel_pending{false};
  /// submit() calls between their `closed` check and their enqueue: shutdown
  /// waits for them, so that nothing enters the queue after it is settled.
  detail::Atomic<std::uint32_t> submitting{0};
  bool joined = false;

  void leave_submit() noexcept {
    // seq_cst (both): if shutdown() read `submitting` before this decrement,
    // its `closed` exchange came first, so the load below sees it and wakes.
    if (submitting.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        closed.load(std::memory_order_seq_cst))
      detail::futex_wake(&submitting, 1 << 30);
  }
};

ThreadPool::ThreadPool(std::size_t threads) : ThreadPool(threads, std::string()) {}

ThreadPool::ThreadPool(std::size_t threads, const std::string& prefix)
    : state_(std::make_unique<State>()) {
  if (threads == 0)
    throw std::invalid_argument(
        "weft::ThreadPool: needs at least one thread (max_workers must be greater than 0)");
  State* s = state_.get();
  for (std::size_t i = 0; i < threads; ++i) {
    // Python: f"{thread_name_prefix}_{i}"; weft's own names without a prefix.
    std::string name =
        prefix.empty() ? "weft-pool" + std::to_string(i) : prefix + "_" + std::to_string(i);
    s->threads.emplace_back(
        [s] {
          for (;;) {
            detail::BlockingJob* job = nullptr;
            s->queue.wait_dequeue(job);
            if (!job) return;  // one stop token per thread, queued after all real work
            if (s->cancel_pending.load(std::memory_order_acquire))
              job->discard();
            else
              job->execute();
          }
        },
        name.substr(0, 15).c_str());
  }
}

ThreadPool::~ThreadPool() {
  shutdown(ShutdownMode::drain);
}

void ThreadPool::submit(detail::BlockingJob* job) {
  State& s = *state_;
  // seq_cst (both): Dekker with shutdown(): it sets `closed`, then reads
  // `submitting`; this announces itself, then reads `closed`. Either
  // shutdown waits for this enqueue, or this call sees `closed` and throws.
  s.submitting.fetch_add(1, std::memory_order_seq_cst);
  if (s.closed.load(std::memory_order_seq_cst)) {
    s.leave_submit();
    throw RuntimeError("weft::ThreadPool: cannot schedule new work after shutdown");
  }
  const bool queued = s.queue.enqueue(job);
  s.leave_submit();
  if (!queued) throw std::bad_alloc();  // not queued: the caller still owns the job
}

void ThreadPool::shutdown(ShutdownMode mode) {
  State& s = *state_;
  if (mode == ShutdownMode::cancel_pending) s.cancel_pending.store(true, std::memory_order_release);
  // seq_cst: Dekker with submit() (see there).
  if (!s.closed.exchange(true, std::memory_order_seq_cst)) {
    for (std::uint32_t n; (n = s.submitting.load(std::memory_order_seq_cst)) != 0;)
      detail::futex_wait(&s.submitting, n, -1);
    // The queue now holds all the work it will ever get.
    for (std::size_t i = 0; i < s.threads.size(); ++i) {
      if (!s.queue.enqueue(nullptr)) {
        // A thread without its stop token would never exit, and join() would hang.
        std::fputs("weft: out of memory stopping a ThreadPool; terminating\n", stderr);
        std::abort();
      }
    }
  }
  if (s.joined) return;
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
  s.joined = true;
  // moodycamel orders items per producer only: a thread may have taken its
  // stop token before work queued by another thread. That work is settled
  // here, on the caller's thread, as `mode` says.
  const bool cancel = s.cancel_pending.load(std::memory_order_acquire);
  detail::BlockingJob* job = nullptr;
  while (s.queue.try_dequeue(job)) {
    if (!job) continue;
    if (cancel)
      job->discard();
    else
      job->execute();
  }
}

std::size_t ThreadPool::size() const noexcept {
  return state_->threads.size();
}

}  // namespace weft

// InjectQueue: the runtime's global run queue (tasks spawned or woken from
// outside the workers, and local overflow): moodycamel::ConcurrentQueue plus an
// item count, so that the common "is there anything?" question costs one
// relaxed load instead of a walk over moodycamel's producer lists.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sys/mpmc_queue.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/chase_lev_deque.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

/// Fault injection for tests (tests/core/inject_queue_test.cpp): while
/// positive, each allocation of an inject queue fails and counts it down.
inline Atomic<int> inject_queue_failing_allocations{0};

#ifndef WEFT_MODEL
using InjectQueueTraits = FaultInjectingTraits<&inject_queue_failing_allocations>;
#else
using InjectQueueTraits = void;
#endif

class InjectQueue {
 public:
  /// Any thread. Lock-free except when moodycamel allocates a block or a
  /// producer (malloc). Terminates the process with a message
  /// on stderr if the queue cannot allocate (out of memory): a task that cannot
  /// be queued would be lost and its joiners would wait forever (R10).
  void push(TaskHeader* t) noexcept { count_pushed(queue_.enqueue(t)); }
  /// Before any push_from_worker(), from the thread that builds the
  /// runtime: one producer token per worker.
  void add_worker_producers(unsigned workers) {
    producers_.reserve(workers);
    for (unsigned i = 0; i < workers; ++i)
      producers_.emplace_back(queue_);
  }
  /// Worker `w`'s own thread only (its token is not thread-safe): push()
  /// through the worker's own sub-queue, without moodycamel's per-thread
  /// producer lookup (about 55 instructions of W1's overflow push). FIFO per
  /// worker, as push() is per thread; the same progress and out-of-memory rule.
  void push_from_worker(unsigned w, TaskHeader* t) noexcept {
    MpmcProducerToken& token = producers_[w];
    count_pushed(token.valid() ? queue_.enqueue(token, t) : queue_.enqueue(t));
  }
  /// Any thread; null when (apparently) empty. Lock-free.
  ///
  /// The count is claimed before the dequeue, so it never shows an item that
  /// another popper has already taken: a worker about to park, which treats
  /// a non-zero count as work to look for, would otherwise spin while that
  /// popper is preempted between its dequeue and its decrement.
  TaskHeader* pop() noexcept {
    if (len_.load(std::memory_order_acquire) <= 0) return nullptr;
    // acq_rel: a claim that finds n > 0 acquires the pushes (their increments
    // form a release sequence), so the n items are visible to try_dequeue.
    if (len_.fetch_sub(1, std::memory_order_acq_rel) <= 0) {
      len_.fetch_add(1, std::memory_order_relaxed);  // lost the race for the last one
      return nullptr;
    }
    TaskHeader* t = nullptr;
    if (!queue_.try_dequeue(t)) {
      // Not expected with the claim above; give the claim back rather than wait.
      len_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    return t;
  }
  bool empty() const noexcept { return len_.load(std::memory_order_acquire) <= 0; }
  std::size_t size() const noexcept {
    std::int64_t n = len_.load(std::memory_order_relaxed);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

 private:
  void count_pushed(bool enqueued) noexcept {
    if (!enqueued) out_of_memory();
    // release: a popper that sees the count also finds the item.
    len_.fetch_add(1, std::memory_order_release);
  }
  [[noreturn]] static void out_of_memory() noexcept {
    std::fputs("weft: out of memory queuing a task on the runtime's inject queue; terminating\n",
               stderr);
    std::abort();
  }

  MpmcQueue<TaskHeader*, InjectQueueTraits> queue_;
  std::vector<MpmcProducerToken> producers_;  // after queue_: destroyed before it
  alignas(kCacheLine) detail::Atomic<std::int64_t> len_{0};
};

}  // namespace weft::detail

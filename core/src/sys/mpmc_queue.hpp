// MpmcQueue<T> / BlockingMpmcQueue<T>: the multi-producer multi-consumer
// queues core/ uses (the inject queue, the blocking pools), as moodycamel's
// ConcurrentQueue / BlockingConcurrentQueue in a normal build (lock-free apart
// from block allocation; FIFO per producer; try_dequeue may fail on a queue
// that is not empty while other consumers are mid-dequeue).
//
// moodycamel's code does not go through weft's atomic layer, so the
// model-checking build (WEFT_MODEL) replaces it with a stand-in of the same
// interface: a FIFO whose every operation is one scheduling point, done under
// a mutex that no other model thread can be waiting for (nothing inside the
// critical section yields). The model therefore explores every interleaving of
// whole queue operations, not the queue's internal steps (moodycamel is tested
// by its authors; what weft builds on it is what the model checks). The
// stand-in is stricter than moodycamel: one global FIFO, and try_dequeue never
// fails while an item is queued, so moodycamel's per-producer order and its
// spurious try_dequeue failures are not explored.
#pragma once

#ifndef WEFT_MODEL

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <concurrentqueue/concurrentqueue.h>

#include <cstdlib>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

/// moodycamel's allocator hooks: plain malloc/free, plus fault injection for
/// tests: while `*Failing` is positive, each allocation fails and counts it
/// down (moodycamel's enqueue then returns false).
template <Atomic<int>* Failing>
struct FaultInjectingTraits : moodycamel::ConcurrentQueueDefaultTraits {
  static void* malloc(std::size_t size) {
    // relaxed: a test sets it before the allocation it wants to fail.
    if (Failing->load(std::memory_order_relaxed) > 0 &&
        Failing->fetch_sub(1, std::memory_order_relaxed) > 0)
      return nullptr;
    return std::malloc(size);
  }
  static void free(void* p) { std::free(p); }
};

/// Fault injection for the blocking pools' queues (tests/core/blocking_test.cpp).
inline Atomic<int> blocking_queue_failing_allocations{0};

template <class T, class Traits = moodycamel::ConcurrentQueueDefaultTraits>
using MpmcQueue = moodycamel::ConcurrentQueue<T, Traits>;
/// One producer's own sub-queue of an MpmcQueue (moodycamel's explicit
/// producer): enqueue(token, v) skips the per-thread producer lookup of a
/// plain enqueue. Used by one thread at a time; destroyed before its queue;
/// invalid (valid() false) if it could not be allocated.
using MpmcProducerToken = moodycamel::ProducerToken;
template <class T>
using BlockingMpmcQueue =
    moodycamel::BlockingConcurrentQueue<T,
                                        FaultInjectingTraits<&blocking_queue_failing_allocations>>;
}  // namespace weft::detail

#else

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>

#include "model/execution.hpp"
#include "sys/futex.hpp"

namespace weft::detail {

/// Traits are moodycamel's (its allocator hooks); the stand-in ignores them.
template <class T, class Traits = void>
class MpmcQueue {
 public:
  bool enqueue(T v) {
    model::point(model::Op::queue, this, __FILE__, __LINE__);
    std::lock_guard<std::mutex> g(m_);
    items_.push_back(std::move(v));
    return true;
  }
  template <class Token>
  bool enqueue(Token&, T v) {
    return enqueue(std::move(v));
  }
  bool try_dequeue(T& out) {
    model::point(model::Op::queue, this, __FILE__, __LINE__);
    std::lock_guard<std::mutex> g(m_);
    if (items_.empty()) return false;
    out = std::move(items_.front());
    items_.pop_front();
    return true;
  }
  std::size_t size_approx() const {
    model::point(model::Op::queue, this, __FILE__, __LINE__);
    std::lock_guard<std::mutex> g(m_);
    return items_.size();
  }

 private:
  mutable std::mutex m_;
  std::deque<T> items_;
};

/// The stand-in's producer token: the stand-in has one FIFO for everybody.
struct MpmcProducerToken {
  template <class Q>
  explicit MpmcProducerToken(Q&) noexcept {}
  bool valid() const noexcept { return true; }
};

template <class T>
class BlockingMpmcQueue {
 public:
  bool enqueue(T v) {
    queue_.enqueue(std::move(v));
    signal_.fetch_add(1, std::memory_order_release);
    futex_wake(&signal_, 1);
    return true;
  }
  bool try_dequeue(T& out) { return queue_.try_dequeue(out); }
  std::size_t size_approx() const { return queue_.size_approx(); }
  void wait_dequeue(T& out) {
    for (;;) {
      std::uint32_t seen = signal_.load(std::memory_order_acquire);
      if (queue_.try_dequeue(out)) return;
      futex_wait(&signal_, seen, -1);
    }
  }
  template <class Rep, class Period>
  bool wait_dequeue_timed(T& out, std::chrono::duration<Rep, Period> timeout) {
    const std::int64_t deadline =
        monotonic_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    for (;;) {
      std::uint32_t seen = signal_.load(std::memory_order_acquire);
      if (queue_.try_dequeue(out)) return true;
      std::int64_t left = deadline - monotonic_ns();
      if (left <= 0) return false;
      futex_wait(&signal_, seen, left);
    }
  }

 private:
  MpmcQueue<T> queue_;
  Atomic<std::uint32_t> signal_{0};
};

}  // namespace weft::detail

#endif

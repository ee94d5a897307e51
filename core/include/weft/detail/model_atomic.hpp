// model::Atomic<T>: std::atomic<T> with a scheduling point before every
// operation, for the model-checking build (WEFT_MODEL). See weft/model.hpp for
// what the model scheduler does at a point, and weft/detail/atomic.hpp for the
// layer this belongs to.
//
// Each operation is surrounded by two scheduling points (model::Around) and
// takes the caller's file and line as defaulted arguments, so that a failing
// schedule names the operations it interleaved. The operation
// itself is performed on a real std::atomic with the caller's memory order:
// only one thread runs at a time in a model execution, and the hand-over
// between threads is a full barrier, so every execution the model explores is
// sequentially consistent.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace weft::detail::model {

/// What a scheduling point is about (shown in schedules).
enum class Op : std::uint8_t {
  load,
  store,
  rmw,
  cas,
  fence,
  futex_wait,
  futex_wake,
  thread_start,
  thread_join,
  sleep,
  queue,
  yield,
};

/// A scheduling point: before the calling thread performs `op` on `addr` (or,
/// with `after`, right after it), the model scheduler may let other threads
/// run. Does nothing on a thread that is not part of a model execution.
void point(Op op, const void* addr, const char* file, unsigned line, bool after = false) noexcept;

/// Scheduling points on both sides of one operation: the plain code between
/// two atomic operations can then be separated from either (a check on one
/// side, the act on plain memory that it guards on the other).
struct Around {
  Op op;
  const void* addr;
  const char* file;
  unsigned line;
  Around(Op o, const void* a, const char* f, unsigned l) noexcept : op(o), addr(a), file(f), line(l) {
    point(op, addr, file, line);
  }
  ~Around() { point(op, addr, file, line, /*after=*/true); }
  Around(const Around&) = delete;
  Around& operator=(const Around&) = delete;
};

#define WEFT_MODEL_SITE_PARAMS \
  const char *file_ = __builtin_FILE(), unsigned line_ = __builtin_LINE()

template <class T>
class Atomic {
  static_assert(std::is_trivially_copyable_v<T>, "Atomic<T> needs a trivially copyable T");

 public:
  using value_type = T;
  static constexpr bool is_always_lock_free = std::atomic<T>::is_always_lock_free;

  constexpr Atomic() noexcept : v_(T{}) {}
  constexpr Atomic(T v) noexcept : v_(v) {}  // NOLINT: implicit, like std::atomic
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order o = std::memory_order_seq_cst, WEFT_MODEL_SITE_PARAMS) const noexcept {
    Around around_(Op::load, this, file_, line_);
    return v_.load(o);
  }
  void store(T v, std::memory_order o = std::memory_order_seq_cst,
             WEFT_MODEL_SITE_PARAMS) noexcept {
    Around around_(Op::store, this, file_, line_);
    v_.store(v, o);
  }
  T exchange(T v, std::memory_order o = std::memory_order_seq_cst,
             WEFT_MODEL_SITE_PARAMS) noexcept {
    Around around_(Op::rmw, this, file_, line_);
    return v_.exchange(v, o);
  }
  // A weak CAS never fails spuriously here (as on x86): every loop around one
  // also handles a real failure, which the model does explore.
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure, WEFT_MODEL_SITE_PARAMS) noexcept {
    Around around_(Op::cas, this, file_, line_);
    return v_.compare_exchange_strong(expected, desired, success, failure);
  }
  bool compare_exchange_weak(T& expected, T desired,
                             std::memory_order o = std::memory_order_seq_cst,
                             WEFT_MODEL_SITE_PARAMS) noexcept {
    Around around_(Op::cas, this, file_, line_);
    return v_.compare_exchange_strong(expected, desired, o);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure, WEFT_MODEL_SITE_PARAMS) noexcept {
    Around around_(Op::cas, this, file_, line_);
    return v_.compare_exchange_strong(expected, desired, success, failure);
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order o = std::memory_order_seq_cst,
                               WEFT_MODEL_SITE_PARAMS) noexcept {
    Around around_(Op::cas, this, file_, line_);
    return v_.compare_exchange_strong(expected, desired, o);
  }

  T fetch_add(T v, std::memory_order o = std::memory_order_seq_cst,
              WEFT_MODEL_SITE_PARAMS) noexcept requires std::is_integral_v<T> {
    Around around_(Op::rmw, this, file_, line_);
    return v_.fetch_add(v, o);
  }
  T fetch_sub(T v, std::memory_order o = std::memory_order_seq_cst,
              WEFT_MODEL_SITE_PARAMS) noexcept requires std::is_integral_v<T> {
    Around around_(Op::rmw, this, file_, line_);
    return v_.fetch_sub(v, o);
  }
  T fetch_or(T v, std::memory_order o = std::memory_order_seq_cst,
             WEFT_MODEL_SITE_PARAMS) noexcept requires std::is_integral_v<T> {
    Around around_(Op::rmw, this, file_, line_);
    return v_.fetch_or(v, o);
  }
  T fetch_and(T v, std::memory_order o = std::memory_order_seq_cst,
              WEFT_MODEL_SITE_PARAMS) noexcept requires std::is_integral_v<T> {
    Around around_(Op::rmw, this, file_, line_);
    return v_.fetch_and(v, o);
  }
  T fetch_xor(T v, std::memory_order o = std::memory_order_seq_cst,
              WEFT_MODEL_SITE_PARAMS) noexcept requires std::is_integral_v<T> {
    Around around_(Op::rmw, this, file_, line_);
    return v_.fetch_xor(v, o);
  }

  operator T() const noexcept { return load(); }  // NOLINT: like std::atomic
  T operator=(T v) noexcept {
    store(v);
    return v;
  }

  /// The value without a scheduling point: for the model's own futex, which
  /// checks the word and blocks as one step.
  T peek() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<T> v_;
};

/// std::atomic_thread_fence with a scheduling point.
inline void fence(std::memory_order order, WEFT_MODEL_SITE_PARAMS) noexcept {
  point(Op::fence, nullptr, file_, line_);
  std::atomic_thread_fence(order);
}

#undef WEFT_MODEL_SITE_PARAMS

}  // namespace weft::detail::model

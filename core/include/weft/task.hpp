// weft::Task<T>: a lazy coroutine that produces a T (or throws), awaited once.
//
//   weft::Task<int> answer() { co_return 42; }
//   weft::Task<> caller() { int x = co_await answer(); ... }
//
// Semantics
//  - Lazy: calling a Task function allocates its frame and runs nothing; the body
//    starts when the Task is awaited (or spawned with weft::spawn).
//  - Awaited once: `co_await task` runs the child to completion and returns its
//    value or rethrows its exception at the awaiter. Awaiting a Task a second
//    time, or awaiting a moved-from Task, throws weft::InvalidStateError.
//  - Move-only. Destroying a Task that was never awaited destroys its frame
//    without running it.
//  - Constant stack: control passes between parent and child frames through the
//    worker's trampoline (detail/thread_context.hpp), so a chain of a million
//    nested awaits does not grow the stack, in any build.
//  - A nested Task runs inside the task that awaits it: it shares that task's
//    cancellation, name and budget. Use weft::spawn to run it concurrently.
//
// Thread-safety: a Task object is not thread-safe; it belongs to the coroutine
// that awaits it. Frames come from the per-thread frame cache
// (detail/frame_allocator.hpp).
//
// g++ 12 pitfalls (DESIGN.md): bind capturing lambdas to a named local before
// `co_await`-ing the Task they return, and do not `co_await` inside an if/switch
// condition; assign the result first.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/detail/debug_hooks.hpp"
#include "weft/detail/frame_allocator.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"

namespace weft {

template <class T = void>
class Task;

namespace detail {

struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> h) const noexcept {
    TaskHeader& p = h.promise();
    if (p.is_root()) {
      tls_context.finished = true;  // the worker completes the spawned task
    } else {
      tls_context.next = std::coroutine_handle<>::from_address(
          p.link_.load(std::memory_order_relaxed));  // owner-only: set by the awaiter
    }
  }
  void await_resume() const noexcept {}
};

class PromiseBase : public TaskHeader {
 public:
  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { deallocate_frame(p, size); }
};

template <class T>
class Promise final : public PromiseBase {
  static_assert(!std::is_reference_v<T>,
                "weft::Task<T&> is not supported: return a pointer or std::reference_wrapper");
  static_assert(alignof(T) <= alignof(std::max_align_t),
                "weft::Task<T>: over-aligned result types are not supported (TaskHeader::frame())");

 public:
  Promise() noexcept {}
  ~Promise() {
    if (has_value_) value_.~T();
  }
  Task<T> get_return_object() noexcept;

  template <class U = T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<U>(v));
    has_value_ = true;
  }

  /// Moves the value out (or rethrows). Owner-only.
  T take() {
    if (error_) std::rethrow_exception(error_);
    return std::move(value_);
  }
  /// Copies the value (or rethrows).
  T copy() const {
    if (error_) std::rethrow_exception(error_);
    return value_;
  }

 private:
  union {
    T value_;
  };
  bool has_value_ = false;
};

template <>
class Promise<void> final : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (error_) std::rethrow_exception(error_);
  }
  void copy() const {
    if (error_) std::rethrow_exception(error_);
  }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;

  Task() noexcept = default;
  Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { destroy(); }

  /// False for a default-constructed or moved-from Task.
  bool valid() const noexcept { return static_cast<bool>(h_); }
  explicit operator bool() const noexcept { return valid(); }

  struct Awaiter {
    std::coroutine_handle<promise_type> h;

    bool await_ready() const {
      if (!h) throw InvalidStateError("weft::Task: awaiting an empty (moved-from) Task");
      if (h.promise().has_flag(detail::TaskHeader::kAwaited | detail::TaskHeader::kRoot))
        throw InvalidStateError("weft::Task: a Task can be awaited only once");
      return false;
    }
    void await_suspend(std::coroutine_handle<> caller) const noexcept {
      promise_type& p = h.promise();
      p.set_flag(detail::TaskHeader::kAwaited);
      p.link_.store(caller.address(), std::memory_order_relaxed);  // owner-only
      detail::tls_context.next = h;  // the worker trampoline resumes the child
    }
    T await_resume() const { return h.promise().take(); }
  };

  Awaiter operator co_await() & noexcept { return Awaiter{h_}; }
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }

  /// Gives up ownership of the frame (used by spawn()).
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }
  /// Destroys the frame without running it, on purpose: no "never awaited"
  /// report (for combinators that consume a Task unstarted, as wait_for(t, 0)).
  void discard() noexcept {
    if (h_) std::exchange(h_, {}).destroy();
  }
  std::coroutine_handle<promise_type> handle() const noexcept { return h_; }

 private:
  friend class detail::Promise<T>;
  explicit Task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  void destroy() noexcept {
    if (!h_) return;
    if (detail::debug_reports_enabled() &&
        !h_.promise().has_flag(detail::TaskHeader::kAwaited | detail::TaskHeader::kRoot))
      detail::report_never_awaited(h_.address());
    std::exchange(h_, {}).destroy();
  }

  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <class>
struct is_task : std::false_type {};
template <class T>
struct is_task<Task<T>> : std::true_type {};
template <class T>
inline constexpr bool is_task_v = is_task<T>::value;

template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace weft

// BlockingJob: one callable handed to an executor thread, shared between that
// thread and the task awaiting it.
//
// The job is reference counted (the executor and the awaiter), so either side
// may finish first: a task cancelled while its callable runs resumes at once,
// and the callable finishes in its thread with nobody to hand the result to
// (it is destroyed there). A job that has not started when its awaiter is
// cancelled is skipped.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/context_map.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

class BlockingJob {
 public:
  static constexpr std::uint32_t kQueued = 0;
  static constexpr std::uint32_t kRunning = 1;
  static constexpr std::uint32_t kDone = 2;
  static constexpr std::uint32_t kAbandoned = 3;  ///< the awaiter left before the job started

  BlockingJob() = default;
  BlockingJob(const BlockingJob&) = delete;
  BlockingJob& operator=(const BlockingJob&) = delete;
  /// Releases the context copy if the callable never ran.
  virtual ~BlockingJob();

  /// Executor side: runs the callable unless abandoned, wakes the awaiter,
  /// drops the executor's reference. Never throws.
  void execute() noexcept;
  /// Executor side: the job will never run (executor shut down with
  /// cancel_futures): the awaiter resumes with CancelledError.
  void discard() noexcept;

  /// Awaiter side, before submitting: the task to wake, and a copy (one more
  /// reference) of its current context for the callable.
  void set_waiter(TaskHeader* t) noexcept;
  /// Takes the waiter back (cancellation). True if the job had not woken it yet.
  bool withdraw() noexcept;
  bool discarded() const noexcept { return discarded_; }
  void release() noexcept {
    // acq_rel: the last holder sees the other's writes (result, state) before deleting.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  BlockingJob* next_ = nullptr;  ///< free link for executors' intrusive use

 protected:
  virtual void invoke() noexcept = 0;  ///< runs the callable, storing value or exception

 private:
  detail::Atomic<TaskHeader*> waiter_{nullptr};
  detail::Atomic<std::uint32_t> phase_{kQueued};
  detail::Atomic<std::uint32_t> refs_{2};
  /// The context the callable runs in (null: empty); handed to the executor
  /// thread with the job (the queue's hand-off orders it).
  ContextMap* context_ = nullptr;
  bool discarded_ = false;
};

template <class F, class... Args>
class BlockingJobOf final : public BlockingJob {
 public:
  using Result = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

  BlockingJobOf(F&& f, Args&&... args)
      : fn_(std::forward<F>(f)), args_(std::forward<Args>(args)...) {}

  /// Awaiter side, after the job woke it: the value, or the exception rethrown.
  std::conditional_t<std::is_void_v<Result>, void, std::decay_t<Result>> take() {
    if (error_) {
      // Moved out: the awaiter's thread then holds every reference to the
      // exception, so the executor's release() of the job never frees it
      // while the awaiter reads it (libstdc++ counts exception_ptr references
      // in uninstrumented code: TSan reported that as a race in a full run).
      std::exception_ptr e = std::move(error_);
      std::rethrow_exception(e);
    }
    if constexpr (!std::is_void_v<Result>) return std::move(*value_);
  }

 private:
  void invoke() noexcept override {
    try {
      if constexpr (std::is_void_v<Result>) {
        std::apply(std::move(fn_), std::move(args_));
      } else {
        value_.emplace(std::apply(std::move(fn_), std::move(args_)));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  std::decay_t<F> fn_;
  std::tuple<std::decay_t<Args>...> args_;
  std::conditional_t<std::is_void_v<Result>, char, std::optional<std::decay_t<Result>>> value_{};
  std::exception_ptr error_;
};

}  // namespace weft::detail

// weft::JoinHandle<T>: the handle spawn() returns for a task running concurrently
// (asyncio.Task as seen by its creator, Tokio's JoinHandle).
//
//   weft::JoinHandle<int> h = weft::spawn(compute());
//   ... h.done() ... h.cancel() ...
//   int v = co_await h;   // the value, or the task's exception rethrown here
//
// Semantics
//  - `co_await h` suspends until the task finishes and returns its value or
//    rethrows its exception; a task that ended by cancellation throws
//    weft::CancelledError. Any number of tasks may await the same task, and a
//    handle may be awaited again: `co_await h` on an lvalue copies the value
//    (move-only values are moved out once; a second retrieval throws
//    InvalidStateError), `co_await std::move(h)` moves it out. Copies and a
//    move may run at the same time from several threads: a copy that starts
//    after the move throws InvalidStateError, and a move that starts after a
//    copy began copies too (the value stays intact for every copier).
//  - h.cancel(msg) cancels with a message: the task's CancelledError and the
//    one its awaiters get carry it in what() (asyncio's Task.cancel(msg)).
//  - Cancelling the awaiting task while it waits cancels the awaited task too,
//    with the same message, and keeps waiting for it (asyncio): if the awaited task swallows the
//    cancellation and returns, the awaiter gets its value. Wrap the handle in
//    weft::shield() to leave the awaited task alone.
//  - The handle is a counted reference: copies share the task; the task keeps
//    running when every handle is gone (detach() says so explicitly).
//  - Lifetimes: the task's locals die when its body ends; its frame — the
//    by-value parameters and the result — lives until the task has finished
//    and the last handle is gone. Move a parameter whose lifetime matters (a
//    socket, a lock guard) into a local inside the body.
//
// Scheduling: awaiting a task that has not started yet and still waits in the
// awaiting worker's run queue runs it right there, inside the co_await
// (work-first), if that keeps its spawner's spawn order: it is the newest
// queued task, or the awaiting task spawned it in its current step and every
// earlier spawn of that step has started. So fork-join code stays depth-first
// whatever order it awaits its children in (docs/architecture.md, "Fork-join").
//
// Thread-safety: every member may be called from any thread concurrently with
// the task running; a single JoinHandle object is not itself synchronised for
// concurrent assignment. Waiters are resumed on a weft worker (scheduled, never
// inline on the completing task's stack). Joining costs one lock-free push.
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "weft/detail/task_info.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
/// Runs the task of `header` right here if it waits, not yet started, in the
/// calling worker's run queue and running it now keeps its spawner's spawn
/// order (the work-first join of `co_await handle`, also used by gather and
/// TaskGroup; see Worker::try_run_inline). Any thread; not_queued off a
/// worker, outside a task, or when the task is not queued on this worker.
InlineJoin join_inline(TaskHeader* header) noexcept;

/// Join awaiting, shared by JoinHandle<T> for every T.
struct JoinAwaiterBase : Suspension, CompletionListener {
  TaskHeader* target = nullptr;
  TaskHeader* waiter = nullptr;
  bool suspended = false;  ///< the waiter really waited (a resumption, not a ready path)

  /// Inline: every join asks it first (a test and an acquire load).
  bool ready() const {
    if (target == tls_context.current) [[unlikely]]
      throw_self_join();
    return target->done();
  }
  bool suspend(std::coroutine_handle<> h);
  [[noreturn]] static void throw_self_join();
  static Withdraw withdraw_join(Suspension* self, TaskHeader* task) noexcept;
  static void on_target_complete(CompletionListener* self, TaskHeader* task) noexcept;
};
}  // namespace detail

template <class T = void>
class JoinHandle {
 public:
  using value_type = T;

  JoinHandle() noexcept = default;
  JoinHandle(const JoinHandle& o) noexcept : p_(o.p_) {
    if (p_) p_->add_ref();
  }
  JoinHandle(JoinHandle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  JoinHandle& operator=(JoinHandle o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~JoinHandle() {
    if (p_) p_->release_ref();
  }

  bool valid() const noexcept { return p_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }

  // The queries and cancel() below throw InvalidStateError on an empty
  // (default-constructed or moved-from) handle.

  /// The task has finished (with a value, an exception or by cancellation). Wait-free.
  bool done() const { return header()->done(); }
  /// The task finished by cancellation (asyncio's Task.cancelled()). Wait-free.
  bool cancelled() const {
    return header()->state_.load(std::memory_order_acquire) & detail::TaskHeader::kCancelledResult;
  }
  /// Requests cancellation (asyncio's Task.cancel()): false if already finished. Any thread;
  /// never waits for the task's owner (TaskHeader::cancel()).
  bool cancel() const { return header()->cancel(); }
  /// cancel() with a message (asyncio's Task.cancel(msg)): the CancelledError
  /// the task sees, and the one `co_await h`, result() and exception() give
  /// its awaiters, say `msg` in what(). A task awaiting another task, a
  /// gather() or a TaskGroup passes the message on as asyncio does (see below
  /// for which message wins).
  ///
  /// Which message wins when several requests meet (CPython 3.12's rule):
  ///  - while the request is pending -- the task runs, is queued, or has not
  ///    started -- the latest request's message wins, and a later cancel()
  ///    without a message clears it;
  ///  - once the cancellation has been delivered to what the task is
  ///    suspended on (the wait was withdrawn, or the request handed to an
  ///    awaited task), its message is fixed: requests folded into that one
  ///    do not change it.
  /// Requests from several threads at once take effect one after another, each
  /// with its message (a request refused because the task had finished leaves
  /// no message). An empty `msg` is a cancel() without a message. Any thread;
  /// never waits for the task's owner; allocates the message (and, on first
  /// use, the task's info block), then holds the task's message slot for a
  /// few instructions (detail/cancel_message.hpp); throws std::bad_alloc
  /// before anything changed.
  bool cancel(std::string_view msg) const { return header()->cancel(msg); }
  /// Number of pending cancellation requests (asyncio's Task.cancelling()).
  std::uint32_t cancelling() const { return header()->cancelling(); }

  /// Lets the task run on without this handle. A failure nobody retrieves is
  /// reported in debug mode ("exception was never retrieved").
  void detach() noexcept {
    if (!p_) return;
    p_->state_.fetch_or(detail::TaskHeader::kDetachedTask, std::memory_order_relaxed);
    std::exchange(p_, nullptr)->release_ref();
  }

  /// Task id, unique in the process (assigned on first use).
  std::uint64_t id() const { return detail::task_info(header()).id; }
  /// Task name: the one given to spawn(), else "Task-<id>". Valid while the handle lives.
  std::string_view name() const { return detail::task_info(header()).name; }

  /// The result of a finished task (asyncio's Task.result()): the value, or the
  /// exception rethrown. Throws InvalidStateError if the task is not done.
  T result() const& { return retrieve(false); }
  T result() && { return retrieve(true); }

  /// The exception a finished task ended with (null if it returned normally).
  /// Throws InvalidStateError if not done; rethrows the task's CancelledError
  /// (with its cancel message) if it was cancelled.
  std::exception_ptr exception() const {
    check_done("exception");
    p_->state_.fetch_or(detail::TaskHeader::kResultSeen, std::memory_order_relaxed);
    if (cancelled()) std::rethrow_exception(p_->error());
    return p_->error();
  }

  struct Awaiter : detail::JoinAwaiterBase {
    const JoinHandle* handle;
    bool move_out;
    bool await_ready() const {
      if (!handle->p_) throw InvalidStateError("weft::JoinHandle: awaiting an empty handle");
      return ready();
    }
    bool await_suspend(std::coroutine_handle<> h) { return suspend(h); }
    T await_resume() const {
      // The awaited task ended cancelled (maybe by our own cancellation,
      // handed off to it): one CancelledError for this resumption.
      if (target->state_.load(std::memory_order_acquire) & detail::TaskHeader::kCancelledResult)
        detail::fold_pending_cancel();
      else if (suspended && detail::take_pending_cancel())
        detail::throw_cancelled_at_resume();  // the result stays with the task
      return handle->retrieve(move_out);
    }
  };

  Awaiter operator co_await() const& noexcept { return make_awaiter(false); }
  Awaiter operator co_await() && noexcept { return make_awaiter(true); }

  /// For weft's combinators: moves the result of a finished task out of the
  /// only handle to it (a task a gather spawned: nobody can copy or move it
  /// concurrently), so without take_once()'s RMW. The caller then calls
  /// detail::keep_result_over_pending_cancel() (once for all such results).
  T take_sole_result() && {
    check_done("result");
    if (p_->error())
      p_->state_.fetch_or(detail::TaskHeader::kResultSeen, std::memory_order_relaxed);  // flag only
    return p_->take();
  }

  detail::TaskHeader* header() const {
    if (!p_) throw InvalidStateError("weft::JoinHandle: empty handle");
    return p_;
  }
  /// Adopts a reference (used by spawn()).
  explicit JoinHandle(detail::Promise<T>* p) noexcept : p_(p) {}

 private:
  Awaiter make_awaiter(bool move_out) const noexcept {
    Awaiter a;
    a.target = p_;
    a.handle = this;
    a.move_out = move_out;
    return a;
  }

  void check_done(const char* what) const {
    if (!header()->done())
      throw InvalidStateError(std::string("weft::JoinHandle::") + what + ": task is not done");
  }

  T retrieve(bool move_out) const {
    check_done("result");
    if (p_->error())
      p_->state_.fetch_or(detail::TaskHeader::kResultSeen, std::memory_order_relaxed);
    if constexpr (std::is_void_v<T>) {
      p_->copy();
    } else if constexpr (std::is_copy_constructible_v<T>) {
      if (move_out) return take_once();
      if (p_->error()) return p_->copy();  // rethrows; an exception_ptr is shared
      using H = detail::TaskHeader;
      // A copy and a move of the same result may run at once on two threads.
      // Copying a trivially copyable value races with nothing (its "move"
      // leaves the source intact). Otherwise the copy announces itself with
      // one RMW before reading; a move that comes later sees kResultCopied
      // and copies as well, and a move that came first makes the copy fail.
      // acq_rel: one decision against take_once()'s RMW on the same word.
      std::uint32_t s = std::is_trivially_copyable_v<T>
                            ? p_->state_.load(std::memory_order_acquire)
                            : p_->state_.fetch_or(H::kResultCopied, std::memory_order_acq_rel);
      if (s & H::kResultTaken)
        throw InvalidStateError("weft::JoinHandle: the result was already moved out");
      return p_->copy();
    } else {
      return take_once();
    }
  }

  T take_once() const {
    using H = detail::TaskHeader;
    if (p_->error()) return p_->take();  // rethrows
    // acq_rel: the one decision among moves, and against a copy's announcement.
    std::uint32_t s = p_->state_.fetch_or(H::kResultTaken, std::memory_order_acq_rel);
    if (s & H::kResultTaken)
      throw InvalidStateError("weft::JoinHandle: the result was already moved out");
    if constexpr (std::is_copy_constructible_v<T>) {
      if (s & H::kResultCopied) return p_->copy();  // a copy may be reading it right now
    }
    detail::keep_result_over_pending_cancel();  // moved out: the value is ours alone
    return p_->take();
  }

  detail::Promise<T>* p_ = nullptr;
};

}  // namespace weft

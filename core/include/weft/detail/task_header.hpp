// TaskHeader: the part of every Task frame's promise that a spawned task needs
// to be scheduled, woken, cancelled and joined.
//
// A spawned task is its root coroutine frame: spawn() takes over a Task's frame
// and marks it as a root, so a spawned task costs exactly one allocation (see
// RESULTS.md for its size). Nested Task frames carry the same fields unused,
// which costs a few words per nested frame and saves a second allocation per
// spawn.
//
// Ownership protocol (the `state_` word)
// --------------------------------------
// At most one thread at a time *owns* a task: the worker running it, or a thread
// inside cancel() withdrawing it from what it waits on. Ownership is the kRunning
// bit. Whoever else touches the task never waits for the owner: it leaves a note
// in the state word and the owner acts on it when it lets go (release()).
//
//   idle ---wake()---> scheduled ---worker---> running --suspends--> idle
//                                                  |  wake() while running sets kNotified:
//                                                  |  release() requeues instead of going idle
//                                                  +--finishes--> complete
//   idle ---cancel()--> running (the canceller withdraws the awaiter) --> scheduled | idle
//
// Wake discipline: every suspension of a task is ended by exactly one wake():
// whoever wins the one atomic decision in the awaitable (the waker handing over a
// value, or the canceller withdrawing the waiter) calls it. A task is never in
// two run queues and never resumed twice.
//
// All other fields are plain: they are read and written only by the owner, and
// ownership passes through acq_rel read-modify-writes of `state_`, which orders
// them.
//
// A cancel(msg) request's message does not live here: it travels through the
// TaskInfo, written before the request's state RMW and ordered by an atomic of
// its own (cancel_message.hpp), so the state bits are the same with or without
// a message.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string_view>

#include "weft/detail/atomic.hpp"
#include "weft/detail/thread_context.hpp"

namespace weft::detail {

class TaskHeader;
class Worker;
class Scheduler;
struct TaskInfo;

/// What cancel() achieved against the awaiter a task is suspended on.
enum class Withdraw : std::uint8_t {
  /// The awaiter let go: the task is rescheduled and its co_await throws CancelledError.
  withdrawn,
  /// The cancellation was passed on (to an awaited task, or to a wait list that
  /// will withdraw the waiter itself); the task stays suspended until then.
  handed_off,
  /// A waker completed the awaiter first; the cancellation is delivered at the
  /// task's next suspension.
  too_late,
};

/// What a work-first join (Worker::try_run_inline) did with the awaited task.
enum class InlineJoin : std::uint8_t {
  ran,           ///< it ran here, to completion or to its first suspension
  not_queued,    ///< it is not waiting to start in this worker's run queue
  out_of_order,  ///< it waits here, but behind an older task its awaiter spawned
};

/// Embedded in every weft awaiter that suspends a task: how to withdraw it, and
/// what to call it in a task dump.
struct Suspension {
  Withdraw (*withdraw)(Suspension* self, TaskHeader* task) noexcept = nullptr;
  const char* what = "?";
};

/// A Suspension that must run before its task's frame resumes: the task
/// suspended on it with a null resume_point_ (the awaiter keeps the real
/// one), and the worker that runs the task next calls before_resume() first,
/// with the task current and a fresh budget (one test of the resume point on
/// the hot path, no flag). before_resume() puts the resume point back, and
/// returns true if it suspended the task again (published a new wait, with
/// suspended_on_ set as any awaiter does): the frame is not resumed and the
/// step ends as if the task had suspended. Its withdraw() must put the resume
/// point back too before it returns `withdrawn` (the scheduler then clears
/// suspended_on_ and the frame is resumed directly). A Lock's lock() uses it to yield
/// its spent budget *before* it tries to take the lock, and then to wait for
/// it if need be (an awaiter cannot suspend from await_resume).
struct HookedSuspension : Suspension {
  bool (*before_resume)(HookedSuspension* self, TaskHeader* task) noexcept = nullptr;
};

/// Notified once when a spawned task completes. Listeners form a lock-free
/// stack in the task; a listener must stay alive until it is notified.
struct CompletionListener {
  CompletionListener* next = nullptr;
  void (*on_complete)(CompletionListener* self, TaskHeader* task) noexcept = nullptr;
};

/// Called by an awaiter of the running task that is about to throw
/// CancelledError at its resumption because a cancellation was handed off
/// (a join, gather, TaskGroup join or sync-primitive wait): a cancel() request
/// that arrived after the hand-off, while the task was being woken, is folded
/// into this CancelledError instead of being delivered again at the next
/// suspension (asyncio: one CancelledError per resumption; R8).
void fold_pending_cancel() noexcept;
/// fold_pending_cancel(), then throws weft::CancelledError: what every weft
/// awaiter does when it ends a wait by cancellation.
[[noreturn]] void throw_cancelled_at_resume();
/// Called by an awaiter of the running task at its resumption, after its wait
/// ended normally: true (and the request is taken) if a cancel() arrived while
/// the task was being woken. The awaiter then gives back what it was granted
/// (a lock or permit is passed on, a notification passed on) and throws
/// CancelledError, as asyncio delivers a cancellation at the resumption.
inline bool take_pending_cancel() noexcept;  // below TaskHeader
/// Called by an operation of the running task that hands it data that exists
/// nowhere else (a Queue item, a moved-out result, bytes read or written): if
/// the task finishes without another suspension, its result stands even if a
/// cancel() is pending by then (S1's rule would drop the data; asyncio never
/// handed it over). A pending cancellation is still delivered at the next
/// suspension.
void keep_result_over_pending_cancel() noexcept;

class TaskHeader {
 public:
  // --- state_ bits ---
  static constexpr std::uint32_t kScheduled = 1u << 0;        ///< in a run queue
  static constexpr std::uint32_t kRunning = 1u << 1;          ///< owned by a worker or a canceller
  static constexpr std::uint32_t kNotified = 1u << 2;         ///< woken while owned
  static constexpr std::uint32_t kComplete = 1u << 3;         ///< finished; result is set
  static constexpr std::uint32_t kCancelPending = 1u << 4;    ///< cancel() not yet delivered
  static constexpr std::uint32_t kCancelledResult = 1u << 5;  ///< finished by CancelledError
  static constexpr std::uint32_t kResultTaken = 1u << 6;      ///< a move-only result was moved out
  static constexpr std::uint32_t kDetachedTask = 1u << 7;     ///< JoinHandle::detach() was called
  static constexpr std::uint32_t kResultSeen = 1u << 8;       ///< someone looked at the outcome
  /// Withdrawn by a cancellation and queued: its co_await throws CancelledError
  /// when it runs. Further cancel()s until then are folded into that one (asyncio).
  static constexpr std::uint32_t kCancelDelivering = 1u << 9;
  /// Runtime shutdown has cancelled this task (claimed once, by fetch_or).
  static constexpr std::uint32_t kShutdownCancel = 1u << 10;
  /// Someone has started copying the result: a later move-retrieval copies
  /// too, so that no copy ever reads a value being moved from (JoinHandle).
  static constexpr std::uint32_t kResultCopied = 1u << 11;

  // --- flags_ bits (owner-only) ---
  static constexpr std::uint16_t kRoot = 1u << 0;        ///< a spawned task's root frame
  static constexpr std::uint16_t kStarted = 1u << 1;     ///< body has begun to run
  static constexpr std::uint16_t kAwaited = 1u << 2;     ///< nested Task: already awaited
  static constexpr std::uint16_t kRegistered = 1u << 3;  ///< in its worker's task registry
  static constexpr std::uint16_t kDebugTask = 1u << 5;   ///< spawned on a runtime in debug mode
  /// Since its last resumption the task took data that exists nowhere else (a
  /// Queue item, a result moved out of another task, bytes read or written):
  /// if it finishes without another suspension, its result stands even with a
  /// cancel() pending (see keep_result_over_pending_cancel()).
  static constexpr std::uint16_t kKeepResult = 1u << 6;
  /// Scheduler::release() froze a cancel message for the delivery it just made
  /// (cancel_message.hpp); the next run turns it into kCancelMsgNow.
  static constexpr std::uint16_t kCancelMsgHeld = 1u << 7;
  /// This resumption ends the wait that delivery withdrew or handed off: its
  /// CancelledError carries the frozen message. kCancelMsgHeld << 1, so that
  /// run_task moves one into the other with a shift.
  static constexpr std::uint16_t kCancelMsgNow = 1u << 8;
  static_assert(kCancelMsgNow == kCancelMsgHeld << 1);

  TaskHeader() noexcept = default;
  TaskHeader(const TaskHeader&) = delete;
  TaskHeader& operator=(const TaskHeader&) = delete;

  // ---- wake / cancel (any thread) ----

  /// Ends the task's current suspension: schedules it, or, if it is owned right
  /// now, notes that its owner must requeue it. Idempotent while scheduled.
  void wake() noexcept;

  /// asyncio's Task.cancel(): returns false if the task already finished.
  /// Safe from any thread. Never waits for the task's owner to let go of the
  /// task. Lock-free, with three exceptions: allocation (a nested release
  /// list, the inject queue's block); the message slot's critical section of
  /// a few instructions, which a canceller and the owner both take, once the
  /// task has an info block (named, asked for its id or name, inside a
  /// timeout, cancelled with a message before: cancel_message.hpp); and the
  /// withdrawal of the awaiter it finds: for a task waiting on a weft::sync
  /// primitive the canceller may become that primitive's combiner and carry
  /// out its hand-offs, which for a Queue or PriorityQueue may wait inside
  /// the storage (detail/combiner.hpp, "Progress").
  /// Constant stack: cancelling a task that awaits a task that awaits ...
  /// (each level forwards the request) runs the levels one after another, not
  /// nested (R4).
  bool cancel() noexcept;
  /// cancel() carrying `message` (asyncio's Task.cancel(msg)): the task's
  /// CancelledError, and the one its awaiters see, say `message`
  /// (cancel_message.hpp says which message wins when several requests meet).
  /// An empty message is a cancel() without one. Allocates the message (and
  /// the TaskInfo on first use); throws std::bad_alloc before any change.
  bool cancel(std::string_view message);

  bool done() const noexcept { return state_.load(std::memory_order_acquire) & kComplete; }

  /// Number of cancel() requests not yet withdrawn by uncancel() (asyncio's cancelling()).
  std::uint32_t cancelling() const noexcept {
    std::int32_t n = cancel_requests_.load(std::memory_order_relaxed);
    return n > 0 ? static_cast<std::uint32_t>(n) : 0u;
  }
  /// asyncio's uncancel(): one request fewer (never below zero); at zero, an
  /// undelivered request is dropped.
  std::uint32_t uncancel() noexcept;
  /// uncancel() for a request that was decided but may not have been made yet
  /// (a timeout scope whose timer fired on another thread while the scope ended):
  /// the count may dip below zero, and the late cancel() then only restores it.
  std::int32_t uncancel_owed() noexcept;

  // ---- completion listeners (any thread) ----

  /// Registers `l` to be notified when the task completes. Returns false (and
  /// does not register) if the task has already completed. Lock-free.
  bool add_listener(CompletionListener* l) noexcept;

  // ---- reference counting (spawned tasks) ----
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  /// Destroys the root frame when the last reference goes.
  void release_ref() noexcept;

  // ---- owner-only fields, used by the scheduler and awaiters ----
  bool is_root() const noexcept { return flags_ & kRoot; }
  bool has_flag(std::uint16_t f) const noexcept { return flags_ & f; }
  void set_flag(std::uint16_t f) noexcept { flags_ |= f; }
  void clear_flag(std::uint16_t f) noexcept { flags_ &= static_cast<std::uint16_t>(~f); }

  // The exception the task finished with, if any (roots: read after kComplete).
  std::exception_ptr& error() noexcept { return error_; }

  /// The frame this header lives in. Every weft promise starts with its
  /// TaskHeader and is at most 16-byte aligned, so g++ and clang place it right
  /// after the frame's two function pointers (what coroutine_handle::from_promise
  /// computes); Runtime::adopt() checks this on every spawn.
  std::coroutine_handle<> frame() noexcept {
    return std::coroutine_handle<>::from_address(
        __builtin_coro_promise(static_cast<void*>(this), alignof(std::max_align_t), true));
  }

  /// The runtime this spawned task belongs to (its index in the runtime table),
  /// kept in the state word's top 16 bits: written once at spawn, preserved by
  /// every transition.
  static constexpr unsigned kRuntimeShift = 16;
  std::uint16_t runtime_id() const noexcept {
    return static_cast<std::uint16_t>(state_.load(std::memory_order_relaxed) >> kRuntimeShift);
  }
  Scheduler* scheduler() const noexcept;

 private:
  /// What cancel()'s state-word half decided about a request.
  enum class Decision : std::uint8_t {
    refused,    ///< the task had finished
    withdrawn,  ///< already withdrawn by a timeout scope (uncancel_owed): no effect
    folded,     ///< into the cancellation on its way (kCancelDelivering)
    pending,    ///< noted for the owner (kCancelPending)
    owner,      ///< the caller owns the task now and must release_owned() it
  };
  /// cancel()'s state-word half (`s`: the state word as last loaded; the loop
  /// reloads it on a failed CAS).
  Decision decide_cancel(std::uint32_t s) noexcept;

 public:
  detail::Atomic<std::uint32_t> state_{0};
  detail::Atomic<std::uint32_t> refs_{0};
  detail::Atomic<std::int32_t> cancel_requests_{0};
  std::uint16_t flags_ = 0;
  /// Index of the worker whose registry holds this task (valid with kRegistered).
  std::uint16_t home_ = 0;
  /// Innermost suspended frame: where the task continues when it runs next.
  std::coroutine_handle<> resume_point_;
  union {
    /// What the task is suspended on right now (for cancel() and dumps); owner-only.
    Suspension* suspended_on_ = nullptr;
    /// Once finished: link in its home registry's inbox (task_registry.hpp).
    TaskHeader* inbox_next_;
  };
  /// Nested frames: the awaiting coroutine. Roots: listener stack (kListenersDone once complete).
  detail::Atomic<void*> link_{nullptr};
  /// Name, id and debug data; allocated on first use (roots only).
  detail::Atomic<TaskInfo*> info_{nullptr};
  /// Registry links (roots only, owned by the home worker).
  TaskHeader* reg_prev_ = nullptr;
  TaskHeader* reg_next_ = nullptr;
  std::exception_ptr error_;

  static inline char listeners_done_tag_ = 0;
  static void* listeners_done() noexcept { return &listeners_done_tag_; }
};

// Inline: every awaiter's resumption runs it (a yield, a lock, a join); the
// common answer (nothing pending) is a TLS read and one relaxed load.
inline bool take_pending_cancel() noexcept {
  TaskHeader* t = tls_context.current;
  if (!t || !(t->state_.load(std::memory_order_relaxed) & TaskHeader::kCancelPending)) return false;
  // acq_rel: as every state change; an uncancel() may have dropped it meanwhile.
  if (!(t->state_.fetch_and(~TaskHeader::kCancelPending, std::memory_order_acq_rel) &
        TaskHeader::kCancelPending))
    return false;
  // A request pending at the resumption: its message is the latest one, not
  // one frozen for the wait that just ended normally.
  t->clear_flag(TaskHeader::kCancelMsgNow);
  return true;
}

}  // namespace weft::detail

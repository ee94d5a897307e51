// weft::Future<T>: asyncio.Future (loop.create_future()) for tasks on any
// worker thread and for plain threads.
//
//   weft::Future<int> f;                  // pending; copies share one state
//   int v = co_await f;                   // in any number of tasks
//   f.set_result(42);                     // from any task or plain thread
//   f.wait_blocking(1s);                  // a plain thread may wait too
//
// Semantics (asyncio's, except where noted)
//  - A Future is a handle: copies refer to the same state, which lives as long
//    as any handle (or a waiting co_await) does. A default-constructed Future
//    is pending.
//  - Exactly one of set_result(v), set_exception(e), cancel(msg) completes it;
//    after that, set_result/set_exception throw InvalidStateError("invalid
//    state") and cancel() returns false (asyncio). A setter that is still
//    writing its value counts as pending for done()/result() and as the winner
//    for every other setter.
//  - result(): the value (a const reference into the shared state); rethrows
//    the exception; throws CancelledError (with the cancel message, if any) if
//    cancelled; InvalidStateError("Result is not set.") while pending.
//    exception(): the exception (null after set_result), CancelledError if
//    cancelled, InvalidStateError("Exception is not set.") while pending.
//  - `co_await f` (or `co_await f.wait()`): returns a copy of the value (or
//    throws as result() does) once the future is done; at once if it already
//    is (a suspension point only when it waits, or a yield once when the
//    task's cooperative budget is spent). Waiters are resumed by scheduling
//    their tasks, never inline in the setter (weft::Event underneath).
//  - Cancelling a task that awaits a future (cancel(), weft::wait_for,
//    weft::timeout) withdraws its wait and then cancels the future too (with
//    the CancelledError's message, if it carries one) -- asyncio's rule
//    (Task.cancel() cancels the future the task waits on), so every other
//    waiter sees CancelledError as well. If the future completed first, it
//    keeps its result and only the task gets CancelledError.
//  - add_done_callback(fn): fn(future) runs once the future is done -- inline,
//    on the thread that completed it (in the setter, after its Event::set()
//    returned: the waiters are woken or handed to the combiner), in the order the callbacks were
//    added; if the future is already done, inline in add_done_callback, on the
//    adding thread (so a callback added while the completing thread is still
//    running the earlier ones may run before or alongside them). (Not asyncio's: asyncio
//    schedules callbacks on the loop with call_soon; here the setter may be a
//    plain thread with no loop.) A callback must not throw (std::terminate).
//    It returns a handle for remove_done_callback(handle), which returns true
//    if it removed the callback before it started, false if it had run, was
//    running or was removed already (one CAS decides between the two).
//  - wait_blocking(timeout): a plain thread's wait; true once done, false if
//    `timeout` passed first. Throws InvalidStateError on a weft worker.
//  - Thread safety: every member may be called from any thread at any time on
//    any handle; copying or destroying one handle while another thread uses a
//    different handle to the same state is fine (a std::shared_ptr), using the
//    same handle object from two threads while one assigns it is not.
//
// Progress and cost (state word: pending, setting, result, exception, cancelled)
//   done(), cancelled()       wait-free: one load
//   result(), exception()     one load; the throwing paths allocate the exception
//   set_result, set_exception one CAS that decides (lock-free), the value moved
//   cancel                    in (T's move), one release store, Event::set()
//                             (event.hpp: lock-free, + the wake-ups if this
//                             thread becomes the combiner), then the callbacks
//                             run (user code)
//   add_done_callback         one allocation (malloc's progress, not ours) and
//                             a CAS push (lock-free)
//   remove_done_callback      one CAS (wait-free)
//   co_await that waits       Event::wait(): one CAS push on the combiner's
//                             mailbox; the wake-up depends on the combiner
//                             thread being scheduled (combiner.hpp "Progress")
// The Future's own code takes no mutex or spin lock. The state is one allocation (the value,
// an exception_ptr, the cancel message, an Event, the callback list).
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/detail/atomic.hpp"
#include "weft/errors.hpp"
#include "weft/event.hpp"

namespace weft {

template <class T>
class Future;

namespace detail {

/// One added done-callback. Nodes stay allocated until the state dies, so that
/// remove_done_callback never races with a free.
/// The node knows its function's type through two function pointers.
struct FutureCallbackNode {
  static constexpr std::uint32_t kArmed = 0;
  static constexpr std::uint32_t kRemoved = 1;
  static constexpr std::uint32_t kRan = 2;
  void (*run)(FutureCallbackNode*, const void* future) noexcept;
  void (*destroy)(FutureCallbackNode*) noexcept;
  FutureCallbackNode* next = nullptr;
  detail::Atomic<std::uint32_t> state{kArmed};
};

/// What does not depend on T: the state word, the exception, the cancel
/// message, the Event waiters wait on, the callback list.
class FutureStateBase {
 public:
  static constexpr std::uint32_t kPending = 0;
  static constexpr std::uint32_t kSetting = 1;  ///< a setter won and writes its value
  static constexpr std::uint32_t kResult = 2;
  static constexpr std::uint32_t kException = 3;
  static constexpr std::uint32_t kCancelled = 4;

  FutureStateBase() = default;
  FutureStateBase(const FutureStateBase&) = delete;
  FutureStateBase& operator=(const FutureStateBase&) = delete;
  ~FutureStateBase();

  std::uint32_t phase() const noexcept {
    // acquire: pairs with publish()'s release: the value, exception or message
    // written by the winning setter is visible once its phase is.
    return phase_.load(std::memory_order_acquire);
  }
  bool done() const noexcept { return phase() >= kResult; }

  /// The one decision between setters: kPending -> kSetting. False if another
  /// setter (or cancel) won.
  bool claim() noexcept {
    std::uint32_t expected = kPending;
    // relaxed: the CAS only decides who writes; publish() releases the writes.
    return phase_.compare_exchange_strong(expected, kSetting, std::memory_order_relaxed,
                                          std::memory_order_relaxed);
  }
  /// After claim() and writing the outcome: makes it visible, wakes every
  /// waiter (scheduled) and runs the callbacks (inline).
  void publish(std::uint32_t outcome, const void* future) noexcept;

  bool set_exception(std::exception_ptr e, const void* future);
  bool cancel(std::string message, const void* future) noexcept;
  [[noreturn]] void throw_failure() const;  ///< kException or kCancelled
  std::exception_ptr exception() const;

  /// Adds a callback node whose function the derived state keeps; returns false
  /// (node not linked) if the future is done already.
  bool push_callback(FutureCallbackNode* n) noexcept;
  static bool remove_callback(FutureCallbackNode* n) noexcept;

  Event done_event;

 private:
  static constexpr std::uintptr_t kClosed = 1;  ///< callback list: done, no more pushes

  detail::Atomic<std::uint32_t> phase_{kPending};
  /// Treiber stack of FutureCallbackNode (newest first), or kClosed once the
  /// completer took it.
  detail::Atomic<std::uintptr_t> callbacks_{0};
  FutureCallbackNode* fired_ = nullptr;  ///< the taken list, oldest first (freed at destruction)
  std::exception_ptr exception_;
  std::string message_;
};

template <class T>
class FutureState : public FutureStateBase {
 public:
  using Value = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  using Callback = std::function<void(const Future<T>&)>;

  struct Node : FutureCallbackNode {
    explicit Node(Callback f) : fn(std::move(f)) {
      run = [](FutureCallbackNode* n, const void* future) noexcept {
        static_cast<Node*>(n)->fn(*static_cast<const Future<T>*>(future));
      };
      destroy = [](FutureCallbackNode* n) noexcept { delete static_cast<Node*>(n); };
    }
    Callback fn;
  };

  std::optional<Value> value;
};

}  // namespace detail

/// The handle remove_done_callback takes (empty when the callback already ran
/// inside add_done_callback).
class FutureCallbackHandle {
 public:
  FutureCallbackHandle() = default;
  explicit operator bool() const noexcept { return node_ != nullptr; }

 private:
  template <class>
  friend class Future;
  explicit FutureCallbackHandle(detail::FutureCallbackNode* n) noexcept : node_(n) {}
  detail::FutureCallbackNode* node_ = nullptr;
};

template <class T = void>
class Future {
  using State = detail::FutureState<T>;
  using Value = typename State::Value;

 public:
  class Awaiter;
  using Callback = typename State::Callback;

  Future() : state_(std::make_shared<State>()) {}

  /// Completes the future with `v` and wakes every waiter. Throws
  /// InvalidStateError("invalid state") if it is done (or being completed).
  template <class U = T>
  requires(!std::is_void_v<U>) void set_result(U v) {
    if (!state_->claim()) throw InvalidStateError("invalid state");
    state_->value.emplace(std::move(v));
    state_->publish(State::kResult, this);
  }
  template <class U = T>
  requires std::is_void_v<U>
  void set_result() {
    if (!state_->claim()) throw InvalidStateError("invalid state");
    state_->value.emplace();
    state_->publish(State::kResult, this);
  }
  /// Completes the future with an exception (result() and co_await rethrow it).
  /// Throws InvalidStateError("invalid state") if it is done.
  void set_exception(std::exception_ptr e) {
    if (!e) throw InvalidStateError("weft::Future::set_exception: null exception_ptr");
    if (!state_->set_exception(std::move(e), this)) throw InvalidStateError("invalid state");
  }
  template <class E>
  void set_exception(E e) {
    set_exception(std::make_exception_ptr(std::move(e)));
  }
  /// Cancels a pending future (result() then throws CancelledError carrying
  /// `message`); returns false if it is done already (asyncio).
  bool cancel(std::string message = {}) noexcept {
    return state_->cancel(std::move(message), this);
  }

  bool done() const noexcept { return state_->done(); }
  bool cancelled() const noexcept { return state_->phase() == State::kCancelled; }

  /// The value (see the file comment for what it throws).
  template <class U = T>
  requires(!std::is_void_v<U>) const U& result() const {
    check_result();
    return *state_->value;
  }
  template <class U = T>
  requires std::is_void_v<U>
  void result() const { check_result(); }
  /// The exception (null after set_result); CancelledError if cancelled;
  /// InvalidStateError("Exception is not set.") while pending.
  std::exception_ptr exception() const { return state_->exception(); }

  /// Runs `fn(future)` once the future is done (see the file comment: inline,
  /// on the completing thread; at once if done already).
  FutureCallbackHandle add_done_callback(Callback fn) {
    auto* n = new typename State::Node(std::move(fn));
    if (state_->push_callback(n)) return FutureCallbackHandle(n);
    n->fn(*this);
    delete n;
    return {};
  }
  /// True if the callback was removed before it started running.
  bool remove_done_callback(FutureCallbackHandle h) noexcept {
    return h.node_ && State::remove_callback(h.node_);
  }

  /// A plain thread's wait: true once done, false if `timeout` passed first.
  /// Throws InvalidStateError on a weft worker thread (co_await instead).
  bool wait_blocking(std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) const {
    return state_->done_event.wait_blocking(timeout);
  }

  /// `co_await fut` and `co_await fut.wait()`: see the file comment.
  [[nodiscard]] Awaiter wait() const noexcept { return Awaiter(state_); }
  Awaiter operator co_await() const noexcept { return Awaiter(state_); }

  /// True if both handles refer to the same state.
  friend bool operator==(const Future& a, const Future& b) noexcept { return a.state_ == b.state_; }

 private:
  template <class>
  friend class Future;
  explicit Future(std::shared_ptr<State> s) noexcept : state_(std::move(s)) {}

  void check_result() const {
    const std::uint32_t p = state_->phase();
    if (p == State::kResult) return;
    if (p < State::kResult) throw InvalidStateError("Result is not set.");
    state_->throw_failure();
  }

  std::shared_ptr<State> state_;
};

template <class T>
class Future<T>::Awaiter {
 public:
  explicit Awaiter(std::shared_ptr<State> s) noexcept
      : state_(std::move(s)), wait_(state_->done_event.wait()) {}
  bool await_ready() { return wait_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) { return wait_.await_suspend(h); }
  T await_resume() {
    try {
      (void)wait_.await_resume();
    } catch (const CancelledError& e) {
      // asyncio: cancelling the awaiting task cancels the future (a no-op if
      // it is done already).
      (void)Future(state_).cancel(message_of(e));
      throw;
    }
    Future f(state_);
    f.check_result();
    if constexpr (!std::is_void_v<T>) return *state_->value;
  }

 private:
  static std::string message_of(const CancelledError& e) {
    // CancelledError's what() reports a default text for an empty message.
    std::string m = e.what();
    return m == CancelledError().what() ? std::string() : m;
  }

  std::shared_ptr<State> state_;
  Event::WaitAwaiter wait_;
};

}  // namespace weft

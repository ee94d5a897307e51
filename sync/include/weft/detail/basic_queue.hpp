// BasicQueue<T, Storage>: asyncio.Queue's API over QueueCore (counting, waiting,
// join, shutdown) and an item storage (FIFO, LIFO or priority). The public
// classes and their documentation are in weft/queue.hpp.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "weft/detail/queue_core.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/sync_errors.hpp"

namespace weft::detail {

template <class T, class Storage>
class BasicQueue : private QueueCore {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "weft::Queue<T>: T must be nothrow move constructible (items move between "
                "threads inside lock-free hand-offs that cannot be undone)");
  static_assert(std::is_nothrow_destructible_v<T>,
                "weft::Queue<T>: T must be nothrow destructible");
  using Prepared = typename Storage::Prepared;

 public:
  using value_type = T;
  class PutAwaiter;
  class GetAwaiter;
  class JoinAwaiter;

  using QueueCore::empty;
  using QueueCore::full;
  using QueueCore::is_shutdown;
  using QueueCore::maxsize;
  using QueueCore::qsize;
  using QueueCore::unfinished_tasks;

  // ---- awaiting operations (inside a weft task) ----

  /// Puts `item`, waiting while the queue is full. Throws QueueShutDown after
  /// shutdown(), CancelledError if cancelled while waiting (the item is then
  /// not in the queue).
  [[nodiscard]] PutAwaiter put(T item) { return PutAwaiter(this, std::move(item)); }
  /// Removes and returns an item, waiting while the queue is empty. Throws
  /// QueueShutDown once the queue is shut down and empty (immediately for an
  /// immediate shutdown), CancelledError if cancelled while waiting (no item
  /// is taken then).
  [[nodiscard]] GetAwaiter get() noexcept { return GetAwaiter(this); }
  /// Waits until every item put has been marked done with task_done().
  [[nodiscard]] JoinAwaiter join() noexcept { return JoinAwaiter(this); }

  // ---- non-waiting operations (any thread) ----

  /// Throws QueueFull if there is no room (or putters are waiting for it),
  /// QueueShutDown after shutdown(). The item is moved from only on success.
  void put_nowait(T&& item) {
    if (try_hand_over(&item)) return;  // a getter was waiting: straight to it
    std::uint64_t ticket;
    switch (reserve_room(ticket)) {
      case Status::ok:
        break;
      case Status::shut_down:
        throw QueueShutDown();
      default:
        throw QueueFull();
    }
    insert(ticket, std::move(item));
  }
  void put_nowait(const T& item) {
    T copy(item);
    put_nowait(std::move(copy));
  }
  /// put_nowait() that returns false instead of throwing QueueFull (it still
  /// throws QueueShutDown). The item is moved from only on success.
  bool try_put(T&& item) {
    if (try_hand_over(&item)) return true;
    std::uint64_t ticket;
    Status st = reserve_room(ticket);
    if (st == Status::shut_down) throw QueueShutDown();
    if (st != Status::ok) return false;
    insert(ticket, std::move(item));
    return true;
  }
  bool try_put(const T& item) {
    T copy(item);
    return try_put(std::move(copy));
  }
  /// Throws QueueEmpty if no item is available (or getters are waiting for
  /// it), QueueShutDown if the queue is shut down and empty.
  T get_nowait() {
    std::uint64_t ticket;
    switch (reserve_item(/*nowait=*/true, ticket)) {
      case Status::ok:
        break;
      case Status::shut_down:
        throw QueueShutDown();
      default:
        throw QueueEmpty();
    }
    return take(ticket);
  }
  /// get_nowait() that returns nullopt instead of throwing QueueEmpty (it still
  /// throws QueueShutDown).
  std::optional<T> try_get() {
    std::uint64_t ticket;
    Status st = reserve_item(/*nowait=*/true, ticket);
    if (st == Status::shut_down) throw QueueShutDown();
    if (st != Status::ok) return std::nullopt;
    return take(ticket);
  }

  /// Marks one item done (asyncio's task_done()). Throws ValueError when called
  /// more times than items were put. Lock-free: one CAS when uncontended.
  void task_done() { QueueCore::task_done(); }
  /// Python 3.13's shutdown(): see weft/queue.hpp.
  void shutdown(bool immediate = false) { QueueCore::shutdown(immediate); }

  // ---- blocking operations for plain threads (never on a weft worker) ----

  /// Puts `item`, blocking while full; false if `timeout` passed first (the
  /// item is then not in the queue). Throws QueueShutDown after shutdown(),
  /// std::bad_alloc if the item's block cannot be allocated (the item is
  /// then not in the queue either).
  bool put_blocking(T item, std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) {
    check_blocking("put_blocking");
    PutAwaiter a(this, std::move(item));
    if (a.await_ready()) {
      a.await_resume();
      return true;
    }
    a.tag = kPut;
    std::uint32_t outcome = wait_blocking(&a, deadline_after(timeout));
    if (outcome == WaitNode::kRefused) throw QueueShutDown();
    if (outcome == WaitNode::kGranted) a.throw_if_not_kept();
    return outcome == WaitNode::kGranted;
  }
  /// Removes an item, blocking while empty; nullopt if `timeout` passed first.
  /// Throws QueueShutDown like get().
  std::optional<T> get_blocking(
      std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max()) {
    check_blocking("get_blocking");
    GetAwaiter a(this);
    if (!a.await_ready()) {
      std::uint32_t outcome = wait_blocking(&a, deadline_after(timeout));
      if (outcome == WaitNode::kRefused) throw QueueShutDown();
      if (outcome != WaitNode::kGranted) return std::nullopt;
      return std::move(*a.slot_);
    }
    return a.await_resume();
  }

 protected:
  template <class... StorageArgs>
  explicit BasicQueue(std::int64_t maxsize, StorageArgs&&... args)
      : QueueCore(maxsize),
        storage_(maxsize > 0 ? static_cast<std::size_t>(maxsize) : 0,
                 std::forward<StorageArgs>(args)...) {}
  /// Tests: the tickets start at `first_ticket` (the wrap of the 36-bit
  /// counts is reached without 2^36 operations).
  struct FirstTicket {
    std::uint64_t value;
  };
  BasicQueue(std::int64_t maxsize, FirstTicket first) requires requires {
    Storage::kSlotsFollowTickets;
  } : QueueCore(maxsize, first.value),
      storage_(maxsize > 0 ? static_cast<std::size_t>(maxsize) : 0, first.value) {
  }

 private:
  /// Pushes an item whose room is reserved. Nothing is lost if an allocation
  /// (the node of a linked storage, a block of FifoStorage's) throws: the
  /// reservation is returned, the item untouched.
  void insert(std::uint64_t ticket, T&& item) {
    if constexpr (requires { Storage::kPushThrowsBeforeChange; }) {
      // No preparing: the storage moves the item only once it cannot fail.
      giving_back_room_on_throw([&] { storage_.push_item(ticket, std::move(item)); });
    } else {
      Prepared p;
      giving_back_room_on_throw([&] { p = storage_.prepare(std::move(item)); });
      push_prepared(ticket, std::move(p));
    }
    publish();
  }
  /// An awaited put's own push, room reserved. A storage that can fail before
  /// changing anything (FifoStorage's blocks: std::bad_alloc) gets the
  /// reservation back and the exception goes to the put's caller.
  void push_reserved(std::uint64_t ticket, Prepared&& p) {
    if constexpr (requires { Storage::kPushThrowsBeforeChange; })
      giving_back_room_on_throw([&] { storage_.push(ticket, std::move(p)); });
    else
      push_prepared(ticket, std::move(p));
  }
  /// Runs `step` (which changes nothing if it throws); on a throw the room
  /// reserved for the put is given back and the exception goes on.
  template <class Step>
  void giving_back_room_on_throw(Step&& step) {
    try {
      step();
    } catch (...) {
      cancel_room();
      throw;
    }
  }
  /// A push whose failure cannot be reported (PriorityQueue's heap may have
  /// changed when it throws): out of memory there ends the process.
  void push_prepared(std::uint64_t ticket, Prepared&& p) noexcept {
    try {
      storage_.push(ticket, std::move(p));
    } catch (...) {
      // Out of memory in a storage that may have changed when it throws
      // (PriorityQueue's heap grows): nothing to undo it with. FifoStorage
      // never gets here (its pushes throw before changing anything).
      std::terminate();
    }
  }
  /// Pops the item of reservation `ticket` and frees its room.
  T take(std::uint64_t ticket) noexcept {
    T v = storage_.pop(ticket);
    release_room();
    return v;
  }
  static void check_blocking(const char* what) {
    if (tls_context.worker)
      throw InvalidStateError(std::string("weft::Queue::") + what +
                              ": called on a weft worker thread; co_await instead");
  }

  bool store_putter(WaitNode* n, std::uint64_t ticket) noexcept final {
    auto* a = static_cast<PutAwaiter*>(static_cast<WaitAwaiter*>(n));
    if constexpr (requires { Storage::kPushThrowsBeforeChange; }) {
      try {
        storage_.push(ticket, std::move(a->prepared_));
      } catch (...) {
        return false;  // nothing changed: the item is still in the awaiter
      }
    } else {
      push_prepared(ticket, std::move(a->prepared_));
    }
    return true;
  }
  void load_getter(WaitNode* n, std::uint64_t ticket) noexcept final {
    auto* a = static_cast<GetAwaiter*>(static_cast<WaitAwaiter*>(n));
    a->slot_.emplace(storage_.pop(ticket));
  }
  void drop_item(std::uint64_t ticket) noexcept final { (void)storage_.pop(ticket); }
  void give_item(WaitNode* n, void* item) noexcept final {
    auto* a = static_cast<GetAwaiter*>(static_cast<WaitAwaiter*>(n));
    a->slot_.emplace(std::move(*static_cast<T*>(item)));
  }

  Storage storage_;
};

template <class T, class Storage>
class BasicQueue<T, Storage>::PutAwaiter : public WaitAwaiter {
 public:
  PutAwaiter(BasicQueue* q, T&& item)
      : WaitAwaiter(q), prepared_(q->storage_.prepare(std::move(item))) {}
  PutAwaiter(PutAwaiter&&) noexcept = default;

  bool await_ready() {
    if (queue()->try_hand_over(prepared_.get())) return ready_now();  // to a waiting getter
    std::uint64_t ticket;
    switch (queue()->reserve_room(ticket)) {
      case Status::ok:
        queue()->push_reserved(ticket, std::move(prepared_));
        queue()->publish();
        return ready_now();
      case Status::shut_down:
        shut_down_ = true;
        return true;
      default:
        tag = kPut;
        return false;
    }
  }
  bool await_suspend(std::coroutine_handle<> h) { return suspend(h, "Queue.put"); }
  void await_resume() {
    if (shut_down_) throw QueueShutDown();
    switch (outcome()) {
      case kCancelled:
        throw_cancelled_at_resume();
      case kRefused:
        throw QueueShutDown();
      default:
        throw_if_not_kept();
        return;  // in the queue
    }
  }

 private:
  friend class BasicQueue;
  /// A grant the combiner could not keep (QueueCore::kLate*).
  void throw_if_not_kept() const {
    if (tag & kLateShutDown) throw QueueShutDown();
    if (tag & kLateOutOfMemory) throw std::bad_alloc();
  }
  BasicQueue* queue() const noexcept { return static_cast<BasicQueue*>(owner()); }
  Prepared prepared_;
  bool shut_down_ = false;
};

template <class T, class Storage>
class BasicQueue<T, Storage>::GetAwaiter : public WaitAwaiter {
 public:
  explicit GetAwaiter(BasicQueue* q) noexcept : WaitAwaiter(q) {}
  GetAwaiter(GetAwaiter&&) noexcept = default;

  bool await_ready() noexcept {
    std::uint64_t ticket;
    switch (queue()->reserve_item(/*nowait=*/false, ticket)) {
      case Status::ok:
        slot_.emplace(queue()->take(ticket));
        return ready_now();
      case Status::shut_down:
        shut_down_ = true;
        return true;
      default:
        tag = kGet;
        return false;
    }
  }
  bool await_suspend(std::coroutine_handle<> h) { return suspend(h, "Queue.get"); }
  T await_resume() {
    if (shut_down_) throw QueueShutDown();
    switch (outcome()) {
      case kCancelled:
        throw_cancelled_at_resume();
      case kRefused:
        throw QueueShutDown();
      default:
        keep_result_over_pending_cancel();  // the item is ours alone now
        return std::move(*slot_);
    }
  }

 private:
  friend class BasicQueue;
  BasicQueue* queue() const noexcept { return static_cast<BasicQueue*>(owner()); }
  std::optional<T> slot_;
  bool shut_down_ = false;
};

template <class T, class Storage>
class BasicQueue<T, Storage>::JoinAwaiter : public WaitAwaiter {
 public:
  explicit JoinAwaiter(BasicQueue* q) noexcept : WaitAwaiter(q) {}
  bool await_ready() noexcept {
    return static_cast<BasicQueue*>(owner())->join_ready(tag) && ready_now();
  }
  bool await_suspend(std::coroutine_handle<> h) { return suspend(h, "Queue.join"); }
  void await_resume() {
    const std::uint32_t o = outcome();
    if (o == kCancelled || (granted_after_wait() && take_pending_cancel()))
      throw_cancelled_at_resume();
  }
};

}  // namespace weft::detail

// Combiner: the wait machinery under Semaphore, Event, Condition, Barrier and
// the queues: free of locks; it spins only where the storage it moves items
// through does (a Queue's ring or blocks, PriorityQueue's oneTBB heap: see
// "Progress"); waiting operations depend on the combiner thread.
//
// Design
// ------
// Each primitive keeps what it hands out (permits, the lock bit, the event bit,
// item counts) in its own atomic *state words*; the uncontended paths touch only
// those (one read-modify-write each) and never come here. When an operation has
// to wait, its waiter must go into a FIFO list, and the list must survive
// concurrent releases, new waiters and cancellations from any thread, without a
// mutex and without spinning.
//
// The list (a WaitList of WaitNodes) is touched by one thread at a time: the
// *combiner*. Requests reach it through a *mailbox*: a Treiber stack in one
// atomic word whose low bits are flags:
//
//   mailbox = top request pointer | KIND (which link of the node) | DIRTY | BUSY
//
//   - BUSY: someone is combining. The thread that turns BUSY on becomes the
//     combiner; everybody else leaves a request or a note and goes.
//   - DIRTY: a state word changed (a release, a set, a put): look again.
//   - A waiter pushes its ENQUEUE request (CAS) and sets BUSY in the same CAS
//     if it was clear. A releaser changes its state word and, if the waiters
//     flag there is set, calls signal(): one fetch_or(BUSY | DIRTY) (or, when
//     the mailbox is empty, one CAS that takes BUSY).
//
// The combiner loops: exchange the mailbox for BUSY (taking every request and
// clearing DIRTY), reverse the taken stack into FIFO order, process it (link
// ENQUEUEs, unlink CANCELs and wake their tasks), then let the primitive match
// what its state word holds against the list in FIFO order (match()), waking
// each granted waiter with TaskHeader::wake(). Finally it tries to clear BUSY
// with a CAS that fails if a request or DIRTY arrived meanwhile, and loops.
// (When the mailbox is empty, a waiter takes BUSY with one CAS and handles its
// own request directly: one mailbox round trip less when uncontended. A
// primitive may also take the role with try_enter() to do a hand-off itself,
// as a Queue put does for a waiting getter.)
//
// Alternatives rejected: a mutex around the list (Tokio's semaphore and
// notify do this; forbidden here); a lock-free doubly-linked list that every
// thread edits (Sundell-Tsigas: unlinking a cancelled node in the middle needs
// reclamation and a multi-word protocol, and FIFO hand-off still needs one
// decision per node); per-waiter spinning queues (MCS/CLH: those are locks).
//
// Progress (what is true, and what is not: R5)
// --------
//   - No thread ever spins or blocks waiting for the BUSY holder (as BUSY
//     holder; the ring's slot wait above is about a ticket, not BUSY): signal() is
//     one CAS and one fetch_or -- but a fetch_or whose result is used compiles
//     to a cmpxchg loop on x86 that retries when the mailbox changed, so it is
//     lock-free, not wait-free; enqueue() is one successful CAS on the mailbox
//     (lock-free: it retries only when the mailbox changed: another request, a
//     signal, the combiner taking or leaving). A thread that does not become
//     the combiner does O(1) work besides those retries. The combiner's own loop is lock-free,
//     not wait-free: it iterates again only because other threads made progress
//     (pushed a request or changed a state word); its work is O(requests +
//     granted waiters). The exception is the queues' storage, which the
//     combiner moves items through: a Queue's ring (ring_storage.hpp) and
//     blocks (block_storage.hpp) make a push or pop wait for another
//     thread's slot operation still in flight (of the same or an older
//     ticket; at a block's boundary, for the block to be linked or the head
//     moved on), and PriorityQueue's heap waits in oneTBB's aggregator
//     (tbb_priority_storage.hpp). There the combiner's loop is not lock-free.
//   - Operations that do not wait -- try_acquire/release, set/clear, notify,
//     LifoQueue's put_nowait/get_nowait (its stack storage) -- complete
//     whatever the combiner is doing (their progress guarantee is in each
//     header). A Queue's or PriorityQueue's put_nowait/get_nowait may wait for
//     a combiner preempted inside a storage push or pop (the ring's or the
//     blocks' slot in flight, the heap's aggregator).
//   - Waiting, however, is delegated: a waiter's ENQUEUE, a cancellation's
//     CANCEL and every hand-off are carried out by whichever thread holds
//     BUSY. While that thread is preempted, waiters are not granted even if
//     permits, the lock or items are free (and while waiters are counted, the
//     fast paths stay closed to newcomers, FIFO), and cancelled waiters are not
//     woken. Likewise, while a waiter is preempted between on_enqueue() and
//     its push, the fast paths refuse although the resource may be free and
//     nobody is listed: they then wait for that thread. The waiting path is therefore not
//     lock-free: it is free of locks (and of spinning, the queues' storage aside), but it
//     depends on the combiner being scheduled, as a waiting task depends on its waker.
//     (tests/model/ explores these paths. Lock no longer uses the combiner: lock.hpp.)
//
// Cancellation ("one atomic decides", wait_node.hpp): withdraw() CASes the node
// from kWaiting to kCancelled; if it wins, it cannot unlink the node (the list
// belongs to the combiner), so it pushes the node's CANCEL request and returns
// handed_off; the combiner unlinks the node (or never links it, if the ENQUEUE
// was not yet processed) and only then wakes the task, whose co_await throws
// CancelledError. If the canceller itself becomes the combiner and finishes its
// own request, withdraw() returns withdrawn instead (no wake needed). If the
// combiner won, withdraw() returns too_late: the task gets what it waited for,
// and the awaiter decides at the resumption (detail::take_pending_cancel()):
// a Lock or Semaphore passes what it got on and throws CancelledError, an
// Event or Condition wait throws (a Condition passes its notification on), a
// Queue put or get keeps the item (nothing to give back without losing it) and
// the cancellation comes at the next suspension.
//
// Memory orders: the mailbox CASes are acq_rel: release publishes a node (and a
// state-word change) to the next combiner, acquire gives a new combiner the
// list as the previous one left it (its final CAS is a release).
//
// Not handled: a frame destroyed while its task is suspended in a wait (the
// runtime destroys the frames of tasks that refuse to finish at shutdown)
// leaves its node linked; the primitive must not be used after that. Nor
// is a primitive destroyed while an operation on it is still running: a
// releaser changes the state word and then signals, and a combiner running
// meanwhile (the waiter's own enqueue, say) may grant the waiter first, which
// may then return and free the primitive before the signal (found by
// ModelSemaphore under ASan; each header's "Lifetime" says what follows).
// Event::set() is safe here because it signals only when the waiters flag was
// already set, and then no combiner but its own signal can grant the waiter
// unless another operation runs concurrently.
//
// Waking: granted or cancelled tasks are always scheduled with wake(), never
// resumed on the combiner's stack, and only after the combiner has cleared
// BUSY (its last access to the primitive; a thread combining several
// primitives at once wakes when it has left all of them): a woken waiter may
// destroy the primitive at once, e.g. an Event in its own frame that another
// task set(). Until then the decided nodes wait in a thread-local list. A waiter granted by its own
// thread while it is still in await_suspend (it became the combiner) is not woken at all: the node
// is marked kInline and await_suspend returns false.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/wait_node.hpp"

namespace weft::detail {

struct WaitAwaiter;

class Combiner {
 public:
  Combiner(const Combiner&) = delete;
  Combiner& operator=(const Combiner&) = delete;

  /// Publishes a waiter (its ENQUEUE request) and combines if nobody does.
  /// Lock-free. The node's fields (task, tag, payload) must be set before.
  void enqueue(WaitNode* n) noexcept {
    n->prev = nullptr;  // not linked (yet)
    on_enqueue(n);
    push(n, kEnqueue);
  }

  /// Makes sure a combiner looks at the state word again. Lock-free (a CAS
  /// loop on the mailbox), O(combining) more if the caller becomes the combiner.
  void signal() noexcept;

  /// The withdraw() of every waiting awaiter (see the file comment). For a
  /// WaitAwaiter: the combiner is found in its CANCEL link (owner()).
  static Withdraw withdraw(WaitAwaiter* a) noexcept;

  /// A plain thread's wait: publishes `n` (task must be null) and blocks on a
  /// futex until the combiner is done with it, or until `deadline_ns`
  /// (steady clock; < 0: none), when it withdraws the wait. Returns the outcome.
  std::uint32_t wait_blocking(WaitNode* n, std::int64_t deadline_ns) noexcept;
  /// The deadline for wait_blocking() `timeout` from now (negative: now),
  /// saturating; nanoseconds::max(), the blocking calls' default: -1 (none).
  /// On the clock wait_blocking() compares it with (CLOCK_MONOTONIC; the
  /// model's virtual clock in the model build).
  static std::int64_t deadline_after(std::chrono::nanoseconds timeout) noexcept;

 protected:
  Combiner() = default;
  /// Virtual: the primitives are polymorphic through their hooks, and a
  /// BoundedSemaphore may be deleted through a Semaphore pointer.
  virtual ~Combiner() = default;

  /// Called by the waiting thread itself, before its ENQUEUE request is
  /// published: the primitive counts the waiter in its state word, so that
  /// fast paths fail while any waiter exists, even one whose request the
  /// combiner has not processed yet (no barging, R6). The primitive counts it
  /// out exactly once: when it grants or refuses it, or in on_cancelled().
  virtual void on_enqueue(WaitNode*) noexcept {}

  // ---- hooks, called by the combiner only ----

  /// An ENQUEUE request in FIFO order: link it, grant it at once, or skip it if
  /// already cancelled (its CANCEL request follows).
  virtual void accept(WaitNode* n) noexcept = 0;
  /// Hand out what the state word holds to the waiters in FIFO order, and keep
  /// the state word's waiters flag true to the lists.
  virtual void match() noexcept = 0;
  /// A cancelled node, already unlinked, just before its task is woken.
  virtual void on_cancelled(WaitNode*) noexcept {}

  // ---- helpers for the hooks ----

  /// Decides the wait of `n` for the combiner: kWaiting -> `outcome` (kGranted
  /// or kRefused). False if a canceller got there first.
  static bool claim(WaitNode* n, std::uint32_t outcome) noexcept {
    std::uint32_t expected = WaitNode::kWaiting;
    // acq_rel: the one decision against withdraw(); acquire the waiter's payload.
    return n->state.compare_exchange_strong(expected, outcome, std::memory_order_acq_rel,
                                            std::memory_order_acquire);
  }
  /// Ends a decided, unlinked wait: wakes the task (or the blocked thread) once
  /// this thread has cleared BUSY (see "Waking"). The node must not be touched
  /// afterwards. Only the hooks call it, holding BUSY.
  static void finish(WaitNode* n) noexcept;

  /// Becomes the combiner if nobody is and nothing is queued (one CAS; never
  /// waits). On success the caller owns the lists and must call leave().
  bool try_enter() noexcept;
  /// After a successful try_enter(): match, then hand the role back (or go on
  /// combining the requests that arrived meanwhile).
  void leave() noexcept { settle(kBusy); }

 private:
  static constexpr std::uintptr_t kBusy = 1;
  static constexpr std::uintptr_t kDirty = 2;
  static constexpr std::uintptr_t kCancelKind = 4;  ///< on a request pointer: the CANCEL link
  static constexpr std::uintptr_t kEnqueue = 0;
  static constexpr std::uintptr_t kFlags = kBusy | kDirty;

  void push(WaitNode* n, std::uintptr_t kind) noexcept;
  /// Holding BUSY with the mailbox at `held` (no requests taken): match, then
  /// try to leave; combine() if requests or DIRTY arrived meanwhile.
  void settle(std::uintptr_t held) noexcept;
  void combine() noexcept;
  void finish_cancel(WaitNode* n) noexcept;

  detail::Atomic<std::uintptr_t> mailbox_{0};
};

/// The shared part of every awaiter that may wait in a Combiner's list.
///
/// The primitive it waits on is kept in the node's CANCEL link, which is free
/// until a cancellation sends the CANCEL request (a word less per waiter, see
/// the memory note in event.hpp): owner() is valid until withdraw() won, and
/// is not needed after that (the wait can only end in CancelledError).
struct WaitAwaiter : Suspension, WaitNode {
  explicit WaitAwaiter(Combiner* c) noexcept : WaitNode(Lazy{}) {
    cancel_link = reinterpret_cast<std::uintptr_t>(c);
  }
  /// Awaiters are moved only before their first use (weft::timeout wraps them).
  WaitAwaiter(WaitAwaiter&& o) noexcept : Suspension(o), WaitNode(Lazy{}) {
    cancel_link = o.cancel_link;
    tag = o.tag;
    state.store(o.state.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  Combiner* owner() const noexcept { return reinterpret_cast<Combiner*>(cancel_link); }

  /// In await_suspend: if await_ready() completed the operation with the
  /// cooperative budget spent (ready_now() returned false), yields once, the
  /// operation's result standing whatever happens meanwhile; otherwise
  /// publishes this waiter for the running task. Returns false (do not
  /// suspend) if the wait already ended inline.
  bool suspend(std::coroutine_handle<> h, const char* label);
  /// await_ready's half of the cooperative budget: true to complete now, false
  /// to yield first (marks the node kReadyYield).
  bool ready_now() noexcept;

  static Withdraw withdraw_wait(Suspension* self, TaskHeader* task) noexcept;

 private:
  void yield_ready(std::coroutine_handle<> h, const char* label);
};

}  // namespace weft::detail

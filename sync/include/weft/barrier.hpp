// weft::Barrier: asyncio.Barrier (Python 3.11) for tasks on any number of
// worker threads.
//
//   weft::Barrier barrier(3);                   // three parties
//   std::int64_t i = co_await barrier.wait();   // in each of three tasks: 0, 1, 2
//   barrier.abort();                            // waiters and later wait()s throw
//   barrier.reset();                            // back to the empty, filling state
//
// Semantics (asyncio's state machine: filling, draining, resetting, broken)
//  - Barrier(parties): parties < 1 throws weft::ValueError ("parties must be
//    > 0", asyncio's wording).
//  - wait() enters the barrier and returns its arrival index, the number of
//    tasks inside when it entered (0 for the first, parties-1 for the last).
//    The task that makes the count reach `parties` trips the barrier: it
//    returns at once, every task waiting in it is released, and the barrier
//    drains: it stays closed until each released task has resumed (and
//    returned from its wait()); wait() calls that arrive meanwhile wait to
//    enter the next cycle, and are let in, in the order their requests reached
//    the combiner, when the last one has left. With parties == 1 every wait()
//    returns 0 at once.
//  - abort() breaks the barrier: tasks waiting in it throw BrokenBarrierError
//    ("Abort or reset of barrier"), as do tasks waiting to enter and every
//    later wait() ("Barrier aborted"), until reset().
//  - reset() makes the tasks waiting in it throw BrokenBarrierError ("Abort
//    or reset of barrier"); the barrier then refills once they have left (at
//    once if nobody is inside). It also repairs a broken barrier.
//  - As in asyncio, a released task's outcome is decided when it resumes: a
//    reset() or abort() that comes after the trip but before a released task
//    has resumed makes that task throw BrokenBarrierError too.
//  - Cancellation (cancel(), weft::wait_for, weft::timeout) of a task waiting
//    in a filling barrier does *not* break it (asyncio's Barrier does not
//    either, unlike a timeout in threading.Barrier): the task leaves, the count
//    goes down by one when it resumes with CancelledError, and the next task to
//    enter gets the index it had (so indices are unique only while nobody
//    leaves early, as in asyncio). A task cancelled after it was released (or
//    let in) but before it resumed throws CancelledError, and counts as having
//    passed. A wait to enter is withdrawn without a trace.
//  - n_waiting() is the number of tasks inside a filling barrier (0 while it
//    drains, resets or is broken), counting a cancelled waiter until it has
//    resumed; broken() is true between abort() and reset(); parties() is the
//    constructor's argument.
//  - Where waiters resume: every released, refused or cancelled waiter is
//    resumed by scheduling its task (on any worker), never inline in the
//    wait(), reset() or abort() that released it. The tripping task itself
//    does not suspend (it yields once if its cooperative budget is spent).
//  - Memory order: everything a party did before its wait() happens-before
//    everything any party does after a wait() of the same cycle returned its
//    index (all arrivals and exits are acq_rel RMWs of one state word).
//  - reset(), abort() and the queries may be called from any thread; wait()
//    only from a weft task (RuntimeError otherwise, before any change). asyncio
//    makes reset() and abort() coroutines only because they take its
//    Condition's lock; here they never wait.
//  - Not guaranteed: fairness between tasks entering on the fast path and
//    tasks whose request to enter the combiner has not processed yet (FIFO
//    holds among waiting tasks); unique indices after a cancellation (above).
//
// Progress and cost (state word = phase, count inside, tasks waiting to enter,
// waiters flag; barrier.cpp has the layout)
//   wait() that enters or trips    lock-free: one CAS when uncontended (it
//                                  retries only when another thread changed
//                                  the word); a trip adds a signal to the
//                                  combiner (lock-free), and the O(parties)
//                                  wake-ups if this thread becomes the combiner
//   wait() that waits, cancel      + one CAS push on the mailbox (lock-free);
//                                  the release or admission is delegated to
//                                  the combiner thread and waits for it to run
//                                  (detail/combiner.hpp, "Progress")
//   leaving after a wait           lock-free: one CAS, + a signal when the
//                                  last one to leave ends a drain and tasks
//                                  wait to enter
//   reset(), abort()               lock-free: one CAS, + a signal if tasks wait
//   parties(), n_waiting(),        wait-free: one load (or none)
//   broken()
// The primitive's own code takes no mutex or spin lock; a cancellation also
// runs TaskHeader::cancel() (its progress note, detail/task_header.hpp: a
// few instructions on the cancel-message slot once the task has an info block).
// A waiting wait() is 64 bytes in the
// waiter's frame (the 56 of every weft::sync wait, event.hpp, + the Barrier
// pointer a cancelled waiter needs to leave; the stage rides in the index).
//
// Lifetime: destroying a Barrier while any operation on it is in progress
// (a wait() not yet returned, a reset() or abort() still running) is
// undefined behaviour; let it outlive every party.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/detail/combiner.hpp"
#include "weft/errors.hpp"
#include "weft/sync_errors.hpp"

namespace weft {

class Barrier : private detail::Combiner {
 public:
  class WaitAwaiter;

  /// A barrier for `parties` tasks; throws ValueError if parties < 1 (or too
  /// large: more than kMaxParties, what the index bits of a waiter hold).
  explicit Barrier(std::int64_t parties);

  /// Enters the barrier and waits until it trips; returns the arrival index
  /// (0 .. parties-1). Throws BrokenBarrierError if the barrier is or becomes
  /// broken or reset while waiting, CancelledError if cancelled, RuntimeError
  /// outside a weft task.
  [[nodiscard]] WaitAwaiter wait() noexcept;
  /// Back to the empty filling state; tasks waiting in it throw
  /// BrokenBarrierError. Any thread; never waits.
  void reset() noexcept;
  /// Breaks the barrier: waiting and later wait()s throw BrokenBarrierError
  /// until reset(). Any thread; never waits.
  void abort() noexcept;

  std::int64_t parties() const noexcept { return parties_; }
  /// Tasks inside a filling barrier (0 while draining, resetting or broken).
  std::int64_t n_waiting() const noexcept;
  bool broken() const noexcept;

  /// The largest `parties` (2^28 - 1: a waiter keeps its stage in the top bits
  /// of its 32-bit tag).
  static constexpr std::int64_t kMaxParties = (std::int64_t{1} << 28) - 1;

 private:
  // Phases (asyncio's _BarrierState), in the state word's low two bits.
  static constexpr std::uint64_t kFilling = 0;
  static constexpr std::uint64_t kDraining = 1;
  static constexpr std::uint64_t kResetting = 2;
  static constexpr std::uint64_t kBroken = 3;
  static constexpr std::uint64_t kPhaseMask = 3;
  /// The combiner has waiters listed: state changes must signal it.
  static constexpr std::uint64_t kWaiters = 4;
  /// One task waiting to enter (bits 3..31): while any is counted, wait()
  /// does not enter on its fast path (FIFO).
  static constexpr std::uint64_t kEnteringOne = 8;
  static constexpr std::uint64_t kEnteringMask = 0xffff'fff8;
  /// One task inside the barrier (bits 32..63): entered and not yet left.
  static constexpr int kCountShift = 32;
  static constexpr std::uint64_t kCountOne = std::uint64_t{1} << kCountShift;

  static std::uint64_t phase(std::uint64_t s) noexcept { return s & kPhaseMask; }
  static std::uint64_t count(std::uint64_t s) noexcept { return s >> kCountShift; }
  static std::uint64_t entering(std::uint64_t s) noexcept { return (s & kEnteringMask) >> 3; }
  static std::uint64_t with_phase(std::uint64_t s, std::uint64_t p) noexcept {
    return (s & ~kPhaseMask) | p;
  }

  /// The state word after the task that holds index `count(s)` enters.
  std::uint64_t entered(std::uint64_t s) const noexcept;
  /// A task inside leaves (at its resumption); returns the word before.
  std::uint64_t leave_barrier() noexcept;
  static WaitAwaiter* awaiter(detail::WaitNode* n) noexcept;
  void release_filling() noexcept;

  void accept(detail::WaitNode* n) noexcept override;
  void match() noexcept override;
  void on_cancelled(detail::WaitNode* n) noexcept override;

  const std::int64_t parties_;
  detail::Atomic<std::uint64_t> state_{0};
  /// Combiner-only: tasks inside, waiting for the barrier to leave filling.
  detail::WaitList filling_;
  /// Combiner-only: tasks waiting to enter (while draining or resetting).
  detail::WaitList entering_;
};

class Barrier::WaitAwaiter : public detail::WaitAwaiter {
 public:
  explicit WaitAwaiter(Barrier* b) noexcept : detail::WaitAwaiter(b), barrier_(b) {}
  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h) { return suspend(h, "Barrier.wait"); }
  std::int64_t await_resume();

 private:
  friend class Barrier;
  // Where the wait stands, in the top bits of `tag` (the index, once entered,
  // in the low kIndexBits). Written by the waiter before it publishes the
  // node, then only by the combiner; read by the waiter after its resumption
  // (ordered by the wake).
  static constexpr std::uint32_t kEntering = 0;   ///< waits to enter, counted as entering
  static constexpr std::uint32_t kInside = 1;     ///< entered: must leave at its resumption
  static constexpr std::uint32_t kTripped = 2;    ///< entered, tripped it and left at once
  static constexpr std::uint32_t kOut = 3;        ///< refused entry (broken), counted out
  static constexpr std::uint32_t kBrokenNow = 4;  ///< found it broken in await_ready
  static constexpr int kIndexBits = 28;
  static constexpr std::uint32_t kIndexMask = (1u << kIndexBits) - 1;

  std::uint32_t stage() const noexcept { return tag >> kIndexBits; }
  void set_stage(std::uint32_t st) noexcept { tag = (tag & kIndexMask) | (st << kIndexBits); }
  std::uint32_t index() const noexcept { return tag & kIndexMask; }
  void set_index(std::uint64_t i) noexcept {
    tag = (tag & ~kIndexMask) | static_cast<std::uint32_t>(i);
  }

  /// Not owner(): the CANCEL request reuses that link, and a cancelled task
  /// inside the barrier still has to leave it.
  Barrier* const barrier_;
};

inline Barrier::WaitAwaiter Barrier::wait() noexcept {
  return WaitAwaiter(this);
}

}  // namespace weft

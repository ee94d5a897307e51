// weft::Lock: waiting, hand-off and withdrawal (see weft/lock.hpp, "Design").
#include "weft/lock.hpp"

#include "weft/errors.hpp"

namespace weft {

using detail::HookedSuspension;
using detail::LockWaiter;
using detail::Suspension;
using detail::TaskHeader;
using detail::Withdraw;

namespace detail {
namespace {

/// Nodes this thread freed, for its next waits: a contended lock() costs no
/// allocation in the steady state. Nodes move between threads (a node is
/// freed by its waiter, or by the holder that meets it withdrawn), so each
/// cache is bounded. Under ASan every node is a fresh allocation, so that a
/// node used after its release is reported.
struct WaiterCache {
  static constexpr int kMax = 64;
  LockWaiter* head = nullptr;
  int size = 0;
  bool alive = true;
  ~WaiterCache() {
    alive = false;
    while (head)
      delete std::exchange(head, head->next);
  }
};
thread_local WaiterCache tls_waiters;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheWaiters = false;
#else
constexpr bool kCacheWaiters = true;
#endif

}  // namespace

LockWaiter* new_lock_waiter() {
  WaiterCache& c = tls_waiters;
  if (LockWaiter* n = c.head) {
    c.head = n->next;
    --c.size;
    return n;
  }
  return new LockWaiter;
}

void free_lock_waiter(LockWaiter* n) noexcept {
  WaiterCache& c = tls_waiters;
  if (!kCacheWaiters || !c.alive || c.size >= WaiterCache::kMax) {
    delete n;
    return;
  }
  n->next = c.head;
  c.head = n;
  ++c.size;
}

}  // namespace detail

Lock::~Lock() {
  // Only withdrawn waiters can be left (waiting ones at destruction are UB).
  auto* n = reinterpret_cast<LockWaiter*>(state_.load(std::memory_order_acquire) & ~kLocked);
  while (n)
    detail::free_lock_waiter(std::exchange(n, n->next));
  while (queue_)
    detail::free_lock_waiter(std::exchange(queue_, queue_->next));
}

void Lock::unlock_slow() {
  if (!release()) throw RuntimeError("weft::Lock::unlock: Lock is not acquired.");
}

bool Lock::release() noexcept {
  std::uintptr_t s = state_.load(std::memory_order_relaxed);
  if (!(s & kLocked)) return false;
  // Before the word says unlocked: a new holder records itself after its CAS.
  holder_.store(0, std::memory_order_relaxed);
  for (;;) {
    if (!queue_) {
      if (s == kLocked) {
        // Nobody waits. release: our critical section happens-before the next
        // holder's (its acquire CAS); fails only if a waiter pushed meanwhile.
        if (state_.compare_exchange_weak(s, 0, std::memory_order_release,
                                         std::memory_order_relaxed))
          return true;
        continue;
      }
      // Take every pushed waiter at once; the word stays locked (the lock goes
      // straight to a waiter). acquire: the nodes as their waiters wrote them.
      s = state_.exchange(kLocked, std::memory_order_acquire);
      // The stack is newest first: reverse it into arrival order.
      auto* n = reinterpret_cast<LockWaiter*>(s & ~kLocked);
      while (n) {
        LockWaiter* older = n->next;
        n->next = queue_;
        queue_ = n;
        n = older;
      }
    }
    LockWaiter* n = queue_;
    queue_ = n->next;  // before the grant: the granted task owns queue_ next
    TaskHeader* const task = n->task;
    std::uint32_t expected = LockWaiter::kWaiting;
    // acq_rel: the one decision against a canceller's CAS; release hands our
    // critical section (and queue_) to the waiter, as the wake does too.
    // acquire on failure: the canceller's CAS was its last touch of the node,
    // and it must happen-before our delete (TSan caught the relaxed version).
    if (n->state.compare_exchange_strong(expected, LockWaiter::kGranted, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      holder_.store(reinterpret_cast<std::uintptr_t>(task), std::memory_order_relaxed);
      task->wake();  // not a word on `this` after this: the new holder may free the lock
      return true;
    }
    detail::free_lock_waiter(n);  // withdrawn: its waiter left it to us
    s = state_.load(std::memory_order_relaxed);
  }
}

bool Lock::LockAwaiter::await_suspend(std::coroutine_handle<> h) {
  TaskHeader* t = detail::require_current_task("weft::Lock::lock");
  if (!node_) node_ = detail::new_lock_waiter();  // may throw: before any change
  t->resume_point_ = h;
  if (mode_ == kYield) {
    // The budget is spent: yield first (to the back of the line, like
    // weft::yield()), then take the lock or wait for it (retry_after_yield).
    withdraw = &withdraw_lock;
    before_resume = &retry_after_yield;
    what = "Lock.lock";
    cont_ = h;
    t->resume_point_ = nullptr;  // the worker calls retry_after_yield() first
    t->suspended_on_ = this;
    detail::tls_context.yielded = true;
    return true;
  }
  return wait(t);
}

bool Lock::LockAwaiter::wait(TaskHeader* t) noexcept {
  LockWaiter* n = node_;
  n->task = t;
  n->state.store(LockWaiter::kWaiting, std::memory_order_relaxed);  // published by the CAS
  withdraw = &withdraw_lock;
  what = "Lock.lock";
  mode_ = kWaiting;
  t->suspended_on_ = this;
  Lock* l = lock_;
  std::uintptr_t s = l->state_.load(std::memory_order_relaxed);
  for (;;) {
    if (s == 0) {
      // Free after all (the holder left meanwhile): take it, no wait.
      // acquire: as try_fast().
      if (l->state_.compare_exchange_weak(s, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
        l->holder_.store(reinterpret_cast<std::uintptr_t>(t), std::memory_order_relaxed);
        t->suspended_on_ = nullptr;
        mode_ = kTaken;
        detail::free_lock_waiter(std::exchange(node_, nullptr));
        return false;
      }
      continue;
    }
    n->next = reinterpret_cast<LockWaiter*>(s & ~kLocked);
    // release: the node's fields reach the holder that takes the stack (its
    // exchange acquires). From here on the holder may grant us at any moment;
    // the node is not ours to read until we are resumed.
    if (l->state_.compare_exchange_weak(s, reinterpret_cast<std::uintptr_t>(n) | kLocked,
                                        std::memory_order_release, std::memory_order_relaxed))
      return true;
  }
}

bool Lock::LockAwaiter::retry_after_yield(HookedSuspension* self, TaskHeader* t) noexcept {
  auto* a = static_cast<LockAwaiter*>(self);
  t->resume_point_ = a->cont_;
  if (a->mode_ != kYield) return false;  // cancelled during the yield: await_resume throws
  if (detail::take_pending_cancel()) {
    // A cancel() that came during the yield: delivered now, without the lock.
    a->mode_ = kYieldCancelled;
    return false;
  }
  if (a->lock_->try_fast()) {
    a->mode_ = kTaken;
    detail::free_lock_waiter(std::exchange(a->node_, nullptr));
    return false;
  }
  return a->wait(t);
}

void Lock::LockAwaiter::resume_after_wait() {
  switch (mode_) {
    case kCancelled:
      // The node is the lock's now (its holder frees it).
      node_ = nullptr;
      detail::throw_cancelled_at_resume();
    case kYieldCancelled:
      detail::free_lock_waiter(std::exchange(node_, nullptr));
      mode_ = kTaken;
      detail::throw_cancelled_at_resume();
    case kWaiting:
      // Granted: we hold the lock, and the node is ours again.
      detail::free_lock_waiter(std::exchange(node_, nullptr));
      mode_ = kTaken;
      if (detail::take_pending_cancel()) {
        // Cancelled while the lock was on its way to us: pass it on (asyncio).
        (void)lock_->release();
        detail::throw_cancelled_at_resume();
      }
      return;
    default:
      return;
  }
}

void Lock::LockAwaiter::drop_unresumed_node() noexcept {
  if (mode_ == kCancelled) return;  // the lock's
  if (mode_ == kWaiting) {
    // Destroyed while it waits (a task that refused to finish at shutdown):
    // withdraw the node, as a canceller does, so that no later unlock()
    // grants it and wakes a task that is gone; the lock frees it. acq_rel: as
    // withdraw_lock(). Lost to a grant: the lock was handed to us, and the
    // node is ours to free (the lock stays held: nobody resumes to pass it on).
    std::uint32_t expected = LockWaiter::kWaiting;
    if (node_->state.compare_exchange_strong(expected, LockWaiter::kCancelled,
                                             std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
      node_ = nullptr;
      return;
    }
  }
  detail::free_lock_waiter(std::exchange(node_, nullptr));
}

Withdraw Lock::LockAwaiter::withdraw_lock(Suspension* self, TaskHeader* task) noexcept {
  auto* a = static_cast<LockAwaiter*>(self);
  if (a->mode_ == kYield) {
    // Withdrawn means the scheduler clears suspended_on_ and requeues the
    // task: the worker will resume the frame directly, so the real resume
    // point must be back (the model's budget scenario caught a null one).
    task->resume_point_ = a->cont_;
    // Yielding: only the yielding worker sees the task (Scheduler::release()),
    // and it never took the lock.
    a->mode_ = kYieldCancelled;
    return Withdraw::withdrawn;
  }
  if (a->mode_ != kWaiting) return Withdraw::too_late;
  std::uint32_t expected = LockWaiter::kWaiting;
  // acq_rel: the one decision against the holder's grant. Won: the node stays
  // in the lock's lists for the holder to drop; we never touch it again.
  if (a->node_->state.compare_exchange_strong(
          expected, LockWaiter::kCancelled, std::memory_order_acq_rel, std::memory_order_relaxed)) {
    a->mode_ = kCancelled;
    return Withdraw::withdrawn;
  }
  return Withdraw::too_late;  // granted: the wake is on its way
}

}  // namespace weft

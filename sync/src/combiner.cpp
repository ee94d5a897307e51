// The combining wait machinery (see weft/detail/combiner.hpp for the design).
#include "weft/detail/combiner.hpp"

#include "sys/futex.hpp"
#include "weft/detail/thread_context.hpp"

namespace weft::detail {
namespace {

/// The node this thread is withdrawing right now (inside Combiner::withdraw),
/// and whether this thread finished its CANCEL request itself.
thread_local WaitNode* tls_withdrawing = nullptr;
thread_local bool tls_withdrawn_inline = false;

/// Wake-ups decided while this thread holds BUSY on some combiner, issued only
/// once it has let go of every role it holds: a woken task (or plain thread)
/// may destroy the primitive at once -- an Event in the waiter's frame is the
/// common case -- so the combiner must not touch the primitive after a wake. Chained through
/// WaitNode::link (free once a node is decided and unlinked), in decision order.
thread_local int tls_roles_held = 0;
thread_local WaitNode* tls_wakes_head = nullptr;
thread_local WaitNode* tls_wakes_tail = nullptr;

/// Ends the wait of a decided node whose waiter must be woken.
void wake_node(WaitNode* n) noexcept {
  TaskHeader* t = n->task;
  if (t) {
    t->wake();
    return;
  }
  // A blocked plain thread: it may return as soon as it sees kDone, so the
  // futex wake may hit a dead stack slot; futex waiters re-check (as core's
  // block_until_complete does).
  std::uint32_t s = n->state.load(std::memory_order_relaxed);
  // release: the payload written by the combiner is visible with kDone.
  n->state.store(s | WaitNode::kDone, std::memory_order_release);
  futex_wake(&n->state, 1);
}

/// This thread has just taken BUSY on a combiner.
void took_role() noexcept {
  ++tls_roles_held;
}

/// This thread has just cleared BUSY on a combiner (its last access to it):
/// once it holds no role any more, issue the deferred wake-ups.
void left_role() noexcept {
  if (--tls_roles_held != 0) return;
  WaitNode* n = tls_wakes_head;
  tls_wakes_head = tls_wakes_tail = nullptr;
  while (n) {
    // Read the link first: the wake may free the node.
    WaitNode* next = reinterpret_cast<WaitNode*>(n->link);
    wake_node(n);
    n = next;
  }
}

WaitNode* node_of(std::uintptr_t request) noexcept {
  return reinterpret_cast<WaitNode*>(request & ~std::uintptr_t{7});
}

}  // namespace

void Combiner::push(WaitNode* n, std::uintptr_t kind) noexcept {
  std::uintptr_t old = mailbox_.load(std::memory_order_relaxed);
  if (old == 0) {
    // Nobody combines and nothing is queued: take BUSY and handle the request
    // at once instead of sending it round through the stack.
    // acquire: the list as the last combiner left it (its final CAS released it).
    if (mailbox_.compare_exchange_strong(old, kBusy, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
      took_role();
      if (kind)
        finish_cancel(n);
      else
        accept(n);
      settle(kBusy);
      return;
    }
  }
  std::uintptr_t& link = kind ? n->cancel_link : n->link;
  const std::uintptr_t request = reinterpret_cast<std::uintptr_t>(n) | kind;
  for (;;) {
    link = old & ~kFlags;  // the previous top, with its kind
    // acq_rel: release publishes the node to the combiner that takes it; acquire
    // hands us the list as the last combiner left it if we become the combiner.
    if (mailbox_.compare_exchange_weak(old, request | (old & kDirty) | kBusy,
                                       std::memory_order_acq_rel, std::memory_order_relaxed))
      break;
  }
  if (!(old & kBusy)) {
    took_role();
    combine();
  }
}

void Combiner::signal() noexcept {
  std::uintptr_t old = mailbox_.load(std::memory_order_relaxed);
  if (old == 0) {
    // Nobody combines and nothing is queued: take BUSY (without DIRTY, so that
    // a signal arriving during match() still makes the final CAS fail).
    // acq_rel: release our state-word change to later combiners; acquire the list.
    if (mailbox_.compare_exchange_strong(old, kBusy, std::memory_order_acq_rel,
                                         std::memory_order_relaxed)) {
      took_role();
      settle(kBusy);
      return;
    }
  }
  // acq_rel: release makes the caller's state-word change visible to whoever
  // consumes DIRTY; acquire, in case we become the combiner (see push).
  old = mailbox_.fetch_or(kBusy | kDirty, std::memory_order_acq_rel);
  // (combine() starts by clearing DIRTY, so that a signal arriving during
  // match() makes the final CAS fail: DIRTY cannot be left set across match.)
  if (!(old & kBusy)) {
    took_role();
    combine();
  }
}

bool Combiner::try_enter() noexcept {
  std::uintptr_t expected = 0;
  // acquire: the list as the last combiner left it.
  if (mailbox_.load(std::memory_order_relaxed) != 0 ||
      !mailbox_.compare_exchange_strong(expected, kBusy, std::memory_order_acquire,
                                        std::memory_order_relaxed))
    return false;
  took_role();
  return true;
}

void Combiner::settle(std::uintptr_t held) noexcept {
  match();
  // release: the next combiner sees the list as we leave it.
  if (mailbox_.compare_exchange_strong(held, 0, std::memory_order_release,
                                       std::memory_order_relaxed)) {
    left_role();  // not a word on `this` after this point
    return;
  }
  combine();
}

void Combiner::combine() noexcept {
  for (;;) {
    // acq_rel: acquire the pushed requests (and state-word changes behind DIRTY).
    std::uintptr_t taken = mailbox_.exchange(kBusy, std::memory_order_acq_rel) & ~kFlags;
    // Reverse the stack into arrival (FIFO) order, reusing the request links.
    std::uintptr_t fifo = 0;
    while (taken) {
      WaitNode* n = node_of(taken);
      std::uintptr_t& link = (taken & kCancelKind) ? n->cancel_link : n->link;
      std::uintptr_t next = link;
      link = fifo;
      fifo = taken;
      taken = next;
    }
    while (fifo) {
      WaitNode* n = node_of(fifo);
      const bool cancel = fifo & kCancelKind;
      // Read the link first: processing may wake the task and free the node.
      fifo = cancel ? n->cancel_link : n->link;
      if (cancel)
        finish_cancel(n);
      else
        accept(n);
    }
    match();
    std::uintptr_t expected = kBusy;
    // release: the next combiner (who acquires BUSY) sees the list as we leave it.
    if (mailbox_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                         std::memory_order_relaxed)) {
      left_role();  // not a word on `this` after this point
      return;
    }
  }
}

void Combiner::finish_cancel(WaitNode* n) noexcept {
  if (n->linked()) WaitList::unlink(n);
  on_cancelled(n);
  finish(n);
}

void Combiner::finish(WaitNode* n) noexcept {
  TaskHeader* t = n->task;
  if (t && (t == tls_context.current || n == tls_withdrawing)) {
    // The waiting thread itself ended the wait (it is in await_suspend or in
    // withdraw()): no wake; relaxed, only this thread reads the flag.
    if (n == tls_withdrawing) tls_withdrawn_inline = true;
    n->state.store(n->state.load(std::memory_order_relaxed) | WaitNode::kInline,
                   std::memory_order_relaxed);
    return;
  }
  // Deferred until this thread has left the combiner (see left_role()); the
  // hooks that call finish() always run holding BUSY.
  n->link = 0;
  if (tls_wakes_tail)
    tls_wakes_tail->link = reinterpret_cast<std::uintptr_t>(n);
  else
    tls_wakes_head = n;
  tls_wakes_tail = n;
}

Withdraw Combiner::withdraw(WaitAwaiter* n) noexcept {
  std::uint32_t expected = WaitNode::kWaiting;
  // acq_rel: the one decision against claim().
  if (!n->state.compare_exchange_strong(expected, WaitNode::kCancelled, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
    // Cancelled before and the wake is on its way: fold this request into it.
    if ((expected & WaitNode::kOutcomeMask) == WaitNode::kCancelled) return Withdraw::handed_off;
    return Withdraw::too_late;  // granted, refused, or a ready operation yielding
  }
  // We won: the CANCEL link still holds the owner; read it before the push
  // reuses the link.
  Combiner* const owner = n->owner();
  WaitNode* const saved = tls_withdrawing;
  tls_withdrawing = n;
  tls_withdrawn_inline = false;
  owner->push(n, kCancelKind);
  const bool done_here = tls_withdrawn_inline;
  tls_withdrawing = saved;
  return done_here ? Withdraw::withdrawn : Withdraw::handed_off;
}

std::int64_t Combiner::deadline_after(std::chrono::nanoseconds timeout) noexcept {
  if (timeout == std::chrono::nanoseconds::max()) return -1;
  // monotonic_ns(), not std::chrono::steady_clock: the same instant in a
  // normal build, but only monotonic_ns() follows the model's virtual clock.
  const std::int64_t now = monotonic_ns();
  const std::int64_t t = timeout.count() < 0 ? 0 : timeout.count();
  return t > INT64_MAX - now ? INT64_MAX : now + t;
}

std::uint32_t Combiner::wait_blocking(WaitNode* n, std::int64_t deadline_ns) noexcept {
  n->task = nullptr;
  enqueue(n);
  bool withdrawn = false;
  for (;;) {
    // acquire: pairs with finish()'s release store of kDone.
    std::uint32_t s = n->state.load(std::memory_order_acquire);
    if (s & WaitNode::kDone) return s & WaitNode::kOutcomeMask;
    std::int64_t timeout = -1;
    if (deadline_ns >= 0 && !withdrawn) {
      std::int64_t now = monotonic_ns();
      if (now >= deadline_ns) {
        withdrawn = true;
        std::uint32_t expected = WaitNode::kWaiting;
        // acq_rel: the decision against claim(); the combiner finishes the node either way.
        if (n->state.compare_exchange_strong(expected, WaitNode::kCancelled,
                                             std::memory_order_acq_rel, std::memory_order_acquire))
          push(n, kCancelKind);
        continue;
      }
      timeout = deadline_ns - now;
    }
    futex_wait(&n->state, s, timeout);
  }
}

// ---- WaitAwaiter ----

bool WaitAwaiter::suspend(std::coroutine_handle<> h, const char* label) {
  // relaxed: only ready_now() on this task set it; the node is not published.
  if (state.load(std::memory_order_relaxed) == kReadyYield) {
    yield_ready(h, label);
    return true;
  }
  TaskHeader* t = require_current_task(label);
  withdraw = &withdraw_wait;
  what = label;
  task = t;
  t->resume_point_ = h;
  t->suspended_on_ = this;
  owner()->enqueue(this);
  // Still running: nobody else can resume us before we return, so reading our
  // own node is safe; only our own thread sets kInline.
  if (state.load(std::memory_order_relaxed) & kInline) {
    t->suspended_on_ = nullptr;
    return false;
  }
  return true;
}

void WaitAwaiter::yield_ready(std::coroutine_handle<> h, const char* label) {
  TaskHeader* t = require_current_task(label);
  withdraw = &withdraw_wait;
  what = label;
  t->resume_point_ = h;
  t->suspended_on_ = this;
  tls_context.yielded = true;  // to the back of the line, like weft::yield()
}

bool WaitAwaiter::ready_now() noexcept {
  if (consume_budget()) return true;
  state.store(kReadyYield, std::memory_order_relaxed);  // not published: owner-only
  return false;
}

Withdraw WaitAwaiter::withdraw_wait(Suspension* self, TaskHeader*) noexcept {
  auto* a = static_cast<WaitAwaiter*>(self);
  return Combiner::withdraw(a);
}

}  // namespace weft::detail

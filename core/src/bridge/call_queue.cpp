// Runtime::call_soon_threadsafe: the call queue and its runner task (see
// call_queue.hpp for the protocol).
#include "bridge/call_queue.hpp"

#include <cstdio>
#include <exception>
#include <string>

#include "weft/errors.hpp"
#include "weft/exception_group.hpp"
#include "weft/runtime.hpp"
#include "weft/yield.hpp"

namespace weft::detail {
namespace {

CallbackNode* node_of(std::uintptr_t word) noexcept {
  return reinterpret_cast<CallbackNode*>(word & ~std::uintptr_t{3});
}

void destroy_list(CallbackNode* n) noexcept {
  while (n) {
    CallbackNode* next = n->next;
    n->destroy(n);
    n = next;
  }
}

}  // namespace

void run_callback(CallbackNode* n, const char* what) noexcept {
  try {
    n->invoke(n);
  } catch (...) {
    // asyncio's default exception handler: "Exception in callback ...".
    std::string repr = exception_repr(std::current_exception());
    std::fprintf(stderr, "weft: exception in callback (%s): %s\n", what, repr.c_str());
  }
  n->destroy(n);
}

void CallQueue::post(Runtime& rt, CallbackPtr fn) {
  static_assert(alignof(CallbackNode) > kFlags, "the flags live in the node pointer's low bits");
  CallbackNode* n = fn.get();
  std::uintptr_t old = head_.load(std::memory_order_relaxed);
  do {
    if (old & kClosed)
      throw RuntimeError(
          "weft::Runtime::call_soon_threadsafe: the runtime is closed (shutting down or shut "
          "down)");
    n->next = node_of(old);
    // release: the runner that takes n sees the callable. acquire: a push
    // that becomes the spawner sees the retired runner's last writes (batch_).
  } while (!head_.compare_exchange_weak(
      old, reinterpret_cast<std::uintptr_t>(n) | kActive | (old & kClosed),
      std::memory_order_acq_rel, std::memory_order_relaxed));
  fn.release();
  if (old & kActive) return;  // a runner exists (or is being spawned): it will take n
  try {
    rt.spawn(run(this), "weft-call-soon").detach();
  } catch (...) {
    // No runner: nobody would ever run what is queued (n and whatever came
    // after it). Drop it and clear kActive so the next call tries again.
    drop_stack(kClosed);
    throw;
  }
}

void CallQueue::drop_stack(std::uintptr_t keep) noexcept {
  std::uintptr_t h = head_.load(std::memory_order_relaxed);
  // acquire: the callables of the nodes taken are visible before they are destroyed.
  while (!head_.compare_exchange_weak(h, h & keep, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
  }
  destroy_list(node_of(h));
}

void CallQueue::close() noexcept {
  // acq_rel: one RMW on the pushes' word: a push after it sees kClosed and throws.
  head_.fetch_or(kClosed, std::memory_order_acq_rel);
}

bool CallQueue::closed() const noexcept {
  // acquire: pairs with close(); what shutdown wrote before closing is visible.
  return head_.load(std::memory_order_acquire) & kClosed;
}

void CallQueue::discard() noexcept {
  destroy_list(batch_);
  batch_ = nullptr;
  drop_stack(kClosed);
}

CallbackNode* CallQueue::next() noexcept {
  if (!batch_) {
    // acquire: as the CASes below (only their outcome matters; this is the first guess).
    std::uintptr_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      if (!node_of(h)) {
        // Empty: retire, unless a push lands first (then take it). release:
        // the next runner (spawned by the next push) sees batch_ == null.
        if (head_.compare_exchange_weak(h, h & kClosed, std::memory_order_release,
                                        std::memory_order_acquire))
          return nullptr;
        continue;
      }
      // acquire: pairs with the pushes' release, the callables are visible.
      if (head_.compare_exchange_weak(h, h & kFlags, std::memory_order_acquire,
                                      std::memory_order_acquire))
        break;
    }
    // Newest first -> oldest first.
    CallbackNode* rev = nullptr;
    for (CallbackNode* n = node_of(h); n;) {
      CallbackNode* next = n->next;
      n->next = rev;
      rev = n;
      n = next;
    }
    batch_ = rev;
  }
  CallbackNode* n = batch_;
  batch_ = n->next;
  return n;
}

Task<void> CallQueue::run(CallQueue* q) {
  for (;;) {
    for (unsigned i = 0; i < kRunsPerYield; ++i) {
      CallbackNode* n = q->next();
      if (!n) co_return;  // retired: a later call spawns a new runner
      run_callback(n, "call_soon_threadsafe");
    }
    bool cancelled = false;
    try {
      co_await weft::yield();
    } catch (const CancelledError&) {
      cancelled = true;
    }
    // Only the shutdown cancels the runner (its handle is detached): the
    // queue is closed, and discard() destroys what is left after the workers
    // are joined. kActive stays set, so no runner is spawned again.
    if (cancelled) co_return;
  }
}

}  // namespace weft::detail

namespace weft {

void Runtime::post_callback(detail::CallbackPtr fn) {
  calls_->post(*this, std::move(fn));
}

bool Runtime::is_closed() const noexcept {
  return calls_->closed();
}

}  // namespace weft

// weft::Future<T>: the parts that do not depend on T (see weft/future.hpp).
#include "weft/future.hpp"

namespace weft::detail {

FutureStateBase::~FutureStateBase() {
  // Nodes still in the stack were never run (the future never completed).
  std::uintptr_t top = callbacks_.load(std::memory_order_relaxed);
  auto* n = top == kClosed ? nullptr : reinterpret_cast<FutureCallbackNode*>(top);
  for (auto* list : {n, fired_}) {
    while (list) {
      FutureCallbackNode* next = list->next;
      list->destroy(list);
      list = next;
    }
  }
}

void FutureStateBase::publish(std::uint32_t outcome, const void* future) noexcept {
  // release: the value, exception or message written since claim() is visible
  // to whoever acquires the phase (done(), result(), the woken waiters).
  phase_.store(outcome, std::memory_order_release);
  done_event.set();
  // Close the list; the nodes pushed before are ours to run. acq_rel: acquire
  // the callbacks pushed (their functions), release is not needed by anyone
  // but costs nothing on an RMW.
  std::uintptr_t top = callbacks_.exchange(kClosed, std::memory_order_acq_rel);
  // Newest first in the stack: reverse into the order they were added.
  FutureCallbackNode* fifo = nullptr;
  auto* n = reinterpret_cast<FutureCallbackNode*>(top);
  while (n) {
    FutureCallbackNode* next = n->next;
    n->next = fifo;
    fifo = n;
    n = next;
  }
  fired_ = fifo;
  for (n = fifo; n; n = n->next) {
    std::uint32_t expected = FutureCallbackNode::kArmed;
    // relaxed: only decides run vs remove; the function was acquired above.
    if (n->state.compare_exchange_strong(expected, FutureCallbackNode::kRan,
                                         std::memory_order_relaxed, std::memory_order_relaxed))
      n->run(n, future);
  }
}

bool FutureStateBase::set_exception(std::exception_ptr e, const void* future) {
  if (!claim()) return false;
  exception_ = std::move(e);
  publish(kException, future);
  return true;
}

bool FutureStateBase::cancel(std::string message, const void* future) noexcept {
  if (!claim()) return false;
  message_ = std::move(message);
  publish(kCancelled, future);
  return true;
}

void FutureStateBase::throw_failure() const {
  if (phase() == kException) std::rethrow_exception(exception_);
  throw message_.empty() ? CancelledError() : CancelledError(message_);
}

std::exception_ptr FutureStateBase::exception() const {
  const std::uint32_t p = phase();
  if (p < kResult) throw InvalidStateError("Exception is not set.");
  if (p == kCancelled) throw_failure();
  return p == kException ? exception_ : nullptr;
}

bool FutureStateBase::push_callback(FutureCallbackNode* n) noexcept {
  std::uintptr_t top = callbacks_.load(std::memory_order_relaxed);
  for (;;) {
    if (top == kClosed) return false;
    n->next = reinterpret_cast<FutureCallbackNode*>(top);
    // release: the node and its function reach the completer that takes the
    // list; relaxed on failure: we only retry.
    if (callbacks_.compare_exchange_weak(top, reinterpret_cast<std::uintptr_t>(n),
                                         std::memory_order_release, std::memory_order_relaxed))
      return true;
  }
}

bool FutureStateBase::remove_callback(FutureCallbackNode* n) noexcept {
  std::uint32_t expected = FutureCallbackNode::kArmed;
  // relaxed: the one decision against publish()'s run; nothing is published.
  return n->state.compare_exchange_strong(expected, FutureCallbackNode::kRemoved,
                                          std::memory_order_relaxed, std::memory_order_relaxed);
}

}  // namespace weft::detail

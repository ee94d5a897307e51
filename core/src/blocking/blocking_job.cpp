#include "weft/detail/blocking_job.hpp"

namespace weft::detail {

void BlockingJob::execute() noexcept {
  std::uint32_t expected = kQueued;
  // acq_rel: decides against withdraw() (which marks a queued job abandoned).
  if (phase_.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel)) {
    invoke();
    // acq_rel on the exchange: release publishes the result to the woken task;
    // it also decides against withdraw() taking the waiter.
    if (TaskHeader* w = waiter_.exchange(nullptr, std::memory_order_acq_rel)) w->wake();
  }
  release();  // the executor's reference
}

void BlockingJob::discard() noexcept {
  discarded_ = true;
  if (TaskHeader* w = waiter_.exchange(nullptr, std::memory_order_acq_rel)) w->wake();
  release();
}

bool BlockingJob::withdraw() noexcept {
  if (!waiter_.exchange(nullptr, std::memory_order_acq_rel)) return false;
  std::uint32_t expected = kQueued;
  // A job that has not started is skipped; a running one finishes unobserved.
  phase_.compare_exchange_strong(expected, kAbandoned, std::memory_order_acq_rel);
  return true;
}

}  // namespace weft::detail

// TbbArenaExecutor: runs BlockingJobs inside a oneTBB task_arena so that TBB
// parallel algorithms in the callable use the arena's threads.
#include <tbb/task_arena.h>

#include <atomic>

#include "sys/futex.hpp"
#include "weft/blocking.hpp"
#include "weft/detail/atomic.hpp"

namespace weft {

struct TbbArenaExecutor::State {
  // Initialised here, not lazily by the first enqueue (which would do it on
  // the submitting weft worker, possibly while another submit spins on it).
  explicit State(int n) : arena(n) { arena.initialize(); }
  tbb::task_arena arena;
  detail::Atomic<std::uint32_t> in_flight{0};
  detail::Atomic<bool> closed{false};

  void finish_one() noexcept {
    // acq_rel: wait() that sees zero also sees everything the job did.
    if (in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1)
      detail::futex_wake(&in_flight, 1 << 30);
  }
};

TbbArenaExecutor::TbbArenaExecutor(int concurrency) {
  if (concurrency < 1)
    throw std::invalid_argument("weft::TbbArenaExecutor: concurrency must be at least 1");
  state_ = std::make_unique<State>(concurrency);
}

TbbArenaExecutor::~TbbArenaExecutor() {
  state_->closed.store(true, std::memory_order_release);
  wait();
}

void TbbArenaExecutor::submit(detail::BlockingJob* job) {
  State* s = state_.get();
  if (s->closed.load(std::memory_order_acquire))
    throw RuntimeError("weft::TbbArenaExecutor: cannot schedule new work after shutdown");
  s->in_flight.fetch_add(1, std::memory_order_relaxed);
  try {
    // enqueue, not execute: never block the submitting weft worker on the arena.
    s->arena.enqueue([s, job] {
      job->execute();
      s->finish_one();
    });
  } catch (...) {
    s->finish_one();  // not queued (out of memory): wait() must not count it
    throw;
  }
}

void TbbArenaExecutor::wait() {
  State* s = state_.get();
  for (std::uint32_t n; (n = s->in_flight.load(std::memory_order_acquire)) != 0;)
    detail::futex_wait(&s->in_flight, n, -1);
}

int TbbArenaExecutor::concurrency() const noexcept {
  return state_->arena.max_concurrency();
}

}  // namespace weft

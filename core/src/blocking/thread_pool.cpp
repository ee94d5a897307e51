// ThreadPool: a fixed set of threads running BlockingJobs (see weft/blocking.hpp).
#include <atomic>
#include <string>
#include <vector>

#include "sys/mpmc_queue.hpp"
#include "sys/thread.hpp"
#include "weft/blocking.hpp"
#include "weft/detail/atomic.hpp"

namespace weft {

struct ThreadPool::State {
  detail::BlockingMpmcQueue<detail::BlockingJob*> queue;
  std::vector<detail::Thread> threads;
  detail::Atomic<bool> closed{false};
  detail::Atomic<bool> cancel_pending{false};
  bool joined = false;
};

ThreadPool::ThreadPool(std::size_t threads) : state_(std::make_unique<State>()) {
  if (threads == 0) throw std::invalid_argument("weft::ThreadPool: needs at least one thread");
  State* s = state_.get();
  for (std::size_t i = 0; i < threads; ++i) {
    std::string name = "weft-pool" + std::to_string(i);
    s->threads.emplace_back(
        [s] {
          for (;;) {
            detail::BlockingJob* job = nullptr;
            s->queue.wait_dequeue(job);
            if (!job) return;  // one stop token per thread, queued after all real work
            if (s->cancel_pending.load(std::memory_order_acquire))
              job->discard();
            else
              job->execute();
          }
        },
        name.substr(0, 15).c_str());
  }
}

ThreadPool::~ThreadPool() {
  shutdown(ShutdownMode::drain);
}

void ThreadPool::submit(detail::BlockingJob* job) {
  if (state_->closed.load(std::memory_order_acquire))
    throw RuntimeError("weft::ThreadPool: cannot schedule new work after shutdown");
  state_->queue.enqueue(job);
}

void ThreadPool::shutdown(ShutdownMode mode) {
  State& s = *state_;
  if (mode == ShutdownMode::cancel_pending) s.cancel_pending.store(true, std::memory_order_release);
  if (!s.closed.exchange(true, std::memory_order_acq_rel)) {
    for (std::size_t i = 0; i < s.threads.size(); ++i)
      s.queue.enqueue(nullptr);
  }
  if (s.joined) return;
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
  s.joined = true;
  // Anything submitted concurrently with shutdown and left behind never runs.
  detail::BlockingJob* job = nullptr;
  while (s.queue.try_dequeue(job))
    if (job) job->discard();
}

std::size_t ThreadPool::size() const noexcept {
  return state_->threads.size();
}

}  // namespace weft

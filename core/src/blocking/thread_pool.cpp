// ThreadPool: a fixed set of threads running BlockingJobs (see weft/blocking.hpp).
#include <pthread.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include "weft/blocking.hpp"

namespace weft {

struct ThreadPool::State {
  moodycamel::BlockingConcurrentQueue<detail::BlockingJob*> queue;
  std::vector<std::thread> threads;
  std::atomic<bool> closed{false};
  std::atomic<bool> cancel_pending{false};
  bool joined = false;
};

ThreadPool::ThreadPool(std::size_t threads) : state_(std::make_unique<State>()) {
  if (threads == 0) throw std::invalid_argument("weft::ThreadPool: needs at least one thread");
  State* s = state_.get();
  for (std::size_t i = 0; i < threads; ++i) {
    s->threads.emplace_back([s] {
      for (;;) {
        detail::BlockingJob* job = nullptr;
        s->queue.wait_dequeue(job);
        if (!job) return;  // one stop token per thread, queued after all real work
        if (s->cancel_pending.load(std::memory_order_acquire))
          job->discard();
        else
          job->execute();
      }
    });
    std::string name = "weft-pool" + std::to_string(i);
    pthread_setname_np(s->threads.back().native_handle(), name.substr(0, 15).c_str());
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

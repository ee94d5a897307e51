// BlockingPool: the runtime's default executor for blocking work (to_thread).
//
// Elastic: a thread is started when work arrives and no pool thread is idle,
// up to `max_threads` (512 by default, as Tokio's max_blocking_threads); a
// thread that finds no work for `keep_alive` (10 s, as Tokio) exits. Work waits
// in a moodycamel BlockingConcurrentQueue (lock-free enqueue apart from block
// allocation; idle threads
// sleep on its lightweight semaphore).
//
// No lost work: submit() enqueues, then reads the idle count (seq_cst); a
// thread about to retire decrements the idle count (seq_cst), then looks at the
// queue once more. One of the two sees the other.
//
// Shutdown (the runtime's destructor, after its tasks finished): stops
// accepting work, lets queued and running jobs finish, and waits for the
// threads. The threads share the pool's state through a shared_ptr, so a job
// that never returns cannot make the pool's memory go away under it; shutdown
// gives up waiting after `shutdown_timeout`, reports it, and leaves them.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "weft/blocking.hpp"

namespace weft::detail {

struct BlockingPoolStats {
  std::size_t threads = 0;  ///< alive now
  std::size_t idle = 0;     ///< waiting for work
  std::size_t queued = 0;   ///< jobs not yet picked up (approximate)
};

class BlockingPool final : public Executor {
 public:
  BlockingPool(std::size_t max_threads, std::chrono::milliseconds keep_alive);
  ~BlockingPool() override;

  void submit(BlockingJob* job) override;
  void shutdown(std::chrono::milliseconds timeout);
  BlockingPoolStats stats() const noexcept;  // approximate; any thread

  struct State;  // shared with the pool's threads (blocking_pool.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace weft::detail

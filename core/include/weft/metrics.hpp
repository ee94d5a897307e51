// Runtime metrics (in the spirit of tokio-metrics): counters a program can read
// at any time, from any thread, to see how its runtime behaves.
//
//   weft::RuntimeMetrics m = rt.metrics();
//   for (auto& w : m.workers) std::cout << w.polls << " " << w.steals << "\n";
//
// Counters are monotonic since the runtime started; depths are snapshots. The
// values of different workers are read one after the other, not atomically as a
// whole. Reading costs a few relaxed loads per worker; keeping them costs one
// plain store per event on the worker that counts it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft {

struct WorkerMetrics {
  std::uint64_t polls = 0;             ///< task runs (each resumption of a task is one poll)
  std::uint64_t steals = 0;            ///< tasks taken from other workers
  std::uint64_t steal_operations = 0;  ///< successful steal attempts (each may take several tasks)
  std::uint64_t parks = 0;             ///< times the worker went to sleep
  std::uint64_t overflows = 0;  ///< tasks pushed to the global queue because the local one was full
  std::uint64_t inline_joins = 0;     ///< joins that ran the awaited child inline
  std::size_t local_queue_depth = 0;  ///< tasks in its deque and yield queue now
};

struct RuntimeMetrics {
  std::vector<WorkerMetrics> workers;
  std::size_t inject_queue_depth = 0;  ///< tasks in the global queue now
  std::uint64_t live_tasks = 0;        ///< spawned and not finished
  std::size_t blocking_threads = 0;    ///< default blocking pool: threads alive
  std::size_t blocking_idle_threads = 0;
  std::size_t blocking_queue_depth = 0;  ///< jobs waiting for a blocking thread
};

}  // namespace weft

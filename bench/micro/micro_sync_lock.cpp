// Uncontended lock + unlock: weft::Lock (awaited inside a task, and through
// try_lock() from a plain thread) next to std::mutex in the same binary.
// Target (issue 4): weft's awaited lock + unlock <= 1.0x std::mutex.
#include <benchmark/benchmark.h>

#include <mutex>

#include "weft/lock.hpp"
#include "weft/runtime.hpp"

namespace {

void BM_StdMutexLockUnlock(benchmark::State& state) {
  std::mutex m;
  for (auto _ : state) {
    m.lock();
    benchmark::ClobberMemory();
    m.unlock();
  }
}
BENCHMARK(BM_StdMutexLockUnlock);

// The benchmark loop runs inside one weft task (1 worker): what a task pays
// for `co_await lock.lock(); ...; lock.unlock();` when nobody contends,
// including the cooperative budget (a yield every 128 ready acquisitions).
weft::Task<void> lock_loop(benchmark::State* state, weft::Lock* lock) {
  for (auto _ : *state) {
    co_await lock->lock();
    benchmark::ClobberMemory();
    lock->unlock();
  }
}

void BM_WeftLockAwaitUnlock(benchmark::State& state) {
  weft::Runtime rt({.workers = 1});
  weft::Lock lock;
  rt.block_on(lock_loop(&state, &lock));
}
BENCHMARK(BM_WeftLockAwaitUnlock)->UseRealTime();

void BM_WeftLockTryLockUnlock(benchmark::State& state) {
  weft::Lock lock;
  for (auto _ : state) {
    if (!lock.try_lock()) state.SkipWithError("try_lock failed");
    benchmark::ClobberMemory();
    lock.unlock();
  }
}
BENCHMARK(BM_WeftLockTryLockUnlock);

}  // namespace

BENCHMARK_MAIN();

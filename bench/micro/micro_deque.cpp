// Chase-Lev deque: owner push+pop, and steal under contention.
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "weft/detail/chase_lev_deque.hpp"

namespace {

using Deque = weft::detail::ChaseLevDeque<int*>;
int item;

void BM_DequePushPop(benchmark::State& state) {
  Deque d(256);
  for (auto _ : state) {
    d.push(&item);
    benchmark::DoNotOptimize(d.pop());
  }
}
BENCHMARK(BM_DequePushPop);

void BM_DequePushSteal(benchmark::State& state) {
  Deque d(256);
  for (auto _ : state) {
    d.push(&item);
    benchmark::DoNotOptimize(d.steal());
  }
}
BENCHMARK(BM_DequePushSteal);

// Owner pushes and pops while one thief steals continuously.
void BM_DequeOwnerWithThief(benchmark::State& state) {
  Deque d(256);
  std::atomic<bool> stop{false};
  std::atomic<long> stolen{0};
  std::thread thief([&] {
    long n = 0;
    while (!stop.load(std::memory_order_relaxed))
      if (d.steal()) ++n;
    stolen = n;
  });
  for (auto _ : state) {
    d.push(&item);
    d.push(&item);
    benchmark::DoNotOptimize(d.pop());
    benchmark::DoNotOptimize(d.pop());
  }
  stop = true;
  thief.join();
  state.counters["stolen"] = static_cast<double>(stolen.load());
}
BENCHMARK(BM_DequeOwnerWithThief)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

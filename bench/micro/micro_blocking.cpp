// to_thread round trip (task -> blocking pool thread -> task) next to a plain
// std::async round trip (thread -> new thread -> future.get()).
#include <benchmark/benchmark.h>

#include <future>

#include "weft/weft.hpp"

namespace {

void BM_ToThreadRoundTrip(benchmark::State& state) {
  weft::Runtime rt({.workers = 2});
  auto batch = []() -> weft::Task<int> {
    int sum = 0;
    for (int i = 0; i < 100; ++i)
      sum += co_await weft::to_thread([i] { return i; });
    co_return sum;
  };
  for (auto _ : state)
    benchmark::DoNotOptimize(rt.block_on(batch()));
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ToThreadRoundTrip)->UseRealTime();

void BM_StdAsyncRoundTrip(benchmark::State& state) {
  for (auto _ : state) {
    int sum = 0;
    for (int i = 0; i < 100; ++i)
      sum += std::async(std::launch::async, [i] { return i; }).get();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_StdAsyncRoundTrip)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

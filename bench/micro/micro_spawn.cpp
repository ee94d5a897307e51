// Spawn + join and fork-join fib(25): weft next to oneTBB task_group in the
// same binary (2 worker threads each), plus weft with debug mode on to show
// what it costs when off.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <atomic>
#include <vector>

#include "weft/weft.hpp"

namespace {

constexpr int kThreads = 2;

weft::Task<int> fib(int n) {
  if (n < 2) co_return n;
  weft::JoinHandle<int> child = weft::spawn(fib(n - 1));
  int b = co_await fib(n - 2);
  int a = co_await child;
  co_return a + b;
}

weft::Task<void> noop() {
  co_return;
}

int tbb_fib(int n) {
  if (n < 2) return n;
  int a = 0, b = 0;
  tbb::task_group g;
  g.run([&] { a = tbb_fib(n - 1); });
  b = tbb_fib(n - 2);
  g.wait();
  return a + b;
}

// The benchmark loop runs inside one weft task, so a block_on round trip
// (two thread wake-ups) is not part of each iteration.
weft::Task<void> run_loop(benchmark::State* state, weft::Task<void> (*body)()) {
  for (auto _ : *state)
    co_await body();
}

weft::Task<void> fib25() {
  benchmark::DoNotOptimize(co_await fib(25));
}

void BM_WeftFib25(benchmark::State& state) {
  weft::Runtime rt({.workers = kThreads, .debug = state.range(0) != 0});
  rt.block_on(run_loop(&state, fib25));
  state.SetItemsProcessed(state.iterations() * 121392);  // spawns per fib(25)
  state.SetLabel(state.range(0) ? "debug on" : "debug off");
}
BENCHMARK(BM_WeftFib25)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TbbFib25(benchmark::State& state) {
  tbb::task_arena arena(kThreads);
  for (auto _ : state)
    arena.execute([] { benchmark::DoNotOptimize(tbb_fib(25)); });
  state.SetItemsProcessed(state.iterations() * 121392);
}
BENCHMARK(BM_TbbFib25)->Unit(benchmark::kMillisecond)->UseRealTime();

// One spawn and one join per item, 1,000 per batch.
weft::Task<void> spawn_join_batch() {
  std::vector<weft::JoinHandle<void>> hs;
  hs.reserve(1000);
  for (int i = 0; i < 1000; ++i)
    hs.push_back(weft::spawn(noop()));
  for (auto& h : hs)
    co_await h;
}

void BM_WeftSpawnJoin(benchmark::State& state) {
  weft::Runtime rt({.workers = kThreads, .debug = state.range(0) != 0});
  rt.block_on(run_loop(&state, spawn_join_batch));
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetLabel(state.range(0) ? "debug on" : "debug off");
}
BENCHMARK(BM_WeftSpawnJoin)->Arg(0)->Arg(1)->UseRealTime();

void BM_TbbRunWait(benchmark::State& state) {
  tbb::task_arena arena(kThreads);
  for (auto _ : state) {
    arena.execute([] {
      tbb::task_group g;
      for (int i = 0; i < 1000; ++i)
        g.run([] {});
      g.wait();
    });
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_TbbRunWait)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

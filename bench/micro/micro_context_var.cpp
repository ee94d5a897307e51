// ContextVar: get() inside a task and on a plain thread, next to a plain
// thread_local read (the floor any context lookup is measured against);
// set()+reset(); and what a context costs a spawn (an empty one against one
// with a variable set).
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "weft/weft.hpp"

namespace {

constexpr int kMaxVars = 16;

// Namespace-scope variables, as programs declare them.
std::array<std::unique_ptr<weft::ContextVar<long>>, kMaxVars> make_vars() {
  std::array<std::unique_ptr<weft::ContextVar<long>>, kMaxVars> vars;
  for (int i = 0; i < kMaxVars; ++i)
    vars[i] = std::make_unique<weft::ContextVar<long>>("v" + std::to_string(i));
  return vars;
}
const auto vars = make_vars();

thread_local long tls_value = 1;

/// Sets the first `n` variables; get() below reads the last one set (the
/// longest scan).
std::vector<weft::Token<long>> set_vars(int n) {
  std::vector<weft::Token<long>> tokens;
  for (int i = 0; i < n; ++i)
    tokens.push_back(vars[i]->set(i));
  return tokens;
}

weft::Task<void> get_in_task(benchmark::State* state) {
  const int n = static_cast<int>(state->range(0));
  auto tokens = set_vars(n);
  const weft::ContextVar<long>& v = *vars[n - 1];
  for (auto _ : *state)
    benchmark::DoNotOptimize(v.get());
  co_return;
}

void BM_ContextVarGetInTask(benchmark::State& state) {
  weft::Runtime rt({.workers = 1});
  rt.block_on(get_in_task(&state));
  state.SetLabel(std::to_string(state.range(0)) + " variable(s) set");
}
BENCHMARK(BM_ContextVarGetInTask)->Arg(1)->Arg(4)->Arg(16);

void BM_ContextVarGetOnPlainThread(benchmark::State& state) {
  auto tokens = set_vars(1);
  for (auto _ : state)
    benchmark::DoNotOptimize(vars[0]->get());
}
BENCHMARK(BM_ContextVarGetOnPlainThread);

void BM_ContextVarGetDefault(benchmark::State& state) {  // unset: the empty-context path
  for (auto _ : state)
    benchmark::DoNotOptimize(vars[kMaxVars - 1]->get(0L));
}
BENCHMARK(BM_ContextVarGetDefault);

void BM_ThreadLocalRead(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(tls_value);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ThreadLocalRead);

void BM_ContextVarSetReset(benchmark::State& state) {
  auto tokens = set_vars(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto t = vars[0]->set(7);
    vars[0]->reset(t);
  }
  state.SetLabel(std::to_string(state.range(0)) + " variable(s) set");
}
BENCHMARK(BM_ContextVarSetReset)->Arg(1)->Arg(4);

weft::Task<void> noop() {
  co_return;
}

weft::Task<void> spawn_join_loop(benchmark::State* state) {
  auto tokens = set_vars(static_cast<int>(state->range(0)));
  std::vector<weft::JoinHandle<void>> hs;
  hs.reserve(1000);
  for (auto _ : *state) {
    for (int i = 0; i < 1000; ++i)
      hs.push_back(weft::spawn(noop()));
    for (auto& h : hs)
      co_await h;
    hs.clear();
  }
}

// One spawn and one join per item, 1,000 per batch, from a task whose context
// is empty (range 0) or holds a variable (range 1: each child shares it).
void BM_SpawnJoinWithContext(benchmark::State& state) {
  weft::Runtime rt({.workers = 2});
  rt.block_on(spawn_join_loop(&state));
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetLabel(state.range(0) ? "context with 1 variable" : "empty context");
}
BENCHMARK(BM_SpawnJoinWithContext)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

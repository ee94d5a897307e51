// weft::Event: wait() on a set event, set()+clear() with nobody waiting, and a
// set -> wake -> wait round trip between two tasks (2 workers) through two
// events, next to the same round trip between two threads through
// std::condition_variable.
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "weft/event.hpp"
#include "weft/runtime.hpp"

namespace {

weft::Task<void> wait_ready_loop(benchmark::State* state, weft::Event* e) {
  for (auto _ : *state)
    co_await e->wait();
}

void BM_EventWaitWhenSet(benchmark::State& state) {
  weft::Runtime rt({.workers = 1});
  weft::Event e;
  e.set();
  rt.block_on(wait_ready_loop(&state, &e));
}
BENCHMARK(BM_EventWaitWhenSet)->UseRealTime();

void BM_EventSetClearNoWaiters(benchmark::State& state) {
  weft::Event e;
  for (auto _ : state) {
    e.set();
    e.clear();
  }
}
BENCHMARK(BM_EventSetClearNoWaiters);

// Two tasks take turns: A sets `ping` and waits for `pong`; B does the reverse.
// Each side clears its event before setting the other's, so every wait waits.
weft::Task<void> pong_side(weft::Event* ping, weft::Event* pong, long* rounds) {
  for (long i = 0; i < *rounds; ++i) {
    co_await ping->wait();
    ping->clear();
    pong->set();
  }
}

weft::Task<void> ping_side(benchmark::State* state, weft::Event* ping, weft::Event* pong,
                           long* rounds) {
  for (auto _ : *state) {
    ping->set();
    co_await pong->wait();
    pong->clear();
  }
  (void)rounds;
}

weft::Task<void> round_trip_main(benchmark::State* state) {
  weft::Event ping, pong;
  long rounds = static_cast<long>(state->max_iterations);
  auto b = weft::spawn(pong_side(&ping, &pong, &rounds));
  co_await ping_side(state, &ping, &pong, &rounds);
  co_await b;
}

void BM_EventRoundTripTasks(benchmark::State& state) {
  weft::Runtime rt({.workers = 2});
  rt.block_on(round_trip_main(&state));
}
BENCHMARK(BM_EventRoundTripTasks)->UseRealTime()->Iterations(200000);

void BM_CondvarRoundTripThreads(benchmark::State& state) {
  std::mutex m;
  std::condition_variable cv;
  int turn = 0;  // 0: ping's turn to be answered by the other thread
  long rounds = static_cast<long>(state.max_iterations);
  std::thread other([&] {
    for (long i = 0; i < rounds; ++i) {
      std::unique_lock<std::mutex> l(m);
      cv.wait(l, [&] { return turn == 1; });
      turn = 0;
      cv.notify_all();
    }
  });
  for (auto _ : state) {
    std::unique_lock<std::mutex> l(m);
    turn = 1;
    cv.notify_all();
    cv.wait(l, [&] { return turn == 0; });
  }
  other.join();
}
BENCHMARK(BM_CondvarRoundTripThreads)->UseRealTime()->Iterations(200000);

}  // namespace

BENCHMARK_MAIN();

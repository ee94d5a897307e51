// Queue hand-off without waiting: weft::Queue's put_nowait/try_get next to a
// raw moodycamel::ConcurrentQueue's enqueue/try_dequeue in the same binary,
// on one thread (the cost of one item through the queue) and between a
// producer and a consumer thread (throughput; a side that finds the queue full
// or empty yields its thread, or on a loaded machine it would spin away the
// timeslice its descheduled partner needs).
#include <benchmark/benchmark.h>
#include <concurrentqueue/concurrentqueue.h>

#include <thread>

#include "weft/queue.hpp"

namespace {

void BM_WeftQueueSameThread(benchmark::State& state) {
  weft::Queue<long> q(state.range(0));
  long i = 0;
  for (auto _ : state) {
    q.put_nowait(i++);
    benchmark::DoNotOptimize(q.get_nowait());
  }
  state.SetLabel(state.range(0) ? "bounded 1024" : "unbounded");
}
BENCHMARK(BM_WeftQueueSameThread)->Arg(1024)->Arg(0);

void BM_MoodycamelSameThread(benchmark::State& state) {
  moodycamel::ConcurrentQueue<long> q;
  long i = 0, v = 0;
  for (auto _ : state) {
    q.enqueue(i++);
    q.try_dequeue(v);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_MoodycamelSameThread);

// Thread 0 produces, thread 1 consumes; each iteration is one item.
weft::Queue<long>* g_weft_queue = nullptr;

void BM_WeftQueueProducerConsumer(benchmark::State& state) {
  if (state.thread_index() == 0) g_weft_queue = new weft::Queue<long>(state.range(0));
  // (Google Benchmark starts the threads' loops together, after setup.)
  long i = 0;
  for (auto _ : state) {
    if (state.thread_index() == 0) {
      while (!g_weft_queue->try_put(i))
        std::this_thread::yield();
      ++i;
    } else {
      while (!g_weft_queue->try_get())
        std::this_thread::yield();
    }
  }
  if (state.thread_index() == 0) {
    delete g_weft_queue;
    g_weft_queue = nullptr;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(0) ? "bounded 1024" : "unbounded");
}
BENCHMARK(BM_WeftQueueProducerConsumer)->Arg(1024)->Arg(0)->Threads(2)->UseRealTime();

moodycamel::ConcurrentQueue<long>* g_mc_queue = nullptr;

void BM_MoodycamelProducerConsumer(benchmark::State& state) {
  if (state.thread_index() == 0) g_mc_queue = new moodycamel::ConcurrentQueue<long>;
  long i = 0, v = 0;
  for (auto _ : state) {
    if (state.thread_index() == 0) {
      g_mc_queue->enqueue(i++);
    } else {
      while (!g_mc_queue->try_dequeue(v))
        std::this_thread::yield();
    }
  }
  if (state.thread_index() == 0) {
    delete g_mc_queue;
    g_mc_queue = nullptr;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MoodycamelProducerConsumer)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

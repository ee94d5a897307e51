// Frame allocation: weft's per-thread frame cache vs oneTBB scalable_malloc vs
// plain operator new, for coroutine-frame-sized blocks, single-thread and
// producer/consumer across two threads (a frame allocated on one worker and
// freed on another, as after a steal).
#include <benchmark/benchmark.h>
#include <tbb/scalable_allocator.h>

#include <atomic>
#include <thread>
#include <vector>

#include "weft/detail/frame_allocator.hpp"

namespace {

constexpr std::size_t kFrame = 128;  // a small task frame

struct WeftAlloc {
  static void* alloc(std::size_t n) { return weft::detail::allocate_frame(n); }
  static void free(void* p, std::size_t n) { weft::detail::deallocate_frame(p, n); }
};
struct TbbAlloc {
  static void* alloc(std::size_t n) { return scalable_malloc(n); }
  static void free(void* p, std::size_t) { scalable_free(p); }
};
struct NewAlloc {
  static void* alloc(std::size_t n) { return ::operator new(n); }
  static void free(void* p, std::size_t) { ::operator delete(p); }
};

// A burst of 64 live frames, freed LIFO (a fork-join recursion).
template <class A>
void BM_Burst(benchmark::State& state) {
  void* ptrs[64];
  for (auto _ : state) {
    for (auto& p : ptrs)
      p = A::alloc(kFrame);
    benchmark::ClobberMemory();
    for (int i = 63; i >= 0; --i)
      A::free(ptrs[i], kFrame);
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK_TEMPLATE(BM_Burst, WeftAlloc);
BENCHMARK_TEMPLATE(BM_Burst, TbbAlloc);
BENCHMARK_TEMPLATE(BM_Burst, NewAlloc);

// Allocated on this thread, freed on another (through a small ring).
template <class A>
void BM_CrossThread(benchmark::State& state) {
  constexpr std::size_t kRing = 1024;
  std::vector<std::atomic<void*>> ring(kRing);
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    std::size_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      void* p = ring[i].exchange(nullptr, std::memory_order_acquire);
      if (p) A::free(p, kFrame);
      i = (i + 1) % kRing;
    }
  });
  std::size_t i = 0;
  for (auto _ : state) {
    void* p = A::alloc(kFrame);
    while (ring[i].load(std::memory_order_relaxed) != nullptr) {
    }
    ring[i].store(p, std::memory_order_release);
    i = (i + 1) % kRing;
  }
  stop = true;
  consumer.join();
  for (auto& slot : ring)
    if (void* p = slot.load()) A::free(p, kFrame);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_CrossThread, WeftAlloc)->UseRealTime();
BENCHMARK_TEMPLATE(BM_CrossThread, TbbAlloc)->UseRealTime();
BENCHMARK_TEMPLATE(BM_CrossThread, NewAlloc)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

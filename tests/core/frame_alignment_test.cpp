// Coroutine frames honour the alignment of what they hold (up to a cache
// line): a weft::Queue (cache-line aligned members) or a user's alignas(64)
// type as a local of a task, nested and spawned. This file is compiled with
// AVX2 code generation where the build machine has it (tests/CMakeLists.txt):
// g++ then initialises such frames with aligned vector stores, which crashed
// on the 16-byte aligned frames weft used to allocate (M1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

namespace {

using namespace std::chrono_literals;

struct alignas(64) CacheLine {
  std::uint64_t words[8] = {};
};

bool aligned(const void* p, std::size_t a) {
  return reinterpret_cast<std::uintptr_t>(p) % a == 0;
}

weft::Task<int> with_queue(int rounds) {
  weft::Queue<int> q(16);
  CacheLine line;
  int bad = !aligned(&q, alignof(weft::Queue<int>)) + !aligned(&line, 64);
  for (int i = 0; i < rounds; ++i) {
    q.put_nowait(i);
    line.words[i % 8] += static_cast<std::uint64_t>(i);
    co_await weft::yield();
    bad += q.get_nowait() != i;
  }
  bad += !aligned(weft::detail::current_task()->frame().address(), 64);
  co_return bad;
}

weft::Task<int> nested_and_spawned() {
  int bad = 0;
  for (int i = 0; i < 500; ++i)
    bad += co_await with_queue(2);
  std::vector<weft::JoinHandle<int>> handles;
  for (int i = 0; i < 2000; ++i)
    handles.push_back(weft::spawn(with_queue(1)));
  for (auto& h : handles)
    bad += co_await h;
  co_return bad;
}

TEST(FrameAlignment, OverAlignedLocalsInNestedAndSpawnedTasks) {
  static_assert(alignof(weft::Queue<int>) <= weft::detail::kFrameAlignment);
  weft::test::Watchdog dog(120s);
  EXPECT_EQ(weft::run(nested_and_spawned(), {.workers = 2}), 0);
}

TEST(FrameAlignment, EveryFrameBlockIsCacheLineAligned) {
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t size : {16u, 24u, 112u, 200u, 1000u, 5000u})
    for (int i = 0; i < 100; ++i)
      blocks.emplace_back(weft::detail::allocate_frame(size), size);
  for (auto& [p, size] : blocks) {
    EXPECT_TRUE(aligned(p, weft::detail::kFrameAlignment)) << size;
    weft::detail::deallocate_frame(p, size);
  }
}

#if !defined(WEFT_ASAN) && !defined(WEFT_TSAN)
// Blocks of a cached size class come from slabs and never go back to the heap
// one by one: a block freed on a thread whose cache has retired (a
// thread_local destroyed after the cache's reaper) goes to the exchange, and
// another thread gets it back. (Sanitizer builds use plain heap blocks.)
TEST(FrameAlignment, BlockFreedAfterTheCacheRetiredIsReused) {
  constexpr std::size_t kSize = 900;  // a class no other test here uses
  struct Holder {
    void* block = nullptr;
    ~Holder() {  // runs after the reaper: constructed before it
      if (block) weft::detail::deallocate_frame(block, kSize);
    }
  };
  void* freed_late = nullptr;
  std::thread t([&] {
    static thread_local Holder holder;
    holder.block = nullptr;                              // constructs it first
    holder.block = weft::detail::allocate_frame(kSize);  // arms the reaper
    freed_late = holder.block;
  });
  t.join();
  bool found = false;
  std::thread u([&] {
    std::vector<void*> got;
    for (int i = 0; i < 256; ++i)
      got.push_back(weft::detail::allocate_frame(kSize));
    found = std::find(got.begin(), got.end(), freed_late) != got.end();
    for (void* p : got) {
      EXPECT_TRUE(aligned(p, weft::detail::kFrameAlignment));
      weft::detail::deallocate_frame(p, kSize);
    }
  });
  u.join();
  EXPECT_TRUE(found);
}
#endif

}  // namespace

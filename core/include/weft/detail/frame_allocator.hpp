// Coroutine frame allocation: a per-thread cache of size-classed free lists in
// front of the global heap.
//
// Every weft::Task frame (and so every spawned task, whose header lives in its
// root frame) comes from here, and timer entries too. A block freed on another
// thread than the one that allocated it simply joins the freeing thread's
// cache. Behind the caches is oneTBB's scalable_malloc: each cache keeps at most
// kMaxCachedBytes per size class and gives the excess back to it, so a
// producer/consumer pattern cannot make one thread hoard memory, and blocks
// that travel between threads cost what scalable_malloc charges for them.
//
// Chosen by bench/micro/micro_frame_alloc.cpp (figures in bench/RESULTS.md):
// the cache alone is ~8x faster than scalable_malloc on a fork-join burst and
// ~15x faster than operator new; scalable_malloc is ~5x faster than the global
// heap when blocks are freed on another thread, so it backs the cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace weft::detail {

struct FreeBlock {
  FreeBlock* next;
};

/// Size classes are multiples of kFrameGranule up to kMaxCachedFrame; larger
/// frames go straight to the heap.
inline constexpr std::size_t kFrameGranule = 16;
inline constexpr std::size_t kMaxCachedFrame = 1024;
inline constexpr std::size_t kFrameClasses = kMaxCachedFrame / kFrameGranule;
/// Cap per size class and thread: 64 KiB (enough for W5's steady state, measured
/// at about 40 live frames per worker; small enough not to hoard).
inline constexpr std::size_t kMaxCachedBytes = 64 * 1024;

/// Per-thread cache. Trivially constructible so that access needs no TLS guard;
/// its blocks are returned to the heap at thread exit by FrameCacheReaper.
struct FrameCache {
  FreeBlock* head[kFrameClasses];
  std::uint32_t count[kFrameClasses];
  bool reaper_armed;
};

inline thread_local FrameCache tls_frame_cache{};

void* allocate_frame_slow(std::size_t size);
void deallocate_frame_slow(void* p, std::size_t size) noexcept;

inline std::size_t frame_class(std::size_t size) noexcept {
  return (size + kFrameGranule - 1) / kFrameGranule - 1;
}

#if defined(WEFT_ASAN) || defined(WEFT_TSAN)
// Sanitizer builds: every frame is a plain heap block, so AddressSanitizer sees
// a use of a freed frame and ThreadSanitizer sees reuse races, which a cache
// (or a custom allocator) would hide.
inline void* allocate_frame(std::size_t size) { return ::operator new(size); }
inline void deallocate_frame(void* p, std::size_t size) noexcept { ::operator delete(p, size); }
#else
/// O(1), no atomics on the fast path.
inline void* allocate_frame(std::size_t size) {
  if (size <= kMaxCachedFrame) {
    FrameCache& c = tls_frame_cache;
    std::size_t k = frame_class(size);
    if (FreeBlock* b = c.head[k]) {
      c.head[k] = b->next;
      --c.count[k];
      return b;
    }
  }
  return allocate_frame_slow(size);
}

/// O(1), no atomics on the fast path. `size` must be the size passed to allocate_frame.
inline void deallocate_frame(void* p, std::size_t size) noexcept {
  if (size <= kMaxCachedFrame) {
    FrameCache& c = tls_frame_cache;
    std::size_t k = frame_class(size);
    if (c.reaper_armed && c.count[k] * (k + 1) * kFrameGranule < kMaxCachedBytes) {
      auto* b = static_cast<FreeBlock*>(p);
      b->next = c.head[k];
      c.head[k] = b;
      ++c.count[k];
      return;
    }
  }
  deallocate_frame_slow(p, size);
}
#endif

}  // namespace weft::detail

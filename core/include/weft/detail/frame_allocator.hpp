// Coroutine frame allocation: a per-thread cache of size-classed free lists in
// front of the global heap.
//
// Every weft::Task frame (and so every spawned task, whose header lives in its
// root frame) comes from here, and timer entries too. A block freed on another
// thread than the one that allocated it simply joins the freeing thread's
// cache. When a cache holds kMaxCachedBlocks of a size class, it hands a batch
// of kBatchBlocks to a global per-class exchange (a moodycamel queue,
// lock-free apart from block allocation); a thread whose cache is empty takes a batch from there
// before it asks the heap, which it does a slab of 32 blocks at a time (blocks of a cached class
// are never returned to the heap). So a producer/consumer pattern (frames allocated on one worker
// and freed on another, as after a steal) recycles blocks in batches instead of hitting malloc for
// each one, and no thread hoards memory.
//
// Measured in bench/micro/micro_frame_alloc.cpp against oneTBB's
// scalable_malloc and plain operator new (figures in bench/RESULTS.md).
//
// Alignment. Every block is kFrameAlignment (64) bytes aligned, and sizes
// are multiples of it, so a recycled block stays aligned. A coroutine frame
// that holds an over-aligned local (weft::Queue's cache-line members, a user's
// alignas(64) type) needs its frame aligned too: g++ 12 lays the frame out for
// that alignment but calls the plain operator new(size) (P2014's aligned form
// is not implemented), and with AVX code generation it then zeroes the promise
// with aligned vector stores (M1: crashes with -march=native). Clang realigns
// such frames itself; weft aligns for both, since the inline fast path runs in
// code built by the user's compiler. Locals aligned beyond 64 bytes are not
// supported in weft coroutines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace weft::detail {

struct FreeBlock {
  FreeBlock* next;
};

/// The alignment of every block (a cache line).
inline constexpr std::size_t kFrameAlignment = 64;
/// Size classes are multiples of kFrameGranule up to kMaxCachedFrame; larger
/// frames go straight to the heap (aligned too).
inline constexpr std::size_t kFrameGranule = kFrameAlignment;
inline constexpr std::size_t kMaxCachedFrame = 1024;
inline constexpr std::size_t kFrameClasses = kMaxCachedFrame / kFrameGranule;
/// Blocks per size class a thread keeps before handing a batch to the exchange
/// (W5's steady state needs about 40 live frames per worker).
inline constexpr std::uint32_t kMaxCachedBlocks = 256;
/// Blocks moved to or from the global exchange at once.
inline constexpr std::uint32_t kBatchBlocks = 64;

/// Per-thread cache. Trivially constructible so that access needs no TLS guard;
/// its blocks are handed to the global exchange at thread exit (FrameCacheReaper).
struct FrameCache {
  FreeBlock* head[kFrameClasses];
  std::uint32_t count[kFrameClasses];
  bool reaper_armed;
  bool retired;  ///< release_frame_cache() ran: this thread is exiting
};

inline thread_local FrameCache tls_frame_cache{};

void* allocate_frame_slow(std::size_t size);
/// Hands the calling thread's cached blocks to the global exchange and stops
/// caching on this thread (workers call it before they exit; a thread_local
/// destructor does it for other threads).
void release_frame_cache() noexcept;
void deallocate_frame_slow(void* p, std::size_t size) noexcept;

inline std::size_t frame_class(std::size_t size) noexcept {
  return (size + kFrameGranule - 1) / kFrameGranule - 1;
}

#if defined(WEFT_ASAN) || defined(WEFT_TSAN) || defined(WEFT_MODEL)
// Sanitizer and model builds: every frame is a plain heap block, so AddressSanitizer sees
// a use of a freed frame and ThreadSanitizer sees reuse races, which a cache
// (or a custom allocator) would hide; the model build explores no allocator
// internals (moodycamel exchange).
inline void* allocate_frame(std::size_t size) {
  return ::operator new (size, std::align_val_t{kFrameAlignment});
}
inline void deallocate_frame(void* p, std::size_t size) noexcept {
  ::operator delete (p, size, std::align_val_t{kFrameAlignment});
}
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
    if (c.reaper_armed && c.count[k] < kMaxCachedBlocks) {
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

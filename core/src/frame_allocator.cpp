// Slow paths of the per-thread frame cache (see detail/frame_allocator.hpp).
#include "weft/detail/frame_allocator.hpp"

#include <tbb/scalable_allocator.h>

#include <new>

namespace weft::detail {
namespace {

std::size_t rounded(std::size_t size) {
  return size <= kMaxCachedFrame ? (frame_class(size) + 1) * kFrameGranule : size;
}

/// Gives a thread's cached blocks back to the heap when the thread exits. It is
/// a separate thread_local so that the hot cache stays trivially constructible.
struct FrameCacheReaper {
  ~FrameCacheReaper() {
    FrameCache& c = tls_frame_cache;
    c.reaper_armed = false;  // blocks freed during the rest of thread exit go to the heap
    for (std::size_t k = 0; k < kFrameClasses; ++k) {
      while (FreeBlock* b = c.head[k]) {
        c.head[k] = b->next;
        scalable_free(b);
      }
      c.count[k] = 0;
    }
  }
};

void arm_reaper() {
  static thread_local FrameCacheReaper reaper;
  (void)reaper;
  tls_frame_cache.reaper_armed = true;
}

}  // namespace

void* allocate_frame_slow(std::size_t size) {
  if (!tls_frame_cache.reaper_armed) arm_reaper();
  // Round up so that the block fits any frame of its class when it is recycled.
  return ::operator new(rounded(size));
}

void deallocate_frame_slow(void* p, std::size_t /*size*/) noexcept {
  ::operator delete(p);
}

}  // namespace weft::detail

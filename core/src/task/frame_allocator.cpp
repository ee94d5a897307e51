// Slow paths of the per-thread frame cache, and the global exchange of block
// batches between threads (see detail/frame_allocator.hpp).
#include "weft/detail/frame_allocator.hpp"

#include <concurrentqueue/concurrentqueue.h>

#include <new>

namespace weft::detail {
namespace {

std::size_t rounded(std::size_t size) {
  return size <= kMaxCachedFrame ? (frame_class(size) + 1) * kFrameGranule : size;
}

/// A batch travels as its first block; the blocks are linked through `next`
/// and the first one also records how many there are.
struct BatchHead : FreeBlock {
  std::uint32_t count;
};
static_assert(sizeof(BatchHead) <= kFrameGranule);

/// One lock-free queue of batches per size class. Blocks parked here stay
/// allocated (the exchange holds at most what the process once used at its
/// peak) and are reused by whichever thread runs dry first.
struct Exchange {
  moodycamel::ConcurrentQueue<BatchHead*> classes[kFrameClasses];
};

Exchange& exchange() {
  // Never destroyed: threads may hand blocks back during process exit.
  static Exchange* e = new Exchange;
  return *e;
}

/// Takes up to `n` blocks off the front of class k's local list as one batch.
BatchHead* cut_batch(FrameCache& c, std::size_t k, std::uint32_t n) noexcept {
  FreeBlock* head = c.head[k];
  if (!head || n == 0) return nullptr;
  FreeBlock* tail = head;
  std::uint32_t taken = 1;
  while (taken < n && tail->next) {
    tail = tail->next;
    ++taken;
  }
  c.head[k] = tail->next;
  c.count[k] -= taken;
  tail->next = nullptr;
  auto* batch = static_cast<BatchHead*>(head);
  batch->count = taken;
  return batch;
}

/// Gives a thread's cached blocks to the exchange when the thread exits. It is
/// a separate thread_local so that the hot cache stays trivially constructible.
struct FrameCacheReaper {
  ~FrameCacheReaper() { release_frame_cache(); }
};

void arm_reaper() {
  static thread_local FrameCacheReaper reaper;
  (void)reaper;
  tls_frame_cache.reaper_armed = true;
}

}  // namespace

void release_frame_cache() noexcept {
#if !defined(WEFT_ASAN) && !defined(WEFT_TSAN) && !defined(WEFT_MODEL)
  FrameCache& c = tls_frame_cache;
  c.reaper_armed = false;  // blocks freed from now on go straight to the heap
  c.retired = true;
  for (std::size_t k = 0; k < kFrameClasses; ++k) {
    while (BatchHead* batch = cut_batch(c, k, kBatchBlocks)) {
      if (!exchange().classes[k].enqueue(batch)) {
        for (FreeBlock* b = batch; b;) {  // out of memory for the queue: free them
          FreeBlock* next = b->next;
          ::operator delete (static_cast<void*>(b), std::align_val_t{kFrameAlignment});
          b = next;
        }
      }
    }
  }
#endif
}

void* allocate_frame_slow(std::size_t size) {
  FrameCache& c = tls_frame_cache;
  if (!c.reaper_armed) arm_reaper();
  if (size <= kMaxCachedFrame) {
    std::size_t k = frame_class(size);
    BatchHead* batch = nullptr;
    if (exchange().classes[k].try_dequeue(batch)) {
      // Install the batch as the local list and take its first block.
      c.head[k] = batch->next;
      c.count[k] = batch->count - 1;
      return batch;
    }
  }
  // Round up so that the block fits any frame of its class when it is recycled.
  return ::operator new (rounded(size), std::align_val_t{kFrameAlignment});
}

void deallocate_frame_slow(void* p, std::size_t size) noexcept {
  FrameCache& c = tls_frame_cache;
  if (size <= kMaxCachedFrame && !c.reaper_armed && !c.retired) {
    // A thread that only frees (it drops handles, say) caches too, so its
    // blocks flow back to the allocating threads through the exchange.
    arm_reaper();
    auto* b = static_cast<FreeBlock*>(p);
    std::size_t k = frame_class(size);
    b->next = c.head[k];
    c.head[k] = b;
    ++c.count[k];
    return;
  }
  if (size <= kMaxCachedFrame && c.reaper_armed) {
    // The class is full: pass a batch to the exchange, then keep this block.
    std::size_t k = frame_class(size);
    if (BatchHead* batch = cut_batch(c, k, kBatchBlocks)) {
      if (exchange().classes[k].enqueue(batch)) {
        auto* b = static_cast<FreeBlock*>(p);
        b->next = c.head[k];
        c.head[k] = b;
        ++c.count[k];
        return;
      }
      // Could not enqueue (out of memory): put the batch back, free this one.
      FreeBlock* tail = batch;
      while (tail->next)
        tail = tail->next;
      tail->next = c.head[k];
      c.head[k] = batch;
      c.count[k] += batch->count;
    }
  }
  ::operator delete (p, std::align_val_t{kFrameAlignment});
}

}  // namespace weft::detail

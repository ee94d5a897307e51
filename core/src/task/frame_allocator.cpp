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

/// Blocks of a cached size class come from the heap in slabs of this many:
/// one aligned allocation instead of one per block (glibc's memalign costs
/// several times a malloc: it trims the slack around the block and frees it).
/// A slab is never returned to the heap, so neither is any of its blocks: a
/// block freed where no cache takes it goes to the exchange.
constexpr std::uint32_t kSlabBlocks = 32;

/// One lock-free queue of batches per size class. Blocks parked here stay
/// allocated (the exchange holds at most what the process once used at its
/// peak, plus each thread's unused slab tail) and are reused by whichever
/// thread runs dry first.
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
  c.reaper_armed = false;  // blocks freed from now on go to the exchange one by one
  c.retired = true;
  for (std::size_t k = 0; k < kFrameClasses; ++k) {
    while (BatchHead* batch = cut_batch(c, k, kBatchBlocks)) {
      // Out of memory for the queue: the batch is lost (slab blocks cannot go
      // back to the heap one by one); the process is failing anyway.
      (void)exchange().classes[k].enqueue(batch);
    }
  }
#endif
}

void* allocate_frame_slow(std::size_t size) {
  FrameCache& c = tls_frame_cache;
  if (c.retired)  // exiting: no cache to carve a slab into; the block ends in the exchange
    return ::operator new (rounded(size), std::align_val_t{kFrameAlignment});
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
  if (size > kMaxCachedFrame) return ::operator new (size, std::align_val_t{kFrameAlignment});
  // A slab of blocks of the class's full size (so that each fits any frame
  // of the class when it is recycled): the first is returned, the others
  // join the local list.
  const std::size_t k = frame_class(size);
  const std::size_t block = rounded(size);
  auto* slab =
      static_cast<char*>(::operator new (block* kSlabBlocks, std::align_val_t{kFrameAlignment}));
  for (std::uint32_t i = kSlabBlocks - 1; i >= 1; --i) {
    auto* b = reinterpret_cast<FreeBlock*>(slab + i * block);
    b->next = c.head[k];
    c.head[k] = b;
  }
  c.count[k] += kSlabBlocks - 1;
  return slab;
}

void deallocate_frame_slow(void* p, std::size_t size) noexcept {
  if (size > kMaxCachedFrame) {
    ::operator delete (p, std::align_val_t{kFrameAlignment});
    return;
  }
  FrameCache& c = tls_frame_cache;
  const std::size_t k = frame_class(size);
  if (c.retired) {
    // This thread no longer caches: the block goes to the exchange alone.
    auto* batch = static_cast<BatchHead*>(p);
    batch->next = nullptr;
    batch->count = 1;
    (void)exchange().classes[k].enqueue(batch);  // out of memory: lost (see release_frame_cache)
    return;
  }
  if (!c.reaper_armed) {
    // A thread that only frees (it drops handles, say) caches too, so its
    // blocks flow back to the allocating threads through the exchange.
    arm_reaper();
  } else if (BatchHead* batch = cut_batch(c, k, kBatchBlocks)) {
    // The class is full: pass a batch to the exchange, then keep this block.
    if (!exchange().classes[k].enqueue(batch)) {
      // Could not enqueue (out of memory): keep the batch; the list grows past its cap.
      FreeBlock* tail = batch;
      while (tail->next)
        tail = tail->next;
      tail->next = c.head[k];
      c.head[k] = batch;
      c.count[k] += batch->count;
    }
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = c.head[k];
  c.head[k] = b;
  ++c.count[k];
}

}  // namespace weft::detail

// BlockStorage<T>: the item storage of an unbounded weft::Queue (and of a
// bounded one too large for a preallocated ring): a linked list of blocks of
// B slots each, so that items cost no allocation of their own (one block per
// B items) and about sizeof(T) + 1 bytes each.
//
// Each end is a position counter and the block it is in. A block has B slots
// and each block's stretch of positions has one more, B + 1: the position
// after the last slot means "the next block is being linked in". So:
//
//   push: claim the tail position p (CAS p -> p+1) unless it is that extra
//         position (then wait: the thread that claimed the last slot is
//         linking the next block in). The thread that claims the last slot
//         links a new block (allocated before its CAS, so an allocation
//         failure changes nothing), then moves the tail to the new block's
//         first position. Move the item into the slot; mark it WRITTEN.
//   pop:  claim the head position the same way (the one that claims the last
//         slot moves the head to the next block, waiting for it to be linked
//         if needed); wait until the slot is WRITTEN; move the item out.
//
// A block is freed once every one of its slots has been popped: the pop of its
// last slot starts walking the other slots; a slot whose pop is not finished
// yet gets DESTROY, and that pop, when it marks its slot READ and finds
// DESTROY, goes on with the walk (the scheme of crossbeam's SegQueue). A
// thread reads an end's block pointer only before its CAS and dereferences it
// only after the CAS claimed a slot in it, and a block with an unclaimed or
// unpopped slot is never freed, so no block is freed under anyone's feet.
//
// The queue front-end (queue_core.hpp) pushes only with room reserved and
// pops only with a published item reserved, so pop() never finds the storage
// empty, and every wait ends: a pop's slot, or the next block it waits for,
// belongs to a push that has claimed its position already (there are at least
// as many published items as claimed pops), and a wait at the extra position
// is for a thread between its CAS and its store of the new end. A thread
// preempted in those few instructions holds the others up, so push and pop are
// not lock-free (RingStorage is not either).
//
// Operation   complexity   progress
//   push      O(1)         a CAS on the tail (retried when another push claimed
//                          a position first, or spuriously) + an RMW on the
//                          slot; every push that finds the tail at a block's
//                          last slot allocates the next block before its CAS
//                          (about one allocation per B pushes; a push that
//                          loses the slot frees its block again), so
//                          std::bad_alloc comes before anything changed; waits
//                          only for a push linking the next block
//   pop       O(1)         a CAS on the head + an RMW on the slot (none for a
//                          block's last slot, whose pop frees the block);
//                          waits only for the push of its slot, for the push
//                          of the block's last slot to link the next block,
//                          or for the pop of that slot to move the head on
// Memory: ceil(n / B) + 1 blocks of 8 + B * (1 + sizeof(T)) bytes (padded) for
// n items in the storage, plus, for a moment, blocks that a losing push
// allocated or whose freeing walk waits for a pop still moving its item out.
// A block's B state bytes share one or two cache lines (crossbeam keeps each
// state beside its item instead; not measured here).
//
// Reentrancy: T's move constructor must not use the same queue, and must not
// throw (a slot claimed and never written would hold its pop forever).
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/spin_wait.hpp"

namespace weft::detail {

template <class T, std::uint32_t B = 63>
class BlockStorage {
  static_assert(B >= 2, "a block needs at least two slots");
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "BlockStorage<T>: T's move constructor runs after the slot is claimed");
  static constexpr std::uint64_t kLap = std::uint64_t{B} + 1;  // positions per block

  // A slot's state (bits).
  static constexpr std::uint8_t kWritten = 1;  // the push moved its item in
  static constexpr std::uint8_t kRead = 2;     // the pop moved it out
  static constexpr std::uint8_t kDestroy = 4;  // the freeing walk passed it while its pop ran

  struct Cell {
    alignas(T) unsigned char buf[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(buf)); }
  };
  struct Block {
    detail::Atomic<Block*> next{nullptr};
    detail::Atomic<std::uint8_t> state[B]{};
    Cell cells[B];
  };
  // One end: each on its own cache line (puts and gets run on different threads).
  struct alignas(64) End {
    detail::Atomic<std::uint64_t> pos{0};
    detail::Atomic<Block*> block{nullptr};
  };

 public:
  BlockStorage() {
    Block* first = new Block;
    // relaxed: other threads see the storage only through the queue, which is
    // handed to them with its own synchronisation (a thread start, a spawn).
    head_.block.store(first, std::memory_order_relaxed);
    tail_.block.store(first, std::memory_order_relaxed);
  }
  BlockStorage(const BlockStorage&) = delete;
  BlockStorage& operator=(const BlockStorage&) = delete;
  ~BlockStorage() {
    // Nothing runs concurrently: every push and pop has finished, so the items
    // left are the positions [head, tail), all of them written, and the blocks
    // left are the head's through the tail's (those before were freed).
    std::uint64_t p = head_.pos.load(std::memory_order_relaxed);
    const std::uint64_t end = tail_.pos.load(std::memory_order_relaxed);
    Block* b = head_.block.load(std::memory_order_relaxed);
    for (; p != end; ++p) {
      const std::uint64_t off = p % kLap;
      if (off == B) {  // the extra position: on to the next block
        Block* next = b->next.load(std::memory_order_relaxed);
        delete b;
        b = next;
        continue;
      }
      b->cells[off].value()->~T();
    }
    delete b;
  }

  /// Requires a room reservation. Throws std::bad_alloc (nothing changed, the
  /// item untouched) if a new block is needed and cannot be allocated.
  void push(T&& item) {
    Block* fresh = nullptr;  // the next block, if we claim a block's last slot
    // may throw before anything is claimed
    const Claimed c = claim(tail_, [&] {
      if (!fresh) fresh = new Block;
    });
    // (Plain locals, not a structured binding: clang 14 cannot capture one.)
    Block* const b = c.block;
    const std::uint64_t off = c.off;
    if (off + 1 == B) {
      // release: the new block's initialised slots before a pop reaches it.
      b->next.store(fresh, std::memory_order_release);
      advance(tail_, fresh, c.pos);
    } else {
      delete fresh;  // allocated for a last slot that another push claimed
    }
    ::new (b->cells[off].buf) T(std::move(item));
    // release: the item is in before its pop sees WRITTEN. An RMW: the freeing
    // walk may set DESTROY on the slot first (its pop waits for us).
    b->state[off].fetch_or(kWritten, std::memory_order_release);
  }

  /// Requires an item reservation.
  T pop() noexcept {
    const Claimed c = claim(head_, [] {});
    Block* const b = c.block;
    const std::uint64_t off = c.off;
    if (off + 1 == B) {
      // The last slot: the push that claimed it links the next block in
      // before writing its item; it has claimed it already (our reservation).
      Block* next;
      // acquire: pairs with push's release store of `next`.
      spin_until([&] { return (next = b->next.load(std::memory_order_acquire)) != nullptr; });
      advance(head_, next, c.pos);
    }
    // acquire: pairs with push's release; the item is in.
    spin_until([&] { return b->state[off].load(std::memory_order_acquire) & kWritten; });
    T out(std::move(*b->cells[off].value()));
    b->cells[off].value()->~T();
    if (off + 1 == B) {
      free_from(b, 0);  // every other slot has been claimed: start the walk
    } else if (b->state[off].fetch_or(kRead, std::memory_order_acq_rel) & kDestroy) {
      // acq_rel: our move-out happens-before whoever frees the block; the walk
      // that set DESTROY stopped at us: we go on with it.
      free_from(b, off + 1);
    }
    return out;
  }

 private:
  struct Claimed {
    std::uint64_t pos;  ///< the position claimed
    Block* block;       ///< its block
    std::uint64_t off;  ///< its slot in the block
  };
  /// Claims the next slot of `end` (a CAS from p to p+1), waiting while the
  /// position is a block's extra one (the next block is being linked in).
  /// `at_last_slot` runs before the CAS whenever the position is a block's
  /// last slot (push allocates the next block there, and may throw: nothing
  /// is claimed then). acquire (the loads and the CAS): the position's block
  /// was stored before it (advance), and a new block's initialised slots with it.
  template <class AtLastSlot>
  static Claimed claim(End& end, AtLastSlot&& at_last_slot) {
    std::uint64_t p = end.pos.load(std::memory_order_acquire);
    for (;;) {
      const std::uint64_t off = p % kLap;
      if (off == B) {  // someone is linking the next block in
        spin_until([&] { return end.pos.load(std::memory_order_acquire) != p; });
        p = end.pos.load(std::memory_order_acquire);
        continue;
      }
      if (off + 1 == B) at_last_slot();
      // Read after `p`: while the position stays p (the CAS checks that), the
      // end's block is p's block.
      Block* b = end.block.load(std::memory_order_acquire);
      // acquire on failure too: as the loads above.
      if (end.pos.compare_exchange_weak(p, p + 1, std::memory_order_acquire)) return {p, b, off};
    }
  }

  /// The thread that claimed a block's last slot (position p) moves `end` on
  /// to `next`, the block after it.
  static void advance(End& end, Block* next, std::uint64_t p) noexcept {
    // release (both): `next`'s initialised slots before anyone claims one. The
    // block before the position: a reader that sees the new position sees
    // this block (or a newer one, and then its CAS fails).
    end.block.store(next, std::memory_order_release);
    end.pos.store(p + 2, std::memory_order_release);  // past the extra position
  }

  /// Frees `b` if every slot from `start` on (the last excepted: its pop runs
  /// the walk from 0) has been read; otherwise leaves DESTROY on the first
  /// slot whose pop is not done, and that pop continues from there.
  static void free_from(Block* b, std::uint32_t start) noexcept {
    for (std::uint32_t i = start; i + 1 < B; ++i) {
      // acquire (both): that pop's move-out happens-before the delete.
      if (b->state[i].load(std::memory_order_acquire) & kRead) continue;
      if (!(b->state[i].fetch_or(kDestroy, std::memory_order_acq_rel) & kRead)) return;
    }
    delete b;
  }

  End head_;
  End tail_;
};

}  // namespace weft::detail

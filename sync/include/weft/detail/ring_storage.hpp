// RingStorage<T>: the item storage of a bounded weft::Queue: n preallocated
// item slots and two IndexRings (SCQ, index_ring.hpp) of slot numbers, one of
// the free slots and one of the filled slots in FIFO order:
//
//   push: take a free slot number, move the item into the slot, enqueue the
//         number on the filled ring;
//   pop:  dequeue a number from the filled ring, move the item out, give the
//         number back to the free ring.
//
// No allocation after construction and no reclamation problem: slots are
// reused only after their number went round the free ring. The queue
// front-end's reservations guarantee that push always finds a free slot (a
// slot stays reserved until its item has left) and pop always finds an item,
// which is exactly what the IndexRing variant requires.
//
// Operation   complexity      progress
//   push      O(1) expected   lock-free (two IndexRing operations)
//   pop       O(1) expected   lock-free (two IndexRing operations)
// Memory: n slots of T + 2 x 2n x 8 bytes of rings, n = maxsize rounded up to
// a power of two.
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "weft/detail/index_ring.hpp"

namespace weft::detail {

template <class T>
class RingStorage {
  struct Slot {
    alignas(T) unsigned char buf[sizeof(T)];
    bool full = false;  ///< owner-only: the pusher sets it, the popper clears it
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(buf)); }
  };

 public:
  /// Up to `capacity` items (rounded up to a power of two).
  explicit RingStorage(std::uint64_t capacity)
      : n_(std::bit_ceil(capacity < 1 ? std::uint64_t{1} : capacity)),
        filled_(n_, /*full=*/false),
        free_(n_, /*full=*/true),
        slots_(new Slot[n_]) {}
  RingStorage(const RingStorage&) = delete;
  RingStorage& operator=(const RingStorage&) = delete;
  ~RingStorage() {
    for (std::uint64_t i = 0; i < n_; ++i)
      if (slots_[i].full) slots_[i].value()->~T();
  }

  /// Requires a room reservation: a free slot exists.
  void push(T&& item) noexcept {
    const std::uint64_t i = free_.dequeue();
    Slot& s = slots_[i];
    ::new (s.buf) T(std::move(item));
    s.full = true;
    filled_.enqueue(i);  // publishes the slot's contents
  }
  /// Requires an item reservation: a filled slot exists.
  T pop() noexcept {
    const std::uint64_t i = filled_.dequeue();
    Slot& s = slots_[i];
    T out(std::move(*s.value()));
    s.value()->~T();
    s.full = false;
    free_.enqueue(i);  // the slot may be reused from here on
    return out;
  }

 private:
  const std::uint64_t n_;
  IndexRing filled_;
  IndexRing free_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace weft::detail

// RingStorage<T>: the item storage of a bounded weft::Queue: n preallocated
// slots, each with a sequence number, and two ticket counters (the ticket
// variant of Vyukov's bounded ring, as in Rigtorp's and Folly's MPMC queues:
// a fetch_add picks the slot, then the operation waits for the slot's turn;
// Vyukov's own ring claims with a CAS and reports "full"/"empty" instead):
//
//   push: ticket t = tail++ (fetch_add); wait until slot t%n's sequence is t
//         (its previous item, ticket t-n, has left); move the item in; set the
//         sequence to t+1 (filled).
//   pop:  ticket h = head++ (fetch_add); wait until slot h%n's sequence is h+1
//         (its item is in); move the item out; set the sequence to h+n (free
//         for ticket h+n).
//
// One read-modify-write per operation; the slot's sequence is a plain store.
// The queue front-end's reservations make the waits end: a put reserves room
// before its ticket, so when push t takes it at least t+1-maxsize gets have
// released their room, hence pop t-n has its ticket already; a get reserves a
// published item, so push h has its ticket already. A wait is therefore only
// ever for an operation between its fetch_add and its store (a few
// instructions and T's move constructor, possibly itself waiting in the same
// way for an older ticket), unless that thread was preempted there. Each wait
// goes to a ticket no newer than its own (pop h waits for push h, push t for
// pop t-n), falling by n every two steps, so waits never form a cycle. That
// is the price of one RMW per operation: push and pop are not lock-free (a
// thread suspended in that window holds up the ticket after it), the trade
// that crossbeam's ArrayQueue and Go's channels (a mutex) make too.
//
// n >= 2: with one slot, pop h's store (h+1) would equal push h's, so push
// h+1 could read push h's value and not synchronise with pop h's move-out.
//
// Reentrancy: T's move constructor must not use the same queue (a get inside
// push t's window may draw ticket t and wait for its own thread forever).
//
// Operation   complexity                 progress
//   push      O(1)                       one fetch_add + one store; waits only
//                                        for the get of ticket t-n to finish
//                                        moving its item out
//   pop       O(1)                       one fetch_add + one store; waits only
//                                        for the put of ticket h to finish
//                                        moving its item in
// Memory: n slots of sizeof(Slot) (8 bytes of sequence number plus T, padded
// to T's alignment), n = maxsize rounded up to a power of two (at least 2);
// no allocation after construction.
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/spin_wait.hpp"

namespace weft::detail {

template <class T>
class RingStorage {
  struct Slot {
    detail::Atomic<std::uint64_t> seq{0};
    alignas(T) unsigned char buf[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(buf)); }
  };

 public:
  /// Up to `capacity` items (rounded up to a power of two, at least 2).
  explicit RingStorage(std::uint64_t capacity)
      : n_(std::bit_ceil(capacity < 2 ? std::uint64_t{2} : capacity)), slots_(new Slot[n_]) {
    // relaxed: other threads see the ring only through the queue, which is
    // handed to them with its own synchronisation (a thread start, a spawn).
    for (std::uint64_t i = 0; i < n_; ++i)
      slots_[i].seq.store(i, std::memory_order_relaxed);
  }
  RingStorage(const RingStorage&) = delete;
  RingStorage& operator=(const RingStorage&) = delete;
  ~RingStorage() {
    // Nothing runs concurrently with the destructor: the items left are the
    // tickets [head, tail), all of them in.
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    for (std::uint64_t h = head_.load(std::memory_order_relaxed); h != t; ++h)
      slots_[h & (n_ - 1)].value()->~T();
  }

  /// Requires a room reservation.
  void push(T&& item) noexcept {
    // relaxed: the ticket only picks the slot; the slot's sequence orders it.
    const std::uint64_t t = tail_.fetch_add(1, std::memory_order_relaxed);
    Slot& s = slots_[t & (n_ - 1)];
    // acquire: the previous item's pop (its move-out) happens-before our write.
    spin_until([&] { return s.seq.load(std::memory_order_acquire) == t; });
    ::new (s.buf) T(std::move(item));
    // release: the item is in before a pop sees the sequence.
    s.seq.store(t + 1, std::memory_order_release);
  }
  /// Requires an item reservation.
  T pop() noexcept {
    const std::uint64_t h = head_.fetch_add(1, std::memory_order_relaxed);
    Slot& s = slots_[h & (n_ - 1)];
    // acquire: pairs with push's release store.
    spin_until([&] { return s.seq.load(std::memory_order_acquire) == h + 1; });
    T out(std::move(*s.value()));
    s.value()->~T();
    // release: the item has left before the push of ticket h+n writes the slot.
    s.seq.store(h + n_, std::memory_order_release);
    return out;
  }

 private:
  const std::uint64_t n_;
  std::unique_ptr<Slot[]> slots_;
  // Each counter on its own line: puts and gets run on different threads.
  alignas(64) detail::Atomic<std::uint64_t> head_{0};
  alignas(64) detail::Atomic<std::uint64_t> tail_{0};
};

}  // namespace weft::detail

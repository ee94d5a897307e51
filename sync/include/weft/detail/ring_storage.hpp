// RingStorage<T>: the item storage of a bounded weft::Queue: n preallocated
// slots, each with a sequence number (the ticket variant of Vyukov's bounded
// ring, as in Rigtorp's and Folly's MPMC queues: the ticket picks the slot,
// then the operation waits for the slot's turn; Vyukov's own ring claims with
// a CAS and reports "full"/"empty" instead). The ring draws no tickets
// itself: the queue front-end hands them out in the same CAS that reserves
// room or an item (queue_core.hpp: the put's ticket is its room reservation,
// the get's its item reservation), so a push or pop is a plain store on the
// slot, no read-modify-write at all.
//
//   push t: wait until slot t%n's sequence is t (its previous item, ticket
//           t-n, has left); move the item in; set the sequence to t+1 (filled).
//   pop h:  wait until slot h%n's sequence is h+1 (its item is in); move the
//           item out; set the sequence to h+n (free for ticket h+n).
//
// Tickets and sequence numbers count modulo 2^kTicketBits (the width of the
// front-end's counts); n divides that, so a slot keeps its tickets across the
// wrap.
//
// The front-end's reservations make the waits end: a put reserves room with
// its ticket, so when push t runs at least t+1-maxsize gets have released
// their room, hence pop t-n has its ticket already; a get reserves an item
// only once more than h puts have published, so push h has its ticket
// already (it may still be moving its item in). A wait is therefore only ever for an
// operation between its reservation and its slot store (a few instructions
// and T's move constructor, possibly itself waiting in the same way for an
// older ticket), unless that thread was preempted there. Each wait goes to a
// ticket no newer than its own (pop h waits for push h, push t for pop t-n),
// falling by n every two steps, so waits never form a cycle. That is the
// price of drawing the ticket at the reservation: push and pop are not
// lock-free (a thread suspended in that window holds up the ticket after
// it), the trade that crossbeam's ArrayQueue and Go's channels (a mutex) make
// too.
//
// n >= 2: with one slot, pop h's store (h+1) would equal push h's, so push
// h+1 could read push h's value and not synchronise with pop h's move-out.
//
// Reentrancy: T's move constructor must not use the same queue (a get inside
// push t's window may hold ticket t and wait for its own thread forever).
//
// Operation   complexity                 progress
//   push t    O(1)                       one store; waits only for the get of
//                                        ticket t-n to finish moving its item
//                                        out
//   pop h     O(1)                       one store; waits only for the put of
//                                        ticket h to finish moving its item in
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

/// Tickets count modulo 2^kTicketBits (QueueCore's 36-bit counts).
inline constexpr unsigned kTicketBits = 36;
inline constexpr std::uint64_t kTicketMask = (std::uint64_t{1} << kTicketBits) - 1;

template <class T>
class RingStorage {
  struct Slot {
    detail::Atomic<std::uint64_t> seq{0};
    alignas(T) unsigned char buf[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(buf)); }
  };

 public:
  /// Up to `capacity` items (rounded up to a power of two, at least 2); the
  /// first push and pop have ticket `first_ticket` (tests start near the wrap).
  explicit RingStorage(std::uint64_t capacity, std::uint64_t first_ticket = 0)
      : n_(std::bit_ceil(capacity < 2 ? std::uint64_t{2} : capacity)), slots_(new Slot[n_]) {
    // Slot i waits for the first ticket at or after first_ticket that maps to it.
    // relaxed: other threads see the ring only through the queue, which is
    // handed to them with its own synchronisation (a thread start, a spawn).
    for (std::uint64_t i = 0; i < n_; ++i)
      slots_[i].seq.store((first_ticket + ((i - first_ticket) & (n_ - 1))) & kTicketMask,
                          std::memory_order_relaxed);
  }
  RingStorage(const RingStorage&) = delete;
  RingStorage& operator=(const RingStorage&) = delete;
  ~RingStorage() {
    // Nothing runs concurrently with the destructor, so every slot is either
    // free (its sequence is the next ticket for it, congruent to i mod n) or
    // filled (that ticket + 1): destroy the filled ones.
    for (std::uint64_t i = 0; i < n_; ++i)
      if (((slots_[i].seq.load(std::memory_order_relaxed) - i) & (n_ - 1)) == 1)
        slots_[i].value()->~T();
  }

  /// Ticket `t`: the put's room reservation.
  void push(std::uint64_t t, T&& item) noexcept {
    Slot& s = slots_[t & (n_ - 1)];
    // acquire: the previous item's pop (its move-out) happens-before our write.
    spin_until([&] { return s.seq.load(std::memory_order_acquire) == t; });
    ::new (s.buf) T(std::move(item));
    // release: the item is in before a pop sees the sequence.
    s.seq.store((t + 1) & kTicketMask, std::memory_order_release);
  }
  /// Ticket `h`: the get's item reservation.
  T pop(std::uint64_t h) noexcept {
    Slot& s = slots_[h & (n_ - 1)];
    const std::uint64_t filled = (h + 1) & kTicketMask;
    // acquire: pairs with push's release store.
    spin_until([&] { return s.seq.load(std::memory_order_acquire) == filled; });
    T out(std::move(*s.value()));
    s.value()->~T();
    // release: the item has left before the push of ticket h+n writes the slot.
    s.seq.store((h + n_) & kTicketMask, std::memory_order_release);
    return out;
  }

 private:
  const std::uint64_t n_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace weft::detail

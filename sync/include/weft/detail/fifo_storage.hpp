// FifoStorage<T>: the item storage of weft::Queue. A bounded queue of up to
// kMaxRingCapacity items keeps them in a preallocated ring (ring_storage.hpp:
// no allocation per item, a plain slot store per push or pop at the ticket the
// front-end's reservation gave; the blocks ignore the tickets); an unbounded or
// larger queue keeps them in a list of blocks of slots (block_storage.hpp: one
// allocation per 63 items, a CAS and a slot RMW per push or pop). Neither is lock-free: a push
// or pop may wait for an older operation between its claim and its store. The
// choice is made once, at construction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "weft/detail/block_storage.hpp"
#include "weft/detail/ring_storage.hpp"

namespace weft::detail {

/// Largest maxsize served by a preallocated ring (an 8-byte sequence number
/// per slot on top of the item, padded to its alignment): 4096.
inline constexpr std::int64_t kMaxRingCapacity = 4096;

template <class T>
class FifoStorage {
 public:
  /// An item on its way in (held as is: the storages allocate per block, if at all).
  class Prepared {
   public:
    Prepared() = default;
    explicit operator bool() const noexcept { return item_.has_value(); }
    T* get() noexcept { return &*item_; }

   private:
    friend class FifoStorage;
    std::optional<T> item_;
    // Keeps PutAwaiter (which holds a Prepared) at the size it had when the
    // unbounded storage needed a node pointer here: without these 8 bytes,
    // W8/W8b (bounded, PutAwaiter in each producer's frame) ran slower, medians
    // 1.1-1.3x over 40 alternating runs (bench/RESULTS.md, "blocks"), most
    // likely through where the awaiter's wait node falls in the frame's cache
    // lines; not understood further.
    [[maybe_unused]] void* layout_pad_ = nullptr;
  };

  /// push() throws only before it changed anything (BasicQueue gives the
  /// reservation back and lets the exception through).
  static constexpr bool kPushThrowsBeforeChange = true;

  /// The ring's slots follow the reservations' tickets (QueueCore), so a
  /// queue that starts its tickets elsewhere (a test's FirstTicket) starts the
  /// ring there too.
  static constexpr bool kSlotsFollowTickets = true;

  /// `capacity` 0: unbounded. `first_ticket`: the front-end's first ticket.
  explicit FifoStorage(std::size_t capacity, std::uint64_t first_ticket = 0) {
    if (capacity > 0 && capacity <= static_cast<std::size_t>(kMaxRingCapacity))
      ring_ = std::make_unique<RingStorage<T>>(capacity, first_ticket);
    else
      blocks_ = std::make_unique<BlockStorage<T>>();
  }

  static Prepared prepare(T&& item) noexcept {
    Prepared p;
    p.item_.emplace(std::move(item));
    return p;
  }
  /// Throws std::bad_alloc if the block list needs a new block and cannot get
  /// one; nothing changed then, and the item was not moved from.
  void push_item(std::uint64_t ticket, T&& item) {
    if (ring_)
      ring_->push(ticket, std::move(item));
    else
      blocks_->push(std::move(item));
  }
  void push(std::uint64_t ticket, Prepared&& p) { push_item(ticket, std::move(*p.item_)); }
  T pop(std::uint64_t ticket) noexcept { return ring_ ? ring_->pop(ticket) : blocks_->pop(); }

 private:
  std::unique_ptr<RingStorage<T>> ring_;
  std::unique_ptr<BlockStorage<T>> blocks_;
};

}  // namespace weft::detail

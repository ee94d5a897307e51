// A bounded Chase-Lev work-stealing deque of pointers, whose owner may also
// claim an entry from the middle (a join that finds its child still queued).
//
// | operation | who          | end    | cost                               | progress  |
// |-----------|--------------|--------|------------------------------------|-----------|
// | push      | owner        | bottom | 1 release store (+fence)           | wait-free |
// | pop       | owner        | bottom | 1 seq_cst fence, CAS if last (*)   | wait-free |
// | take      | owner        | top    | 1 seq_cst fence, 1 CAS (*)         | lock-free |
// | steal     | any thread   | top    | 1 seq_cst fence, 1 CAS, 1 exchange | lock-free |
// | claim     | owner        | any    | newest: a pop, then a trim (one    | wait-free |
// |           |              |        | fence per tombstone it drops);     |           |
// |           |              |        | older: a scan of <= size(), 1 CAS  |           |
//
// (*) plus the same again for each tombstone passed (at most capacity()).
//
// pop() is LIFO, take() and steal() FIFO (a worker that wants FIFO order for
// its own queue takes from the top). pop, take and steal skip claimed entries.
// The pointers 0 and 1 are reserved (empty slot, tombstone).
//
// Ownership of an entry. The top and bottom indices decide, as in Chase-Lev,
// which one of {a thief, the owner's pop or take} wins each index; the winner
// then empties the slot (a thief with an exchange, the owner with a store).
// claim() replaces an entry with a tombstone by a CAS, so an entry is handed
// out exactly once: a thief that won the index of a claimed slot gets the
// tombstone from its exchange (and moves on), and a claim that lost to a
// thief's exchange fails. A slot is thus empty (its index's winner has been
// and gone), a tombstone, or an entry nobody has been handed yet; push()
// takes only an empty slot (otherwise it reports the deque full), so a slot
// is never reused under a winner that has not emptied it yet (a thief delayed
// between its CAS on top and its exchange). claim() leaves the indices alone:
// the tombstone stays between top and bottom until a pop, take or steal
// passes it, or trim() (after a claim of the newest entry) drops it.
//
// Memory orders follow Le, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
// Work-Stealing for Weak Memory Models" (PPoPP 2013), figure 1, for a buffer that
// never grows (a full deque refuses the push and the caller overflows to the
// global queue). ThreadSanitizer does not model standalone fences, so under
// WEFT_TSAN each fence is folded into the neighbouring access as a seq_cst
// operation, which is at least as strong.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
class ChaseLevDeque {
  static_assert(std::is_pointer_v<T>, "ChaseLevDeque holds pointers");

 public:
  /// `capacity` must be a power of two.
  explicit ChaseLevDeque(std::size_t capacity)
      : mask_(static_cast<std::int64_t>(capacity) - 1),
        buffer_(std::make_unique<detail::Atomic<T>[]>(capacity)) {}

  std::size_t capacity() const noexcept { return static_cast<std::size_t>(mask_ + 1); }

  /// Owner only. Returns false when full.
  bool push(T item) noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    // acquire: the slot we overwrite was read by the thief that moved top past it.
    std::int64_t t = top_.load(std::memory_order_acquire);
    if (b - t > mask_) return false;
    // Not yet emptied by the thief that won its last index: full, for now.
    if (buffer_[b & mask_].load(std::memory_order_relaxed)) return false;
    buffer_[b & mask_].store(item, std::memory_order_relaxed);
#ifdef WEFT_TSAN
    bottom_.store(b + 1, std::memory_order_release);
#else
    // release: a thief that sees the new bottom also sees the item.
    detail::fence(std::memory_order_release);
    bottom_.store(b + 1, std::memory_order_relaxed);
#endif
    return true;
  }

  /// Owner only. Newest item first; nullptr when empty.
  T pop() noexcept {
    T item = nullptr;
    while (pop_index(item))
      if (item) return item;  // else a claimed slot came out: the next one down
    return nullptr;
  }

  /// Owner only. Oldest item first; nullptr when empty or when it lost the
  /// oldest index to a thief (the caller moves on, as after a failed steal).
  T take() noexcept {
    for (;;) {
      std::int64_t t = 0;
      if (!win_top(t)) return nullptr;
      if (T item = empty_slot(t)) return item;
      // A claimed slot: look at the next one.
    }
  }

  /// Any thread. Oldest item first; nullptr when empty or when it lost a race
  /// (the caller may retry or move on to another victim).
  T steal() noexcept {
    for (;;) {
      std::int64_t t = 0;
      if (!win_top(t)) return nullptr;
      // acquire: the item's task state, written before its push (the index was
      // won after reading the bottom that push released). The exchange, not the
      // index, decides against the owner's claim().
      T item = buffer_[t & mask_].exchange(nullptr, std::memory_order_acquire);
      if (item != tombstone()) return item;
      // The owner claimed that entry: try the next index.
    }
  }

  /// Owner only. Takes `item` out of the deque wherever it is queued, newest
  /// entries looked at first. False if it is not queued here (or a thief has
  /// just won it). The owner may then run the item itself.
  bool claim(T item) noexcept {
    std::int64_t i = find(item);
    return i >= 0 && claim_at(i, item);
  }

  /// Owner only. Takes `item` if it is the newest entry (a pop, then a trim
  /// of the tombstones it uncovers): false if it is not, or a thief won it.
  bool claim_newest(T item) noexcept {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    if (b < top_.load(std::memory_order_relaxed) ||
        buffer_[b & mask_].load(std::memory_order_relaxed) != item)
      return false;
    if (pop() != item) return false;
    trim();
    return true;
  }

  /// Owner only. The index at which `item` is queued, or -1. Siblings are
  /// claimed in spawn order (gather, a loop over handles), so the entry after
  /// the last one claimed is looked at first, then the newest, then the rest,
  /// newest first.
  std::int64_t find(T item) const noexcept {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    const std::int64_t t = top_.load(std::memory_order_relaxed);
    std::int64_t i = next_claim_;
    if (i >= t && i < b && buffer_[i & mask_].load(std::memory_order_relaxed) == item) return i;
    for (i = b - 1; i >= t; --i)
      if (buffer_[i & mask_].load(std::memory_order_relaxed) == item) return i;
    return -1;
  }

  /// Owner only. Claims the entry at index `i` (found by find()): true if it
  /// was still `item` and no thief won it first.
  bool claim_at(std::int64_t i, T item) noexcept {
    // The newest entry: pop it (the last index is raced for on top), then
    // drop the claimed slots this uncovers, so that they do not fill the deque.
    if (i == bottom_.load(std::memory_order_relaxed) - 1) return claim_newest(item);
    T expected = item;
    // relaxed: the owner pushed the item itself; the CAS only has to decide
    // against a thief's exchange on the same slot (one of the two wins).
    if (!buffer_[i & mask_].compare_exchange_strong(
            expected, tombstone(), std::memory_order_relaxed, std::memory_order_relaxed))
      return false;
    next_claim_ = i + 1;
    return true;
  }

  /// Owner only. True if index `i` (between oldest_index() and
  /// newest_index()) still holds an entry nobody has been handed.
  bool holds(std::int64_t i) const noexcept {
    return live(buffer_[i & mask_].load(std::memory_order_relaxed));
  }
  /// Owner only. The entry at index `i` (null if it has been handed out).
  T at(std::int64_t i) const noexcept {
    T item = buffer_[i & mask_].load(std::memory_order_relaxed);
    return live(item) ? item : nullptr;
  }
  /// The index of the oldest entry (top). For the owner a lower bound that
  /// only grows: entries below it have been handed out.
  std::int64_t oldest_index() const noexcept {
    return top_.load(std::memory_order_relaxed);
  }

  /// Owner only. The index the next push() fills (if it succeeds).
  std::int64_t next_index() const noexcept {
    return bottom_.load(std::memory_order_relaxed);
  }
  /// Owner only. The index of the newest entry, if any (bottom - 1).
  std::int64_t newest_index() const noexcept {
    return bottom_.load(std::memory_order_relaxed) - 1;
  }

  /// Approximate number of items (exact for the owner when nobody steals).
  std::size_t size() const noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }
  bool empty() const noexcept {
    return size() == 0;
  }

 private:
  /// Wins the oldest index for the caller (thief or owner), in `t`. False when
  /// the deque is empty or another thread won that index first.
  bool win_top(std::int64_t& t) noexcept {
#ifdef WEFT_TSAN
    t = top_.load(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_seq_cst);
#else
    // acquire on top, then a seq_cst fence: the load of bottom must not be
    // hoisted above the load of top (pairs with the fence in pop()).
    t = top_.load(std::memory_order_acquire);
    detail::fence(std::memory_order_seq_cst);
    // acquire: pairs with the release in push() so the item is visible.
    std::int64_t b = bottom_.load(std::memory_order_acquire);
#endif
    if (t >= b) return false;
    // seq_cst: decides the race with other thieves and with pop() of the last index.
    return top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed);
  }

  /// What claim() leaves in a slot: not an entry, and not empty either, so
  /// that push() cannot reuse the slot before the winner of its index (maybe
  /// a thief, delayed between its CAS on top and its exchange) has emptied it.
  static T tombstone() noexcept {
    return reinterpret_cast<T>(std::uintptr_t{1});
  }
  static bool live(T item) noexcept {
    return item != nullptr && item != tombstone();
  }

  /// Owner only: moves bottom down over claimed (tombstone) slots, one index
  /// at a time with pop()'s protocol (a thief may be racing for the last
  /// index). Stops at a live entry or when the deque is empty.
  void trim() noexcept {
    T item = nullptr;
    for (;;) {
      std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
      if (b < top_.load(std::memory_order_relaxed)) return;
      // Only the owner stores items and tombstones: a live entry stays put (a
      // thief that won its index empties it later), a tombstone stays one
      // until the winner of its index empties it.
      if (live(buffer_[b & mask_].load(std::memory_order_relaxed))) return;
      if (!pop_index(item)) return;
    }
  }

  /// Owner only: takes the newest index out of the deque, racing the thieves
  /// for it if it is the last one. False if the deque was empty or a thief won
  /// that index; otherwise `item` is what its slot held (an entry, or null for
  /// a tombstone), and the slot is left empty.
  bool pop_index(T& item) noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
#ifdef WEFT_TSAN
    bottom_.exchange(b, std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_seq_cst);
#else
    bottom_.store(b, std::memory_order_relaxed);
    // seq_cst: the store of bottom and the load of top must not be reordered, or
    // the owner and a thief could both win the last index (store-load ordering).
    detail::fence(std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_relaxed);
#endif
    if (t > b) {  // empty (a thief took the last index meanwhile)
      bottom_.store(b + 1, std::memory_order_relaxed);
      return false;
    }
    if (t == b) {
      // Last index: race the thieves for it on top (the winner empties the slot).
      const bool won = top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                                    std::memory_order_relaxed);
      bottom_.store(b + 1, std::memory_order_relaxed);
      if (!won) return false;
    }
    item = empty_slot(b);
    return true;
  }

  /// Owner only, for an index it has won: the slot's item (null if the owner
  /// claimed it earlier), leaving the slot empty. Plain loads and stores
  /// suffice: only the owner claims, no thief touches a slot whose index it
  /// did not win, and the slot cannot hold a newer entry (push() refuses a
  /// slot that is not empty).
  T empty_slot(std::int64_t i) noexcept {
    detail::Atomic<T>& slot = buffer_[i & mask_];
    T item = slot.load(std::memory_order_relaxed);
    slot.store(nullptr, std::memory_order_relaxed);
    return live(item) ? item : nullptr;
  }

  alignas(kCacheLine) detail::Atomic<std::int64_t> top_{0};
  alignas(kCacheLine) detail::Atomic<std::int64_t> bottom_{0};
  alignas(kCacheLine) const std::int64_t mask_;
  std::unique_ptr<detail::Atomic<T>[]> buffer_;
  std::int64_t next_claim_ = 0;  ///< owner-only: the index after the last middle claim
};

}  // namespace weft::detail

// TimerWheel: a hierarchical timing wheel, one per worker, touched only by its
// owner (remote cancellations arrive through an inbox, timer_entry.hpp).
//
// | operation         | cost                                   |
// |-------------------|----------------------------------------|
// | insert            | O(1): one list push, one bit set        |
// | remove (cancel)   | O(1): one list unlink, maybe a bit clear |
// | next_expiration   | O(levels): one rotate + ctz per level   |
// | poll(now)         | O(expired + cascaded entries)           |
//
// 6 levels x 64 slots; level L slots are 64^L ms wide, so the wheel spans 64^6
// ms (about 2.2 years) at 1 ms resolution. An entry goes to the level of the
// highest base-64 digit in which its deadline differs from the current time;
// when time reaches the start of a slot above level 0, its entries cascade down
// (re-inserted relative to the new time), one level at a time. Deadlines beyond
// the span wait in the top level and are re-inserted until they come in range.
// An entry fires only when the wheel's time has reached its deadline tick, and
// deadline ticks are rounded up, so a timer never fires early.
#pragma once

#include <cstdint>
#include <optional>

#include "weft/detail/timer_entry.hpp"

namespace weft::detail {

class TimerWheel {
 public:
  static constexpr unsigned kLevels = 6;
  static constexpr unsigned kSlots = 64;
  static constexpr unsigned kSlotBits = 6;
  static constexpr std::uint64_t kSpan = 1ull << (kLevels * kSlotBits);  // 64^6 ms

  struct Expiration {
    unsigned level;
    unsigned slot;
    std::uint64_t deadline;  ///< tick at which the slot must be processed
  };

  /// Inserts a pending entry. Returns false (and does not insert) if its
  /// deadline tick is not after the wheel's current time: the caller fires it.
  bool insert(TimerEntry* e) noexcept;
  /// Unlinks a linked entry.
  void remove(TimerEntry* e) noexcept;
  /// The earliest slot that needs processing, if any entry is linked.
  std::optional<Expiration> next_expiration() const noexcept;
  /// Advances time to `now` (ticks), calling `due(e)` for each entry that left
  /// the wheel (it is unlinked; `due` decides whether it fires). `due` may
  /// insert and remove other entries.
  template <class Fire>
  void poll(std::uint64_t now, Fire&& due);

  std::uint64_t elapsed() const noexcept { return elapsed_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Removes every entry, calling `f(e)` for each (shutdown).
  template <class F>
  void clear(F&& f);

 private:
  /// A FIFO list: entries due in the same tick fire in the order they were
  /// armed (deadlines within the wheel's span, about 2.2 years; an entry
  /// beyond it is parked and re-inserted, after later ones).
  struct Slot {
    TimerEntry* head = nullptr;
    TimerEntry* tail = nullptr;
  };
  struct Level {
    std::uint64_t occupied = 0;
    Slot slots[kSlots];
  };

  static unsigned level_for(std::uint64_t elapsed, std::uint64_t when) noexcept;
  static std::uint64_t slot_width(unsigned level) noexcept { return 1ull << (level * kSlotBits); }
  void push(unsigned level, unsigned slot, TimerEntry* e) noexcept;
  TimerEntry* take_slot(unsigned level, unsigned slot) noexcept;

  std::uint64_t elapsed_ = 0;
  std::size_t size_ = 0;
  Level levels_[kLevels];
};

template <class Fire>
void TimerWheel::poll(std::uint64_t now, Fire&& due) {
  while (auto exp = next_expiration()) {
    if (exp->deadline > now) break;
    elapsed_ = exp->deadline;
    TimerEntry* list = take_slot(exp->level, exp->slot);
    // Detach the whole slot first: a callback may cancel an entry further down
    // this list, and an unlinked entry is never unlinked again.
    for (TimerEntry* e = list; e; e = e->next) {
      e->linked = false;
      --size_;
    }
    while (list) {
      TimerEntry* e = list;
      list = e->next;
      e->prev = e->next = nullptr;
      bool pending = e->state.load(std::memory_order_acquire) == TimerEntry::kPending;
      // Cascade an entry that is not due yet down a level; hand the rest back.
      if (!pending || e->deadline_ms <= elapsed_ || !insert(e)) due(e);
    }
  }
  if (now > elapsed_) elapsed_ = now;
}

template <class F>
void TimerWheel::clear(F&& f) {
  for (unsigned l = 0; l < kLevels; ++l) {
    for (unsigned s = 0; s < kSlots; ++s) {
      TimerEntry* e = take_slot(l, s);
      while (e) {
        TimerEntry* next = e->next;
        e->linked = false;
        e->prev = e->next = nullptr;
        --size_;
        f(e);
        e = next;
      }
    }
  }
}

}  // namespace weft::detail

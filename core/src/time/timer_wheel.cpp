#include "time/timer_wheel.hpp"

#include <bit>

namespace weft::detail {

unsigned TimerWheel::level_for(std::uint64_t elapsed, std::uint64_t when) noexcept {
  // The highest base-64 digit in which `when` differs from `elapsed`. Or-ing in
  // the low digit makes differences inside level 0 count as level 0.
  std::uint64_t masked = (elapsed ^ when) | (kSlots - 1);
  // Crossing a 64^6 boundary: the top level, whose slot arithmetic wraps correctly.
  if (masked >= kSpan) masked = kSpan - 1;
  unsigned significant = 63u - static_cast<unsigned>(std::countl_zero(masked));
  return significant / kSlotBits;
}

void TimerWheel::push(unsigned level, unsigned slot, TimerEntry* e) noexcept {
  Slot& s = levels_[level].slots[slot];
  e->next = nullptr;
  e->prev = s.tail;
  if (s.tail)
    s.tail->next = e;
  else
    s.head = e;
  s.tail = e;
  e->level = static_cast<std::uint8_t>(level);
  e->slot = static_cast<std::uint8_t>(slot);
  e->linked = true;
  levels_[level].occupied |= 1ull << slot;
  ++size_;
}

TimerEntry* TimerWheel::take_slot(unsigned level, unsigned slot) noexcept {
  Slot& s = levels_[level].slots[slot];
  TimerEntry* head = s.head;
  s.head = s.tail = nullptr;
  levels_[level].occupied &= ~(1ull << slot);
  return head;
}

bool TimerWheel::insert(TimerEntry* e) noexcept {
  if (e->deadline_ms <= elapsed_) return false;
  if (e->deadline_ms - elapsed_ >= kSpan) {
    // Beyond the span: park it in the top-level slot that comes round last and
    // re-insert it from there (its own slot could be the current one, which
    // would cascade it straight back).
    unsigned top = kLevels - 1;
    unsigned pos = static_cast<unsigned>((elapsed_ >> (top * kSlotBits)) & (kSlots - 1));
    push(top, (pos + kSlots - 1) & (kSlots - 1), e);
    return true;
  }
  unsigned level = level_for(elapsed_, e->deadline_ms);
  unsigned slot = static_cast<unsigned>((e->deadline_ms >> (level * kSlotBits)) & (kSlots - 1));
  push(level, slot, e);
  return true;
}

void TimerWheel::remove(TimerEntry* e) noexcept {
  Level& lv = levels_[e->level];
  Slot& s = lv.slots[e->slot];
  if (e->prev)
    e->prev->next = e->next;
  else
    s.head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    s.tail = e->prev;
  if (!s.head) lv.occupied &= ~(1ull << e->slot);
  e->prev = e->next = nullptr;
  e->linked = false;
  --size_;
}

std::optional<TimerWheel::Expiration> TimerWheel::next_expiration() const noexcept {
  if (size_ == 0) return std::nullopt;
  std::optional<Expiration> best;
  for (unsigned l = 0; l < kLevels; ++l) {
    std::uint64_t occupied = levels_[l].occupied;
    if (!occupied) continue;
    std::uint64_t width = slot_width(l);
    std::uint64_t range = width * kSlots;  // the span of the whole level
    unsigned pos = static_cast<unsigned>((elapsed_ / width) & (kSlots - 1));
    // The first occupied slot at or after the current position, wrapping.
    unsigned skip =
        static_cast<unsigned>(std::countr_zero(std::rotr(occupied, static_cast<int>(pos))));
    unsigned slot = (pos + skip) & (kSlots - 1);
    std::uint64_t level_start = elapsed_ & ~(range - 1);
    std::uint64_t deadline = level_start + slot * width;
    if (deadline < elapsed_) deadline += range;  // the slot comes round in the next lap
    if (!best || deadline < best->deadline) best = Expiration{l, slot, deadline};
  }
  return best;
}

}  // namespace weft::detail

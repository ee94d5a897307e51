// WorkerTimers: a worker's timer wheel plus the inbox through which other
// threads cancel its entries, and the conversion between the steady clock and
// wheel ticks (1 ms, counted from the runtime's start).
//
// Owner-only except push_remote(). Deadlines are rounded *up* to a tick and
// time *down*, so an entry never fires before its deadline.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "time/timer_wheel.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/chase_lev_deque.hpp"

namespace weft::detail {

class WorkerTimers {
 public:
  explicit WorkerTimers(std::int64_t start_ns) : start_ns_(start_ns) {}
  ~WorkerTimers();

  std::uint64_t ceil_tick(std::int64_t ns) const noexcept {
    if (ns <= start_ns_) return 0;
    return static_cast<std::uint64_t>((ns - start_ns_ + 999'999) / 1'000'000);
  }
  std::uint64_t floor_tick(std::int64_t ns) const noexcept {
    if (ns <= start_ns_) return 0;
    return static_cast<std::uint64_t>((ns - start_ns_) / 1'000'000);
  }
  std::int64_t tick_ns(std::uint64_t tick) const noexcept {
    return start_ns_ + static_cast<std::int64_t>(tick) * 1'000'000;
  }

  /// Owner: links a new entry; false if already due (the caller fires it).
  bool insert(TimerEntry* e) noexcept { return wheel_.insert(e); }
  /// Owner: cancels a linked entry whose state the caller already moved to kCancelled.
  void remove_cancelled(TimerEntry* e) noexcept;
  /// Any thread: hands a cancelled entry to the owner (the caller added a
  /// reference). Lock-free. Returns true if the inbox was empty (the caller
  /// then makes sure the owner looks soon).
  bool push_remote(TimerEntry* e) noexcept;
  /// Owner: unlinks the entries cancelled from other threads.
  void drain_inbox() noexcept;
  /// Owner: fires everything due at `now_ns`.
  void poll(std::int64_t now_ns) noexcept;
  /// Owner: nanoseconds from `now_ns` until the wheel next needs attention (0
  /// if overdue), or -1 if it is empty.
  std::int64_t timeout_ns(std::int64_t now_ns) const noexcept;

  bool empty() const noexcept { return wheel_.empty(); }
  bool inbox_empty() const noexcept { return inbox_.load(std::memory_order_relaxed) == nullptr; }
  std::size_t size() const noexcept { return wheel_.size(); }

 private:
  void leave_wheel(TimerEntry* e) noexcept;

  const std::int64_t start_ns_;
  TimerWheel wheel_;
  alignas(kCacheLine) detail::Atomic<TimerEntry*> inbox_{nullptr};
};

}  // namespace weft::detail

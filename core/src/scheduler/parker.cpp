#include "scheduler/parker.hpp"

#include "sys/futex.hpp"
#include "weft/detail/driver.hpp"

namespace weft::detail {

void Parker::park(std::int64_t timeout_ns) {
  std::uint32_t expected = kNotified;
  // acquire: whatever the unparker published before unpark() is visible after.
  if (state_.compare_exchange_strong(expected, kEmpty, std::memory_order_acquire)) return;
  expected = kEmpty;
  if (!state_.compare_exchange_strong(expected, kParked, std::memory_order_acq_rel)) {
    state_.exchange(kEmpty, std::memory_order_acquire);  // it was kNotified; consume it
    return;
  }
  futex_wait(&state_, kParked, timeout_ns);
  // Woken, timed out or spurious: consume a notification if there is one.
  state_.exchange(kEmpty, std::memory_order_acquire);
}

void Parker::park_on_driver(std::int64_t timeout_ns) {
  std::uint32_t expected = kEmpty;
  if (!state_.compare_exchange_strong(expected, kParkedDriver, std::memory_order_acq_rel)) {
    state_.exchange(kEmpty, std::memory_order_acquire);  // notified before we slept
    driver_.turn(0);  // still look at I/O once: we hold the driver
    return;
  }
  driver_.turn(timeout_ns);
  state_.exchange(kEmpty, std::memory_order_acquire);
}

void Parker::unpark() noexcept {
  // acq_rel: release publishes the work pushed before this call; acquire orders
  // the read of which mechanism the owner sleeps on.
  std::uint32_t prev = state_.exchange(kNotified, std::memory_order_acq_rel);
  if (prev == kParked)
    futex_wake(&state_, 1);
  else if (prev == kParkedDriver)
    driver_.wake();
}

}  // namespace weft::detail

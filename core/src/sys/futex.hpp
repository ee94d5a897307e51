// Thin wrappers over the Linux futex system call on a 32-bit atomic.
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::detail {

/// Sleeps while `*word == expected`, at most `timeout_ns` (< 0: no limit).
/// Returns on wake-up, timeout, signal or spuriously: callers re-check.
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                std::int64_t timeout_ns) noexcept;
/// Wakes up to `count` threads sleeping on `word`.
void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept;

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC, the clock behind std::chrono::steady_clock).
std::int64_t monotonic_ns() noexcept;

}  // namespace weft::detail

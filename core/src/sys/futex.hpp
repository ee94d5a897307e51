// futex wait/wake on a 32-bit atomic: how core/ and sync/ block a thread. In
// the model-checking build (WEFT_MODEL) these go to the model scheduler, which
// blocks and wakes model threads instead, so parking and every timed wait are
// part of an explored schedule.
#pragma once

#include <cstdint>

#include "sys/clock.hpp"
#include "weft/detail/atomic.hpp"

namespace weft::detail {

/// Sleeps while `*word == expected`, at most `timeout_ns` (< 0: no limit).
/// Returns on wake-up, timeout, signal or spuriously: callers re-check.
void futex_wait(Atomic<std::uint32_t>* word, std::uint32_t expected,
                std::int64_t timeout_ns) noexcept;
/// Wakes up to `count` threads sleeping on `word`.
void futex_wake(Atomic<std::uint32_t>* word, int count) noexcept;

}  // namespace weft::detail

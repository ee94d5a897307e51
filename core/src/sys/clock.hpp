// The clocks and sleeping, as core/ and sync/ read them. In the
// model-checking build (WEFT_MODEL) they read and wait on the model
// scheduler's virtual time (weft/model.hpp).
#pragma once

#include <cstdint>

namespace weft::detail {

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC, the clock behind std::chrono::steady_clock).
std::int64_t monotonic_ns() noexcept;

/// Puts the calling thread to sleep for `ns` nanoseconds.
void sleep_ns(std::int64_t ns) noexcept;

}  // namespace weft::detail

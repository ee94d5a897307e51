// The clocks and sleeping, as core/ and sync/ read them. In the
// model-checking build (WEFT_MODEL) they read and wait on the model
// scheduler's virtual time (weft/model.hpp).
#pragma once

#include <time.h>

#include <cstdint>

namespace weft::detail {

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC, the clock behind std::chrono::steady_clock).
std::int64_t monotonic_ns() noexcept;

/// CLOCK_MONOTONIC_COARSE in nanoseconds: cheaper, and up to one of its ticks
/// (coarse_resolution_ns()) behind monotonic_ns().
#ifndef WEFT_MODEL
inline std::int64_t coarse_monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
#else
std::int64_t coarse_monotonic_ns() noexcept;
#endif
std::int64_t coarse_resolution_ns() noexcept;

/// Puts the calling thread to sleep for `ns` nanoseconds.
void sleep_ns(std::int64_t ns) noexcept;

}  // namespace weft::detail

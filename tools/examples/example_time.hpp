// Shared by the seed twins: the seed's sleeps, scaled by the environment
// variable WEFT_EXAMPLE_TIME_SCALE (0.05 in tests) so they run fast.
#pragma once

#include <chrono>
#include <cstdlib>

namespace example {

inline double time_scale() {
  static const double scale = [] {
    const char* s = std::getenv("WEFT_EXAMPLE_TIME_SCALE");
    double v = s ? std::atof(s) : 1.0;
    return v > 0 ? v : 1.0;
  }();
  return scale;
}

/// `seconds` of the Python original, scaled.
inline std::chrono::nanoseconds secs(double seconds) {
  return std::chrono::nanoseconds(static_cast<long long>(seconds * time_scale() * 1e9));
}

}  // namespace example

// model::Clock: weft::Clock in the model-checking build (WEFT_MODEL). It reads
// the model scheduler's virtual time, which stands still while any thread can
// run and jumps to the next deadline when every thread waits (weft/model.hpp).
#pragma once

#include <chrono>
#include <cstdint>

namespace weft::detail::model {

/// Virtual monotonic time of the running model execution, in nanoseconds.
std::int64_t now_ns() noexcept;

struct Clock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<Clock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept { return time_point(duration(now_ns())); }
};

}  // namespace weft::detail::model

// The few debug-mode checks that live in inline code (weft/debug.hpp explains
// debug mode). Each costs one relaxed load of a global counter when no runtime
// in the process has debug mode on.
#pragma once

#include <atomic>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

/// Number of runtimes in this process with debug mode on.
inline detail::Atomic<int> debug_runtimes{0};

inline bool debug_reports_enabled() noexcept {
  return debug_runtimes.load(std::memory_order_relaxed) > 0;
}

/// "coroutine ... was never awaited": a Task frame destroyed before it ran.
void report_never_awaited(void* frame) noexcept;

}  // namespace weft::detail

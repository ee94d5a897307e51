// spin_until(ready): waits for a condition that another thread makes true
// within a few instructions (a ring slot whose owner is between its ticket and
// its store). Busy-waits with the CPU's pause hint first, then gives the core
// away (sched_yield) so that a preempted owner can finish; in the model build
// every round is a yield point, so that the explored schedule lets the owner
// run (PCT would otherwise starve it).
#pragma once

#include <sched.h>

#ifdef WEFT_MODEL
#include "weft/model.hpp"
#endif

namespace weft::detail {

inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

template <class Ready>
inline void spin_until(Ready&& ready) noexcept {
  for (unsigned round = 0; !ready(); ++round) {
#ifdef WEFT_MODEL
    weft::model::yield_point();
#else
    if (round < 64)
      cpu_pause();
    else
      sched_yield();
#endif
  }
}

}  // namespace weft::detail

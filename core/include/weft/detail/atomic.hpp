// The one door through which core/ and sync/ touch memory shared between
// threads: weft::detail::Atomic<T> and weft::detail::fence().
//
// In a normal build they *are* std::atomic<T> and std::atomic_thread_fence (an
// alias and an inline call), so they cost nothing: the machine code of
// libweft_core and libweft_sync is the same as with std::atomic written out
// (bench/RESULTS.md, "model layer").
//
// In the model-checking build (WEFT_MODEL, CMake option WEFT_MODEL=ON, preset
// `model`) every operation first passes a scheduling point of the model
// scheduler (weft/model.hpp), which decides which thread runs next. Together
// with the futex, clock and thread wrappers in core/src/sys/, that lets a
// test explore the interleavings of weft's concurrent protocols one thread at
// a time, replayably from a seed. The model explores sequentially consistent
// interleavings only: the memory orders written beside each operation are not
// checked by it, and rest on the argument written next to them (and on TSan).
#pragma once

#include <atomic>

#ifdef WEFT_MODEL
#include "weft/detail/model_atomic.hpp"
#endif

namespace weft::detail {

#ifdef WEFT_MODEL
template <class T>
using Atomic = model::Atomic<T>;
using model::fence;
#else
template <class T>
using Atomic = std::atomic<T>;
/// std::atomic_thread_fence, through the model layer.
inline void fence(std::memory_order order) noexcept {
  std::atomic_thread_fence(order);
}
#endif

}  // namespace weft::detail

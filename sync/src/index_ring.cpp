// IndexRing construction (see weft/detail/index_ring.hpp).
#include "weft/detail/index_ring.hpp"

#include <bit>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

namespace {
unsigned log2_exact(std::uint64_t v) noexcept {
  return static_cast<unsigned>(std::countr_zero(v));
}
}  // namespace

IndexRing::IndexRing(std::uint64_t n, bool full)
    : order_(log2_exact(2 * n)),
      shift_(order_ + 1),
      size_(2 * n),
      empty_(2 * n - 1),
      safe_(std::uint64_t{1} << order_),
      lines_(2 * n >= 16 ? 2 * n / 8 : 1),
      line_shift_(log2_exact(2 * n >= 16 ? 2 * n / 8 : 1)),
      entries_(new detail::Atomic<std::uint64_t>[2 * n]) {
  // Every entry starts empty and safe in cycle 0; the tickets start in cycle 1.
  for (std::uint64_t i = 0; i < size_; ++i)
    entries_[i].store(safe_ | empty_, std::memory_order_relaxed);
  head_.store(size_, std::memory_order_relaxed);
  tail_.store(size_, std::memory_order_relaxed);
  if (full)
    for (std::uint64_t i = 0; i < n; ++i)
      enqueue(i);
}

}  // namespace weft::detail

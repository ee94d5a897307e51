// A bounded Chase-Lev work-stealing deque of pointers.
//
// | operation | who          | end    | cost                          | progress  |
// |-----------|--------------|--------|-------------------------------|-----------|
// | push      | owner        | bottom | 1 release store (+fence)      | wait-free |
// | pop       | owner        | bottom | 1 seq_cst fence, CAS if last  | wait-free |
// | steal     | any thread   | top    | 1 seq_cst fence, 1 CAS        | lock-free |
//
// pop() is LIFO, steal() FIFO. A worker that wants FIFO order for its own queue
// (the yield queue) calls steal() on it as well.
//
// Memory orders follow Lê, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
// Work-Stealing for Weak Memory Models" (PPoPP 2013), figure 1, for a buffer that
// never grows (a full deque refuses the push and the caller overflows to the
// global queue). ThreadSanitizer does not model standalone fences, so under
// WEFT_TSAN each fence is folded into the neighbouring access as a seq_cst
// operation, which is at least as strong.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
class ChaseLevDeque {
  static_assert(std::is_pointer_v<T>, "ChaseLevDeque holds pointers");

 public:
  /// `capacity` must be a power of two.
  explicit ChaseLevDeque(std::size_t capacity)
      : mask_(static_cast<std::int64_t>(capacity) - 1),
        buffer_(std::make_unique<detail::Atomic<T>[]>(capacity)) {}

  std::size_t capacity() const noexcept { return static_cast<std::size_t>(mask_ + 1); }

  /// Owner only. Returns false when full.
  bool push(T item) noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    // acquire: the slot we overwrite was read by the thief that moved top past it.
    std::int64_t t = top_.load(std::memory_order_acquire);
    if (b - t > mask_) return false;
    buffer_[b & mask_].store(item, std::memory_order_relaxed);
#ifdef WEFT_TSAN
    bottom_.store(b + 1, std::memory_order_release);
#else
    // release: a thief that sees the new bottom also sees the item.
    detail::fence(std::memory_order_release);
    bottom_.store(b + 1, std::memory_order_relaxed);
#endif
    return true;
  }

  /// Owner only. Newest item first; nullptr when empty.
  T pop() noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
#ifdef WEFT_TSAN
    bottom_.exchange(b, std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_seq_cst);
#else
    bottom_.store(b, std::memory_order_relaxed);
    // seq_cst: the store of bottom and the load of top must not be reordered, or
    // the owner and a thief could both take the last item (store-load ordering).
    detail::fence(std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_relaxed);
#endif
    T item = nullptr;
    if (t <= b) {
      item = buffer_[b & mask_].load(std::memory_order_relaxed);
      if (t == b) {
        // Last item: race the thieves for it on top.
        if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed))
          item = nullptr;
        bottom_.store(b + 1, std::memory_order_relaxed);
      }
    } else {
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return item;
  }

  /// Any thread. Oldest item first; nullptr when empty or when it lost a race
  /// (the caller may retry or move on to another victim).
  T steal() noexcept {
#ifdef WEFT_TSAN
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_seq_cst);
#else
    // acquire on top, then a seq_cst fence: the load of bottom must not be
    // hoisted above the load of top (pairs with the fence in pop()).
    std::int64_t t = top_.load(std::memory_order_acquire);
    detail::fence(std::memory_order_seq_cst);
    // acquire: pairs with the release in push() so the item is visible.
    std::int64_t b = bottom_.load(std::memory_order_acquire);
#endif
    if (t >= b) return nullptr;
    T item = buffer_[t & mask_].load(std::memory_order_relaxed);
    // seq_cst: decides the race with other thieves and with pop() of the last item.
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed))
      return nullptr;
    return item;
  }

  /// Approximate number of items (exact for the owner when nobody steals).
  std::size_t size() const noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }
  bool empty() const noexcept {
    return size() == 0;
  }

 private:
  alignas(kCacheLine) detail::Atomic<std::int64_t> top_{0};
  alignas(kCacheLine) detail::Atomic<std::int64_t> bottom_{0};
  alignas(kCacheLine) const std::int64_t mask_;
  std::unique_ptr<detail::Atomic<T>[]> buffer_;
};

}  // namespace weft::detail

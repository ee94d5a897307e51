// FifoStorage<T>: the item storage of weft::Queue. A bounded queue of up to
// kMaxRingCapacity items keeps them in a preallocated ring (ring_storage.hpp:
// no allocation per item, one fetch_add per push or pop, not lock-free: a push
// or pop may wait for an older ticket's operation in flight); an unbounded or larger queue keeps
// them in a Michael-Scott list (ms_queue.hpp: one node per item, lock-free, hazard pointers). The
// choice is made once, at construction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "weft/detail/ms_queue.hpp"
#include "weft/detail/ring_storage.hpp"

namespace weft::detail {

/// Largest maxsize served by a preallocated ring (an 8-byte sequence number
/// per slot on top of the item, padded to its alignment): 4096.
inline constexpr std::int64_t kMaxRingCapacity = 4096;

template <class T>
class FifoStorage {
 public:
  /// An item on its way in: held as is for the ring, in its node for the list.
  class Prepared {
   public:
    Prepared() = default;
    explicit operator bool() const noexcept { return item_.has_value() || bool(node_); }
    T* get() noexcept { return item_ ? &*item_ : node_.get(); }

   private:
    friend class FifoStorage;
    std::optional<T> item_;
    typename MsQueue<T>::Prepared node_;
  };

  /// `capacity` 0: unbounded.
  explicit FifoStorage(std::size_t capacity) {
    if (capacity > 0 && capacity <= static_cast<std::size_t>(kMaxRingCapacity))
      ring_ = std::make_unique<RingStorage<T>>(capacity);
    else
      list_ = std::make_unique<MsQueue<T>>();
  }

  /// Throws std::bad_alloc for the list (nothing changed, the item untouched).
  Prepared prepare(T&& item) {
    Prepared p;
    if (ring_)
      p.item_.emplace(std::move(item));
    else
      p.node_ = MsQueue<T>::prepare(std::move(item));
    return p;
  }
  void push(Prepared&& p) noexcept {
    if (ring_)
      ring_->push(std::move(*p.item_));
    else
      list_->push(std::move(p.node_));
  }
  T pop() noexcept { return ring_ ? ring_->pop() : list_->pop(); }

 private:
  std::unique_ptr<RingStorage<T>> ring_;
  std::unique_ptr<MsQueue<T>> list_;
};

}  // namespace weft::detail

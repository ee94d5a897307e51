// PreparedNode: an item on its way into a linked storage (TreiberStack:
// LifoQueue): the heap node that will be linked in, already holding the
// item, so the push itself cannot fail or allocate.
#pragma once

#include <new>
#include <utility>

namespace weft::detail {

/// Owns a `Node` (which has `unsigned char buf[]` holding a T and `T* value()`)
/// and the T constructed in it. Move-only.
template <class Node, class T>
class PreparedNode {
 public:
  PreparedNode() = default;
  explicit PreparedNode(T&& item) : node_(new Node) { ::new (node_->buf) T(std::move(item)); }
  PreparedNode(PreparedNode&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
  PreparedNode& operator=(PreparedNode&& o) noexcept {
    std::swap(node_, o.node_);
    return *this;
  }
  ~PreparedNode() {
    if (node_) {
      node_->value()->~T();
      delete node_;
    }
  }
  explicit operator bool() const noexcept { return node_ != nullptr; }
  T* get() const noexcept { return node_->value(); }
  /// Gives up the node (and its item) to the storage that links it in.
  Node* release() noexcept { return std::exchange(node_, nullptr); }

 private:
  Node* node_ = nullptr;
};

}  // namespace weft::detail

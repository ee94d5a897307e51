// InputBuffer: a connection's unparsed input bytes (one contiguous block that
// is compacted and grown on demand up to a maximum, and shrunk back to its
// first size when it is empty and the connection waits for more).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace weft::http::detail {

class InputBuffer {
 public:
  InputBuffer(std::size_t initial, std::size_t max)
      : data_(new char[initial]), cap_(initial), initial_(initial), max_(std::max(initial, max)) {}
  std::string_view view() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
  bool empty() const noexcept { return begin_ == end_; }
  std::size_t capacity() const noexcept { return cap_; }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  /// Compacts / grows (up to max) so that at least `want` bytes fit at the end, if possible.
  void make_room(std::size_t want) {
    if (cap_ - end_ >= want) return;
    if (begin_ > 0) {
      std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (cap_ - end_ >= want || cap_ >= max_) return;
    std::size_t cap = std::min(std::max(cap_ * 2, end_ + want), max_);
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), data_.get(), end_);
    data_ = std::move(bigger);
    cap_ = cap;
  }
  /// Gives a grown, empty buffer's memory back (an idle connection keeps
  /// only its first size).
  void shrink_if_empty() {
    if (!empty() || cap_ == initial_) return;
    data_.reset(new char[initial_]);
    cap_ = initial_;
  }
  char* tail() noexcept { return data_.get() + end_; }
  std::size_t room() const noexcept { return cap_ - end_; }
  void commit(std::size_t n) noexcept { end_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_;
  std::size_t initial_;
  std::size_t max_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace weft::http::detail

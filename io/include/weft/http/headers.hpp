// HeaderMap: the header fields of an HTTP request or response, in arrival
// order, with case-insensitive lookup. Shared by the server and the client.
//
//   weft::http::HeaderMap h;
//   h.add("Content-Type", "text/plain");
//   if (auto v = h.get("content-type")) ...       // case-insensitive
//   for (const auto& [name, value] : h) ...
//
// Storage: the first kInline fields live inside the map (no allocation for
// small responses), constructed as they are first used; clear() keeps every
// string's capacity, so a map reused for request after request (the server
// does) stops allocating once warm.
// Lookups are linear: header counts are small (the server caps them).
//
// Not thread-safe (a value type).
#pragma once

#include <cstddef>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::http {

struct Header {
  std::string name;
  std::string value;
};

/// ASCII case-insensitive equality (header names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

class HeaderMap {
 public:
  static constexpr std::size_t kInline = 4;

  HeaderMap() noexcept {}
  HeaderMap(const HeaderMap& o) : more_(o.more_), size_(o.size_) {
    for (; built_ < inline_used(); ++built_)
      new (&inline_[built_].h) Header(o.inline_[built_].h);
  }
  /// Moves only the fields in use (a response's map moves on its way out of
  /// the handler).
  HeaderMap(HeaderMap&& o) noexcept : more_(std::move(o.more_)), size_(o.size_) {
    for (; built_ < inline_used(); ++built_)
      new (&inline_[built_].h) Header(std::move(o.inline_[built_].h));
    o.size_ = 0;
  }
  HeaderMap& operator=(const HeaderMap& o) {
    if (this != &o) {
      HeaderMap copy(o);
      *this = std::move(copy);
    }
    return *this;
  }
  HeaderMap& operator=(HeaderMap&& o) noexcept {
    if (this != &o) {
      const std::size_t n = o.inline_used();
      for (std::size_t i = 0; i < n; ++i) {
        if (i < built_) {
          inline_[i].h = std::move(o.inline_[i].h);
        } else {
          new (&inline_[i].h) Header(std::move(o.inline_[i].h));
          ++built_;
        }
      }
      more_ = std::move(o.more_);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~HeaderMap() {
    for (std::size_t i = 0; i < built_; ++i)
      inline_[i].h.~Header();
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Removes every field (keeps the storage for reuse).
  void clear() noexcept { size_ = 0; }

  /// Appends a field (duplicates are kept, in order).
  void add(std::string_view name, std::string_view value);
  /// Replaces every field named `name` by one with `value`.
  void set(std::string_view name, std::string_view value);
  /// The first value of `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept { return get(name).has_value(); }
  /// Number of fields named `name`.
  std::size_t count(std::string_view name) const noexcept;
  /// Removes every field named `name`; returns how many.
  std::size_t remove(std::string_view name);

  Header& operator[](std::size_t i) noexcept {
    return i < kInline ? inline_[i].h : more_[i - kInline];
  }
  const Header& operator[](std::size_t i) const noexcept {
    return i < kInline ? inline_[i].h : more_[i - kInline];
  }

  template <class Map, class Ref>
  class Iter {
   public:
    Iter(Map* m, std::size_t i) noexcept : m_(m), i_(i) {}
    Ref operator*() const noexcept { return (*m_)[i_]; }
    auto* operator->() const noexcept { return &(*m_)[i_]; }
    Iter& operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator==(const Iter& o) const noexcept { return i_ == o.i_; }

   private:
    Map* m_;
    std::size_t i_;
  };
  using iterator = Iter<HeaderMap, Header&>;
  using const_iterator = Iter<const HeaderMap, const Header&>;
  iterator begin() noexcept { return {this, 0}; }
  iterator end() noexcept { return {this, size_}; }
  const_iterator begin() const noexcept { return {this, 0}; }
  const_iterator end() const noexcept { return {this, size_}; }

 private:
  /// Inline slots holding fields now.
  std::size_t inline_used() const noexcept { return size_ < kInline ? size_ : kInline; }
  /// The inline fields, constructed on first use (a map with one field
  /// builds one Header, not kInline of them).
  union Slot {
    Header h;
    Slot() noexcept {}
    ~Slot() {}
  };
  Slot inline_[kInline];
  std::size_t built_ = 0;     // inline slots constructed (kept for reuse after clear())
  std::vector<Header> more_;  // fields kInline.. (objects past size_ are kept for reuse)
  std::size_t size_ = 0;
};

}  // namespace weft::http

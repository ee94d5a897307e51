// HeaderMap and the shared HTTP syntax helpers.
#include "weft/http/headers.hpp"

#include "weft/http/syntax.hpp"

#include <array>
#include <cstdint>

namespace weft::http {

namespace {
inline unsigned char lower(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  if (size_ < kInline) {
    if (size_ == built_) {
      new (&inline_[size_].h) Header{std::string(name), std::string(value)};
      ++built_;
      ++size_;
      return;
    }
  } else if (more_.size() <= size_ - kInline) {
    more_.emplace_back();
  }
  Header& h = (*this)[size_];
  // clear() + append(): reuses the slot's capacity, and skips assign()'s
  // aliasing checks (the pieces never point into this map's own strings).
  h.name.clear();
  h.name.append(name.data(), name.size());
  h.value.clear();
  h.value.append(value.data(), value.size());
  ++size_;
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  for (std::size_t i = 0; i < size_; ++i) {
    if (iequals((*this)[i].name, name)) {
      (*this)[i].value.assign(value);
      // Remove later duplicates.
      std::size_t out = i + 1;
      for (std::size_t j = i + 1; j < size_; ++j) {
        if (iequals((*this)[j].name, name)) continue;
        if (out != j) std::swap((*this)[out], (*this)[j]);
        ++out;
      }
      size_ = out;
      return;
    }
  }
  add(name, value);
}

std::optional<std::string_view> HeaderMap::get(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < size_; ++i)
    if (iequals((*this)[i].name, name)) return std::string_view((*this)[i].value);
  return std::nullopt;
}

std::size_t HeaderMap::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < size_; ++i)
    if (iequals((*this)[i].name, name)) ++n;
  return n;
}

std::size_t HeaderMap::remove(std::string_view name) {
  std::size_t out = 0;
  for (std::size_t j = 0; j < size_; ++j) {
    if (iequals((*this)[j].name, name)) continue;
    if (out != j) std::swap((*this)[out], (*this)[j]);
    ++out;
  }
  std::size_t removed = size_ - out;
  size_ = out;
  return removed;
}

namespace syntax {

namespace {

// Character classes, one table lookup per byte on the parsers' hot paths.
constexpr std::uint8_t kTchar = 1;       // RFC 9110 5.6.2 tchar
constexpr std::uint8_t kFieldValue = 2;  // VCHAR, obs-text, SP, HTAB

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if ((c >= 0x20 && c != 0x7f) || c == '\t') t[static_cast<std::size_t>(c)] |= kFieldValue;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      t[static_cast<std::size_t>(c)] |= kTchar;
  }
  for (char c : std::string_view("!#$%&'*+-.^_`|~"))
    t[static_cast<unsigned char>(c)] |= kTchar;
  return t;
}
constexpr std::array<std::uint8_t, 256> kClasses = make_classes();

}  // namespace

bool is_tchar(unsigned char c) noexcept {
  return kClasses[c] & kTchar;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  std::uint8_t all = kTchar;
  for (char c : s)
    all &= kClasses[static_cast<unsigned char>(c)];
  return all;
}

bool is_field_value(std::string_view s) noexcept {
  std::uint8_t all = kFieldValue;
  for (char c : s)
    all &= kClasses[static_cast<unsigned char>(c)];
  return all;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool split_field_line(std::string_view line, std::string_view& name,
                      std::string_view& value) noexcept {
  // The name's characters up to the colon, validated on the way (a space or
  // tab before the colon, or at the start: obs-fold, is not a tchar).
  std::size_t colon = 0;
  while (colon < line.size() && (kClasses[static_cast<unsigned char>(line[colon])] & kTchar))
    ++colon;
  if (colon == 0 || colon == line.size() || line[colon] != ':') return false;
  name = line.substr(0, colon);
  value = trim_ows(line.substr(colon + 1));
  return is_field_value(value);
}

std::optional<std::uint64_t> parse_content_length(std::string_view s) noexcept {
  if (s.empty() || s.size() > 18) return std::nullopt;  // 18 digits < 2^63
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

bool list_contains(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = trim_ows(list.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view list_last(std::string_view list) noexcept {
  std::size_t comma = list.rfind(',');
  return trim_ows(comma == std::string_view::npos ? list : list.substr(comma + 1));
}

}  // namespace syntax
}  // namespace weft::http

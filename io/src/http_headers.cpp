// HeaderMap and the shared HTTP syntax helpers.
#include "weft/http/headers.hpp"

#include "weft/http/syntax.hpp"

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
  if (size_ >= kInline && more_.size() <= size_ - kInline) more_.emplace_back();
  Header& h = (*this)[size_];
  h.name.assign(name);  // reuses the slot's capacity
  h.value.assign(value);
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

bool is_tchar(unsigned char c) noexcept {
  // "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT
  // / ALPHA
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  return true;
}

bool is_field_value(std::string_view s) noexcept {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
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
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  name = line.substr(0, colon);
  if (!is_token(name)) return false;  // also rejects "Name :" and obs-fold lines
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

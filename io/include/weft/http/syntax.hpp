// HTTP/1.1 syntax pieces (RFC 9110 / 9112) shared by the request parser, the
// response parser of the client and the chunked decoder: character classes,
// field-line splitting, Content-Length and token-list parsing. Pure functions,
// no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace weft::http::syntax {

/// tchar (RFC 9110 5.6.2): the characters of a token (method, field name).
bool is_tchar(unsigned char c) noexcept;
bool is_token(std::string_view s) noexcept;
/// A field value's characters: VCHAR, obs-text, SP, HTAB (no other controls).
bool is_field_value(std::string_view s) noexcept;
/// Strips optional whitespace (SP / HTAB) at both ends.
std::string_view trim_ows(std::string_view s) noexcept;

/// Splits "Name: value" (the line without its CRLF). False if the line is not
/// a valid field line: empty or non-token name, whitespace before the colon,
/// a line starting with whitespace (obs-fold), control characters in the value.
bool split_field_line(std::string_view line, std::string_view& name,
                      std::string_view& value) noexcept;

/// 1*DIGIT that fits in 63 bits; nullopt otherwise (signs, spaces, lists, overflow).
std::optional<std::uint64_t> parse_content_length(std::string_view s) noexcept;

/// True if the comma-separated list `list` contains `token` (case-insensitive),
/// as in "Connection: keep-alive, Upgrade".
bool list_contains(std::string_view list, std::string_view token) noexcept;
/// The last element of a comma-separated list, trimmed ("gzip, chunked" -> "chunked").
std::string_view list_last(std::string_view list) noexcept;

/// Splits a message head (up to and including its empty line) into lines,
/// each without its line end (CRLF, or a bare LF as RFC 9112 2.2 allows).
class HeadLines {
 public:
  explicit HeadLines(std::string_view head) noexcept : head_(head) {}
  /// Sets `line` to the next line. Returns 1 for a line, 0 for the empty line
  /// that ends the head, -1 when the line holds a bare CR (a request smuggling
  /// vector: callers reject the message).
  int next(std::string_view& line) noexcept {
    std::size_t nl = head_.find('\n', at_);
    line = head_.substr(at_, nl - at_);
    at_ = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return -1;
    return line.empty() ? 0 : 1;
  }

 private:
  std::string_view head_;
  std::size_t at_ = 0;
};

}  // namespace weft::http::syntax

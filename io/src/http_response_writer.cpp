// Response serialisation: status line, the handler's fields (validated),
// Content-Length (or chunked framing on request), a cached Date, Connection;
// then the body.
#include "http_response_writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "weft/http/syntax.hpp"

namespace weft::http::detail {
namespace {

/// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", rebuilt at most once a second
/// per thread (RFC 9110 6.6.1: an origin server with a clock sends Date).
std::string_view date_line() {
  struct Cache {
    std::time_t second = -1;
    char text[64];
    std::size_t len = 0;
  };
  thread_local Cache c;
  std::time_t now = std::time(nullptr);
  if (now != c.second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    c.len = std::strftime(c.text, sizeof c.text, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    c.second = now;
  }
  return {c.text, c.len};
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

/// "HTTP/1.1 NNN Reason\r\n" for every status 100-999, built once (the
/// reason phrases are at most 31 characters: a line fits in 48 bytes).
class StatusLines {
 public:
  StatusLines() {
    for (int s = 100; s < 1000; ++s) {
      Line& l = lines_[static_cast<std::size_t>(s - 100)];
      const std::string_view reason = reason_phrase(s);
      int n = std::snprintf(l.text, sizeof l.text, "HTTP/1.1 %d %.*s\r\n", s,
                            static_cast<int>(reason.size()), reason.data());
      l.len = static_cast<std::uint8_t>(std::min<int>(n, sizeof l.text - 1));
    }
  }
  std::string_view get(int status) const noexcept {
    const Line& l = lines_[static_cast<std::size_t>(status - 100)];
    return {l.text, l.len};
  }

 private:
  struct Line {
    char text[48];
    std::uint8_t len;
  };
  std::array<Line, 900> lines_;
};

/// The status line of `status` (100-999).
std::string_view status_line(int status) {
  static const StatusLines lines;
  return lines.get(status);
}

void append_status_line(std::string& out, int status) {
  out.append(status_line(status));
}

enum class Framing : std::uint8_t { none, content_length, transfer_encoding, date, connection };

/// The framing fields are the server's (it computes them from the body);
/// which one `name` is, if any. One comparison at most: by length first.
Framing framing_field(std::string_view name) noexcept {
  switch (name.size()) {
    case 4:
      return iequals(name, "Date") ? Framing::date : Framing::none;
    case 10:
      return iequals(name, "Connection") ? Framing::connection : Framing::none;
    case 14:
      return iequals(name, "Content-Length") ? Framing::content_length : Framing::none;
    case 17:
      return iequals(name, "Transfer-Encoding") ? Framing::transfer_encoding : Framing::none;
    default:
      return Framing::none;
  }
}

/// Writes pieces into a string grown once to their total size.
class Writer {
 public:
  Writer(std::string& out, std::size_t total) : out_(out), at_(out.size()) {
    out_.resize(at_ + total);
    p_ = out_.data() + at_;
  }
  void put(std::string_view s) noexcept {
    const std::size_t n = s.size();
    if (n >= 8 && n <= 16) {
      // The usual field name or value: two overlapping 8-byte moves
      // instead of a call to memcpy.
      std::uint64_t a, b;
      std::memcpy(&a, s.data(), 8);
      std::memcpy(&b, s.data() + n - 8, 8);
      std::memcpy(p_, &a, 8);
      std::memcpy(p_ + n - 8, &b, 8);
    } else {
      std::memcpy(p_, s.data(), n);
    }
    p_ += n;
  }
  void put_number(std::uint64_t v) noexcept {
    auto r = std::to_chars(p_, p_ + 20, v);
    p_ = r.ptr;
  }
  /// Gives back what was reserved and not written.
  ~Writer() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }

 private:
  std::string& out_;
  std::size_t at_;
  char* p_;
};

/// The body in chunks of kChunk bytes, then the last chunk (no trailers).
void append_chunked(std::string& out, std::string_view body) {
  constexpr std::size_t kChunk = 4096;
  for (std::size_t at = 0; at < body.size(); at += kChunk) {
    std::size_t n = std::min(kChunk, body.size() - at);
    char buf[20];
    auto r = std::to_chars(buf, buf + sizeof buf, n, 16);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
    out.append("\r\n");
    out.append(body.substr(at, n));
    out.append("\r\n");
  }
  out.append("0\r\n\r\n");
}

bool valid_response(const Response& r) noexcept {
  if (r.status < 100 || r.status > 999) return false;
  for (const Header& h : r.headers)
    if (!syntax::is_token(h.name) || !syntax::is_field_value(h.value)) return false;
  return true;
}

}  // namespace

Appended append_response(std::string& out, const Response& r, const ResponseContext& c) {
  if (!valid_response(r)) {
    append_error(out, 500, "the handler returned an invalid status or header field");
    return {.keep = false};
  }
  bool wants_close = false, wants_chunked = false, has_date = false;
  const std::string_view status = status_line(r.status);
  std::size_t total = status.size();
  for (const Header& h : r.headers) {
    switch (framing_field(h.name)) {
      case Framing::connection:
        if (syntax::list_contains(h.value, "close")) wants_close = true;
        continue;
      case Framing::transfer_encoding:
        if (iequals(syntax::trim_ows(h.value), "chunked")) wants_chunked = true;
        continue;
      case Framing::content_length:
        continue;
      case Framing::date:
        has_date = true;
        break;
      case Framing::none:
        break;
    }
    total += h.name.size() + h.value.size() + 4;
  }
  const std::string_view date = has_date ? std::string_view() : date_line();
  const bool no_body = !status_has_body(r.status);
  const bool chunked = wants_chunked && c.chunked_ok && !no_body;
  const bool close = c.close || wants_close;
  // The longest framing lines: "Content-Length: " + 20 digits + CRLF, and
  // "Connection: keep-alive\r\n"; then the empty line.
  total += date.size() + 38 + 24 + 2;
  Appended a{.keep = !wants_close};
  const bool body_inline = !c.head && !no_body && !chunked && r.body.size() <= c.inline_body_max;
  if (body_inline) total += r.body.size();
  {
    Writer w(out, total);
    w.put(status);
    for (const Header& h : r.headers) {
      Framing f = framing_field(h.name);
      if (f != Framing::none && f != Framing::date) continue;
      w.put(h.name);
      w.put(": ");
      w.put(h.value);
      w.put("\r\n");
    }
    w.put(date);
    if (chunked) {
      w.put("Transfer-Encoding: chunked\r\n");
    } else if (!no_body) {
      w.put("Content-Length: ");
      w.put_number(r.body.size());
      w.put("\r\n");
    }
    if (close)
      w.put("Connection: close\r\n");
    else if (c.keep_alive_10)
      w.put("Connection: keep-alive\r\n");
    w.put("\r\n");
    if (body_inline) w.put(r.body);
  }
  if (!c.head && !no_body && !body_inline) {
    if (chunked)
      append_chunked(out, r.body);
    else
      a.body_separate = true;
  }
  return a;
}

void append_error(std::string& out, int status, std::string_view message) {
  append_status_line(out, status);
  out.append(date_line());
  out.append("Content-Type: text/plain\r\nContent-Length: ");
  append_number(out, message.size() + 1);
  out.append("\r\nConnection: close\r\n\r\n");
  out.append(message);
  out.push_back('\n');
}

}  // namespace weft::http::detail

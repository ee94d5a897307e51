// Response serialisation: status line, the handler's fields (validated),
// Content-Length (or chunked framing on request), a cached Date, Connection;
// then the body.
#include "http_response_writer.hpp"

#include <algorithm>
#include <charconv>
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

void append_status_line(std::string& out, int status) {
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
}

bool skipped_field(std::string_view name) noexcept {
  // Framing fields are the server's: it computes them from the body.
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
         iequals(name, "Date") || iequals(name, "Connection");
}

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
  bool wants_close = false, wants_chunked = false;
  append_status_line(out, r.status);
  for (const Header& h : r.headers) {
    if (skipped_field(h.name)) {
      if (iequals(h.name, "Connection") && syntax::list_contains(h.value, "close"))
        wants_close = true;
      if (iequals(h.name, "Transfer-Encoding") && iequals(syntax::trim_ows(h.value), "chunked"))
        wants_chunked = true;
      if (!iequals(h.name, "Date")) continue;
    }
    out.append(h.name);
    out.append(": ");
    out.append(h.value);
    out.append("\r\n");
  }
  if (!r.headers.contains("Date")) out.append(date_line());
  const bool no_body = !status_has_body(r.status);
  const bool chunked = wants_chunked && c.chunked_ok && !no_body;
  if (chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (!no_body) {
    out.append("Content-Length: ");
    append_number(out, r.body.size());
    out.append("\r\n");
  }
  if (c.close || wants_close)
    out.append("Connection: close\r\n");
  else if (c.keep_alive_10)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
  Appended a{.keep = !wants_close};
  if (!c.head && !no_body) {
    if (chunked)
      append_chunked(out, r.body);
    else if (r.body.size() > c.inline_body_max)
      a.body_separate = true;
    else
      out.append(r.body);
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

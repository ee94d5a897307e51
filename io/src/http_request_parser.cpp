// RequestParser: find the head's end incrementally, parse the head in one
// pass, then feed the body (Content-Length or chunked). See request_parser.hpp.
#include "weft/http/request_parser.hpp"

#include <algorithm>
#include <cstring>

#include "weft/http/syntax.hpp"

namespace weft::http {

void RequestParser::reset() noexcept {
  state_ = State::idle;
  line_start_ = 0;
  blank_ = 0;
  body_left_ = 0;
  content_length_ = 0;
  expect_continue_ = false;
  error_status_ = 0;
  error_message_.clear();
  chunked_.reset();
}

ParseResult RequestParser::fail(std::size_t consumed, int status, std::string message) {
  state_ = State::failed;
  error_status_ = status;
  error_message_ = std::move(message);
  expect_continue_ = false;
  return {ParseStatus::error, consumed};
}

void RequestParser::finish_request() noexcept {
  state_ = State::idle;
  line_start_ = 0;
  blank_ = 0;
  body_left_ = 0;
  content_length_ = 0;
  expect_continue_ = false;
}

ParseResult RequestParser::parse(std::string_view in, Request& req) {
  std::size_t pos = 0;
  if (state_ == State::failed) return {ParseStatus::error, 0};
  if (state_ == State::idle) {
    // RFC 9112 2.2: ignore empty lines before a request-line, within the
    // head limit (a client that sends nothing else is not making progress).
    while (pos < in.size() && (in[pos] == '\r' || in[pos] == '\n')) {
      ++pos;
      if (++blank_ > limits_.max_header_bytes)
        return fail(pos, 400,
                    "more than " + std::to_string(limits_.max_header_bytes) +
                        " bytes of empty lines before the request line");
    }
    if (pos == in.size()) return {ParseStatus::incomplete, pos};
    req.clear();
    state_ = State::head;
    line_start_ = 0;
    head_ = {};
  }
  if (state_ == State::head) {
    // One pass: each line is parsed as soon as it is complete; the head's
    // bytes stay unconsumed (and are presented again) until its empty line.
    const std::string_view h = in.substr(pos);
    std::size_t i = line_start_;
    for (;;) {
      const void* nl = i < h.size() ? std::memchr(h.data() + i, '\n', h.size() - i) : nullptr;
      std::size_t end =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - h.data()) + 1 : h.size();
      if (end > limits_.max_header_bytes) {
        if (i == 0)
          return fail(
              pos, 414,
              "request line longer than " + std::to_string(limits_.max_header_bytes) + " bytes");
        return fail(
            pos, 431,
            "request header larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
      }
      if (!nl) {
        line_start_ = i;
        return {ParseStatus::incomplete, pos};
      }
      std::string_view line = h.substr(i, end - 1 - i);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool first = i == 0;
      i = end;
      if (first) {
        if (!parse_request_line(line, req)) return {ParseStatus::error, pos};
        continue;
      }
      if (line.empty()) {
        if (!finish_head(req)) return {ParseStatus::error, pos};
        pos += end;
        break;
      }
      if (!parse_field_line(line, req)) return {ParseStatus::error, pos};
    }
  }
  if (state_ == State::body_length) {
    std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, in.size() - pos));
    // One allocation of the announced size when the body begins (no
    // doubling: the buffer never holds more than Content-Length).
    if (take > 0 && req.body.empty()) req.body.reserve(static_cast<std::size_t>(content_length_));
    req.body.append(in.data() + pos, take);
    pos += take;
    body_left_ -= take;
    if (take > 0) expect_continue_ = false;
    if (body_left_ > 0) return {ParseStatus::incomplete, pos};
  } else if (state_ == State::body_chunked) {
    ParseResult r = chunked_.feed(in.substr(pos), req.body);
    pos += r.consumed;
    if (r.consumed > 0) expect_continue_ = false;
    if (r.status == ParseStatus::error)
      return fail(pos, chunked_.error_status(), chunked_.error_message());
    if (r.status == ParseStatus::incomplete) return {ParseStatus::incomplete, pos};
  }
  finish_request();
  return {ParseStatus::complete, pos};
}

namespace {

bool valid_target(std::string_view t) noexcept {
  if (t.empty()) return false;
  for (char ch : t) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;  // controls and spaces
  }
  return true;
}

/// A line that failed validation: a bare CR in it is the likelier news.
std::string_view bare_cr_or(std::string_view line, std::string_view otherwise) noexcept {
  return line.find('\r') != std::string_view::npos ? std::string_view("bare CR in the request head")
                                                   : otherwise;
}

}  // namespace

bool RequestParser::parse_request_line(std::string_view line, Request& req) {
  // request-line = method SP request-target SP HTTP-version: the two spaces
  // in one scan (a request line is short: no memchr calls).
  std::size_t sp1 = std::string_view::npos, sp2 = std::string_view::npos;
  bool extra_space = false;
  for (std::size_t k = 0; k < line.size(); ++k) {
    if (line[k] != ' ') continue;
    if (sp1 == std::string_view::npos)
      sp1 = k;
    else if (sp2 == std::string_view::npos)
      sp2 = k;
    else
      extra_space = true;
  }
  if (sp2 == std::string_view::npos || extra_space) {
    fail(0, 400,
         std::string(bare_cr_or(line,
                                "malformed request line (expected: METHOD SP TARGET SP "
                                "HTTP/1.1)")));
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!syntax::is_token(method)) {
    fail(0, 400, std::string(bare_cr_or(line, "invalid method in the request line")));
    return false;
  }
  if (!valid_target(target)) {
    fail(0, 400, std::string(bare_cr_or(line, "invalid request target")));
    return false;
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    fail(0, 400, std::string(bare_cr_or(line, "malformed HTTP version in the request line")));
    return false;
  }
  if (version[5] != '1') {
    fail(0, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    return false;
  }
  req.method.clear();  // clear() + append(): no aliasing checks (the pieces are the input's)
  req.method.append(method.data(), method.size());
  req.target.clear();
  req.target.append(target.data(), target.size());
  req.version_minor = version[7] == '0' ? 0 : 1;  // 1.x > 1.1 is treated as 1.1 (RFC 9110 6.2)
  return true;
}

bool RequestParser::parse_field_line(std::string_view line, Request& req) {
  if (++head_.fields > limits_.max_headers) {
    fail(0, 431, "more than " + std::to_string(limits_.max_headers) + " header fields");
    return false;
  }
  std::string_view name, value;
  if (!syntax::split_field_line(line, name, value)) {
    fail(0, 400,
         std::string(line.front() == ' ' || line.front() == '\t'
                         ? std::string_view("obsolete line folding in a header field")
                         : bare_cr_or(line, "malformed header field")));
    return false;
  }
  req.headers.add(name, value);
  // The fields that frame or steer the request, told apart by length first.
  switch (name.size()) {
    case 4:
      if (iequals(name, "Host")) ++head_.hosts;
      break;
    case 6:
      if (iequals(name, "Expect")) head_.expect = iequals(value, "100-continue");
      break;
    case 10:
      if (iequals(name, "Connection")) {
        if (syntax::list_contains(value, "close")) head_.conn_close = true;
        if (syntax::list_contains(value, "keep-alive")) head_.conn_keep = true;
      }
      break;
    case 14:
      if (iequals(name, "Content-Length")) {
        auto v = syntax::parse_content_length(value);
        if (!v) {
          bool digits = !value.empty() && std::all_of(value.begin(), value.end(),
                                                      [](char c) { return c >= '0' && c <= '9'; });
          fail(0, digits ? 413 : 400,
               digits ? "Content-Length too large" : "invalid Content-Length");
          return false;
        }
        if (head_.have_length && *v != head_.length) {
          fail(0, 400, "conflicting Content-Length headers");
          return false;
        }
        head_.have_length = true;
        head_.length = *v;
      }
      break;
    case 17:
      if (iequals(name, "Transfer-Encoding")) {
        head_.te_seen = true;
        std::string_view list = value;
        while (!list.empty()) {
          std::size_t comma = list.find(',');
          std::string_view coding = syntax::trim_ows(list.substr(0, comma));
          if (!coding.empty()) {
            ++head_.te_codings;
            if (!iequals(coding, "chunked")) head_.te_unknown = true;
          }
          if (comma == std::string_view::npos) break;
          list.remove_prefix(comma + 1);
        }
      }
      break;
    default:
      break;
  }
  return true;
}

bool RequestParser::finish_head(Request& req) {
  const HeadState& h = head_;
  if (req.version_minor == 1 && h.hosts != 1) {
    fail(0, 400, h.hosts == 0 ? "missing Host header" : "more than one Host header");
    return false;
  }
  if (h.te_seen) {
    if (req.version_minor == 0) {
      fail(0, 400, "Transfer-Encoding in an HTTP/1.0 request");
      return false;
    }
    if (h.have_length) {
      fail(0, 400, "both Content-Length and Transfer-Encoding");
      return false;
    }
    if (h.te_unknown) {
      fail(0, 501, "unsupported transfer coding (only chunked is accepted)");
      return false;
    }
    if (h.te_codings != 1) {
      fail(0, 400, "invalid Transfer-Encoding");
      return false;
    }
  }
  req.keep_alive = req.version_minor == 1 ? !h.conn_close : (h.conn_keep && !h.conn_close);
  if (h.te_seen) {
    chunked_.reset();
    chunked_.set_max_body(limits_.max_body_bytes);
    state_ = State::body_chunked;
  } else if (h.length > 0) {
    if (h.length > limits_.max_body_bytes) {
      fail(0, 413, "request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
      return false;
    }
    body_left_ = h.length;
    content_length_ = h.length;
    state_ = State::body_length;
  } else {
    state_ = State::idle;  // no body: parse() completes the request
    return true;
  }
  expect_continue_ = h.expect && req.version_minor == 1;
  return true;
}

}  // namespace weft::http

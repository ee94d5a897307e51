// ResponseParser: find the head's end incrementally, parse the head in one
// pass, skip interim responses, then feed the body by its framing.
#include "weft/http/response_parser.hpp"

#include <algorithm>
#include <cstring>

#include "weft/http/syntax.hpp"

namespace weft::http {

void ResponseHead::clear() noexcept {
  status = 0;
  version_minor = 1;
  reason.clear();
  headers.clear();
  framing = BodyFraming::none;
  content_length = 0;
  keep_alive = true;
}

void ResponseParser::reset(bool head_request) noexcept {
  chunked_.reset();
  state_ = State::idle;
  head_request_ = head_request;
  head_was_done_ = false;
  interim_ = 0;
  blank_ = 0;
  scanned_ = 0;
  line_start_ = 0;
  body_left_ = 0;
  body_bytes_ = 0;
  error_ = ResponseError::none;
  message_.clear();
  excerpt_.clear();
}

std::string ResponseParser::escape(std::string_view bytes, std::size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t n = std::min(bytes.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += "\\x";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  if (bytes.size() > n) out += "...";
  return out;
}

ParseResult ResponseParser::fail(std::size_t consumed, ResponseError e, std::string message,
                                 std::string_view offending) {
  head_was_done_ = head_done();
  state_ = State::failed;
  error_ = e;
  message_ = std::move(message);
  excerpt_ = escape(offending);
  return {ParseStatus::error, consumed};
}

bool ResponseParser::count_body(std::uint64_t n) {
  body_bytes_ += n;
  if (body_bytes_ <= limits_.max_body_bytes) return true;
  fail(0, ResponseError::body_too_large,
       "response body larger than " + std::to_string(limits_.max_body_bytes) + " bytes", {});
  return false;
}

ParseResult ResponseParser::parse(std::string_view in, ResponseHead& head, std::string& body) {
  std::size_t pos = 0;
  for (;;) {  // once per interim response, then once for the final one
    if (state_ == State::failed) return {ParseStatus::error, pos};
    if (state_ == State::done) return {ParseStatus::complete, pos};
    if (state_ == State::idle) {
      // Empty lines before a status line are skipped, within the head limit
      // (a server that sends nothing else must not keep the client forever).
      while (pos < in.size() && (in[pos] == '\r' || in[pos] == '\n')) {
        ++pos;
        if (++blank_ > limits_.max_header_bytes)
          return fail(pos, ResponseError::head_too_large,
                      "more than " + std::to_string(limits_.max_header_bytes) +
                          " bytes of empty lines before the status line",
                      {});
      }
      if (pos == in.size()) return {ParseStatus::incomplete, pos};
      head.clear();
      state_ = State::head;
      scanned_ = 0;
      line_start_ = 0;
    }
    if (state_ == State::head) {
      const std::string_view h = in.substr(pos);
      std::size_t i = scanned_;
      std::size_t head_end = 0;
      for (;;) {
        const void* nl = i < h.size() ? std::memchr(h.data() + i, '\n', h.size() - i) : nullptr;
        std::size_t end =
            nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - h.data()) + 1 : h.size();
        if (end > limits_.max_header_bytes)
          return fail(
              pos, ResponseError::head_too_large,
              "response head larger than " + std::to_string(limits_.max_header_bytes) + " bytes",
              h.substr(line_start_));
        if (!nl) {
          scanned_ = h.size();
          return {ParseStatus::incomplete, pos};
        }
        const std::size_t j = end - 1;  // the '\n'
        const std::size_t len = j - line_start_;
        const bool empty_line = len == 0 || (len == 1 && h[j - 1] == '\r');
        if (empty_line && line_start_ > 0) {
          head_end = end;
          break;
        }
        line_start_ = end;
        i = end;
      }
      if (!parse_head(h.substr(0, head_end), head)) return {ParseStatus::error, pos};
      pos += head_end;
      if (head.status < 200) {  // interim (101 was rejected by parse_head)
        if (++interim_ > kMaxInterim)
          return fail(pos, ResponseError::malformed,
                      "more than " + std::to_string(kMaxInterim) + " interim (1xx) responses", {});
        state_ = State::idle;
        continue;
      }
      if (!parse_framing(head)) return {ParseStatus::error, pos};
      if (head.framing == BodyFraming::none) {
        state_ = State::done;
        return {ParseStatus::complete, pos};
      }
      state_ = State::body;
    }
    // state_ == State::body
    switch (head.framing) {
      case BodyFraming::content_length: {
        auto take = static_cast<std::size_t>(
            std::min<std::uint64_t>(body_left_, static_cast<std::uint64_t>(in.size() - pos)));
        body.append(in.data() + pos, take);
        pos += take;
        body_left_ -= take;
        body_bytes_ += take;  // within the limit: checked against Content-Length
        if (body_left_ > 0) return {ParseStatus::incomplete, pos};
        state_ = State::done;
        return {ParseStatus::complete, pos};
      }
      case BodyFraming::chunked: {
        const std::size_t before = body.size();
        ParseResult r = chunked_.feed(in.substr(pos), body);
        if (!count_body(body.size() - before)) return {ParseStatus::error, pos + r.consumed};
        if (r.status == ParseStatus::error)
          return fail(pos + r.consumed, ResponseError::malformed,
                      std::string("bad chunked body: ") + chunked_.error_message(),
                      in.substr(pos + r.consumed));
        pos += r.consumed;
        if (r.status == ParseStatus::incomplete) return {ParseStatus::incomplete, pos};
        state_ = State::done;
        return {ParseStatus::complete, pos};
      }
      case BodyFraming::until_close: {
        std::size_t take = in.size() - pos;
        body.append(in.data() + pos, take);
        if (!count_body(take)) return {ParseStatus::error, in.size()};
        return {ParseStatus::incomplete, in.size()};
      }
      case BodyFraming::none:
        break;
    }
    state_ = State::done;
    return {ParseStatus::complete, pos};
  }
}

ParseStatus ResponseParser::finish(ResponseHead& head, std::string& body) {
  (void)body;
  switch (state_) {
    case State::failed:
      return ParseStatus::error;
    case State::done:
      return ParseStatus::complete;
    case State::idle:
      fail(0, ResponseError::truncated,
           interim_ > 0 ? "the connection closed after an interim response"
                        : "the connection closed before a response arrived",
           {});
      return ParseStatus::error;
    case State::head:
      fail(0, ResponseError::truncated, "the connection closed in the middle of the response head",
           {});
      return ParseStatus::error;
    case State::body:
      break;
  }
  if (head.framing == BodyFraming::until_close) {
    state_ = State::done;
    return ParseStatus::complete;
  }
  if (head.framing == BodyFraming::content_length) {
    fail(0, ResponseError::truncated,
         "the connection closed after " + std::to_string(body_bytes_) + " of " +
             std::to_string(head.content_length) + " body bytes",
         {});
  } else {
    fail(0, ResponseError::truncated,
         "the connection closed in the middle of the chunked body (" + std::to_string(body_bytes_) +
             " bytes decoded)",
         {});
  }
  return ParseStatus::error;
}

bool ResponseParser::parse_head(std::string_view h, ResponseHead& head) {
  syntax::HeadLines lines(h);

  std::string_view line;
  if (lines.next(line) < 0) {
    fail(0, ResponseError::malformed, "bare CR in the status line", line);
    return false;
  }
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  if (line.size() < 5 || line.substr(0, 5) != "HTTP/") {
    fail(0, ResponseError::malformed, "malformed status line (not an HTTP/1.x response)", line);
    return false;
  }
  if (line.size() < 8 || line[6] != '.' || line[5] < '0' || line[5] > '9' || line[7] < '0' ||
      line[7] > '9') {
    bool newer = line.size() >= 6 && line[5] >= '2' && line[5] <= '9';
    fail(0, ResponseError::malformed,
         newer ? "unsupported HTTP version (weft speaks HTTP/1.1)"
               : "malformed HTTP version in the status line",
         line);
    return false;
  }
  if (line[5] != '1') {
    fail(0, ResponseError::malformed, "unsupported HTTP version (weft speaks HTTP/1.1)", line);
    return false;
  }
  head.version_minor = line[7] == '0' ? 0 : 1;
  if (line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
    fail(0, ResponseError::malformed, "malformed status line (expected: HTTP/1.1 NNN reason)",
         line);
    return false;
  }
  int status = 0;
  for (std::size_t k = 9; k < 12; ++k) {
    if (line[k] < '0' || line[k] > '9') {
      fail(0, ResponseError::malformed, "the status code is not a three-digit number", line);
      return false;
    }
    status = status * 10 + (line[k] - '0');
  }
  if (status < 100 || status > 599) {
    fail(0, ResponseError::malformed, "status code out of range (100-599)", line);
    return false;
  }
  std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
  if (!syntax::is_field_value(reason)) {
    fail(0, ResponseError::malformed, "control character in the reason phrase", line);
    return false;
  }
  if (status == 101) {
    fail(0, ResponseError::malformed, "unexpected 101 Switching Protocols (no upgrade was asked)",
         line);
    return false;
  }
  head.status = status;
  head.reason.assign(reason);

  std::size_t fields = 0;
  for (;;) {
    int r = lines.next(line);
    if (r == 0) break;
    if (r < 0) {
      fail(0, ResponseError::malformed, "bare CR in a header field", line);
      return false;
    }
    if (++fields > limits_.max_headers) {
      fail(0, ResponseError::head_too_large,
           "more than " + std::to_string(limits_.max_headers) + " header fields", line);
      return false;
    }
    std::string_view name, value;
    if (!syntax::split_field_line(line, name, value)) {
      fail(0, ResponseError::malformed,
           line.front() == ' ' || line.front() == '\t' ? "obsolete line folding in a header field"
                                                       : "malformed header field",
           line);
      return false;
    }
    head.headers.add(name, value);
  }
  return true;
}

bool ResponseParser::parse_framing(ResponseHead& head) {
  bool conn_close = false, conn_keep = false;
  bool te_seen = false, cl_seen = false;
  std::size_t codings = 0, chunked_codings = 0;
  std::uint64_t length = 0;
  for (const Header& f : head.headers) {
    if (iequals(f.name, "Connection")) {
      if (syntax::list_contains(f.value, "close")) conn_close = true;
      if (syntax::list_contains(f.value, "keep-alive")) conn_keep = true;
    } else if (iequals(f.name, "Transfer-Encoding")) {
      te_seen = true;
      std::string_view list = f.value;
      while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view coding = syntax::trim_ows(list.substr(0, comma));
        if (!coding.empty()) {
          ++codings;
          if (iequals(coding, "chunked")) ++chunked_codings;
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    } else if (iequals(f.name, "Content-Length")) {
      // "5", repeated fields, or a list "5, 5": every value must agree.
      std::string_view list = f.value;
      do {
        std::size_t comma = list.find(',');
        std::string_view item = syntax::trim_ows(list.substr(0, comma));
        auto v = syntax::parse_content_length(item);
        if (!v) {
          fail(0, ResponseError::malformed, "invalid Content-Length", f.value);
          return false;
        }
        if (cl_seen && *v != length) {
          fail(0, ResponseError::malformed, "conflicting Content-Length values",
               std::to_string(length) + " vs " + std::to_string(*v));
          return false;
        }
        cl_seen = true;
        length = *v;
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      } while (!list.empty());
    }
  }
  head.keep_alive = head.version_minor == 1 ? !conn_close : (conn_keep && !conn_close);
  if (head_request_ || head.status == 204 || head.status == 304) {
    head.framing = BodyFraming::none;  // framing fields describe a body that is not sent
    return true;
  }
  if (te_seen) {
    if (head.version_minor == 0) {
      fail(0, ResponseError::malformed, "Transfer-Encoding in an HTTP/1.0 response", {});
      return false;
    }
    if (cl_seen) {
      fail(0, ResponseError::malformed, "both Content-Length and Transfer-Encoding", {});
      return false;
    }
    if (codings != 1 || chunked_codings != 1) {
      fail(0, ResponseError::malformed, "unsupported transfer coding (only chunked is accepted)",
           *head.headers.get("Transfer-Encoding"));
      return false;
    }
    head.framing = BodyFraming::chunked;
    chunked_.reset();
    chunked_.set_max_body(UINT64_MAX);  // the limit is checked on body_bytes_
    return true;
  }
  if (cl_seen) {
    if (length > limits_.max_body_bytes) {
      fail(0, ResponseError::body_too_large,
           "response body larger than " + std::to_string(limits_.max_body_bytes) +
               " bytes (Content-Length: " + std::to_string(length) + ")",
           {});
      return false;
    }
    head.content_length = length;
    body_left_ = length;
    head.framing = length == 0 ? BodyFraming::none : BodyFraming::content_length;
    return true;
  }
  head.framing = BodyFraming::until_close;
  head.keep_alive = false;
  return true;
}

}  // namespace weft::http

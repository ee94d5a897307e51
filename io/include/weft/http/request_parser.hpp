// RequestParser: an incremental, pure (no I/O) HTTP/1.1 request parser.
//
//   weft::http::RequestParser p({.max_header_bytes = 16384});
//   weft::http::Request req;
//   auto r = p.parse(unconsumed, req);   // call again with more bytes
//   drop r.consumed bytes; if r.status == complete: req is ready, and the next
//   parse() starts the next (pipelined) request.
//
// Contract: `input` is always the caller's unconsumed bytes (everything after
// what earlier calls reported consumed), so a request head split across reads
// is presented again, longer, on the next call; the parser has already parsed
// its complete lines and goes on from the first incomplete one, so a head
// arriving byte by byte costs O(n), not O(n^2). Body bytes
// are consumed (copied into req.body) as they arrive; a Content-Length body's
// buffer is allocated at its announced size when its first byte arrives.
//
// What it accepts (RFC 9112), and what it answers otherwise:
//  - request-line `method SP target SP HTTP/1.x`; leading empty lines are
//    skipped, up to max_header_bytes of them (400 beyond: they are not
//    progress); lines end with CRLF or a bare LF; a bare CR is an error (400).
//    HTTP versions other than 1.0 and 1.1 get 505.
//  - field lines `token ":" OWS value OWS`; obs-fold, whitespace before the
//    colon and control characters are rejected (400).
//  - request line + fields over max_header_bytes: 431 (414 if the request
//    line alone is too long); more than max_headers fields: 431.
//  - Content-Length (1*DIGIT; duplicates must agree) or Transfer-Encoding:
//    chunked (the only coding accepted: 501 otherwise); both at once, or a
//    Transfer-Encoding in HTTP/1.0: 400 (request-smuggling defence).
//  - bodies over max_body_bytes: 413. HTTP/1.1 without exactly one Host: 400.
//  - keep-alive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
//    "Connection: keep-alive".
// After an error the parser stays failed (the server closes the connection);
// reset() starts over.
//
// Not thread-safe; allocation-free once the Request's storage is warm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/chunked.hpp"
#include "weft/http/message.hpp"

namespace weft::http {

struct ParserLimits {
  /// Request line plus header fields, in bytes.
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_headers = 100;
  std::uint64_t max_body_bytes = 8 * 1024 * 1024;
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {}) noexcept
      : limits_(limits), chunked_(limits.max_body_bytes) {}

  /// Parses from `input` into `req` (cleared when a new request begins).
  ParseResult parse(std::string_view input, Request& req);
  /// Forgets any partial request and error.
  void reset() noexcept;

  /// No byte of the next request has arrived yet (between requests; empty
  /// lines before a request line leave the parser idle).
  bool idle() const noexcept { return state_ == State::idle; }
  /// The head is parsed and the body is being read.
  bool in_body() const noexcept {
    return state_ == State::body_length || state_ == State::body_chunked;
  }
  /// The Content-Length of the request whose body is being read (0 for a
  /// chunked body or none).
  std::uint64_t content_length() const noexcept { return content_length_; }
  /// The current request sent "Expect: 100-continue" and its body has not
  /// started: a server should send "100 Continue" before waiting for it.
  bool expects_continue() const noexcept { return expect_continue_; }
  /// Status to answer after ParseStatus::error (400, 413, 414, 431, 501, 505).
  int error_status() const noexcept { return error_status_; }
  const std::string& error_message() const noexcept { return error_message_; }
  const ParserLimits& limits() const noexcept { return limits_; }

 private:
  enum class State : std::uint8_t { idle, head, body_length, body_chunked, failed };

  /// What the head's field lines said so far (reset with every request).
  struct HeadState {
    std::size_t fields = 0, hosts = 0, te_codings = 0;
    bool have_length = false, te_unknown = false, te_seen = false;
    bool conn_close = false, conn_keep = false, expect = false;
    std::uint64_t length = 0;
  };

  ParseResult fail(std::size_t consumed, int status, std::string message);
  /// One line of the head (without its line end); false on error (failed).
  bool parse_request_line(std::string_view line, Request& req);
  bool parse_field_line(std::string_view line, Request& req);
  /// The empty line arrived: checks the framing and picks the body state.
  bool finish_head(Request& req);
  void finish_request() noexcept;

  ParserLimits limits_;
  ChunkedDecoder chunked_;
  State state_ = State::idle;
  std::size_t line_start_ = 0;  // offset of the first line not parsed yet, in the head
  HeadState head_;
  std::size_t blank_ = 0;  // empty-line bytes skipped before this request line
  std::uint64_t body_left_ = 0;
  std::uint64_t content_length_ = 0;
  bool expect_continue_ = false;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace weft::http

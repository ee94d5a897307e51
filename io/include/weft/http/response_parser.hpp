// ResponseParser: an incremental, pure (no I/O) HTTP/1.1 response parser for
// the client; fuzzed by tests/fuzz (tools/fuzz.sh).
//
//   weft::http::ResponseParser p(limits);
//   p.reset(/*head_request=*/false);          // before each response
//   auto r = p.parse(unconsumed, head, body); // call again with more bytes
//   drop r.consumed bytes; r.status: complete / incomplete / error
//   at end of stream: p.finish(head, body)   // completes a close-delimited body
//
// Contract (the request parser's): `input` is always the caller's unconsumed
// bytes, so a head split across reads is presented again, longer; the parser
// remembers how far it searched (O(n) for a head arriving byte by byte). Body
// bytes are consumed as they arrive and appended to `body` (the caller may
// clear `body` between calls to count the bytes without keeping them:
// body_bytes() counts them).
//
// What it accepts (RFC 9112), and what is an error:
//  - status line `HTTP/1.x SP 3DIGIT [SP reason]` (status 100-599); lines end
//    with CRLF or a bare LF; empty lines before it are skipped (counted
//    against max_header_bytes). Other versions
//    (HTTP/2, HTTP/0.9 bodies, garbage) are errors.
//  - field lines `token ":" OWS value OWS`; obs-fold, whitespace before the
//    colon, control characters and bare CRs are errors.
//  - interim 1xx responses (100, 102, 103) are skipped (at most 16 in a row);
//    101 Switching Protocols is an error (the client never asks to upgrade).
//  - body framing (RFC 9112 6.3): none for HEAD, 1xx, 204 and 304; chunked
//    when Transfer-Encoding is exactly "chunked"; else Content-Length (every
//    value, repeated or listed, must agree); else until the connection closes.
//    Transfer-Encoding together with Content-Length, Transfer-Encoding in an
//    HTTP/1.0 response, and codings other than chunked are errors.
//  - limits: status line + fields over max_header_bytes, more than max_headers
//    fields, a body over max_body_bytes (Content-Length is checked up front).
// After an error the parser stays failed until reset(); error() says which
// kind of error, error_message() what, excerpt() the offending bytes.
//
// Not thread-safe. Allocation-free once the head's storage is warm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/chunked.hpp"
#include "weft/http/headers.hpp"

namespace weft::http {

struct ResponseLimits {
  /// Status line plus header fields, in bytes.
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_headers = 100;
  /// Decoded body bytes.
  std::uint64_t max_body_bytes = 64ull * 1024 * 1024;
};

enum class BodyFraming : std::uint8_t { none, content_length, chunked, until_close };

struct ResponseHead {
  int status = 0;
  int version_minor = 1;
  std::string reason;
  HeaderMap headers;
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;  ///< with BodyFraming::content_length
  bool keep_alive = true;            ///< the connection may carry another request

  void clear() noexcept;
};

enum class ResponseError : std::uint8_t {
  none,
  malformed,       ///< bad syntax or framing
  head_too_large,  ///< over max_header_bytes or max_headers
  body_too_large,  ///< over max_body_bytes
  truncated,       ///< finish(): the stream ended inside the response
};

class ResponseParser {
 public:
  /// Interim responses skipped before the final one, at most.
  static constexpr int kMaxInterim = 16;

  explicit ResponseParser(ResponseLimits limits = {}) noexcept : limits_(limits) {}

  /// Expects a new response; `head_request`: it answers a HEAD (no body).
  void reset(bool head_request = false) noexcept;
  /// Parses from `input` (see the contract above).
  ParseResult parse(std::string_view input, ResponseHead& head, std::string& body);
  /// The stream ended: completes a close-delimited body, else reports
  /// ResponseError::truncated (or the earlier error).
  ParseStatus finish(ResponseHead& head, std::string& body);

  /// No byte of the response has arrived yet.
  bool idle() const noexcept { return state_ == State::idle; }
  /// The final head has been parsed (the body may be in progress).
  bool head_done() const noexcept {
    return state_ == State::body || state_ == State::done ||
           (state_ == State::failed && head_was_done_);
  }
  bool done() const noexcept { return state_ == State::done; }
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }

  ResponseError error() const noexcept { return error_; }
  const std::string& error_message() const noexcept { return message_; }
  /// The offending bytes, escaped (at most 48 of them, "..." if more).
  const std::string& excerpt() const noexcept { return excerpt_; }
  const ResponseLimits& limits() const noexcept { return limits_; }

  /// `bytes` as printable text: \r \n \t \\ \" escaped, other non-printables
  /// as \xNN, at most `max` input bytes then "...".
  static std::string escape(std::string_view bytes, std::size_t max = 48);

 private:
  enum class State : std::uint8_t { idle, head, body, done, failed };

  ParseResult fail(std::size_t consumed, ResponseError e, std::string message,
                   std::string_view offending);
  /// Parses the complete head `h` (ends with its empty line). False on error.
  bool parse_head(std::string_view h, ResponseHead& head);
  bool parse_framing(ResponseHead& head);
  /// Adds `n` body bytes; false (and fails) when over the limit.
  bool count_body(std::uint64_t n);

  ResponseLimits limits_;
  ChunkedDecoder chunked_;
  State state_ = State::idle;
  bool head_request_ = false;
  bool head_was_done_ = false;
  int interim_ = 0;
  std::size_t blank_ = 0;       // empty-line bytes skipped before status lines
  std::size_t scanned_ = 0;     // head bytes already searched for the empty line
  std::size_t line_start_ = 0;  // offset of the line being searched
  std::uint64_t body_left_ = 0;
  std::uint64_t body_bytes_ = 0;
  ResponseError error_ = ResponseError::none;
  std::string message_;
  std::string excerpt_;
};

}  // namespace weft::http

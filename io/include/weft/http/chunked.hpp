// ChunkedDecoder: an incremental decoder for the chunked transfer coding
// (RFC 9112 7.1), shared by the server's request parser and the client's
// response parser. Pure: no I/O; feed it bytes in pieces of any size.
//
//   weft::http::ChunkedDecoder dec(max_body);
//   auto r = dec.feed(bytes, body);   // appends decoded data to body
//   // r.consumed bytes of `bytes` were used; r.status says done / need more / error
//
// Strict where laxness enables request smuggling: line ends must be CRLF,
// chunk sizes are 1-16 hex digits, and the size line is exactly RFC 9112's
// `chunk-size *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] ) CRLF`
// (ext-name a token, ext-value a token or a quoted-string): "1 2", "1 " or
// "1;" are errors, not a size of 1. Chunk extensions and trailers are
// bounded and discarded. Errors carry the status a server should answer (400, or 413
// when the body would exceed its limit) and a message.
//
// Cost: O(1) per byte of framing, one append per data run. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace weft::http {

enum class ParseStatus : std::uint8_t {
  incomplete,  ///< all input used; feed more
  complete,    ///< the message (or body) is done; `consumed` says where it ended
  error,       ///< malformed or over a limit; see error_status()/error_message()
};

struct ParseResult {
  ParseStatus status;
  std::size_t consumed;  ///< input bytes used by this call
};

class ChunkedDecoder {
 public:
  /// Longest chunk-size line (with extensions) and trailer section accepted.
  static constexpr std::size_t kMaxLine = 4096;
  static constexpr std::size_t kMaxTrailer = 16 * 1024;

  explicit ChunkedDecoder(std::uint64_t max_body = UINT64_MAX) noexcept : max_body_(max_body) {}

  /// Decodes from `in`, appending chunk data to `body`. Returns complete once
  /// the final CRLF after the trailers is consumed (bytes after it belong to
  /// the next message).
  ParseResult feed(std::string_view in, std::string& body);
  /// Starts a new body (limits unchanged).
  void reset() noexcept;
  void set_max_body(std::uint64_t max_body) noexcept { max_body_ = max_body; }

  int error_status() const noexcept { return error_status_; }
  const char* error_message() const noexcept { return error_message_; }

 private:
  enum class State : std::uint8_t {
    size,
    size_bws,       // BWS after the size: only ";" may follow
    ext_name_pre,   // after ";": BWS, then a token
    ext_name,       // in the extension's name
    ext_name_bws,   // BWS after the name: "=" or ";"
    ext_value_pre,  // after "=": BWS, then a token or a quoted-string
    ext_token,      // in a token value
    ext_quoted,     // in a quoted-string value
    ext_quoted_pair,
    ext_quoted_end,  // right after the closing quote
    ext_value_bws,   // BWS after a value: only ";" may follow
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_start,
    trailer,
    trailer_lf,
    final_lf,
    done,
    failed,
  };
  ParseResult fail(std::size_t at, int status, const char* message) noexcept;
  /// A CR may end the size line here (after the size, a name or a value).
  bool ext_may_end() const noexcept;
  /// One byte of a chunk extension: the next state, false if `c` breaks the grammar.
  bool ext_step(unsigned char c) noexcept;

  std::uint64_t max_body_;
  std::uint64_t remaining_ = 0;  // chunk size being read, then data left in the chunk
  std::size_t digits_ = 0;
  std::size_t line_ = 0;     // bytes of the current size line / trailer line
  std::size_t trailer_ = 0;  // bytes of the trailer section
  State state_ = State::size;
  int error_status_ = 0;
  const char* error_message_ = "";
};

}  // namespace weft::http

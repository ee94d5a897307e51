// Serialising responses into a connection's output buffer (one write per batch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/message.hpp"

namespace weft::http::detail {

struct ResponseContext {
  bool head = false;           ///< a HEAD request: no body
  bool close = false;          ///< add "Connection: close"
  bool keep_alive_10 = false;  ///< add "Connection: keep-alive" (an HTTP/1.0 client asked)
  /// The client speaks HTTP/1.1: a handler's "Transfer-Encoding: chunked"
  /// sends the body in chunks instead of with a Content-Length.
  bool chunked_ok = false;
  /// A Content-Length body larger than this is not appended: the caller
  /// writes r.body itself right after `out` (no copy of large bodies).
  std::size_t inline_body_max = SIZE_MAX;
};

struct Appended {
  /// False if the response itself asked to close ("Connection: close").
  bool keep = true;
  /// The body was left for the caller to write after `out`.
  bool body_separate = false;
};

/// Appends `r` to `out`. A response with an invalid status or header field
/// is replaced by a 500 (no response splitting).
Appended append_response(std::string& out, const Response& r, const ResponseContext& c);

/// Whether a response with this status carries a body (not 1xx, 204, 304).
inline bool status_has_body(int status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

/// Appends a short plain-text error response with "Connection: close".
void append_error(std::string& out, int status, std::string_view message);

/// The interim response to "Expect: 100-continue".
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace weft::http::detail

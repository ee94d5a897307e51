// Serialising responses into a connection's output buffer (one write per batch).
#pragma once

#include <string>
#include <string_view>

#include "weft/http/message.hpp"

namespace weft::http::detail {

/// Appends `r` to `out`. `head` drops the body (HEAD request); `close` adds
/// "Connection: close"; `keep_alive_10` adds "Connection: keep-alive" (for an
/// HTTP/1.0 client that asked for it). A response with an invalid status or
/// header field is replaced by a 500 (no response splitting). Returns false if
/// the response itself asked to close the connection ("Connection: close").
/// `chunked_ok` (the client speaks HTTP/1.1): a handler's
/// "Transfer-Encoding: chunked" sends the body in chunks instead of with a
/// Content-Length.
bool append_response(std::string& out, const Response& r, bool head, bool close, bool keep_alive_10,
                     bool chunked_ok = false);

/// Appends a short plain-text error response with "Connection: close".
void append_error(std::string& out, int status, std::string_view message);

/// The interim response to "Expect: 100-continue".
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace weft::http::detail

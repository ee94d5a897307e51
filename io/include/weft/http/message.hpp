// HTTP/1.1 messages: Request (what the server's parser produces and a handler
// receives) and Response (what a handler returns).
//
//   weft::Task<weft::http::Response> hello(weft::http::Request& req) {
//     if (req.path() != "/") co_return weft::http::Response(404, "not found\n");
//     co_return weft::http::Response(200, "hello world", "text/plain");
//   }
//
// Value types, not thread-safe. A Request is reused by the server for every
// request of a connection (clear() keeps its storage), so a handler must copy
// what it wants to keep beyond its own return.
#pragma once

#include <string>
#include <string_view>

#include "weft/http/headers.hpp"

namespace weft::http {

struct Request {
  std::string method;     ///< "GET", "POST", ... (a token, case-sensitive)
  std::string target;     ///< request-target as sent: "/path?query", "*", "http://h/p"
  int version_minor = 1;  ///< HTTP/1.<minor>: 0 or 1
  HeaderMap headers;
  std::string body;        ///< decoded (chunked bodies are de-chunked)
  bool keep_alive = true;  ///< the connection may carry another request after this one

  /// The target's path (before '?'), e.g. "/index.html".
  std::string_view path() const noexcept;
  /// The target's query (after '?', without it); empty if none.
  std::string_view query() const noexcept;
  /// Clears every field, keeping storage.
  void clear() noexcept;
};

struct Response {
  int status = 200;
  HeaderMap headers;
  std::string body;

  Response() = default;
  /// A response with a body; `content_type` is set unless empty.
  Response(int status_code, std::string body_text, std::string_view content_type = "text/plain");
};

/// The reason phrase of a status code ("OK", "Not Found"); "Unknown" for
/// codes without a registered phrase.
std::string_view reason_phrase(int status) noexcept;

}  // namespace weft::http

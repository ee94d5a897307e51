// The exceptions weft::http::Client throws: one type per way a request can
// fail, all derived from weft::http::Error, whose kind() names the failure for
// code that handles them generically (the crawler turns them into
// FetchResult::error_kind).
//
//   try {
//     auto r = co_await client.get("https://example.org/");
//   } catch (const weft::http::RequestTimeout& e) {   // connect, read or total
//   } catch (const weft::http::Error& e) {            // any other failure
//     std::cerr << to_string(e.kind()) << ": " << e.what();
//   }
//
// Messages start with the request ("GET http://host/path: ") and say what
// happened in words a user can act on; ProtocolError adds an excerpt of the
// offending bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weft::http {

enum class ErrorKind : std::uint8_t {
  none,                ///< no error (a FetchResult that succeeded)
  invalid_url,         ///< InvalidUrl
  dns,                 ///< ResolveError
  connect_refused,     ///< ConnectError with ECONNREFUSED
  connect,             ///< ConnectError: unreachable, no route, ...
  timeout,             ///< RequestTimeout
  tls,                 ///< TlsError
  protocol,            ///< ProtocolError: malformed or truncated response
  body_too_large,      ///< BodyTooLarge
  too_many_redirects,  ///< TooManyRedirects
  connection,          ///< ConnectionError: reset, or closed without a response
  other,               ///< anything else (not thrown by the client; for callers' use)
};

/// "invalid-url", "dns", "connect-refused", "connect", "timeout", "tls",
/// "protocol", "body-too-large", "too-many-redirects", "connection",
/// "other"; "none".
std::string_view to_string(ErrorKind kind) noexcept;

/// Base of every client failure. what() is "METHOD URL: detail"; detail()
/// alone is for output that shows the URL already (the crawler's).
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& where, const std::string& detail)
      : std::runtime_error(where.empty() ? detail : where + ": " + detail),
        kind_(kind),
        detail_(detail) {}
  ErrorKind kind() const noexcept { return kind_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  ErrorKind kind_;
  std::string detail_;
};

/// The URL could not be parsed or is not supported (scheme other than
/// http/https, credentials in the URL, bad port, no host, ...).
class InvalidUrl : public Error {
 public:
  InvalidUrl(std::string_view url, std::string_view why);
};

/// The host name did not resolve. gai_code() is getaddrinfo's EAI_* value.
class ResolveError : public Error {
 public:
  ResolveError(int gai_code, const std::string& where, const std::string& host);
  int gai_code() const noexcept { return gai_code_; }

 private:
  int gai_code_;
};

/// No TCP connection could be made; code() is the errno of the last address
/// tried (ECONNREFUSED gives kind connect_refused).
class ConnectError : public Error {
 public:
  ConnectError(int err, const std::string& where, const std::string& target);
  int code() const noexcept { return code_; }

 private:
  int code_;
};

enum class TimeoutPhase : std::uint8_t {
  connect,  ///< name resolution, TCP connect and TLS handshake took too long
  read,     ///< no byte of the response arrived for read_timeout
  total,    ///< the whole request (redirects included) took too long
};
std::string_view to_string(TimeoutPhase phase) noexcept;

/// A client deadline passed: phase() says which one.
class RequestTimeout : public Error {
 public:
  RequestTimeout(TimeoutPhase phase, std::chrono::nanoseconds limit, const std::string& where);
  TimeoutPhase phase() const noexcept { return phase_; }

 private:
  TimeoutPhase phase_;
};

/// The TLS handshake or a TLS record failed (certificate verification
/// included: the detail carries the verifier's reason).
class TlsError : public Error {
 public:
  TlsError(const std::string& where, const std::string& detail)
      : Error(ErrorKind::tls, where, detail) {}
};

/// The server's response broke HTTP/1.1: malformed status line or header,
/// bad framing, an oversized head, or a message cut short. excerpt() shows the
/// offending bytes (escaped, at most 48 of them).
class ProtocolError : public Error {
 public:
  ProtocolError(const std::string& where, const std::string& what, std::string excerpt);
  const std::string& excerpt() const noexcept { return excerpt_; }

 private:
  std::string excerpt_;
};

/// The response body is larger than the client's max_body_bytes.
class BodyTooLarge : public Error {
 public:
  BodyTooLarge(std::uint64_t limit, const std::string& where);
  std::uint64_t limit() const noexcept { return limit_; }

 private:
  std::uint64_t limit_;
};

/// More redirects than max_redirects (a loop, usually).
class TooManyRedirects : public Error {
 public:
  TooManyRedirects(int limit, const std::string& where);
};

/// The connection failed under an established exchange: reset by the peer,
/// or closed before any byte of the response. code() is the errno (0 for a
/// clean close).
class ConnectionError : public Error {
 public:
  ConnectionError(int err, const std::string& where, const std::string& detail)
      : Error(ErrorKind::connection, where, detail), code_(err) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace weft::http

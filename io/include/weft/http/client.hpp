// weft::http::Client: an HTTP/1.1 client with a keep-alive connection pool,
// redirects, limits, timeouts and https (OpenSSL).
//
//   weft::http::Client client({.total_timeout = 10s});
//   weft::http::ClientResponse r = co_await client.get("https://example.org/");
//   r.status; r.headers.get("content-type"); r.body;
//   co_await client.post("http://127.0.0.1:8080/post", "data", "text/plain");
//
// Behaviour
//  - URLs: weft::http::Url (http and https; IPv6 literals; no credentials).
//    Names resolve through weft::io::resolve (off the workers, cached); names
//    under the reserved ".invalid" TLD (RFC 6761) fail at once without asking
//    the resolver. Each address is tried in turn within connect_timeout.
//  - Pool: connections are kept per origin (scheme, host, port) and reused
//    (keep-alive) when a response was read to its end and neither side said
//    "Connection: close". At most max_connections_per_host are open per
//    origin at a time (requests beyond it wait for one, FIFO, inside their
//    total timeout: a weft::Semaphore per origin); at most max_idle_total
//    idle connections are kept over all origins (the least recently used goes
//    first), none longer than idle_timeout. A pooled connection is checked
//    before reuse (a peer that closed it is noticed without a round trip);
//    if a reused connection still fails before the first byte of the
//    response, an idempotent request (GET, HEAD, PUT, DELETE, OPTIONS, TRACE)
//    is retried once on a fresh connection.
//  - Requests: Host, User-Agent, Accept, Content-Length (for a body) are set
//    unless given; header names and values are checked (no CR/LF injection:
//    std::invalid_argument).
//  - Responses: weft::http::ResponseParser (status line, headers,
//    Content-Length, chunked and close-delimited bodies, interim 1xx
//    skipped). Bodies are kept in ClientResponse::body, or only counted
//    (RequestOptions::keep_body = false).
//  - Redirects (301, 302, 303, 307, 308 with a Location): followed up to
//    max_redirects times (0: returned as they are). 303, and 301/302 after a
//    POST, continue as GET without a body; the others repeat the method and
//    body. More than max_redirects: TooManyRedirects.
//  - Timeouts (weft's timers; 0 disables one): connect_timeout for each
//    connection (TCP + TLS handshake), read_timeout between two reads of the
//    response, total_timeout for the whole request including redirects and
//    the wait for a pooled connection.
//  - https: SNI and verification against the system store by default
//    (verify_tls = false accepts any certificate); TLS runs on the reactor
//    like plain TCP (weft/io/tls.hpp). A body delimited by the end of the
//    connection (no Content-Length, not chunked) must end with the server's
//    close_notify: a bare TCP FIN is a TlsError ("may be truncated").
//  - Failures are weft::http::Error subclasses (client_errors.hpp): InvalidUrl,
//    ResolveError, ConnectError, RequestTimeout, TlsError, ProtocolError,
//    BodyTooLarge, TooManyRedirects, ConnectionError. Cancellation
//    (CancelledError) passes through; the connection in use is closed.
//
// Thread-safety: one Client may be used by any number of tasks on any
// workers at once (the pool takes a mutex for a few pointer moves per
// request, never across I/O). The Client must outlive its requests and be
// destroyed on a thread of the runtime it was used on or after that runtime
// stopped using it (it closes its idle connections). Cost per request on a
// pooled connection: the request head is built in one string and sent with
// one write; the response is parsed from an 8 KiB buffer as it arrives.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "weft/http/client_errors.hpp"
#include "weft/http/headers.hpp"
#include "weft/http/url.hpp"
#include "weft/outcome.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::http {

struct ClientOptions {
  /// Connection set-up: TCP connect (all addresses) plus the TLS handshake.
  Clock::duration connect_timeout = std::chrono::seconds(10);
  /// Longest silence while reading a response.
  Clock::duration read_timeout = std::chrono::seconds(30);
  /// The whole request, redirects included (0: none).
  Clock::duration total_timeout = std::chrono::seconds(120);
  /// Open connections per origin (scheme, host, port), busy or idle.
  std::size_t max_connections_per_host = 10;
  /// Idle connections kept over all origins.
  std::size_t max_idle_total = 256;
  /// An idle connection older than this is closed instead of reused.
  Clock::duration idle_timeout = std::chrono::seconds(30);
  /// Redirects followed per request (0: a redirect is returned as it is).
  int max_redirects = 0;
  /// Status line plus header fields of a response.
  std::size_t max_header_bytes = 64 * 1024;
  /// Decoded response body (BodyTooLarge above it).
  std::uint64_t max_body_bytes = 64ull * 1024 * 1024;
  /// https: verify the server's certificate and name.
  bool verify_tls = true;
  /// https: extra trusted CA certificates (a PEM file and/or PEM text).
  std::string ca_file;
  std::string ca_pem;
  std::string user_agent = "weft-http/0.1";
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  HeaderMap headers;
  std::string body;
};

struct RequestOptions {
  /// Overrides ClientOptions::total_timeout for this request.
  std::optional<Clock::duration> total_timeout;
  /// false: the body is read and counted (body_bytes) but not stored.
  bool keep_body = true;
};

struct ClientResponse {
  int status = 0;
  int version_minor = 1;
  std::string reason;
  HeaderMap headers;
  std::string body;              ///< empty when RequestOptions::keep_body is false
  std::uint64_t body_bytes = 0;  ///< decoded body bytes received
  std::string url;               ///< the URL that answered (after redirects)
  int redirects = 0;             ///< redirects followed
};

/// Counters of a Client's pool (for tests and tuning). Any thread.
struct ClientStats {
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::uint64_t stale_retries = 0;  ///< requests retried after a dead pooled connection
  std::size_t idle = 0;             ///< idle connections now
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Task<ClientResponse> get(std::string url, RequestOptions options = {});
  Task<ClientResponse> head(std::string url, RequestOptions options = {});
  Task<ClientResponse> post(std::string url, std::string body,
                            std::string content_type = "application/octet-stream",
                            RequestOptions options = {});
  /// Any method; see the header comment for what is added and checked.
  Task<ClientResponse> send(ClientRequest request, RequestOptions options = {});
  /// send() for callers that treat failures as data (the crawler): the
  /// response, or the exception send() would throw (a weft::http::Error, or
  /// std::invalid_argument for a bad method or header) without throwing it.
  /// Cheaper than catching: a failure is never rethrown on its way up.
  /// CancelledError still propagates as an exception.
  Task<Outcome<ClientResponse>> try_send(ClientRequest request, RequestOptions options = {});

  ClientStats stats() const;
  /// Closes every idle connection. Any thread.
  void close_idle() noexcept;
  const ClientOptions& options() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::http

// weft::http::Server: a small keep-alive HTTP/1.1 server.
//
//   weft::Task<weft::http::Response> hello(weft::http::Request& req) {
//     co_return weft::http::Response(200, "hello world");
//   }
//   weft::Task<void> main_task() {
//     weft::http::Server server(hello);
//     server.listen(weft::io::SocketAddress::parse("127.0.0.1:8080"));
//     co_await server.serve();        // until server.stop() (any thread)
//   }
//
// Behaviour
//  - One task per connection; requests on a connection are handled one after
//    the other (pipelined requests are parsed from the buffer in order and
//    their responses written together, in order).
//  - Request parsing: weft::http::RequestParser (limits in ServerOptions).
//    A malformed request gets 400 (or 413, 414, 431, 501, 505) with
//    "Connection: close", and the connection closes.
//  - "Expect: 100-continue" gets an interim "100 Continue" before the body is read.
//  - Responses get Content-Length (computed from the body; a handler's
//    Content-Length / Transfer-Encoding fields are replaced; a handler's
//    "Transfer-Encoding: chunked" sends the body to an HTTP/1.1 client in
//    4 KiB chunks instead) and Date; HEAD
//    responses carry no body; 1xx/204/304 carry neither body nor length.
//    Each batch of responses goes out in one write.
//  - A handler that throws gets a 500 (the connection stays usable); one that
//    is cancelled ends its connection.
//  - Closing: when the server ends a connection the client may still send
//    on (after an error response, or a "Connection: close" the client did not
//    ask for, or with pipelined requests left unanswered), it shuts its side
//    down and drains the input for up to 1 s / 64 KiB before closing, so that
//    a reset cannot destroy the last response in flight.
//  - Timeouts: idle_timeout between requests (the connection closes
//    quietly), counted from the end of the last response (or the accept) and
//    never restarted by what is not a request: empty lines between requests
//    are skipped (RFC 9112 2.2) but do not extend it, and more than
//    max_header_bytes of them is a 400. It is enforced by a sweep of the idle
//    connections every idle_timeout / 8 (at most 500 ms), not by a timer per
//    wait: a connection closes between idle_timeout and idle_timeout + a
//    quarter of it (at most + 1 s) after its last response. read_timeout
//    for the rest of a request once its first byte arrived (408, close);
//    write_timeout for each batch of responses (close). All are absolute
//    deadlines.
//  - Connection cap: at most max_connections connections are served at
//    once (by default derived from the process's descriptor limit, so that
//    slow clients cannot exhaust descriptors). A connection accepted at the
//    cap makes room by closing the connection that has been waiting longest
//    for its next request, if one is waiting; otherwise it gets
//    "503 Service Unavailable" (Retry-After: 1) and is closed.
//  - Memory: a request body or a response body larger than 16 KiB is
//    charged to a server-wide budget (max_buffered_bytes) while it is in
//    memory: a body being received from the moment its head announces it
//    (Content-Length in full; a chunked one as it grows), a response from
//    the handler's return until the socket has taken it. A request whose body
//    would pass the budget gets "503 Service Unavailable" (before its body is
//    read: a client that sent "Expect: 100-continue" gets no 100) and the
//    connection closes; a response that would pass it is replaced by a 503.
//    Below the threshold nothing is charged, so a connection holds at most
//    about 100 KiB outside the budget (input buffer, a small body, pipelined
//    responses waiting in one batch). After each response, a body buffer
//    larger than 16 KiB is freed, so idle keep-alive connections keep
//    nothing of a large upload.
//  - Graceful stop (stop(), e.g. from a SIGTERM handler's thread): stops
//    accepting (the listener closes: new connections are refused), closes
//    the connections waiting for a next request at once, lets the others
//    finish the request in progress (its response says "Connection: close";
//    requests pipelined behind it are not read, which that close tells the
//    client, RFC 9112 9.6), for up to
//    shutdown_timeout after stop(); then cancels the connections still
//    running (their handlers see CancelledError) and counts each request
//    they leave without a complete response in
//    ServerStats::requests_dropped (0 whenever the deadline was long enough).
//    serve() returns once every connection has ended (a handler that
//    swallows its cancellation delays it).
//  - https (ServerOptions::tls, a weft::io::TlsAcceptor): each connection's
//    TLS handshake runs in its own task under the acceptor's handshake
//    timeout, then requests are served exactly as above over TLS; a failed
//    handshake (garbage, a plain-HTTP client, a timeout) closes the
//    connection and counts in ServerStats::tls_handshake_failures; a
//    connection ends with close_notify. At the connection cap a TLS
//    connection is closed without a 503 (it would be garbage to a TLS client).
//
// Thread-safety: stop(), stats(), local_address() and active_connections()
// may be called from any thread; listen() and serve() from one task. The Server must
// outlive serve(); connections still running when it is destroyed keep what
// they need alive. Handlers run on any worker, concurrently for different
// connections.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "weft/http/message.hpp"
#include "weft/http/request_parser.hpp"
#include "weft/io/address.hpp"
#include "weft/io/tcp.hpp"
#include "weft/io/tls_server.hpp"
#include "weft/io/unix.hpp"
#include "weft/task.hpp"

namespace weft::http {

using Handler = std::function<Task<Response>(Request&)>;

struct ServerOptions {
  /// Request line + header fields, in bytes (431 above it).
  std::size_t max_header_bytes = 16 * 1024;
  /// Header fields per request (431 above it).
  std::size_t max_headers = 100;
  /// Decoded request body, in bytes (413 above it).
  std::uint64_t max_body_bytes = 8 * 1024 * 1024;
  /// Time a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  /// Time to receive the rest of a request once its first bytes arrived.
  std::chrono::milliseconds read_timeout{30'000};
  /// Time to write one batch of responses.
  std::chrono::milliseconds write_timeout{30'000};
  /// Listen backlog and SO_REUSEPORT (see weft::io::ListenOptions).
  int backlog = 1024;
  bool reuse_port = false;
  /// Connections served at once (see the header comment). 0: automatic,
  /// read at listen(): the soft RLIMIT_NOFILE minus a reserve for the
  /// listener and the process's other files (a quarter of it, at most 256).
  std::size_t max_connections = 0;
  /// Memory, server-wide, for large request bodies being received and large
  /// responses waiting to be sent (see the header comment): 503 past it.
  std::size_t max_buffered_bytes = 256 * 1024 * 1024;
  /// After stop(): how long requests in progress may take before they are
  /// cancelled (see the header comment).
  std::chrono::milliseconds shutdown_timeout{30'000};
  /// https: every connection is a TLS server handshake (under the acceptor's
  /// handshake timeout, in the connection's own task) before its requests.
  /// Unset: plain HTTP.
  std::optional<io::TlsAcceptor> tls = std::nullopt;
};

/// Counters of a Server (for monitoring and tests). Any thread; each value is
/// a recent reading (they are not read at one instant).
struct ServerStats {
  std::uint64_t connections_accepted = 0;
  /// Idle keep-alive connections closed to make room for a new one at the cap.
  std::uint64_t idle_closed_for_room = 0;
  /// Connections answered 503 and closed at the cap (none of the others was idle).
  std::uint64_t rejected_at_capacity = 0;
  /// Connections being served now, and how many of them wait for a next request.
  std::size_t active_connections = 0;
  std::size_t idle_connections = 0;
  /// The connection cap in force (max_connections, or the automatic value).
  std::size_t max_connections = 0;
  /// Requests answered 503 because max_buffered_bytes was reached.
  std::uint64_t rejected_for_memory = 0;
  /// Bytes charged to max_buffered_bytes now, and the most ever charged.
  std::size_t buffered_bytes = 0;
  std::size_t peak_buffered_bytes = 0;
  /// Requests begun but left without a complete response by connections
  /// that the shutdown deadline (or the runtime's end) cancelled.
  std::uint64_t requests_dropped = 0;
  /// https: connections closed because their handshake failed or timed out.
  std::uint64_t tls_handshake_failures = 0;
  /// Keep-alive connections closed by idle_timeout.
  std::uint64_t idle_timeouts = 0;
};

class Server {
 public:
  explicit Server(Handler handler, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and listens (port 0: any free port). Call inside a task, before
  /// serve(). Throws weft::io::IoError.
  io::SocketAddress listen(const io::SocketAddress& addr);
  /// Listens on a Unix domain socket instead (weft::io::UnixListener: a stale
  /// socket file is replaced, the file is removed on stop). One listen() per
  /// server. local_address() then throws weft::io::ClosedError.
  void listen(const io::UnixAddress& addr);
  /// Accepts and serves connections until stop(); then waits for the
  /// connections to finish (within shutdown_timeout, then cancelling them)
  /// and returns. Call once. Cancelling it stops accepting and cancels
  /// nothing else (call stop() for that).
  Task<void> serve();
  /// Graceful stop (see above): returns at once; serve() returns when the
  /// connections have ended. Any thread, also a signal-handling thread (not
  /// a signal handler itself: it takes a mutex); idempotent.
  void stop() noexcept;

  io::SocketAddress local_address() const;
  /// Connections being served right now. Any thread.
  std::size_t active_connections() const noexcept;
  /// Counters (see ServerStats). Any thread; O(connections) (it counts the idle ones).
  ServerStats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace weft::http

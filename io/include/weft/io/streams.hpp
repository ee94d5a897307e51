// asyncio's streams: open_connection / start_server with StreamReader and
// StreamWriter, over TCP, TLS (client and server) and Unix sockets — so that
// asyncio code ports line by line.
//
//   async def handle(reader, writer):            weft::Task<void> handle(StreamReader reader,
//       data = await reader.read(100)                                       StreamWriter writer) {
//       writer.write(data)                         std::string data = co_await reader.read(100);
//       await writer.drain()                       writer.write(data);
//       writer.close()                             co_await writer.drain();
//       await writer.wait_closed()                 writer.close();
//                                                  co_await writer.wait_closed();
//                                                }
//   server = await asyncio.start_server(handle, '127.0.0.1', 8888)
//   async with server: await server.serve_forever()
//                            auto server = co_await weft::io::start_server(handle, "127.0.0.1",
//                            8888); co_await server.serve_forever();
//
//   reader, writer = await asyncio.open_connection('127.0.0.1', 8888)
//                            auto [reader, writer] = co_await
//                            weft::io::open_connection("127.0.0.1", 8888);
//
// Over TLS (asyncio's ssl=):
//   ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
//   ctx.load_cert_chain('cert.pem', 'key.pem')
//   server = await asyncio.start_server(handle, '127.0.0.1', 8443, ssl=ctx)
//                            weft::io::StreamServerOptions o;
//                            o.tls.emplace(weft::io::TlsServerOptions{
//                                .cert_file = "cert.pem", .key_file = "key.pem", .alpn = {}});
//                            auto server = co_await weft::io::start_server(handle, "127.0.0.1",
//                                                                          8443, std::move(o));
//   reader, writer = await asyncio.open_connection('localhost', 8443, ssl=client_ctx)
//                            weft::io::OpenConnectionOptions c;
//                            c.tls = weft::io::TlsContext::client();
//                            co_await weft::io::open_connection("localhost", 8443, std::move(c));
//
// StreamReader (asyncio's methods and errors)
//  - read(n): up to n bytes (at least one unless at EOF, where it returns "");
//    read() / read(-1): everything until EOF. read(0): "".
//  - readline(): through the next "\n"; at EOF whatever is left ("" once
//    nothing is). A line longer than the limit throws LimitOverrunError and,
//    as asyncio does, discards it (through its "\n" if it came, else all
//    that is buffered); asyncio raises ValueError there.
//  - readexactly(n): exactly n bytes, or IncompleteReadError at EOF (partial()
//    holds what came, consumed; expected() is n).
//  - readuntil(sep): through the first `sep`; LimitOverrunError if it does not
//    start within limit() bytes (the data stays buffered; consumed() says how
//    many bytes asyncio would have to drop), IncompleteReadError at EOF (the
//    rest is in partial(), consumed).
//  - at_eof(): the peer has closed and the buffer is empty.
//  - Every wait is cancellable and works inside weft::wait_for /
//    weft::timeout; a cancelled read leaves what was already buffered in the
//    buffer (nothing is lost). Over TLS a cancelled read may leave the TLS
//    record layer mid-record (weft/io/tls.hpp): close the connection then.
//
// StreamWriter (asyncio's methods)
//  - write(data) never suspends: it tries the socket at once and buffers what
//    it could not send; a flush task (spawned on the calling runtime only
//    when needed) sends the rest in the background, as asyncio's transport
//    does. Call it inside a task.
//  - drain(): returns at once while the buffer is at most the high-water mark
//    (64 KiB; set_write_buffer_limits); above it, waits until the flush task
//    has brought it to the low-water mark (16 KiB) — backpressure. Rethrows a
//    write error (IoError: EPIPE, ECONNRESET...). Cancellable.
//  - close(): the buffered bytes are sent, then the transport is closed (TLS:
//    after close_notify); wait_closed() waits for that and rethrows a write
//    error. write_eof(): after the buffer, a half-close (TCP/Unix; not TLS:
//    can_write_eof() is false). write() after close()/write_eof() throws
//    InvalidStateError; after a failed flush it rethrows the error.
//  - The StreamReader of a connection that this side closed reads EOF.
//  - Destroying the StreamWriter closes the connection (after a flush, if a
//    runtime is running; otherwise at once), as asyncio does when the writer
//    is garbage-collected.
//
// Transports (weft/io/byte_stream.hpp): TCP and Unix sockets are full duplex:
// a reader and a writer may be used from two tasks at once. TLS is not
// (TlsStream shares one SSL state between directions): over TLS — either
// side, open_connection's and start_server's options.tls alike — the streams
// layer serialises every transport operation with one lock, and a reader
// sends the writer's buffered bytes before it waits. So a request/response
// exchange in one task works as over TCP, but a read waiting for the peer in
// one task holds back a write from another until it returns.
//
// Thread-safety: one task at a time per StreamReader and per StreamWriter
// (they are two objects: a reader task and a writer task may run at once).
// StreamServer's close(), is_serving(), active_connections() and
// tls_handshake_failures() may be called from any thread. Costs: write() is one send() when nothing
// is buffered (plus a short mutex held for bookkeeping, never across I/O); readline()/readuntil()
// search each buffered byte once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/io/address.hpp"
#include "weft/io/byte_stream.hpp"
#include "weft/io/errors.hpp"
#include "weft/io/tls.hpp"
#include "weft/io/tls_server.hpp"
#include "weft/io/unix.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::io {

/// asyncio.IncompleteReadError: the stream ended before readexactly() /
/// readuntil() could complete. partial() holds the bytes that came.
class IncompleteReadError : public UnexpectedEof {
 public:
  IncompleteReadError(const std::string& what, std::string partial,
                      std::optional<std::size_t> expected);
  /// The requested size (readexactly), or none (readuntil).
  std::optional<std::size_t> expected() const noexcept { return expected_; }

 private:
  std::optional<std::size_t> expected_;
};

/// asyncio.LimitOverrunError: no separator within the reader's limit.
class LimitOverrunError : public LimitExceeded {
 public:
  LimitOverrunError(const std::string& what, std::size_t consumed)
      : LimitExceeded(what), consumed_(consumed) {}
  /// The bytes to drop to get past the overlong data (asyncio's `consumed`).
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

/// asyncio's default limit (2**16).
inline constexpr std::size_t kDefaultStreamLimit = 64 * 1024;

class StreamWriter;

namespace detail {
struct StreamConnection;
/// The connection behind a writer (for the stream server's bookkeeping).
std::shared_ptr<StreamConnection> connection_of(const StreamWriter& w) noexcept;
}  // namespace detail

class StreamReader {
 public:
  StreamReader() noexcept;
  StreamReader(StreamReader&&) noexcept;
  StreamReader& operator=(StreamReader&&) noexcept;
  ~StreamReader();

  /// Up to `n` bytes; n < 0: until EOF (see above).
  Task<std::string> read(long n = -1);
  Task<std::string> readline();
  Task<std::string> readexactly(std::size_t n);
  Task<std::string> readuntil(std::string_view separator = "\n");
  /// Up to `n` bytes into `buf` (buffered bytes first); 0 at EOF. No copy into a string.
  Task<std::size_t> read_into(void* buf, std::size_t n);
  bool at_eof() const noexcept;
  std::size_t limit() const noexcept;
  /// Bytes read from the transport and not yet returned.
  std::size_t buffered() const noexcept;

 private:
  friend std::pair<StreamReader, StreamWriter> make_streams(std::unique_ptr<ByteStream>,
                                                            std::size_t);
  explicit StreamReader(std::shared_ptr<detail::StreamConnection> c) noexcept;
  detail::StreamConnection& conn(const char* what) const;
  std::shared_ptr<detail::StreamConnection> c_;
};

class StreamWriter {
 public:
  StreamWriter() noexcept;
  StreamWriter(StreamWriter&&) noexcept;
  StreamWriter& operator=(StreamWriter&&) noexcept;
  /// Closes the connection (see above).
  ~StreamWriter();

  void write(std::string_view data);
  void writelines(std::initializer_list<std::string_view> lines);
  void writelines(const std::vector<std::string>& lines);
  Task<void> drain();
  bool can_write_eof() const noexcept;
  void write_eof();
  void close();
  bool is_closing() const noexcept;
  Task<void> wait_closed();

  /// asyncio's transport.get_write_buffer_size(): bytes not yet sent.
  std::size_t write_buffer_size() const;
  /// asyncio's transport.set_write_buffer_limits(high, low); low defaults to high / 4.
  void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = {});
  /// get_extra_info('peername') / ('sockname') as text ("" for pipes).
  std::string peer_name() const;
  std::string local_name() const;

 private:
  friend std::pair<StreamReader, StreamWriter> make_streams(std::unique_ptr<ByteStream>,
                                                            std::size_t);
  friend std::shared_ptr<detail::StreamConnection> detail::connection_of(
      const StreamWriter& w) noexcept;
  explicit StreamWriter(std::shared_ptr<detail::StreamConnection> c) noexcept;
  detail::StreamConnection& conn(const char* what) const;
  std::shared_ptr<detail::StreamConnection> c_;
};

/// A reader and writer over any transport (subprocess pipes, a custom ByteStream).
std::pair<StreamReader, StreamWriter> make_streams(std::unique_ptr<ByteStream> transport,
                                                   std::size_t limit = kDefaultStreamLimit);

/// Fill in the members of a named object: `OpenConnectionOptions o; o.tls = ctx;`.
struct OpenConnectionOptions {
  // Not an aggregate on purpose: g++ 12 destroys an aggregate temporary that
  // holds a std::string twice when it is created inside a co_await operand
  // (`co_await open_connection(h, p, {...})`, or the default argument below).
  OpenConnectionOptions() {}
  /// StreamReader's limit.
  std::size_t limit = kDefaultStreamLimit;
  /// asyncio's ssl=: a TLS client context (TlsContext::client()); none: plain TCP.
  std::optional<TlsContext> tls;
  /// asyncio's server_hostname: the name checked and sent as SNI; default: host.
  std::string server_hostname;
  /// Gives up with weft::TimeoutError after this long (connect and TLS handshake); 0: no limit.
  Clock::duration timeout{0};
};

/// asyncio.open_connection(host, port): resolves `host` (weft::io::resolve),
/// connects (each address in turn), and with options.tls does the TLS
/// handshake. Throws DnsError, IoError, TlsError, weft::TimeoutError.
Task<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, std::uint16_t port,
                                                            OpenConnectionOptions options = {});
/// asyncio.open_unix_connection(path).
Task<std::pair<StreamReader, StreamWriter>> open_unix_connection(
    UnixAddress path, std::size_t limit = kDefaultStreamLimit);

/// asyncio's client_connected_cb: runs in its own task per connection.
using ClientConnected = std::function<Task<void>(StreamReader, StreamWriter)>;

/// Fill in the members of a named object: `StreamServerOptions o; o.tls.emplace(...);`.
struct StreamServerOptions {
  // Not an aggregate, for the reason given at OpenConnectionOptions (`tls`
  // holds shared state that a double destruction would free twice).
  StreamServerOptions() {}
  /// StreamReader's limit for each connection.
  std::size_t limit = kDefaultStreamLimit;
  /// listen(2) backlog (asyncio's default: 100).
  int backlog = 100;
  /// SO_REUSEPORT (TCP).
  bool reuse_port = false;
  /// asyncio's ssl=: serve TLS with this acceptor (certificate, key, ALPN,
  /// handshake timeout: weft/io/tls_server.hpp); none: plain TCP. Each
  /// connection's handshake runs in its own task before the callback; see
  /// start_server(). start_server() only (TCP), not start_unix_server().
  std::optional<TlsAcceptor> tls;
};

namespace detail {
struct StreamServerState;
}

/// asyncio.Server: what start_server() / start_unix_server() return. The
/// server accepts from the moment it is returned (start_serving=True).
class StreamServer {
 public:
  StreamServer() noexcept;
  StreamServer(StreamServer&&) noexcept;
  StreamServer& operator=(StreamServer&&) noexcept;
  /// Closes the server (not its connections).
  ~StreamServer();

  /// Stops listening; running connections go on. Any thread; idempotent.
  void close() noexcept;
  /// Waits for close() and for every connection handler to return (asyncio 3.12+).
  Task<void> wait_closed();
  /// Serves until close(); cancelling it closes the server and rethrows.
  Task<void> serve_forever();
  /// asyncio 3.13's close_clients(): closes every connection's writer (their
  /// buffered bytes are still sent); abort_clients() closes the transports at once.
  void close_clients();
  void abort_clients() noexcept;
  bool is_serving() const noexcept;
  /// Connection handlers running now, TLS handshakes in progress included. Any thread.
  std::size_t active_connections() const noexcept;
  /// TLS: connections dropped because their handshake failed or timed out
  /// (the callback never ran for them). Any thread; a statistic.
  std::uint64_t tls_handshake_failures() const noexcept;
  /// The listening addresses (TCP; one per resolved address).
  std::vector<SocketAddress> addresses() const;
  /// The listening address (start_unix_server).
  std::optional<UnixAddress> unix_address() const;

 private:
  friend Task<StreamServer> start_server(ClientConnected, std::string, std::uint16_t,
                                         StreamServerOptions);
  friend Task<StreamServer> start_unix_server(ClientConnected, UnixAddress, StreamServerOptions);
  std::shared_ptr<detail::StreamServerState> st_;
};

/// asyncio.start_server(cb, host, port): listens on every address `host`
/// resolves to ("" or "0.0.0.0"/"::" for all interfaces; with port 0 the
/// later addresses take the first one's port), and runs cb(reader, writer)
/// in a new task for each connection. An exception escaping cb is reported
/// on stderr and closes that connection; the server goes on. Throws DnsError,
/// IoError (EADDRINUSE, ...).
///
/// TLS (asyncio's start_server(cb, host, port, ssl=ctx)): with options.tls
/// each accepted connection does the server handshake in its own task, under
/// the acceptor's handshake timeout, and cb runs once it has succeeded, over
/// a TLS transport (half duplex: see "Transports" above; can_write_eof() is
/// false; close() sends close_notify). A connection whose handshake fails
/// (garbage instead of a ClientHello, a client that stalls past the timeout,
/// a protocol or certificate failure, a reset) is closed without calling cb,
/// counted in tls_handshake_failures() and not reported on stderr. A
/// handshake in progress counts as a connection: close() lets it finish (and
/// its cb run), wait_closed() waits for it, close_clients() and
/// abort_clients() cancel it (its socket is closed, cb never runs; not a
/// failure). Handshakes are not limited in number, as connections are not:
/// the timeout bounds how long a silent client holds its socket. ALPN:
/// TlsServerOptions offers "http/1.1" by default; set `alpn = {}` (or the
/// protocol's own name) for other protocols.
Task<StreamServer> start_server(ClientConnected cb, std::string host, std::uint16_t port,
                                StreamServerOptions options = {});
/// asyncio.start_unix_server(cb, path) (stale socket files replaced, the file
/// removed on close: see UnixListener). TLS over a Unix socket is not
/// offered: options.tls throws std::invalid_argument.
Task<StreamServer> start_unix_server(ClientConnected cb, UnixAddress path,
                                     StreamServerOptions options = {});

}  // namespace weft::io

// TCP: TcpListener (bind, accept) and TcpStream (connect, read, write, ...),
// IPv4 and IPv6, on the runtime's epoll reactor.
//
//   auto listener = weft::io::TcpListener::bind(weft::io::SocketAddress::parse("127.0.0.1:0"));
//   weft::io::TcpStream conn = co_await listener.accept();
//   char buf[4096];
//   std::size_t n = co_await conn.read(buf, sizeof buf);     // 0: the peer closed
//   co_await conn.write_all(buf, n);
//
//   auto c = co_await weft::io::TcpStream::connect(listener.local_address(), 2s);
//
// Semantics
//  - Every operation first tries its syscall; only when it would block does
//    the task wait for the socket's readiness edge (weft/io/reactor.hpp). A
//    waiting task is resumed on a weft worker (scheduled by the thread that
//    saw the edge, never inline).
//  - Every waiting operation is cancellable (CancelledError, nothing is lost:
//    a cancelled read consumed no bytes; a cancelled write_all may have sent
//    a prefix, as with any stream) and works inside weft::wait_for /
//    weft::timeout.
//  - Cooperative budget: a task that keeps finding its socket ready yields
//    every 128 operations so that the others on its worker run too.
//  - Errors throw weft::io::IoError (errno in code(), the operation in
//    what()); an operation on a closed stream, or waiting while another task
//    closes it, throws ClosedError.
//
// Thread-safety: one task may read while another writes the same stream; two
// concurrent readers (or writers) throw InvalidStateError when both wait.
// close() may be called from any thread or task, also while others wait on
// the stream (they wake with ClosedError). Destroying a stream closes it; no
// operation may be running on it then (as for any object). Streams and
// listeners belong to the runtime they were opened on and must not outlive it.
//
// Sockets are created non-blocking and close-on-exec; writes use MSG_NOSIGNAL
// (a vanished peer gives EPIPE, never SIGPIPE).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "weft/io/address.hpp"
#include "weft/io/errors.hpp"
#include "weft/io/reactor.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft::io {

enum class Shutdown { read, write, both };

class TcpStream {
 public:
  /// An empty stream (is_open() is false).
  TcpStream() noexcept = default;
  /// Adopts a registered source (used by accept and connect).
  explicit TcpStream(detail::IoSource* source) noexcept : src_(source) {}
  TcpStream(TcpStream&& o) noexcept : src_(std::exchange(o.src_, nullptr)) {}
  TcpStream& operator=(TcpStream&& o) noexcept;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();

  /// Connects to `addr` (non-blocking connect; the error comes from SO_ERROR).
  /// Throws IoError: ECONNREFUSED, ENETUNREACH, ...
  static Task<TcpStream> connect(SocketAddress addr);
  /// The same, giving up with weft::TimeoutError after `timeout`.
  static Task<TcpStream> connect(SocketAddress addr, Clock::duration timeout);
  /// Resolves `host` (weft::io::resolve) and tries each address in turn;
  /// throws DnsError, or the last address's IoError.
  static Task<TcpStream> connect(std::string host, std::uint16_t port);

  /// Reads at most `n` bytes; returns how many, 0 once the peer has closed
  /// its side (or if n is 0).
  Task<std::size_t> read(void* buf, std::size_t n);
  /// Writes at least one byte (unless n is 0); returns how many.
  Task<std::size_t> write(const void* buf, std::size_t n);
  /// Reads exactly `n` bytes; throws UnexpectedEof if the peer closes first.
  Task<void> read_exact(void* buf, std::size_t n);
  /// Writes all `n` bytes.
  Task<void> write_all(const void* buf, std::size_t n);
  Task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  /// Writes every buffer, in order, with as few sendmsg calls as the socket
  /// allows. The array is used as scratch space (its entries are advanced).
  Task<void> writev_all(iovec* iov, int count);

  /// Non-blocking attempts: bytes, or -1 (detail::kWouldBlock) if the call
  /// would block. Never suspend.
  long try_read(void* buf, std::size_t n);
  long try_write(const void* buf, std::size_t n);
  /// co_await readable() / writable(): waits until the next attempt may
  /// succeed (or the stream is closed / errored). Cancellable.
  detail::ReadinessAwaiter readable();
  detail::ReadinessAwaiter writable();

  /// shutdown(2): no more reads and/or writes (the peer sees EOF after Shutdown::write).
  void shutdown(Shutdown how = Shutdown::write);
  /// TCP_NODELAY (disable Nagle).
  void set_nodelay(bool on = true);
  SocketAddress peer_address() const;
  SocketAddress local_address() const;

  /// Closes the socket; tasks waiting on it wake with ClosedError. Any thread;
  /// idempotent. The object stays valid (is_open() is then false).
  void close() noexcept;
  bool is_open() const noexcept { return src_ && !src_->closed(); }
  int native_handle() const noexcept { return src_ ? src_->fd() : -1; }
  detail::IoSource* source() const noexcept { return src_; }

 private:
  detail::IoSource* require(const char* what) const;
  detail::IoSource* src_ = nullptr;
};

struct ListenOptions {
  /// listen(2) backlog (the kernel caps it at net.core.somaxconn).
  int backlog = 1024;
  /// SO_REUSEPORT: several sockets (processes) may listen on the same port;
  /// the kernel spreads connections between them.
  bool reuse_port = false;
  /// For an IPv6 address: accept IPv6 only (IPV6_V6ONLY); default dual-stack.
  bool v6_only = false;
};

class TcpListener {
 public:
  TcpListener() noexcept;
  TcpListener(TcpListener&&) noexcept;
  TcpListener& operator=(TcpListener&&) noexcept;
  ~TcpListener();

  /// socket + SO_REUSEADDR (+ SO_REUSEPORT) + bind + listen. Port 0 picks a
  /// free port (see local_address()). Must be called on a weft worker (inside
  /// a task). Throws IoError (EADDRINUSE, EACCES, ...).
  static TcpListener bind(const SocketAddress& addr, ListenOptions options = {});

  /// Waits for the next connection. When the process runs out of file
  /// descriptors (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM), it does not
  /// spin: it logs once per listener on stderr and retries after a back-off
  /// (1 ms doubling to 100 ms; the pending connection stays queued).
  /// Throws ClosedError once the listener is closed.
  Task<TcpStream> accept();

  SocketAddress local_address() const;
  /// Stops listening; a task waiting in accept() wakes with ClosedError. Any
  /// thread; idempotent.
  void close() noexcept;
  bool is_open() const noexcept;
  /// How many times accept() backed off for lack of descriptors or memory.
  std::uint64_t resource_backoffs() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> st_;
};

}  // namespace weft::io

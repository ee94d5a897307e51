// Unix domain sockets: UnixListener / UnixStream (SOCK_STREAM) and
// UnixDatagram (SOCK_DGRAM), with filesystem paths, Linux's abstract
// namespace and peer credentials, on the runtime's epoll reactor.
//
//   auto l = weft::io::UnixListener::bind(weft::io::UnixAddress::path("/run/app.sock"));
//   weft::io::UnixStream conn = co_await l.accept();
//   weft::io::PeerCredentials who = conn.peer_credentials();   // pid, uid, gid
//
//   auto c = co_await weft::io::UnixStream::connect(weft::io::UnixAddress::abstract("app"));
//   auto [a, b] = weft::io::UnixStream::pair();                // socketpair(2)
//
// Semantics: those of TcpStream / TcpListener (weft/io/tcp.hpp) and
// UdpSocket (weft/io/udp.hpp) — every operation tries its syscall first and
// waits for readiness only when it would block; waits are cancellable and work
// under weft::wait_for; close() from any thread wakes waiters with
// ClosedError; accept() backs off on EMFILE/ENFILE instead of spinning;
// datagram receives report truncation. Plus:
//  - Filesystem paths: bind() creates the socket file. If the path holds a
//    socket nobody listens on (connect() is refused: a server that died), it
//    is removed and the bind retried; a live socket gives EADDRINUSE, any other
//    file EADDRINUSE with "not a socket". Closing or destroying the listener
//    removes the file again, if it is still the one it created (asyncio's
//    cleanup_socket). Paths are at most 107 bytes.
//  - Abstract names (Linux): no file, nothing to clean up; the name is gone
//    when the last socket bound to it closes. Names are at most 107 bytes
//    and may hold any byte.
//  - peer_credentials(): the peer's pid, uid and gid as the kernel recorded
//    them at connect() / socketpair() time (SO_PEERCRED).
//
// Thread-safety: as for TcpStream / UdpSocket. Sockets belong to the runtime
// they were opened on (pair() included: call it inside a task).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "weft/io/errors.hpp"
#include "weft/io/reactor.hpp"
#include "weft/io/tcp.hpp"
#include "weft/task.hpp"

namespace weft::io {

namespace detail {
/// A socket file bound by this process, removed when its owner closes.
struct SocketFile;
struct SocketFileDeleter {
  void operator()(SocketFile* f) const noexcept;
};
using SocketFilePtr = std::unique_ptr<SocketFile, SocketFileDeleter>;
}  // namespace detail

/// A Unix socket address: a filesystem path, an abstract name, or unnamed
/// (an unbound socket). A value type; no allocation.
class UnixAddress {
 public:
  /// The unnamed address.
  UnixAddress() noexcept;
  /// A filesystem path; throws std::invalid_argument if empty, longer than
  /// 107 bytes, or holding a NUL byte.
  static UnixAddress path(std::string_view p);
  /// A name in Linux's abstract namespace; throws std::invalid_argument if
  /// longer than 107 bytes.
  static UnixAddress abstract(std::string_view name);
  /// From a kernel address (AF_UNIX; anything else throws std::invalid_argument).
  UnixAddress(const sockaddr* sa, socklen_t len);

  bool is_unnamed() const noexcept;
  bool is_abstract() const noexcept;
  bool is_path() const noexcept { return !is_unnamed() && !is_abstract(); }
  /// The path, or the abstract name (without its leading NUL); "" if unnamed.
  std::string name() const;
  /// "/run/app.sock", "@app" (abstract), "(unnamed)".
  std::string to_string() const;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t size() const noexcept { return len_; }

  friend bool operator==(const UnixAddress& a, const UnixAddress& b) noexcept;

 private:
  sockaddr_un addr_;
  socklen_t len_;
};

/// The peer process as the kernel recorded it (SO_PEERCRED).
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

class UnixStream {
 public:
  UnixStream() noexcept = default;
  explicit UnixStream(detail::IoSource* source) noexcept : src_(source) {}
  UnixStream(UnixStream&& o) noexcept : src_(std::exchange(o.src_, nullptr)) {}
  UnixStream& operator=(UnixStream&& o) noexcept;
  UnixStream(const UnixStream&) = delete;
  UnixStream& operator=(const UnixStream&) = delete;
  ~UnixStream();

  /// Connects to `addr`. Throws IoError: ENOENT (no such socket file),
  /// ECONNREFUSED (nobody listens), EAGAIN (the listener's backlog is full), ...
  static Task<UnixStream> connect(UnixAddress addr);
  /// Two connected streams (socketpair(2)). Call inside a task. Throws IoError.
  static std::pair<UnixStream, UnixStream> pair();

  /// As TcpStream's (weft/io/tcp.hpp).
  Task<std::size_t> read(void* buf, std::size_t n);
  Task<std::size_t> write(const void* buf, std::size_t n);
  Task<void> read_exact(void* buf, std::size_t n);
  Task<void> write_all(const void* buf, std::size_t n);
  Task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  Task<void> writev_all(iovec* iov, int count);
  long try_read(void* buf, std::size_t n);
  long try_write(const void* buf, std::size_t n);
  detail::ReadinessAwaiter readable();
  detail::ReadinessAwaiter writable();
  void shutdown(Shutdown how = Shutdown::write);

  PeerCredentials peer_credentials() const;
  UnixAddress local_address() const;
  UnixAddress peer_address() const;

  void close() noexcept;
  bool is_open() const noexcept { return src_ && !src_->closed(); }
  int native_handle() const noexcept { return src_ ? src_->fd() : -1; }
  detail::IoSource* source() const noexcept { return src_; }
  /// Gives up ownership of the registered socket (the caller must release() it).
  detail::IoSource* release_source() noexcept { return std::exchange(src_, nullptr); }

 private:
  detail::IoSource* require(const char* what) const;
  detail::IoSource* src_ = nullptr;
};

struct UnixListenOptions {
  /// listen(2) backlog (capped by net.core.somaxconn).
  int backlog = 1024;
  /// Remove a stale socket file at the path (see above).
  bool remove_stale = true;
  /// Remove the socket file when the listener closes (see above).
  bool cleanup = true;
};

class UnixListener {
 public:
  UnixListener() noexcept;
  UnixListener(UnixListener&&) noexcept;
  UnixListener& operator=(UnixListener&&) noexcept;
  ~UnixListener();

  /// socket + bind + listen. Call inside a task. Throws IoError (EADDRINUSE,
  /// EACCES, ENOENT for a missing directory, ...).
  static UnixListener bind(const UnixAddress& addr, UnixListenOptions options = {});

  /// The next connection (EMFILE/ENFILE/ENOBUFS/ENOMEM: logged once, then
  /// retried after a back-off, as TcpListener::accept). ClosedError once closed.
  Task<UnixStream> accept();

  UnixAddress local_address() const;
  /// Stops listening (and removes the socket file, see above); a waiting
  /// accept() throws ClosedError. Any thread; idempotent.
  void close() noexcept;
  bool is_open() const noexcept;
  std::uint64_t resource_backoffs() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> st_;
};

/// What one datagram receive got.
struct UnixReceived {
  std::size_t size = 0;
  std::size_t datagram_size = 0;
  bool truncated = false;
  /// The sender (unnamed when it did not bind).
  UnixAddress from;
};

class UnixDatagram {
 public:
  UnixDatagram() noexcept = default;
  UnixDatagram(UnixDatagram&& o) noexcept
      : src_(std::exchange(o.src_, nullptr)), file_(std::move(o.file_)) {}
  UnixDatagram& operator=(UnixDatagram&& o) noexcept;
  UnixDatagram(const UnixDatagram&) = delete;
  UnixDatagram& operator=(const UnixDatagram&) = delete;
  ~UnixDatagram();

  /// A socket bound to `addr` (a path: a stale socket file is replaced as for
  /// UnixListener; the file is removed when the socket closes).
  static UnixDatagram bind(const UnixAddress& addr);
  /// An unbound socket (it can send, and receive replies once connected).
  static UnixDatagram unbound();
  /// Two connected sockets (socketpair(2)).
  static std::pair<UnixDatagram, UnixDatagram> pair();

  /// Sets the default destination of send() and the only source recv() accepts.
  void connect(const UnixAddress& peer);
  Task<std::size_t> send_to(const void* buf, std::size_t n, const UnixAddress& to);
  Task<UnixReceived> recv_from(void* buf, std::size_t n);
  Task<std::size_t> send(const void* buf, std::size_t n);
  Task<std::size_t> send(std::string_view s) { return send(s.data(), s.size()); }
  Task<UnixReceived> recv(void* buf, std::size_t n);

  /// The peer of a pair() (SO_PEERCRED); IoError on other sockets.
  PeerCredentials peer_credentials() const;
  UnixAddress local_address() const;

  void close() noexcept;
  bool is_open() const noexcept { return src_ && !src_->closed(); }
  int native_handle() const noexcept { return src_ ? src_->fd() : -1; }

 private:
  UnixDatagram(detail::IoSource* s, detail::SocketFilePtr file) noexcept
      : src_(s), file_(std::move(file)) {}
  detail::IoSource* require(const char* what) const;
  static Task<std::size_t> send_impl(detail::IoSource* s, const void* buf, std::size_t n,
                                     UnixAddress to, bool connected);
  static Task<UnixReceived> recv_impl(detail::IoSource* s, void* buf, std::size_t n,
                                      const char* what);
  detail::IoSource* src_ = nullptr;
  detail::SocketFilePtr file_;
};

}  // namespace weft::io

// TLS servers: TlsAcceptor (the server side of one handshake, under a
// timeout) and TlsListener (a TCP listener whose accept() returns
// connections that have completed their handshake).
//
//   weft::io::TlsAcceptor tls({.cert_file = "cert.pem", .key_file = "key.pem"});
//   auto listener = weft::io::TlsListener::bind(weft::io::SocketAddress::parse("0.0.0.0:8443"),
//   tls); for (;;) {
//     weft::io::TlsStream s = co_await listener.accept();     // handshake done
//     weft::spawn(serve(std::move(s))).detach();
//   }
//
// Or, in a server that runs each connection in its own task (as
// weft::http::Server does with ServerOptions::tls):
//   weft::io::TlsStream s = co_await tls.accept(std::move(tcp));   // in the connection's task
//
// Configuration (TlsServerOptions, weft/io/tls.hpp): the certificate chain
// and key (PEM files or text), ALPN (default "http/1.1"), the handshake
// timeout (default 10 s), an optional SNI callback choosing the certificate
// by name. TLS 1.2 and 1.3 only.
//
// TlsListener runs the handshakes concurrently, off the accept() caller: at
// most max_handshakes at a time, counting the connections that completed
// theirs and wait for accept() (so a listener nobody accepts from stops
// taking connections: they wait in the kernel's backlog). A client that
// sends garbage, stalls, or fails verification never reaches accept(); it is
// closed and counted (handshake_failures()). close() (any thread) stops the
// listener, closes the connections waiting for accept(), cancels the
// handshakes in progress, and wakes accept() with ClosedError.
//
// Cancellation: TlsAcceptor::accept() and TlsListener::accept() are
// cancellable; a cancelled handshake closes its socket, a cancelled
// TlsListener::accept() takes no connection (the next accept() gets it).
//
// Thread-safety: a TlsAcceptor is an immutable value (copies share the
// context); use it from any number of tasks at once. A TlsListener's
// accept() may be called by several tasks at once (each connection goes to
// one of them); close(), local_address() and handshake_failures() from any
// thread. Like TcpListener, it belongs to the runtime it was bound on.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "weft/io/address.hpp"
#include "weft/io/tcp.hpp"
#include "weft/io/tls.hpp"
#include "weft/task.hpp"

namespace weft::io {

class TlsAcceptor {
 public:
  /// Builds the server context. Throws TlsError (unreadable file, bad PEM,
  /// a key that does not match the certificate, a bad ALPN name).
  explicit TlsAcceptor(const TlsServerOptions& options);

  /// The server handshake over `tcp` within the handshake timeout. Throws
  /// TlsHandshakeTimeout, TlsError (the peer's garbage, a failed handshake),
  /// IoError (the socket). The socket is closed on failure.
  Task<TlsStream> accept(TcpStream tcp) const;

  const TlsContext& context() const noexcept { return ctx_; }
  std::chrono::milliseconds handshake_timeout() const noexcept { return timeout_; }

 private:
  TlsContext ctx_;
  std::chrono::milliseconds timeout_;
};

class TlsListener {
 public:
  /// Handshakes in progress plus connections waiting for accept(), at most.
  static constexpr std::size_t kDefaultMaxHandshakes = 64;

  TlsListener() noexcept;
  TlsListener(TlsListener&&) noexcept;
  TlsListener& operator=(TlsListener&&) noexcept;
  /// close()s.
  ~TlsListener();

  /// Binds like TcpListener::bind and starts taking connections and running
  /// their handshakes. Call inside a task. Throws IoError.
  static TlsListener bind(const SocketAddress& addr, TlsAcceptor acceptor,
                          ListenOptions options = {},
                          std::size_t max_handshakes = kDefaultMaxHandshakes);

  /// The next connection whose handshake succeeded (in completion order).
  /// Throws ClosedError once the listener is closed.
  Task<TlsStream> accept();

  SocketAddress local_address() const;
  /// See the header comment. Any thread; idempotent.
  void close() noexcept;
  /// Connections closed because their handshake failed or timed out.
  std::uint64_t handshake_failures() const noexcept;

  struct State;

 private:
  std::shared_ptr<State> st_;
};

}  // namespace weft::io

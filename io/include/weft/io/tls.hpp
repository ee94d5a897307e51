// TLS over a weft TcpStream (OpenSSL), without ever blocking a worker.
//
//   auto ctx = weft::io::TlsContext::client();                 // system CA store, verify on
//   weft::io::TcpStream tcp = co_await weft::io::TcpStream::connect(addr);
//   weft::io::TlsStream tls =
//       co_await weft::io::TlsStream::connect(std::move(tcp), ctx, "example.org");
//   co_await tls.write_all(request);
//   std::size_t n = co_await tls.read(buf, sizeof buf);     // 0: the peer closed
//
// Servers: weft/io/tls_server.hpp (TlsAcceptor with a handshake timeout,
// TlsListener with concurrent handshakes); TlsContext::server() builds the
// configuration both use.
//
// How it stays non-blocking: the SSL object reads and writes two memory BIOs,
// never the socket. When OpenSSL wants input, the stream reads ciphertext from
// the TcpStream (which waits on the reactor like any weft read) into the
// input BIO; whatever OpenSSL wrote to the output BIO (handshake messages,
// records, alerts) is written to the TcpStream before the stream waits for
// input, and before write_all returns. So every wait is a TcpStream wait:
// cancellable, usable under weft::wait_for / weft::timeout, resumed on a
// worker by scheduling (never inline). try_read() / try_write() are the
// non-blocking forms (for loops that wait on readable() themselves, like the
// HTTP server's).
//
// Protocol: TLS 1.2 and 1.3 only; renegotiation refused. ALPN: clients offer
// "http/1.1" by default, servers select from their list (default
// "http/1.1"); a client that offers none of a server's protocols still
// connects, without ALPN.
//
// Verification (client contexts): on by default against the system store
// (OpenSSL's default paths: Debian's ca-certificates), plus `ca_file` /
// `ca_pem` when given; the server's name is checked (a DNS name, or an IP
// address for IP literals) and sent as SNI (names only). `verify = false`
// accepts any certificate (the crawler's --insecure).
//
// A stream whose operation was cancelled or failed mid-record is unusable
// (close it): TLS records cannot be resumed halfway. read() returns 0 at the
// peer's close_notify and also when the TCP stream ends without one;
// truncated() tells the two apart (an attacker who can cut the TCP stream
// ends a message that way, so a message framed by the end of the stream is
// complete only after close_notify; HTTP's client checks it).
//
// Errors: weft::io::TlsError (handshake failures, verification failures with
// the verifier's reason, bad records, unreadable certificate files);
// weft::io::IoError from the socket.
//
// Thread-safety: a TlsContext may be shared by any number of streams and
// threads. A TlsStream is used by one task at a time (unlike TcpStream, a
// reader and a writer may not overlap: they share the SSL state); close()
// may be called from any thread.
//
// Memory: an idle stream keeps its SSL object (OpenSSL's record buffers are
// released while idle) and no buffer of its own; the awaiting operations
// allocate a 17 KiB scratch buffer on first use.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "weft/io/tcp.hpp"
#include "weft/task.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace weft::io {

/// A TLS handshake, verification or record failed, or a TLS configuration
/// is unusable. what() says why (the verifier's reason for certificate
/// problems, the file and OpenSSL's reason for configuration errors).
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A server-side handshake did not complete within its timeout.
class TlsHandshakeTimeout : public TlsError {
 public:
  using TlsError::TlsError;
};

struct TlsClientOptions {
  /// Verify the server's certificate chain and name (off: accept anything).
  bool verify = true;
  /// Trust the system store (OpenSSL's default verify paths).
  bool system_store = true;
  /// Extra trusted certificates: a PEM file, and/or PEM text.
  std::string ca_file = {};
  std::string ca_pem = {};
  /// ALPN protocols offered, in order of preference (empty: no ALPN).
  std::vector<std::string> alpn = {"http/1.1"};
};

class TlsContext;

struct TlsServerOptions {
  /// The certificate chain (leaf first) and its private key: PEM files ...
  std::string cert_file = {};
  std::string key_file = {};
  /// ... or PEM text (used when the file names are empty).
  std::string cert_pem = {};
  std::string key_pem = {};
  /// ALPN protocols the server speaks, in order of preference (empty: no ALPN).
  std::vector<std::string> alpn = {"http/1.1"};
  /// TlsAcceptor / TlsListener: time a client has to complete its handshake.
  std::chrono::milliseconds handshake_timeout{10'000};
  /// Optional: picks the certificate by the name the client sent (SNI). Called
  /// during the handshake, on the worker running it, with the name (never
  /// empty; not called when the client sent none); return a context made by
  /// TlsContext::server() to use its certificate, or nullopt for the default
  /// one. Must be thread-safe and must not block; an exception aborts that
  /// handshake.
  std::function<std::optional<TlsContext>(std::string_view server_name)> sni = {};
};

/// Shared TLS configuration (an SSL_CTX). Copies share it.
class TlsContext {
 public:
  /// A client context. Throws TlsError (unreadable CA file, bad PEM).
  static TlsContext client(const TlsClientOptions& options = {});
  /// A server context: certificate chain and key (files or PEM), ALPN, SNI.
  /// Throws TlsError (unreadable file, bad PEM, a key that does not match).
  static TlsContext server(const TlsServerOptions& options);
  /// A server context from PEM text, with the default options.
  static TlsContext server(std::string_view cert_chain_pem, std::string_view private_key_pem);

  bool verifies() const noexcept { return verify_; }
  SSL_CTX* native_handle() const noexcept { return ctx_.get(); }

 private:
  std::shared_ptr<SSL_CTX> ctx_;
  std::shared_ptr<void> extras_;  // state of the context's callbacks (ALPN list, SNI)
  bool verify_ = false;
};

class TlsStream {
 public:
  TlsStream() noexcept;
  TlsStream(TlsStream&&) noexcept;
  TlsStream& operator=(TlsStream&&) noexcept;
  ~TlsStream();

  /// Client handshake over `tcp` for `server_name` (SNI and name check; an IP
  /// literal is checked as an IP address and sent without SNI).
  static Task<TlsStream> connect(TcpStream tcp, TlsContext ctx, std::string server_name);
  /// Server handshake over an accepted `tcp` (no timeout of its own: see
  /// TlsAcceptor for one).
  static Task<TlsStream> accept(TcpStream tcp, TlsContext ctx);

  /// Reads at most `n` plaintext bytes; 0 once the peer has closed.
  Task<std::size_t> read(void* buf, std::size_t n);
  /// Writes all `n` bytes (sent to the socket before it returns).
  Task<void> write_all(const void* buf, std::size_t n);
  Task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  /// Sends the ciphertext still pending (after try_write()).
  Task<void> flush();
  /// Sends close_notify (best effort; the peer's reply is not awaited).
  Task<void> shutdown();

  /// Non-blocking read: plaintext bytes, 0 at the end of the stream (see
  /// truncated()), or detail::kWouldBlock when nothing can be read without
  /// waiting (then co_await readable()). Never suspends.
  long try_read(void* buf, std::size_t n);
  /// Non-blocking write: encrypts up to `n` bytes (while less than 64 KiB of
  /// ciphertext is pending) and sends what the socket takes now. Returns the
  /// plaintext bytes taken, or detail::kWouldBlock for none; what it took but
  /// could not send yet is pending_output() (send it with flush(), or a later
  /// write). Never suspends.
  long try_write(const void* buf, std::size_t n);
  /// Ciphertext encrypted but not yet sent, in bytes.
  std::size_t pending_output() const noexcept;
  /// Queues close_notify and sends it if the socket takes it now (best effort).
  void try_shutdown() noexcept;
  /// Waits until the socket is readable (for try_read()).
  detail::ReadinessAwaiter readable();

  /// read() returned 0 because the TCP stream ended without the peer's
  /// close_notify (not a clean TLS close).
  bool truncated() const noexcept;

  TcpStream& tcp() noexcept;
  /// Closes the socket (no close_notify). Any thread; idempotent.
  void close() noexcept;
  bool is_open() const noexcept;
  /// The negotiated protocol ("TLSv1.3"), or "" before the handshake.
  std::string version() const;
  /// The ALPN protocol agreed on ("http/1.1"), or "" for none.
  std::string alpn() const;
  /// Server side: the name the client asked for (SNI), or "".
  std::string server_name() const;

  struct State;

 private:
  explicit TlsStream(std::unique_ptr<State> st) noexcept;
  static Task<TlsStream> handshake(std::unique_ptr<State> st, std::string what);
  std::unique_ptr<State> st_;
};

}  // namespace weft::io

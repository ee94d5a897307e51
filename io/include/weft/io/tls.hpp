// TLS over a weft TcpStream (OpenSSL), without ever blocking a worker.
//
//   auto ctx = weft::io::TlsContext::client();                 // system CA store, verify on
//   weft::io::TcpStream tcp = co_await weft::io::TcpStream::connect(addr);
//   weft::io::TlsStream tls = co_await weft::io::TlsStream::connect(std::move(tcp), ctx,
//   "example.org"); co_await tls.write_all(request); std::size_t n = co_await tls.read(buf, sizeof
//   buf);         // 0: the peer closed
//
// How it stays non-blocking: the SSL object reads and writes two memory BIOs,
// never the socket. When OpenSSL wants input, the stream reads ciphertext from
// the TcpStream (which waits on the reactor like any weft read) into the
// input BIO; whatever OpenSSL wrote to the output BIO (handshake messages,
// records, alerts) is written to the TcpStream before the stream waits for
// input, and before write_all returns. So every wait is a TcpStream wait:
// cancellable, usable under weft::wait_for / weft::timeout, resumed on a
// worker by scheduling (never inline).
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
// the verifier's reason, bad records); weft::io::IoError from the socket.
//
// Thread-safety: a TlsContext may be shared by any number of streams and
// threads. A TlsStream is used by one task at a time (unlike TcpStream, a
// reader and a writer may not overlap: they share the SSL state).
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "weft/io/tcp.hpp"
#include "weft/task.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace weft::io {

/// A TLS handshake, verification or record failed. what() says why (the
/// verifier's reason for certificate problems).
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TlsClientOptions {
  /// Verify the server's certificate chain and name (off: accept anything).
  bool verify = true;
  /// Trust the system store (OpenSSL's default verify paths).
  bool system_store = true;
  /// Extra trusted certificates: a PEM file, and/or PEM text.
  std::string ca_file;
  std::string ca_pem;
};

/// Shared TLS configuration (an SSL_CTX). Copies share it.
class TlsContext {
 public:
  /// A client context. Throws TlsError (unreadable CA file, bad PEM).
  static TlsContext client(const TlsClientOptions& options = {});
  /// A server context with a certificate chain and its private key (PEM text).
  static TlsContext server(std::string_view cert_chain_pem, std::string_view private_key_pem);

  bool verifies() const noexcept { return verify_; }
  SSL_CTX* native_handle() const noexcept { return ctx_.get(); }

 private:
  std::shared_ptr<SSL_CTX> ctx_;
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
  /// Server handshake over an accepted `tcp`.
  static Task<TlsStream> accept(TcpStream tcp, TlsContext ctx);

  /// Reads at most `n` plaintext bytes; 0 once the peer has closed.
  Task<std::size_t> read(void* buf, std::size_t n);
  /// Writes all `n` bytes (sent to the socket before it returns).
  Task<void> write_all(const void* buf, std::size_t n);
  Task<void> write_all(std::string_view s) { return write_all(s.data(), s.size()); }
  /// Sends close_notify (best effort; the peer's reply is not awaited).
  Task<void> shutdown();

  /// read() returned 0 because the TCP stream ended without the peer's
  /// close_notify (not a clean TLS close).
  bool truncated() const noexcept;

  TcpStream& tcp() noexcept;
  /// Closes the socket (no close_notify). Any thread; idempotent.
  void close() noexcept;
  bool is_open() const noexcept;
  /// The negotiated protocol ("TLSv1.3"), or "" before the handshake.
  std::string version() const;

  struct State;

 private:
  explicit TlsStream(std::unique_ptr<State> st) noexcept;
  static Task<TlsStream> handshake(std::unique_ptr<State> st, std::string what);
  std::unique_ptr<State> st_;
};

}  // namespace weft::io

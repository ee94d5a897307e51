// TlsContext and TlsStream: OpenSSL over two memory BIOs, pumped through a
// TcpStream. OpenSSL's error queue is per thread and a task may move between
// workers at every co_await, so each SSL call is followed by its error
// handling before the next suspension.
#include "weft/io/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace weft::io {

namespace {

/// Scratch for ciphertext in and out: one TLS record (16 KiB) plus its overhead.
constexpr std::size_t kScratch = 17 * 1024;
/// Plaintext handed to SSL_write at a time (one record), so the ciphertext
/// buffered in the output BIO stays small.
constexpr std::size_t kWriteChunk = 16 * 1024;
/// try_write() encrypts no more while this much ciphertext waits: the
/// output BIO holds about one socket's worth, not a whole large response.
constexpr std::size_t kMaxPendingOutput = 64 * 1024;

/// The reason of the oldest queued OpenSSL error, or "" (the queue is cleared).
std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  std::string r;
  if (e != 0) {
    const char* reason = ERR_reason_error_string(e);
    if (reason) {
      r = reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      r = buf;
    }
  }
  ERR_clear_error();
  return r;
}

[[noreturn]] void throw_config(const std::string& what) {
  std::string reason = openssl_reason();
  throw TlsError("weft::io::TlsContext: " + what + (reason.empty() ? "" : ": " + reason));
}

void add_pem_certificates(SSL_CTX* ctx, std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) throw_config("out of memory");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, x);
    X509_free(x);
    ++added;
  }
  BIO_free(bio);
  ERR_clear_error();  // the read that ended the loop queued "no start line"
  if (added == 0) throw TlsError("weft::io::TlsContext: ca_pem holds no PEM certificate");
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

/// ALPN's wire format: each protocol as a length byte and its name.
std::string alpn_wire(const std::vector<std::string>& protocols, const char* who) {
  std::string w;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255)
      throw TlsError(std::string("weft::io::TlsContext: ") + who +
                     ": an ALPN protocol name must be 1-255 bytes");
    w.push_back(static_cast<char>(p.size()));
    w.append(p);
  }
  return w;
}

/// The whole of a PEM file; TlsError naming the file if it cannot be read.
std::string read_file(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw TlsError(std::string("weft::io::TlsContext: cannot read ") + what + " file " + path +
                   ": " + std::strerror(errno));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

/// A server context's callback state (kept alive by every TlsContext copy,
/// so by every TlsStream made from it).
struct ServerExtras {
  std::string alpn;  // wire format
  std::function<std::optional<TlsContext>(std::string_view)> sni;
};

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const auto* x = static_cast<const ServerExtras*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(x->alpn.data()),
                            static_cast<unsigned int>(x->alpn.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int select_certificate(SSL* ssl, int* alert, void* arg) {
  const auto* x = static_cast<const ServerExtras*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!x->sni || !name || !*name) return SSL_TLSEXT_ERR_OK;
  try {
    std::optional<TlsContext> c = x->sni(name);
    // SSL_set_SSL_CTX takes its own reference: `c` may go.
    if (c && !SSL_set_SSL_CTX(ssl, c->native_handle())) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
  } catch (...) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

/// Settings every context of ours shares: TLS 1.2+, no renegotiation, record
/// buffers released while idle.
void common_settings(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

}  // namespace

TlsContext TlsContext::client(const TlsClientOptions& o) {
  TlsContext c;
  c.ctx_.reset(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  if (!c.ctx_) throw_config("SSL_CTX_new failed");
  SSL_CTX* ctx = c.ctx_.get();
  common_settings(ctx);
  c.verify_ = o.verify;
  SSL_CTX_set_verify(ctx, o.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (o.verify && o.system_store && SSL_CTX_set_default_verify_paths(ctx) != 1)
    throw_config("cannot load the system certificate store");
  if (!o.ca_file.empty() && SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1)
    throw_config("cannot load CA file " + o.ca_file);
  if (!o.ca_pem.empty()) add_pem_certificates(ctx, o.ca_pem);
  if (!o.alpn.empty()) {
    const std::string w = alpn_wire(o.alpn, "client");
    // SSL_CTX_set_alpn_protos returns 0 on success.
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(w.data()),
                                static_cast<unsigned int>(w.size())) != 0)
      throw_config("cannot set the ALPN protocols");
  }
  return c;
}

TlsContext TlsContext::server(std::string_view chain_pem, std::string_view key_pem) {
  TlsServerOptions o;
  o.cert_pem = std::string(chain_pem);
  o.key_pem = std::string(key_pem);
  return server(o);
}

TlsContext TlsContext::server(const TlsServerOptions& o) {
  const std::string chain_pem =
      o.cert_file.empty() ? o.cert_pem : read_file(o.cert_file, "certificate");
  const std::string key_pem = o.key_file.empty() ? o.key_pem : read_file(o.key_file, "key");
  const std::string cert_what = o.cert_file.empty() ? "certificate PEM" : o.cert_file;
  const std::string key_what = o.key_file.empty() ? "private key PEM" : o.key_file;
  if (chain_pem.empty()) throw TlsError("weft::io::TlsContext: no server certificate given");
  if (key_pem.empty()) throw TlsError("weft::io::TlsContext: no private key given");
  TlsContext c;
  c.ctx_.reset(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!c.ctx_) throw_config("SSL_CTX_new failed");
  SSL_CTX* ctx = c.ctx_.get();
  common_settings(ctx);
  BIO* bio = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
  X509* leaf = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    BIO_free(bio);
    throw_config("bad server certificate (" + cert_what + ")");
  }
  X509_free(leaf);  // the context holds its own reference
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) {  // takes ownership on success
      X509_free(extra);
      BIO_free(bio);
      throw_config("bad chain certificate (" + cert_what + ")");
    }
  }
  BIO_free(bio);
  ERR_clear_error();
  bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!key) throw_config("bad private key (" + key_what + ")");
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    EVP_PKEY_free(key);
    throw_config("the key (" + key_what + ") does not match the certificate (" + cert_what + ")");
  }
  EVP_PKEY_free(key);
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw_config("the key (" + key_what + ") does not match the certificate (" + cert_what + ")");
  auto extras = std::make_shared<ServerExtras>();
  extras->alpn = alpn_wire(o.alpn, "server");
  extras->sni = o.sni;
  if (!extras->alpn.empty()) SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, extras.get());
  if (extras->sni) {
    SSL_CTX_set_tlsext_servername_callback(ctx, &select_certificate);
    SSL_CTX_set_tlsext_servername_arg(ctx, extras.get());
  }
  c.extras_ = std::move(extras);
  return c;
}

struct TlsStream::State {
  TcpStream tcp;
  TlsContext ctx;  // keeps the SSL_CTX (and its callbacks' state) alive as long as the SSL
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // ciphertext from the peer (owned by ssl)
  BIO* out = nullptr;  // ciphertext to the peer (owned by ssl)
  std::unique_ptr<char[]> scratch_;
  bool handshake_done = false;
  bool truncated = false;  // read() ended at a TCP EOF without close_notify

  State(TcpStream t, TlsContext c, bool server) : tcp(std::move(t)), ctx(std::move(c)) {
    ssl = SSL_new(ctx.native_handle());
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    if (!ssl || !in || !out) {
      BIO_free(in);
      BIO_free(out);
      SSL_free(ssl);
      ssl = nullptr;
      throw_config("SSL_new failed");
    }
    SSL_set_bio(ssl, in, out);  // ssl owns both now
    if (server)
      SSL_set_accept_state(ssl);
    else
      SSL_set_connect_state(ssl);
  }
  ~State() { SSL_free(ssl); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  /// The buffer of the awaiting operations, allocated on first use.
  char* scratch() {
    if (!scratch_) scratch_.reset(new char[kScratch]);
    return scratch_.get();
  }

  /// Why the last SSL call failed with `err` (call before any co_await).
  std::string failure(const std::string& what, int err) const {
    long verify = SSL_get_verify_result(ssl);
    std::string reason = openssl_reason();
    if (!handshake_done && verify != X509_V_OK)
      return what + ": certificate verify failed: " + X509_verify_cert_error_string(verify);
    if (!reason.empty()) return what + ": " + reason;
    if (err == SSL_ERROR_SYSCALL) return what + ": unexpected end of the TLS stream";
    return what + ": TLS error " + std::to_string(err);
  }

  /// Drops `n` bytes that were sent from the front of the output BIO.
  void discard_output(std::size_t n) noexcept {
    char sink[4096];
    while (n > 0) {
      int k = BIO_read(out, sink, static_cast<int>(std::min(n, sizeof sink)));
      if (k <= 0) return;
      n -= static_cast<std::size_t>(k);
    }
  }

  /// Sends pending ciphertext while the socket takes it; true once none is left.
  bool try_flush() {
    for (;;) {
      char* p = nullptr;
      long pending = BIO_get_mem_data(out, &p);
      if (pending <= 0) return true;
      long w = tcp.try_write(p, static_cast<std::size_t>(pending));
      if (w == detail::kWouldBlock) return false;
      discard_output(static_cast<std::size_t>(w));
      if (w < pending) return false;  // the socket is full
    }
  }
};

namespace {

using State = TlsStream::State;

/// Writes everything OpenSSL queued in the output BIO to the socket.
Task<void> flush_all(State& s) {
  for (;;) {
    // The BIO's own bytes: nothing else touches it until this returns (one
    // task per stream), so the pointer stays valid across the write.
    char* p = nullptr;
    long pending = BIO_get_mem_data(s.out, &p);
    if (pending <= 0) co_return;
    std::size_t w = co_await s.tcp.write(p, static_cast<std::size_t>(pending));
    s.discard_output(w);
  }
}

/// Flushes, then reads ciphertext into the input BIO; false at end of stream.
Task<bool> read_more(State& s) {
  co_await flush_all(s);
  std::size_t n = co_await s.tcp.read(s.scratch(), kScratch);
  if (n == 0) co_return false;
  BIO_write(s.in, s.scratch(), static_cast<int>(n));
  co_return true;
}

}  // namespace

TlsStream::TlsStream() noexcept = default;
TlsStream::TlsStream(std::unique_ptr<State> st) noexcept : st_(std::move(st)) {}
TlsStream::TlsStream(TlsStream&&) noexcept = default;
TlsStream& TlsStream::operator=(TlsStream&&) noexcept = default;
TlsStream::~TlsStream() = default;

Task<TlsStream> TlsStream::handshake(std::unique_ptr<State> st, std::string what) {
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(st->ssl);
    int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(st->ssl, r);
    std::string failure;
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
      failure = st->failure(what, err);
    if (!failure.empty()) {
      // Send the alert OpenSSL queued, so the peer learns why; it may be gone.
      try {
        co_await flush_all(*st);
      } catch (const IoError&) {
      }
      throw TlsError(failure);
    }
    if (r == 1) {
      co_await flush_all(*st);
      st->handshake_done = true;
      break;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      co_await flush_all(*st);
      continue;
    }
    bool more = co_await read_more(*st);
    if (!more) throw TlsError(what + ": the peer closed the connection during the handshake");
  }
  st->scratch_.reset();  // an idle stream keeps no buffer
  co_return TlsStream(std::move(st));
}

Task<TlsStream> TlsStream::connect(TcpStream tcp, TlsContext ctx, std::string server_name) {
  auto st = std::make_unique<State>(std::move(tcp), ctx, false);
  const bool ip = is_ip_literal(server_name);
  if (!ip && SSL_set_tlsext_host_name(st->ssl, server_name.c_str()) != 1)
    throw TlsError("weft::io::TlsStream::connect: invalid server name '" + server_name + "'");
  if (ctx.verifies()) {
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(st->ssl), server_name.c_str())
                : SSL_set1_host(st->ssl, server_name.c_str());
    if (ok != 1) throw TlsError("weft::io::TlsStream::connect: cannot check name " + server_name);
  }
  co_return co_await handshake(std::move(st), "TLS handshake with " + server_name);
}

Task<TlsStream> TlsStream::accept(TcpStream tcp, TlsContext ctx) {
  auto st = std::make_unique<State>(std::move(tcp), std::move(ctx), true);
  co_return co_await handshake(std::move(st), "TLS handshake (server)");
}

Task<std::size_t> TlsStream::read(void* buf, std::size_t n) {
  if (!st_) throw ClosedError("weft::io::TlsStream::read (empty TlsStream)");
  State& s = *st_;
  if (n == 0) co_return 0;
  for (;;) {
    ERR_clear_error();
    std::size_t got = 0;
    int r = SSL_read_ex(s.ssl, buf, n, &got);
    if (r == 1) {
      if (BIO_ctrl_pending(s.out) > 0) co_await flush_all(s);  // e.g. a KeyUpdate answer
      co_return got;
    }
    int err = SSL_get_error(s.ssl, r);
    if (err == SSL_ERROR_ZERO_RETURN) co_return 0;  // close_notify
    if (err == SSL_ERROR_WANT_READ) {
      bool more = co_await read_more(s);
      if (!more) {
        s.truncated = true;  // the TCP stream ended without close_notify
        co_return 0;
      }
      continue;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      co_await flush_all(s);
      continue;
    }
    throw TlsError(s.failure("TLS read", err));
  }
}

Task<void> TlsStream::write_all(const void* buf, std::size_t n) {
  if (!st_) throw ClosedError("weft::io::TlsStream::write_all (empty TlsStream)");
  State& s = *st_;
  auto* p = static_cast<const char*>(buf);
  std::size_t done = 0;
  while (done < n) {
    ERR_clear_error();
    std::size_t w = 0;
    int r = SSL_write_ex(s.ssl, p + done, std::min(n - done, kWriteChunk), &w);
    if (r == 1) {
      done += w;
      co_await flush_all(s);
      continue;
    }
    int err = SSL_get_error(s.ssl, r);
    if (err == SSL_ERROR_WANT_WRITE) {
      co_await flush_all(s);
      continue;
    }
    if (err != SSL_ERROR_WANT_READ) throw TlsError(s.failure("TLS write", err));
    bool more = co_await read_more(s);
    if (!more) throw TlsError("TLS write: the peer closed the connection");
  }
}

Task<void> TlsStream::flush() {
  if (!st_) throw ClosedError("weft::io::TlsStream::flush (empty TlsStream)");
  co_await flush_all(*st_);
}

Task<void> TlsStream::shutdown() {
  if (!st_) co_return;
  ERR_clear_error();
  SSL_shutdown(st_->ssl);  // queues close_notify
  ERR_clear_error();
  co_await flush_all(*st_);
}

long TlsStream::try_read(void* buf, std::size_t n) {
  if (!st_) throw ClosedError("weft::io::TlsStream::try_read (empty TlsStream)");
  State& s = *st_;
  if (n == 0) return 0;
  // Ciphertext read from the socket goes through here into the input BIO
  // before anything can suspend: one buffer per thread is enough.
  thread_local char ciphertext[kScratch];
  for (;;) {
    ERR_clear_error();
    std::size_t got = 0;
    int r = SSL_read_ex(s.ssl, buf, n, &got);
    if (r == 1) {
      s.try_flush();  // e.g. a KeyUpdate answer; what does not go now goes with the next write
      return static_cast<long>(got);
    }
    int err = SSL_get_error(s.ssl, r);
    if (err == SSL_ERROR_ZERO_RETURN) return 0;  // close_notify
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
      throw TlsError(s.failure("TLS read", err));
    s.try_flush();
    long m = s.tcp.try_read(ciphertext, sizeof ciphertext);
    if (m == detail::kWouldBlock) return detail::kWouldBlock;
    if (m == 0) {
      s.truncated = true;  // the TCP stream ended without close_notify
      return 0;
    }
    BIO_write(s.in, ciphertext, static_cast<int>(m));
  }
}

long TlsStream::try_write(const void* buf, std::size_t n) {
  if (!st_) throw ClosedError("weft::io::TlsStream::try_write (empty TlsStream)");
  State& s = *st_;
  auto* p = static_cast<const char*>(buf);
  std::size_t done = 0;
  s.try_flush();
  while (done < n && BIO_ctrl_pending(s.out) < kMaxPendingOutput) {
    ERR_clear_error();
    std::size_t w = 0;
    int r = SSL_write_ex(s.ssl, p + done, std::min(n - done, kWriteChunk), &w);
    if (r != 1) {
      // Memory BIOs never ask to wait for writing, and renegotiation is off:
      // anything but success is a failure of the stream.
      throw TlsError(s.failure("TLS write", SSL_get_error(s.ssl, r)));
    }
    done += w;
    s.try_flush();
  }
  return done == 0 && n > 0 ? detail::kWouldBlock : static_cast<long>(done);
}

std::size_t TlsStream::pending_output() const noexcept {
  return st_ ? BIO_ctrl_pending(st_->out) : 0;
}

void TlsStream::try_shutdown() noexcept {
  if (!st_ || !st_->handshake_done) return;
  ERR_clear_error();
  SSL_shutdown(st_->ssl);  // queues close_notify
  ERR_clear_error();
  try {
    st_->try_flush();
  } catch (const IoError&) {
    // The peer is gone: nobody to tell.
  }
}

detail::ReadinessAwaiter TlsStream::readable() {
  if (!st_) throw ClosedError("weft::io::TlsStream::readable (empty TlsStream)");
  return st_->tcp.readable();
}

bool TlsStream::truncated() const noexcept {
  return st_ && st_->truncated;
}

TcpStream& TlsStream::tcp() noexcept {
  return st_->tcp;
}

void TlsStream::close() noexcept {
  if (st_) st_->tcp.close();
}

bool TlsStream::is_open() const noexcept {
  return st_ && st_->tcp.is_open();
}

std::string TlsStream::version() const {
  if (!st_ || !st_->handshake_done) return "";
  return SSL_get_version(st_->ssl);
}

std::string TlsStream::alpn() const {
  if (!st_ || !st_->handshake_done) return "";
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(st_->ssl, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string TlsStream::server_name() const {
  if (!st_) return "";
  const char* n = SSL_get_servername(st_->ssl, TLSEXT_NAMETYPE_host_name);
  return n ? n : "";
}

}  // namespace weft::io

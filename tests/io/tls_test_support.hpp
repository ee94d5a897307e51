// Helpers for the TLS tests: a throw-away self-signed certificate made with
// OpenSSL at run time (no files, no network), and a tiny HTTPS server on
// weft::io::TlsStream that answers every request with "hello".
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>  // mkdtemp

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "io_test_support.hpp"
#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace weft::iotest {

/// A temporary directory, removed with its files when it goes.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/weft-tls-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("TempDir: mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

/// Runs `cmd` through the shell (call it off the workers: weft::to_thread);
/// its stdout and stderr.
inline std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  ::pclose(p);
  return out;
}

/// A client that does not speak TLS: sends `bytes` on a fresh connection
/// (then keeps it open, or half-closes it), and reads until the server
/// closes; returns the bytes it got back.
inline Task<std::string> hostile(io::SocketAddress addr, std::string bytes, bool half_close) {
  io::TcpStream c = co_await io::TcpStream::connect(addr);
  if (!bytes.empty()) co_await c.write_all(bytes);
  if (half_close) c.shutdown(io::Shutdown::write);
  std::string got;
  char buf[4096];
  try {
    for (;;) {
      std::size_t n = co_await c.read(buf, sizeof buf);
      if (n == 0) break;
      got.append(buf, n);
    }
  } catch (const io::IoError&) {
    // A reset is a close too.
  }
  co_return got;
}

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

/// A self-signed P-256 certificate for `san` ("DNS:localhost,IP:127.0.0.1").
inline TestCert make_cert(const std::string& san) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  if (!key || !x) throw std::runtime_error("make_cert: OpenSSL allocation failed");
  X509_set_version(x, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("weft test"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  const std::pair<int, std::string> exts[] = {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_subject_alt_name, san},
  };
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!e) throw std::runtime_error("make_cert: bad extension " + value);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  X509_sign(x, key, EVP_sha256());
  TestCert out;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  out.cert_pem.assign(p, static_cast<std::size_t>(n));
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  n = BIO_get_mem_data(b, &p);
  out.key_pem.assign(p, static_cast<std::size_t>(n));
  BIO_free(b);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

/// An HTTPS server on 127.0.0.1: every request gets 200 with `body`
/// (keep-alive). With `handshake = false` it accepts TCP and never answers.
class TlsServer {
 public:
  TlsServer(const TestCert& cert, std::string body, bool handshake = true)
      : ctx_(io::TlsContext::server(cert.cert_pem, cert.key_pem)),
        listener_(io::TcpListener::bind(io::SocketAddress::loopback_v4(0))),
        body_(std::move(body)),
        handshake_(handshake) {}

  std::uint16_t port() const { return listener_.local_address().port(); }
  int handshakes() const { return handshakes_.load(); }

  Task<void> serve() {
    co_await iotest::serve_until_closed(
        listener_, [this](io::TcpStream s) { return spawn(connection(this, std::move(s))); });
  }
  void stop() noexcept { listener_.close(); }

 private:
  static Task<void> connection(TlsServer* self, io::TcpStream param) {
    io::TcpStream tcp = std::move(param);
    if (!self->handshake_) {
      co_await weft::sleep(std::chrono::hours(1));
      co_return;
    }
    try {
      io::TlsStream tls = co_await io::TlsStream::accept(std::move(tcp), self->ctx_);
      self->handshakes_.fetch_add(1);
      io::BufferedReader<io::TlsStream> in(tls);
      for (;;) {
        co_await in.read_until("\r\n\r\n", 64 * 1024);
        std::string resp =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(self->body_.size()) +
            "\r\n\r\n" + self->body_;
        co_await tls.write_all(resp);
      }
    } catch (const io::TlsError&) {
    } catch (const io::IoError&) {
    }
  }

  io::TlsContext ctx_;
  io::TcpListener listener_;
  std::string body_;
  bool handshake_;
  std::atomic<int> handshakes_{0};
};

}  // namespace weft::iotest

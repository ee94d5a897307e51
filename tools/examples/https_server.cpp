// An https server: weft::http::Server with ServerOptions::tls (a
// weft::io::TlsAcceptor on OpenSSL: certificate + key, ALPN http/1.1,
// TLS 1.2+, a handshake timeout).
//
//   https_server                     makes a throw-away self-signed
//                                    certificate, serves on 127.0.0.1, asks
//                                    itself for / with weft's client (which
//                                    trusts that certificate), prints, stops
//   https_server CERT KEY [PORT]     serves 127.0.0.1:PORT (default 8443) with
//                                    the PEM files until SIGTERM or SIGINT
//                                    (try: curl --cacert CERT https://localhost:8443/)
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace http = weft::http;
namespace io = weft::io;

namespace {

weft::Task<http::Response> hello(http::Request& req) {
  if (req.path() != "/") co_return http::Response(404, "not found\n");
  co_return http::Response(200, "hello over TLS\n");
}

/// A self-signed P-256 certificate for localhost and 127.0.0.1, valid a day.
std::pair<std::string, std::string> self_signed() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, key, EVP_sha256());
  auto pem = [](auto write) {
    BIO* b = BIO_new(BIO_s_mem());
    write(b);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
  };
  std::string cert = pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
  std::string pkey =
      pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);
  return {cert, pkey};
}

weft::Task<void> self_test() {
  auto [cert, key] = self_signed();
  http::ServerOptions o;
  o.tls.emplace(io::TlsServerOptions{.cert_pem = cert, .key_pem = key});
  http::Server server(hello, o);
  const io::SocketAddress addr = server.listen(io::SocketAddress::loopback_v4(0));
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  http::ClientOptions co;
  co.ca_pem = cert;  // trust the throw-away certificate (and the system store)
  http::Client client(co);
  const std::string url = "https://localhost:" + std::to_string(addr.port()) + "/";
  http::ClientResponse r = co_await client.get(url);
  std::printf("GET https://localhost/ -> %d %s", r.status, r.body.c_str());
  server.stop();
  co_await serving;
  std::printf("handshake failures: %llu\n",
              static_cast<unsigned long long>(server.stats().tls_handshake_failures));
}

weft::Task<void> serve_files(std::string cert, std::string key, int port) {
  http::ServerOptions o;
  o.tls.emplace(io::TlsServerOptions{.cert_file = cert, .key_file = key});
  http::Server server(hello, o);
  const io::SocketAddress addr =
      server.listen(io::SocketAddress::loopback_v4(static_cast<std::uint16_t>(port)));
  std::printf("serving https://%s/ until SIGTERM or SIGINT\n", addr.to_string().c_str());
  std::fflush(stdout);
  // The signal, the plain POSIX way: blocked everywhere (main() did, before
  // the runtime started), taken by one thread, which stops the server.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  std::thread waiter([&server, set] {
    int sig = 0;
    sigwait(&set, &sig);
    server.stop();
  });
  std::exception_ptr error;
  try {
    co_await server.serve();
  } catch (...) {
    error = std::current_exception();
    pthread_kill(waiter.native_handle(), SIGTERM);  // ends its sigwait()
  }
  waiter.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 3) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGTERM);
      sigaddset(&set, SIGINT);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts
      weft::run(serve_files(argv[1], argv[2], argc > 3 ? std::atoi(argv[3]) : 8443));
    } else {
      weft::run(self_test());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "https_server: %s\n", e.what());
    return 1;
  }
  return 0;
}

// SocketAddress: an IPv4 or IPv6 address with a port, as the TCP calls take
// and return it.
//
//   auto a = weft::io::SocketAddress::parse("127.0.0.1:8080");
//   auto b = weft::io::SocketAddress::parse("[::1]:8080");
//   auto c = weft::io::SocketAddress("::1", 8080);
//   auto d = weft::io::SocketAddress::loopback_v4(0);    // port 0: the kernel picks one
//
// A value type (trivially copyable storage, no allocation). Parsing accepts
// numeric addresses only; names go through weft::io::resolve (dns.hpp).
// Bad input throws std::invalid_argument naming the text that was rejected.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace weft::io {

class SocketAddress {
 public:
  /// The unspecified IPv4 address 0.0.0.0:0.
  SocketAddress() noexcept;
  /// A numeric IPv4 ("10.0.0.1") or IPv6 ("::1", "fe80::1%lo") address and a port.
  SocketAddress(std::string_view ip, std::uint16_t port);
  /// From a kernel address (AF_INET or AF_INET6; anything else throws).
  SocketAddress(const sockaddr* sa, socklen_t len);

  /// "1.2.3.4:80" or "[::1]:80".
  static SocketAddress parse(std::string_view text);
  static SocketAddress loopback_v4(std::uint16_t port) { return {"127.0.0.1", port}; }
  static SocketAddress loopback_v6(std::uint16_t port) { return {"::1", port}; }
  static SocketAddress any_v4(std::uint16_t port) { return {"0.0.0.0", port}; }
  static SocketAddress any_v6(std::uint16_t port) { return {"::", port}; }

  int family() const noexcept { return storage_.ss_family; }
  bool is_v4() const noexcept { return family() == AF_INET; }
  bool is_v6() const noexcept { return family() == AF_INET6; }
  std::uint16_t port() const noexcept;
  void set_port(std::uint16_t port) noexcept;
  /// The address without the port: "1.2.3.4", "::1".
  std::string ip() const;
  /// "1.2.3.4:80", "[::1]:80".
  std::string to_string() const;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t len_;
};

}  // namespace weft::io

// SocketAddress: numeric parsing and formatting (inet_pton / inet_ntop).
#include "weft/io/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace weft::io {
namespace {

[[noreturn]] void bad(std::string_view text, const char* why) {
  throw std::invalid_argument("weft::io::SocketAddress: '" + std::string(text) + "' " + why);
}

}  // namespace

SocketAddress::SocketAddress() noexcept : storage_{}, len_(sizeof(sockaddr_in)) {
  storage_.ss_family = AF_INET;
}

SocketAddress::SocketAddress(std::string_view ip, std::uint16_t port) : storage_{}, len_(0) {
  if (ip.empty() || ip.size() > INET6_ADDRSTRLEN + IF_NAMESIZE) bad(ip, "is not an IP address");
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  if (ip.find(':') == std::string_view::npos) {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage_);
    if (inet_pton(AF_INET, buf, &a->sin_addr) != 1) bad(ip, "is not an IPv4 address");
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    len_ = sizeof(sockaddr_in);
    return;
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&storage_);
  if (char* pct = std::strchr(buf, '%')) {  // scope id: "fe80::1%eth0" or "%2"
    *pct = '\0';
    const char* scope = pct + 1;
    unsigned idx = if_nametoindex(scope);
    if (idx == 0) {
      auto [p, ec] = std::from_chars(scope, scope + std::strlen(scope), idx);
      if (ec != std::errc() || *p != '\0') bad(ip, "has an unknown IPv6 scope (interface)");
    }
    a->sin6_scope_id = idx;
  }
  if (inet_pton(AF_INET6, buf, &a->sin6_addr) != 1) bad(ip, "is not an IPv6 address");
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  len_ = sizeof(sockaddr_in6);
}

SocketAddress::SocketAddress(const sockaddr* sa, socklen_t len) : storage_{}, len_(len) {
  if (!sa || (sa->sa_family == AF_INET && len < static_cast<socklen_t>(sizeof(sockaddr_in))) ||
      (sa->sa_family == AF_INET6 && len < static_cast<socklen_t>(sizeof(sockaddr_in6))) ||
      (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || len > sizeof(storage_))
    throw std::invalid_argument("weft::io::SocketAddress: not an IPv4 or IPv6 socket address");
  std::memcpy(&storage_, sa, len);
}

SocketAddress SocketAddress::parse(std::string_view text) {
  std::string_view host, port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      bad(text, "is not of the form [IPv6]:port");
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) bad(text, "has no port (expected IP:port)");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos)
      bad(text, "is ambiguous: write IPv6 addresses as [addr]:port");
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() ||
      port > 65535)
    bad(text, "has an invalid port (expected 0-65535)");
  return SocketAddress(host, static_cast<std::uint16_t>(port));
}

std::uint16_t SocketAddress::port() const noexcept {
  if (is_v6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

void SocketAddress::set_port(std::uint16_t port) noexcept {
  if (is_v6())
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  else
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
}

std::string SocketAddress::ip() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (is_v6()) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    std::string s(buf);
    if (a->sin6_scope_id != 0) s += "%" + std::to_string(a->sin6_scope_id);
    return s;
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
  return buf;
}

std::string SocketAddress::to_string() const {
  if (is_v6()) return "[" + ip() + "]:" + std::to_string(port());
  return ip() + ":" + std::to_string(port());
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.len_ == b.len_ && std::memcmp(&a.storage_, &b.storage_, a.len_) == 0;
}

}  // namespace weft::io

// UdpSocket: bind/connect, datagram send and receive loops over the
// reactor's readiness, socket options and multicast membership.
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "datagram_ops.hpp"
#include "weft/io/udp.hpp"
#include "weft/yield.hpp"

namespace weft::io {

using detail::Direction;
using detail::IoSource;

namespace {

constexpr const char* kSendTo = "weft::io::UdpSocket::send_to";
constexpr const char* kSend = "weft::io::UdpSocket::send";
constexpr const char* kRecvFrom = "weft::io::UdpSocket::recv_from";
constexpr const char* kRecv = "weft::io::UdpSocket::recv";
constexpr const char* kUdpLimit = "at most 65507 bytes over IPv4, 65527 over IPv6";

std::string describe(const sockaddr* a, socklen_t len) {
  try {
    return SocketAddress(a, len).to_string();
  } catch (const std::invalid_argument&) {
    return "(an address that is not IPv4 or IPv6)";
  }
}

}  // namespace

UdpSocket& UdpSocket::operator=(UdpSocket&& o) noexcept {
  if (this != &o) {
    if (src_) src_->release();
    src_ = std::exchange(o.src_, nullptr);
  }
  return *this;
}

UdpSocket::~UdpSocket() {
  if (src_) src_->release();
}

IoSource* UdpSocket::require(const char* what) const {
  if (!src_) throw ClosedError(std::string(what) + " (empty UdpSocket)");
  return src_;
}

UdpSocket UdpSocket::bind(const SocketAddress& addr, UdpOptions options) {
  const std::string what = "weft::io::UdpSocket::bind(" + addr.to_string() + ")";
  int fd = ::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IoError(errno, what + ": socket()");
  auto fail = [&](const char* step) {
    int e = errno;
    ::close(fd);
    throw IoError(e, what + step);
  };
  int one = 1;
  if (options.reuse_address && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    fail(": SO_REUSEADDR");
  if (options.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    fail(": SO_REUSEPORT");
  if (options.broadcast && ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0)
    fail(": SO_BROADCAST");
  if (addr.is_v6()) {
    int v6only = options.v6_only ? 1 : 0;
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0)
      fail(": IPV6_V6ONLY");
  }
  if (::bind(fd, addr.data(), addr.size()) < 0) fail("");
  // Writable at once; readable only once a datagram comes (the first receive
  // still tries its syscall: readiness starts set, as for a new TCP stream).
  return UdpSocket(IoSource::open(fd, detail::kReadable | detail::kWritable));
}

void UdpSocket::connect(const SocketAddress& peer) {
  IoSource* s = require("weft::io::UdpSocket::connect");
  detail::OpGuard guard(s, "weft::io::UdpSocket::connect");
  if (::connect(s->fd(), peer.data(), peer.size()) < 0)
    throw IoError(errno, "weft::io::UdpSocket::connect(" + peer.to_string() + ")");
}

Task<std::size_t> UdpSocket::send_impl(IoSource* s, const void* buf, std::size_t n,
                                       SocketAddress to, bool connected) {
  const char* what = connected ? kSend : kSendTo;
  if (!s) throw ClosedError(std::string(what) + " (empty UdpSocket)");
  if (!weft::detail::consume_budget()) co_await weft::yield();
  for (;;) {
    long r = detail::try_send_datagram(s, buf, n, connected ? nullptr : to.data(),
                                       connected ? 0 : to.size(), what, &describe, kUdpLimit);
    if (r != detail::kWouldBlock) co_return static_cast<std::size_t>(r);
    co_await s->wait(Direction::write);
  }
}

Task<std::size_t> UdpSocket::send_to(const void* buf, std::size_t n, const SocketAddress& to) {
  return send_impl(src_, buf, n, to, false);  // `to` is copied into the frame
}

Task<std::size_t> UdpSocket::send(const void* buf, std::size_t n) {
  return send_impl(src_, buf, n, SocketAddress(), true);
}

Task<UdpReceived> UdpSocket::recv_impl(IoSource* s, void* buf, std::size_t n, const char* what) {
  if (!s) throw ClosedError(std::string(what) + " (empty UdpSocket)");
  // Yield before the syscall, never after it: a cancellation delivered at the
  // yield must not lose a datagram already received.
  if (!weft::detail::consume_budget()) co_await weft::yield();
  sockaddr_storage from{};
  socklen_t len = 0;
  detail::DatagramSizes sz;
  while (!detail::try_recv_datagram(s, buf, n, &from, &len, &sz, what))
    co_await s->wait(Direction::read);
  UdpReceived r;
  r.size = sz.size;
  r.datagram_size = sz.full;
  r.truncated = sz.truncated;
  if (len > 0) r.from = SocketAddress(reinterpret_cast<const sockaddr*>(&from), len);
  co_return r;
}

Task<UdpReceived> UdpSocket::recv_from(void* buf, std::size_t n) {
  return recv_impl(src_, buf, n, kRecvFrom);
}

Task<UdpReceived> UdpSocket::recv(void* buf, std::size_t n) {
  return recv_impl(src_, buf, n, kRecv);
}

int UdpSocket::family() const {
  return local_address().family();
}

void UdpSocket::membership(const SocketAddress& group, unsigned ifindex, bool join) {
  const char* what =
      join ? "weft::io::UdpSocket::join_multicast" : "weft::io::UdpSocket::leave_multicast";
  IoSource* s = require(what);
  detail::OpGuard guard(s, what);
  int r;
  if (group.is_v4()) {
    ip_mreqn m{};
    m.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(group.data())->sin_addr;
    m.imr_address.s_addr = htonl(INADDR_ANY);
    m.imr_ifindex = static_cast<int>(ifindex);
    r = ::setsockopt(s->fd(), IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m,
                     sizeof m);
  } else {
    ipv6_mreq m{};
    m.ipv6mr_multiaddr = reinterpret_cast<const sockaddr_in6*>(group.data())->sin6_addr;
    m.ipv6mr_interface = ifindex;
    r = ::setsockopt(s->fd(), IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m,
                     sizeof m);
  }
  if (r < 0) {
    int e = errno;
    std::string msg =
        std::string(what) + "(" + group.ip() + ", interface " + std::to_string(ifindex) + ")";
    if (e == EINVAL) msg += ": not a multicast address, or not of this socket's family";
    if (e == ENODEV) msg += ": no such interface, or no multicast route to choose one";
    throw IoError(e, msg);
  }
}

void UdpSocket::join_multicast(const SocketAddress& group, unsigned interface_index) {
  membership(group, interface_index, true);
}

void UdpSocket::leave_multicast(const SocketAddress& group, unsigned interface_index) {
  membership(group, interface_index, false);
}

namespace {
void set_int(IoSource* s, int level, int name, int v, const char* what) {
  detail::OpGuard guard(s, what);
  if (::setsockopt(s->fd(), level, name, &v, sizeof v) < 0) throw IoError(errno, what);
}
}  // namespace

void UdpSocket::set_multicast_interface(unsigned ifindex) {
  const char* what = "weft::io::UdpSocket::set_multicast_interface";
  IoSource* s = require(what);
  if (family() == AF_INET6) {
    set_int(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, static_cast<int>(ifindex), what);
    return;
  }
  detail::OpGuard guard(s, what);
  ip_mreqn m{};
  m.imr_ifindex = static_cast<int>(ifindex);
  if (::setsockopt(s->fd(), IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) < 0)
    throw IoError(errno, std::string(what) + "(" + std::to_string(ifindex) + ")");
}

void UdpSocket::set_multicast_loop(bool on) {
  const char* what = "weft::io::UdpSocket::set_multicast_loop";
  IoSource* s = require(what);
  if (family() == AF_INET6)
    set_int(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on ? 1 : 0, what);
  else
    set_int(s, IPPROTO_IP, IP_MULTICAST_LOOP, on ? 1 : 0, what);
}

void UdpSocket::set_multicast_ttl(int hops) {
  const char* what = "weft::io::UdpSocket::set_multicast_ttl";
  IoSource* s = require(what);
  if (family() == AF_INET6)
    set_int(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops, what);
  else
    set_int(s, IPPROTO_IP, IP_MULTICAST_TTL, hops, what);
}

void UdpSocket::set_ttl(int hops) {
  const char* what = "weft::io::UdpSocket::set_ttl";
  IoSource* s = require(what);
  if (family() == AF_INET6)
    set_int(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops, what);
  else
    set_int(s, IPPROTO_IP, IP_TTL, hops, what);
}

SocketAddress UdpSocket::local_address() const {
  IoSource* s = require("weft::io::UdpSocket::local_address");
  detail::OpGuard guard(s, "weft::io::UdpSocket::local_address");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(s->fd(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
    throw IoError(errno, "weft::io::UdpSocket::local_address");
  return SocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

SocketAddress UdpSocket::peer_address() const {
  IoSource* s = require("weft::io::UdpSocket::peer_address");
  detail::OpGuard guard(s, "weft::io::UdpSocket::peer_address");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(s->fd(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
    throw IoError(errno, "weft::io::UdpSocket::peer_address");
  return SocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

void UdpSocket::close() noexcept {
  if (src_) src_->close();
}

}  // namespace weft::io

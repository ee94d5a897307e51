// UDP: UdpSocket (bind, connect, send_to / recv_from, send / recv,
// IPv4 and IPv6, broadcast, multicast), on the runtime's epoll reactor.
//
//   auto sock = weft::io::UdpSocket::bind(weft::io::SocketAddress::parse("127.0.0.1:0"));
//   char buf[2048];
//   weft::io::UdpReceived d = co_await sock.recv_from(buf, sizeof buf);
//   if (d.truncated) ...                              // the datagram was longer than buf
//   co_await sock.send_to(buf, d.size, d.from);       // echo it back
//
//   auto c = weft::io::UdpSocket::bind(weft::io::SocketAddress::loopback_v4(0));
//   c.connect(server_address);                        // default peer; others are filtered
//   co_await c.send("ping", 4);
//   weft::io::UdpReceived r = co_await c.recv(buf, sizeof buf);
//
// Semantics
//  - One call sends or receives one whole datagram. A receive into a buffer
//    shorter than the datagram stores what fits, drops the rest (the kernel
//    does) and says so: `truncated` is true and `datagram_size` is the full
//    length. A datagram too large to send (over 65,507 bytes of payload on
//    IPv4, 65,527 on IPv6) throws IoError (EMSGSIZE) naming both sizes.
//  - Every operation first tries its syscall and waits for readiness only if
//    it would block (weft/io/reactor.hpp); the task is resumed by scheduling.
//    A waiting receive is cancellable (CancelledError: no datagram is
//    consumed) and works inside weft::wait_for / weft::timeout.
//  - On a connected socket, an ICMP "port unreachable" for an earlier send
//    is reported by a later send or recv as IoError (ECONNREFUSED); the
//    socket stays usable. An unconnected socket does not see such errors.
//  - Cooperative budget: a task that keeps finding datagrams yields every
//    128 operations.
//
// Thread-safety: like TcpStream — one task may receive while another sends;
// two concurrent receivers (or senders) throw InvalidStateError when both
// wait. close() from any thread wakes waiting tasks with ClosedError.
// Sockets belong to the runtime they were opened on and must not outlive it.
// Cost: one recvmsg / sendmsg per datagram; no allocation.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

#include "weft/io/address.hpp"
#include "weft/io/errors.hpp"
#include "weft/io/reactor.hpp"
#include "weft/task.hpp"

namespace weft::io {

/// What one receive got.
struct UdpReceived {
  /// Bytes stored in the buffer.
  std::size_t size = 0;
  /// The datagram's length; larger than `size` when it was truncated.
  std::size_t datagram_size = 0;
  /// The datagram did not fit in the buffer; its tail is lost.
  bool truncated = false;
  /// The sender.
  SocketAddress from;
};

struct UdpOptions {
  /// SO_REUSEADDR (needed by several sockets joining one multicast group and port).
  bool reuse_address = false;
  /// SO_REUSEPORT: several sockets on one port; the kernel spreads datagrams.
  bool reuse_port = false;
  /// For an IPv6 address: IPv6 only (IPV6_V6ONLY); default dual-stack.
  bool v6_only = false;
  /// SO_BROADCAST: allow sending to broadcast addresses.
  bool broadcast = false;
};

class UdpSocket {
 public:
  /// An empty socket (is_open() is false).
  UdpSocket() noexcept = default;
  UdpSocket(UdpSocket&& o) noexcept : src_(std::exchange(o.src_, nullptr)) {}
  UdpSocket& operator=(UdpSocket&& o) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  /// socket + options + bind (port 0: any free port; see local_address()).
  /// Call inside a task. Throws IoError (EADDRINUSE, EACCES, ...).
  static UdpSocket bind(const SocketAddress& addr, UdpOptions options = {});

  /// connect(2): sets the default destination of send() and the only source
  /// recv() accepts. Never blocks. Throws IoError (e.g. EAFNOSUPPORT for a
  /// peer of the other family).
  void connect(const SocketAddress& peer);

  /// Sends one datagram to `to`; returns its size.
  Task<std::size_t> send_to(const void* buf, std::size_t n, const SocketAddress& to);
  /// Receives one datagram and its sender.
  Task<UdpReceived> recv_from(void* buf, std::size_t n);
  /// send_to / recv_from on a connected socket (the peer of connect()).
  Task<std::size_t> send(const void* buf, std::size_t n);
  Task<std::size_t> send(std::string_view s) { return send(s.data(), s.size()); }
  Task<UdpReceived> recv(void* buf, std::size_t n);

  /// Joins (leaves) the multicast group `group` (its port is ignored) on the
  /// interface with index `interface_index` (0: the kernel's choice by route).
  void join_multicast(const SocketAddress& group, unsigned interface_index = 0);
  void leave_multicast(const SocketAddress& group, unsigned interface_index = 0);
  /// IP_MULTICAST_IF / IPV6_MULTICAST_IF: the interface multicast datagrams
  /// are sent on (0: by route; needed where no route covers the group, e.g.
  /// on the loopback interface).
  void set_multicast_interface(unsigned interface_index);
  /// IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: receive our own multicast datagrams.
  void set_multicast_loop(bool on);
  /// IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS.
  void set_multicast_ttl(int hops);
  /// IP_TTL / IPV6_UNICAST_HOPS.
  void set_ttl(int hops);

  SocketAddress local_address() const;
  /// The connected peer; throws IoError (ENOTCONN) if not connected.
  SocketAddress peer_address() const;

  /// Closes the socket; waiting tasks wake with ClosedError. Any thread; idempotent.
  void close() noexcept;
  bool is_open() const noexcept { return src_ && !src_->closed(); }
  int native_handle() const noexcept { return src_ ? src_->fd() : -1; }

 private:
  explicit UdpSocket(detail::IoSource* s) noexcept : src_(s) {}
  detail::IoSource* require(const char* what) const;
  int family() const;
  void membership(const SocketAddress& group, unsigned interface_index, bool join);
  static Task<std::size_t> send_impl(detail::IoSource* s, const void* buf, std::size_t n,
                                     SocketAddress to, bool connected);
  static Task<UdpReceived> recv_impl(detail::IoSource* s, void* buf, std::size_t n,
                                     const char* what);
  detail::IoSource* src_ = nullptr;
};

}  // namespace weft::io

// UnixDatagram: bind / unbound / socketpair, connect, datagram loops over
// datagram_ops (shared with UdpSocket).
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "datagram_ops.hpp"
#include "unix_socket_file.hpp"
#include "unix_sockopts.hpp"
#include "weft/io/unix.hpp"
#include "weft/yield.hpp"

namespace weft::io {

using detail::Direction;
using detail::IoSource;

namespace {

constexpr const char* kSendTo = "weft::io::UnixDatagram::send_to";
constexpr const char* kSend = "weft::io::UnixDatagram::send";
constexpr const char* kRecvFrom = "weft::io::UnixDatagram::recv_from";
constexpr const char* kRecv = "weft::io::UnixDatagram::recv";
constexpr const char* kLimit = "a Unix datagram must fit the socket's send buffer, SO_SNDBUF";

std::string describe(const sockaddr* a, socklen_t len) {
  try {
    return UnixAddress(a, len).to_string();
  } catch (const std::invalid_argument&) {
    return "(not a Unix socket address)";
  }
}

int dgram_socket(const std::string& what) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IoError(errno, what + ": socket()");
  return fd;
}

}  // namespace

UnixDatagram& UnixDatagram::operator=(UnixDatagram&& o) noexcept {
  if (this != &o) {
    if (src_) src_->release();
    src_ = std::exchange(o.src_, nullptr);
    file_ = std::move(o.file_);
  }
  return *this;
}

UnixDatagram::~UnixDatagram() {
  if (src_) src_->release();
}

IoSource* UnixDatagram::require(const char* what) const {
  if (!src_) throw ClosedError(std::string(what) + " (empty UnixDatagram)");
  return src_;
}

UnixDatagram UnixDatagram::bind(const UnixAddress& addr) {
  const std::string what = "weft::io::UnixDatagram::bind(" + addr.to_string() + ")";
  int fd = dgram_socket(what);
  detail::SocketFilePtr file;
  try {
    file = detail::bind_unix(fd, SOCK_DGRAM, addr, true, true, what);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return UnixDatagram(IoSource::open(fd, detail::kReadable | detail::kWritable), std::move(file));
}

UnixDatagram UnixDatagram::unbound() {
  int fd = dgram_socket("weft::io::UnixDatagram::unbound");
  return UnixDatagram(IoSource::open(fd, detail::kReadable | detail::kWritable), nullptr);
}

std::pair<UnixDatagram, UnixDatagram> UnixDatagram::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
    throw IoError(errno, "weft::io::UnixDatagram::pair: socketpair()");
  UnixDatagram a;
  try {
    a = UnixDatagram(IoSource::open(fds[0], detail::kReadable | detail::kWritable), nullptr);
  } catch (...) {
    ::close(fds[1]);  // open() closed fds[0]
    throw;
  }
  UnixDatagram b(IoSource::open(fds[1], detail::kReadable | detail::kWritable), nullptr);
  return {std::move(a), std::move(b)};
}

void UnixDatagram::connect(const UnixAddress& peer) {
  IoSource* s = require("weft::io::UnixDatagram::connect");
  detail::OpGuard guard(s, "weft::io::UnixDatagram::connect");
  if (::connect(s->fd(), peer.data(), peer.size()) < 0)
    throw IoError(errno, "weft::io::UnixDatagram::connect(" + peer.to_string() + ")");
}

Task<std::size_t> UnixDatagram::send_impl(IoSource* s, const void* buf, std::size_t n,
                                          UnixAddress to, bool connected) {
  const char* what = connected ? kSend : kSendTo;
  if (!s) throw ClosedError(std::string(what) + " (empty UnixDatagram)");
  if (!weft::detail::consume_budget()) co_await weft::yield();
  for (;;) {
    long r = detail::try_send_datagram(s, buf, n, connected ? nullptr : to.data(),
                                       connected ? 0 : to.size(), what, &describe, kLimit);
    if (r != detail::kWouldBlock) co_return static_cast<std::size_t>(r);
    co_await s->wait(Direction::write);  // the receiver's queue is full
  }
}

Task<std::size_t> UnixDatagram::send_to(const void* buf, std::size_t n, const UnixAddress& to) {
  return send_impl(src_, buf, n, to, false);  // `to` is copied into the frame
}

Task<std::size_t> UnixDatagram::send(const void* buf, std::size_t n) {
  return send_impl(src_, buf, n, UnixAddress(), true);
}

Task<UnixReceived> UnixDatagram::recv_impl(IoSource* s, void* buf, std::size_t n,
                                           const char* what) {
  if (!s) throw ClosedError(std::string(what) + " (empty UnixDatagram)");
  // Yield before the syscall, never after it (nothing received may be lost).
  if (!weft::detail::consume_budget()) co_await weft::yield();
  sockaddr_storage from{};
  socklen_t len = 0;
  detail::DatagramSizes sz;
  while (!detail::try_recv_datagram(s, buf, n, &from, &len, &sz, what))
    co_await s->wait(Direction::read);
  UnixReceived r;
  r.size = sz.size;
  r.datagram_size = sz.full;
  r.truncated = sz.truncated;
  if (len > 0) r.from = UnixAddress(reinterpret_cast<const sockaddr*>(&from), len);
  co_return r;
}

Task<UnixReceived> UnixDatagram::recv_from(void* buf, std::size_t n) {
  return recv_impl(src_, buf, n, kRecvFrom);
}

Task<UnixReceived> UnixDatagram::recv(void* buf, std::size_t n) {
  return recv_impl(src_, buf, n, kRecv);
}

PeerCredentials UnixDatagram::peer_credentials() const {
  return detail::unix_peer_credentials(require("weft::io::UnixDatagram::peer_credentials"),
                                       "weft::io::UnixDatagram::peer_credentials");
}

UnixAddress UnixDatagram::local_address() const {
  return detail::unix_sock_name(require("weft::io::UnixDatagram::local_address"), false,
                                "weft::io::UnixDatagram::local_address");
}

void UnixDatagram::close() noexcept {
  if (src_) src_->close();
  if (file_) file_->remove();
}

}  // namespace weft::io

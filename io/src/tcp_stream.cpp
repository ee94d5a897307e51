// TcpStream: connect, socket options; the read/write loops are stream_ops.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "stream_ops.hpp"
#include "weft/io/tcp.hpp"

namespace weft::io {

using detail::Direction;
using detail::IoSource;
using detail::kWouldBlock;

namespace {
constexpr const char* kRead = "weft::TcpStream::read";
constexpr const char* kWrite = "weft::TcpStream::write";

std::string connect_what(const SocketAddress& addr) {
  return "weft::TcpStream::connect(" + addr.to_string() + ")";
}
}  // namespace

TcpStream& TcpStream::operator=(TcpStream&& o) noexcept {
  if (this != &o) {
    if (src_) src_->release();
    src_ = std::exchange(o.src_, nullptr);
  }
  return *this;
}

TcpStream::~TcpStream() {
  if (src_) src_->release();
}

IoSource* TcpStream::require(const char* what) const {
  if (!src_) throw ClosedError(std::string(what) + " (empty TcpStream)");
  return src_;
}

Task<TcpStream> TcpStream::connect(SocketAddress addr) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IoError(errno, connect_what(addr) + ": socket()");
  // EINTR on a non-blocking connect: the handshake goes on, as with EINPROGRESS.
  int r = ::connect(fd, addr.data(), addr.size());
  if (r < 0 && errno != EINPROGRESS && errno != EINTR) {
    int e = errno;
    ::close(fd);
    throw IoError(e, connect_what(addr));
  }
  // Registered after connect(): epoll reports the state at registration, so
  // a handshake that already finished is not missed, and a socket that never
  // connected does not report a spurious hang-up.
  TcpStream s(IoSource::open(fd, r == 0 ? detail::kReadable | detail::kWritable : 0));
  if (r < 0) {
    co_await s.src_->wait(Direction::write);
    int err = 0;
    socklen_t len = sizeof err;
    {
      detail::OpGuard guard(s.src_, "weft::TcpStream::connect");
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    }
    if (err != 0) throw IoError(err, connect_what(addr));
  }
  co_return s;
}

Task<TcpStream> TcpStream::connect(SocketAddress addr, Clock::duration timeout) {
  co_return co_await weft::wait_for(connect(addr), timeout);
}

Task<std::size_t> TcpStream::read(void* buf, std::size_t n) {
  return detail::stream_read(src_, buf, n, kRead);
}

Task<std::size_t> TcpStream::write(const void* buf, std::size_t n) {
  return detail::stream_write(src_, buf, n, kWrite);
}

Task<void> TcpStream::read_exact(void* buf, std::size_t n) {
  return detail::stream_read_exact(src_, buf, n, "weft::TcpStream::read_exact");
}

Task<void> TcpStream::write_all(const void* buf, std::size_t n) {
  return detail::stream_write_all(src_, buf, n, "weft::TcpStream::write_all");
}

Task<void> TcpStream::writev_all(iovec* iov, int count) {
  return detail::stream_writev_all(src_, iov, count, "weft::TcpStream::writev_all");
}

long TcpStream::try_read(void* buf, std::size_t n) {
  return require(kRead)->try_read(buf, n, kRead);
}

long TcpStream::try_write(const void* buf, std::size_t n) {
  return require(kWrite)->try_write(buf, n, kWrite);
}

detail::ReadinessAwaiter TcpStream::readable() {
  return require("weft::TcpStream::readable")->wait(Direction::read);
}

detail::ReadinessAwaiter TcpStream::writable() {
  return require("weft::TcpStream::writable")->wait(Direction::write);
}

void TcpStream::shutdown(Shutdown how) {
  int h = how == Shutdown::read ? SHUT_RD : how == Shutdown::write ? SHUT_WR : SHUT_RDWR;
  detail::stream_shutdown(require("weft::TcpStream::shutdown"), h, "weft::TcpStream::shutdown");
}

void TcpStream::set_nodelay(bool on) {
  IoSource* s = require("weft::TcpStream::set_nodelay");
  detail::OpGuard guard(s, "weft::TcpStream::set_nodelay");
  int v = on ? 1 : 0;
  if (::setsockopt(s->fd(), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0)
    throw IoError(errno, "weft::TcpStream::set_nodelay");
}

SocketAddress TcpStream::peer_address() const {
  IoSource* s = require("weft::TcpStream::peer_address");
  detail::OpGuard guard(s, "weft::TcpStream::peer_address");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(s->fd(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
    throw IoError(errno, "weft::TcpStream::peer_address");
  return SocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

SocketAddress TcpStream::local_address() const {
  IoSource* s = require("weft::TcpStream::local_address");
  detail::OpGuard guard(s, "weft::TcpStream::local_address");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(s->fd(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
    throw IoError(errno, "weft::TcpStream::local_address");
  return SocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

void TcpStream::close() noexcept {
  if (src_) src_->close();
}

}  // namespace weft::io

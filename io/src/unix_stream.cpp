// UnixStream: connect, socketpair, peer credentials (and the socket queries
// unix_sockopts.hpp declares); the read/write loops are stream_ops.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "stream_ops.hpp"
#include "unix_sockopts.hpp"
#include "weft/io/unix.hpp"

namespace weft::io {

using detail::Direction;
using detail::IoSource;

namespace detail {

PeerCredentials unix_peer_credentials(IoSource* s, const char* what) {
  OpGuard guard(s, what);
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(s->fd(), SOL_SOCKET, SO_PEERCRED, &c, &len) < 0) throw IoError(errno, what);
  return {c.pid, c.uid, c.gid};
}

UnixAddress unix_sock_name(IoSource* s, bool peer, const char* what) {
  OpGuard guard(s, what);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int r = peer ? ::getpeername(s->fd(), reinterpret_cast<sockaddr*>(&ss), &len)
               : ::getsockname(s->fd(), reinterpret_cast<sockaddr*>(&ss), &len);
  if (r < 0) throw IoError(errno, what);
  return UnixAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace detail

UnixStream& UnixStream::operator=(UnixStream&& o) noexcept {
  if (this != &o) {
    if (src_) src_->release();
    src_ = std::exchange(o.src_, nullptr);
  }
  return *this;
}

UnixStream::~UnixStream() {
  if (src_) src_->release();
}

IoSource* UnixStream::require(const char* what) const {
  if (!src_) throw ClosedError(std::string(what) + " (empty UnixStream)");
  return src_;
}

Task<UnixStream> UnixStream::connect(UnixAddress addr) {
  const std::string what = "weft::io::UnixStream::connect(" + addr.to_string() + ")";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IoError(errno, what + ": socket()");
  int r;
  do {
    r = ::connect(fd, addr.data(), addr.size());
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    // A non-blocking Unix connect does not wait for room in the backlog.
    if (e == EAGAIN) throw IoError(e, what + ": the listener's backlog is full (retry later)");
    throw IoError(e, what);
  }
  UnixStream s(IoSource::open(fd, r == 0 ? detail::kReadable | detail::kWritable : 0));
  if (r < 0) {
    co_await s.src_->wait(Direction::write);
    int err = 0;
    socklen_t len = sizeof err;
    {
      detail::OpGuard guard(s.src_, "weft::io::UnixStream::connect");
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    }
    if (err != 0) throw IoError(err, what);
  }
  co_return s;
}

std::pair<UnixStream, UnixStream> UnixStream::pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
    throw IoError(errno, "weft::io::UnixStream::pair: socketpair()");
  UnixStream a;
  try {
    a = UnixStream(IoSource::open(fds[0], detail::kReadable | detail::kWritable));
  } catch (...) {
    ::close(fds[1]);  // open() closed fds[0]
    throw;
  }
  UnixStream b(IoSource::open(fds[1], detail::kReadable | detail::kWritable));
  return {std::move(a), std::move(b)};
}

Task<std::size_t> UnixStream::read(void* buf, std::size_t n) {
  return detail::stream_read(src_, buf, n, "weft::io::UnixStream::read");
}

Task<std::size_t> UnixStream::write(const void* buf, std::size_t n) {
  return detail::stream_write(src_, buf, n, "weft::io::UnixStream::write");
}

Task<void> UnixStream::read_exact(void* buf, std::size_t n) {
  return detail::stream_read_exact(src_, buf, n, "weft::io::UnixStream::read_exact");
}

Task<void> UnixStream::write_all(const void* buf, std::size_t n) {
  return detail::stream_write_all(src_, buf, n, "weft::io::UnixStream::write_all");
}

Task<void> UnixStream::writev_all(iovec* iov, int count) {
  return detail::stream_writev_all(src_, iov, count, "weft::io::UnixStream::writev_all");
}

long UnixStream::try_read(void* buf, std::size_t n) {
  return require("weft::io::UnixStream::read")->try_read(buf, n, "weft::io::UnixStream::read");
}

long UnixStream::try_write(const void* buf, std::size_t n) {
  return require("weft::io::UnixStream::write")->try_write(buf, n, "weft::io::UnixStream::write");
}

detail::ReadinessAwaiter UnixStream::readable() {
  return require("weft::io::UnixStream::readable")->wait(Direction::read);
}

detail::ReadinessAwaiter UnixStream::writable() {
  return require("weft::io::UnixStream::writable")->wait(Direction::write);
}

void UnixStream::shutdown(Shutdown how) {
  int h = how == Shutdown::read ? SHUT_RD : how == Shutdown::write ? SHUT_WR : SHUT_RDWR;
  detail::stream_shutdown(require("weft::io::UnixStream::shutdown"), h,
                          "weft::io::UnixStream::shutdown");
}

PeerCredentials UnixStream::peer_credentials() const {
  return detail::unix_peer_credentials(require("weft::io::UnixStream::peer_credentials"),
                                       "weft::io::UnixStream::peer_credentials");
}

UnixAddress UnixStream::local_address() const {
  return detail::unix_sock_name(require("weft::io::UnixStream::local_address"), false,
                                "weft::io::UnixStream::local_address");
}

UnixAddress UnixStream::peer_address() const {
  return detail::unix_sock_name(require("weft::io::UnixStream::peer_address"), true,
                                "weft::io::UnixStream::peer_address");
}

void UnixStream::close() noexcept {
  if (src_) src_->close();
}

}  // namespace weft::io

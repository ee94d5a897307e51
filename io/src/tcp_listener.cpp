// TcpListener: bind/listen; accept is the shared accept loop (accept_loop.hpp:
// a back-off on descriptor or memory exhaustion, never a busy loop).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "accept_loop.hpp"
#include "weft/io/tcp.hpp"

namespace weft::io {

using detail::Direction;
using detail::IoSource;
using detail::kWouldBlock;

struct TcpListener::State {
  IoSource* src = nullptr;
  SocketAddress local;
  std::string where;  // "TcpListener on 127.0.0.1:8080", for the back-off message
  detail::AcceptBackoff backoff;
  ~State() {
    if (src) src->release();
  }
};

TcpListener::TcpListener() noexcept = default;
TcpListener::TcpListener(TcpListener&&) noexcept = default;
TcpListener& TcpListener::operator=(TcpListener&&) noexcept = default;
TcpListener::~TcpListener() = default;

TcpListener TcpListener::bind(const SocketAddress& addr, ListenOptions options) {
  const std::string what = "weft::TcpListener::bind(" + addr.to_string() + ")";
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IoError(errno, what + ": socket()");
  auto fail = [&](const char* step) {
    int e = errno;
    ::close(fd);
    throw IoError(e, what + step);
  };
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) fail(": SO_REUSEADDR");
  if (options.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    fail(": SO_REUSEPORT");
  if (addr.is_v6()) {
    int v6only = options.v6_only ? 1 : 0;
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0)
      fail(": IPV6_V6ONLY");
  }
  if (::bind(fd, addr.data(), addr.size()) < 0) fail("");
  if (::listen(fd, options.backlog) < 0) fail(": listen()");
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) fail(": getsockname()");
  TcpListener l;
  l.st_ = std::make_unique<State>();
  l.st_->local = SocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
  l.st_->where = "TcpListener on " + l.st_->local.to_string();
  // Assume a connection may be pending: the first accept() tries the syscall.
  l.st_->src = IoSource::open(fd, detail::kReadable);
  return l;
}

Task<TcpStream> TcpListener::accept() {
  if (!st_) throw ClosedError("weft::TcpListener::accept (empty listener)");
  State* st = st_.get();
  int fd =
      co_await detail::accept_fd(st->src, &st->backoff, &st->where, "weft::TcpListener::accept");
  co_return TcpStream(IoSource::open(fd, detail::kReadable | detail::kWritable));
}

SocketAddress TcpListener::local_address() const {
  if (!st_) throw ClosedError("weft::TcpListener::local_address (empty listener)");
  return st_->local;
}

void TcpListener::close() noexcept {
  if (st_ && st_->src) st_->src->close();
}

bool TcpListener::is_open() const noexcept {
  return st_ && st_->src && !st_->src->closed();
}

std::uint64_t TcpListener::resource_backoffs() const noexcept {
  return st_ ? st_->backoff.backoffs.load(std::memory_order_relaxed) : 0;  // a statistic
}

}  // namespace weft::io

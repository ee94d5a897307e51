// TcpListener: bind/listen, and accept with a back-off on descriptor or
// memory exhaustion (EMFILE/ENFILE must not turn into a busy loop).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "weft/io/tcp.hpp"
#include "weft/yield.hpp"

namespace weft::io {

using detail::Direction;
using detail::IoSource;
using detail::kWouldBlock;

namespace {
/// First and largest pause after accept() ran out of descriptors or memory
/// (1 ms: short enough that a freed descriptor is used quickly; 100 ms: a
/// starved server retries ten times a second, without burning a core).
constexpr auto kBackoffMin = std::chrono::milliseconds(1);
constexpr auto kBackoffMax = std::chrono::milliseconds(100);
}  // namespace

struct TcpListener::State {
  IoSource* src = nullptr;
  SocketAddress local;
  std::atomic<std::uint64_t> backoffs{0};
  std::atomic<bool> logged{false};
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
  // Assume a connection may be pending: the first accept() tries the syscall.
  l.st_->src = IoSource::open(fd, detail::kReadable);
  return l;
}

Task<TcpStream> TcpListener::accept() {
  if (!st_) throw ClosedError("weft::TcpListener::accept (empty listener)");
  State* st = st_.get();
  auto backoff = std::chrono::duration_cast<Clock::duration>(kBackoffMin);
  if (!weft::detail::consume_budget()) co_await weft::yield();
  for (;;) {
    int fd = st->src->try_accept(nullptr, nullptr, "weft::TcpListener::accept");
    if (fd >= 0) co_return TcpStream(IoSource::open(fd, detail::kReadable | detail::kWritable));
    if (fd == kWouldBlock) {
      co_await st->src->wait(Direction::read);
      continue;
    }
    // Out of descriptors or memory. The connection stays in the backlog and
    // the socket stays readable: retrying at once would spin. Pause instead.
    st->backoffs.fetch_add(1, std::memory_order_relaxed);  // a statistic
    // relaxed: only decides who prints the one message.
    if (!st->logged.exchange(true, std::memory_order_relaxed))
      std::fprintf(stderr,
                   "weft: TcpListener on %s: accept failed: %s; backing off and retrying "
                   "(logged once per listener)\n",
                   st->local.to_string().c_str(), std::strerror(-fd));
    co_await weft::sleep(backoff);
    backoff = std::min<Clock::duration>(backoff * 2, kBackoffMax);
  }
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
  return st_ ? st_->backoffs.load(std::memory_order_relaxed) : 0;  // a statistic
}

}  // namespace weft::io

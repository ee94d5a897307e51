// Byte-stream loops over an IoSource (see stream_ops.hpp). Each yields before
// its first syscall when the cooperative budget is spent, never after one: a
// cancellation delivered at the yield must not lose bytes already moved.
#include "stream_ops.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <string>

#include "weft/io/errors.hpp"
#include "weft/yield.hpp"

namespace weft::io::detail {

namespace {
IoSource* require(IoSource* s, const char* what) {
  if (!s) throw ClosedError(std::string(what) + " (empty stream)");
  return s;
}
}  // namespace

Task<std::size_t> stream_read(IoSource* src, void* buf, std::size_t n, const char* what) {
  IoSource* s = require(src, what);
  if (n == 0) co_return 0;
  if (!weft::detail::consume_budget()) co_await weft::yield();
  for (;;) {
    long r = s->try_read(buf, n, what);
    if (r != kWouldBlock) co_return static_cast<std::size_t>(r);
    co_await s->wait(Direction::read);
  }
}

Task<std::size_t> stream_write(IoSource* src, const void* buf, std::size_t n, const char* what) {
  IoSource* s = require(src, what);
  if (n == 0) co_return 0;
  if (!weft::detail::consume_budget()) co_await weft::yield();
  for (;;) {
    long r = s->try_write(buf, n, what);
    if (r != kWouldBlock) co_return static_cast<std::size_t>(r);
    co_await s->wait(Direction::write);
  }
}

Task<void> stream_read_exact(IoSource* src, void* buf, std::size_t n, const char* what) {
  IoSource* s = require(src, what);
  auto* p = static_cast<char*>(buf);
  std::size_t got = 0;
  if (!weft::detail::consume_budget()) co_await weft::yield();
  while (got < n) {
    long r = s->try_read(p + got, n - got, what);
    if (r == kWouldBlock) {
      co_await s->wait(Direction::read);
      continue;
    }
    if (r == 0) throw UnexpectedEof(what, std::string(p, got));
    got += static_cast<std::size_t>(r);
  }
}

Task<void> stream_write_all(IoSource* src, const void* buf, std::size_t n, const char* what) {
  IoSource* s = require(src, what);
  auto* p = static_cast<const char*>(buf);
  std::size_t done = 0;
  if (!weft::detail::consume_budget()) co_await weft::yield();
  while (done < n) {
    long r = s->try_write(p + done, n - done, what);
    if (r == kWouldBlock) {
      co_await s->wait(Direction::write);
      continue;
    }
    done += static_cast<std::size_t>(r);
  }
}

Task<void> stream_writev_all(IoSource* src, iovec* iov, int count, const char* what) {
  IoSource* s = require(src, what);
  if (!weft::detail::consume_budget()) co_await weft::yield();
  while (count > 0 && iov->iov_len == 0) {
    ++iov;
    --count;
  }
  while (count > 0) {
    long r = s->try_writev(iov, count > IOV_MAX ? IOV_MAX : count, what);
    if (r == kWouldBlock) {
      co_await s->wait(Direction::write);
      continue;
    }
    auto left = static_cast<std::size_t>(r);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
}

void stream_shutdown(IoSource* src, int how, const char* what) {
  IoSource* s = require(src, what);
  OpGuard guard(s, what);
  // ENOTCONN: the peer is already gone; there is nothing left to shut down.
  if (::shutdown(s->fd(), how) < 0 && errno != ENOTCONN) throw IoError(errno, what);
}

}  // namespace weft::io::detail

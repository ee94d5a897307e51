// UnixListener: bind (stale socket files replaced, the file removed again on
// close) and listen; accept is the shared accept loop (accept_loop.hpp).
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "accept_loop.hpp"
#include "unix_socket_file.hpp"
#include "weft/io/unix.hpp"

namespace weft::io {

using detail::IoSource;

struct UnixListener::State {
  IoSource* src = nullptr;
  UnixAddress local;
  std::string where;  // "UnixListener on /run/app.sock", for the back-off message
  detail::AcceptBackoff backoff;
  detail::SocketFilePtr file;
  ~State() {
    if (src) src->release();
    // `file`'s deleter removes the socket file afterwards (if still ours).
  }
};

UnixListener::UnixListener() noexcept = default;
UnixListener::UnixListener(UnixListener&&) noexcept = default;
UnixListener& UnixListener::operator=(UnixListener&&) noexcept = default;
UnixListener::~UnixListener() = default;

UnixListener UnixListener::bind(const UnixAddress& addr, UnixListenOptions options) {
  const std::string what = "weft::io::UnixListener::bind(" + addr.to_string() + ")";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IoError(errno, what + ": socket()");
  UnixListener l;
  l.st_ = std::make_unique<State>();
  try {
    l.st_->file =
        detail::bind_unix(fd, SOCK_STREAM, addr, options.remove_stale, options.cleanup, what);
    if (::listen(fd, options.backlog) < 0) throw IoError(errno, what + ": listen()");
  } catch (...) {
    ::close(fd);
    throw;  // `file` (if bound) is removed with the State
  }
  l.st_->local = addr;
  l.st_->where = "UnixListener on " + addr.to_string();
  // Assume a connection may be pending: the first accept() tries the syscall.
  l.st_->src = IoSource::open(fd, detail::kReadable);
  return l;
}

Task<UnixStream> UnixListener::accept() {
  if (!st_) throw ClosedError("weft::io::UnixListener::accept (empty listener)");
  State* st = st_.get();
  int fd = co_await detail::accept_fd(st->src, &st->backoff, &st->where,
                                      "weft::io::UnixListener::accept");
  co_return UnixStream(IoSource::open(fd, detail::kReadable | detail::kWritable));
}

UnixAddress UnixListener::local_address() const {
  if (!st_) throw ClosedError("weft::io::UnixListener::local_address (empty listener)");
  return st_->local;
}

void UnixListener::close() noexcept {
  if (!st_) return;
  if (st_->src) st_->src->close();
  if (st_->file) st_->file->remove();
}

bool UnixListener::is_open() const noexcept {
  return st_ && st_->src && !st_->src->closed();
}

std::uint64_t UnixListener::resource_backoffs() const noexcept {
  return st_ ? st_->backoff.backoffs.load(std::memory_order_relaxed) : 0;  // a statistic
}

}  // namespace weft::io

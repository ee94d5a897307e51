// bind_unix and SocketFile (see unix_socket_file.hpp).
#include "unix_socket_file.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "weft/io/errors.hpp"

namespace weft::io::detail {

void SocketFileDeleter::operator()(SocketFile* f) const noexcept {
  if (!f) return;
  f->remove();
  delete f;
}

void SocketFile::remove() noexcept {
  // acq_rel: one remover; nothing else is published through the flag.
  if (removed.exchange(true, std::memory_order_acq_rel)) return;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev &&
      st.st_ino == ino)
    ::unlink(path.c_str());
}

namespace {

enum class Occupant { stale, live, not_a_socket, gone };

/// What occupies `addr`'s path: a socket that refuses connections (a dead
/// server's), a live one, some other file, or nothing any more.
Occupant probe(int type, const UnixAddress& addr) {
  struct stat st {};
  if (::lstat(addr.name().c_str(), &st) != 0) return Occupant::gone;
  if (!S_ISSOCK(st.st_mode)) return Occupant::not_a_socket;
  int fd = ::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Occupant::live;  // cannot tell: leave it alone
  int r = ::connect(fd, addr.data(), addr.size());
  int e = errno;
  ::close(fd);
  return r < 0 && e == ECONNREFUSED ? Occupant::stale : Occupant::live;
}

}  // namespace

SocketFilePtr bind_unix(int fd, int type, const UnixAddress& addr, bool remove_stale, bool cleanup,
                        const std::string& what) {
  for (int attempt = 0;; ++attempt) {
    if (::bind(fd, addr.data(), addr.size()) == 0) break;
    const int e = errno;
    if (e != EADDRINUSE || !addr.is_path()) throw IoError(e, what);
    Occupant o = probe(type, addr);
    if (o == Occupant::not_a_socket)
      throw IoError(e, what + ": the path exists and is not a socket (remove it first)");
    if (o == Occupant::live || !remove_stale || attempt > 0)
      throw IoError(e, what + (o == Occupant::live ? ": a socket there accepts connections"
                                                   : ": a socket file is in the way"));
    if (o == Occupant::stale) ::unlink(addr.name().c_str());  // a dead server's
  }
  if (!cleanup || !addr.is_path()) return nullptr;
  SocketFilePtr f(new SocketFile);
  f->path = addr.name();
  struct stat st {};
  if (::lstat(f->path.c_str(), &st) == 0) {
    f->dev = st.st_dev;
    f->ino = st.st_ino;
  } else {
    f->removed.store(true, std::memory_order_relaxed);  // nothing to clean up
  }
  return f;
}

}  // namespace weft::io::detail

// Binding a Unix socket to an address: a stale socket file (one nobody
// listens on) is replaced, a live one or another file is refused with a
// message; a bound path is remembered (device and inode) so that it is removed
// when its owner closes, only if it is still the file this socket created.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>

#include "weft/io/unix.hpp"

namespace weft::io::detail {

struct SocketFile {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  std::atomic<bool> removed{false};
  /// Unlinks the file if it is still ours. Any thread; once.
  void remove() noexcept;
};

/// bind(2) of `fd` (a socket of `type`) to `addr`. Throws IoError naming
/// `what` and the address. Returns the file to clean up when `cleanup` and
/// `addr` is a path, else null.
SocketFilePtr bind_unix(int fd, int type, const UnixAddress& addr, bool remove_stale, bool cleanup,
                        const std::string& what);

}  // namespace weft::io::detail

// The byte-stream loops shared by TcpStream and UnixStream: each tries its
// syscall on the IoSource and waits for readiness when it would block
// (weft/io/reactor.hpp). `what` names the operation in errors
// ("weft::TcpStream::read"); a null source throws ClosedError.
#pragma once

#include <sys/uio.h>

#include <cstddef>

#include "weft/io/reactor.hpp"
#include "weft/task.hpp"

namespace weft::io::detail {

/// At most `n` bytes; 0 at end of stream (or if n is 0).
Task<std::size_t> stream_read(IoSource* s, void* buf, std::size_t n, const char* what);
/// At least one byte (unless n is 0).
Task<std::size_t> stream_write(IoSource* s, const void* buf, std::size_t n, const char* what);
/// Exactly `n` bytes; UnexpectedEof if the stream ends first.
Task<void> stream_read_exact(IoSource* s, void* buf, std::size_t n, const char* what);
/// All `n` bytes.
Task<void> stream_write_all(IoSource* s, const void* buf, std::size_t n, const char* what);
/// Every buffer, in order (the array is advanced as scratch space).
Task<void> stream_writev_all(IoSource* s, iovec* iov, int count, const char* what);
/// shutdown(2) with SHUT_RD / SHUT_WR / SHUT_RDWR; ENOTCONN is not an error.
void stream_shutdown(IoSource* s, int how, const char* what);

}  // namespace weft::io::detail

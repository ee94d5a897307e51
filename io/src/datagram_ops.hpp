// One attempt of a datagram send or receive on an IoSource, shared by
// UdpSocket and UnixDatagram (their coroutines loop on these and the
// readiness wait). Errors become IoError with messages that name the
// destination and, for EMSGSIZE, the sizes involved.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <string>

#include "weft/io/reactor.hpp"

namespace weft::io::detail {

struct DatagramSizes {
  std::size_t size = 0;  ///< bytes stored in the caller's buffer
  std::size_t full = 0;  ///< the datagram's length
  bool truncated = false;
};

/// Formats a destination for an error message ("127.0.0.1:9", "@name").
using DescribeAddress = std::string (*)(const sockaddr* addr, socklen_t len);

/// recvmsg(MSG_TRUNC) into `buf`: false if it would block. `from`/`from_len`
/// receive the sender (may be null). Throws IoError / ClosedError.
bool try_recv_datagram(IoSource* s, void* buf, std::size_t n, sockaddr_storage* from,
                       socklen_t* from_len, DatagramSizes* out, const char* what);

/// sendmsg() of one datagram to `to` (null: the connected peer): the bytes
/// sent, or kWouldBlock. EMSGSIZE throws IoError saying how large the
/// datagram was and `limit_hint` (the socket type's maximum).
long try_send_datagram(IoSource* s, const void* buf, std::size_t n, const sockaddr* to,
                       socklen_t to_len, const char* what, DescribeAddress describe,
                       const char* limit_hint);

}  // namespace weft::io::detail

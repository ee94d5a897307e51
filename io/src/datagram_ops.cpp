// Datagram send/receive attempts (see datagram_ops.hpp).
#include "datagram_ops.hpp"

#include <sys/uio.h>

#include <cerrno>

#include "weft/io/errors.hpp"

namespace weft::io::detail {

bool try_recv_datagram(IoSource* s, void* buf, std::size_t n, sockaddr_storage* from,
                       socklen_t* from_len, DatagramSizes* out, const char* what) {
  iovec iov{buf, n};
  msghdr msg{};
  msg.msg_name = from;
  msg.msg_namelen = from ? sizeof(sockaddr_storage) : 0;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // MSG_TRUNC: the result is the datagram's real length even if it did not fit.
  long r = s->try_recvmsg(&msg, MSG_TRUNC, what);
  if (r == kWouldBlock) return false;
  out->full = static_cast<std::size_t>(r);
  out->size = out->full < n ? out->full : n;
  out->truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  if (from_len) *from_len = msg.msg_namelen;
  return true;
}

long try_send_datagram(IoSource* s, const void* buf, std::size_t n, const sockaddr* to,
                       socklen_t to_len, const char* what, DescribeAddress describe,
                       const char* limit_hint) {
  iovec iov{const_cast<void*>(buf), n};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to);
  msg.msg_namelen = to ? to_len : 0;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  try {
    return s->try_sendmsg(&msg, what);
  } catch (const ClosedError&) {
    throw;
  } catch (const IoError& e) {
    const int err = e.code().value();
    std::string where = std::string(what) + (to ? " to " + describe(to, to_len) : "");
    if (err == EMSGSIZE)
      throw IoError(err, where + ": the datagram (" + std::to_string(n) +
                             " bytes) is larger than this socket can send (" + limit_hint + ")");
    throw IoError(err, where);
  }
}

}  // namespace weft::io::detail

// Socket queries shared by UnixStream, UnixListener and UnixDatagram
// (defined in unix_stream.cpp).
#pragma once

#include "weft/io/unix.hpp"

namespace weft::io::detail {

/// SO_PEERCRED. Throws IoError naming `what`.
PeerCredentials unix_peer_credentials(IoSource* s, const char* what);
/// getsockname (peer false) / getpeername (peer true). Throws IoError naming `what`.
UnixAddress unix_sock_name(IoSource* s, bool peer, const char* what);

}  // namespace weft::io::detail

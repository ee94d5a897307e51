// The accept loop shared by TcpListener and UnixListener: one accept4()
// attempt, a readiness wait when nothing is pending, and a back-off (not a
// busy loop) when the process runs out of descriptors or memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "weft/io/reactor.hpp"
#include "weft/task.hpp"

namespace weft::io::detail {

/// Per-listener back-off statistics and the logged-once flag.
struct AcceptBackoff {
  std::atomic<std::uint64_t> backoffs{0};
  std::atomic<bool> logged{false};
};

/// The next connection's fd (non-blocking, close-on-exec). On EMFILE, ENFILE,
/// ENOBUFS or ENOMEM it logs once per listener (`*where` names it: "TcpListener
/// on 127.0.0.1:8080") and retries
/// after 1 ms, doubling up to 100 ms; the pending connection stays queued.
/// Throws ClosedError once the listener is closed. `b` and `where` must
/// outlive the call.
Task<int> accept_fd(IoSource* listener, AcceptBackoff* b, const std::string* where,
                    const char* what);

}  // namespace weft::io::detail

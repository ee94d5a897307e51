// accept_fd: see accept_loop.hpp.
#include "accept_loop.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>

#include "weft/time.hpp"
#include "weft/yield.hpp"

namespace weft::io::detail {

namespace {
/// First and largest pause after accept() ran out of descriptors or memory
/// (1 ms: short enough that a freed descriptor is used quickly; 100 ms: a
/// starved server retries ten times a second, without burning a core).
constexpr auto kBackoffMin = std::chrono::milliseconds(1);
constexpr auto kBackoffMax = std::chrono::milliseconds(100);
}  // namespace

Task<int> accept_fd(IoSource* listener, AcceptBackoff* b, const std::string* where,
                    const char* what) {
  auto backoff = std::chrono::duration_cast<Clock::duration>(kBackoffMin);
  if (!weft::detail::consume_budget()) co_await weft::yield();
  for (;;) {
    int fd = listener->try_accept(nullptr, nullptr, what);
    if (fd >= 0) co_return fd;
    if (fd == kWouldBlock) {
      co_await listener->wait(Direction::read);
      continue;
    }
    // Out of descriptors or memory. The connection stays in the backlog and
    // the socket stays readable: retrying at once would spin. Pause instead.
    b->backoffs.fetch_add(1, std::memory_order_relaxed);  // a statistic
    // relaxed: only decides who prints the one message.
    if (!b->logged.exchange(true, std::memory_order_relaxed))
      std::fprintf(stderr,
                   "weft: %s: accept failed: %s; backing off and retrying "
                   "(logged once per listener)\n",
                   where->c_str(), std::strerror(-fd));
    co_await weft::sleep(backoff);
    backoff = std::min<Clock::duration>(backoff * 2, kBackoffMax);
  }
}

}  // namespace weft::io::detail

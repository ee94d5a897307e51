// DNS: resolve a host name to socket addresses without blocking a worker.
//
//   std::vector<weft::io::SocketAddress> addrs = co_await weft::io::resolve("localhost", 80);
//
// Numeric hosts ("127.0.0.1", "::1", "[::1]") are returned at once, and so are
// "localhost" and names under ".localhost" (127.0.0.1, then ::1), as RFC 6761
// section 6.3 asks of name resolution APIs: they work even on a system without
// /etc/hosts (a bare container) and never leave the machine. Other names go
// to getaddrinfo on the runtime's blocking pool (weft::to_thread), so a slow
// resolver never stalls the workers. Results are cached process-wide for the
// cache TTL (getaddrinfo does not report record TTLs; default 60 s), failures
// for "unknown host" for a shorter negative TTL (default 5 s).
//
// Errors: DnsError with getaddrinfo's EAI_* code and a message naming the
// host ("weft::io::resolve(no-such.invalid): Name or service not known").
// Cancellable: a cancelled task stops waiting at once; the lookup finishes
// in its thread and still fills the cache.
//
// Thread-safety: all functions may be called from any task concurrently; the
// cache is guarded by a mutex held only to copy entries in and out (never
// across a lookup).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "weft/io/address.hpp"
#include "weft/task.hpp"

namespace weft::io {

/// The addresses of `host` with `port`, in getaddrinfo's order (RFC 6724).
/// Never empty: no address throws DnsError.
Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port);

/// Cache lifetimes (0 disables caching of that kind). Any thread.
void set_dns_cache_ttl(std::chrono::seconds positive, std::chrono::seconds negative);
/// Forgets every cached answer. Any thread.
void clear_dns_cache();

namespace detail {
/// Replaces getaddrinfo for tests (null restores it). The hook runs on the
/// blocking pool like getaddrinfo; it returns 0 and fills `out` (port 0), or
/// an EAI_* code. Not for production use; set it before any lookup starts.
using LookupHook = int (*)(const std::string& host, std::vector<SocketAddress>& out);
void set_lookup_hook_for_testing(LookupHook hook) noexcept;
}  // namespace detail

}  // namespace weft::io

// DNS: resolve a host name to socket addresses without blocking a worker.
//
//   std::vector<weft::io::SocketAddress> addrs = co_await weft::io::resolve("localhost", 80);
//
// Numeric hosts ("127.0.0.1", "::1", "[::1]") are returned at once. Names go
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

}  // namespace weft::io

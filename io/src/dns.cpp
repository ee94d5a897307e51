// resolve(): numeric fast path, a TTL cache, getaddrinfo on the blocking pool;
// and TcpStream::connect(host, port) on top of it.
#include "weft/io/dns.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "weft/blocking.hpp"
#include "weft/io/errors.hpp"
#include "weft/io/tcp.hpp"

namespace weft::io {
namespace {

using SteadyClock = std::chrono::steady_clock;

/// At most this many names are cached; a full cache drops its expired
/// entries, then everything (a crawler touching many hosts stays bounded).
constexpr std::size_t kMaxCachedNames = 4096;

struct Entry {
  std::vector<SocketAddress> addrs;  // port 0
  int error = 0;                     // EAI_* for a negative entry
  std::string message;
  SteadyClock::time_point expires;
};

struct Cache {
  std::mutex mu;
  std::unordered_map<std::string, Entry> map;
  std::atomic<std::int64_t> positive_s{60};
  std::atomic<std::int64_t> negative_s{5};
};

Cache& cache() {
  static Cache c;
  return c;
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<SocketAddress> numeric(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    return SocketAddress(host, 0);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

std::atomic<detail::LookupHook> lookup_hook{nullptr};

/// RFC 6761 6.3: "localhost." and names below it are the loopback addresses.
bool is_localhost(const std::string& lowered) {
  std::string_view h = lowered;
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);  // the fully qualified form
  constexpr std::string_view kName = "localhost";
  return h == kName || (h.size() > kName.size() + 1 && h.ends_with(kName) &&
                        h[h.size() - kName.size() - 1] == '.');
}

/// Runs on the blocking pool.
Entry lookup(const std::string& host) {
  // acquire: a hook installed before the lookup started is fully visible.
  if (detail::LookupHook hook = lookup_hook.load(std::memory_order_acquire)) {
    Entry e;
    e.error = hook(host, e.addrs);
    if (e.error) e.message = "weft::io::resolve(" + host + "): " + ::gai_strerror(e.error);
    return e;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  Entry e;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    e.error = rc;
    e.message = "weft::io::resolve(" + host + "): " + ::gai_strerror(rc);
    return e;
  }
  for (addrinfo* p = res; p; p = p->ai_next) {
    if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
    SocketAddress a(p->ai_addr, p->ai_addrlen);
    if (std::find(e.addrs.begin(), e.addrs.end(), a) == e.addrs.end()) e.addrs.push_back(a);
  }
  ::freeaddrinfo(res);
  if (e.addrs.empty()) {
    e.error = EAI_NODATA;
    e.message = "weft::io::resolve(" + host + "): no IPv4 or IPv6 address";
  }
  return e;
}

std::vector<SocketAddress> with_port(std::vector<SocketAddress> v, std::uint16_t port) {
  for (auto& a : v)
    a.set_port(port);
  return v;
}

void store(const std::string& key, Entry e) {
  Cache& c = cache();
  // relaxed: a configuration value; any recent one will do.
  std::int64_t ttl = (e.error ? c.negative_s : c.positive_s).load(std::memory_order_relaxed);
  if (ttl <= 0) return;
  // Transient resolver failures (EAI_AGAIN, EAI_SYSTEM, ...) are not cached.
  if (e.error && e.error != EAI_NONAME && e.error != EAI_NODATA) return;
  e.expires = SteadyClock::now() + std::chrono::seconds(ttl);
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.map.size() >= kMaxCachedNames) {
    auto now = SteadyClock::now();
    std::erase_if(c.map, [&](const auto& kv) { return kv.second.expires <= now; });
    if (c.map.size() >= kMaxCachedNames) c.map.clear();
  }
  c.map[key] = std::move(e);
}

}  // namespace

Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port) {
  if (host.empty()) throw DnsError(EAI_NONAME, "weft::io::resolve: empty host name");
  if (auto a = numeric(host)) {
    a->set_port(port);
    co_return std::vector<SocketAddress>{*a};
  }
  std::string key = lower(host);
  if (is_localhost(key))
    co_return std::vector<SocketAddress>{SocketAddress("127.0.0.1", port),
                                         SocketAddress("::1", port)};
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.map.find(key);
    if (it != c.map.end()) {
      if (it->second.expires > SteadyClock::now()) {
        if (it->second.error) throw DnsError(it->second.error, it->second.message);
        co_return with_port(it->second.addrs, port);
      }
      c.map.erase(it);
    }
  }
  Entry e = co_await weft::to_thread(&lookup, key);
  Entry copy = e;
  store(key, std::move(copy));
  if (e.error) throw DnsError(e.error, e.message);
  co_return with_port(std::move(e.addrs), port);
}

void set_dns_cache_ttl(std::chrono::seconds positive, std::chrono::seconds negative) {
  // relaxed: configuration values, read independently.
  cache().positive_s.store(positive.count(), std::memory_order_relaxed);
  cache().negative_s.store(negative.count(), std::memory_order_relaxed);
}

void detail::set_lookup_hook_for_testing(detail::LookupHook hook) noexcept {
  lookup_hook.store(hook, std::memory_order_release);  // pairs with lookup()'s acquire
}

void clear_dns_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.map.clear();
}

Task<TcpStream> TcpStream::connect(std::string host, std::uint16_t port) {
  std::vector<SocketAddress> addrs = co_await resolve(host, port);
  std::exception_ptr last;
  for (const SocketAddress& a : addrs) {
    try {
      co_return co_await connect(a);
    } catch (const IoError&) {
      last = std::current_exception();
    }
  }
  std::rethrow_exception(last);
}

}  // namespace weft::io

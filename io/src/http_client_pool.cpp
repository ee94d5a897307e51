// The client's connection pool: origins, idle lists, the global LRU, and the
// liveness check of an idle connection.
#include "http_client_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace weft::http::detail {

namespace {
/// Origins kept before unused entries (no request, no idle connection) are
/// dropped; the threshold doubles with the live count so pruning stays O(1)
/// amortised per new origin.
constexpr std::size_t kPruneOrigins = 1024;
}  // namespace

bool Connection::idle_and_alive() noexcept {
  io::TcpStream& t = stream.tcp();
  if (!t.is_open() || !reader.buffered().empty()) return false;
  io::detail::IoSource* src = t.source();
  // The last read of the response drained the socket (a short read clears
  // readiness): no edge since means nothing arrived, FIN included. An edge
  // not yet dispatched is the stale-connection retry's case.
  if (!(src->readiness() & io::detail::kReadMask)) return true;
  if (!src->begin_op()) return false;
  char byte;
  long r = ::recv(src->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  int err = errno;
  src->end_op();
  // 0: the peer closed it; > 0: it sent something nobody asked for (a 408,
  // garbage, or TLS records after the response): either way not reusable.
  return r < 0 && (err == EAGAIN || err == EWOULDBLOCK);
}

Pool::Pool(std::size_t per_host, std::size_t max_idle, Clock::duration idle_timeout)
    : per_host_(per_host),
      max_idle_(max_idle),
      idle_timeout_(idle_timeout),
      prune_at_(kPruneOrigins) {
  lru_.lru_prev = lru_.lru_next = &lru_;
}

Pool::~Pool() {
  close_idle();
}

std::shared_ptr<HostPool> Pool::host(const std::string& origin) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hosts_.find(origin);
  if (it != hosts_.end()) return it->second;
  if (hosts_.size() >= prune_at_) {
    // An entry only the map holds has no request and (checked) no idle
    // connection: every copy is made under mu_, so use_count() cannot grow
    // behind our back.
    std::erase_if(hosts_, [](const auto& kv) {
      return kv.second.use_count() == 1 && kv.second->idle.empty();
    });
    prune_at_ = std::max(kPruneOrigins, hosts_.size() * 2);
  }
  auto h = std::make_shared<HostPool>(origin, per_host_);
  hosts_.emplace(origin, h);
  return h;
}

void Pool::detach(Connection* c) noexcept {
  c->lru_prev->lru_next = c->lru_next;
  c->lru_next->lru_prev = c->lru_prev;
  c->lru_prev = c->lru_next = nullptr;
  auto& v = c->host->idle;
  v.erase(std::find(v.begin(), v.end(), c));
  --idle_;
}

std::unique_ptr<Connection> Pool::take(HostPool& h) {
  for (;;) {
    std::vector<std::unique_ptr<Connection>> expired;  // closed after the unlock
    std::unique_ptr<Connection> c;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = Clock::now();
      while (!h.idle.empty()) {
        Connection* last = h.idle.back();
        detach(last);
        if (now - last->idle_since > idle_timeout_) {
          expired.emplace_back(last);
          continue;
        }
        c.reset(last);
        break;
      }
    }
    expired.clear();
    if (!c || c->idle_and_alive()) return c;
    // Dead: closed when `c` goes; try the next one.
  }
}

void Pool::put(std::unique_ptr<Connection> c) {
  c->idle_since = Clock::now();
  std::unique_ptr<Connection> evicted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (max_idle_ == 0) return;  // `c` is closed on the way out
    if (idle_ >= max_idle_) evicted.reset(static_cast<Connection*>(lru_.lru_next));
    if (evicted) detach(evicted.get());
    Connection* raw = c.release();
    raw->host->idle.push_back(raw);
    raw->lru_prev = lru_.lru_prev;
    raw->lru_next = &lru_;
    lru_.lru_prev->lru_next = raw;
    lru_.lru_prev = raw;
    ++idle_;
  }
}

void Pool::close_idle() noexcept {
  std::vector<std::unique_ptr<Connection>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (lru_.lru_next != &lru_) {
      auto* c = static_cast<Connection*>(lru_.lru_next);
      detach(c);
      all.emplace_back(c);
    }
  }
}

std::size_t Pool::idle_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_;
}

}  // namespace weft::http::detail

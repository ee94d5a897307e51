// TlsAcceptor (one server handshake under a timeout) and TlsListener (a pump
// task that accepts TCP connections and a task per handshake, which hands
// the established streams to accept() through a weft::Queue).
//
// TlsListener's bound: a Semaphore of max_handshakes permits. The pump takes
// a permit before each TCP accept; the permit travels with the connection
// through its handshake and the queue, and is given back when accept() takes
// the connection (or when the handshake fails). The listener's tasks hold
// the State through a local shared_ptr (not a parameter: a finished task's
// frame lives as long as its JoinHandle, which the State keeps), so the State
// is freed once the last of them has finished after close().
#include "weft/io/tls_server.hpp"

#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "weft/queue.hpp"
#include "weft/runtime.hpp"
#include "weft/semaphore.hpp"
#include "weft/sync_errors.hpp"
#include "weft/time.hpp"

namespace weft::io {

namespace {

Task<TlsStream> handshake_within(TcpStream tcp, TlsContext ctx, std::chrono::milliseconds limit) {
  std::optional<TlsStream> s;
  bool timed_out = false;
  try {
    s.emplace(co_await weft::wait_for(TlsStream::accept(std::move(tcp), std::move(ctx)), limit));
  } catch (const weft::TimeoutError&) {
    timed_out = true;  // the handshake was cancelled: its socket is closed
  }
  if (timed_out)
    throw TlsHandshakeTimeout("TLS handshake (server): not completed within " +
                              std::to_string(limit.count()) + " ms");
  co_return std::move(*s);
}

/// serve()-style pruning of the task list: finished ones are dropped when
/// the list has doubled (O(1) amortised per task).
constexpr std::size_t kPruneTasks = 64;

}  // namespace

TlsAcceptor::TlsAcceptor(const TlsServerOptions& options)
    : ctx_(TlsContext::server(options)), timeout_(options.handshake_timeout) {
  if (timeout_ <= std::chrono::milliseconds::zero())
    throw std::invalid_argument("weft::io::TlsAcceptor: handshake_timeout must be positive");
}

Task<TlsStream> TlsAcceptor::accept(TcpStream tcp) const {
  // By value: the acceptor need not outlive the handshake.
  return handshake_within(std::move(tcp), ctx_, timeout_);
}

struct TlsListener::State {
  /// An established connection waiting for accept(), with its permit.
  struct Ready {
    TlsStream stream;
    Semaphore::Guard permit;
  };

  State(TcpListener l, TlsAcceptor a, std::size_t max)
      : tcp(std::move(l)), acceptor(std::move(a)), slots(static_cast<std::int64_t>(max)) {}

  TcpListener tcp;
  const TlsAcceptor acceptor;
  Queue<Ready> ready{0};  // unbounded: the permits bound it
  Semaphore slots;
  std::atomic<std::uint64_t> failures{0};

  std::mutex mu;                        // guards the three below
  bool closed = false;                  //
  std::vector<JoinHandle<void>> tasks;  // the pump and the handshakes
  std::size_t prune_at = kPruneTasks;   //

  /// Keeps `h` to cancel it at close(); cancels it now if already closed.
  void track(JoinHandle<void> h) {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) {
      h.cancel();
      return;
    }
    tasks.push_back(std::move(h));
    if (tasks.size() >= prune_at) {
      std::erase_if(tasks, [](const JoinHandle<void>& t) { return t.done(); });
      prune_at = std::max(kPruneTasks, 2 * tasks.size());
    }
  }

  static Task<void> handshake(std::shared_ptr<State> param, TcpStream tcp, Semaphore::Guard permit);
  static Task<void> pump(std::shared_ptr<State> param);
};

Task<void> TlsListener::State::handshake(std::shared_ptr<State> param, TcpStream tcp,
                                         Semaphore::Guard permit) {
  std::shared_ptr<State> st = std::move(param);  // see the file comment
  Semaphore::Guard slot = std::move(permit);
  std::optional<TlsStream> s;
  try {
    s.emplace(co_await st->acceptor.accept(std::move(tcp)));
  } catch (const TlsError&) {
    // Garbage, a failed or late handshake: closed, counted, never accepted.
  } catch (const IoError&) {
  }
  if (!s) {
    st->failures.fetch_add(1, std::memory_order_relaxed);  // a statistic
    co_return;
  }
  try {
    st->ready.put_nowait(Ready{std::move(*s), std::move(slot)});
  } catch (const QueueShutDown&) {
    // Closed meanwhile: the connection is dropped (closed) with this frame.
  }
}

Task<void> TlsListener::State::pump(std::shared_ptr<State> param) {
  std::shared_ptr<State> st = std::move(param);  // see the file comment
  for (;;) {
    Semaphore::Guard permit = co_await st->slots.scoped();
    TcpStream tcp;
    bool closed = false;
    try {
      tcp = co_await st->tcp.accept();
    } catch (const IoError&) {
      closed = true;  // ClosedError after close(); any other failure ends the listener too
    }
    if (closed) break;
    st->track(weft::spawn(handshake(st, std::move(tcp), std::move(permit)), "tls handshake"));
  }
  // accept() callers must not wait for connections that will never come.
  try {
    st->ready.shutdown(/*immediate=*/false);
  } catch (...) {
  }
}

TlsListener::TlsListener() noexcept = default;
TlsListener::TlsListener(TlsListener&&) noexcept = default;
TlsListener& TlsListener::operator=(TlsListener&& o) noexcept {
  if (this != &o) {
    close();
    st_ = std::move(o.st_);
  }
  return *this;
}
TlsListener::~TlsListener() {
  close();
}

TlsListener TlsListener::bind(const SocketAddress& addr, TlsAcceptor acceptor,
                              ListenOptions options, std::size_t max_handshakes) {
  if (max_handshakes == 0)
    throw std::invalid_argument("weft::io::TlsListener::bind: max_handshakes must be at least 1");
  TlsListener l;
  l.st_ = std::make_shared<State>(TcpListener::bind(addr, options), std::move(acceptor),
                                  max_handshakes);
  l.st_->track(weft::spawn(State::pump(l.st_), "tls listener"));
  return l;
}

Task<TlsStream> TlsListener::accept() {
  if (!st_) throw ClosedError("weft::io::TlsListener::accept (empty listener)");
  std::shared_ptr<State> st = st_;
  std::optional<State::Ready> r;
  bool shut = false;
  try {
    r.emplace(co_await st->ready.get());
  } catch (const QueueShutDown&) {
    shut = true;
  }
  if (shut) throw ClosedError("weft::io::TlsListener::accept");
  co_return std::move(r->stream);  // the permit goes back with `r`
}

SocketAddress TlsListener::local_address() const {
  if (!st_) throw ClosedError("weft::io::TlsListener::local_address (empty listener)");
  return st_->tcp.local_address();
}

void TlsListener::close() noexcept {
  if (!st_) return;
  std::vector<JoinHandle<void>> tasks;
  {
    std::lock_guard<std::mutex> lock(st_->mu);
    if (st_->closed) return;
    st_->closed = true;
    tasks.swap(st_->tasks);
  }
  st_->tcp.close();
  try {
    st_->ready.shutdown(/*immediate=*/true);  // drops (closes) the connections waiting
  } catch (...) {
  }
  for (JoinHandle<void>& h : tasks)
    h.cancel();
}

std::uint64_t TlsListener::handshake_failures() const noexcept {
  return st_ ? st_->failures.load(std::memory_order_relaxed) : 0;  // a statistic
}

}  // namespace weft::io

// IoSource: per-fd readiness, the non-blocking syscalls, the readiness wait,
// and a close() that is safe against syscalls in flight on other threads.
// The protocol is described in weft/io/reactor.hpp.
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "reactor.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/io/errors.hpp"

namespace weft::io {

ClosedError::ClosedError(const std::string& what)
    : IoError(EBADF, what + ": the socket is closed") {}

UnexpectedEof::UnexpectedEof(const std::string& what, std::string partial)
    : IoError(0, what + ": the peer closed the connection early (" +
                     std::to_string(partial.size()) + " bytes arrived)"),
      partial_(std::move(partial)) {}

namespace detail {

using weft::detail::TaskHeader;
using weft::detail::Withdraw;

namespace {
// close() has run; the fd close is claimed; the fd close has finished; release() has run.
constexpr std::uint32_t kClosed = 1u << 31;
constexpr std::uint32_t kFdClaimed = 1u << 30;
constexpr std::uint32_t kFdDone = 1u << 29;
constexpr std::uint32_t kReleased = 1u << 28;
constexpr std::uint32_t kCount = kReleased - 1;
}  // namespace

IoSource::IoSource(Reactor* r, int fd, std::uint64_t ready) noexcept
    : reactor_(r), fd_(fd), word_(ready & kFlagMask) {}

IoSource* IoSource::open(int fd, std::uint64_t ready) {
  Reactor* r;
  try {
    r = &Reactor::current();
  } catch (...) {
    ::close(fd);
    throw;
  }
  auto* s = new IoSource(r, fd, ready);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = s;
  if (epoll_ctl(r->epoll_fd(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno;
    ::close(fd);
    delete s;  // never registered: no epoll_wait can report it
    throw IoError(e, "weft::io: registering a socket with epoll");
  }
  r->on_registered();
  return s;
}

bool IoSource::closed() const noexcept {
  return users_.load(std::memory_order_acquire) & kClosed;  // acquire: pairs with close()
}

bool IoSource::begin_op() noexcept {
  std::uint32_t u = users_.load(std::memory_order_relaxed);  // a first guess for the CAS
  do {
    if (u & kClosed) return false;
    // acquire: a successful begin sees the fd as the opener left it.
  } while (!users_.compare_exchange_weak(u, u + 1, std::memory_order_acquire,
                                         std::memory_order_relaxed));
  return true;
}

void IoSource::end_op() noexcept {
  // acq_rel: the last user out (after close()) closes the fd, after every
  // syscall that used it.
  std::uint32_t prev = users_.fetch_sub(1, std::memory_order_acq_rel);
  if ((prev & kCount) == 1 && (prev & kClosed)) try_close_fd();
}

void IoSource::throw_closed(const char* what) {
  throw ClosedError(what);
}

void IoSource::try_close_fd() noexcept {
  std::uint32_t u = users_.load(std::memory_order_acquire);
  // Claim the close exactly once, and only with no syscall in flight.
  while ((u & kClosed) && !(u & kFdClaimed) && (u & kCount) == 0) {
    // acq_rel: the claimer sees every finished user's syscall.
    if (users_.compare_exchange_weak(u, u | kFdClaimed, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      close_fd();
      return;
    }
  }
}

void IoSource::close_fd() noexcept {
  // DESIGN.md: EPOLL_CTL_DEL before close(), so a reused fd number can never
  // deliver events to this source.
  epoll_ctl(reactor_->epoll_fd(), EPOLL_CTL_DEL, fd_, nullptr);
  ::close(fd_);
  reactor_->on_deregistered();
  // acq_rel: whoever of this and release() comes second retires the memory.
  if (users_.fetch_or(kFdDone, std::memory_order_acq_rel) & kReleased) reactor_->retire(this);
}

void IoSource::close() noexcept {
  // acq_rel: one closer wins; it sees the users that began before it.
  if (users_.fetch_or(kClosed, std::memory_order_acq_rel) & kClosed) return;
  // seq_cst: waiters re-read the word after publishing themselves (Dekker).
  word_.fetch_or(kShutDown, std::memory_order_seq_cst);
  wake_slot(reader_);
  wake_slot(writer_);
  try_close_fd();
}

void IoSource::release() noexcept {
  close();
  // acq_rel: see close_fd()'s comment.
  if (users_.fetch_or(kReleased, std::memory_order_acq_rel) & kFdDone) reactor_->retire(this);
}

void IoSource::wake_slot(std::atomic<TaskHeader*>& slot) noexcept {
  // seq_cst load: ordered after our update of the readiness word (Dekker with
  // the waiter's publish-then-check). The exchange decides who wakes.
  if (!slot.load(std::memory_order_seq_cst)) return;
  if (TaskHeader* t = slot.exchange(nullptr, std::memory_order_acq_rel)) t->wake();
}

void IoSource::on_event(std::uint32_t events, std::uint64_t tick) noexcept {
  std::uint64_t add = 0;
  if (events & (EPOLLIN | EPOLLPRI)) add |= kReadable;
  if (events & EPOLLOUT) add |= kWritable;
  if (events & EPOLLRDHUP) add |= kReadClosed;
  if (events & EPOLLHUP) add |= kReadClosed | kWriteClosed;
  if (events & EPOLLERR) add |= kErrored;
  std::uint64_t cur = word_.load(std::memory_order_relaxed);  // a first guess for the CAS
  // seq_cst: see wake_slot(). The new tick tells operations whose snapshot is
  // older that an edge arrived (they must not clear readiness).
  while (!word_.compare_exchange_weak(cur, (tick << kTickShift) | (cur & kFlagMask) | add,
                                      std::memory_order_seq_cst, std::memory_order_relaxed)) {
  }
  if (add & kReadMask) wake_slot(reader_);
  if (add & kWriteMask) wake_slot(writer_);
}

void IoSource::clear_readiness(std::uint64_t snapshot, std::uint64_t bits) noexcept {
  std::uint64_t cur = word_.load(std::memory_order_acquire);
  // Only while no event arrived since the snapshot (same tick): an edge that
  // came while the syscall ran keeps its readiness.
  while ((cur >> kTickShift) == (snapshot >> kTickShift) && (cur & bits)) {
    // acq_rel: ordered against dispatch's seq_cst update of the same word.
    if (word_.compare_exchange_weak(cur, cur & ~bits, std::memory_order_acq_rel,
                                    std::memory_order_acquire))
      return;
  }
}

template <class Syscall>
long IoSource::attempt(std::uint64_t mask, std::uint64_t bit, const char* what, std::uint64_t& snap,
                       Syscall call) {
  snap = word_.load(std::memory_order_acquire);  // acquire: pairs with dispatch
  if (!(snap & mask)) return kWouldBlock;        // known drained: skip the syscall
  OpGuard guard(this, what);
  ssize_t r;
  do {
    r = call();
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      clear_readiness(snap, bit);
      return kWouldBlock;
    }
    throw IoError(errno, what);
  }
  // Bytes moved: the caller's result must stand even if a cancel() is pending
  // (a task that ends without another suspension keeps it; see task_header.hpp).
  if (r >= 0) weft::detail::keep_result_over_pending_cancel();  // r == 0: EOF or an empty datagram
  return r;
}

long IoSource::try_read(void* buf, std::size_t n, const char* what) {
  std::uint64_t snap = 0;
  long r = attempt(kReadMask, kReadable, what, snap, [&] { return ::read(fd_, buf, n); });
  // A short read drained the receive queue as far as this snapshot knows (as
  // Tokio concludes on epoll): clear readiness, so the next read waits for an
  // edge instead of paying a syscall for EAGAIN. Bytes that arrive during or
  // after this read raise a new edge, which carries a newer tick (and then the
  // clear does nothing) or is dispatched later (and sets readiness again).
  if (r > 0 && static_cast<std::size_t>(r) < n) clear_readiness(snap, kReadable);
  return r;
}

// A short write does not clear readiness: gVisor does not always raise a
// writable edge for the space freed after a short write (measured: the writer
// stalls until other traffic on the socket). The next attempt pays one EAGAIN
// instead, after which an edge is guaranteed.
long IoSource::try_write(const void* buf, std::size_t n, const char* what) {
  std::uint64_t snap = 0;
  return attempt(kWriteMask, kWritable, what, snap, [&] {
    return ::send(fd_, buf, n, MSG_NOSIGNAL);  // EPIPE instead of SIGPIPE
  });
}

namespace {

/// write() with SIGPIPE held back: the thread blocks SIGPIPE around the call
/// and, if the write raised one that was not already pending, takes it with
/// sigtimedwait before unblocking (the signal a broken pipe raises is sent to
/// the writing thread). 4 syscalls instead of 1: for pipes to children only.
ssize_t write_no_sigpipe(int fd, const void* buf, std::size_t n) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE);
  ssize_t r = ::write(fd, buf, n);
  const int e = errno;
  if (r < 0 && e == EPIPE && !was_pending && !sigismember(&old, SIGPIPE)) {
    timespec zero{};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = e;
  return r;
}

}  // namespace

long IoSource::try_pipe_write(const void* buf, std::size_t n, const char* what) {
  std::uint64_t snap = 0;
  return attempt(kWriteMask, kWritable, what, snap, [&] { return write_no_sigpipe(fd_, buf, n); });
}

long IoSource::try_writev(const iovec* iov, int count, const char* what) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<std::size_t>(count);
  return try_sendmsg(&msg, what);
}

long IoSource::try_sendmsg(const msghdr* msg, const char* what) {
  std::uint64_t snap = 0;
  return attempt(kWriteMask, kWritable, what, snap,
                 [&] { return ::sendmsg(fd_, msg, MSG_NOSIGNAL); });
}

long IoSource::try_recvmsg(msghdr* msg, int flags, const char* what) {
  std::uint64_t snap = 0;
  return attempt(kReadMask, kReadable, what, snap, [&] { return ::recvmsg(fd_, msg, flags); });
}

int IoSource::try_accept(sockaddr* addr, socklen_t* len, const char* what) {
  std::uint64_t snap = word_.load(std::memory_order_acquire);  // acquire: pairs with dispatch
  if (!(snap & kReadMask)) return static_cast<int>(kWouldBlock);
  OpGuard guard(this, what);
  for (;;) {
    socklen_t l = len ? *len : 0;
    int fd = ::accept4(fd_, addr, len ? &l : nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (len) *len = l;
      return fd;
    }
    switch (errno) {
      case EAGAIN:
#if EWOULDBLOCK != EAGAIN
      case EWOULDBLOCK:
#endif
        clear_readiness(snap, kReadable);
        return static_cast<int>(kWouldBlock);
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        return -errno;  // resource exhaustion: the caller backs off
      // accept(2): a connection that failed before we took it, or a pending
      // network error on it: take the next one.
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
      case ENETDOWN:
      case ENOPROTOOPT:
      case EHOSTDOWN:
      case ENONET:
      case EHOSTUNREACH:
      case EOPNOTSUPP:
      case ENETUNREACH:
        continue;
      default:
        throw IoError(errno, what);
    }
  }
}

// ---- ReadinessAwaiter ----

bool ReadinessAwaiter::await_ready() const noexcept {
  const std::uint64_t mask = dir == Direction::read ? kReadMask : kWriteMask;
  return src->word_.load(std::memory_order_acquire) & mask;  // acquire: pairs with dispatch
}

bool ReadinessAwaiter::await_suspend(std::coroutine_handle<> h) {
  TaskHeader* t = weft::detail::require_current_task("weft::io readiness wait");
  const std::uint64_t mask = dir == Direction::read ? kReadMask : kWriteMask;
  std::atomic<TaskHeader*>& slot = src->slot(dir);
  withdraw = &withdraw_wait;
  what = dir == Direction::read ? "io: wait readable" : "io: wait writable";
  t->resume_point_ = h;
  t->suspended_on_ = this;
  TaskHeader* expected = nullptr;
  // seq_cst: publish, then re-read the word (Dekker with dispatch / close).
  if (!slot.compare_exchange_strong(expected, t, std::memory_order_seq_cst)) {
    t->suspended_on_ = nullptr;
    throw weft::InvalidStateError(
        dir == Direction::read
            ? "weft::io: two tasks wait to read the same socket at once (one reader at a time)"
            : "weft::io: two tasks wait to write the same socket at once (one writer at a time)");
  }
  if (src->word_.load(std::memory_order_seq_cst) & mask) {
    // Ready after all: take ourselves back unless a waker already did (then
    // its wake() is on the way and we must suspend to receive it).
    expected = t;
    if (slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
      t->suspended_on_ = nullptr;
      return false;
    }
  }
  suspended = true;
  return true;
}

void ReadinessAwaiter::await_resume() const {
  // A cancel() that arrived after the readiness but before the task resumed
  // is delivered here, before any byte moves (asyncio delivers it at the
  // resumption too; nothing is lost since the syscall comes after).
  if (cancelled || (suspended && weft::detail::take_pending_cancel()))
    weft::detail::throw_cancelled_at_resume();
}

Withdraw ReadinessAwaiter::withdraw_wait(weft::detail::Suspension* self,
                                         TaskHeader* task) noexcept {
  auto* a = static_cast<ReadinessAwaiter*>(self);
  TaskHeader* expected = task;
  // acq_rel: one CAS decides between this withdrawal and a waker's exchange.
  if (!a->src->slot(a->dir).compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel))
    return Withdraw::too_late;
  a->cancelled = true;
  return Withdraw::withdrawn;
}

}  // namespace detail
}  // namespace weft::io

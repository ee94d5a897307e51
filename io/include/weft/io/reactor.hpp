// The epoll reactor: per-fd readiness state and the awaitable that waits on it.
//
// One Reactor per runtime, attached to the runtime's epoll driver
// (weft/detail/driver.hpp) the first time a socket is opened on it. Every fd
// is registered once, edge-triggered (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET),
// with an IoSource as its epoll data. The worker that holds the driver calls
// the reactor's dispatch with the ready events; dispatch records the readiness
// in the IoSource and wakes its waiters (TaskHeader::wake(): they are
// scheduled, never resumed inline).
//
// IoSource (Tokio's readiness model)
// ----------------------------------
//   readiness word   [ driver tick : 48 | flags : 16 ]
//                    flags: readable, writable (cleared by operations that hit
//                    EAGAIN, readable also by a short read), read-closed, write-closed,
//                    error, closed (sticky: never cleared).
//   reader, writer   one waiting task each (atomic pointer; null when none).
//   users            in-flight syscalls + the closed bits, so close() from
//                    another task never closes an fd number under a syscall.
//
// An operation snapshots the readiness word, tries its syscall, and on EAGAIN
// clears the readiness bit only if the word still carries the snapshot's tick:
// an edge dispatched while the syscall ran is therefore never lost. Only then
// does it wait: it publishes itself in the reader/writer slot and re-reads
// the word; the dispatcher updates the word and then takes the slot. Both
// sides use seq_cst, so one of them sees the other (Dekker); the exchange or
// CAS on the slot decides who wakes the task — exactly one wake per wait.
// Cancellation withdraws the waiter with one CAS on the slot (withdrawn), or
// finds the slot already taken by the dispatcher (too_late).
//
// Memory reclamation: an epoll_wait in progress on another thread may hold an
// event pointing at an IoSource being closed. Sources are therefore freed by
// the dispatcher itself, one dispatch after the one that collected them from
// the retired list: an epoll_wait that starts after EPOLL_CTL_DEL never
// reports the fd (Reactor::dispatch has the argument).
//
// Progress: dispatch, wait, withdraw and close are lock-free (a few CAS
// loops that retry only when another thread changed the word).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "weft/detail/task_header.hpp"

namespace weft::io::detail {

class Reactor;

/// Readiness flags (low 16 bits of the readiness word).
inline constexpr std::uint64_t kReadable = 1u << 0;
inline constexpr std::uint64_t kWritable = 1u << 1;
inline constexpr std::uint64_t kReadClosed = 1u << 2;   ///< EPOLLRDHUP / EPOLLHUP: EOF is pending
inline constexpr std::uint64_t kWriteClosed = 1u << 3;  ///< EPOLLHUP
inline constexpr std::uint64_t kErrored = 1u << 4;      ///< EPOLLERR
inline constexpr std::uint64_t kShutDown = 1u << 5;     ///< close() was called
inline constexpr int kTickShift = 16;
inline constexpr std::uint64_t kFlagMask = (1u << kTickShift) - 1;
/// Any of these ends a wait for reading / writing.
inline constexpr std::uint64_t kReadMask = kReadable | kReadClosed | kErrored | kShutDown;
inline constexpr std::uint64_t kWriteMask = kWritable | kWriteClosed | kErrored | kShutDown;

/// Result of a non-blocking attempt that would have blocked.
inline constexpr long kWouldBlock = -1;

enum class Direction : std::uint8_t { read, write };

class IoSource;

/// co_await source.wait(dir): suspends until the fd is ready in that
/// direction (or closed / errored). Cancellable (CancelledError); usable with
/// weft::wait_for / weft::timeout. One reader and one writer may wait at a
/// time (a second throws InvalidStateError).
struct ReadinessAwaiter : weft::detail::Suspension {
  IoSource* src;
  Direction dir;
  bool cancelled = false;
  bool suspended = false;  ///< really waited (a resumption, not a ready path)

  ReadinessAwaiter(IoSource* s, Direction d) noexcept : src(s), dir(d) {}
  bool await_ready() const noexcept;
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() const;
  static weft::detail::Withdraw withdraw_wait(weft::detail::Suspension* self,
                                              weft::detail::TaskHeader* task) noexcept;
};

class IoSource {
 public:
  /// Registers `fd` (non-blocking, close-on-exec) with the calling task's
  /// runtime's reactor. `ready` is the initial readiness (kReadable|kWritable
  /// for an established socket: the first operation tries its syscall).
  /// Takes ownership of fd: it is closed if registration fails (IoError).
  static IoSource* open(int fd, std::uint64_t ready);

  /// Closes the fd and wakes both waiters (their operations throw ClosedError).
  /// Any thread, idempotent. If a syscall on the fd is in flight on another
  /// thread, the fd is closed when it returns.
  void close() noexcept;
  /// close(), then hands the memory to the reactor (freed after the next
  /// dispatch). The owner's last call: no operation may be running or waiting.
  void release() noexcept;

  int fd() const noexcept { return fd_; }
  /// close() has been called (the fd may still be open until a syscall in flight returns).
  bool closed() const noexcept;
  std::uint64_t readiness() const noexcept {
    return word_.load(std::memory_order_acquire);  // acquire: pairs with dispatch's update
  }

  ReadinessAwaiter wait(Direction d) noexcept { return ReadinessAwaiter(this, d); }

  // ---- non-blocking syscalls: bytes, or kWouldBlock; throw IoError / ClosedError ----
  // `what` names the operation in error messages ("weft::TcpStream::read").
  long try_read(void* buf, std::size_t n, const char* what);
  long try_write(const void* buf, std::size_t n, const char* what);
  long try_writev(const iovec* iov, int count, const char* what);
  /// write() to a pipe without SIGPIPE: a reader that has gone gives EPIPE (as
  /// MSG_NOSIGNAL does for sockets); the SIGPIPE the kernel raises is taken
  /// back, unless the thread itself blocks SIGPIPE (then it stays pending
  /// there, where that thread expects it).
  long try_pipe_write(const void* buf, std::size_t n, const char* what);
  /// sendmsg() with MSG_NOSIGNAL (datagrams: the whole message or kWouldBlock).
  long try_sendmsg(const msghdr* msg, const char* what);
  /// recvmsg() with `flags` (MSG_TRUNC: a datagram's full length is returned
  /// even when the buffer was shorter; msg->msg_flags says MSG_TRUNC). Unlike
  /// try_read, a short result does not clear readiness: for datagrams it
  /// says nothing about what else is queued.
  long try_recvmsg(msghdr* msg, int flags, const char* what);
  /// accept4(); returns the fd, kWouldBlock, or -errno for the resource errors
  /// the caller backs off on (EMFILE, ENFILE, ENOBUFS, ENOMEM).
  int try_accept(sockaddr* addr, socklen_t* len, const char* what);

  /// Starts a syscall on the fd: false if the source is closed. Pairs with end_op().
  bool begin_op() noexcept;
  void end_op() noexcept;
  /// Throws ClosedError for `what` if the source is closed.
  [[noreturn]] static void throw_closed(const char* what);
  /// Clears `bits` (kReadable / kWritable) unless an event arrived since `snapshot`.
  void clear_readiness(std::uint64_t snapshot, std::uint64_t bits) noexcept;

  // ---- reactor side ----
  void on_event(std::uint32_t events, std::uint64_t tick) noexcept;
  IoSource* retired_next = nullptr;

 private:
  friend struct ReadinessAwaiter;
  friend class Reactor;
  IoSource(Reactor* r, int fd, std::uint64_t ready) noexcept;
  void close_fd() noexcept;
  void try_close_fd() noexcept;
  /// One byte-stream syscall (`call()` returns ssize_t) unless the readiness
  /// word says the direction `mask` is drained: retried on EINTR; EAGAIN
  /// clears `bit` (unless an edge came meanwhile) and gives kWouldBlock; other
  /// errors throw IoError. `snap` receives the snapshot the attempt ran under.
  template <class Syscall>
  long attempt(std::uint64_t mask, std::uint64_t bit, const char* what, std::uint64_t& snap,
               Syscall call);
  std::atomic<weft::detail::TaskHeader*>& slot(Direction d) noexcept {
    return d == Direction::read ? reader_ : writer_;
  }
  static void wake_slot(std::atomic<weft::detail::TaskHeader*>& slot) noexcept;

  Reactor* const reactor_;
  const int fd_;
  std::atomic<std::uint64_t> word_;
  std::atomic<weft::detail::TaskHeader*> reader_{nullptr};
  std::atomic<weft::detail::TaskHeader*> writer_{nullptr};
  std::atomic<std::uint32_t> users_{0};
};

/// RAII for begin_op()/end_op(): throws ClosedError if the source is closed.
class OpGuard {
 public:
  OpGuard(IoSource* s, const char* what) : s_(s) {
    if (!s_->begin_op()) IoSource::throw_closed(what);
  }
  ~OpGuard() { s_->end_op(); }
  OpGuard(const OpGuard&) = delete;
  OpGuard& operator=(const OpGuard&) = delete;

 private:
  IoSource* s_;
};

/// Number of IoSources registered on the calling thread's runtime right now
/// (for leak checks in tests); 0 outside a runtime.
long registered_sources() noexcept;

}  // namespace weft::io::detail

// Reactor: the I/O extension attached to one runtime's epoll driver. It turns
// epoll events into readiness updates on IoSources and frees retired sources
// when no epoll_wait can still report them.
#pragma once

#include <atomic>

#include "weft/detail/driver.hpp"
#include "weft/io/reactor.hpp"

namespace weft::io::detail {

class Reactor {
 public:
  /// The reactor of the calling task's runtime, attached on first use.
  /// Throws weft::RuntimeError outside a runtime.
  static Reactor& current();
  /// The reactor of `driver`, attached on first use (lock-free; a thread that
  /// loses the installation race waits for the winner's few stores).
  static Reactor& of(weft::detail::Driver& driver);
  /// The reactor of the calling thread's runtime if one is attached, else null.
  static Reactor* try_current() noexcept;

  weft::detail::Driver& driver() noexcept { return driver_; }
  int epoll_fd() const noexcept { return driver_.epoll_fd(); }

  /// Hands a closed (EPOLL_CTL_DEL'd) source over for freeing. Any thread; lock-free.
  void retire(IoSource* s) noexcept;
  /// Registered sources (for leak checks).
  long live() const noexcept { return live_.load(std::memory_order_relaxed); }
  void on_registered() noexcept;
  void on_deregistered() noexcept;

 private:
  explicit Reactor(weft::detail::Driver& d) noexcept : driver_(d) {}
  ~Reactor();
  static void dispatch(void* context, const epoll_event* events, int count);
  static void destroy(void* context);
  static void free_list(IoSource* s) noexcept;

  weft::detail::Driver& driver_;
  std::atomic<long> live_{0};
  /// Sources closed since the last dispatch collected them (Treiber stack).
  std::atomic<IoSource*> retired_{nullptr};
  /// Collected at the end of the previous dispatch; freed at the start of the
  /// next one. Touched only by the driver's holder (and by destroy()).
  IoSource* grace_ = nullptr;
};

}  // namespace weft::io::detail

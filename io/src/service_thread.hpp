// ServiceThread: one process-wide helper thread with its own epoll instance,
// for what must be watched whatever runtimes exist or end: the signal hub's
// descriptors (signal.hpp) and the pidfds of children whose Process object was
// dropped while they ran (process.hpp). It runs with every signal blocked, so
// it never executes a signal handler and never takes a signal that a
// signalfd should read.
//
// Watchers are level-triggered (they drain what is ready each time). A
// watcher is removed only by itself, from its own on_ready() on the service
// thread, so no epoll event can name a freed watcher.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

namespace weft::io::detail {

class ServiceThread {
 public:
  class Watcher {
   public:
    /// Called on the service thread with the epoll events of the watched fd.
    virtual void on_ready(std::uint32_t events) noexcept = 0;

   protected:
    ~Watcher() = default;
  };

  /// The thread, started on first use (throws IoError if it cannot start);
  /// it lives until the process exits.
  static ServiceThread& instance();

  /// Watches `fd` for `events` (level-triggered) until unwatch(). Any thread.
  /// Throws IoError.
  void watch(int fd, Watcher* w, std::uint32_t events = EPOLLIN);
  /// Stops watching `fd`; the caller then owns the watcher. Call only from
  /// that watcher's on_ready().
  void unwatch(int fd) noexcept;

 private:
  ServiceThread();
  void loop() noexcept;
  int epoll_fd_ = -1;
};

}  // namespace weft::io::detail

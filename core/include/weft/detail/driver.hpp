// Driver: the runtime's one epoll instance, where a parked worker waits for I/O
// readiness, a wake-up (eventfd) or its next timer deadline.
//
// One parked worker at a time holds the driver (try_acquire() is a single
// exchange; a worker that does not get it sleeps on its own futex instead).
// Busy workers poll it without blocking every kMaintenanceInterval ticks, so I/O
// readiness is seen even when nobody parks.
//
// In the model-checking build (WEFT_MODEL) turn() does not block in epoll:
// it waits on a model futex that wake() signals (the eventfd's stand-in), so
// the driver's wake-up protocol is part of the explored schedules; I/O
// readiness (weft::io) is not modelled.
//
// core knows nothing of sockets: weft::io registers its file descriptors on
// epoll_fd() with a pointer to its own per-fd state and installs a dispatch
// function that turn() calls with the ready events.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

class Driver {
 public:
  using Dispatch = void (*)(void* context, const epoll_event* events, int count);

  Driver();
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  /// Takes the driver if nobody holds it. Wait-free.
  bool try_acquire() noexcept {
    // acquire: see what the previous holder did (dispatched events, drained eventfd).
    return !held_.exchange(true, std::memory_order_acquire);
  }
  void release() noexcept { held_.store(false, std::memory_order_release); }

  /// Waits for readiness or wake(), at most `timeout_ns` (< 0: no limit; 0: poll),
  /// and dispatches what arrived. Holder only.
  void turn(std::int64_t timeout_ns);
  /// Makes a turn() in progress (or the next one) return. Any thread.
  void wake() noexcept;

  int epoll_fd() const noexcept { return epoll_fd_; }

  /// Attaches the I/O layer (weft::io's reactor) to this driver, once per
  /// runtime: `dispatch(context, events, n)` receives every ready event that is
  /// not the driver's own wake-up, and `destroy(context)` runs when the runtime
  /// is destroyed (after its workers stopped). The three are published together
  /// by one CAS, so a thread that sees the context also sees its dispatch.
  /// Returns false, and installs nothing, if an extension is already installed
  /// (then use extension()). Thread-safe; lock-free apart from one allocation.
  bool install_extension(Dispatch dispatch, void* context, void (*destroy)(void*));
  /// The installed extension's context, or null. Any thread.
  void* extension() const noexcept {
    // acquire: pairs with install_extension's publishing CAS.
    const Extension* e = extension_.load(std::memory_order_acquire);
    return e ? e->context : nullptr;
  }
  /// Incremented by every turn(): lets the reactor tell a readiness edge that
  /// arrived after it looked from one it already consumed.
  std::uint64_t tick() const noexcept { return tick_.load(std::memory_order_acquire); }

  /// Registered I/O sources (maintained by weft::io). While it is zero, busy
  /// workers skip the periodic non-blocking poll (an epoll_wait syscall).
  void add_source() noexcept { sources_.fetch_add(1, std::memory_order_relaxed); }
  void remove_source() noexcept { sources_.fetch_sub(1, std::memory_order_relaxed); }
  bool has_sources() const noexcept { return sources_.load(std::memory_order_relaxed) > 0; }

 private:
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  detail::Atomic<bool> held_{false};
  detail::Atomic<bool> woken_{false};
  detail::Atomic<std::uint64_t> tick_{0};
  detail::Atomic<std::int64_t> sources_{0};
  struct Extension {
    Dispatch dispatch;
    void* context;
    void (*destroy)(void*);
  };
  detail::Atomic<Extension*> extension_{nullptr};
#ifdef WEFT_MODEL
  /// The eventfd's counter, as a model futex word.
  detail::Atomic<std::uint32_t> model_eventfd_{0};
#endif
};

}  // namespace weft::detail

// SignalHub: the process-wide reader of signals and the registry of their
// listeners (weft/io/signal.hpp has the user-facing rules).
//
// Two paths bring a delivery here, both on the service thread:
//  - the signalfd, for signals every thread blocks (the normal path);
//  - a pipe written by weft's signal handler, for deliveries to a thread that
//    does not block the signal. The handler is async-signal-safe: one write()
//    of a 16-byte record (atomic below PIPE_BUF) to a non-blocking pipe; a
//    full pipe drops the record, and the listeners already have one pending
//    (deliveries are coalesced anyway).
//
// Listener waits (one waiter slot per listener):
//   listener: publish the waiter in `waiter` (seq_cst), then re-read
//             `delivered` / `closed`; a change means take the slot back.
//   hub:      bump `delivered` (seq_cst), then exchange the slot.
// One of the two sees the other (Dekker); the exchange or CAS on the slot
// decides who wakes the task, so there is exactly one wake per wait.
// Withdrawal (cancel) is one CAS on the slot.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "service_thread.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/io/signal.hpp"

namespace weft::io::detail {

/// One delivery as the handler or the signalfd reports it.
struct SignalRecord {
  std::int32_t signo;
  std::int32_t code;
  std::int32_t pid;
  std::uint32_t uid;
};

struct SignalListener {
  explicit SignalListener(int s) noexcept : signo(s) {}
  const int signo;
  // Hub list links and the last delivery: guarded by the hub's mutex.
  SignalListener* prev = nullptr;
  SignalListener* next = nullptr;
  SignalRecord last{};
  bool linked = false;
  /// Deliveries so far (written under the hub's mutex).
  std::atomic<std::uint64_t> delivered{0};
  /// Deliveries already returned by recv() (the owner task's).
  std::uint64_t consumed = 0;
  std::atomic<weft::detail::TaskHeader*> waiter{nullptr};
  std::atomic<bool> closed{false};

  /// Wakes the waiting task, if any (hub or close()).
  void wake_waiter() noexcept;
};

class SignalHub {
 public:
  static SignalHub& instance();

  /// Throws std::invalid_argument naming `signo` and `what` if it cannot be listened to.
  static void check_signal(int signo, const char* what);

  /// Links `l` and makes sure its signal is watched (signalfd mask, handler).
  /// Throws IoError. Any thread.
  void subscribe(SignalListener* l);
  /// Unlinks `l`: the hub does not touch it afterwards. Any thread; idempotent.
  void unsubscribe(SignalListener* l) noexcept;
  /// The last delivery `l` received (under the mutex).
  SignalRecord last(SignalListener* l);
  /// Statistics for tests (see signal.hpp).
  std::uint64_t deliveries_read() const noexcept {
    return read_.load(std::memory_order_acquire);  // acquire: pairs with deliver()
  }
  int listener_count(int signo) noexcept;

 private:
  SignalHub() = default;
  void start();
  void drain_signalfd() noexcept;
  void drain_pipe() noexcept;
  /// Hands `r` to every listener of its signal. Under mu_.
  void deliver_locked(const SignalRecord& r) noexcept;

  struct FdWatcher : ServiceThread::Watcher {
    SignalHub* hub;
    bool is_pipe;
    FdWatcher(SignalHub* h, bool p) : hub(h), is_pipe(p) {}
    void on_ready(std::uint32_t) noexcept override {
      if (is_pipe)
        hub->drain_pipe();
      else
        hub->drain_signalfd();
    }
  };

  std::mutex mu_;
  bool started_ = false;              // guarded by mu_
  sigset_t mask_{};                   // guarded by mu_: the signals weft watches
  SignalListener* heads_[NSIG] = {};  // guarded by mu_
  std::atomic<std::uint64_t> read_{0};
  int signal_fd_ = -1;
  int pipe_[2] = {-1, -1};
  FdWatcher fd_watcher_{this, false};
  FdWatcher pipe_watcher_{this, true};
};

}  // namespace weft::io::detail

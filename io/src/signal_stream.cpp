// SignalStream, weft::signal(), block_signals(): the listener side of the
// signal hub (protocol in signal_hub.hpp).
#include <pthread.h>

#include <string>

#include "signal_hub.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/io/errors.hpp"
#include "weft/yield.hpp"

namespace weft::io {

using detail::SignalHub;
using detail::SignalListener;
using weft::detail::TaskHeader;
using weft::detail::Withdraw;

namespace {

constexpr const char* kRecv = "weft::io::SignalStream::recv";

/// co_await: until `l` has a delivery not yet returned, or is closed.
struct RecvAwaiter : weft::detail::Suspension {
  SignalListener* l;
  bool cancelled = false;

  explicit RecvAwaiter(SignalListener* listener) noexcept : l(listener) {}

  bool ready() const noexcept {
    // seq_cst: the re-check half of the Dekker pair (signal_hub.hpp).
    return l->delivered.load(std::memory_order_seq_cst) != l->consumed ||
           l->closed.load(std::memory_order_seq_cst);
  }
  bool await_ready() const noexcept { return ready(); }

  bool await_suspend(std::coroutine_handle<> h) {
    TaskHeader* t = weft::detail::require_current_task(kRecv);
    withdraw = &withdraw_wait;
    what = "io: wait for a signal";
    t->resume_point_ = h;
    t->suspended_on_ = this;
    TaskHeader* expected = nullptr;
    // seq_cst: publish, then re-check (Dekker with delivery and close()).
    if (!l->waiter.compare_exchange_strong(expected, t, std::memory_order_seq_cst)) {
      t->suspended_on_ = nullptr;
      throw weft::InvalidStateError(
          "weft::io::SignalStream::recv: another task already waits on this stream (use one "
          "SignalStream per task)");
    }
    if (ready()) {
      expected = t;
      // Take ourselves back unless a waker already did (its wake() is coming).
      if (l->waiter.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
        t->suspended_on_ = nullptr;
        return false;
      }
    }
    return true;
  }

  void await_resume() const {
    if (cancelled) weft::detail::throw_cancelled_at_resume();
  }

  static Withdraw withdraw_wait(weft::detail::Suspension* self, TaskHeader* task) noexcept {
    auto* a = static_cast<RecvAwaiter*>(self);
    TaskHeader* expected = task;
    // acq_rel: one CAS decides between this withdrawal and the waker's exchange.
    if (!a->l->waiter.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel))
      return Withdraw::too_late;
    a->cancelled = true;
    return Withdraw::withdrawn;
  }
};

}  // namespace

SignalStream::SignalStream(int signo) : signo_(signo) {
  SignalHub::check_signal(signo, "weft::io::SignalStream");
  l_ = std::make_unique<SignalListener>(signo);
  SignalHub::instance().subscribe(l_.get());
}

SignalStream::SignalStream(SignalStream&& o) noexcept : l_(std::move(o.l_)), signo_(o.signo_) {}

SignalStream& SignalStream::operator=(SignalStream&& o) noexcept {
  if (this != &o) {
    close();
    l_ = std::move(o.l_);
    signo_ = o.signo_;
  }
  return *this;
}

SignalStream::~SignalStream() {
  close();
}

void SignalStream::close() noexcept {
  if (!l_) return;
  SignalHub::instance().unsubscribe(l_.get());
  // seq_cst: Dekker with a waiter's publish-then-check.
  l_->closed.store(true, std::memory_order_seq_cst);
  l_->wake_waiter();
}

bool SignalStream::is_open() const noexcept {
  return l_ && !l_->closed.load(std::memory_order_acquire);  // acquire: pairs with close()
}

Task<SignalInfo> SignalStream::recv() {
  if (!l_) throw ClosedError(std::string(kRecv) + " (empty SignalStream)");
  SignalListener* l = l_.get();
  if (!weft::detail::consume_budget()) co_await weft::yield();
  co_await RecvAwaiter(l);
  // acquire: pairs with close()'s store.
  if (l->closed.load(std::memory_order_acquire)) throw ClosedError(kRecv);
  // acquire: pairs with the hub's increment (the record itself is read under the hub's mutex).
  std::uint64_t now = l->delivered.load(std::memory_order_acquire);
  detail::SignalRecord r = SignalHub::instance().last(l);
  SignalInfo info;
  info.signo = r.signo;
  info.count = now - l->consumed;
  info.code = r.code;
  info.sender_pid = r.pid;
  info.sender_uid = r.uid;
  l->consumed = now;
  co_return info;
}

Task<SignalInfo> signal(int signo) {
  SignalStream s(signo);
  co_return co_await s.recv();
}

void block_signals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) {
    SignalHub::check_signal(s, "weft::io::block_signals");
    sigaddset(&set, s);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace weft::io

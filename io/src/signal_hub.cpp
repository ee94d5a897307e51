// SignalHub: signalfd and the forwarding handler, the listener registry and
// delivery. See signal_hub.hpp for the wait protocol.
#include "signal_hub.hpp"

#include <fcntl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "weft/io/errors.hpp"

namespace weft::io::detail {

namespace {

/// The handler's pipe (write end), stored once before the first sigaction()
/// that installs the handler. Atomic (lock-free) so that the handler, on any
/// thread, reads it without a data race and async-signal-safely.
std::atomic<int> g_forward_fd{-1};

extern "C" void weft_forward_signal(int signo, siginfo_t* info, void*) {
  const int saved = errno;  // the interrupted code must not see our errno
  SignalRecord r{signo, info ? info->si_code : 0, info ? info->si_pid : 0,
                 info ? static_cast<std::uint32_t>(info->si_uid) : 0u};
  // relaxed: the value never changes after the store that precedes sigaction().
  ssize_t n = ::write(g_forward_fd.load(std::memory_order_relaxed), &r, sizeof r);
  (void)n;  // a full pipe already holds a pending record: nothing is lost
  errno = saved;
}

/// Records taken per read().
constexpr int kBatch = 16;

}  // namespace

void SignalListener::wake_waiter() noexcept {
  // seq_cst load: ordered after the caller's update of delivered / closed
  // (Dekker with the waiter's publish-then-check). The exchange decides who wakes.
  if (!waiter.load(std::memory_order_seq_cst)) return;
  if (weft::detail::TaskHeader* t = waiter.exchange(nullptr, std::memory_order_acq_rel)) t->wake();
}

SignalHub& SignalHub::instance() {
  // Never destroyed: signal dispositions and the service thread outlive every
  // static destructor that might still create or close a listener.
  static SignalHub* const hub = new SignalHub();
  return *hub;
}

void SignalHub::check_signal(int signo, const char* what) {
  const char* why = nullptr;
  if (signo < 1 || signo > SIGRTMAX || signo >= NSIG)
    why = "is not a signal number";
  else if (signo == SIGKILL || signo == SIGSTOP)
    why = "cannot be caught (the kernel does not allow it)";
  else if (signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE)
    why = "is a fault signal (the faulting instruction would run again)";
  else if (signo > 31 && signo < SIGRTMIN)
    why = "is reserved by the C library (glibc's threads use it)";
  if (why)
    throw std::invalid_argument(std::string(what) + ": signal " + std::to_string(signo) + " " +
                                why);
}

void SignalHub::start() {
  // Under mu_. The signalfd starts with an empty mask; subscribe() adds signals.
  sigset_t none;
  sigemptyset(&none);
  sigemptyset(&mask_);
  int sfd = ::signalfd(-1, &none, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) throw IoError(errno, "weft::io::SignalStream: signalfd()");
  int p[2];
  if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
    int e = errno;
    ::close(sfd);
    throw IoError(e, "weft::io::SignalStream: pipe2() for the signal handler");
  }
  // Stored before the watches: the service thread may read them as soon as
  // epoll_ctl() returns (which orders these stores before its reads).
  signal_fd_ = sfd;
  pipe_[0] = p[0];
  pipe_[1] = p[1];
  try {
    ServiceThread& svc = ServiceThread::instance();
    svc.watch(sfd, &fd_watcher_);
    try {
      svc.watch(p[0], &pipe_watcher_);
    } catch (...) {
      svc.unwatch(sfd);  // not reported yet: nothing arrives on an empty signalfd mask
      throw;
    }
  } catch (...) {
    ::close(sfd);
    ::close(p[0]);
    ::close(p[1]);
    signal_fd_ = pipe_[0] = pipe_[1] = -1;
    throw;
  }
  // relaxed: stored once, before any sigaction() can make the handler run.
  g_forward_fd.store(p[1], std::memory_order_relaxed);
  started_ = true;
}

void SignalHub::subscribe(SignalListener* l) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) start();
    const int s = l->signo;
    if (!sigismember(&mask_, s)) {
      sigset_t next = mask_;
      sigaddset(&next, s);
      if (::signalfd(signal_fd_, &next, 0) < 0)
        throw IoError(errno, "weft::io::SignalStream: adding signal " + std::to_string(s) +
                                 " to the signalfd");
      struct sigaction sa {};
      sa.sa_sigaction = &weft_forward_signal;
      sa.sa_flags = SA_SIGINFO | SA_RESTART;
      sigfillset(&sa.sa_mask);  // one forwarding at a time per thread
      if (::sigaction(s, &sa, nullptr) < 0) {
        int e = errno;
        ::signalfd(signal_fd_, &mask_, 0);
        throw IoError(e, "weft::io::SignalStream: sigaction(" + std::to_string(s) + ")");
      }
      mask_ = next;
    }
    l->next = heads_[s];
    l->prev = nullptr;
    if (heads_[s]) heads_[s]->prev = l;
    heads_[s] = l;
    l->linked = true;
  }
  // A signal that was blocked and pending before anyone listened: the
  // signalfd has it now, but raises no new edge for it. Read it here.
  drain_signalfd();
}

void SignalHub::unsubscribe(SignalListener* l) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (!l->linked) return;
  if (l->prev)
    l->prev->next = l->next;
  else
    heads_[l->signo] = l->next;
  if (l->next) l->next->prev = l->prev;
  l->prev = l->next = nullptr;
  l->linked = false;
}

SignalRecord SignalHub::last(SignalListener* l) {
  std::lock_guard<std::mutex> lock(mu_);
  return l->last;
}

void SignalHub::drain_signalfd() noexcept {
  // Reads under the mutex too: subscribe() changes the signalfd's mask under
  // it (ThreadSanitizer models that as re-creating the descriptor), and a
  // non-blocking read of a few records is short.
  signalfd_siginfo buf[kBatch];
  std::lock_guard<std::mutex> lock(mu_);
  for (;;) {
    ssize_t n = ::read(signal_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: drained
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof buf[0]; ++i)
      deliver_locked({static_cast<std::int32_t>(buf[i].ssi_signo), buf[i].ssi_code,
                      static_cast<std::int32_t>(buf[i].ssi_pid), buf[i].ssi_uid});
  }
}

void SignalHub::drain_pipe() noexcept {
  SignalRecord buf[kBatch];
  for (;;) {
    ssize_t n = ::read(pipe_[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    // Writes of one record are atomic, so reads return whole records.
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof buf[0]; ++i)
      deliver_locked(buf[i]);
  }
}

int SignalHub::listener_count(int signo) noexcept {
  if (signo < 1 || signo >= NSIG) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (SignalListener* l = heads_[signo]; l; l = l->next)
    ++n;
  return n;
}

void SignalHub::deliver_locked(const SignalRecord& r) noexcept {
  if (r.signo < 1 || r.signo >= NSIG) return;
  for (SignalListener* l = heads_[r.signo]; l; l = l->next) {
    l->last = r;
    // seq_cst: Dekker with the waiter's publish-then-check (signal_hub.hpp).
    l->delivered.fetch_add(1, std::memory_order_seq_cst);
    l->wake_waiter();
  }
  // release: a reader of the count (acquire) also sees this delivery in
  // every listener's `delivered`.
  read_.fetch_add(1, std::memory_order_release);
}

std::uint64_t signal_deliveries_read() noexcept {
  return SignalHub::instance().deliveries_read();
}

int signal_listener_count(int signo) noexcept {
  return SignalHub::instance().listener_count(signo);
}

}  // namespace weft::io::detail

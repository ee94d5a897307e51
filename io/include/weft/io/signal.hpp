// Unix signals as awaitables: Tokio's signal::unix and asyncio's
// add_signal_handler, on signalfd.
//
//   int main() {
//     weft::io::block_signals({SIGINT, SIGTERM});    // first, before any thread starts
//     weft::run(serve());
//   }
//   weft::Task<void> serve() {
//     weft::io::SignalStream term(SIGTERM);         // listens from here on
//     ... start the server ...
//     co_await term.recv();                          // the next SIGTERM
//     server.stop();
//   }
//
//   co_await weft::signal(SIGTERM);                  // one-shot form
//   weft::io::add_signal_handler(SIGHUP, [] { reload_config(); });  // asyncio's form
//
// Semantics
//  - A listener (a SignalStream, a pending weft::signal(), a handler added with
//    add_signal_handler) receives every delivery of its signal to the process
//    from the moment it is created until it is closed or destroyed. Several
//    listeners of one signal each receive every delivery, on any runtimes.
//  - recv() returns at once if the signal came since the previous recv() (or
//    since the stream was created), else waits for it. Deliveries between two
//    recv() calls are coalesced into one; SignalInfo::count says how many the
//    stream saw (the kernel already merges a standard signal that arrives
//    while one is pending, so the count is a lower bound). SignalInfo carries
//    the last delivery's sender (pid, uid) and si_code.
//  - A waiting recv() is cancellable (CancelledError; no delivery is consumed)
//    and works inside weft::wait_for / weft::timeout. The waiting task is
//    woken by scheduling it (never resumed inline, never on a signal stack).
//  - The first listener of a signal hands it to weft for the rest of the
//    process (Tokio's rule): weft installs its own disposition, and from then
//    on a delivery that finds no listener is discarded — the default action
//    (terminate, for SIGTERM/SIGINT) does not come back when the last listener
//    goes (asyncio's remove_signal_handler restores it; weft does not).
//  - Before a signal's first listener, the process's own disposition applies.
//    If the signal is blocked then (block_signals()), it stays pending in the
//    kernel, and the first listener receives it: a SIGTERM that arrives while a
//    server is still starting is not lost, and does not kill the process.
//
// How signals reach weft (why block_signals matters)
//  - weft reads signals from one process-wide signalfd, on a helper thread
//    that starts with the first listener and lives until the process exits
//    (it keeps three descriptors and one thread). A signalfd only sees a
//    signal that every thread blocks; a process-directed signal is otherwise
//    delivered to some thread that does not block it.
//  - So that no signal is lost whatever the masks are, weft also installs a
//    signal handler for each listened-to signal. A thread that does not block
//    the signal runs it; the handler forwards the delivery (signo, si_code,
//    sender) through a pipe to the same listeners. Such a thread may see
//    EINTR from a blocking system call (the handler is SA_RESTART, which
//    restarts most of them).
//  - The rule for programs: call block_signals() with the signals you will
//    listen to at the top of main(), before the runtime or any other thread
//    starts (threads inherit the mask of the thread that creates them). Then
//    every delivery goes through the signalfd, no thread is interrupted, and
//    there is no moment at which the signal's default action can kill the
//    process. A library cannot do this for you: a thread created before the
//    call keeps its own mask (block the signal there yourself, or rely on the
//    handler path described above).
//  - Children started with weft::io::create_subprocess_exec get an empty
//    signal mask and default dispositions, whatever this process blocks.
//  - Signals sent to one thread (raise(), pthread_kill, tgkill) reach weft
//    only if that thread does not block them; send to the process
//    (kill(getpid(), sig)) instead.
//
// Signals that cannot be listened to (std::invalid_argument): SIGKILL and
// SIGSTOP (the kernel does not allow it), SIGSEGV, SIGBUS, SIGILL and SIGFPE
// (faults: the faulting instruction would run again after the handler), the
// two realtime signals glibc reserves (32, 33), and numbers outside 1..SIGRTMAX.
// SIGUSR1 works, but weft's debug mode uses it for its task dump: do not
// listen to it in a program that runs a runtime in debug mode.
//
// Thread-safety: a SignalStream is used by one task at a time (a second
// concurrent recv() throws InvalidStateError); close() may be called from any
// thread, also while a recv() waits (it throws ClosedError). Listeners may be
// created and destroyed from any thread.
// Cost: creating a listener takes a process-wide mutex (and, for a signal's
// first listener, a signalfd update and a sigaction); recv() on a pending
// delivery is two atomic loads and that mutex; a delivery takes the mutex and
// wakes each listener of the signal: O(listeners of that signal).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>

#include "weft/task.hpp"

namespace weft::io {

/// One recv(): which signal, how many deliveries it stands for, and the last one's sender.
struct SignalInfo {
  int signo = 0;
  /// Deliveries coalesced into this recv() (>= 1).
  std::uint64_t count = 0;
  /// si_code of the last delivery (SI_USER for kill(), SI_QUEUE for sigqueue(), ...).
  int code = 0;
  /// Sender of the last delivery (kill()/sigqueue(); 0 for kernel-generated signals).
  pid_t sender_pid = 0;
  uid_t sender_uid = 0;
};

namespace detail {
struct SignalListener;
/// Deliveries weft has read so far (both paths), process-wide. For tests.
std::uint64_t signal_deliveries_read() noexcept;
/// Listeners of `signo` right now, process-wide. For tests.
int signal_listener_count(int signo) noexcept;
}  // namespace detail

/// A listener of one signal (Tokio's signal::unix::Signal).
class SignalStream {
 public:
  /// Starts listening to `signo`. Throws std::invalid_argument for a signal
  /// that cannot be listened to (see above), IoError if the signalfd, pipe or
  /// helper thread cannot be created. Any thread (no runtime needed).
  explicit SignalStream(int signo);
  SignalStream(SignalStream&&) noexcept;
  SignalStream& operator=(SignalStream&&) noexcept;
  ~SignalStream();

  /// The next delivery (see above). Throws ClosedError once closed.
  Task<SignalInfo> recv();

  /// Stops listening; a waiting recv() throws ClosedError. Any thread; idempotent.
  void close() noexcept;
  bool is_open() const noexcept;
  int signo() const noexcept { return signo_; }

 private:
  std::unique_ptr<detail::SignalListener> l_;
  int signo_ = 0;
};

/// Waits for the next delivery of `signo` after the co_await starts
/// (`co_await weft::signal(SIGTERM)`). To not miss a signal that comes between
/// two waits, keep a SignalStream instead.
Task<SignalInfo> signal(int signo);

/// asyncio's loop.add_signal_handler(sig, callback): from now on, every
/// delivery of `signo` runs `callback` in a task of the calling task's
/// runtime (an ordinary task: it may do anything, but not co_await; its
/// exceptions are reported on stderr and the handler stays). Deliveries that
/// come while the callback runs are coalesced into one more call. Replaces
/// this runtime's previous handler of `signo`. The handler lasts until
/// remove_signal_handler() or the runtime's shutdown. Call inside a task;
/// throws like SignalStream's constructor, and weft::RuntimeError outside a
/// runtime.
void add_signal_handler(int signo, std::function<void()> callback);
/// asyncio's loop.remove_signal_handler(sig): removes the calling task's
/// runtime's handler of `signo`; false if there was none. Signals that come
/// afterwards are discarded (see above), not given back to the default action.
bool remove_signal_handler(int signo);

/// Blocks `signals` in the calling thread (pthread_sigmask), and so in every
/// thread it creates afterwards: call it at the top of main(), before any
/// thread starts, for the signals the program will listen to (see above).
/// Throws std::invalid_argument for a signal that cannot be listened to.
void block_signals(std::initializer_list<int> signals);

}  // namespace weft::io

namespace weft {
using io::signal;
using io::SignalStream;
}  // namespace weft

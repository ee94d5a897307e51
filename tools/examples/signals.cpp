// Signals (issue 17): asyncio's "set signal handlers for SIGINT and SIGTERM"
// example, then Tokio's stream form and the one-shot form.
//
//   def ask_exit(signame, loop):
//       print("got signal %s: exit" % signame)
//       loop.stop()
//   for signame in {'SIGINT', 'SIGTERM'}:
//       loop.add_signal_handler(getattr(signal, signame),
//                               functools.partial(ask_exit, signame, loop))
//
// To be deterministic, the program sends itself the signals it waits for.
// (Run by hand, SIGINT from Ctrl+C takes the same path.)
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "weft/io.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

namespace io = weft::io;

weft::Task<void> async_main() {
  weft::Event stop;  // the example's loop.stop()
  for (int sig : {SIGINT, SIGTERM}) {
    const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    io::add_signal_handler(sig, [name, &stop] {
      std::printf("got signal %s: exit\n", name);
      stop.set();
    });
  }
  std::printf("pid %d: send SIGINT or SIGTERM to exit.\n", static_cast<int>(::getpid()));
  ::kill(::getpid(), SIGTERM);
  co_await stop.wait();
  io::remove_signal_handler(SIGINT);
  io::remove_signal_handler(SIGTERM);

  // Tokio's form: a stream that sees every delivery from its creation on.
  io::SignalStream hup(SIGHUP);
  ::kill(::getpid(), SIGHUP);
  ::kill(::getpid(), SIGHUP);  // a standard signal may be merged with a pending one
  io::SignalInfo info = co_await hup.recv();
  std::printf("SIGHUP from %s\n", info.sender_pid == ::getpid() ? "this process" : "elsewhere");

  // The one-shot form. SIGUSR2 is blocked and nobody listened to it yet, so
  // this delivery waits in the kernel for the first listener.
  ::kill(::getpid(), SIGUSR2);
  info = co_await weft::signal(SIGUSR2);
  std::printf("signal %s received once\n", info.signo == SIGUSR2 ? "SIGUSR2" : "?");
}

int main() {
  // First, before the runtime's threads start: these signals then reach weft
  // only through its signalfd, and one that comes early waits for its listener.
  io::block_signals({SIGINT, SIGTERM, SIGHUP, SIGUSR2});
  weft::run(async_main(), {.workers = 1});
}

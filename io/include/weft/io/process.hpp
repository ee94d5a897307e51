// Subprocesses: asyncio's create_subprocess_exec / create_subprocess_shell,
// with pipes as StreamReader / StreamWriter and pidfd-based reaping.
//
//   weft::io::ProcessOptions o;
//   o.stdout_mode = weft::io::Stdio::pipe;
//   weft::io::Process p = co_await weft::io::create_subprocess_exec(o, "ls", "-l", "/");
//   while (true) {
//     std::string line = co_await p.stdout_pipe().readline();
//     if (line.empty()) break;
//   }
//   weft::io::ExitStatus st = co_await p.wait();      // st.returncode(): asyncio's returncode
//
//   auto [out, err, status] = co_await p.communicate("input for stdin");
//
// Semantics (asyncio's, with Tokio's kill_on_drop as an option)
//  - No shell: argv[0] is looked up in PATH (posix_spawnp) and run with
//    argv; create_subprocess_shell(cmd) runs "/bin/sh -c cmd" explicitly.
//  - The child starts with an empty signal mask and SIGPIPE at its default
//    action, whatever this process blocks or ignores (weft::io::block_signals
//    does not leak into children); descriptors other than 0, 1, 2 are not
//    inherited (close_fds). Spawn failures (no such program, not executable,
//    a missing cwd) throw IoError naming the program, before anything runs.
//  - Pipes (Stdio::pipe) are non-blocking on this side only and are used
//    through StreamWriter (stdin) and StreamReader (stdout, stderr); closing
//    stdin_pipe() (or write_eof()) gives the child EOF. A write to a child
//    that closed its stdin fails with EPIPE (IoError), never SIGPIPE.
//  - Reaping: a pidfd (pidfd_open, Linux 5.3+; waitid(P_PIDFD), 5.4+) is
//    watched by weft's service thread (weft/io/signal.hpp), which reaps the
//    child the moment it exits — SIGCHLD is not used at all, so there is no
//    SIGCHLD race, and no zombie is left, even when the Process object is
//    gone or its runtime has shut down. The pidfd stays open while the Process
//    lives, so send_signal() never reaches a recycled pid.
//  - wait(): the exit status, once the child has exited; any number of tasks
//    may wait. A cancelled wait() leaves the child running (asyncio's rule),
//    unless called as wait(OnCancel::kill): then the child gets SIGKILL (and
//    is reaped as usual) before CancelledError propagates.
//  - communicate(input): writes `input` to stdin (if piped) and closes it,
//    reads stdout and stderr (if piped) to their end, all at once — a child
//    that fills one pipe while we feed the other cannot deadlock — then
//    waits. The output is held in memory, unbounded, as asyncio does; a
//    child that closed stdin early is not an error. Cancelling it leaves the
//    child running.
//  - send_signal / terminate / kill: pidfd_send_signal; false if the child
//    has already been reaped (asyncio silently does nothing then).
//  - Destroying a Process leaves its child running (asyncio, Tokio), or kills
//    it with ProcessOptions::kill_on_drop; either way it is reaped later.
//  - pidfd_open or waitid(P_PIDFD) missing (kernels older than 5.3 / 5.4):
//    create_subprocess_exec throws IoError (ENOSYS) saying which and what
//    this kernel is, before starting anything.
//
// Thread-safety: send_signal/terminate/kill/returncode/pid from any thread;
// wait() from any number of tasks; each pipe stream by one task at a time.
// A Process with pipes belongs to the runtime it was created on (its pipes
// are registered there) and must not outlive it; a child still running then
// is not affected and is reaped all the same.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "weft/io/streams.hpp"
#include "weft/task.hpp"

namespace weft::io {

/// Where a child's stdin / stdout / stderr goes.
enum class Stdio {
  inherit,  ///< this process's own (asyncio's None)
  pipe,     ///< a pipe to this process (asyncio.subprocess.PIPE)
  devnull,  ///< /dev/null (asyncio.subprocess.DEVNULL)
  stdout_,  ///< stderr only: into the same place as stdout (asyncio.subprocess.STDOUT)
};

/// Fill in the members of a named object: `ProcessOptions o; o.stdout_mode = Stdio::pipe;`.
struct ProcessOptions {
  // Not an aggregate on purpose (see OpenConnectionOptions in streams.hpp).
  ProcessOptions() {}
  Stdio stdin_mode = Stdio::inherit;
  Stdio stdout_mode = Stdio::inherit;
  Stdio stderr_mode = Stdio::inherit;
  /// The child's working directory (default: ours).
  std::optional<std::string> cwd;
  /// The child's whole environment, "NAME=value" each (default: ours).
  std::optional<std::vector<std::string>> env;
  /// setsid() in the child (asyncio's start_new_session).
  bool new_session = false;
  /// SIGKILL the child when the Process is destroyed while it runs (Tokio's kill_on_drop).
  bool kill_on_drop = false;
  /// The StreamReader limit of the stdout / stderr pipes.
  std::size_t limit = kDefaultStreamLimit;
};

/// How a child ended.
class ExitStatus {
 public:
  static ExitStatus exited(int code) noexcept { return ExitStatus(false, code, false); }
  static ExitStatus signaled(int sig, bool core_dumped) noexcept {
    return ExitStatus(true, sig, core_dumped);
  }
  /// It called exit(): code() holds the code.
  bool exited() const noexcept { return !signaled_; }
  /// A signal ended it: signal() holds it.
  bool signaled() const noexcept { return signaled_; }
  int code() const noexcept { return signaled_ ? -1 : value_; }
  int signal() const noexcept { return signaled_ ? value_ : 0; }
  bool core_dumped() const noexcept { return core_; }
  /// asyncio's returncode: the exit code, or -N for signal N.
  int returncode() const noexcept { return signaled_ ? -value_ : value_; }
  bool success() const noexcept { return !signaled_ && value_ == 0; }
  /// "exit code 0", "killed by signal 9 (Killed)".
  std::string to_string() const;
  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;

 private:
  ExitStatus(bool sig, int v, bool core) noexcept : signaled_(sig), value_(v), core_(core) {}
  bool signaled_;
  int value_;
  bool core_;
};

/// What a cancelled wait() does to the child.
enum class OnCancel { leave_running, kill };

/// communicate()'s result (asyncio's (stdout_data, stderr_data), plus the status).
struct Communicated {
  std::string out;
  std::string err;
  ExitStatus status = ExitStatus::exited(0);
};

namespace detail {
struct ChildState;
}

class Process {
 public:
  Process() noexcept;
  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  /// Leaves the child running (or kills it: kill_on_drop); it is reaped anyway.
  ~Process();

  pid_t pid() const noexcept;
  /// The pipes; InvalidStateError if that stream was not Stdio::pipe.
  StreamWriter& stdin_pipe();
  StreamReader& stdout_pipe();
  StreamReader& stderr_pipe();

  Task<ExitStatus> wait(OnCancel on_cancel = OnCancel::leave_running);
  Task<Communicated> communicate(std::string input = {});
  /// False if the child was already reaped. Throws IoError for an invalid signal.
  bool send_signal(int sig);
  /// send_signal(SIGTERM) / send_signal(SIGKILL).
  bool terminate() { return send_signal(SIGTERM); }
  bool kill() { return send_signal(SIGKILL); }
  /// The exit status once reaped (asyncio's returncode is None before).
  std::optional<ExitStatus> returncode() const noexcept;

 private:
  friend Task<Process> create_subprocess_exec(std::vector<std::string>, ProcessOptions);
  std::shared_ptr<detail::ChildState> child_;
  bool kill_on_drop_ = false;
  struct Pipes;
  std::unique_ptr<Pipes> pipes_;
};

/// Starts argv (argv[0] looked up in PATH). Throws std::invalid_argument for
/// an empty argv, IoError if it cannot start (see above). g++ 12 cannot
/// compile a braced list inside a co_await (`co_await
/// create_subprocess_exec({"ls"})`): build the vector first, or use the
/// forms below.
Task<Process> create_subprocess_exec(std::vector<std::string> argv, ProcessOptions options = {});

/// asyncio.create_subprocess_exec(program, *args), with default options:
/// `co_await create_subprocess_exec("ls", "-l")`.
template <class... Args>
requires(std::is_convertible_v<const Args&, std::string_view>&&...)
    Task<Process> create_subprocess_exec(std::string_view program, const Args&... args) {
  return create_subprocess_exec(
      std::vector<std::string>{std::string(program), std::string(std::string_view(args))...});
}

/// The same with options: `co_await create_subprocess_exec(options, "cat")`.
template <class... Args>
requires(std::is_convertible_v<const Args&, std::string_view>&&...)
    Task<Process> create_subprocess_exec(const ProcessOptions& options, std::string_view program,
                                         const Args&... args) {
  return create_subprocess_exec(
      std::vector<std::string>{std::string(program), std::string(std::string_view(args))...},
      options);
}
/// asyncio.create_subprocess_shell(cmd): "/bin/sh -c cmd" — the shell parses
/// `command`: quote what comes from users.
Task<Process> create_subprocess_shell(std::string command, ProcessOptions options = {});

}  // namespace weft::io

// Subprocesses: posix_spawnp with pipes, a pidfd reaped on the service
// thread, wait / communicate / send_signal (weft/io/process.hpp).
#include "weft/io/process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "pipe_stream.hpp"
#include "service_thread.hpp"
#include "weft/errors.hpp"
#include "weft/event.hpp"
#include "weft/gather.hpp"
#include "weft/io/errors.hpp"

extern char** environ;

namespace weft::io {

namespace {

/// waitid's idtype for a pidfd (linux/wait.h; Linux 5.4).
constexpr idtype_t kPidfdIdtype = static_cast<idtype_t>(3);

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "unknown";
}

/// Throws IoError (ENOSYS) if this kernel lacks pidfd_open (Linux 5.3) or
/// waitid(P_PIDFD) (Linux 5.4). Probed once, on this process's own pidfd: a
/// kernel with P_PIDFD answers ECHILD (we are not our own child), an older one
/// EINVAL.
void require_pidfd_support() {
  // 0: not probed yet, 1: works, 2: no pidfd_open, 3: no waitid(P_PIDFD).
  // relaxed: a cache of a fact that never changes.
  static std::atomic<int> state{0};
  int s = state.load(std::memory_order_relaxed);
  if (s == 0) {
    int fd = pidfd_open(::getpid());
    if (fd < 0) {
      s = errno == ENOSYS ? 2 : 1;  // another error (EMFILE) says nothing about the kernel
    } else {
      siginfo_t info{};
      int r = ::waitid(kPidfdIdtype, static_cast<id_t>(fd), &info, WEXITED | WNOHANG);
      s = r < 0 && errno == EINVAL ? 3 : 1;
      ::close(fd);
    }
    state.store(s, std::memory_order_relaxed);
  }
  if (s == 2 || s == 3)
    throw IoError(ENOSYS, std::string("weft::io::create_subprocess_exec: this kernel has no ") +
                              (s == 2 ? "pidfd_open (Linux 5.3" : "waitid(P_PIDFD) (Linux 5.4") +
                              " or newer is needed; this is " + kernel_release() + ")");
}

/// A pipe whose two ends are >= 3 (so that dup2 onto 0, 1, 2 always copies),
/// close-on-exec.
void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) < 0) throw IoError(errno, "weft::io::create_subprocess_exec: pipe2");
  for (int i = 0; i < 2; ++i) {
    if (fds[i] >= 3) continue;
    int moved = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    int e = errno;
    ::close(fds[i]);
    fds[i] = moved;
    if (moved < 0) {
      ::close(fds[1 - i]);
      throw IoError(e, "weft::io::create_subprocess_exec: moving a pipe above fd 2");
    }
  }
}

/// Descriptors this function opened, closed on every path unless released.
struct Fds {
  int v[6] = {-1, -1, -1, -1, -1, -1};
  ~Fds() {
    for (int fd : v)
      if (fd >= 0) ::close(fd);
  }
  int take(int i) { return std::exchange(v[i], -1); }
};

}  // namespace

std::string ExitStatus::to_string() const {
  if (!signaled_) return "exit code " + std::to_string(value_);
  const char* name = ::strsignal(value_);
  return "killed by signal " + std::to_string(value_) + " (" + (name ? name : "?") + ")" +
         (core_ ? ", core dumped" : "");
}

namespace detail {

/// What the Process and the service thread share. The service thread holds
/// `self` while it watches the pidfd and drops it once it has reaped.
///
/// Reaping order: read the status without reaping (WNOWAIT), close the pidfd
/// (under `mu`, against send_signal), reap, then publish. So the child's pid
/// stays reserved (a zombie) until the pidfd is gone, and once the child is
/// reaped — or wait() has returned — no descriptor of it is left open.
struct ChildState final : ServiceThread::Watcher {
  pid_t pid = -1;
  std::mutex mu;
  int pidfd = -1;  // guarded by mu once watched; -1 once closed
  std::atomic<bool> reaped{false};
  ExitStatus status = ExitStatus::exited(0);  // written before `reaped` is set
  int reap_error = 0;                         // likewise: ECHILD if reaped elsewhere
  weft::Event exited;
  std::shared_ptr<ChildState> self;

  ~ChildState() {
    if (pidfd >= 0) ::close(pidfd);
  }

  /// pidfd_send_signal, unless the pidfd is already closed (the child is gone).
  bool signal(int sig) {
    std::lock_guard<std::mutex> lock(mu);
    if (pidfd < 0) return false;
    // The pidfd names this child even if it has exited since: the kernel
    // answers ESRCH then, never another process that got its pid.
    if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0) return true;
    if (errno == ESRCH) return false;
    throw IoError(errno, "weft::io::Process::send_signal(" + std::to_string(sig) + ") to pid " +
                             std::to_string(pid));
  }

  void on_ready(std::uint32_t) noexcept override {
    siginfo_t info{};
    int r = ::waitid(kPidfdIdtype, static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r < 0 && errno == EINTR) return;     // level-triggered: reported again
    if (r == 0 && info.si_pid == 0) return;  // not exited after all
    if (r < 0) {
      reap_error = errno;  // ECHILD: SIGCHLD ignored, or a waitpid(-1) elsewhere took it
    } else if (info.si_code == CLD_EXITED) {
      status = ExitStatus::exited(info.si_status);
    } else {
      status = ExitStatus::signaled(info.si_status, info.si_code == CLD_DUMPED);
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      ServiceThread::instance().unwatch(pidfd);
      ::close(pidfd);
      pidfd = -1;
    }
    if (r == 0) {
      siginfo_t done{};
      while (::waitid(P_PID, static_cast<id_t>(pid), &done, WEXITED) < 0 && errno == EINTR) {
      }
    }
    reaped.store(true, std::memory_order_release);       // release: status / reap_error
    std::shared_ptr<ChildState> keep = std::move(self);  // alive until we return
    exited.set();
  }

  ExitStatus result() const {
    if (reap_error == ECHILD)
      throw IoError(reap_error, "weft::io::Process::wait(pid " + std::to_string(pid) +
                                    "): the child was reaped by someone else (SIGCHLD set to "
                                    "SIG_IGN, or a waitpid(-1) in this process)");
    if (reap_error != 0)
      throw IoError(reap_error, "weft::io::Process::wait(pid " + std::to_string(pid) + ")");
    return status;
  }
};

}  // namespace detail

struct Process::Pipes {
  StreamWriter in;
  StreamReader out, err;
  // The unused halves of the pairs make_streams returns; they keep the pipes
  // open until the Process goes.
  StreamReader in_unused;
  StreamWriter out_unused, err_unused;
  bool has_in = false, has_out = false, has_err = false;
};

Process::Process() noexcept = default;
Process::Process(Process&&) noexcept = default;

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (child_ && kill_on_drop_) {
      try {
        send_signal(SIGKILL);
      } catch (...) {
      }
    }
    child_ = std::move(o.child_);
    pipes_ = std::move(o.pipes_);
    kill_on_drop_ = o.kill_on_drop_;
  }
  return *this;
}

Process::~Process() {
  if (child_ && kill_on_drop_) {
    try {
      send_signal(SIGKILL);
    } catch (...) {
    }
  }
}

pid_t Process::pid() const noexcept {
  return child_ ? child_->pid : -1;
}

StreamWriter& Process::stdin_pipe() {
  if (!pipes_ || !pipes_->has_in)
    throw InvalidStateError("weft::io::Process::stdin_pipe: stdin was not Stdio::pipe");
  return pipes_->in;
}

StreamReader& Process::stdout_pipe() {
  if (!pipes_ || !pipes_->has_out)
    throw InvalidStateError("weft::io::Process::stdout_pipe: stdout was not Stdio::pipe");
  return pipes_->out;
}

StreamReader& Process::stderr_pipe() {
  if (!pipes_ || !pipes_->has_err)
    throw InvalidStateError("weft::io::Process::stderr_pipe: stderr was not Stdio::pipe");
  return pipes_->err;
}

std::optional<ExitStatus> Process::returncode() const noexcept {
  // acquire: pairs with the reaper's release (status is complete).
  if (!child_ || !child_->reaped.load(std::memory_order_acquire) || child_->reap_error)
    return std::nullopt;
  return child_->status;
}

bool Process::send_signal(int sig) {
  if (!child_) throw InvalidStateError("weft::io::Process::send_signal: empty Process");
  return child_->signal(sig);
}

Task<ExitStatus> Process::wait(OnCancel on_cancel) {
  if (!child_) throw InvalidStateError("weft::io::Process::wait: empty Process");
  std::shared_ptr<detail::ChildState> c = child_;
  bool cancelled = false;
  try {
    co_await c->exited.wait();
  } catch (const weft::CancelledError&) {
    cancelled = true;
  }
  if (cancelled) {
    // asyncio leaves the child running; OnCancel::kill ends it (and the
    // service thread reaps it as usual).
    if (on_cancel == OnCancel::kill) {
      try {
        c->signal(SIGKILL);
      } catch (const IoError&) {
      }
    }
    weft::detail::throw_cancelled_at_resume();
  }
  co_return c->result();
}

namespace {

Task<weft::Void> feed(StreamWriter* in, std::string input) {
  try {
    if (!input.empty()) {
      in->write(input);
      co_await in->drain();
    }
    in->close();
    co_await in->wait_closed();
  } catch (const IoError& e) {
    // The child closed its stdin early (asyncio ignores BrokenPipeError here).
    if (e.code().value() != EPIPE && e.code().value() != ECONNRESET) throw;
  }
  co_return weft::Void{};
}

Task<std::string> drain_all(StreamReader* r) {
  co_return co_await r->read();
}

Task<std::string> nothing() {
  co_return std::string();
}

Task<weft::Void> nothing_to_feed() {
  co_return weft::Void{};
}

}  // namespace

Task<Communicated> Process::communicate(std::string input) {
  if (!child_) throw InvalidStateError("weft::io::Process::communicate: empty Process");
  Pipes* p = pipes_.get();
  // All three at once: a child blocked writing stderr while we wait on
  // stdout (or on its stdin) would otherwise deadlock.
  Task<weft::Void> feeding = p && p->has_in ? feed(&p->in, std::move(input)) : nothing_to_feed();
  Task<std::string> out = p && p->has_out ? drain_all(&p->out) : nothing();
  Task<std::string> err = p && p->has_err ? drain_all(&p->err) : nothing();
  auto [fed, o, e] = co_await weft::gather(std::move(feeding), std::move(out), std::move(err));
  (void)fed;
  Communicated r;
  r.out = std::move(o);
  r.err = std::move(e);
  r.status = co_await wait();
  co_return r;
}

Task<Process> create_subprocess_exec(std::vector<std::string> argv, ProcessOptions options) {
  if (argv.empty())
    throw std::invalid_argument("weft::io::create_subprocess_exec: argv is empty (no program)");
  require_pidfd_support();
  const std::string what = "weft::io::create_subprocess_exec('" + argv[0] + "')";
  if (options.stdin_mode == Stdio::stdout_ || options.stdout_mode == Stdio::stdout_)
    throw std::invalid_argument(what + ": Stdio::stdout_ is for stderr only");

  // fds: 0/1 stdin pipe (read, write), 2/3 stdout pipe, 4/5 stderr pipe.
  Fds fds;
  if (options.stdin_mode == Stdio::pipe) make_pipe(&fds.v[0]);
  if (options.stdout_mode == Stdio::pipe) make_pipe(&fds.v[2]);
  if (options.stderr_mode == Stdio::pipe) make_pipe(&fds.v[4]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  struct Cleanup {
    posix_spawn_file_actions_t* fa;
    posix_spawnattr_t* attr;
    ~Cleanup() {
      posix_spawn_file_actions_destroy(fa);
      posix_spawnattr_destroy(attr);
    }
  } cleanup{&fa, &attr};

  auto route = [&](Stdio mode, int target, int pipe_end) {
    if (mode == Stdio::pipe) posix_spawn_file_actions_adddup2(&fa, pipe_end, target);
    if (mode == Stdio::devnull)
      posix_spawn_file_actions_addopen(&fa, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY,
                                       0);
    if (mode == Stdio::stdout_) posix_spawn_file_actions_adddup2(&fa, 1, 2);
  };
  route(options.stdin_mode, 0, fds.v[0]);
  route(options.stdout_mode, 1, fds.v[3]);
  route(options.stderr_mode, 2, fds.v[5]);
  if (options.cwd) posix_spawn_file_actions_addchdir_np(&fa, options.cwd->c_str());
  // close_fds: nothing but 0, 1, 2 reaches the child (ours are close-on-exec anyway).
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);

  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);  // as Python's restore_signals
  sigaddset(&defaults, SIGXFSZ);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);

  std::vector<char*> args;
  for (std::string& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (options.env) {
    for (std::string& e : *options.env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
  }

  pid_t pid = -1;
  int e =
      ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), options.env ? envp.data() : environ);
  if (e != 0) {
    std::string why = what;
    if (e == ENOENT && options.cwd)
      why += ": no such program, or no such working directory '" + *options.cwd + "'";
    else if (e == ENOENT)
      why += ": no such program (looked up in PATH)";
    throw IoError(e, why);
  }
  // The child's ends of the pipes belong to it now.
  for (int i : {0, 3, 5})
    if (fds.v[i] >= 0) ::close(fds.take(i));

  auto child = std::make_shared<detail::ChildState>();
  child->pid = pid;
  // The child cannot be reaped before we watch it (nobody else may wait for
  // our children), so its pid is still its own here.
  child->pidfd = pidfd_open(pid);
  if (child->pidfd < 0) {
    int err = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw IoError(err, what + ": pidfd_open");
  }
  child->self = child;
  try {
    detail::ServiceThread::instance().watch(child->pidfd, child.get(), EPOLLIN);
  } catch (...) {
    child->self.reset();
    ::syscall(SYS_pidfd_send_signal, child->pidfd, SIGKILL, nullptr, 0);
    siginfo_t info{};
    while (::waitid(kPidfdIdtype, static_cast<id_t>(child->pidfd), &info, WEXITED) < 0 &&
           errno == EINTR) {
    }
    throw;
  }

  Process p;
  p.child_ = std::move(child);
  p.kill_on_drop_ = options.kill_on_drop;
  p.pipes_ = std::make_unique<Process::Pipes>();
  Process::Pipes& pp = *p.pipes_;
  if (fds.v[1] >= 0) {
    auto [r, w] = make_streams(detail::make_pipe_stream(fds.take(1), true));
    pp.in = std::move(w);
    pp.in_unused = std::move(r);
    pp.has_in = true;
  }
  if (fds.v[2] >= 0) {
    auto [r, w] = make_streams(detail::make_pipe_stream(fds.take(2), false), options.limit);
    pp.out = std::move(r);
    pp.out_unused = std::move(w);
    pp.has_out = true;
  }
  if (fds.v[4] >= 0) {
    auto [r, w] = make_streams(detail::make_pipe_stream(fds.take(4), false), options.limit);
    pp.err = std::move(r);
    pp.err_unused = std::move(w);
    pp.has_err = true;
  }
  co_return p;
}

Task<Process> create_subprocess_shell(std::string command, ProcessOptions options) {
  std::vector<std::string> argv = {"/bin/sh", "-c", std::move(command)};
  co_return co_await create_subprocess_exec(std::move(argv), std::move(options));
}

}  // namespace weft::io

// Subprocesses with real children (/bin/true, /bin/false, /bin/cat, python3;
// /bin/sh only where shell use is the point): exit codes and signals,
// pipes as streams, communicate() with a child that floods both pipes,
// a child that ignores its stdin, wait() cancelled (child left running, or
// killed on request), several waiters, kill_on_drop, no zombies left behind
// (checked in /proc), spawn errors with messages, environment and working
// directory, stderr into stdout, /dev/null, and a blocked signal mask that
// does not leak into children.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io_test_support.hpp"
#include "weft/io/process.hpp"
#include "weft/io/signal.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;

namespace {

class Processes : public weft::iotest::FdLeakCheck {
 protected:
  void SetUp() override {
    // The service thread's epoll descriptor is opened once per process.
    weft::run(run_true(), {.workers = 1});
    FdLeakCheck::SetUp();
  }
  static weft::Task<void> run_true() {
    io::Process p = co_await io::create_subprocess_exec("/bin/true");
    co_await p.wait();
  }
};

io::ProcessOptions piped(bool in, bool out, bool err) {
  io::ProcessOptions o;
  if (in) o.stdin_mode = io::Stdio::pipe;
  if (out) o.stdout_mode = io::Stdio::pipe;
  if (err) o.stderr_mode = io::Stdio::pipe;
  return o;
}

/// Children of this process that are zombies (exited, not reaped), from /proc.
int zombie_children() {
  int zombies = 0;
  DIR* d = opendir("/proc");
  if (!d) return -1;
  const std::string me = std::to_string(::getpid());
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/status");
    std::string line, state, ppid;
    while (std::getline(f, line)) {
      if (line.rfind("State:", 0) == 0) state = line;
      if (line.rfind("PPid:", 0) == 0) ppid = line.substr(5);
    }
    ppid.erase(0, ppid.find_first_not_of(" \t"));
    if (ppid == me && state.find('Z') != std::string::npos) ++zombies;
  }
  closedir(d);
  return zombies;
}

/// True while this process has any child, running or not yet reaped.
bool has_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// ---- exit status ----

weft::Task<std::vector<io::ExitStatus>> statuses() {
  std::vector<io::ExitStatus> v;
  const std::vector<std::vector<std::string>> programs = {
      {"/bin/true"},
      {"/bin/false"},
      {"python3", "-c", "import sys; sys.exit(7)"},
      {"python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"}};
  for (const std::vector<std::string>& argv : programs) {
    io::Process p = co_await io::create_subprocess_exec(argv);
    EXPECT_GT(p.pid(), 0);
    v.push_back(co_await p.wait());
    EXPECT_EQ(p.returncode(), v.back());
    EXPECT_FALSE(p.send_signal(SIGTERM));  // reaped: nothing to signal
  }
  io::ProcessOptions o;
  io::Process sleeper =
      co_await io::create_subprocess_exec(o, "python3", "-c", "import time; time.sleep(60)");
  EXPECT_FALSE(sleeper.returncode().has_value());  // it sleeps a minute
  EXPECT_TRUE(sleeper.kill());
  v.push_back(co_await sleeper.wait());
  co_return v;
}

TEST_F(Processes, ExitCodesAndSignalsAreReported) {
  weft::test::Watchdog dog(60s);
  auto v = weft::run(statuses(), {.workers = 2});
  ASSERT_EQ(v.size(), 5u);
  EXPECT_TRUE(v[0].success());
  EXPECT_EQ(v[0].to_string(), "exit code 0");
  EXPECT_EQ(v[1].code(), 1);
  EXPECT_EQ(v[2].code(), 7);
  EXPECT_EQ(v[2].returncode(), 7);
  EXPECT_TRUE(v[3].signaled());
  EXPECT_EQ(v[3].signal(), SIGTERM);
  EXPECT_EQ(v[3].returncode(), -SIGTERM);
  EXPECT_TRUE(v[4].signaled());
  EXPECT_EQ(v[4].signal(), SIGKILL);
  EXPECT_EQ(v[4].returncode(), -9);
  EXPECT_NE(v[4].to_string().find("killed by signal 9"), std::string::npos) << v[4].to_string();
}

// ---- pipes as streams ----

weft::Task<int> cat_lines() {
  io::Process p = co_await io::create_subprocess_exec(piped(true, true, false), "/bin/cat");
  int ok = 0;
  for (int i = 0; i < 200; ++i) {
    std::string line = "line " + std::to_string(i) + " " + std::string(i, 'c') + "\n";
    p.stdin_pipe().write(line);
    co_await p.stdin_pipe().drain();
    if (co_await p.stdout_pipe().readline() == line) ++ok;
  }
  p.stdin_pipe().close();  // cat sees EOF and exits
  EXPECT_EQ(co_await p.stdout_pipe().read(), "");
  EXPECT_TRUE((co_await p.wait()).success());
  EXPECT_THROW(p.stderr_pipe(), weft::InvalidStateError);
  co_return ok;
}

TEST_F(Processes, PipesAreStreamsBothWays) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(cat_lines(), {.workers = 2}), 200);
}

// ---- communicate ----

constexpr const char* kFlood = R"(
import sys
data = sys.stdin.buffer.read()
chunk = b'o' * 65536
for i in range(128):            # 8 MiB on each pipe, interleaved
    sys.stdout.buffer.write(chunk)
    sys.stderr.buffer.write(chunk.replace(b'o', b'e'))
sys.stdout.buffer.write(b'read %d' % len(data))
)";

weft::Task<io::Communicated> flood() {
  io::Process p =
      co_await io::create_subprocess_exec(piped(true, true, true), "python3", "-c", kFlood);
  co_return co_await p.communicate(std::string(4 * 1024 * 1024, 'i'));
}

TEST_F(Processes, CommunicateDoesNotDeadlockWithAChildThatFloodsBothPipes) {
  weft::test::Watchdog dog(120s);
  io::Communicated r = weft::run(flood(), {.workers = 2});
  EXPECT_TRUE(r.status.success()) << r.status.to_string();
  EXPECT_EQ(r.out.size(), 8u * 1024 * 1024 + std::string("read 4194304").size());
  EXPECT_EQ(r.out.substr(r.out.size() - 12), "read 4194304");
  EXPECT_EQ(r.err.size(), 8u * 1024 * 1024);
  EXPECT_EQ(r.err.find('o'), std::string::npos);
}

weft::Task<io::Communicated> ignored_input() {
  io::Process p = co_await io::create_subprocess_exec(piped(true, true, true), "/bin/true");
  co_return co_await p.communicate(std::string(2 * 1024 * 1024, 'x'));  // more than a pipe holds
}

TEST_F(Processes, CommunicateWithAChildThatNeverReadsItsInput) {
  weft::test::Watchdog dog(60s);
  io::Communicated r = weft::run(ignored_input(), {.workers = 2});
  EXPECT_TRUE(r.status.success());
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

weft::Task<std::string> stderr_into_stdout() {
  io::ProcessOptions o = piped(false, true, false);
  o.stderr_mode = io::Stdio::stdout_;
  io::Process p = co_await io::create_subprocess_exec(
      o, "python3", "-c",
      "import sys; sys.stdout.write('out '); sys.stdout.flush(); sys.stderr.write('err')");
  io::Communicated r = co_await p.communicate();
  co_return r.out;
}

TEST_F(Processes, StderrCanGoToStdout) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(stderr_into_stdout(), {.workers = 1}), "out err");
}

weft::Task<io::Communicated> to_devnull() {
  io::ProcessOptions o;
  o.stdin_mode = io::Stdio::devnull;
  o.stdout_mode = io::Stdio::devnull;
  o.stderr_mode = io::Stdio::pipe;
  io::Process p = co_await io::create_subprocess_exec(
      o, "python3", "-c", "import sys; print('lost'); sys.stderr.write(repr(sys.stdin.read()))");
  co_return co_await p.communicate();
}

TEST_F(Processes, DevNull) {
  weft::test::Watchdog dog(60s);
  io::Communicated r = weft::run(to_devnull(), {.workers = 1});
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "''");  // /dev/null as stdin: empty
}

// ---- wait(): cancellation, several waiters ----

weft::Task<void> cancelled_waits() {
  io::Process p =
      co_await io::create_subprocess_exec("python3", "-c", "import time; time.sleep(60)");
  EXPECT_THROW(co_await weft::wait_for(p.wait(), 30ms), weft::TimeoutError);
  // asyncio's rule: the child is still running.
  EXPECT_FALSE(p.returncode().has_value());
  EXPECT_TRUE(p.send_signal(0));
  EXPECT_EQ(::kill(p.pid(), 0), 0);
  // OnCancel::kill: the cancellation kills it.
  EXPECT_THROW(co_await weft::wait_for(p.wait(io::OnCancel::kill), 30ms), weft::TimeoutError);
  io::ExitStatus st = co_await p.wait();
  EXPECT_TRUE(st.signaled());
  EXPECT_EQ(st.signal(), SIGKILL);
}

TEST_F(Processes, CancelledWaitLeavesTheChildRunningUnlessAskedToKill) {
  weft::test::Watchdog dog(60s);
  weft::run(cancelled_waits(), {.workers = 2});
}

weft::Task<io::ExitStatus> wait_on(io::Process* p) {
  co_return co_await p->wait();
}

weft::Task<int> several_waiters() {
  io::Process p = co_await io::create_subprocess_exec(
      "python3", "-c", "import sys, time; time.sleep(0.05); sys.exit(3)");
  std::vector<weft::JoinHandle<io::ExitStatus>> hs;
  for (int i = 0; i < 5; ++i)
    hs.push_back(weft::spawn(wait_on(&p)));
  int threes = 0;
  for (auto& h : hs)
    threes += (co_await h).code() == 3 ? 1 : 0;
  co_return threes;
}

TEST_F(Processes, SeveralTasksMayWaitForOneChild) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(several_waiters(), {.workers = 2}), 5);
}

// ---- no zombies ----

weft::Task<std::vector<pid_t>> drop_children() {
  std::vector<pid_t> pids;
  for (int i = 0; i < 20; ++i) {  // dropped before they exit, never waited for
    io::Process p =
        co_await io::create_subprocess_exec("python3", "-c", "import time; time.sleep(0.05)");
    pids.push_back(p.pid());
  }
  for (int i = 0; i < 20; ++i) {  // dropped after they exit
    io::Process p = co_await io::create_subprocess_exec("/bin/true");
    pids.push_back(p.pid());
    co_await weft::sleep(1ms);
  }
  io::ProcessOptions o;
  o.kill_on_drop = true;
  for (int i = 0; i < 5; ++i) {  // would sleep a minute: killed by the drop
    io::Process p =
        co_await io::create_subprocess_exec(o, "python3", "-c", "import time; time.sleep(60)");
    pids.push_back(p.pid());
  }
  co_return pids;
}

TEST_F(Processes, NoZombiesAreLeftEvenForDroppedProcesses) {
  weft::test::Watchdog dog(120s);
  std::vector<pid_t> pids = weft::run(drop_children(), {.workers = 2});
  // Every child is reaped by weft's service thread; nothing else waits here.
  while (has_children())
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(zombie_children(), 0);
  for (pid_t pid : pids)
    EXPECT_EQ(::kill(pid, 0), -1) << "pid " << pid << " still exists";  // ESRCH once reaped
}

// ---- spawn errors ----

weft::Task<void> spawn_errors() {
  auto error_of = [](std::vector<std::string> argv, io::ProcessOptions o) -> weft::Task<int> {
    int err = 0;
    try {
      co_await io::create_subprocess_exec(std::move(argv), std::move(o));
    } catch (const io::IoError& e) {
      err = e.code().value();
      EXPECT_NE(std::string(e.what()).find("create_subprocess_exec"), std::string::npos);
    }
    co_return err;
  };
  // (Named vectors: g++ 12 cannot compile a braced list inside a co_await.)
  const std::vector<std::string> missing = {"weft-no-such-program"};
  const std::string nx = "/tmp/weft-not-executable-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(nx.c_str(), "w");
  std::fputs("not a program", f);
  std::fclose(f);
  ::chmod(nx.c_str(), 0644);
  const std::vector<std::string> not_executable = {nx};
  const std::string garbage = nx + "-x";
  f = std::fopen(garbage.c_str(), "w");
  std::fputs("\x7f\x01garbage", f);
  std::fclose(f);
  ::chmod(garbage.c_str(), 0755);
  const std::vector<std::string> bad_format = {garbage};
  const std::vector<std::string> truth = {"/bin/true"};
  const io::ProcessOptions defaults;
  EXPECT_EQ(co_await error_of(missing, defaults), ENOENT);
  EXPECT_EQ(co_await error_of(not_executable, defaults), EACCES);
  EXPECT_EQ(co_await error_of(bad_format, defaults), ENOEXEC);
  ::unlink(nx.c_str());
  ::unlink(garbage.c_str());
  io::ProcessOptions bad_cwd;
  bad_cwd.cwd = "/no/such/dir";
  EXPECT_EQ(co_await error_of(truth, bad_cwd), ENOENT);
  try {
    co_await io::create_subprocess_exec("weft-no-such-program");
  } catch (const io::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("weft-no-such-program"), std::string::npos) << e.what();
  }
  const std::vector<std::string> empty;
  EXPECT_THROW(co_await io::create_subprocess_exec(empty), std::invalid_argument);
  io::ProcessOptions wrong;
  wrong.stdout_mode = io::Stdio::stdout_;
  EXPECT_THROW(co_await io::create_subprocess_exec(wrong, "/bin/true"), std::invalid_argument);
}

TEST_F(Processes, SpawnErrorsNameTheProgram) {
  weft::test::Watchdog dog(60s);
  weft::run(spawn_errors(), {.workers = 1});
  EXPECT_EQ(zombie_children(), 0);
}

// ---- environment, working directory, shell ----

weft::Task<std::string> env_and_cwd() {
  io::ProcessOptions o = piped(false, true, false);
  o.env = std::vector<std::string>{"WEFT_TEST_VAR=hello", "PATH=/usr/bin:/bin"};
  o.cwd = "/tmp";
  io::Process p = co_await io::create_subprocess_exec(
      o, "python3", "-c",
      "import os; print(os.environ.get('WEFT_TEST_VAR'), os.getcwd(), len(os.environ))");
  io::Communicated r = co_await p.communicate();
  co_return r.out;
}

TEST_F(Processes, EnvironmentAndWorkingDirectory) {
  weft::test::Watchdog dog(60s);
  std::string out = weft::run(env_and_cwd(), {.workers = 1});
  // (Python may add LC_CTYPE to its own environment, so the count is not checked.)
  EXPECT_EQ(out.rfind("hello /tmp ", 0), 0u) << out;
}

weft::Task<std::string> shell() {
  io::Process p =
      co_await io::create_subprocess_shell("echo $((6 * 7)) | tr 4 X", piped(false, true, false));
  io::Communicated r = co_await p.communicate();
  EXPECT_TRUE(r.status.success());
  co_return r.out;
}

TEST_F(Processes, ShellUseIsExplicit) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(shell(), {.workers = 1}), "X2\n");
}

// ---- signal mask ----

weft::Task<std::string> blocked_mask_child() {
  io::Process p = co_await io::create_subprocess_exec(
      piped(false, true, false), "python3", "-c",
      "import sys, time\n"
      "blk = [l for l in open('/proc/self/status') if l.startswith('SigBlk')][0]\n"
      "print(blk.split()[1], flush=True)\n"
      "time.sleep(60)");
  std::string mask = co_await p.stdout_pipe().readline();
  EXPECT_TRUE(p.terminate());
  io::ExitStatus st = co_await p.wait();
  EXPECT_TRUE(st.signaled());
  EXPECT_EQ(st.signal(), SIGTERM);  // not blocked in the child
  co_return mask;
}

TEST_F(Processes, ABlockedSignalMaskDoesNotLeakIntoChildren) {
  // This process blocks SIGTERM in every thread (the recommended setup for
  // weft::io::SignalStream): children must still be terminable.
  io::block_signals({SIGTERM});
  weft::test::Watchdog dog(60s);
  std::string mask = weft::run(blocked_mask_child(), {.workers = 2});
  EXPECT_EQ(mask, "0000000000000000\n");
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &term, nullptr);
}

}  // namespace

// PeerProcess: a real counterpart for the I/O tests (python3, openssl, ...),
// started with posix_spawnp with its stdout on a pipe. The test reads the
// lines it prints (a port, "ready") and waits for its exit status; a peer
// still running when the object goes is killed and reaped.
//
// Blocking calls: use them from the test's thread (outside a runtime), or
// through weft::to_thread, never on a weft worker directly.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace weft::iotest {

class PeerProcess {
 public:
  explicit PeerProcess(std::vector<std::string> argv) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);  // the test may block signals; the peer must not
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    int e = ::posix_spawnp(&pid_, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(out[1]);
    if (e != 0) {
      ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(e);
      ::close(out[0]);
      pid_ = -1;
      return;
    }
    out_ = out[0];
  }
  ~PeerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (out_ >= 0) ::close(out_);
  }
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  /// The next line the peer prints (without the newline); "" at its end.
  std::string read_line() {
    std::string line;
    char c;
    while (out_ >= 0) {
      ssize_t n = ::read(out_, &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || c == '\n') break;
      line += c;
    }
    return line;
  }

  /// Waits for the peer to exit: its exit code, or 128 + the signal that ended it.
  int wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

}  // namespace weft::iotest

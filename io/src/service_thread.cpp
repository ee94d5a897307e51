// ServiceThread: the epoll loop of the process-wide helper thread.
#include "service_thread.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "weft/io/errors.hpp"

namespace weft::io::detail {

namespace {
/// Events taken per epoll_wait (a handful of descriptors are watched at most).
constexpr int kMaxEvents = 16;
}  // namespace

ServiceThread& ServiceThread::instance() {
  // Never destroyed: the thread and its epoll fd live as long as the process
  // (the signal dispositions weft installs do too). A function-local static
  // makes the start thread-safe.
  static ServiceThread* const inst = new ServiceThread();
  return *inst;
}

ServiceThread::ServiceThread() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw IoError(errno, "weft::io: creating the service thread's epoll instance");
  // Start the thread with every signal blocked (it inherits the creator's
  // mask), so not even its first instruction can run a signal handler.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    std::thread([this] { loop(); }).detach();
  } catch (const std::system_error& e) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(epoll_fd_);
    throw IoError(e.code().value(), "weft::io: starting the service thread");
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void ServiceThread::watch(int fd, Watcher* w, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = w;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0)
    throw IoError(errno, "weft::io: watching a descriptor on the service thread");
}

void ServiceThread::unwatch(int fd) noexcept {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void ServiceThread::loop() noexcept {
  epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
    // The watchers of one batch are all alive: each removes only itself, in
    // its own on_ready(), after which epoll reports it no more; and one batch
    // holds at most one event per descriptor.
    for (int i = 0; i < n; ++i)
      static_cast<Watcher*>(events[i].data.ptr)->on_ready(events[i].events);
  }
}

}  // namespace weft::io::detail

// StopOnSignal: SIGINT and SIGTERM stop a weft server gracefully (the tools'
// servers: hello-http, weft-crawl --serve).
//
//   StopOnSignal<http::Server> signals;            // in main(), before any thread starts
//   ... in a task: auto reg = signals->attach(server); co_await server.serve();
//
// The signals are blocked in the constructing thread, and so in every thread
// it starts afterwards (the runtime's workers), and taken by one thread with
// sigwait, which calls stop() on the attached server. A signal that comes
// before a server is attached stops that server as soon as it attaches, so
// an early signal is never lost. The destructor ends the signal thread.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <mutex>
#include <thread>

template <class Server>
class StopOnSignal {
 public:
  /// Keeps `server` attached (stoppable by a signal) while it lives.
  class Attachment {
   public:
    Attachment(StopOnSignal* owner, Server* server) : owner_(owner) {
      std::lock_guard<std::mutex> lock(owner_->mu_);
      owner_->server_ = server;
      if (owner_->signalled_) server->stop();  // serve() then returns at once
    }
    ~Attachment() {
      std::lock_guard<std::mutex> lock(owner_->mu_);
      owner_->server_ = nullptr;
    }
    Attachment(const Attachment&) = delete;
    Attachment& operator=(const Attachment&) = delete;

   private:
    StopOnSignal* owner_;
  };

  StopOnSignal() {
    sigemptyset(&sigs_);
    sigaddset(&sigs_, SIGINT);
    sigaddset(&sigs_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs_, nullptr);
    thread_ = std::thread([this] {
      int sig = 0;
      sigwait(&sigs_, &sig);
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_) return;  // the destructor's wake-up, not a user's signal
      signalled_ = true;
      if (server_) server_->stop();
    });
  }
  ~StopOnSignal() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    pthread_kill(thread_.native_handle(), SIGTERM);  // ends its sigwait if no signal came
    thread_.join();
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

  [[nodiscard]] Attachment attach(Server& server) { return Attachment(this, &server); }

 private:
  sigset_t sigs_;
  std::mutex mu_;
  Server* server_ = nullptr;  // guarded by mu_
  bool signalled_ = false;    // guarded by mu_
  bool closing_ = false;      // guarded by mu_
  std::thread thread_;
};

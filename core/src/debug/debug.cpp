// Debug mode (weft/debug.hpp): task tracking for all_tasks()/dump(), slow-task
// warnings, never-retrieved exceptions, never-awaited Tasks, SIGUSR1 dumps.
#include <cxxabi.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iomanip>
#include <mutex>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/scheduler.hpp"
#include "weft/detail/debug_hooks.hpp"
#include "weft/detail/task_info.hpp"

namespace weft::detail {
namespace {

std::string describe_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (const CancelledError& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

/// describe_error(e), then each exception it was thrown in the place of
/// (std::throw_with_nested: a TimeoutError's CancelledError, a cleanup
/// failure's cancellation), one "caused by" line each, as Python prints
/// __cause__ and __context__. Bounded: a chain never loops, but stays short.
std::string describe_chain(std::exception_ptr e) {
  constexpr int kMaxLinks = 16;
  std::string out = describe_error(e);
  for (int i = 0; i < kMaxLinks; ++i) {
    e = weft::cause(e);
    if (!e) return out;
    bool cancelled = false;
    try {
      std::rethrow_exception(e);
    } catch (const CancelledError&) {
      cancelled = true;
    } catch (...) {
    }
    out += "\n  caused by: ";
    if (cancelled) out += "CancelledError: ";
    out += describe_error(e);
  }
  return out + "\n  ...";
}

std::string state_name(std::uint32_t s) {
  if (s & TaskHeader::kComplete) return "done";
  if (s & TaskHeader::kRunning) return "running";
  if (s & TaskHeader::kScheduled) return "scheduled";
  return "suspended";
}

// ---- SIGUSR1: the handler writes a byte to a pipe; one thread dumps ----

std::mutex registry_mutex;
std::vector<Scheduler*>& debug_schedulers() {
  static std::vector<Scheduler*> v;
  return v;
}
int signal_pipe[2] = {-1, -1};

void on_sigusr1(int) {
  char c = 1;
  ssize_t r = write(signal_pipe[1], &c, 1);  // async-signal-safe
  (void)r;
}

void dump_thread() {
  char c;
  while (read(signal_pipe[0], &c, 1) > 0) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    for (Scheduler* s : debug_schedulers()) {
      std::ostringstream out;
      out << "weft: task dump (SIGUSR1)\n";
      s->runtime()->dump(out);
      std::fputs(out.str().c_str(), stderr);
    }
  }
}

void install_sigusr1_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    fcntl(signal_pipe[0], F_SETFL, 0);  // the dump thread blocks on reads
    struct sigaction sa {};
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, nullptr);
    std::thread(dump_thread).detach();
  });
}

}  // namespace

void debug_register(Scheduler* s) {
  debug_runtimes.fetch_add(1, std::memory_order_relaxed);
  install_sigusr1_once();
  std::lock_guard<std::mutex> lock(registry_mutex);
  debug_schedulers().push_back(s);
}

void debug_unregister(Scheduler* s) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& v = debug_schedulers();
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (*it == s) {
      v.erase(it);
      debug_runtimes.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }
}

void Scheduler::debug_track(TaskHeader* t) {
  t->set_flag(TaskHeader::kDebugTask);
  (void)task_info(t);  // names and ids exist before anyone can snapshot the task
  std::lock_guard<std::mutex> lock(debug_mutex_);
  debug_tasks_.insert(t);
}

void Scheduler::debug_untrack(TaskHeader* t) {
  std::lock_guard<std::mutex> lock(debug_mutex_);
  debug_tasks_.erase(t);
}

void Scheduler::debug_after_run(TaskHeader* t, std::int64_t ran_ns, bool finished) {
  TaskInfo& info = task_info(t);
  if (!finished)
    info.waiting_on.store(t->suspended_on_ ? t->suspended_on_->what : "yield",
                          std::memory_order_relaxed);
  auto threshold =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.slow_task_threshold).count();
  if (ran_ns > threshold)
    std::fprintf(stderr,
                 "weft: slow task: '%s' (id %llu) ran for %.1f ms without suspending "
                 "(slow_task_threshold %lld ms)\n",
                 info.name.c_str(), static_cast<unsigned long long>(info.id),
                 static_cast<double>(ran_ns) / 1e6,
                 static_cast<long long>(options_.slow_task_threshold.count()));
}

std::vector<TaskSnapshot> Scheduler::snapshot() const {
  if (!options_.debug)
    throw InvalidStateError(
        "weft::all_tasks: needs debug mode (RunOptions::debug or WEFT_DEBUG=1)");
  std::vector<TaskSnapshot> out;
  std::lock_guard<std::mutex> lock(debug_mutex_);
  out.reserve(debug_tasks_.size());
  for (TaskHeader* t : debug_tasks_) {
    TaskInfo* info = t->info_.load(std::memory_order_acquire);
    TaskSnapshot s;
    s.id = info->id;
    s.name = info->name;
    std::uint32_t st = t->state_.load(std::memory_order_acquire);
    s.state = state_name(st);
    if (s.state == "suspended")
      if (const char* w = info->waiting_on.load(std::memory_order_relaxed)) s.waiting_on = w;
    s.cancelling = t->cancelling();
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return out;
}

void report_never_awaited(void* frame) noexcept {
  // The frame starts with its resume function; its symbol names the coroutine
  // when the program exports symbols (-rdynamic).
  void* resume = *static_cast<void**>(frame);
  Dl_info dl{};
  std::string name = "?";
  if (dladdr(resume, &dl) && dl.dli_sname) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(dl.dli_sname, nullptr, nullptr, &status);
    name = status == 0 && demangled ? demangled : dl.dli_sname;
    std::free(demangled);
  }
  std::fprintf(stderr, "weft: coroutine %s (frame %p) was destroyed without being awaited\n",
               name.c_str(), frame);
}

void report_unretrieved(TaskHeader* t) noexcept {
  std::uint32_t s = t->state_.load(std::memory_order_acquire);
  if (!t->error_ || (s & (TaskHeader::kResultSeen | TaskHeader::kCancelledResult))) return;
  TaskInfo* info = t->info_.load(std::memory_order_acquire);
  std::fprintf(stderr, "weft: task exception was never retrieved: task '%s': %s\n",
               info ? info->name.c_str() : "?", describe_chain(t->error_).c_str());
}

}  // namespace weft::detail

namespace weft {

std::vector<TaskSnapshot> all_tasks() {
  return Runtime::current().all_tasks();
}

RuntimeMetrics Runtime::metrics() const {
  return sched_->metrics();
}
std::vector<TaskSnapshot> Runtime::all_tasks() const {
  return sched_->snapshot();
}

void Runtime::dump(std::ostream& out) const {
  auto tasks = all_tasks();
  out << std::left << std::setw(8) << "id" << std::setw(28) << "name" << std::setw(11) << "state"
      << std::setw(18) << "waiting on"
      << "cancelling\n";
  for (auto& t : tasks)
    out << std::setw(8) << t.id << std::setw(28) << t.name << std::setw(11) << t.state
        << std::setw(18) << (t.waiting_on.empty() ? "-" : t.waiting_on) << t.cancelling << "\n";
  out << tasks.size() << " task(s)\n";
}

}  // namespace weft

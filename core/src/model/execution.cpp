// The model scheduler: runs the threads of one execution one at a time and
// decides, at every scheduling point, which one goes next (see weft/model.hpp
// for the strategies and docs/architecture.md for what is covered).
//
// Mechanics. Every model thread is a real OS thread with a *baton* (a futex
// word). Exactly one thread holds the baton at a time; at a scheduling point
// the holder picks the next thread, hands the baton over (store + futex wake)
// and sleeps on its own. The hand-over is a release/acquire pair on the
// batons, so everything one thread wrote is visible to the next: each
// execution is one sequentially consistent interleaving. All scheduler state
// below is touched only by the baton holder.
#ifdef WEFT_MODEL

#include "model/execution.hpp"

#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "weft/model.hpp"

#ifdef WEFT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace weft::detail::model {

namespace {

void os_wait(std::atomic<std::uint32_t>* w, std::uint32_t v) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(w), FUTEX_WAIT_PRIVATE, v, nullptr, nullptr,
          0);
}
void os_wake(std::atomic<std::uint32_t>* w) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(w), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

/// splitmix64: seeds and per-execution choices (small, fast, reproducible).
struct Rng {
  std::uint64_t s;
  std::uint64_t next() noexcept {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) noexcept { return n ? next() % n : 0; }
  /// True with probability 1/n (n == 0: never).
  bool one_in(std::uint64_t n) noexcept { return n && below(n) == 0; }
};

/// Virtual time starts far from zero so that "now - something" never underflows.
constexpr std::int64_t kEpochNs = 1'000'000'000'000;
/// Scheduling points kept with their source lines for the report.
constexpr std::size_t kTraceSteps = 96;

}  // namespace

struct ModelThread {
  enum class Status : std::uint8_t { runnable, blocked, finished };

  int id = 0;
  std::string name;
  Status status = Status::runnable;
  /// 1: this thread may run (real futex word, OS-level).
  std::atomic<std::uint32_t> baton{0};
  // While blocked:
  const void* wait_on = nullptr;
  std::int64_t deadline = -1;  ///< virtual ns; < 0: none
  std::uint64_t blocked_seq = 0;
  bool timed_out = false;
  Op blocked_op = Op::yield;
  const char* file = "";
  unsigned line = 0;
  std::int64_t priority = 0;  ///< PCT
  std::function<void()> fn;
};

namespace {

/// An OS thread that runs model threads, one after another: model threads
/// come and go with every execution, and creating an OS thread for each would
/// cost more than the execution itself. Pooled threads are only ever taken and
/// given back by the baton holder.
struct PooledThread {
  std::atomic<std::uint32_t> go{0};  ///< 1: `job` is set (real futex word)
  ModelThread* job = nullptr;
};
std::vector<PooledThread*> g_idle_pool;

}  // namespace

namespace {

/// One choice of the exhaustive search: how many threads could run there,
/// which one did, and whether picking another than the first is a preemption
/// (the running thread could have gone on) or free (it had blocked).
struct Choice {
  std::uint32_t options;
  std::uint32_t pick;
  bool preemptive;
};

/// The exhaustive (preemption-bounded) search's side of an execution: the
/// picks to replay, and the choices this execution met.
struct Script {
  unsigned bound = 0;
  std::vector<std::uint32_t> picks;
  std::vector<Choice> met;
};

struct Step {
  std::uint64_t n;
  int thread;
  Op op;
  bool after;  ///< the point after the operation (it has happened)
  const void* addr;
  const char* file;
  unsigned line;
};

class Execution {
 public:
  Execution(std::uint64_t seed, const weft::model::Options& o, std::uint64_t expected_steps,
            Script* script)
      : seed_(seed), options_(o), rng_{seed}, script_(script) {
    if (script_) {  // exhaustive search: no randomness at all
      pct_ = false;
      return;
    }
    // Strategy: three executions in four use PCT, one a random walk.
    pct_ = rng_.below(4) != 0;
    if (pct_) {
      unsigned d = o.pct_depth ? o.pct_depth : 1;
      depth_ = 1 + static_cast<unsigned>(rng_.below(d));  // 1..d: shallow bugs first, too
      for (unsigned i = 1; i < depth_; ++i)
        change_points_.push_back(1 + rng_.below(expected_steps ? expected_steps : 1));
      std::sort(change_points_.begin(), change_points_.end());
    } else {
      switch_one_in_ = std::uint64_t{2} << rng_.below(6);  // 1/2 .. 1/64
    }
    spurious_one_in_ = rng_.below(2) ? 32 : 0;
    early_timeout_one_in_ = rng_.below(2) ? 512 : 0;
    low_priority_ = depth_;
  }

  // ---- threads ----

  ModelThread* add_thread(std::string name) {
    auto t = std::make_unique<ModelThread>();
    t->id = static_cast<int>(threads_.size());
    t->name = std::move(name);
    // Distinct high priorities (above every change-point priority).
    t->priority = 1'000'000 + static_cast<std::int64_t>(rng_.below(1'000'000)) * 64 + t->id;
    threads_.push_back(std::move(t));
    return threads_.back().get();
  }
  std::vector<std::unique_ptr<ModelThread>>& threads() noexcept { return threads_; }

  // ---- scheduling ----

  /// A scheduling point on the running thread `me`.
  void point(ModelThread* me, Op op, const void* addr, const char* file, unsigned line,
             bool after) {
    if (after && !options_.after_points) return;
    record(me, op, addr, file, line, after);
    maybe_time_out_early();
    ModelThread* next = op == Op::yield ? choose_other(me) : choose(me);
    if (next != me) switch_to(me, next);
  }

  /// `me` blocks (its wait fields are set); returns once it runs again.
  void block(ModelThread* me) {
    me->status = ModelThread::Status::blocked;
    me->blocked_seq = ++block_seq_;
    me->timed_out = false;
    ModelThread* next = pick_other();
    if (next != me) switch_to(me, next);
  }

  void wake(const void* addr, int count) {
    while (count-- > 0) {
      ModelThread* first = nullptr;
      for (auto& t : threads_)
        if (t->status == ModelThread::Status::blocked && t->wait_on == addr &&
            (!first || t->blocked_seq < first->blocked_seq))
          first = t.get();
      if (!first) return;
      make_runnable(first, /*timed_out=*/false);
    }
  }

  /// The running thread `me` has finished: wake its joiners and pass the baton on.
  void finish(ModelThread* me) {
    me->status = ModelThread::Status::finished;
    for (auto& t : threads_)
      if (t->status == ModelThread::Status::blocked && t->wait_on == me)
        make_runnable(t.get(), false);
    if (all_others_finished())
      for (auto& t : threads_)
        if (t->status == ModelThread::Status::blocked && t->wait_on == &all_done_)
          make_runnable(t.get(), false);
    ModelThread* next = pick_other();
    hand(next);
  }

  bool all_others_finished() const noexcept {
    for (std::size_t i = 1; i < threads_.size(); ++i)
      if (threads_[i]->status != ModelThread::Status::finished) return false;
    return true;
  }
  const void* all_done_tag() const noexcept { return &all_done_; }

  bool spurious() noexcept { return !script_ && rng_.one_in(spurious_one_in_); }
  std::int64_t now() const noexcept { return now_; }
  std::uint64_t steps() const noexcept { return steps_; }
  std::uint64_t seed() const noexcept { return seed_; }

  // ---- failures and reports ----

  void add_failure(std::string what) {
    // The scheduling points that led to the first failure, as they were then.
    if (failures_.empty()) failure_trace_ = trace_text();
    failures_.push_back(std::move(what));
  }
  bool failed() const noexcept { return !failures_.empty(); }

  std::string describe_strategy() const {
    char buf[128];
    if (script_) return "exhaustive, at most " + std::to_string(script_->bound) + " preemptions";
    if (pct_)
      std::snprintf(buf, sizeof buf, "pct d=%u", depth_);
    else
      std::snprintf(buf, sizeof buf, "random walk, switch 1/%llu",
                    static_cast<unsigned long long>(switch_one_in_));
    std::string s = buf;
    if (spurious_one_in_) s += ", spurious futex wake-ups";
    if (early_timeout_one_in_) s += ", early timeouts";
    return s;
  }

  std::string report(const std::string& headline) const {
    std::string r = headline + "\n";
    char buf[512];
    if (script_) {
      std::snprintf(buf, sizeof buf, "  test '%s', schedule #%llu (%s), %llu scheduling points\n",
                    options_.name, static_cast<unsigned long long>(seed_),
                    describe_strategy().c_str(), static_cast<unsigned long long>(steps_));
      r += buf;
      r += "  replay: WEFT_MODEL_SCHEDULE=" + script_text() +
           " <this test binary> --gtest_filter=<this test>\n";
    } else {
      std::snprintf(buf, sizeof buf,
                    "  test '%s', seed 0x%016llx (%s), %llu scheduling points\n"
                    "  replay: WEFT_MODEL_SEED=0x%016llx <this test binary> --gtest_filter=<this "
                    "test>\n",
                    options_.name, static_cast<unsigned long long>(seed_),
                    describe_strategy().c_str(), static_cast<unsigned long long>(steps_),
                    static_cast<unsigned long long>(seed_));
      r += buf;
    }
    for (const auto& f : failures_)
      r += "  failed: " + f + "\n";
    r += "  threads:\n";
    for (const auto& t : threads_) {
      const char* st = t->status == ModelThread::Status::runnable  ? "runnable"
                       : t->status == ModelThread::Status::blocked ? "blocked"
                                                                   : "finished";
      std::snprintf(buf, sizeof buf, "    t%d %-14s %s", t->id, t->name.c_str(), st);
      r += buf;
      if (t->status == ModelThread::Status::blocked) {
        std::snprintf(buf, sizeof buf, " in %s on %p%s at %s:%u", op_name(t->blocked_op),
                      t->wait_on, t->deadline >= 0 ? " (timed)" : "", short_path(t->file), t->line);
        r += buf;
      }
      r += "\n";
    }
    r += "  schedule (step:thread at each switch): " + switches_text() + "\n";
    r += "  last scheduling points before the failure:\n";
    r += failure_trace_.empty() ? trace_text() : failure_trace_;
    return r;
  }

  /// The exhaustive search's picks of this execution ("bound:p,p,..."), for replay.
  std::string script_text() const {
    std::string s = std::to_string(script_->bound) + ":";
    for (std::size_t i = 0; i < script_->met.size(); ++i)
      s += (i ? "," : "") + std::to_string(script_->met[i].pick);
    return s;
  }

  /// For the crash handler: the last steps, formatted into a fixed buffer.
  void write_crash_report(int fd) const noexcept;

 private:
  void record(ModelThread* me, Op op, const void* addr, const char* file, unsigned line,
              bool after) {
    ++steps_;
    trace_[trace_pos_ % kTraceSteps] = Step{steps_, me->id, op, after, addr, file, line};
    ++trace_pos_;
    if (steps_ > options_.max_steps) {
      add_failure("livelock: more than " + std::to_string(options_.max_steps) +
                  " scheduling points in one execution");
      fatal("weft model: LIVELOCK");
    }
  }

  void maybe_time_out_early() {
    if (script_ || !rng_.one_in(early_timeout_one_in_)) return;
    ModelThread* t = earliest_timed();
    if (t) make_runnable(t, /*timed_out=*/true);
  }

  ModelThread* earliest_timed() const noexcept {
    ModelThread* best = nullptr;
    for (const auto& t : threads_)
      if (t->status == ModelThread::Status::blocked && t->deadline >= 0 &&
          (!best || t->deadline < best->deadline ||
           (t->deadline == best->deadline && t->blocked_seq < best->blocked_seq)))
        best = t.get();
    return best;
  }

  void make_runnable(ModelThread* t, bool timed_out) {
    if (timed_out && t->deadline > now_) now_ = t->deadline;
    t->status = ModelThread::Status::runnable;
    t->timed_out = timed_out;
    t->wait_on = nullptr;
    t->deadline = -1;
  }

  /// The running thread `me` (runnable) reached a point: who goes next.
  ModelThread* choose(ModelThread* me) {
    if (script_) return scripted(me, /*preemptive=*/true);
    if (pct_) {
      while (next_change_ < change_points_.size() && steps_ >= change_points_[next_change_]) {
        me->priority = low_priority_--;  // below every initial priority
        ++next_change_;
      }
      return highest_runnable();
    }
    if (!rng_.one_in(switch_one_in_)) return me;
    return random_runnable();
  }

  /// A yield point (a test's spin loop): someone else, if anyone else can run.
  ModelThread* choose_other(ModelThread* me) {
    // PCT: below everybody, so that two spinning threads cannot keep handing
    // the turn to each other while the thread they wait for starves.
    if (pct_) me->priority = yield_priority_--;
    me->status = ModelThread::Status::blocked;  // out of the candidates for a moment
    ModelThread* next = script_ ? scripted(nullptr, false)
                        : pct_  ? highest_runnable()
                                : random_runnable();
    me->status = ModelThread::Status::runnable;
    return next ? next : me;
  }

  /// The running thread cannot go on (blocked or finished): another one, or
  /// the earliest timed waiter with the clock moved to its deadline.
  ModelThread* pick_other() {
    ModelThread* next = script_ ? scripted(nullptr, false)
                        : pct_  ? highest_runnable()
                                : random_runnable();
    if (next) return next;
    if (ModelThread* t = earliest_timed()) {
      make_runnable(t, /*timed_out=*/true);
      return t;
    }
    add_failure("deadlock or lost wake-up: every thread is blocked and none waits with a timeout");
    fatal("weft model: DEADLOCK");
  }

  /// The exhaustive search's pick: the running thread `me` first (going on
  /// costs no preemption), then the other runnable threads by id; with
  /// `me` null (it blocked) only the others, and any of them is free. Replays
  /// the script's pick where it has one, else takes the first.
  ModelThread* scripted(ModelThread* me, bool preemptive) {
    ModelThread* options[64];
    std::uint32_t n = 0;
    if (me) options[n++] = me;
    if (!me || preemptions_ < script_->bound)
      for (const auto& t : threads_)
        if (t.get() != me && t->status == ModelThread::Status::runnable && n < 64)
          options[n++] = t.get();
    if (n <= 1) return n ? options[0] : nullptr;
    const std::size_t depth = script_->met.size();
    std::uint32_t pick = depth < script_->picks.size() ? script_->picks[depth] : 0;
    if (pick >= n) {
      add_failure(
          "the exhaustive search replayed a schedule that met other choices: the test "
          "body is not deterministic given the schedule");
      fatal("weft model: NONDETERMINISM");
    }
    preemptive = preemptive && me;
    script_->met.push_back(Choice{n, pick, preemptive});
    if (preemptive && pick != 0) ++preemptions_;
    return options[pick];
  }

  ModelThread* highest_runnable() const noexcept {
    ModelThread* best = nullptr;
    for (const auto& t : threads_)
      if (t->status == ModelThread::Status::runnable && (!best || t->priority > best->priority))
        best = t.get();
    return best;
  }

  ModelThread* random_runnable() {
    int n = 0;
    for (const auto& t : threads_)
      n += t->status == ModelThread::Status::runnable;
    if (n == 0) return nullptr;
    std::uint64_t k = rng_.below(static_cast<std::uint64_t>(n));
    for (const auto& t : threads_)
      if (t->status == ModelThread::Status::runnable && k-- == 0) return t.get();
    return nullptr;
  }

  void switch_to(ModelThread* me, ModelThread* next) {
    switches_.push_back({steps_, next->id});
    // Order matters: clear our baton before handing over, then sleep on it.
    me->baton.store(0, std::memory_order_relaxed);
    hand(next);
    while (me->baton.load(std::memory_order_acquire) == 0)
      os_wait(&me->baton, 0);
  }

  static void hand(ModelThread* next) noexcept {
    // release: everything the old holder wrote is visible to the new one.
    next->baton.store(1, std::memory_order_release);
    os_wake(&next->baton);
  }

  [[noreturn]] void fatal(const char* headline) const {
    std::string r = report(headline);
    std::fwrite(r.data(), 1, r.size(), stderr);
    std::fflush(stderr);
    std::_Exit(3);
  }

  std::string switches_text() const {
    std::string s;
    // The first and the last switches (the seed reproduces all of them).
    constexpr std::size_t kEnds = 100;
    char buf[48];
    const std::size_t n = switches_.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (n > 2 * kEnds && i == kEnds) {
        s += " ... (" + std::to_string(n - 2 * kEnds) + " more) ...";
        i = n - kEnds;
      }
      std::snprintf(buf, sizeof buf, "%s%llu:t%d", s.empty() ? "" : " ",
                    static_cast<unsigned long long>(switches_[i].first), switches_[i].second);
      s += buf;
    }
    return s.empty() ? "(no switch)" : s;
  }

  std::string trace_text() const {
    std::string s;
    char buf[512];
    std::size_t n = std::min<std::size_t>(trace_pos_, kTraceSteps);
    for (std::size_t i = trace_pos_ - n; i < trace_pos_; ++i) {
      const Step& st = trace_[i % kTraceSteps];
      std::snprintf(buf, sizeof buf, "    #%-7llu t%d %-6s %-6s %-18p %s:%u\n",
                    static_cast<unsigned long long>(st.n), st.thread, st.after ? "after" : "",
                    op_name(st.op), st.addr, short_path(st.file), st.line);
      s += buf;
    }
    return s;
  }

  const std::uint64_t seed_;
  const weft::model::Options& options_;
  Rng rng_;
  Script* const script_;
  unsigned preemptions_ = 0;
  bool pct_ = true;
  unsigned depth_ = 1;
  std::vector<std::uint64_t> change_points_;
  std::size_t next_change_ = 0;
  std::int64_t low_priority_ = 0;
  std::int64_t yield_priority_ = -1;  ///< below every change-point priority
  std::uint64_t switch_one_in_ = 0;
  std::uint64_t spurious_one_in_ = 0;
  std::uint64_t early_timeout_one_in_ = 0;
  std::vector<std::unique_ptr<ModelThread>> threads_;
  std::uint64_t steps_ = 0;
  std::uint64_t block_seq_ = 0;
  std::int64_t now_ = kEpochNs;
  Step trace_[kTraceSteps]{};
  std::size_t trace_pos_ = 0;
  std::vector<std::pair<std::uint64_t, int>> switches_;
  std::vector<std::string> failures_;
  std::string failure_trace_;
  char all_done_ = 0;
};

Execution* g_exec = nullptr;
thread_local ModelThread* tls_self = nullptr;

void Execution::write_crash_report(int fd) const noexcept {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf,
                        "\nweft model: CRASH in test '%s' during the execution with seed "
                        "0x%016llx (%s) at scheduling point %llu\n"
                        "  replay: WEFT_MODEL_SEED=0x%016llx <this test binary>\n"
                        "  last scheduling points:\n",
                        options_.name, static_cast<unsigned long long>(seed_),
                        pct_ ? "pct" : "random walk", static_cast<unsigned long long>(steps_),
                        static_cast<unsigned long long>(seed_));
  if (n > 0) (void)!write(fd, buf, static_cast<std::size_t>(n));
  std::size_t count = std::min<std::size_t>(trace_pos_, 32);
  for (std::size_t i = trace_pos_ - count; i < trace_pos_; ++i) {
    const Step& st = trace_[i % kTraceSteps];
    n = std::snprintf(buf, sizeof buf, "    #%-7llu t%d %-10s %p %s:%u\n",
                      static_cast<unsigned long long>(st.n), st.thread, op_name(st.op), st.addr,
                      short_path(st.file), st.line);
    if (n > 0) (void)!write(fd, buf, static_cast<std::size_t>(n));
  }
}

void crash_report() {
  if (Execution* x = g_exec) x->write_crash_report(2);
}

void on_fatal_signal(int sig) {
  crash_report();
  signal(sig, SIG_DFL);
  raise(sig);
}

void install_crash_handlers() {
  static bool done = false;
  if (done) return;
  done = true;
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT})
    signal(sig, on_fatal_signal);
#ifdef WEFT_ASAN
  __sanitizer_set_death_callback(&crash_report);
#endif
}

std::uint64_t fnv1a(const char* s) noexcept {
  std::uint64_t h = 1469598103934665603ull;
  for (; *s; ++s)
    h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ull;
  return h;
}

std::uint64_t seed_for(std::uint64_t base, std::uint64_t i) noexcept {
  Rng r{base ^ (i * 0xD1B54A32D192ED03ull)};
  return r.next();
}

/// One execution of `body` with `seed`. Returns the report if it failed.
bool run_one(const weft::model::Options& o, const std::function<void()>& body, std::uint64_t seed,
             std::uint64_t expected_steps, std::uint64_t& steps_out, std::string& report_out,
             bool trace, Script* script = nullptr) {
  Execution x(seed, o, expected_steps, script);
  ModelThread* main = x.add_thread("main");
  main->baton.store(1, std::memory_order_relaxed);
  g_exec = &x;
  tls_self = main;
  try {
    body();
  } catch (const std::exception& e) {
    x.add_failure(std::string("the test body threw: ") + e.what());
  } catch (...) {
    x.add_failure("the test body threw a non-std exception");
  }
  // Every thread the execution started must end before the next one starts.
  while (!x.all_others_finished()) {
    main->wait_on = x.all_done_tag();
    main->deadline = -1;
    main->blocked_op = Op::thread_join;
    main->file = __FILE__;
    main->line = __LINE__;
    x.block(main);
  }
  tls_self = nullptr;
  steps_out = x.steps();
  bool failed = x.failed();
  if (failed) report_out = x.report("weft model: FAILURE");
  if (trace && !failed) {
    std::string r = x.report("weft model: execution trace");
    std::fwrite(r.data(), 1, r.size(), stderr);
  }
  // Every model thread has finished; their OS threads are back in the pool.
  g_exec = nullptr;
  return !failed;
}

/// The exhaustive search: every schedule with at most o.preemption_bound
/// preemptions (iterative context bounding, as in CHESS), by stateless
/// depth-first search: each execution replays the picks of the previous one up
/// to its deepest choice that has an untried option, takes that option, and
/// goes on with the first option (no preemption, lowest thread id) from there.
weft::model::Result exhaustive(const weft::model::Options& o, const std::function<void()>& body,
                               std::uint64_t cap, bool trace) {
  weft::model::Result r;
  Script script;
  script.bound = o.preemption_bound;
  const auto start = std::chrono::steady_clock::now();
  bool complete = false;
  while (r.executions < cap) {
    script.met.clear();
    std::uint64_t steps = 0;
    std::string report;
    bool ok = run_one(o, body, r.executions, 0, steps, report, trace, &script);
    ++r.executions;
    r.max_steps_seen = std::max(r.max_steps_seen, steps);
    if (!ok) {
      r.ok = false;
      r.failing_seed = r.executions - 1;
      r.report = report;
      std::fwrite(report.data(), 1, report.size(), stderr);
      return r;
    }
    // Next schedule: the deepest choice with an option left (a recorded
    // preemptive choice always fits the bound: beyond it, none is recorded).
    std::size_t j = script.met.size();
    while (j > 0 && script.met[j - 1].pick + 1 >= script.met[j - 1].options)
      --j;
    if (j == 0) {
      complete = true;
      break;
    }
    script.picks.resize(j);
    for (std::size_t i = 0; i + 1 < j; ++i)
      script.picks[i] = script.met[i].pick;
    script.picks[j - 1] = script.met[j - 1].pick + 1;
    std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start;
    if (spent.count() > o.budget_seconds) break;
  }
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "weft model: '%s': %s: %llu schedules with at most %u preemptions, longest %llu "
                "scheduling points\n",
                o.name, complete ? "exhaustive, complete" : "exhaustive, STOPPED before the end",
                static_cast<unsigned long long>(r.executions), o.preemption_bound,
                static_cast<unsigned long long>(r.max_steps_seen));
  r.report = buf;
  r.complete = complete;
  std::fputs(buf, stderr);
  return r;
}

}  // namespace

const char* op_name(Op op) noexcept {
  switch (op) {
    case Op::load:
      return "load";
    case Op::store:
      return "store";
    case Op::rmw:
      return "rmw";
    case Op::cas:
      return "cas";
    case Op::fence:
      return "fence";
    case Op::futex_wait:
      return "futex_wait";
    case Op::futex_wake:
      return "futex_wake";
    case Op::thread_start:
      return "spawn";
    case Op::thread_join:
      return "join";
    case Op::sleep:
      return "sleep";
    case Op::queue:
      return "queue";
    case Op::yield:
      return "yield";
  }
  return "?";
}

const char* short_path(const char* file) noexcept {
  // From the repository's top folder on (core/, sync/, tests/...).
  for (const char* top : {"/core/", "/sync/", "/tests/", "/io/", "/bench/"}) {
    if (const char* p = std::strstr(file, top)) return p + 1;
  }
  return file;
}

void point(Op op, const void* addr, const char* file, unsigned line, bool after) noexcept {
  ModelThread* me = tls_self;
  if (!me) return;
  g_exec->point(me, op, addr, file, line, after);
}

bool in_execution() noexcept {
  return tls_self != nullptr;
}

bool block(const void* addr, std::int64_t timeout_ns, Op op, const char* file,
           unsigned line) noexcept {
  ModelThread* me = tls_self;
  Execution& x = *g_exec;
  if (timeout_ns == 0) return true;
  me->wait_on = addr;
  me->deadline = timeout_ns > 0 ? x.now() + timeout_ns : -1;
  me->blocked_op = op;
  me->file = file;
  me->line = line;
  x.block(me);
  return me->timed_out;
}

void wake(const void* addr, int count) noexcept {
  if (g_exec && tls_self) g_exec->wake(addr, count);
}

bool spurious_wake() noexcept {
  return g_exec && tls_self && g_exec->spurious();
}

std::int64_t now_ns() noexcept {
  return g_exec ? g_exec->now() : kEpochNs;
}

namespace {

void pooled_thread_main(PooledThread* p) {
  for (;;) {
    while (p->go.load(std::memory_order_acquire) == 0)
      os_wait(&p->go, 0);
    p->go.store(0, std::memory_order_relaxed);
    ModelThread* t = p->job;
    while (t->baton.load(std::memory_order_acquire) == 0)
      os_wait(&t->baton, 0);
    tls_self = t;
    try {
      t->fn();
    } catch (...) {
      g_exec->add_failure("model thread '" + t->name + "' ended with an exception");
    }
    t->fn = nullptr;
    tls_self = nullptr;
    // Still the baton holder: back into the pool, then pass the baton on
    // (from here on nothing shared is touched until the next job).
    g_idle_pool.push_back(p);
    g_exec->finish(t);
  }
}

}  // namespace

ModelThread* spawn(std::function<void()> fn, const char* name) {
  Execution& x = *g_exec;
  ModelThread* t = x.add_thread(name ? name : "thread");
  t->fn = std::move(fn);
  PooledThread* p;
  if (!g_idle_pool.empty()) {
    p = g_idle_pool.back();
    g_idle_pool.pop_back();
  } else {
    p = new PooledThread;  // lives as long as the process
    std::thread([p] { pooled_thread_main(p); }).detach();
  }
  p->job = t;
  p->go.store(1, std::memory_order_release);
  os_wake(&p->go);
  point(Op::thread_start, t, __FILE__, __LINE__);  // the new thread may run first
  return t;
}

void join(ModelThread* t) noexcept {
  point(Op::thread_join, t, __FILE__, __LINE__);
  if (t->status == ModelThread::Status::finished) return;
  block(t, -1, Op::thread_join, __FILE__, __LINE__);
}

}  // namespace weft::detail::model

namespace weft::model {

using detail::model::g_exec;

Result check(const Options& o, const std::function<void()>& body) {
  using namespace detail::model;
  install_crash_handlers();
  Result r;
  const bool trace = [] {
    const char* t = std::getenv("WEFT_MODEL_TRACE");
    return t && t[0] == '1';
  }();
  std::uint64_t expected_steps = 2000;
  if (const char* s = std::getenv("WEFT_MODEL_SCHEDULE"); s && *s && o.preemption_bound > 0) {
    Script script;
    script.bound = static_cast<unsigned>(std::strtoul(s, nullptr, 10));
    for (const char* p = std::strchr(s, ':'); p && *++p;) {
      script.picks.push_back(static_cast<std::uint32_t>(std::strtoul(p, nullptr, 10)));
      p = std::strchr(p, ',');
      if (!p) break;
    }
    std::uint64_t steps = 0;
    r.executions = 1;
    r.ok = run_one(o, body, 0, expected_steps, steps, r.report, /*trace=*/true, &script);
    r.max_steps_seen = steps;
    if (!r.ok) std::fwrite(r.report.data(), 1, r.report.size(), stderr);
    return r;
  }
  if (const char* s = std::getenv("WEFT_MODEL_SEED"); s && *s) {
    std::uint64_t seed = std::strtoull(s, nullptr, 0);
    std::uint64_t steps = 0;
    r.executions = 1;
    r.ok = run_one(o, body, seed, expected_steps, steps, r.report, /*trace=*/true);
    r.max_steps_seen = steps;
    if (!r.ok) {
      r.failing_seed = seed;
      std::fwrite(r.report.data(), 1, r.report.size(), stderr);
    }
    return r;
  }
  double scale = 1.0;
  if (const char* s = std::getenv("WEFT_MODEL_SCALE"); s && *s) scale = std::atof(s);
  const auto n = static_cast<std::uint64_t>(static_cast<double>(o.executions) * scale);
  if (o.preemption_bound > 0) return exhaustive(o, body, n, trace);
  const std::uint64_t base = fnv1a(o.name);
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t seed = seed_for(base, i);
    std::uint64_t steps = 0;
    std::string report;
    bool ok = run_one(o, body, seed, expected_steps, steps, report, trace);
    ++r.executions;
    r.max_steps_seen = std::max(r.max_steps_seen, steps);
    expected_steps = std::max(expected_steps, steps);
    if (!ok) {
      r.ok = false;
      r.failing_seed = seed;
      r.report = report;
      std::fwrite(report.data(), 1, report.size(), stderr);
      return r;
    }
    std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start;
    if (spent.count() > o.budget_seconds) break;
  }
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "weft model: '%s': %llu executions explored, longest %llu scheduling points\n",
                o.name, static_cast<unsigned long long>(r.executions),
                static_cast<unsigned long long>(r.max_steps_seen));
  r.report = buf;
  std::fputs(buf, stderr);
  return r;
}

void fail(const char* what, const char* file, unsigned line) {
  std::string msg =
      std::string(what) + " (" + detail::model::short_path(file) + ":" + std::to_string(line) + ")";
  if (g_exec && detail::model::in_execution()) {
    g_exec->add_failure(std::move(msg));
  } else {
    std::fprintf(stderr, "weft model: assertion outside an execution: %s\n", msg.c_str());
    std::abort();
  }
}

bool active() noexcept {
  return detail::model::in_execution();
}

void yield_point(const char* file, unsigned line) noexcept {
  detail::model::point(detail::model::Op::yield, nullptr, file, line);
}

}  // namespace weft::model

#endif  // WEFT_MODEL

// Helpers shared by weft's tests: a watchdog that turns a hang into a failure
// with a message, and an environment-scaled iteration count for stress tests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.hpp"

namespace weft::test {

/// Aborts the process (failing the test) if it is still alive after `limit`.
/// Only ever an upper bound against hangs: passing never depends on timing.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit, std::string what = "test")
      : what_(std::move(what)), thread_([this, limit] {
          std::unique_lock<std::mutex> lock(m_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "WATCHDOG: %s still running after %lld s: hang\n", what_.c_str(),
                         static_cast<long long>(limit.count()));
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::string what_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

/// Iterations for stress loops: `base` scaled by env WEFT_STRESS_SCALE (default
/// 1; sanitizer runs use a smaller scale). Never below 1.
inline long stress_iterations(long base) {
  double scale = 1.0;
  if (const char* s = std::getenv("WEFT_STRESS_SCALE")) scale = std::atof(s);
  long n = static_cast<long>(static_cast<double>(base) * scale);
  return n < 1 ? 1 : n;
}

/// Prints the iteration count a stress test ran (the guide asks every stress
/// test to report it).
inline void report_iterations(const char* name, long iterations) {
  std::printf("[stress] %s: %ld iterations\n", name, iterations);
}

/// Awaits `h`: true if the task ended with CancelledError, false if it
/// returned a value; any other exception propagates.
template <class T>
weft::Task<bool> ends_cancelled(weft::JoinHandle<T>& h) {
  bool cancelled = false;
  try {
    co_await h;
  } catch (const weft::CancelledError&) {
    cancelled = true;
  }
  co_return cancelled;
}

/// Cancels every task of `handles`, then waits until each has finished (a
/// task that ended with another exception rethrows it here).
template <class T>
weft::Task<void> cancel_and_wait_all(std::vector<weft::JoinHandle<T>>& handles) {
  for (auto& h : handles)
    h.cancel();
  for (auto& h : handles) {
    try {
      co_await h;
    } catch (const weft::CancelledError&) {
    }
  }
}

/// A small, fast, deterministic pseudo-random step (xorshift32) for stress
/// tests that pick random cancellation points; `s` must not start at 0.
inline std::uint32_t next_rand(std::uint32_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

/// The wake-order tests' sweep: every waiter count from 1 to this, more
/// than twice a worker's 61-step maintenance turn, so that a batch of
/// wake-ups meets the turn at every offset (a turn that ran the run queue
/// ahead of the LIFO slot once reordered them).
inline constexpr int kWakeOrderSweep = 130;

/// {0, 1, ..., n - 1}: the order n waiters started waiting in.
inline std::vector<int> first_n(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = i;
  return v;
}

}  // namespace weft::test

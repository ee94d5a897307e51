#include "sys/clock.hpp"

#include <time.h>

#ifdef WEFT_MODEL
#include "model/execution.hpp"
#endif

namespace weft::detail {
namespace {

void os_sleep(std::int64_t ns) noexcept {
  if (ns <= 0) return;
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

}  // namespace

#ifndef WEFT_MODEL

std::int64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void sleep_ns(std::int64_t ns) noexcept {
  os_sleep(ns);
}

#else  // WEFT_MODEL: virtual time.

std::int64_t monotonic_ns() noexcept {
  return model::now_ns();
}

void sleep_ns(std::int64_t ns) noexcept {
  if (!model::in_execution()) return os_sleep(ns);
  model::point(model::Op::sleep, nullptr, __FILE__, __LINE__);
  if (ns > 0) model::block(nullptr, ns, model::Op::sleep, __FILE__, __LINE__);
}

#endif

}  // namespace weft::detail

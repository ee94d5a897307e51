#include "sys/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef WEFT_MODEL
#include "model/execution.hpp"
#endif

namespace weft::detail {
namespace {

void os_futex_wait(void* word, std::uint32_t expected, std::int64_t timeout_ns) noexcept {
  timespec ts{};
  timespec* tp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    tp = &ts;
  }
  // FUTEX_WAIT's timeout is relative (CLOCK_MONOTONIC).
  syscall(SYS_futex, static_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tp, nullptr,
          0);
}

void os_futex_wake(void* word, int count) noexcept {
  syscall(SYS_futex, static_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr,
          nullptr, 0);
}

}  // namespace

#ifndef WEFT_MODEL

void futex_wait(Atomic<std::uint32_t>* word, std::uint32_t expected,
                std::int64_t timeout_ns) noexcept {
  os_futex_wait(word, expected, timeout_ns);
}

void futex_wake(Atomic<std::uint32_t>* word, int count) noexcept {
  os_futex_wake(word, count);
}

#else  // WEFT_MODEL: the model scheduler decides.

void futex_wait(Atomic<std::uint32_t>* word, std::uint32_t expected,
                std::int64_t timeout_ns) noexcept {
  if (!model::in_execution()) return os_futex_wait(word, expected, timeout_ns);
  model::point(model::Op::futex_wait, word, __FILE__, __LINE__);
  // The check and the block are one step: no other thread runs in between.
  if (word->peek() != expected || model::spurious_wake()) return;
  model::block(word, timeout_ns, model::Op::futex_wait, __FILE__, __LINE__);
}

void futex_wake(Atomic<std::uint32_t>* word, int count) noexcept {
  if (!model::in_execution()) return os_futex_wake(word, count);
  model::point(model::Op::futex_wake, word, __FILE__, __LINE__);
  model::wake(word, count);
}

#endif

}  // namespace weft::detail

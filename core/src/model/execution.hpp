// The model scheduler's internal interface (WEFT_MODEL builds only): what the
// futex, clock, sleep and thread wrappers in core/src/sys/ and the stand-in
// queues call into. The user-facing side is weft/model.hpp; the design is
// described there and in docs/architecture.md ("Model checking").
#pragma once

#ifdef WEFT_MODEL

#include <cstdint>
#include <functional>

#include "weft/detail/model_atomic.hpp"
#include "weft/detail/model_clock.hpp"

namespace weft::detail::model {

struct ModelThread;

/// The calling thread belongs to the running model execution.
bool in_execution() noexcept;

/// Blocks the calling model thread until wake(addr) names it, or until
/// `timeout_ns` (< 0: none) of virtual time passed. The caller has passed its
/// scheduling point already and checked its condition. Returns true on timeout.
bool block(const void* addr, std::int64_t timeout_ns, Op op, const char* file,
           unsigned line) noexcept;
/// Makes up to `count` threads blocked on `addr` runnable (in the order they blocked).
void wake(const void* addr, int count) noexcept;
/// True if this futex wait should return at once, as a spurious wake-up.
bool spurious_wake() noexcept;

/// Starts `fn` on a new model thread (runnable at once).
ModelThread* spawn(std::function<void()> fn, const char* name);
/// Blocks until `t` has finished.
void join(ModelThread* t) noexcept;

/// For reports: an operation's name, and a path from the repository's top folder on.
const char* op_name(Op op) noexcept;
const char* short_path(const char* file) noexcept;

}  // namespace weft::detail::model

#endif  // WEFT_MODEL

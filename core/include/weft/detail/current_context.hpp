// Where the current Context is found: the running task's, or the thread's own.
//
// Why the task's context lives in TaskInfo and not in TaskHeader: every word
// of TaskHeader is paid by every task (W10 parked_memory counts it, and a
// frame that grows past a 64-byte size class costs 64 more), while most
// programs never set a context variable. TaskInfo is allocated lazily, so a
// task that never sees a context pays nothing. A spawn looks at the context
// only once some set() has run in the process (context_vars_used: one load of
// a read-shared word and a branch until then), and then costs the loads of
// current_context_map() and a branch when the spawner's context is empty. A spawn
// from a task *with* one allocates the child's TaskInfo (the price of the
// copy, as Python allocates a Context per create_task). get() then costs a
// TLS load and two dependent loads before the map scan (figure in
// bench/RESULTS.md, bench/micro/micro_context_var.cpp).
#pragma once

#include <cstdint>

#include "weft/detail/context_map.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/task_info.hpp"
#include "weft/detail/thread_context.hpp"

namespace weft::detail {

/// Becomes true at the first set() in the process and stays so. A non-empty
/// context exists only after a set() that happens-before whatever reads it (the
/// map reaches other threads with tasks and jobs), so a relaxed load that
/// finds false proves the reader's context empty.
inline constinit detail::Atomic<bool> context_vars_used{false};

/// The context of code running outside any task on this thread (a plain
/// thread, a blocking-pool thread while it runs a job). Its map is released at
/// thread exit (context.cpp arms a reaper on the first set()).
inline thread_local constinit ContextSlot tls_thread_context{nullptr, 0};

/// The current context's map (null when empty); no reference is taken.
inline ContextMap* current_context_map() noexcept {
  if (TaskHeader* t = tls_context.current) {
    // acquire: the info may have been created by another thread (a debug
    // snapshot); its vars are written by this task only.
    TaskInfo* info = t->info_.load(std::memory_order_acquire);
    return info ? info->vars.map : nullptr;
  }
  return tls_thread_context.map;
}

/// The current context's identity, 0 if none was given yet (no Token made in it).
inline std::uint64_t current_context_id() noexcept {
  if (TaskHeader* t = tls_context.current) {
    TaskInfo* info = t->info_.load(std::memory_order_acquire);
    return info ? info->vars.id : 0;
  }
  return tls_thread_context.id;
}

/// The current context's map with one more reference (null when empty).
inline ContextMap* retain_current_context() noexcept {
  ContextMap* m = current_context_map();
  if (m) m->add_ref();
  return m;
}

/// Gives a task that is being spawned (not yet visible to other threads) a
/// copy of `map`, the spawner's context (non-null). May throw std::bad_alloc.
void inherit_context(TaskHeader* child, ContextMap* map);

/// The current slot, created if needed (the task's TaskInfo; the thread's
/// reaper), and its identity assigned. May throw std::bad_alloc.
ContextSlot& current_context_slot();

/// Sets `key` to `value` (taking over its reference) in the current context.
/// Returns the previous value with a reference (null: none) and the context's
/// identity through `context_id`. On std::bad_alloc nothing changed and
/// `value`'s reference was dropped.
ContextValue* context_set(std::uint64_t key, ContextValue* value, std::uint64_t& context_id);

/// Restores `key` to `old` (null: removes it) in the current context; `old`
/// keeps the caller's reference. May throw std::bad_alloc (nothing changed).
void context_restore(std::uint64_t key, ContextValue* old);

/// A fresh key for a ContextVar (never reused).
std::uint64_t new_context_var_key() noexcept;

}  // namespace weft::detail

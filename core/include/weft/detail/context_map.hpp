// ContextMap: what a weft Context holds (the values of context variables), as
// an immutable, reference-counted map.
//
// Immutable so that copying a context is O(1): a spawned task, a to_thread job
// or a TaskGroup child takes one more reference on its spawner's map and
// shares it. Setting a variable builds a new map (copy-on-write) and swaps it
// into the setter's slot only; whoever shares the old map keeps seeing it.
// Python's contexts are HAMTs for the same reason; weft's map is a flat array
// of (variable key, value) pairs instead, which makes a lookup a scan of a few
// contiguous words and a set O(n) in the number of variables set in that
// context (a handful in practice; a HAMT would make it O(log n)).
//
//   operation          cost                                 atomics
//   find(key)          O(n) scan, no allocation             none
//   add_ref()          O(1)                                 one relaxed fetch_add
//   release()          O(1); O(n) for the last reference    one acq_rel fetch_sub (+1 per value)
//   with(key, value)   O(n): one allocation                 n relaxed fetch_adds (value refs)
//
// Values are boxed (ContextValue) and reference counted too, so that every map
// that holds a value shares the one object, as Python shares the value
// objects. A value is destroyed by whichever thread drops its last reference
// (the thread destroying the last task frame or job that held it): its
// destructor may run on any thread.
//
// Memory orders: a reference is only added by a holder of another reference,
// so add_ref() is relaxed; the fetch_sub that drops a reference is acq_rel, so
// the thread that drops the last one sees every write made through the other
// references (the value's construction included) before it destroys. Maps and
// values are never written after construction, and a map reaches another
// thread only with a task or job, which is handed over through acq_rel
// operations of the scheduler or executor queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

/// One value of a context variable, shared by every map that holds it.
struct ContextValue {
  detail::Atomic<std::uint32_t> refs{1};
  void (*destroy)(ContextValue* self) noexcept = nullptr;

  // relaxed: the caller holds a reference already (a copy never publishes data).
  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  static void release(ContextValue* v) noexcept {
    // acq_rel: see the comment at the top of the file.
    if (v && v->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) v->destroy(v);
  }
};

template <class T>
struct ContextValueOf final : ContextValue {
  template <class... Args>
  explicit ContextValueOf(Args&&... args) : value(std::forward<Args>(args)...) {
    destroy = [](ContextValue* self) noexcept { delete static_cast<ContextValueOf*>(self); };
  }
  T value;
};

struct ContextEntry {
  std::uint64_t key;    ///< ContextVar's unique key (never reused)
  ContextValue* value;  ///< one reference held by this map
};

class ContextMap {
 public:
  ContextMap(const ContextMap&) = delete;
  ContextMap& operator=(const ContextMap&) = delete;

  std::uint32_t size() const noexcept { return size_; }
  const ContextEntry* entries() const noexcept {
    return reinterpret_cast<const ContextEntry*>(this + 1);
  }

  /// The value of `key`, or null.
  ContextValue* find(std::uint64_t key) const noexcept {
    const ContextEntry* e = entries();
    for (std::uint32_t i = 0; i < size_; ++i)
      if (e[i].key == key) return e[i].value;
    return nullptr;
  }

  // relaxed: the caller holds a reference already (a copy never publishes data).
  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  /// Drops one reference (null is fine); the last one releases the values and
  /// frees the map.
  static void release(ContextMap* m) noexcept;

  /// A new map with one reference: `base` (null: empty) with `key` mapped to
  /// `value` (whose reference the new map takes over), or without `key` when
  /// `value` is null. Returns null for an empty result. On std::bad_alloc,
  /// `value`'s reference is dropped and `base` is unchanged.
  static ContextMap* with(const ContextMap* base, std::uint64_t key, ContextValue* value);

 private:
  explicit ContextMap(std::uint32_t size) noexcept : size_(size) {}
  ContextEntry* entries() noexcept { return reinterpret_cast<ContextEntry*>(this + 1); }

  detail::Atomic<std::uint32_t> refs_{1};
  std::uint32_t size_;
  // followed by size_ ContextEntry
};
static_assert(sizeof(ContextMap) % alignof(ContextEntry) == 0);

/// Where a context lives: a task's (in its TaskInfo) or a thread's own.
/// Trivial, so that the thread's slot is a constinit thread_local that needs
/// no TLS guard on access.
struct ContextSlot {
  ContextMap* map;   ///< null: no variable set (the common case)
  std::uint64_t id;  ///< the Context's identity for Tokens; 0 until a set() needs it
};

}  // namespace weft::detail

// Context variables: the map's copy-on-write, the current slot, inheritance at
// spawn. The design is in weft/detail/context_map.hpp and current_context.hpp.
#include <new>

#include "weft/detail/atomic.hpp"
#include "weft/detail/current_context.hpp"

namespace weft::detail {
namespace {

constinit detail::Atomic<std::uint64_t> next_var_key{1};
constinit detail::Atomic<std::uint64_t> next_context_id{1};

/// Releases the thread's context at thread exit. A separate thread_local so
/// that tls_thread_context stays trivial (no TLS guard on get()).
struct ThreadContextReaper {
  ~ThreadContextReaper() {
    ContextMap* m = tls_thread_context.map;
    tls_thread_context = ContextSlot{nullptr, 0};
    ContextMap::release(m);
  }
};

void arm_thread_context_reaper() {
  static thread_local ThreadContextReaper reaper;
  (void)reaper;
}

}  // namespace

void ContextMap::release(ContextMap* m) noexcept {
  // acq_rel: see the comment at the top of context_map.hpp.
  if (!m || m->refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  ContextEntry* e = m->entries();
  for (std::uint32_t i = 0; i < m->size_; ++i)
    ContextValue::release(e[i].value);
  m->~ContextMap();
  ::operator delete(static_cast<void*>(m));
}

ContextMap* ContextMap::with(const ContextMap* base, std::uint64_t key, ContextValue* value) {
  const std::uint32_t old_size = base ? base->size_ : 0;
  const bool present = base && base->find(key);
  std::uint32_t size = old_size;
  if (value && !present) ++size;
  if (!value && present) --size;
  if (size == 0) return nullptr;  // the last variable removed (value is null)
  void* raw;
  try {
    raw = ::operator new(sizeof(ContextMap) + size * sizeof(ContextEntry));
  } catch (...) {
    ContextValue::release(value);
    throw;
  }
  auto* m = ::new (raw) ContextMap(size);
  ContextEntry* out = m->entries();
  std::uint32_t n = 0;
  for (std::uint32_t i = 0; i < old_size; ++i) {
    const ContextEntry& e = base->entries()[i];
    if (e.key == key) {
      if (value) out[n++] = ContextEntry{key, value};  // replaced in place
      continue;
    }
    e.value->add_ref();
    out[n++] = e;
  }
  if (value && !present) out[n++] = ContextEntry{key, value};
  return m;
}

void inherit_context(TaskHeader* child, ContextMap* map) {
  ContextSlot& slot = task_info(child).vars;  // the child is not shared yet
  map->add_ref();
  ContextMap::release(slot.map);  // null: a fresh TaskInfo
  slot.map = map;
}

ContextSlot& current_context_slot() {
  ContextSlot* slot;
  if (TaskHeader* t = tls_context.current) {
    slot = &task_info(t).vars;
  } else {
    arm_thread_context_reaper();
    slot = &tls_thread_context;
  }
  if (slot->id == 0) slot->id = next_context_id.fetch_add(1, std::memory_order_relaxed);
  // Relaxed: see context_vars_used; the load keeps the word read-shared.
  if (!context_vars_used.load(std::memory_order_relaxed))
    context_vars_used.store(true, std::memory_order_relaxed);
  return *slot;
}

ContextValue* context_set(std::uint64_t key, ContextValue* value, std::uint64_t& context_id) {
  ContextSlot* slot;
  try {
    slot = &current_context_slot();
  } catch (...) {
    ContextValue::release(value);
    throw;
  }
  ContextValue* old = slot->map ? slot->map->find(key) : nullptr;
  ContextMap* next = ContextMap::with(slot->map, key, value);  // drops value on failure
  if (old) old->add_ref();                                     // before the old map may free it
  ContextMap::release(std::exchange(slot->map, next));
  context_id = slot->id;
  return old;
}

void context_restore(std::uint64_t key, ContextValue* old) {
  ContextSlot& slot = current_context_slot();
  if (old) old->add_ref();  // the new map's reference
  ContextMap* next = ContextMap::with(slot.map, key, old);
  ContextMap::release(std::exchange(slot.map, next));
}

std::uint64_t new_context_var_key() noexcept {
  return next_var_key.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace weft::detail

// Hazard-pointer records, retirement and scans (see weft/detail/hazard_pointers.hpp).
#include "weft/detail/hazard_pointers.hpp"

#include <algorithm>
#include <vector>

#include "weft/detail/atomic.hpp"

namespace weft::detail {
namespace {

struct Retired {
  void* p;
  void (*deleter)(void*) noexcept;
};

/// Retired nodes of an exited thread, waiting to be adopted by a scan.
struct Orphans {
  std::vector<Retired> nodes;
  Orphans* next = nullptr;
};

detail::Atomic<Hazards::Record*> g_records{nullptr};
detail::Atomic<std::size_t> g_record_count{0};
detail::Atomic<Orphans*> g_orphans{nullptr};

/// Scan threshold: enough retired nodes that a scan frees at least half of
/// them (at most records * slots can be protected), plus slack for small runs.
std::size_t scan_threshold() noexcept {
  return 2 * g_record_count.load(std::memory_order_relaxed) * Hazards::kSlots + 64;
}

Hazards::Record* acquire_record() {
  // Reuse the record of an exited thread if there is one.
  for (Hazards::Record* r = g_records.load(std::memory_order_acquire); r; r = r->next) {
    bool expected = false;
    // acquire: the previous owner's clears happen-before our use.
    if (!r->active.load(std::memory_order_relaxed) &&
        r->active.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                          std::memory_order_relaxed))
      return r;
  }
  auto* r = new Hazards::Record;
  g_record_count.fetch_add(1, std::memory_order_relaxed);
  Hazards::Record* head = g_records.load(std::memory_order_relaxed);
  do {
    r->next = head;
    // release: scanners that reach r see it initialised.
  } while (!g_records.compare_exchange_weak(head, r, std::memory_order_release,
                                            std::memory_order_relaxed));
  return r;
}

void scan(std::vector<Retired>& retired) {
  // Adopt the leftovers of exited threads.
  // acquire: pairs with the release push in ~ThreadHazards.
  if (g_orphans.load(std::memory_order_relaxed)) {
    Orphans* o = g_orphans.exchange(nullptr, std::memory_order_acquire);
    while (o) {
      retired.insert(retired.end(), o->nodes.begin(), o->nodes.end());
      Orphans* next = o->next;
      delete o;
      o = next;
    }
  }
  std::vector<void*> hazards;
  hazards.reserve(g_record_count.load(std::memory_order_relaxed) * Hazards::kSlots);
  for (Hazards::Record* r = g_records.load(std::memory_order_acquire); r; r = r->next)
    for (auto& s : r->slots)
      // seq_cst: pairs with protect()'s store-then-reload.
      if (void* p = s.load(std::memory_order_seq_cst)) hazards.push_back(p);
  std::sort(hazards.begin(), hazards.end());
  auto keep = std::partition(retired.begin(), retired.end(), [&](const Retired& r) {
    return std::binary_search(hazards.begin(), hazards.end(), r.p);
  });
  for (auto it = keep; it != retired.end(); ++it)
    it->deleter(it->p);
  retired.erase(keep, retired.end());
}

}  // namespace

/// The thread-local owner of a hazard record: gives the record back and hands
/// unreclaimed nodes to the orphan list when the thread exits.
struct ThreadHazards {
  Hazards hazards;
  std::vector<Retired> retired;

  ThreadHazards() { hazards.record_ = acquire_record(); }
  ~ThreadHazards() {
    for (auto& s : hazards.record_->slots)
      s.store(nullptr, std::memory_order_release);
    if (!retired.empty()) scan(retired);
    if (!retired.empty()) {
      auto* o = new Orphans{std::move(retired), nullptr};
      Orphans* head = g_orphans.load(std::memory_order_relaxed);
      do {
        o->next = head;
        // release: the adopting scan sees the nodes.
      } while (!g_orphans.compare_exchange_weak(head, o, std::memory_order_release,
                                                std::memory_order_relaxed));
    }
    // release: our slot clears happen-before the next owner's use.
    hazards.record_->active.store(false, std::memory_order_release);
    Hazards::tls_local_ = nullptr;
  }
};

namespace {
thread_local ThreadHazards* tls_thread_hazards = nullptr;

ThreadHazards& thread_hazards() {
  static thread_local ThreadHazards h;
  tls_thread_hazards = &h;
  return h;
}
}  // namespace

Hazards& Hazards::register_thread() {
  ThreadHazards& t = thread_hazards();
  tls_local_ = &t.hazards;
  return t.hazards;
}

void Hazards::retire(void* p, void (*deleter)(void*) noexcept) {
  ThreadHazards* t = tls_thread_hazards;
  if (!t) t = &thread_hazards();
  t->retired.push_back({p, deleter});
  if (t->retired.size() >= scan_threshold()) scan(t->retired);
}

}  // namespace weft::detail

// QueueCore: reservations, task_done/join, shutdown, and the combiner's FIFO
// hand-off between putters, getters and joiners (see weft/detail/queue_core.hpp).
#include "weft/detail/queue_core.hpp"

#include <string>

#include "weft/sync_errors.hpp"

namespace weft::detail {

namespace {
/// Counts live above two flag bits in a 64-bit word.
constexpr std::int64_t kMaxQueueSize = std::int64_t{1} << 60;
}  // namespace

QueueCore::QueueCore(std::int64_t maxsize) : maxsize_(maxsize) {
  if (maxsize > kMaxQueueSize)
    throw ValueError("weft::Queue: maxsize " + std::to_string(maxsize) + " is too large");
}

// ---- fast paths ----

QueueCore::Status QueueCore::reserve_room() noexcept {
  std::uint64_t s = room_.load(std::memory_order_relaxed);
  for (;;) {
    if (s & kShut) return Status::shut_down;
    // Putters waiting: the room belongs to them first (FIFO).
    if ((s & kWaiting) || (bounded() && count(s) >= static_cast<std::uint64_t>(maxsize_)))
      return Status::full;
    // relaxed: the reservation publishes nothing; the storage orders its slots.
    if (room_.compare_exchange_weak(s, s + kOne, std::memory_order_relaxed)) return Status::ok;
  }
}

void QueueCore::publish() noexcept {
  // Counted before it is visible, so its task_done() can never underflow.
  unfinished_.fetch_add(kUnfinishedOne, std::memory_order_relaxed);
  // release: the storage push happens-before a getter's reservation of it.
  std::uint64_t old = avail_.fetch_add(kOne, std::memory_order_release);
  if (old & (kWaiting | kShut)) signal();
}

bool QueueCore::try_hand_over(void* item) noexcept {
  // Only when the storage is truly empty: no item in it, not even one that a
  // getter has reserved but not yet popped (a later reservation could pop that
  // older item and overtake ours: per-producer FIFO), and no put or get in
  // flight: the room count is zero. relaxed: a hint; entering the combiner
  // (acquire) makes the lists ours, and an item arriving meanwhile is a
  // concurrent put, which may go either way.
  std::uint64_t a = avail_.load(std::memory_order_relaxed);
  if ((a & (kWaiting | kShut)) != kWaiting || count(a) != 0) return false;
  std::uint64_t r = room_.load(std::memory_order_relaxed);
  if ((r & kWaiting) || count(r) != 0 || !try_enter()) return false;
  bool handed = false;
  while (!getters_.empty()) {
    WaitNode* n = getters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: its request follows
    give_item(n, item);
    // A put followed at once by its get: counted unfinished (before the getter
    // can call task_done), never in the storage, never taking room. (match()
    // in leave() clears the getters flag if the list ran empty.)
    unfinished_.fetch_add(kUnfinishedOne, std::memory_order_relaxed);
    finish(n);
    handed = true;
    break;
  }
  leave();
  return handed;
}

QueueCore::Status QueueCore::reserve_item(bool nowait) noexcept {
  std::uint64_t s = avail_.load(std::memory_order_relaxed);
  for (;;) {
    // Getters waiting: the items belong to them first (FIFO).
    if ((s & kWaiting) || count(s) == 0) {
      // Shut down and nothing left to come: QueueShutDown. An awaiting get also
      // waits for puts still in flight (their room is reserved).
      if ((s & kShut) && (nowait || count(room_.load(std::memory_order_acquire)) == 0))
        return Status::shut_down;
      return Status::empty;
    }
    // acquire: pairs with publish(); the item is in the storage.
    if (avail_.compare_exchange_weak(s, s - kOne, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return Status::ok;
  }
}

void QueueCore::release_room() noexcept {
  // release: the item left the storage before its slot is reused.
  std::uint64_t old = room_.fetch_sub(kOne, std::memory_order_release);
  if (old & (kWaiting | kShut)) signal();
}

// ---- task_done / join ----

void QueueCore::task_done() {
  std::uint64_t u = unfinished_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    if (unfinished_count(u) == 0)
      throw ValueError("weft::Queue::task_done: called more times than there were items");
    next = u - kUnfinishedOne;
    if (unfinished_count(next) == 0) next += kEpochOne;  // a zero joiners can see
    // acq_rel: the work done for the item happens-before a woken join().
  } while (!unfinished_.compare_exchange_weak(u, next, std::memory_order_acq_rel,
                                              std::memory_order_relaxed));
  if (unfinished_count(next) == 0 && (u & kWaiting)) signal();
}

bool QueueCore::drop_unfinished() noexcept {
  std::uint64_t u = unfinished_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    if (unfinished_count(u) == 0) return false;
    next = u - kUnfinishedOne;
    if (unfinished_count(next) == 0) next += kEpochOne;
  } while (!unfinished_.compare_exchange_weak(u, next, std::memory_order_acq_rel,
                                              std::memory_order_relaxed));
  return unfinished_count(next) == 0;
}

bool QueueCore::join_ready(std::uint32_t& tag) const noexcept {
  // acquire: every task_done() that brought the count to zero happens-before.
  std::uint64_t u = unfinished_.load(std::memory_order_acquire);
  if (unfinished_count(u) == 0) return true;
  tag = kJoin | (epoch_tag(u) << 2);
  return false;
}

// ---- shutdown ----

void QueueCore::shutdown(bool immediate) {
  room_.fetch_or(kShut, std::memory_order_acq_rel);
  avail_.fetch_or(kShut, std::memory_order_acq_rel);
  if (immediate) {
    immediate_.store(true, std::memory_order_release);
    drain();  // the queue is empty when shutdown() returns
  }
  signal();  // the combiner refuses the waiters (and drains late puts)
}

void QueueCore::drain() noexcept {
  bool zero = false;
  std::uint64_t s = avail_.load(std::memory_order_acquire);
  for (;;) {
    // Items promised to waiting getters are theirs: they were in the queue
    // before the shutdown, and the combiner is handing them over.
    if (count(s) == 0 || (s & kWaiting)) break;
    if (!avail_.compare_exchange_weak(s, s - kOne, std::memory_order_acquire,
                                      std::memory_order_relaxed))
      continue;
    drop_item();
    room_.fetch_sub(kOne, std::memory_order_release);
    if (drop_unfinished()) zero = true;
    s = avail_.load(std::memory_order_acquire);
  }
  if (zero && (unfinished_.load(std::memory_order_acquire) & kWaiting)) signal();
}

// ---- the combiner ----

void QueueCore::accept(WaitNode* n) noexcept {
  if (n->outcome() == WaitNode::kCancelled) return;  // its CANCEL request follows
  switch (n->tag & kKindMask) {
    case kPut:
      putters_.push_back(n);
      break;
    case kGet:
      getters_.push_back(n);
      break;
    default: {
      std::uint64_t u = unfinished_.load(std::memory_order_acquire);
      if (unfinished_count(u) == 0 || epoch_tag(u) != (n->tag >> 2)) {
        if (claim(n, WaitNode::kGranted)) finish(n);  // a zero happened since it looked
      } else {
        joiners_.push_back(n);  // linked with the current epoch only: due ones form a prefix
      }
    }
  }
}

void QueueCore::match() noexcept {
  bool again;
  do {
    serve_putters();
    again = serve_getters();  // room freed while putters wait: serve them again
    if (immediate_.load(std::memory_order_acquire)) drain();
    serve_joiners();
  } while (again);
}

void QueueCore::refuse_all(WaitList& list) noexcept {
  while (!list.empty()) {
    WaitNode* n = list.front();
    WaitList::unlink(n);
    if (claim(n, WaitNode::kRefused)) finish(n);
  }
}

void QueueCore::serve_putters() noexcept {
  while (!putters_.empty()) {
    // acquire: pairs with release_room(); the freed slot is empty.
    std::uint64_t s = room_.load(std::memory_order_acquire);
    if (!(s & kWaiting)) s = room_.fetch_or(kWaiting, std::memory_order_acq_rel) | kWaiting;
    if (s & kShut) {
      refuse_all(putters_);
      break;
    }
    if (bounded() && count(s) >= static_cast<std::uint64_t>(maxsize_)) break;  // a get signals
    WaitNode* n = putters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: its item stays with it
    // With PUTTERS set only the combiner adds room, so the room we saw is there;
    // clear the flag in the same RMW when the list ran empty.
    room_.fetch_add(kOne - (putters_.empty() ? kWaiting : 0), std::memory_order_acq_rel);
    store_putter(n);
    unfinished_.fetch_add(kUnfinishedOne, std::memory_order_relaxed);
    // release: the item is in the storage; the getters are served right after.
    avail_.fetch_add(kOne, std::memory_order_release);
    finish(n);
  }
  if (putters_.empty() && (room_.load(std::memory_order_relaxed) & kWaiting))
    room_.fetch_and(~kWaiting, std::memory_order_acq_rel);
}

bool QueueCore::serve_getters() noexcept {
  bool room_for_putters = false;
  while (!getters_.empty()) {
    // acquire: pairs with publish(); the items are in the storage.
    std::uint64_t s = avail_.load(std::memory_order_acquire);
    if (!(s & kWaiting)) s = avail_.fetch_or(kWaiting, std::memory_order_acq_rel) | kWaiting;
    if (count(s) == 0) {
      // Shut down with nothing left and nothing in flight: nothing will come.
      if ((s & kShut) && count(room_.load(std::memory_order_acquire)) == 0) refuse_all(getters_);
      break;
    }
    WaitNode* n = getters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: the item stays queued
    // With GETTERS set only the combiner takes items: the one we saw is there.
    avail_.fetch_sub(kOne + (getters_.empty() ? kWaiting : 0), std::memory_order_acq_rel);
    load_getter(n);
    std::uint64_t old = room_.fetch_sub(kOne, std::memory_order_release);
    if (old & kWaiting) room_for_putters = true;
    finish(n);
  }
  if (getters_.empty() && (avail_.load(std::memory_order_relaxed) & kWaiting))
    avail_.fetch_and(~kWaiting, std::memory_order_acq_rel);
  return room_for_putters;
}

void QueueCore::serve_joiners() noexcept {
  if (!joiners_.empty()) {
    // acquire: pairs with task_done(); the consumers' work is visible to the joiners.
    std::uint64_t u = unfinished_.load(std::memory_order_acquire);
    if (!(u & kWaiting)) u = unfinished_.fetch_or(kWaiting, std::memory_order_acq_rel) | kWaiting;
    while (!joiners_.empty()) {
      WaitNode* n = joiners_.front();
      if (unfinished_count(u) != 0 && epoch_tag(u) == (n->tag >> 2)) break;
      WaitList::unlink(n);
      if (claim(n, WaitNode::kGranted)) finish(n);
    }
  }
  if (joiners_.empty() && (unfinished_.load(std::memory_order_relaxed) & kWaiting))
    unfinished_.fetch_and(~kWaiting, std::memory_order_acq_rel);
}

}  // namespace weft::detail

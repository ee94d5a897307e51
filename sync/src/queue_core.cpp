// QueueCore: reservations, task_done/join, shutdown, and the combiner's FIFO
// hand-off between putters, getters and joiners (see weft/detail/queue_core.hpp).
#include "weft/detail/queue_core.hpp"

#include <string>

#include "weft/sync_errors.hpp"

namespace weft::detail {

QueueCore::QueueCore(std::int64_t maxsize, std::uint64_t first_ticket)
    : maxsize_(maxsize),
      limit_(maxsize > 0 ? maxsize : kMaxItems),
      room_((first_ticket & kCountMask) << kShift),
      freed_(first_ticket & kCountMask),
      avail_((first_ticket & kCountMask) << kShift),
      published_(first_ticket & kCountMask) {
  if (maxsize > kMaxItems)
    throw ValueError("weft::Queue: maxsize " + std::to_string(maxsize) +
                     " is too large (at most 2^35 - 1)");
}

// ---- fast paths ----

QueueCore::Status QueueCore::reserve_room(std::uint64_t& ticket) noexcept {
  std::uint64_t s = room_.load(std::memory_order_relaxed);
  for (;;) {
    if (s & kShut) return Status::shut_down;
    // Putters waiting: the room belongs to them first (FIFO).
    if (s & kWaiterMask) return Status::full;
    // Read after the tail: frees only grow, so if the CAS below confirms the
    // tail, the room counted here is still there. A negative count means the
    // tail read is stale: the CAS fails and reloads it. A free not visible yet
    // makes this put run as if just before that free: QueueFull for
    // put_nowait, a wait for an awaited put (the combiner reads freed_ again,
    // seq_cst, after the putter counted itself in). acquire: every free read
    // here happens-before the CAS (write-write coherence rules out a free
    // that depends on this very reservation). An unbounded queue's limit is
    // kMaxItems, where the 36-bit differences end.
    if (ahead(count(s), freed_.load(std::memory_order_acquire)) >= limit_) return Status::full;
    // relaxed: the reservation publishes nothing; the storage orders its slots
    // (the ring by its sequence numbers, which is why it has at least 2 slots:
    // ring_storage.hpp).
    if (room_.compare_exchange_weak(s, s + kOne, std::memory_order_relaxed)) {
      ticket = count(s);
      return Status::ok;
    }
  }
}

void QueueCore::publish() noexcept {
  // Counted before it is visible, so its task_done() can never underflow.
  unfinished_.fetch_add(kUnfinishedOne, std::memory_order_relaxed);
  // seq_cst (release for the item: the storage push happens-before a getter's
  // reservation of it), then a seq_cst look at the getters: a Dekker pair with
  // on_enqueue's count of a getter and the combiner's read of published_ in
  // serve_getters (one of the two sees the other: no lost wake-up).
  published_.fetch_add(1, std::memory_order_seq_cst);
  if (avail_.load(std::memory_order_seq_cst) & (kWaiterMask | kShut)) signal();
}

bool QueueCore::try_hand_over(void* item) noexcept {
  // Only when the storage is truly empty: no item in it, not even one that a
  // getter has reserved but not yet popped (a later reservation could pop that
  // older item and overtake ours: per-producer FIFO; the block list and the
  // heap pop no particular item for a reservation), and no put or get in
  // flight: no slot in use. relaxed (avail_, published_): a hint; entering
  // the combiner (acquire) makes the lists ours, and an item arriving
  // meanwhile is a concurrent put, which may go either way.
  std::uint64_t a = avail_.load(std::memory_order_relaxed);
  if ((a & kShut) || !(a & kWaiterMask) ||
      ahead(published_.load(std::memory_order_relaxed), count(a)) != 0)
    return false;
  // The frees first, then the tail (acquire): every free counted then
  // happens-before the tail read (its get's reservation of a published item,
  // after that item's reservation of room), so the tail covers every
  // reservation of a freed slot and tail == freed means nothing of ours, or
  // anyone's before, is still in the storage. Read the other way round, a
  // stale tail beside newer frees could hide our own earlier item.
  const std::uint64_t f = freed_.load(std::memory_order_acquire);
  std::uint64_t r = room_.load(std::memory_order_acquire);
  if ((r & kWaiterMask) || ahead(count(r), f) != 0 || !try_enter()) return false;
  bool handed = false;
  while (!getters_.empty()) {
    WaitNode* n = getters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: its request follows
    give_item(n, item);
    // A put followed at once by its get: counted unfinished (before the getter
    // can call task_done), never in the storage, never taking room; the getter
    // is counted out (acq_rel: ordered with the fast paths' reservations).
    unfinished_.fetch_add(kUnfinishedOne, std::memory_order_relaxed);
    avail_.fetch_sub(kWaiterOne, std::memory_order_acq_rel);
    finish(n);
    handed = true;
    break;
  }
  leave();
  return handed;
}

QueueCore::Status QueueCore::reserve_item(bool nowait, std::uint64_t& ticket) noexcept {
  // acquire (the loads of avail_): a SHUT seen here comes after the one
  // shutdown() set in room_ first.
  std::uint64_t s = avail_.load(std::memory_order_acquire);
  for (;;) {
    // Read after the head: published only grows, so if the CAS confirms the
    // head, more than `head` puts have published, and the put of ticket head
    // has its reservation (it may still be moving its item in: the ring's pop
    // waits for that). acquire: pairs with publish() (the ring's sequence
    // numbers order the slot itself).
    // Getters waiting: the items belong to them first (FIFO).
    if ((s & kWaiterMask) || ahead(published_.load(std::memory_order_acquire), count(s)) <= 0) {
      // Shut down and nothing left to come: QueueShutDown. An awaiting get also
      // waits for puts still in flight (their room is reserved).
      if ((s & kShut) && (nowait || slots_in_use() == 0)) return Status::shut_down;
      return Status::empty;
    }
    if (avail_.compare_exchange_weak(s, s + kOne, std::memory_order_acquire,
                                     std::memory_order_acquire)) {
      ticket = count(s);
      return Status::ok;
    }
  }
}

void QueueCore::release_room() noexcept {
  // seq_cst (release: the item has left the storage before a put reuses the
  // room; the ring's sequence numbers order the slot itself), then a seq_cst
  // look at the putters: the Dekker pair of publish(), with on_enqueue's count
  // of a putter and serve_putters' read of freed_.
  freed_.fetch_add(1, std::memory_order_seq_cst);
  if (room_.load(std::memory_order_seq_cst) & (kWaiterMask | kShut)) signal();
}

// ---- task_done / join ----

void QueueCore::task_done() {
  std::uint64_t u = unfinished_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    if (unfinished_count(u) == 0)
      throw ValueError(
          "weft::Queue::task_done: task_done() called too many times (more than there were items)");
    next = u - kUnfinishedOne;
    if (unfinished_count(next) == 0) next += kEpochOne;  // a zero joiners can see
    // acq_rel: the work done for the item happens-before a woken join().
  } while (!unfinished_.compare_exchange_weak(u, next, std::memory_order_acq_rel,
                                              std::memory_order_relaxed));
  if (unfinished_count(next) == 0 && (u & kJoiners)) signal();
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
  // seq_cst: SHUT and the counters form Dekker pairs as the waiter counts do
  // (publish() and release_room() look at SHUT after their fetch_add; drain()
  // and the combiner read published_ and freed_ after SHUT): one of the two
  // sides sees the other, so neither an item nor a free is missed.
  room_.fetch_or(kShut, std::memory_order_seq_cst);
  avail_.fetch_or(kShut, std::memory_order_seq_cst);
  if (immediate) {
    immediate_.store(true, std::memory_order_release);
    drain();  // empty now, but for items of puts still running (dropped as they publish)
  }
  signal();  // the combiner refuses the waiters (and drains late puts)
}

void QueueCore::drain() noexcept {
  bool zero = false;
  std::uint64_t s = avail_.load(std::memory_order_acquire);
  for (;;) {
    // Items promised to waiting getters are theirs: they were in the queue
    // before the shutdown, and the combiner is handing them over.
    // seq_cst: the Dekker pair with publish() (see shutdown()).
    if ((s & kWaiterMask) || ahead(published_.load(std::memory_order_seq_cst), count(s)) <= 0)
      break;
    if (!avail_.compare_exchange_weak(s, s + kOne, std::memory_order_acquire,
                                      std::memory_order_relaxed))
      continue;
    drop_item(count(s));
    freed_.fetch_add(1, std::memory_order_seq_cst);
    if (drop_unfinished()) zero = true;
    s = avail_.load(std::memory_order_acquire);
  }
  if (zero && (unfinished_.load(std::memory_order_acquire) & kJoiners)) signal();
}

// ---- the combiner ----

void QueueCore::on_enqueue(WaitNode* n) noexcept {
  // RMWs on one word are totally ordered, so every reservation after this sees
  // the waiter; the combiner learns of the node through the mailbox. seq_cst:
  // the Dekker pair with publish() (a getter) and release_room() (a putter):
  // either their look at the word sees this count, or the combiner's read of
  // their counter, after this, sees their item or their free.
  switch (n->tag & kKindMask) {
    case kPut:
      room_.fetch_add(kWaiterOne, std::memory_order_seq_cst);
      break;
    case kGet:
      avail_.fetch_add(kWaiterOne, std::memory_order_seq_cst);
      break;
    default:
      break;  // joiners: the epoch tells them what they missed
  }
}

void QueueCore::on_cancelled(WaitNode* n) noexcept {
  // acq_rel: ordered with the reservations and releases around it.
  switch (n->tag & kKindMask) {
    case kPut:
      room_.fetch_sub(kWaiterOne, std::memory_order_acq_rel);
      break;
    case kGet:
      avail_.fetch_sub(kWaiterOne, std::memory_order_acq_rel);
      break;
    default:
      break;
  }
}

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

void QueueCore::refuse_all(WaitList& list, Atomic<std::uint64_t>& word) noexcept {
  while (!list.empty()) {
    WaitNode* n = list.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kRefused)) continue;  // cancelled: on_cancelled counts it out
    word.fetch_sub(kWaiterOne, std::memory_order_acq_rel);
    finish(n);
  }
}

void QueueCore::serve_putters() noexcept {
  while (!putters_.empty()) {
    // acquire: ordered with the reservations and SHUT (RMWs on room_).
    std::uint64_t s = room_.load(std::memory_order_acquire);
    if (s & kShut) {
      refuse_all(putters_, room_);
      break;
    }
    // seq_cst: the Dekker pair with release_room() (see on_enqueue). While
    // putters are counted only the combiner moves the tail, so s is current.
    if (ahead(count(s), freed_.load(std::memory_order_seq_cst)) >= limit_) break;  // a get signals
    WaitNode* n = putters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: its item stays with it
    // The room we saw is there: take a slot (the ticket) and count the putter
    // out in one CAS, unless shutdown() set SHUT since the look above. Then
    // the grant is not kept (the put throws QueueShutDown like the refused
    // ones): no ticket is drawn after SHUT, so a get that finds SHUT and no
    // slot in use knows that no item will come. Retried only when a putter
    // counted itself in meanwhile (or spuriously). acq_rel: as the count-outs
    // of refuse_all and on_cancelled, ordered with the fast paths' CASes.
    while (!(s & kShut) &&
           !room_.compare_exchange_weak(s, s + kOne - kWaiterOne, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
    }
    if (s & kShut) {
      room_.fetch_sub(kWaiterOne, std::memory_order_acq_rel);  // acq_rel: as refuse_all's
      n->tag |= kLateShutDown;  // read by the putter after finish() wakes it
      finish(n);
      continue;  // the next round refuses the others
    }
    if (!store_putter(n, count(s))) {
      // Out of memory for the item's block: nothing changed (only storages
      // that ignore tickets fail, so no ring slot is left empty). The put
      // throws std::bad_alloc, its slot is free again for the next putter.
      // seq_cst: a free like release_room()'s (against SHUT, see shutdown()).
      freed_.fetch_add(1, std::memory_order_seq_cst);
      n->tag |= kLateOutOfMemory;
      finish(n);
      continue;
    }
    unfinished_.fetch_add(kUnfinishedOne, std::memory_order_relaxed);
    // release: the item is in the storage; the getters are served right
    // after. seq_cst: a publish like publish()'s (against SHUT: drain()).
    published_.fetch_add(1, std::memory_order_seq_cst);
    finish(n);
  }
}

bool QueueCore::serve_getters() noexcept {
  bool room_for_putters = false;
  while (!getters_.empty()) {
    // acquire: ordered with the reservations and SHUT (RMWs on avail_).
    std::uint64_t s = avail_.load(std::memory_order_acquire);
    // seq_cst: the Dekker pair with publish() (see on_enqueue); acquire for
    // the items: they are in the storage. While getters are counted only the
    // combiner moves the head, so s is current.
    if (ahead(published_.load(std::memory_order_seq_cst), count(s)) <= 0) {
      // Shut down with nothing left and nothing in flight: nothing will come.
      if ((s & kShut) && slots_in_use() == 0) refuse_all(getters_, avail_);
      break;
    }
    WaitNode* n = getters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: the item stays queued
    // The item we saw is there. Take it (the ticket) and count the getter out
    // in one RMW.
    std::uint64_t old = avail_.fetch_add(kOne - kWaiterOne, std::memory_order_acq_rel);
    load_getter(n, count(old));
    // seq_cst (both): the free and the look at the putters of release_room().
    freed_.fetch_add(1, std::memory_order_seq_cst);
    if (room_.load(std::memory_order_seq_cst) & kWaiterMask) room_for_putters = true;
    finish(n);
  }
  return room_for_putters;
}

void QueueCore::serve_joiners() noexcept {
  if (!joiners_.empty()) {
    // acquire: pairs with task_done(); the consumers' work is visible to the joiners.
    std::uint64_t u = unfinished_.load(std::memory_order_acquire);
    if (!(u & kJoiners)) u = unfinished_.fetch_or(kJoiners, std::memory_order_acq_rel) | kJoiners;
    while (!joiners_.empty()) {
      WaitNode* n = joiners_.front();
      if (unfinished_count(u) != 0 && epoch_tag(u) == (n->tag >> 2)) break;
      WaitList::unlink(n);
      if (claim(n, WaitNode::kGranted)) finish(n);
    }
  }
  if (joiners_.empty() && (unfinished_.load(std::memory_order_relaxed) & kJoiners))
    unfinished_.fetch_and(~kJoiners, std::memory_order_acq_rel);
}

}  // namespace weft::detail

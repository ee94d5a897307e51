// TaskGroup: the group's shared state, the child-completion protocol, the abort
// sweep and join (the semantics are documented in weft/task_group.hpp).
//
// State. A GroupState lives on the heap, apart from the TaskGroup object, so
// that a group destroyed without join() can leave its children's completion
// listeners something valid to call. It is deleted by whichever of "the
// TaskGroup is gone" (kReleased) and "the last chunk finished" comes second.
//
// Chunks and slots. Each child has a slot: its completion listener and a word
// naming the child (no reference: a group adds no atomic to a spawn's
// reference count). The abort sweep may touch a child only while the child
// cannot be freed, so the sweep and the child's completion settle each slot
// with CASes on that word: the sweep marks it kSweeping before cancelling; a
// completion that finds the mark pins the child with a reference (kPinned)
// that the sweep drops when it is done. Either side that finds the word
// already settled leaves it alone. Slots come in chunks of kChunkSlots that are
// never freed before the group: they sit on a push-only list (`all_`, walked by
// the sweep). The group's own task fills its open chunk without any shared
// write; other tasks take a chunk for one spawn. A chunk's `live` counts its
// unfinished children plus its unused slots plus one while it is open, so it
// reaches zero exactly once: then the chunk goes on the free stack for the
// group's task to reuse (pushed by any thread, emptied with one exchange by
// that task: no ABA), and the group's word, which counts unfinished chunks, is
// decremented. A spawn therefore costs no RMW on the group's word and a
// completion one CAS on its slot and one RMW on its chunk (one in kChunkSlots
// touches the word), which keeps the structure's cost near bare spawn + join.
//
// Abort against spawn. The sweep sets kAborting and then walks `all_`; a spawn
// publishes its child in the slot and then reads the word. Both pairs are
// seq_cst, so at least one side sees the other (Dekker): a spawn that raced
// with the sweep cancels its own child, and the exchange keeps it to one cancel.
//
// Parent cancellation. A failing child cancels the group's task before it
// counts itself finished, so join() cannot end before that cancel() happened
// and its uncancel() removes exactly that request.
#include "weft/task_group.hpp"

#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "scheduler/scheduler.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/cancel_message.hpp"
#include "weft/detail/frame_allocator.hpp"
#include "weft/detail/thread_context.hpp"

namespace weft::detail {

struct GroupChunk;

struct GroupSlot : CompletionListener {
  /// In `child`: the sweep is cancelling the child (it must stay alive).
  static constexpr std::uintptr_t kSweeping = 1;
  /// In `child`: the child finished during the sweep and holds a reference for it.
  static constexpr std::uintptr_t kPinned = 2;
  static constexpr std::uintptr_t kMarks = kSweeping | kPinned;

  GroupChunk* chunk = nullptr;
  /// The child (TaskHeader*, plus a mark) from attach() until the child's
  /// completion or the sweep settles it; 0 when free.
  detail::Atomic<std::uintptr_t> child{0};
};
static_assert(alignof(TaskHeader) > GroupSlot::kMarks, "marks live in the pointer's low bits");

/// Slots per chunk (30: a chunk then fits the frame cache's largest class).
inline constexpr std::uint32_t kChunkSlots = 30;

struct GroupChunk {
  GroupState* group = nullptr;
  GroupChunk* all_next = nullptr;   ///< immutable once the chunk is on `all_`
  GroupChunk* free_next = nullptr;  ///< link on the free stacks
  /// Unfinished children + unused slots + 1 while open; the chunk is finished at zero.
  detail::Atomic<std::uint32_t> live{0};
  std::uint32_t used = 0;  ///< slots handed out (the chunk's taker only, while open)
  GroupSlot slots[kChunkSlots];
};
static_assert(sizeof(GroupChunk) <= kMaxCachedFrame, "a chunk should come from the frame cache");

namespace {
struct GroupError {
  std::exception_ptr error;
  GroupError* next = nullptr;
};

bool is_cancelled_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string describe(const SourceLocation& where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line()) + " in '" +
         where.function_name() + "'";
}
}  // namespace

class GroupState {
 public:
  // --- word_ ---
  static constexpr std::uint64_t kCountMask = 0xffff'ffffu;      ///< chunks not finished
  static constexpr std::uint64_t kExiting = 1ull << 32;          ///< join() has started
  static constexpr std::uint64_t kWaiting = 1ull << 33;          ///< the parent sleeps in join()
  static constexpr std::uint64_t kAborting = 1ull << 34;         ///< children are being cancelled
  static constexpr std::uint64_t kParentCancelled = 1ull << 35;  ///< the group cancelled its task
  static constexpr std::uint64_t kClosed = 1ull << 36;           ///< joined: no more children
  static constexpr std::uint64_t kReleased = 1ull << 37;         ///< the TaskGroup is gone
  /// The abort's cancel() of the group's task has been made (after kParentCancelled).
  static constexpr std::uint64_t kParentCancelMade = 1ull << 38;

  GroupState(TaskHeader* parent, Runtime* runtime, SourceLocation where) noexcept
      : parent_(parent), runtime_(runtime), where_(where) {
    // The parent's frame must outlive a cancel() a failing child may still be
    // making after an abandoned group's task finished.
    parent_->add_ref();
  }

  ~GroupState() {
    for (GroupChunk* c = all_.load(std::memory_order_relaxed); c;) {
      GroupChunk* next = c->all_next;
      c->~GroupChunk();
      deallocate_frame(c, sizeof(GroupChunk));
      c = next;
    }
    for (GroupError* e = errors_.load(std::memory_order_relaxed); e;) {
      GroupError* next = e->next;
      delete e;
      e = next;
    }
    parent_->release_ref();
  }

  TaskHeader* parent() const noexcept { return parent_; }
  Runtime& runtime() const noexcept { return *runtime_; }
  std::uint64_t word() const noexcept { return word_.load(std::memory_order_acquire); }

  GroupSlot* reserve() {
    if (tls_context.current == parent_) {
      // The group's own task: its open chunk, no shared write. acquire: the
      // flags decide whether the abort's cancellation reached us (a racing
      // abort is caught by attach()).
      check_open(word_.load(std::memory_order_acquire), /*own_task=*/true);
      if (!open_ || open_->used == kChunkSlots) {
        if (open_) retire(std::exchange(open_, nullptr));
        open_ = take_chunk();
      }
      return &open_->slots[open_->used++];
    }
    // Another task (a child spawning a sibling) or thread: a chunk of its own,
    // kept open until attach() is done with the group: the open chunk keeps
    // the group from ending (and its state from being freed) while the new
    // child may already have run and finished (R2).
    GroupChunk* c = take_chunk();
    return &c->slots[c->used++];
  }

  void unreserve(GroupSlot* s) noexcept {
    const bool outside = tls_context.current != parent_;
    slot_done(s->chunk);
    if (outside) retire(s->chunk);  // after this the state may be gone
  }

  void attach(GroupSlot* s, TaskHeader* child) noexcept {
    const bool outside = tls_context.current != parent_;
    // seq_cst: Dekker with abort(): publish the child, then look for kAborting.
    s->child.store(reinterpret_cast<std::uintptr_t>(child), std::memory_order_seq_cst);
    bool listening = child->add_listener(s);
    if (word_.load(std::memory_order_seq_cst) & kAborting) cancel_slot(s);
    if (!listening) child_done(s, child);  // it finished already
    if (outside) retire(s->chunk);         // after this the state may be gone
  }

  static void on_slot_complete(CompletionListener* l, TaskHeader* child) noexcept {
    auto* s = static_cast<GroupSlot*>(l);
    s->chunk->group->child_done(s, child);
  }

  // ---- join (the parent task) ----

  bool begin_exit(std::exception_ptr body_error) {
    word_.fetch_or(kExiting, std::memory_order_acq_rel);  // acq_rel: ordered with spawns' CAS
    if (open_) retire(std::exchange(open_, nullptr));
    if (body_error) {
      if (is_cancelled_error(body_error))
        propagate_ = std::move(body_error);
      else
        body_error_ = std::move(body_error);
      abort(/*cancel_parent=*/false);  // asyncio: an exception in the block aborts too
    }
    // acquire: the children's results and failures are visible if we do not suspend.
    return (word_.load(std::memory_order_acquire) & kCountMask) == 0;
  }

  /// After the parent published its resume point: false if nothing is left to wait for.
  bool suspend_exit() noexcept {
    std::uint64_t w = word_.load(std::memory_order_acquire);
    do {
      if ((w & kCountMask) == 0) return false;
      // acq_rel: the last chunk's fetch_sub must see kWaiting (or we see its count).
    } while (!word_.compare_exchange_weak(w, w | kWaiting, std::memory_order_acq_rel,
                                          std::memory_order_acquire));
    return true;
  }

  /// A cancellation reached the parent while it waits in join() (run by its owner).
  Withdraw withdraw_exit() noexcept {
    // The last child is waking us: the request waits for the next suspension.
    if ((word_.load(std::memory_order_acquire) & kCountMask) == 0) return Withdraw::too_late;
    // Not aborting yet: a cancellation from outside (asyncio: propagate it).
    if (abort(/*cancel_parent=*/false) >= 0) outside_cancel_ = true;
    return Withdraw::handed_off;  // the last child's completion wakes us
  }

  void finish_exit() {
    std::uint64_t w = word_.load(std::memory_order_acquire);
    // count == 0 here, and no spawn can raise it once kExiting is set.
    while (!word_.compare_exchange_weak(w, (w | kClosed) & ~kWaiting, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
    }
    std::vector<std::exception_ptr> errors = take_errors();
    if (body_error_) errors.push_back(std::move(body_error_));
    std::exception_ptr propagate = std::move(propagate_);
    // The outside cancellation's message (asyncio re-raises the parent's own
    // CancelledError; the children's cancels carry none).
    if (!propagate && outside_cancel_)
      propagate = std::make_exception_ptr(make_cancelled_error(parent_, /*at_resumption=*/true));
    if (w & kParentCancelled) {
      // Our own request: withdraw it; if none is left, the CancelledError that
      // reached the body was ours and does not propagate.
      if (parent_->uncancel() == 0) propagate = nullptr;
    }
    if (propagate && errors.empty()) {
      fold_pending_cancel();  // one CancelledError for this resumption (R8)
      std::rethrow_exception(propagate);
    }
    if (!errors.empty()) {
      if (parent_->cancelling() > 0) {
        // Cancelled from outside too: keep the count and re-arm the request so
        // the next suspension delivers it (asyncio 3.13).
        parent_->uncancel();
        parent_->cancel();
      }
      throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors));
    }
  }

  // ---- the TaskGroup object goes away ----

  void abandon() noexcept {
    if (open_) retire(std::exchange(open_, nullptr));
    std::int64_t cancelled = abort(/*cancel_parent=*/false);
    std::uint64_t w = word_.fetch_or(kClosed, std::memory_order_acq_rel);
    // A child's failure decided to cancel us; the request may not be made yet.
    if ((w & kParentCancelled) && tls_context.current == parent_) parent_->uncancel_owed();
    std::size_t lost = 0;
    std::exception_ptr first_lost;
    // acquire: read the failures pushed so far (they stay on the list until deletion).
    for (GroupError* e = errors_.load(std::memory_order_acquire); e; e = e->next) {
      ++lost;
      first_lost = e->error;  // the list is newest first: this ends on the oldest
    }
    bool spawned = all_.load(std::memory_order_relaxed) != nullptr;
    if (cancelled <= 0 && lost == 0 && !(spawned && runtime_->options().debug)) return;
    std::string msg = "weft: TaskGroup created at " + describe(where_) +
                      " was destroyed without join() (use weft::task_group(body), or "
                      "co_await group.join(error) on every path)";
    if (cancelled > 0)
      msg += "; " + std::to_string(cancelled) + " unfinished child task(s) cancelled";
    if (lost)
      msg += "; " + std::to_string(lost) +
             " child failure(s) never retrieved, first: " + exception_repr(first_lost);
    std::fprintf(stderr, "%s\n", msg.c_str());
  }

  void release_handle() noexcept {
    // acq_rel: the last of us and the last chunk's completion deletes.
    std::uint64_t prev = word_.fetch_or(kReleased, std::memory_order_acq_rel);
    if ((prev & kCountMask) == 0) delete this;
  }

 private:
  static void refuse(const char* why, const SourceLocation& where) {
    throw InvalidStateError(std::string("weft::TaskGroup::spawn: the group created at ") +
                            describe(where) + why);
  }
  /// Refuses a spawn into a finished group, and one into an aborting group
  /// once the abort is known to the spawner: to another task, as soon as the
  /// flag is set (asyncio's "shutting down"); to the group's own task, once the
  /// abort's cancellation has been delivered to it (it saw CancelledError).
  /// Before that, the group's own spawn is a race with the abort (S2: the child
  /// failed on another worker while the body ran): it goes ahead and attach()
  /// cancels the child at once.
  void check_open(std::uint64_t w, bool own_task) const {
    if ((w & kClosed) || ((w & kExiting) && (w & kCountMask) == 0)) refuse(" has finished", where_);
    if (!(w & kAborting)) return;
    if (own_task && (w & kParentCancelled)) {
      bool delivered =
          (w & kParentCancelMade) &&
          !(parent_->state_.load(std::memory_order_acquire) & TaskHeader::kCancelPending);
      if (!delivered) return;
    }
    refuse(" is shutting down (a child failed or it was cancelled)", where_);
  }

  /// A chunk for the caller, counted in the word (which refuses like spawn()).
  GroupChunk* take_chunk() {
    // relaxed: the count guards no data; the flags are only read to refuse.
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    do {
      check_open(w, tls_context.current == parent_);
      if ((w & kCountMask) == kCountMask)
        throw InvalidStateError("weft::TaskGroup::spawn: too many running children");
    } while (!word_.compare_exchange_weak(w, w + 1, std::memory_order_relaxed));
    GroupChunk* c = nullptr;
    if (tls_context.current == parent_) {
      // acquire: see the chunk as the completion that finished it left it.
      if (!local_free_ && free_.load(std::memory_order_relaxed))
        local_free_ = free_.exchange(nullptr, std::memory_order_acquire);
      if ((c = local_free_)) local_free_ = c->free_next;
    }
    if (!c) {
      try {
        c = new_chunk();
      } catch (...) {
        finish_count();
        throw;
      }
    }
    c->used = 0;
    // relaxed: a finished chunk has no other user; the slot stores publish it.
    c->live.store(kChunkSlots + 1, std::memory_order_relaxed);
    return c;
  }

  GroupChunk* new_chunk() {
    auto* c = new (allocate_frame(sizeof(GroupChunk))) GroupChunk;
    c->group = this;
    for (auto& s : c->slots) {
      s.chunk = c;
      s.on_complete = &on_slot_complete;
    }
    GroupChunk* head = all_.load(std::memory_order_relaxed);
    do {
      c->all_next = head;
      // seq_cst: part of the Dekker pairing with abort()'s sweep (see the top).
    } while (
        !all_.compare_exchange_weak(head, c, std::memory_order_seq_cst, std::memory_order_relaxed));
    return c;
  }

  /// The taker lets go of a chunk: its unused slots and the open token go.
  void retire(GroupChunk* c) noexcept {
    std::uint32_t drop = kChunkSlots - c->used + 1;
    // acq_rel: as slot_done.
    if (c->live.fetch_sub(drop, std::memory_order_acq_rel) == drop) finish_chunk(c);
  }

  void slot_done(GroupChunk* c) noexcept {
    // acq_rel: our writes (failures) are released to whoever finishes the chunk,
    // which acquires everyone's before counting the chunk finished.
    if (c->live.fetch_sub(1, std::memory_order_acq_rel) == 1) finish_chunk(c);
  }

  void finish_chunk(GroupChunk* c) noexcept {
    if (tls_context.current == parent_) {
      c->free_next = local_free_;  // the group's task itself: no shared write
      local_free_ = c;
    } else {
      GroupChunk* head = free_.load(std::memory_order_relaxed);
      do {
        c->free_next = head;
        // release: the next taker of the chunk sees it finished with.
      } while (!free_.compare_exchange_weak(head, c, std::memory_order_release,
                                            std::memory_order_relaxed));
    }
    finish_count();  // after this the state may be gone
  }

  /// The sweep's side of a slot: cancels its child if it has one and the child
  /// has not finished; true if that child was still running.
  bool cancel_slot(GroupSlot* s) noexcept {
    using S = GroupSlot;
    // seq_cst: Dekker with attach() (see the top).
    std::uintptr_t v = s->child.load(std::memory_order_seq_cst);
    if (v == 0 || (v & S::kMarks)) return false;  // free, finished, or another sweep has it
    // acq_rel: one decision against child_done(); from here the child cannot be freed.
    if (!s->child.compare_exchange_strong(v, v | S::kSweeping, std::memory_order_acq_rel,
                                          std::memory_order_relaxed))
      return false;
    auto* t = reinterpret_cast<TaskHeader*>(v);
    bool cancelled = t->cancel();
    std::uintptr_t sweeping = v | S::kSweeping;
    // acq_rel: against child_done(); on failure it pinned the child for us.
    if (!s->child.compare_exchange_strong(sweeping, 0, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
      s->child.store(0, std::memory_order_release);
      t->release_ref();  // the completion's pin
    }
    return cancelled;
  }

  /// Sets kAborting (and kParentCancelled) once; the caller that set it cancels
  /// every child (and the parent). Returns the number of children it cancelled,
  /// or -1 if the abort had started already.
  std::int64_t abort(bool cancel_parent) noexcept {
    std::uint64_t add = kAborting | (cancel_parent ? kParentCancelled : 0);
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    do {
      if (w & kAborting) return -1;
      // seq_cst: Dekker with attach() (see the top).
    } while (!word_.compare_exchange_weak(w, w | add, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
    std::int64_t cancelled = 0;
    for (GroupChunk* c = all_.load(std::memory_order_seq_cst); c; c = c->all_next)
      for (auto& s : c->slots)
        cancelled += cancel_slot(&s);
    if (cancel_parent) {
      parent_->cancel();
      // release: the parent that sees the flag sees the request in its state word.
      word_.fetch_or(kParentCancelMade, std::memory_order_release);
    }
    return cancelled;
  }

  void child_done(GroupSlot* s, TaskHeader* child) noexcept {
    using S = GroupSlot;
    auto p = reinterpret_cast<std::uintptr_t>(child);
    std::uintptr_t v = p;
    // acq_rel: one decision against cancel_slot(). The child is alive here (the
    // scheduler holds it until its listeners have run).
    if (!s->child.compare_exchange_strong(v, 0, std::memory_order_acq_rel,
                                          std::memory_order_acquire) &&
        v == (p | S::kSweeping)) {
      // A sweep is cancelling the child right now: keep it alive for the sweep.
      child->add_ref();
      if (!s->child.compare_exchange_strong(v, p | S::kPinned, std::memory_order_acq_rel,
                                            std::memory_order_acquire))
        child->release_ref();  // the sweep finished meanwhile; never the last reference
    }
    // acquire: the child's result (this may run on the spawning thread).
    std::uint32_t st = child->state_.load(std::memory_order_acquire);
    if (child->error_ && !(st & TaskHeader::kCancelledResult)) {
      child->state_.fetch_or(TaskHeader::kResultSeen, std::memory_order_relaxed);
      push_error(child->error_);
      abort(/*cancel_parent=*/true);  // before the count drops: see the top
    }
    slot_done(s->chunk);
  }

  void push_error(std::exception_ptr e) noexcept {
    auto* node = new GroupError{std::move(e)};
    GroupError* head = errors_.load(std::memory_order_relaxed);
    do {
      node->next = head;
      // release: join() (acquire) reads the exception. Push order = completion order.
    } while (!errors_.compare_exchange_weak(head, node, std::memory_order_release,
                                            std::memory_order_relaxed));
  }

  std::vector<std::exception_ptr> take_errors() {
    // acquire: pairs with push_error's release.
    GroupError* head = errors_.exchange(nullptr, std::memory_order_acquire);
    std::vector<std::exception_ptr> out;
    for (GroupError* e = head; e; e = e->next)
      out.push_back(e->error);
    std::vector<std::exception_ptr> ordered(out.rbegin(), out.rend());  // oldest first
    while (head) {
      GroupError* next = head->next;
      delete head;
      head = next;
    }
    return ordered;
  }

  /// One chunk fewer: wakes the waiting parent or deletes the state at zero.
  void finish_count() noexcept {
    TaskHeader* parent = parent_;
    // acq_rel: our writes are released to whoever sees the count reach zero,
    // and the zero-count side acquires everyone's.
    std::uint64_t prev = word_.fetch_sub(1, std::memory_order_acq_rel);
    if ((prev & kCountMask) != 1) return;
    if (prev & kWaiting) {
      parent->wake();  // the parent sleeps until this wake: the state is alive
    } else if (prev & kReleased) {
      delete this;
    }
  }

  detail::Atomic<std::uint64_t> word_{0};
  detail::Atomic<GroupChunk*> all_{nullptr};
  detail::Atomic<GroupChunk*> free_{nullptr};
  detail::Atomic<GroupError*> errors_{nullptr};
  GroupChunk* open_ = nullptr;        ///< the group's task's chunk being filled
  GroupChunk* local_free_ = nullptr;  ///< the group's task's finished chunks
  TaskHeader* const parent_;
  Runtime* const runtime_;
  const SourceLocation where_;
  // Parent-only (join and its withdrawal run as the parent's owner).
  std::exception_ptr body_error_;
  std::exception_ptr propagate_;
  bool outside_cancel_ = false;
};

}  // namespace weft::detail

namespace weft {

TaskGroup::TaskGroup(SourceLocation where) : where_(where) {
  detail::TaskHeader* parent = detail::require_current_task("weft::TaskGroup");
  state_ = new detail::GroupState(parent, &Runtime::current(), where_);
}

TaskGroup::~TaskGroup() {
  if (!joined_) state_->abandon();
  state_->release_handle();
}

detail::GroupSlot* TaskGroup::reserve(detail::GroupState* state) {
  return state->reserve();
}
void TaskGroup::unreserve(detail::GroupState* state, detail::GroupSlot* slot) noexcept {
  state->unreserve(slot);
}
void TaskGroup::attach(detail::GroupState* state, detail::GroupSlot* slot,
                       detail::TaskHeader* child) noexcept {
  state->attach(slot, child);
}
Runtime& TaskGroup::runtime(detail::GroupState* state) noexcept {
  return state->runtime();
}

bool TaskGroup::aborting() const noexcept {
  return state_->word() & detail::GroupState::kAborting;
}

TaskGroup::JoinAwaiter TaskGroup::join(std::exception_ptr body_error) noexcept {
  return JoinAwaiter(this, std::move(body_error));
}

bool TaskGroup::JoinAwaiter::await_ready() {
  TaskGroup& g = *group_;
  if (g.join_started_)
    throw InvalidStateError("weft::TaskGroup::join: the group created at " +
                            detail::describe(g.where_) + " was already joined");
  if (detail::current_task() != g.state_->parent())
    throw InvalidStateError(
        "weft::TaskGroup::join: must be awaited by the task that created "
        "the group (created at " +
        detail::describe(g.where_) + ")");
  g.join_started_ = true;
  if (!body_error_ && !(g.state_->word() & detail::GroupState::kAborting)) {
    // Work-first (docs/architecture.md, "Fork-join"): the children this task
    // spawned in its current step and that still wait in this worker's run
    // queue run here, oldest first, before the join waits for the rest.
    if (detail::Worker* w = detail::tls_context.worker) w->run_step_spawns_inline();
  }
  return g.state_->begin_exit(std::move(body_error_));
}

bool TaskGroup::JoinAwaiter::await_suspend(std::coroutine_handle<> h) {
  detail::TaskHeader* self = group_->state_->parent();
  withdraw = &withdraw_join;
  what = "TaskGroup.join";
  self->resume_point_ = h;
  self->suspended_on_ = this;
  if (!group_->state_->suspend_exit()) {
    self->suspended_on_ = nullptr;
    return false;
  }
  return true;  // published: the last child may wake us from now on
}

void TaskGroup::JoinAwaiter::await_resume() {
  group_->joined_ = true;
  group_->state_->finish_exit();
}

detail::Withdraw TaskGroup::JoinAwaiter::withdraw_join(detail::Suspension* self,
                                                       detail::TaskHeader*) noexcept {
  return static_cast<JoinAwaiter*>(self)->group_->state_->withdraw_exit();
}

}  // namespace weft

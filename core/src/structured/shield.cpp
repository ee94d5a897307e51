#include "weft/shield.hpp"

namespace weft::detail {

bool ShieldAwaiterBase::suspend(std::coroutine_handle<> h) {
  TaskHeader* self = require_current_task("weft::shield");
  link = new ShieldLink;
  link->on_complete = &on_target_complete;
  link->waiter.store(self, std::memory_order_relaxed);
  withdraw = &withdraw_shield;
  what = "shield";
  self->resume_point_ = h;
  self->suspended_on_ = this;
  if (!target->add_listener(link)) {  // finished meanwhile
    link->refs.store(1, std::memory_order_relaxed);
    self->suspended_on_ = nullptr;
    return false;
  }
  suspended = true;
  return true;
}

void ShieldAwaiterBase::finish() {
  if (link) {
    link->release();
    link = nullptr;
  }
  if (cancelled || (suspended && take_pending_cancel())) throw_cancelled_at_resume();
}

void ShieldAwaiterBase::on_target_complete(CompletionListener* self, TaskHeader*) noexcept {
  auto* l = static_cast<ShieldLink*>(self);
  // acq_rel: take the waiter exactly once (against withdraw_shield).
  if (TaskHeader* w = l->waiter.exchange(nullptr, std::memory_order_acq_rel)) w->wake();
  l->release();
}

Withdraw ShieldAwaiterBase::withdraw_shield(Suspension* self, TaskHeader*) noexcept {
  auto* a = static_cast<ShieldAwaiterBase*>(self);
  if (!a->link->waiter.exchange(nullptr, std::memory_order_acq_rel)) return Withdraw::too_late;
  a->cancelled = true;  // the shielded task runs on; only the waiter leaves
  return Withdraw::withdrawn;
}

}  // namespace weft::detail

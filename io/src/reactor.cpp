// Reactor: attachment to the driver, event dispatch, deferred freeing of
// closed sources. See weft/io/reactor.hpp for the readiness protocol.
#include "reactor.hpp"

#include <utility>

#include "weft/runtime.hpp"

namespace weft::io::detail {

Reactor& Reactor::of(weft::detail::Driver& d) {
  if (void* ext = d.extension()) return *static_cast<Reactor*>(ext);
  auto* fresh = new Reactor(d);
  // The driver publishes the reactor together with its dispatch function, so
  // whoever sees it can register fds at once (no event can be dropped).
  if (d.install_extension(&dispatch, fresh, &destroy)) return *fresh;
  delete fresh;  // another thread won the race
  return *static_cast<Reactor*>(d.extension());
}

Reactor& Reactor::current() {
  return of(weft::Runtime::current().driver());
}

Reactor* Reactor::try_current() noexcept {
  weft::Runtime* rt = weft::Runtime::try_current();
  if (!rt) return nullptr;
  return static_cast<Reactor*>(rt->driver().extension());
}

void Reactor::on_registered() noexcept {
  driver_.add_source();
  live_.fetch_add(1, std::memory_order_relaxed);  // a statistic: no ordering needed
}

void Reactor::on_deregistered() noexcept {
  driver_.remove_source();
  live_.fetch_sub(1, std::memory_order_relaxed);  // a statistic: no ordering needed
}

void Reactor::retire(IoSource* s) noexcept {
  IoSource* head = retired_.load(std::memory_order_relaxed);
  do {
    s->retired_next = head;
    // release: the dispatcher that takes the list sees retired_next and the
    // completed EPOLL_CTL_DEL of this source.
  } while (!retired_.compare_exchange_weak(head, s, std::memory_order_release,
                                           std::memory_order_relaxed));
}

void Reactor::free_list(IoSource* s) noexcept {
  while (s) {
    IoSource* next = s->retired_next;
    delete s;
    s = next;
  }
}

// Why freeing one dispatch later is safe: the sources in grace_ were taken
// from retired_ at the end of the previous dispatch, so each was removed from
// epoll (EPOLL_CTL_DEL) before that dispatch ended. Dispatches run one at a
// time (the driver has one holder), and this dispatch's events come from an
// epoll_wait that started after the previous dispatch ended, so none of them
// can point at a source in grace_. Sources retired while this epoll_wait ran
// may appear in these events: they are still in retired_ and stay alive.
void Reactor::dispatch(void* context, const epoll_event* events, int count) {
  auto* r = static_cast<Reactor*>(context);
  free_list(std::exchange(r->grace_, nullptr));
  const std::uint64_t tick = r->driver_.tick();
  for (int i = 0; i < count; ++i)
    static_cast<IoSource*>(events[i].data.ptr)->on_event(events[i].events, tick);
  // acquire: pairs with retire()'s release (the sources' DEL and links).
  r->grace_ = r->retired_.exchange(nullptr, std::memory_order_acquire);
}

void Reactor::destroy(void* context) {
  delete static_cast<Reactor*>(context);
}

Reactor::~Reactor() {
  // The runtime's workers have stopped: nobody dispatches any more.
  free_list(grace_);
  free_list(retired_.exchange(nullptr, std::memory_order_acquire));
}

long registered_sources() noexcept {
  Reactor* r = Reactor::try_current();
  return r ? r->live() : 0;
}

}  // namespace weft::io::detail

#include "weft/detail/driver.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "sys/futex.hpp"

namespace weft::detail {
namespace {
constexpr int kMaxEvents = 256;
// The eventfd's epoll entry carries this address so turn() can tell it apart.
char wake_tag;
}  // namespace

Driver::Driver() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    int e = errno;
    close(epoll_fd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = &wake_tag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) < 0) {
    int e = errno;
    close(event_fd_);
    close(epoll_fd_);
    throw std::system_error(e, std::generic_category(), "epoll_ctl(eventfd)");
  }
}

Driver::~Driver() {
  if (Extension* e = extension_.load(std::memory_order_acquire)) {
    e->destroy(e->context);
    delete e;
  }
  close(event_fd_);
  close(epoll_fd_);
}

bool Driver::install_extension(Dispatch dispatch, void* context, void (*destroy)(void*)) {
  auto* fresh = new Extension{dispatch, context, destroy};
  Extension* expected = nullptr;
  // acq_rel: the CAS picks the one installer and publishes the whole extension
  // (release); on failure, acquire the winner's.
  if (extension_.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel,
                                         std::memory_order_acquire))
    return true;
  delete fresh;
  return false;
}

void Driver::turn(std::int64_t timeout_ns) {
  int timeout_ms = -1;
  if (timeout_ns >= 0) {
    // Round up: waking before the deadline would only mean another turn.
    std::int64_t ms = (timeout_ns + 999'999) / 1'000'000;
    timeout_ms = ms > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(ms);
  }
#ifdef WEFT_MODEL
  (void)timeout_ms;
  // The eventfd's stand-in: readable (non-zero) ends the wait at once.
  if (timeout_ns != 0 && model_eventfd_.load(std::memory_order_acquire) == 0)
    futex_wait(&model_eventfd_, 0, timeout_ns);
  tick_.fetch_add(1, std::memory_order_acq_rel);
  if (model_eventfd_.exchange(0, std::memory_order_acq_rel) != 0)
    woken_.store(false, std::memory_order_release);
  return;
#endif
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  tick_.fetch_add(1, std::memory_order_acq_rel);
  if (n <= 0) return;  // timeout, or EINTR: the caller re-checks anyway
  int out = 0;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.ptr == &wake_tag) {
      std::uint64_t v;
      while (read(event_fd_, &v, sizeof v) > 0) {
      }
      woken_.store(false, std::memory_order_release);
    } else {
      events[out++] = events[i];
    }
  }
  // acquire: pairs with install_extension's publishing CAS.
  if (out > 0)
    if (Extension* e = extension_.load(std::memory_order_acquire))
      e->dispatch(e->context, events, out);
}

void Driver::wake() noexcept {
  // One write per turn is enough: skip the syscall when a wake is already pending.
  if (woken_.exchange(true, std::memory_order_acq_rel)) return;
#ifdef WEFT_MODEL
  model_eventfd_.store(1, std::memory_order_release);
  futex_wake(&model_eventfd_, 1);
  return;
#endif
  std::uint64_t one = 1;
  ssize_t r = write(event_fd_, &one, sizeof one);
  (void)r;  // EAGAIN means the counter is already non-zero: the driver will wake
}

}  // namespace weft::detail

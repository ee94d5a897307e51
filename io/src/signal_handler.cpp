// add_signal_handler / remove_signal_handler: asyncio's callback form, as one
// detached task per (runtime, signal) that loops on a SignalStream.
//
// The task's frame owns the handler (stream and callback); the registry only
// keeps a weak reference. Removing a handler closes its stream from the
// remover's thread, which ends the task; a runtime's shutdown cancels the
// task. Either way the stream is unsubscribed when the frame goes, even if
// the task never got to run.
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "signal_hub.hpp"
#include "weft/errors.hpp"
#include "weft/io/errors.hpp"
#include "weft/runtime.hpp"

namespace weft::io {

namespace {

struct Handler {
  Handler(SignalStream s, std::function<void()> cb)
      : stream(std::move(s)), callback(std::move(cb)) {}
  SignalStream stream;
  std::function<void()> callback;
};

/// Keyed by (runtime, signal); expired entries are purged on each add/remove.
struct HandlerRegistry {
  std::mutex mu;
  std::map<std::pair<const Runtime*, int>, std::weak_ptr<Handler>> entries;  // guarded by mu

  void purge_expired() {
    for (auto it = entries.begin(); it != entries.end();)
      it = it->second.expired() ? entries.erase(it) : std::next(it);
  }
};

HandlerRegistry& registry() {
  static HandlerRegistry* const r = new HandlerRegistry();  // used until exit: never destroyed
  return *r;
}

void report(int signo, const char* what) {
  std::fprintf(stderr, "weft: the handler of signal %d threw: %s (the handler stays installed)\n",
               signo, what);
}

Task<void> run_handler(std::shared_ptr<Handler> handler) {
  std::shared_ptr<Handler> h = std::move(handler);
  for (;;) {
    try {
      co_await h->stream.recv();
    } catch (const ClosedError&) {
      co_return;  // removed or replaced
    }
    try {
      h->callback();
    } catch (const std::exception& e) {
      report(h->stream.signo(), e.what());
    } catch (const weft::CancelledError&) {
      throw;
    } catch (...) {
      report(h->stream.signo(), "an exception that is not a std::exception");
    }
  }
}

}  // namespace

void add_signal_handler(int signo, std::function<void()> callback) {
  Runtime& rt = Runtime::current();
  // Listening starts now, not when the task first runs.
  auto h = std::make_shared<Handler>(SignalStream(signo), std::move(callback));
  HandlerRegistry& r = registry();
  std::shared_ptr<Handler> old;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.purge_expired();
    std::weak_ptr<Handler>& slot = r.entries[{&rt, signo}];
    old = slot.lock();
    slot = h;
  }
  if (old) old->stream.close();
  rt.spawn(run_handler(std::move(h)), "weft signal handler").detach();
}

bool remove_signal_handler(int signo) {
  Runtime& rt = Runtime::current();
  HandlerRegistry& r = registry();
  std::shared_ptr<Handler> old;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.purge_expired();
    auto it = r.entries.find({&rt, signo});
    if (it == r.entries.end()) return false;
    old = it->second.lock();
    r.entries.erase(it);
  }
  if (!old) return false;
  old->stream.close();
  return true;
}

}  // namespace weft::io

// Thread: how core/ starts an OS thread (workers, blocking-pool threads,
// ThreadPool threads). A std::thread with a name in a normal build; in the
// model-checking build (WEFT_MODEL), a thread started inside a model execution
// is a model thread, run one step at a time by the model scheduler.
#pragma once

#include <pthread.h>

#include <thread>
#include <utility>

#ifdef WEFT_MODEL
#include <functional>

#include "model/execution.hpp"
#endif

namespace weft::detail {

class Thread {
 public:
  Thread() noexcept = default;
  /// Starts `fn` on a new thread named `name` (at most 15 characters are kept).
  /// Throws std::system_error if the thread cannot be created.
  template <class F>
  Thread(F&& fn, const char* name) {
#ifdef WEFT_MODEL
    if (model::in_execution()) {
      model_ = model::spawn(std::function<void()>(std::forward<F>(fn)), name);
      return;
    }
#endif
    os_ = std::thread(std::forward<F>(fn));
    pthread_setname_np(os_.native_handle(), name);
  }
  Thread(Thread&& o) noexcept {
    *this = std::move(o);
  }
  Thread& operator=(Thread&& o) noexcept {
    os_ = std::move(o.os_);
#ifdef WEFT_MODEL
    model_ = std::exchange(o.model_, nullptr);
#endif
    return *this;
  }
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  bool joinable() const noexcept {
#ifdef WEFT_MODEL
    if (model_) return true;
#endif
    return os_.joinable();
  }
  void join() {
#ifdef WEFT_MODEL
    if (model_) return model::join(std::exchange(model_, nullptr));
#endif
    os_.join();
  }
  /// Lets the thread run on unjoined (a model thread still ends within its execution).
  void detach() {
#ifdef WEFT_MODEL
    if (model_) {
      model_ = nullptr;
      return;
    }
#endif
    os_.detach();
  }

 private:
  std::thread os_;
#ifdef WEFT_MODEL
  model::ModelThread* model_ = nullptr;
#endif
};

}  // namespace weft::detail

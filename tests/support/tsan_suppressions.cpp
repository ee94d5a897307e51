// ThreadSanitizer suppressions, compiled into every test binary of a TSan
// build (so they apply whether a test runs under CTest or by hand). Only
// third-party code TSan cannot see through is suppressed:
//
// - moodycamel::ConcurrentQueue recycles its blocks through a free list
//   ordered by standalone fences, which TSan does not model: it reports the
//   slot write of a new enqueue against the read of an old dequeue in the same
//   recycled block. Upstream: https://github.com/cameron314/concurrentqueue/
//   issues/254 (open), #49 and #62. weft never relies on moodycamel to order its
//   own data: a task taken from the inject queue is acquired through its state
//   word.
// - std::exception_ptr counts its references inside libstdc++.so, which is not
//   instrumented: freeing an exception on one worker after another read it
//   looks like a race although the count's atomics order them.
#if defined(WEFT_TSAN)
extern "C" const char* __tsan_default_suppressions() {
  return "race:moodycamel::ConcurrentQueue\n"
         "race:std::__exception_ptr::exception_ptr::_M_release\n";
}
#endif

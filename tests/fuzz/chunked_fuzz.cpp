// libFuzzer target for weft::http's chunked decoder (tools/fuzz.sh builds and runs
// it with clang -fsanitize=fuzzer,address,undefined). The property is in
// chunked_check.hpp; a violation aborts with its description, and the input
// then belongs in tests/fuzz/regressions/chunked/.
#include <cstdio>
#include <cstdlib>

#include "chunked_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string problem = weft::fuzz::check_chunked(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "chunked decoder property violated: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}

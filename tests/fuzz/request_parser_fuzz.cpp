// libFuzzer target for weft::http's request parser (tools/fuzz.sh builds and runs
// it with clang -fsanitize=fuzzer,address,undefined). The property is in
// request_parser_check.hpp; a violation aborts with its description, and the input
// then belongs in tests/fuzz/regressions/request_parser/.
#include <cstdio>
#include <cstdlib>

#include "request_parser_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string problem = weft::fuzz::check_request_parser(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "request parser property violated: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}

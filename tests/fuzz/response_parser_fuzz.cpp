// libFuzzer target for weft::http::ResponseParser (tools/fuzz.sh builds and
// runs it with clang -fsanitize=fuzzer,address). The property is in
// response_parser_check.hpp; a violation aborts with its description, and
// the input then belongs in tests/fuzz/regressions/response_parser/.
#include <cstdio>
#include <cstdlib>

#include "response_parser_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string problem = weft::fuzz::check_response_parser(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "response parser property violated: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}

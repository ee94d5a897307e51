#!/usr/bin/env bash
# Fuzzes weft's HTTP parsers with libFuzzer, each for a bounded time.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]      (default 60 s; every target)
#
# Targets (tests/fuzz/<target>_fuzz.cpp, their properties in <target>_check.hpp):
#   response_parser   the client's ResponseParser
#   request_parser    the server's RequestParser
#   chunked           the ChunkedDecoder both share
# Each property parses its input twice, all at once and split into pieces,
# and the two runs must agree. Each target is built with clang
# -fsanitize=fuzzer,address,undefined (clang and its runtime come from
# tools/scripts/deps.sh --fuzz when missing) into build/fuzz/, then run on a
# working copy of its seed corpus (build/fuzz/corpus/<target>: it grows
# between runs; tests/fuzz/corpus stays as it is). A finding stops the run
# and leaves its input in build/fuzz/artifacts/<target>/; fix the parser,
# then copy the input to tests/fuzz/regressions/<target>/ (the io tests
# replay every file there). tools/run-tests.sh runs every target for a few
# seconds (FUZZ_SECONDS).
# Env: JOBS (parallel fuzzing processes per target, default 1; their logs go
# to build/fuzz/logs/<target>/), CXX (default clang++).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: tools/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(response_parser request_parser chunked)
cxx="${CXX:-clang++}"
command -v "$cxx" >/dev/null 2>&1 || "$root/tools/scripts/deps.sh" --fuzz
jobs="${JOBS:-1}"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: JOBS must be a positive number" >&2; exit 2; }
out="$root/build/fuzz"

# Each parser is pure code: its sources and the harness, nothing else.
sources_of() {
  case "$1" in
    response_parser) echo io/src/http_response_parser.cpp io/src/http_chunked.cpp io/src/http_headers.cpp ;;
    request_parser) echo io/src/http_request_parser.cpp io/src/http_chunked.cpp io/src/http_headers.cpp \
                         io/src/http_message.cpp ;;
    chunked) echo io/src/http_chunked.cpp io/src/http_headers.cpp ;;
    *) echo "fuzz: unknown target $1 (response_parser, request_parser, chunked)" >&2; exit 2 ;;
  esac
}

for t in "${targets[@]}"; do
  read -r -a srcs <<<"tests/fuzz/${t}_fuzz.cpp $(sources_of "$t")"
  bin="$out/${t}_fuzz"
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t" "$out/logs/$t"
  newest=$(cd "$root" && ls -t "${srcs[@]}" "tests/fuzz/${t}_check.hpp" io/include/weft/http/*.hpp | head -1)
  if [[ ! -x $bin || "$root/$newest" -nt $bin ]]; then
    echo "fuzz: building $bin" >&2
    (cd "$root" && "$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined \
      -fno-sanitize-recover=undefined -Iio/include "${srcs[@]}" -o "$bin")
  fi
  cp -n "$root/tests/fuzz/corpus/$t"/* "$out/corpus/$t/" 2>/dev/null || true
  args=(-max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/")
  echo "fuzz: $t for ${seconds} s (corpus $out/corpus/$t)" >&2
  if (( jobs > 1 )); then
    echo "fuzz: $jobs jobs; their logs are in $out/logs/$t/fuzz-N.log" >&2
    args+=(-jobs="$jobs" -workers="$jobs")
  fi
  # libFuzzer writes each job's log (fuzz-N.log) to the current directory:
  # run in build/fuzz/logs/<target> so they never land in the source tree.
  (cd "$out/logs/$t" && "$bin" "${args[@]}" "$out/corpus/$t" "$root/tests/fuzz/regressions/$t")
done

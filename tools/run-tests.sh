#!/usr/bin/env bash
# The whole test suite: installs what is missing, then
#   1. release build: every label (unit, stress, io, examples);
#   2. ThreadSanitizer build: unit + stress + io;
#   3. AddressSanitizer + UBSan (+ LeakSanitizer) build: unit + stress + io;
#   4. model-checking build (core/ and sync/ under the model scheduler, ASan +
#      UBSan): the model tests, a fixed number of schedules each;
#   5. the HTTP parsers' libFuzzer targets, FUZZ_SECONDS (default 10) each
#      (tools/fuzz.sh: response parser, request parser, chunked decoder).
# Exits non-zero on the first failing step. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tools/scripts/deps.sh
jobs=$(nproc)
for preset in release tsan asan model; do
  echo "=== weft: $preset build" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$jobs"
  echo "=== weft: $preset tests" >&2
  ctest --preset "$preset" -j"$jobs"
done
fuzz_seconds="${FUZZ_SECONDS:-10}"
echo "=== weft: fuzzing the HTTP parsers, ${fuzz_seconds} s each" >&2
tools/scripts/deps.sh --fuzz
tools/fuzz.sh "$fuzz_seconds"
echo "=== weft: all tests passed (release, tsan, asan, model, fuzz)" >&2

#!/usr/bin/env bash
# Installs the weft build tree BUILD into a scratch prefix, then configures,
# builds and runs tests/install/consumer against it with find_package(weft);
# then builds the same program with weft added by add_subdirectory
# (tests/install/subdir_consumer).
set -euo pipefail
build=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$src/consumer" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/build" >/dev/null
"$scratch/build/consumer"
cmake -S "$src/subdir_consumer" -B "$scratch/subdir" -DWEFT_SOURCE_DIR="$src/../.." \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$scratch/subdir" -j"$(nproc)" >/dev/null
"$scratch/subdir/consumer"

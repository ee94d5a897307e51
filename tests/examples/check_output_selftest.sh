#!/usr/bin/env bash
# check_output's own test: each case gives an expected file, the lines a
# program prints and the exit status check_output must return (0: matches,
# 1: does not, 2: a malformed expected file).
#   check_output_selftest.sh CHECK_OUTPUT
set -euo pipefail
check="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
failures=0

# case NAME WANT_STATUS EXPECTED_TEXT OUTPUT_TEXT
case_() {
  printf '%s' "$3" >"$dir/expected.txt"
  printf '%s' "$4" >"$dir/output.txt"
  local got=0
  "$check" "$dir/expected.txt" cat "$dir/output.txt" >/dev/null 2>&1 || got=$?
  if [ "$got" != "$2" ]; then
    echo "FAIL $1: check_output returned $got, expected $2"
    failures=$((failures + 1))
  else
    echo "ok   $1"
  fi
}

two_seqs=$'@interleave\nstart 0\nstart 1\n@and\nend 0\nend 1\n@end\n'
case_ exact-match 0 $'a\nb\n' $'a\nb\n'
case_ exact-mismatch 1 $'a\nb\n' $'b\na\n'
case_ interleave-any 0 "$two_seqs" $'end 0\nstart 0\nstart 1\nend 1\n'
case_ interleave-own-order 1 "$two_seqs" $'start 1\nstart 0\nend 0\nend 1\n'
case_ order-kept 0 "$two_seqs@order start 0 < end 0"$'\n' $'start 0\nend 0\nstart 1\nend 1\n'
case_ order-broken 1 "$two_seqs@order start 0 < end 0"$'\n' $'end 0\nstart 0\nstart 1\nend 1\n'
case_ order-second-broken 1 "$two_seqs@order start 0 < end 0"$'\n'"@order end 0 < start 1"$'\n' \
  $'start 0\nstart 1\nend 0\nend 1\n'
case_ order-regex 0 "$two_seqs@order ~start [0-9] < ~end [0-9]"$'\n' $'start 0\nstart 1\nend 0\nend 1\n'
case_ order-missing-line 1 "$two_seqs@order start 0 < end 7"$'\n' $'start 0\nstart 1\nend 0\nend 1\n'
case_ order-outside-block 1 $'x\n@unordered\na\nb\n@end\n@order x < a\n' $'x\nb\na\n'
case_ order-unordered 1 $'@unordered\na\nb\n@end\n@order a < b\n' $'b\na\n'
case_ order-without-block 2 $'a\n@order a < a\n' $'a\n'
case_ order-without-separator 2 "$two_seqs@order start 0 end 0"$'\n' $'start 0\nstart 1\nend 0\nend 1\n'
case_ extra-output 1 $'a\n' $'a\nb\n'

[ "$failures" -eq 0 ] || { echo "$failures check_output self-test case(s) failed"; exit 1; }
echo "all check_output self-test cases passed"

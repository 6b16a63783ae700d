#!/usr/bin/env bash
# Prints one summary line for a test log: adds up cargo test's "test result:" lines and the
# C tests' "N passed, N failed" lines.
#
#   scripts/test_summary.sh LABEL LOG [EXIT_STATUS]
#
# Prints "LABEL: P passed, F failed" (", I ignored" when any were) and exits non-zero if the
# log shows failures, no test at all, or EXIT_STATUS (the tests' own exit status) is non-zero.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 LABEL LOG [EXIT_STATUS]" >&2; exit 2; }
label=$1 log=$2 status=${3:-0}
read -r passed failed ignored < <(awk '
  /^test result: / {
    for (i = 1; i <= NF; i++) {
      if ($(i) ~ /^passed;?$/) p += $(i - 1)
      if ($(i) ~ /^failed;?$/) f += $(i - 1)
      if ($(i) ~ /^ignored;?$/) g += $(i - 1)
    }
  }
  /^[0-9]+ passed, [0-9]+ failed$/ { p += $1; f += $3 }
  END { print p + 0, f + 0, g + 0 }' "$log")
extra=
[ "$ignored" -gt 0 ] && extra=", $ignored ignored"
if [ "$status" != 0 ] || [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
  echo "$label: FAILED (exit $status): $passed passed, $failed failed$extra"
  exit 1
fi
echo "$label: $passed passed, $failed failed$extra"

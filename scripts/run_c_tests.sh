#!/usr/bin/env bash
# Runs C test binaries, each against its own test server (scripts/with_server.sh): once
# natively, then again under valgrind memcheck with fewer requests and looser time limits.
#
#   scripts/run_c_tests.sh build/c/test_basic build/c/test_errors ...
#
# A binary passes if it exits 0 and its last line is "N passed, 0 failed". Under valgrind it
# must also report no memory errors and no definite leaks ("possibly lost" blocks from the
# Rust runtime's globals are not errors). Without valgrind the second pass is skipped with a
# message (CI installs valgrind).
#
# Environment: HTTPRING_TESTSERVER (server binary), VALGRIND=0 to skip the valgrind pass,
# HTTPRING_VALGRIND_SCALE (default 0.5) and HTTPRING_VALGRIND_SLOW (default 10),
# C_TESTS_LABEL (default "C tests") names the run in its closing lines.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || { echo "usage: $0 TEST_BINARY..." >&2; exit 2; }

label_all=${C_TESTS_LABEL:-C tests}
failures=()
binaries=0
checks=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run LABEL CMD...: runs CMD under a fresh server, shows its output, checks the summary.
run() {
  local label=$1; shift
  local start=$SECONDS rc
  echo "=== $label"
  "$here/with_server.sh" -- "$@" >"$log" 2>&1
  rc=$?
  cat "$log"
  local summary
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  if [ $rc -ne 0 ]; then
    failures+=("$label (exit $rc)")
  elif ! [[ "$summary" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
    failures+=("$label (no clean summary line)")
  fi
  binaries=$((binaries + 1))
  local n=${summary%% *}
  checks=$((checks + ${n:-0}))
  echo "=== $label: exit $rc, $((SECONDS - start)) s"
}

for bin in "$@"; do
  run "$(basename "$bin")" "$bin"
done

if [ "${VALGRIND:-1}" = 0 ]; then
  echo "valgrind pass skipped (VALGRIND=0)"
elif ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind is not installed: skipping the valgrind pass (CI installs it)"
else
  export HTTPRING_TEST_SCALE="${HTTPRING_VALGRIND_SCALE:-0.5}"
  export HTTPRING_TEST_SLOW="${HTTPRING_VALGRIND_SLOW:-10}"
  for bin in "$@"; do
    run "valgrind $(basename "$bin")" \
      valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
        --errors-for-leak-kinds=definite --track-fds=no "$bin"
  done
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo "$label_all FAILED:"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
echo "$label_all: all passed ($binaries runs, $checks checks)"

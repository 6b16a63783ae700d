#!/usr/bin/env bash
# Runs the Zig binding's tests (bindings/zig: `zig build test`) with the given build flags
# and ends with a plain "zig: N passed, N failed, N skipped" line from Zig's build summary.
# Needs HTTPRING_TEST_URL for the integration tests (run it under scripts/with_server.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
zig=${ZIG:-python3 -m ziglang}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cd "$here/bindings/zig"
$zig build test --summary all "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
awk '/^Build Summary:/ && / tests passed/ {
  line = $0; sub(/.*; /, "", line)            # "P/T tests passed (S skipped, F failed)"
  split(line, w, /[\/ ]/); passed = w[1]; total = w[2]
  skipped = 0; if (match(line, /[0-9]+ skipped/)) skipped = substr(line, RSTART, RLENGTH) + 0
  printf "zig: %d passed, %d failed, %d skipped\n", passed, total - passed - skipped, skipped
}' "$log"
exit "$rc"

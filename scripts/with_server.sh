#!/usr/bin/env bash
# Runs a command with the project's test server listening on 127.0.0.1.
# Exports HTTPRING_TEST_URL=http://127.0.0.1:PORT for the command; stops the server after.
# Extra server flags go before `--`: scripts/with_server.sh --delay-ms 50 -- cmd args...
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
server="${HTTPRING_TESTSERVER:-$here/target/release/examples/testserver}"
flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
out=$(mktemp)
"$server" "${flags[@]}" >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 100); do
  grep -q '^LISTENING' "$out" && break
  kill -0 $pid 2>/dev/null || { echo "test server exited" >&2; exit 1; }
  sleep 0.05
done
port=$(awk '/^LISTENING/ {print $2}' "$out")
[ -n "$port" ] || { echo "test server did not start" >&2; exit 1; }
export HTTPRING_TEST_URL="http://127.0.0.1:$port"
"$@"

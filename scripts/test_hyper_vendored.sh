#!/usr/bin/env bash
# hyper's own unit tests on the vendored, patched copy (vendor/hyper): the patches must keep
# hyper's behaviour. The published crate ships src/ only (no tests/ directory), so these are
# the #[cfg(test)] modules in src/ (h1 parsing/encoding, dispatch, body channel, headers, ...),
# then the doc tests (a few seconds; HYPER_DOCTESTS=0 skips them).
#
#   scripts/test_hyper_vendored.sh         (make test-hyper-vendored)
#
# Runs in a scratch copy (vendor/ stays clean): build/hyper-vendored/tree, with its target/
# beside it kept between runs. Features: httpring's (client, http1, http2) plus server, which
# httpring's tests use and most of hyper's h1 tests need, i.e. hyper's "full". The copy's
# Cargo.lock starts from httpring's, so tokio, h2, http, bytes, ... are the versions httpring
# builds with; hyper's dev-dependencies resolve from crates.io.
# Environment: HYPER_VENDORED_DIR (scratch), HYPER_DOCTESTS=0, CARGO.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
scratch=${HYPER_VENDORED_DIR:-$root/build/hyper-vendored}
tree=$scratch/tree
features=full
start=$SECONDS

rm -rf "$tree" && mkdir -p "$scratch/target"
cp -a "$root/vendor/hyper" "$tree"
cp "$root/Cargo.lock" "$tree/Cargo.lock"
# Its own workspace, wherever the scratch directory is.
printf '\n[workspace]\n' >>"$tree/Cargo.toml"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$tree/Cargo.toml" | head -n 1)

cd "$tree"
export CARGO_TARGET_DIR=$scratch/target
log=$scratch/test.log
echo "=== hyper $version (vendored, patched): cargo test --lib --features $features"
"$cargo" test --lib --features "$features" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ] && [ "${HYPER_DOCTESTS:-1}" = 1 ]; then
  echo "=== hyper $version: cargo test --doc --features $features"
  "$cargo" test --doc --features "$features" 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
fi
echo "test-hyper-vendored: hyper $version (patched) unit tests, $((SECONDS - start)) s"
"$root/scripts/test_summary.sh" test-hyper-vendored "$log" "$rc"

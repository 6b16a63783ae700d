"""Builds the Rust library with cargo and ships it inside the package.

In the httpring repository (bindings/python) the crate is the repository root, two levels
up; in an sdist it is rust/ beside this file (the sdist command copies what cargo needs
there). The build runs `cargo build --release --lib` in the crate (honouring
CARGO_TARGET_DIR). Set HTTPRING_LIB to a built libhttpring.so to package that instead
(`make wheel` does, with the library `make build` made). Everything else is in pyproject.toml.
"""

import os
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
LIB_NAME = "libhttpring.so"
# What `cargo build --release --lib` reads, relative to the crate; the sdist carries these
# under rust/. vendor/ holds the patched hyper Cargo.toml's [patch] points at.
CRATE_FILES = ("Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "src", "include", "vendor")
CRATE_IGNORE = shutil.ignore_patterns("target", "__pycache__", "*.orig", "*.rej", "*.swp")


def crate_dir() -> str:
    """The Rust crate: rust/ in an unpacked sdist, else the repository root."""
    bundled = os.path.join(HERE, "rust")
    if os.path.isfile(os.path.join(bundled, "Cargo.toml")):
        return bundled
    return ROOT


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
    crate = crate_dir()
    if not os.path.isfile(os.path.join(crate, "Cargo.toml")):
        raise RuntimeError(
            f"no Cargo.toml at {crate}: build from a checkout of the httpring repository "
            "(pip install ./bindings/python) or from its sdist, or set HTTPRING_LIB"
        )
    subprocess.run([_cargo(), "build", "--release", "--lib"], cwd=crate, check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or "target"
    return os.path.join(crate, target, "release", LIB_NAME)


class BuildPyWithLibrary(build_py):
    def run(self) -> None:
        super().run()
        dest = os.path.join(self.build_lib, "httpring", LIB_NAME)
        self.mkpath(os.path.dirname(dest))
        self.copy_file(library(), dest)


class SdistWithCrate(sdist):
    """The sdist also carries the Rust crate (CRATE_FILES, under rust/), so that building
    it runs cargo on the same sources; never target/ or other build output."""

    def make_release_tree(self, base_dir: str, files: list) -> None:
        super().make_release_tree(base_dir, files)
        crate = crate_dir()
        for name in CRATE_FILES:
            src, dest = os.path.join(crate, name), os.path.join(base_dir, "rust", name)
            if os.path.isdir(src):
                shutil.copytree(src, dest, ignore=CRATE_IGNORE)
            elif os.path.isfile(src):
                self.mkpath(os.path.dirname(dest))
                self.copy_file(src, dest)
            else:
                raise RuntimeError(f"{src} missing: the sdist needs it to build the library")


cmdclass = {"build_py": BuildPyWithLibrary, "sdist": SdistWithCrate}


class BinaryDistribution(Distribution):
    """A wheel holding a native library is platform-specific, not pure Python: the package
    installs to platlib (the wheel's root is not purelib), where auditwheel looks for ELF files."""

    def has_ext_modules(self) -> bool:
        return True


try:
    try:
        from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
    except ImportError:
        from wheel.bdist_wheel import bdist_wheel as _bdist_wheel

    class BdistWheel(_bdist_wheel):
        def get_tag(self):
            # ctypes only: any Python 3, no ABI tag, this platform.
            return ("py3", "none", super().get_tag()[2])

    cmdclass["bdist_wheel"] = BdistWheel
except ImportError:
    pass

setup(cmdclass=cmdclass, distclass=BinaryDistribution)

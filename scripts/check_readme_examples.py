#!/usr/bin/env python3
"""Runs the code examples of the READMEs as tests, so that they never go stale (`make
test-readme`, part of `make test`).

Each fenced block tagged python, c or zig is run against the project's test server on
127.0.0.1 (started here, from $HTTPRING_TESTSERVER), with the library in $HTTPRING_LIB:

- python: run with `python3` in a scratch directory (PYTHONPATH: the binding's src/),
  after an `import httpring` (a README imports it once, in its first example). A
  block with a top-level `await` / `async with` / `async for` runs as one coroutine under
  asyncio.run, as the asyncio REPL would.
- c: a block with `main` is a program: compiled with the project's CFLAGS against
  include/httpring.h, linked to the library, run. A block without is a fragment: put into
  C_FRAGMENT_MAIN below, which gives it `client` (a client with one request in flight to the
  test server) and `outstanding` (1), and then run too.
- zig: a block with `pub fn main` is a program: built with bindings/zig's build.zig
  (`zig build readme -Dreadme-example=FILE`, the `httpring` module imported) and run. A
  block without is a fragment: put into ZIG_FRAGMENT_MAIN, which gives it the same
  `client` and `outstanding` as C's (and `std`, `httpring`).

Other blocks (sh, cmake, text) are not run. A block that cannot run is marked in the README
by an HTML comment on the line before its fence, which the rendered page does not show:

    <!-- not run: REASON -->        skipped, and listed with the reason
    <!-- compile only: REASON -->   c and zig: compiled and linked, not run; python: compiled

A python, c or zig block that is neither runnable nor marked fails the check.

URLs: every URL in a block is rewritten to the test server before it runs, and a URL that
cannot be is an error: http://127.0.0.1:PORT/PATH and http://localhost:PORT/PATH keep
their path; other URLs (and paths the test server lacks) are mapped in URL_MAP. Nothing is
sent anywhere but 127.0.0.1. The scratch directory holds the files the examples open
(FIXTURES). Ends with "readme: N passed, N failed, N skipped".
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
READMES = ["README.md", "bindings/python/README.md", "bindings/zig/README.md"]
LANGS = ("python", "c", "zig")
TIMEOUT = 60
# A cold Zig cache compiles the build runner and std first: minutes on two cores.
ZIG_TIMEOUT = 900

# README URL (exact) -> path on the test server. Checked before the generic 127.0.0.1 rule.
URL_MAP: Dict[str, str] = {
    "https://example.com/big.iso": "/stream/3000000",   # a large download
    "https://example.com/login": "/cookies/set?sid=abc123",
    "https://example.com/account": "/cookies",
    "http://127.0.0.1:8000/slow": "/delay/3000",        # slower than the example's 1 s
    "http://127.0.0.1:8000/events": "/events/3/20",     # server-sent events
    "http://127.0.0.1:8080/events/10/200": "/events/3/20",
    "http://127.0.0.1:8080/a": "/hello",
    "http://127.0.0.1:8080/b": "/json",
}
LOCAL = re.compile(r"^https?://(?:127\.0\.0\.1|localhost)(?::\d+)?(/.*)?$")
URL = re.compile(r"""\b[a-z][a-z0-9+.-]*://[^\s"'`<>)\\]+""")
# Schemes that are not requests to make (proxies, Unix sockets) are left alone when local.
NOT_REQUESTS = re.compile(r"^(socks5h?|unix)://127\.0\.0\.1(:\d+)?/?$")

# Files the examples open, made in the scratch directory. ca.pem: any CA certificate.
FIXTURES = {
    "report.csv": "id,name\n1,a\n2,b\n",
}

C_FRAGMENT_MAIN = """\
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include "httpring.h"

int main(void) {
    httpring_client *client = httpring_client_new(NULL);
    httpring_handle first;
    if (!client || httpring_client_get(client, getenv("HTTPRING_TEST_URL"), 1, &first) != HTTPRING_OK)
        return 2;
    size_t outstanding = 1;
    { /* the README's fragment */
#line %(line)d "%(file)s"
%(code)s
    }
    size_t live = 1;
    httpring_client_live_handles(client, &live);
    httpring_client_free(client);
    return (outstanding == 0 && live == 0) ? 0 : 3;
}
"""

ZIG_FRAGMENT_MAIN = """\
const std = @import("std");
const httpring = @import("httpring");

pub fn main() !void {
    var client = try httpring.Client.init(.{});
    defer client.deinit();
    var first = try client.get("%(url)s/hello");
    var outstanding: usize = 1;
    _ = .{ &first, &outstanding };
    { // the README's fragment (%(where)s)
%(code)s
    }
}
"""

# A top-level await makes the block one coroutine (compile flag of the asyncio REPL).
PY_RUNNER = """\
import ast, asyncio, inspect, sys, types
path = sys.argv[1]
src = open(path, encoding="utf-8").read()
code = compile(src, path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
main = types.ModuleType("__main__")
main.__file__ = path
sys.modules["__main__"] = main
if code.co_flags & inspect.CO_COROUTINE:
    asyncio.run(eval(code, main.__dict__))
else:
    exec(code, main.__dict__)
"""


@dataclass
class Block:
    file: str
    line: int  # of the first code line
    lang: str
    code: str
    mark: Optional[Tuple[str, str]]  # ("not run" | "compile only", reason)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


MARK = re.compile(r"<!--\s*(not run|compile only)\s*:\s*(.*?)\s*-->")


def blocks(path: str) -> List[Block]:
    rel = os.path.relpath(path, ROOT)
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        mm = MARK.search(prev)
        out.append(Block(rel, start + 2, lang, "\n".join(lines[start + 1 : j]) + "\n",
                         (mm.group(1), mm.group(2)) if mm else None))
        i = j + 1
    return out


def rewrite_urls(b: Block, base: str) -> str:
    def sub(m: re.Match) -> str:
        url = m.group(0)
        if url in URL_MAP:
            return base + URL_MAP[url]
        if NOT_REQUESTS.match(url):
            return url
        local = LOCAL.match(url)
        if local:
            return base + (local.group(1) or "/")
        raise ValueError(f"{b.where}: URL {url} is not on 127.0.0.1 and not in URL_MAP")

    return URL.sub(sub, b.code)


class Server:
    def __init__(self, path: str) -> None:
        self.proc = subprocess.Popen([path], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("LISTENING"):
            self.proc.kill()
            raise SystemExit(f"test server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


class Runner:
    def __init__(self, args: argparse.Namespace, server: Server, scratch: str) -> None:
        self.args = args
        self.server = server
        self.scratch = scratch
        self.lib_dir = os.path.dirname(os.path.abspath(args.lib))
        self.env = dict(os.environ, HTTPRING_LIB=os.path.abspath(args.lib),
                        HTTPRING_TEST_URL=server.url,
                        PYTHONPATH=os.path.join(ROOT, "bindings", "python", "src"))
        self.n = 0

    def run(self, cmd: List[str], what: str, cwd: Optional[str] = None,
            timeout: int = TIMEOUT) -> Optional[str]:
        """None on success, else the reason."""
        try:
            p = subprocess.run(cmd, cwd=cwd or self.scratch, env=self.env, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"{what}: timed out after {timeout} s"
        if p.returncode != 0:
            return f"{what}: exit {p.returncode}\n{p.stdout[-3000:]}{p.stderr[-3000:]}"
        if "Warning:" in p.stderr:  # e.g. a coroutine never awaited, an unclosed file
            return f"{what}: warned\n{p.stderr[-3000:]}"
        if self.args.verbose and p.stdout.strip():
            print("  | " + p.stdout.strip().replace("\n", "\n  | "))
        return None

    def check(self, b: Block) -> Optional[str]:
        self.n += 1
        name = f"ex{self.n}"
        code = rewrite_urls(b, self.server.url)
        compile_only = b.mark is not None and b.mark[0] == "compile only"
        if b.lang == "python":
            src = os.path.join(self.scratch, name + ".py")
            with open(src, "w", encoding="utf-8") as f:
                # Line numbers as in the README; `import httpring` as the first block did.
                f.write("\n" * (b.line - 2) + "import httpring\n" + code)
            if compile_only:
                return self.run([sys.executable, "-c", "import ast, sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec', flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)", src], "compile")
            return self.run([sys.executable, "-c", PY_RUNNER, src], "run")
        if b.lang == "c":
            if re.search(r"\bint\s+main\s*\(", code):
                text = f'#line {b.line} "{b.file}"\n' + code
            else:
                text = C_FRAGMENT_MAIN % {"line": b.line, "file": b.file, "code": code}
            src = os.path.join(self.scratch, name + ".c")
            exe = os.path.join(self.scratch, name)
            with open(src, "w", encoding="utf-8") as f:
                f.write(text)
            cc = os.environ.get("CC", "cc")
            cflags = os.environ.get("CFLAGS", "-O2 -g -Wall -Wextra -Werror -std=c11 -D_POSIX_C_SOURCE=200809L").split()
            err = self.run([cc, *cflags, "-o", exe, src, "-I" + os.path.join(ROOT, "include"),
                            "-L" + self.lib_dir, "-Wl,-rpath," + self.lib_dir, "-lhttpring", "-lpthread"], "cc")
            if err or compile_only:
                return err
            return self.run([exe], "run")
        if b.lang == "zig":
            if not re.search(r"\bpub\s+fn\s+main\s*\(", code):
                code = ZIG_FRAGMENT_MAIN % {"url": self.server.url, "where": b.where, "code": code}
            src = os.path.join(self.scratch, name + ".zig")
            with open(src, "w", encoding="utf-8") as f:
                f.write(code)
            zig = os.environ.get("ZIG", f"{sys.executable} -m ziglang").split()
            step = "readme-build" if compile_only else "readme"
            return self.run([*zig, "build", step, "-Dreadme-example=" + src, "-Dlib-dir=" + self.lib_dir,
                             "-Dinclude-dir=" + os.path.join(ROOT, "include")], "zig build",
                            cwd=os.path.join(ROOT, "bindings", "zig"), timeout=ZIG_TIMEOUT)
        raise AssertionError(b.lang)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", default=[os.path.join(ROOT, f) for f in READMES])
    ap.add_argument("--lib", default=os.environ.get("HTTPRING_LIB") or os.path.join(ROOT, "target/release/libhttpring.so"))
    ap.add_argument("--testserver", default=os.environ.get("HTTPRING_TESTSERVER") or os.path.join(ROOT, "target/release/examples/testserver"))
    ap.add_argument("--lang", action="append", choices=LANGS, help="only these languages (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show each example's output")
    args = ap.parse_args()
    for path in (args.lib, args.testserver):
        if not os.path.exists(path):
            print(f"readme: {path} missing (make build)", file=sys.stderr)
            return 2
    todo = [b for f in args.files for b in blocks(f) if b.lang in LANGS
            and (not args.lang or b.lang in args.lang)]
    passed, failed, skipped = 0, [], 0
    server = Server(args.testserver)
    scratch = tempfile.mkdtemp(prefix="readme-examples-")
    try:
        for name, content in FIXTURES.items():
            with open(os.path.join(scratch, name), "w") as f:
                f.write(content)
        ca = _any_ca_pem()
        if ca:
            shutil.copy(ca, os.path.join(scratch, "ca.pem"))
        runner = Runner(args, server, scratch)
        for b in todo:
            if b.mark and b.mark[0] == "not run":
                print(f"skip  {b.where} ({b.lang}): {b.mark[1]}")
                skipped += 1
                continue
            t = time.monotonic()
            try:
                err = runner.check(b)
            except ValueError as e:
                err = str(e)
            kind = "compile" if b.mark else "run"  # (a "not run" mark was skipped above)
            if err:
                print(f"FAIL  {b.where} ({b.lang}, {kind}): {err}")
                failed.append(b.where)
            else:
                print(f"ok    {b.where} ({b.lang}, {kind}, {time.monotonic() - t:.1f} s)")
                passed += 1
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    if failed:
        print("failed: " + ", ".join(failed))
    print(f"readme: {passed} passed, {len(failed)} failed, {skipped} skipped")
    return 1 if failed else 0


def _any_ca_pem() -> Optional[str]:
    """A CA certificate for `verify="ca.pem"` examples: pytest-httpbin's, else the system's."""
    try:
        import pytest_httpbin.certs  # type: ignore[import-untyped]

        return str(pytest_httpbin.certs.where())
    except Exception:
        import ssl

        p = ssl.get_default_verify_paths().cafile
        return p if p and os.path.exists(p) else None


if __name__ == "__main__":
    sys.exit(main())

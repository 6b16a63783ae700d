"""Upload a body produced on the fly (a generator, or an async generator with --async),
sent as it is produced: the process never holds it whole.

    python examples/python/upload.py                    # 64 MB to the local test server
    python examples/python/upload.py URL [--mb N] [--async] [--file PATH]

With no URL it starts the project's test server (target/release/examples/testserver, or
$HTTPRING_TESTSERVER) and posts to its /upload route, which answers with what it received
(length, FNV-1a hash, framing). ``--file PATH`` sends that file instead (read by the
engine from its descriptor). Prints the answer, the rate, and how much the process's
peak memory grew (Linux).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import AsyncIterator, Iterator, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

try:
    import httpring
except ImportError:  # running from a checkout without `pip install ./bindings/python`
    sys.path.insert(0, os.path.join(REPO, "bindings", "python", "src"))
    import httpring

CHUNK = bytes(range(256)) * 256  # 64 KiB


def start_test_server() -> "tuple[subprocess.Popen[str], str]":
    path = os.environ.get("HTTPRING_TESTSERVER") or os.path.join(
        REPO, "target", "release", "examples", "testserver"
    )
    if not os.path.exists(path):
        sys.exit(f"{path} not found: run `make build`, or pass a URL")
    proc = subprocess.Popen([path], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("LISTENING"):
        proc.kill()
        sys.exit(f"test server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}/upload"


def peak_rss() -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def chunks(n: int) -> Iterator[bytes]:
    for _ in range(n):
        yield CHUNK  # made elsewhere: read from a socket, a database, a compressor...


async def achunks(n: int) -> AsyncIterator[bytes]:
    for i in range(n):
        if i % 64 == 0:
            await asyncio.sleep(0)  # other tasks run meanwhile
        yield CHUNK


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", nargs="?")
    ap.add_argument("--mb", type=int, default=64, help="megabytes to generate (default 64)")
    ap.add_argument("--async", dest="use_async", action="store_true", help="AsyncClient and an async generator")
    ap.add_argument("--file", help="send this file instead")
    args = ap.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_test_server()
    n = args.mb * 16
    try:
        before = peak_rss()
        t = time.perf_counter()
        if args.file:
            with httpring.Client() as client, open(args.file, "rb") as f:
                r = client.post(url, content=f)
            size = os.path.getsize(args.file)
        elif args.use_async:
            async def run() -> httpring.Response:
                async with httpring.AsyncClient() as client:
                    return await client.post(url, content=achunks(n))

            r = asyncio.run(run())
            size = n * len(CHUNK)
        else:
            with httpring.Client() as client:
                r = client.post(url, content=chunks(n))
            size = n * len(CHUNK)
        elapsed = time.perf_counter() - t
        after = peak_rss()
        print(r.status_code, r.http_version, r.text[:200])
        print(f"sent {size / 1e6:.1f} MB in {elapsed:.2f} s ({size / 1e6 / elapsed:.0f} MB/s)")
        if before is not None and after is not None:
            print(f"peak RSS grew by {(after - before) / (1 << 20):.1f} MiB")
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()

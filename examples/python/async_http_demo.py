"""Fetch several URLs concurrently with httpring.AsyncClient.

    python examples/python/async_http_demo.py                 # 4 pages of the local demo site
    python examples/python/async_http_demo.py URL [URL ...]   # any http:// URLs

With no URL it starts the project's test server (target/release/examples/testserver,
or $HTTPRING_TESTSERVER) serving its demo site with 50 ms per page, and fetches 4 pages.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

try:
    import httpring
except ImportError:  # running from a checkout without `pip install ./bindings/python`
    sys.path.insert(0, os.path.join(REPO, "bindings", "python", "src"))
    import httpring


def start_demo_server() -> "tuple[subprocess.Popen, str]":
    path = os.environ.get("HTTPRING_TESTSERVER") or os.path.join(
        REPO, "target", "release", "examples", "testserver"
    )
    if not os.path.exists(path):
        sys.exit(f"{path} not found: run `make build`, or pass URLs")
    proc = subprocess.Popen([path, "--delay-ms", "50", "--pages", "60"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("LISTENING"):
        proc.kill()
        sys.exit(f"test server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


async def fetch(client: httpring.AsyncClient, url: str) -> None:
    start = time.perf_counter()
    try:
        r = await client.get(url)
    except httpring.HTTPError as e:
        print(f"  {url}: {type(e).__name__}: {e}")
        return
    ms = (time.perf_counter() - start) * 1000
    print(f"  {r.status_code} {r.http_version} {len(r.content):7d} bytes {ms:7.1f} ms  {url}")


async def main(urls: "list[str]") -> None:
    async with httpring.AsyncClient(timeout=10.0) as client:
        start = time.perf_counter()
        await asyncio.gather(*(fetch(client, u) for u in urls))
        total = (time.perf_counter() - start) * 1000
    print(f"{len(urls)} requests concurrently in {total:.1f} ms")


if __name__ == "__main__":
    server = None
    urls = sys.argv[1:]
    if not urls:
        server, base = start_demo_server()
        urls = [f"{base}/site/{i}" for i in range(4)]
    try:
        asyncio.run(main(urls))
    finally:
        if server is not None:
            server.kill()
            server.wait()

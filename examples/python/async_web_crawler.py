"""Crawl a site twice, one page at a time and then concurrently, and print the speedup.

    python examples/python/async_web_crawler.py                  # the local demo site
    python examples/python/async_web_crawler.py URL [--concurrency 16] [--max-pages 100]

With no URL it starts the project's test server (target/release/examples/testserver,
or $HTTPRING_TESTSERVER) serving a 60-page demo site with 50 ms per page. Only links on
the start URL's origin are followed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from urllib.parse import urldefrag, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

try:
    import httpring
except ImportError:  # running from a checkout without `pip install ./bindings/python`
    sys.path.insert(0, os.path.join(REPO, "bindings", "python", "src"))
    import httpring

HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"'#]+)""", re.I)


def start_demo_server() -> "tuple[subprocess.Popen, str]":
    path = os.environ.get("HTTPRING_TESTSERVER") or os.path.join(
        REPO, "target", "release", "examples", "testserver"
    )
    if not os.path.exists(path):
        sys.exit(f"{path} not found: run `make build`, or pass a URL")
    proc = subprocess.Popen([path, "--delay-ms", "50", "--pages", "60"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("LISTENING"):
        proc.kill()
        sys.exit(f"test server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def links(base: str, response: httpring.Response) -> "list[str]":
    if "html" not in response.headers.get("content-type", ""):
        return []
    origin = urlsplit(base)[:2]
    out = []
    for href in HREF.findall(response.text):
        url = urldefrag(str(response.url.join(href)))[0]
        if urlsplit(url)[:2] == origin:
            out.append(url)
    return out


async def crawl(client: httpring.AsyncClient, start: str, concurrency: int, max_pages: int) -> "dict[str, int]":
    """Breadth-first with `concurrency` workers; returns {url: status}."""
    seen = {start}
    queue: "asyncio.Queue[str]" = asyncio.Queue()
    queue.put_nowait(start)
    pages: "dict[str, int]" = {}

    async def worker() -> None:
        while True:
            url = await queue.get()
            try:
                r = await client.get(url)
                pages[url] = r.status_code
                for link in links(start, r):
                    if link not in seen and len(seen) < max_pages:
                        seen.add(link)
                        queue.put_nowait(link)
            except httpring.HTTPError as e:
                pages[url] = 0
                print(f"  {url}: {type(e).__name__}: {e}")
            finally:
                queue.task_done()

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return pages


async def main(start: str, concurrency: int, max_pages: int) -> None:
    async with httpring.AsyncClient(timeout=10.0, follow_redirects=True) as client:
        t = time.perf_counter()
        sequential = await crawl(client, start, 1, max_pages)
        t_seq = time.perf_counter() - t
        print(f"sequential: {len(sequential):4d} pages in {t_seq * 1000:8.1f} ms")

        t = time.perf_counter()
        concurrent = await crawl(client, start, concurrency, max_pages)
        t_con = time.perf_counter() - t
        print(f"concurrent: {len(concurrent):4d} pages in {t_con * 1000:8.1f} ms ({concurrency} in flight)")
    ok = sum(1 for s in concurrent.values() if 200 <= s < 300)
    print(f"{ok} pages OK, same set both times: {set(sequential) == set(concurrent)}")
    print(f"speedup: {t_seq / t_con:.1f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", nargs="?")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--max-pages", type=int, default=100)
    args = ap.parse_args()
    server = None
    url = args.url
    if not url:
        server, base = start_demo_server()
        url = base + "/site/0"
    try:
        asyncio.run(main(url, args.concurrency, args.max_pages))
    finally:
        if server is not None:
            server.kill()
            server.wait()

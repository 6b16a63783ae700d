"""Streamed responses: throughput, peak memory and event lag, against the project's test
server (started here unless a base URL is given).

    python bench/bench_stream.py [BASE_URL] [--mb 200] [--repeat 5] [--events 20]

- MB/s of one body of --mb MB (the /stream route) read with ``client.stream`` +
  ``iter_bytes()`` (sync) and ``aiter_bytes()`` (async), median of --repeat runs; and, for
  comparison, the same body fetched whole with ``get``. Each run is a fresh process that
  reads the body twice: cold (the first read touches its memory for the first time) and
  warm (the second).
- Peak RSS growth (ru_maxrss) during the first read (the process is fresh: the peak is
  that read's).
- Server-sent events (/events/N/50): the lag from the server's send time (carried in each
  event) to ``iter_lines``/``aiter_lines`` giving the line, median and max.

Pin it for steadier figures: taskset -c 1 python bench/bench_stream.py (server on core 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import List, Optional, Tuple

try:
    import httpring
except ImportError:  # a checkout without `pip install`: use the sources next to this file
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    import httpring

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def sync_stream(url: str) -> Tuple[int, float, int]:
    """(bytes, seconds, peak RSS growth) for one streamed read."""
    with httpring.Client() as c:
        c.get(url.rsplit("/stream/", 1)[0] + "/hello")
        before = peak_bytes()
        t = time.perf_counter()
        n = 0
        with c.stream("GET", url) as r:
            for chunk in r.iter_bytes():
                n += len(chunk)
        return n, time.perf_counter() - t, peak_bytes() - before


def sync_whole(url: str) -> Tuple[int, float, int]:
    with httpring.Client(max_body_size=None) as c:
        c.get(url.rsplit("/stream/", 1)[0] + "/hello")
        before = peak_bytes()
        t = time.perf_counter()
        n = len(c.get(url).content)
        return n, time.perf_counter() - t, peak_bytes() - before


async def _async_stream(url: str) -> Tuple[int, float, int]:
    async with httpring.AsyncClient() as c:
        await c.get(url.rsplit("/stream/", 1)[0] + "/hello")
        before = peak_bytes()
        t = time.perf_counter()
        n = 0
        async with c.stream("GET", url) as r:
            async for chunk in r.aiter_bytes():
                n += len(chunk)
        return n, time.perf_counter() - t, peak_bytes() - before


def async_stream(url: str) -> Tuple[int, float, int]:
    return asyncio.run(_async_stream(url))


CASES = {"sync stream": sync_stream, "async stream": async_stream, "sync get (whole)": sync_whole}


def child(case: str, url: str) -> None:
    """Two reads in a fresh process: the first (cold: its memory is touched for the first
    time) and the second (warm); the peak RSS growth over the first."""
    n, cold, growth = CASES[case](url)
    _, warm, _ = CASES[case](url)
    print(n, cold, warm, growth)


def run_case(case: str, url: str) -> Tuple[int, float, float, int]:
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", case, url],
        capture_output=True, text=True, check=True,
    )
    n, cold, warm, growth = out.stdout.split()
    return int(n), float(cold), float(warm), int(growth)


def event_lags(base: str, count: int, asynchronous: bool) -> List[float]:
    url = f"{base}/events/{count}/50"
    lags: List[float] = []

    def note(line: str) -> None:
        if line.startswith("data:"):
            lags.append((time.time_ns() // 1000 - int(line.split()[2])) / 1000)

    if not asynchronous:
        with httpring.Client() as c:
            with c.stream("GET", url) as r:
                for line in r.iter_lines():
                    note(line)
    else:
        async def main() -> None:
            async with httpring.AsyncClient() as c:
                async with c.stream("GET", url) as r:
                    async for line in r.aiter_lines():
                        note(line)

        asyncio.run(main())
    return lags


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base", nargs="?")
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    server: Optional[subprocess.Popen[str]] = None
    base = args.base
    if base is None:
        path = os.environ.get("HTTPRING_TESTSERVER") or os.path.join(REPO, "target", "release", "examples", "testserver")
        server = subprocess.Popen([path], stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{line.split()[1]}"
    try:
        size = args.mb * 1_000_000
        url = f"{base}/stream/{size}"
        for case in CASES:
            runs = [run_case(case, url) for _ in range(args.repeat)]
            assert all(n == size for n, _, _, _ in runs)
            cold = sorted(size / s / 1e6 for _, s, _, _ in runs)
            warm = sorted(size / s / 1e6 for _, _, s, _ in runs)
            growth = max(g for _, _, _, g in runs) / 2**20
            print(
                f"{case:17s} {args.mb} MB: MB/s median cold {statistics.median(cold):5.0f} "
                f"({cold[0]:.0f}-{cold[-1]:.0f}), warm {statistics.median(warm):5.0f} "
                f"({warm[0]:.0f}-{warm[-1]:.0f}); peak RSS growth up to {growth:.1f} MiB"
            )
        for asynchronous in (False, True):
            lags = event_lags(base, args.events, asynchronous)
            assert len(lags) == args.events
            kind = "aiter_lines" if asynchronous else "iter_lines"
            print(
                f"SSE {kind:11s} {args.events} events: lag median {statistics.median(lags):.2f} ms, "
                f"max {max(lags):.2f} ms"
            )
    finally:
        if server is not None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()

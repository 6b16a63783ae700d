"""Requests per second at N requests in flight (N coroutines, each looping GET url), for
httpring.AsyncClient and, when installed, aiohttp and pyreqwest. Also CPU per request: the
whole client process's (user+sys, so including a library's own runtime threads) and the
asyncio thread's alone; and httpring's sequential latency.

    python bench/bench_async.py URL [--concurrency 64] [--seconds 5] [--warmup 1] [--repeat 3]

With --repeat N each client runs N times and the median is reported (the machine may be
noisy).

Pin it to get comparable figures: the server on core 0, this script on core 1:
    taskset -c 0 target/release/examples/testserver &
    taskset -c 1 python bench/bench_async.py http://127.0.0.1:PORT/hello
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time

try:
    import httpring  # noqa: F401
except ImportError:  # a checkout without `pip install`: use the sources next to this file
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def drive(get, url: str, concurrency: int, seconds: float, warmup: float) -> tuple:
    count = 0
    measuring = False
    stop = False

    async def worker() -> None:
        nonlocal count
        while not stop:
            await get(url)
            if measuring:
                count += 1

    tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    await asyncio.sleep(warmup)
    measuring = True
    t0, c0, p0 = time.perf_counter(), cpu(), time.thread_time()
    await asyncio.sleep(seconds)
    measuring = False
    elapsed, used, own = time.perf_counter() - t0, cpu() - c0, time.thread_time() - p0
    n = count
    stop = True
    await asyncio.gather(*tasks)
    return n / elapsed, used / max(n, 1) * 1e6, own / max(n, 1) * 1e6


async def bench_httpring(url: str, c: int, s: float, w: float) -> tuple:
    import httpring

    async with httpring.AsyncClient() as client:
        async def get(u: str) -> None:
            r = await client.get(u)
            r.content

        return await drive(get, url, c, s, w)


async def bench_aiohttp(url: str, c: int, s: float, w: float) -> tuple:
    import aiohttp

    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def get(u: str) -> None:
            async with session.get(u) as r:
                await r.read()

        return await drive(get, url, c, s, w)


async def bench_pyreqwest(url: str, c: int, s: float, w: float) -> tuple:
    from pyreqwest.client import ClientBuilder

    async with ClientBuilder().build() as client:
        async def get(u: str) -> None:
            r = await client.get(u).build().send()
            await r.bytes()

        return await drive(get, url, c, s, w)


async def sequential_p50(url: str, n: int = 2000) -> float:
    import httpring

    async with httpring.AsyncClient() as client:
        for _ in range(200):
            await client.get(url)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            await client.get(url)
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=1, help="runs per client; the median is reported")
    ap.add_argument("--only", default="", help="comma list: httpring,aiohttp,pyreqwest")
    ap.add_argument("--no-latency", action="store_true", help="skip the sequential p50")
    args = ap.parse_args()
    benches = {"httpring": bench_httpring, "aiohttp": bench_aiohttp, "pyreqwest": bench_pyreqwest}
    wanted = [b for b in (args.only.split(",") if args.only else benches)]
    results = {}
    for name in wanted:
        runs = []
        try:
            for _ in range(max(1, args.repeat)):
                runs.append(asyncio.run(benches[name](args.url, args.concurrency, args.seconds, args.warmup)))
                if args.repeat > 1:
                    rps, us, own = runs[-1]
                    print(f"  {name:10s} run {len(runs)}: {rps:8.0f} req/s  {us:5.1f} us  {own:5.1f} us")
        except ImportError:
            print(f"{name:10s} not installed")
            continue
        rps = statistics.median(r[0] for r in runs)
        us = statistics.median(r[1] for r in runs)
        own = statistics.median(r[2] for r in runs)
        results[name] = rps
        median = " (median)" if len(runs) > 1 else ""
        print(
            f"{name:10s} {rps:8.0f} req/s{median}  CPU/request: {us:5.1f} us process, "
            f"{own:5.1f} us asyncio thread  ({args.concurrency} in flight)"
        )
    if "httpring" in results and not args.no_latency:
        for other in ("aiohttp", "pyreqwest"):
            if other in results:
                print(f"httpring / {other}: {results['httpring'] / results[other]:.2f}x")
        print(f"httpring sequential p50: {asyncio.run(sequential_p50(args.url)):.0f} us")


if __name__ == "__main__":
    main()

"""Shared plumbing for the Python benchmark drivers (stdlib only).

Every driver takes the same command line as the C drivers:

    python3 DRIVER.py MODE URL|@FILE [inflight] [requests]

MODE is throughput, bulk, stream, h2, fanout, manyhosts (concurrent: `requests` requests,
`inflight` at a time, URLs taken in turn) or latency (one at a time); stream is bulk with the
bodies read as they arrive (only drivers that can stream take it). It prints one line of key=value
pairs, like bench/c/bench.c. CPU is the process's user+sys time (getrusage) over the timed
part only, so interpreter start-up and imports are not charged to the requests.

Exit status: 0 ok; 1 some requests failed; 2 usage; 3 the library cannot do this mode
(e.g. HTTP/2 or TLS not supported); 4 the library is not installed.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time
from typing import Awaitable, Callable, List, Tuple

QUANTILES = (0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100)
DEFAULTS = {  # mode: (inflight, requests, warm-up)
    "throughput": (64, 50000, True),
    "bulk": (16, 2000, True),
    "stream": (16, 2000, True),
    "h2": (64, 20000, True),
    "fanout": (10000, 0, False),
    "manyhosts": (64, 5000, False),
    "latency": (1, 5000, True),
}
EXIT_FAILED, EXIT_USAGE, EXIT_UNSUPPORTED, EXIT_MISSING = 1, 2, 3, 4


class Args:
    def __init__(self, argv: List[str]) -> None:
        if len(argv) < 3 or argv[1] not in DEFAULTS:
            sys.stderr.write(
                f"usage: {argv[0]} {'|'.join(DEFAULTS)} URL|@FILE [inflight] [requests]\n"
            )
            sys.exit(EXIT_USAGE)
        self.mode = argv[1]
        self.urls = load_urls(argv[2])
        inflight, requests, self.warm = DEFAULTS[self.mode]
        if self.mode == "latency":
            self.inflight = 1
            self.requests = int(argv[3]) if len(argv) > 3 else requests
        else:
            self.inflight = int(argv[3]) if len(argv) > 3 else inflight
            self.requests = int(argv[4]) if len(argv) > 4 else (requests or self.inflight)
        self.inflight = min(self.inflight, self.requests)
        self.h2 = self.mode == "h2"

    def url(self, i: int) -> str:
        return self.urls[i % len(self.urls)]


def load_urls(arg: str) -> List[str]:
    if not arg.startswith("@"):
        return [arg]
    with open(arg[1:]) as f:
        urls = [line.strip() for line in f if line.strip()]
    if not urls:
        sys.exit(EXIT_USAGE)
    return urls


def missing(name: str, err: BaseException) -> None:
    sys.stderr.write(f"{name} is not installed: {err}\n")
    sys.exit(EXIT_MISSING)


def unsupported(what: str) -> None:
    sys.stderr.write(f"not supported: {what}\n")
    sys.exit(EXIT_UNSUPPORTED)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bench_limits(httpring):  # type: ignore[no-untyped-def]
    """The httpring clients' pool for a run: no connection caps, as aiohttp's ``limit=0``
    connector and the C driver (the binding's default of 100 connections with httpx's 5 s
    pool timeout fails the fan-out: 10,000 requests of 100 ms need 10 s through 100).
    HTTPRING_BENCH_MAX_CONNS / _PER_HOST set the caps (scenario throughput-capped)."""

    caps = {k: int(os.environ[e]) for k, e in (("max_connections", "HTTPRING_BENCH_MAX_CONNS"),
                                               ("max_connections_per_host", "HTTPRING_BENCH_MAX_CONNS_PER_HOST"))
            if os.environ.get(e)}
    return httpring.Limits(**caps)


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Tally:
    """Counts outcomes; reports the first failure on stderr."""

    def __init__(self) -> None:
        self.failed = 0
        self.bytes = 0

    def ok(self, status: int, nbytes: int) -> None:
        if status != 200:
            self.fail(f"status {status}")
        else:
            self.bytes += nbytes

    def fail(self, why: object) -> None:
        if self.failed == 0:
            sys.stderr.write(f"first failure: {why!r}\n")
        self.failed += 1


def report_concurrent(a: Args, t: Tally, wall: float, used: float, **extra: object) -> int:
    n = a.requests
    fields = [
        f"mode={a.mode}",
        f"requests={n}",
        f"inflight={a.inflight}",
        f"urls={len(a.urls)}",
        f"failed={t.failed}",
        f"wall_s={wall:.4f}",
        f"req_per_s={n / wall:.0f}",
        f"cpu_us_per_req={used * 1e6 / n:.2f}",
        f"maxrss_kb={maxrss_kb()}",
    ]
    fields += [f"{k}={v}" for k, v in extra.items()]
    if a.mode in ("bulk", "stream") and t.bytes:
        fields += [
            f"bytes={t.bytes}",
            f"mb_per_s={t.bytes / wall / 1e6:.1f}",
            f"cpu_ms_per_mb={used * 1e3 / (t.bytes / 1e6):.3f}",
        ]
    print(" ".join(fields), flush=True)
    return EXIT_FAILED if t.failed else 0


def report_latency(a: Args, t: Tally, lat_us: List[float], wall: float, used: float) -> int:
    lat = sorted(lat_us)
    n = len(lat)

    def pct(p: float) -> int:
        return int(lat[int((n - 1) * p / 100 + 0.5)])

    q = ",".join(str(pct(p)) for p in QUANTILES)
    print(
        f"mode=latency requests={n} failed={t.failed} wall_s={wall:.4f} req_per_s={n / wall:.0f} "
        f"cpu_us_per_req={used * 1e6 / n:.2f} p50_us={pct(50)} p95_us={pct(95)} p99_us={pct(99)} "
        f"max_us={pct(100)} q_us={q} maxrss_kb={maxrss_kb()}",
        flush=True,
    )
    return EXIT_FAILED if t.failed else 0


# A fetch takes a URL and returns (status, body length); it raises on failure.
AsyncFetch = Callable[[str], Awaitable[Tuple[int, int]]]
SyncFetch = Callable[[str], Tuple[int, int]]


async def run_async_concurrent(a: Args, fetch: AsyncFetch) -> Tuple[Tally, float, float]:
    """`inflight` worker coroutines, each fetching the next URL as soon as its last request
    is done: the asyncio form of pycurl's loop re-adding its easy handles and of the C
    drivers' resubmit-per-completion, and the pattern asyncio's docs give for bounded
    concurrency (workers, not a task per item). BENCH_ASYNC_HARNESS=task selects the
    earlier harness instead (a task per request under a semaphore), which also charges
    asyncio's task creation and semaphore hand-offs (~5 µs per request) to the client."""
    t = Tally()
    if a.warm:
        # One request first (an HTTP/2 client then shares its connection), then one round.
        warm = Tally()
        for status, n in [await fetch(a.url(0))] + list(
            await asyncio.gather(*(fetch(a.url(i)) for i in range(a.inflight)))
        ):
            warm.ok(status, n)
        if warm.failed:
            raise SystemExit(EXIT_FAILED)
    if os.environ.get("BENCH_ASYNC_HARNESS") == "task":
        return await _run_task_per_request(a, fetch, t)
    total = a.requests
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        while next_i < total:
            u = a.url(next_i)
            next_i += 1
            try:
                status, n = await fetch(u)
                t.ok(status, n)
            except Exception as e:  # noqa: BLE001 - any failure counts
                t.fail(e)

    t0, c0 = time.perf_counter(), cpu()
    await asyncio.gather(*(worker() for _ in range(a.inflight)))
    return t, time.perf_counter() - t0, cpu() - c0


async def _run_task_per_request(a: Args, fetch: AsyncFetch, t: Tally) -> Tuple[Tally, float, float]:
    """One coroutine (task) per request; a semaphore of `inflight` bounds how many run.
    The loop acquires a slot before it creates each task, so at most `inflight` tasks
    exist at once (no 200,000 parked coroutines)."""
    sem = asyncio.Semaphore(a.inflight)
    tasks: set = set()

    async def one(u: str) -> None:
        try:
            status, n = await fetch(u)
            t.ok(status, n)
        except Exception as e:  # noqa: BLE001 - any failure counts
            t.fail(e)
        finally:
            sem.release()

    t0, c0 = time.perf_counter(), cpu()
    for i in range(a.requests):
        await sem.acquire()
        task = asyncio.ensure_future(one(a.url(i)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return t, time.perf_counter() - t0, cpu() - c0


def run_sync_latency(a: Args, fetch: SyncFetch) -> int:
    t = Tally()
    for _ in range(100):
        status, _n = fetch(a.url(0))
        if status != 200:
            t.fail(f"warm-up status {status}")
            return EXIT_FAILED
    lat: List[float] = []
    pc = time.perf_counter
    t0, c0 = pc(), cpu()
    for i in range(a.requests):
        s = pc()
        try:
            status, n = fetch(a.url(i))
            t.ok(status, n)
        except Exception as e:  # noqa: BLE001
            t.fail(e)
        lat.append((pc() - s) * 1e6)
    return report_latency(a, t, lat, pc() - t0, cpu() - c0)


async def run_async_latency(a: Args, fetch: AsyncFetch) -> int:
    t = Tally()
    for _ in range(100):
        status, _n = await fetch(a.url(0))
        if status != 200:
            t.fail(f"warm-up status {status}")
            return EXIT_FAILED
    lat: List[float] = []
    pc = time.perf_counter
    t0, c0 = pc(), cpu()
    for i in range(a.requests):
        s = pc()
        try:
            status, n = await fetch(a.url(i))
            t.ok(status, n)
        except Exception as e:  # noqa: BLE001
            t.fail(e)
        lat.append((pc() - s) * 1e6)
    return report_latency(a, t, lat, pc() - t0, cpu() - c0)

"""httpx peer: AsyncClient, worker coroutines, one per request in flight
(_common.run_async_concurrent); the pool is sized to the in-flight count (its default of 100 connections would cap
fan-out). Latency: the synchronous httpx.Client. HTTP/2 needs the `h2` package (httpx[http2])."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    Args, missing, raise_nofile, report_concurrent, run_async_concurrent, run_sync_latency, unsupported,
)


def main() -> int:
    a = Args(sys.argv)
    try:
        import httpx
    except ImportError as e:
        missing("httpx", e)
    if a.h2:
        try:
            import h2  # noqa: F401
        except ImportError:
            unsupported("httpx HTTP/2 needs the h2 package")
    raise_nofile()
    limits = httpx.Limits(max_connections=a.inflight, max_keepalive_connections=a.inflight)
    timeout = httpx.Timeout(60.0)
    if a.mode == "latency":
        with httpx.Client(timeout=timeout, verify=False) as c:
            def fetch(u: str):
                r = c.get(u)
                return r.status_code, len(r.content)

            return run_sync_latency(a, fetch)

    async def run() -> int:
        async with httpx.AsyncClient(limits=limits, timeout=timeout, http2=a.h2, verify=False) as c:
            async def fetch(u: str):
                r = await c.get(u)
                return r.status_code, len(r.content)

            t, wall, used = await run_async_concurrent(a, fetch)
            return report_concurrent(a, t, wall, used)

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())

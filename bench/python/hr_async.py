"""httpring through its Python binding, asyncio: httpring.AsyncClient, one worker coroutine
per request in flight, each fetching the next URL when its last is done (the same harness as
aiohttp, httpx and pyreqwest: _common.run_async_concurrent). Latency: one coroutine, sequential awaits. Stream: `async with client.stream(...)`,
the body read with `aiter_bytes()` (pieces as they arrive), its bytes counted."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    Args, bench_limits, missing, raise_nofile, report_concurrent, run_async_concurrent, run_async_latency, unsupported,
)


def main() -> int:
    a = Args(sys.argv)
    try:
        import httpring
    except ImportError as e:
        missing("httpring (Python binding)", e)
    raise_nofile()

    kw = {"limits": bench_limits(httpring)}

    async def run() -> int:
        try:
            client = httpring.AsyncClient(http2=True, verify=False, **kw) if a.h2 else httpring.AsyncClient(**kw)
        except NotImplementedError as e:
            unsupported(f"httpring.AsyncClient(http2=True): {e}")
        async with client:
            async def fetch(u: str):
                r = await client.get(u)
                return r.status_code, len(r.content)

            if a.mode == "stream":
                if not hasattr(client, "stream"):
                    unsupported("httpring.AsyncClient.stream (a binding older than streamed bodies)")

                async def fetch(u: str):  # noqa: F811 - the streamed variant
                    n = 0
                    async with client.stream("GET", u) as r:
                        async for piece in r.aiter_bytes():
                            n += len(piece)
                    return r.status_code, n

            try:
                if a.mode == "latency":
                    return await run_async_latency(a, fetch)
                t, wall, used = await run_async_concurrent(a, fetch)
            except httpring.UnsupportedProtocol as e:
                unsupported(f"httpring: {e}")
            return report_concurrent(a, t, wall, used)

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())

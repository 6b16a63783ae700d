"""aiohttp peer: worker coroutines on asyncio's default loop, one per request in flight
(_common.run_async_concurrent); one ClientSession with an unlimited connector (limit=0) so it does
not cap the connections. Latency: one coroutine, sequential. HTTP/1.1 only."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    Args, missing, raise_nofile, report_concurrent, run_async_concurrent, run_async_latency, unsupported,
)


def main() -> int:
    a = Args(sys.argv)
    try:
        import aiohttp
    except ImportError as e:
        missing("aiohttp", e)
    if a.h2:
        unsupported("aiohttp speaks HTTP/1.1 only")
    raise_nofile()

    async def run() -> int:
        conn = aiohttp.TCPConnector(limit=0, ssl=False)
        async with aiohttp.ClientSession(connector=conn) as session:
            async def fetch(u: str):
                async with session.get(u) as r:
                    body = await r.read()
                    return r.status, len(body)

            if a.mode == "latency":
                return await run_async_latency(a, fetch)
            t, wall, used = await run_async_concurrent(a, fetch)
            return report_concurrent(a, t, wall, used)

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())

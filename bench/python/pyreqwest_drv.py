"""pyreqwest peer (Rust reqwest behind Python): worker coroutines, one per request in
flight (_common.run_async_concurrent), its default single-threaded runtime. Latency: SyncClient.
HTTP/2: ALPN over TLS with certificate checks off (the server's certificate is self-signed)."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    Args, missing, raise_nofile, report_concurrent, run_async_concurrent, run_sync_latency,
)


def main() -> int:
    a = Args(sys.argv)
    try:
        from pyreqwest.client import ClientBuilder, SyncClientBuilder
    except ImportError as e:
        missing("pyreqwest", e)
    raise_nofile()

    def configure(b):
        b = b.danger_accept_invalid_certs(True)
        return b.http2(True) if a.h2 else b

    if a.mode == "latency":
        with configure(SyncClientBuilder()).build() as c:
            def fetch(u: str):
                r = c.get(u).build().send()
                return r.status, len(r.bytes())

            return run_sync_latency(a, fetch)

    async def run() -> int:
        async with configure(ClientBuilder()).build() as c:
            async def fetch(u: str):
                r = await c.get(u).build().send()
                return r.status, len(await r.bytes())

            t, wall, used = await run_async_concurrent(a, fetch)
            return report_concurrent(a, t, wall, used)

    return asyncio.run(run())


if __name__ == "__main__":
    code = main()
    # pyreqwest 0.15 can abort in interpreter finalisation after a large fan-out
    # ("PyGILState_Release: thread state must be current"): the result is printed by then,
    # so leave without finalising.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

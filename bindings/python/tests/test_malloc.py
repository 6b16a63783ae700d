"""Bodies reach Python without page faults: loading the library raises glibc's heap trim
threshold (``_ffi._settle_malloc``), so dropping one 64 KiB response after another does not
give the heap back to the kernel and fault it in again (16 page faults per response, half
the CPU of a bulk download, before the fix).

Each run is a fresh interpreter (this one's thresholds may already have moved), the control
with ``HTTPRING_MALLOC_TRIM=keep``: it shows the measurement sees the faults."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")

REQUESTS = 1000

PROBE = textwrap.dedent(
    """
    import asyncio, resource, sys
    import httpring

    async def main(url):
        async with httpring.AsyncClient() as client:
            sem = asyncio.Semaphore(16)

            async def one():
                async with sem:
                    return len((await client.get(url)).content)

            await asyncio.gather(*(one() for _ in range(50)))  # connections, warm caches
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            sizes = await asyncio.gather(*(one() for _ in range(int(sys.argv[2]))))
            after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            assert sizes == [65536] * len(sizes), sizes[:3]
            print(after - before)

    asyncio.run(main(sys.argv[1]))
    """
)


def minor_faults(url: str, env: dict) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, url, str(REQUESTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_64k_bodies_do_not_fault_the_heap_back_in(testserver):
    url = f"{testserver.url}/bytes/65536"
    # A malloc tunable in the environment would mask both runs.
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "HTTPRING_MALLOC_TRIM")}
    control = minor_faults(url, {**env, "HTTPRING_MALLOC_TRIM": "keep"})
    settled = minor_faults(url, env)
    # Control: about 16 faults per response (64 KiB of fresh pages each time).
    assert control > 4 * REQUESTS, control
    # Settled: the pages stay mapped (measured ~0.9 per response, mostly elsewhere).
    assert settled < 2 * REQUESTS and settled * 5 < control, (settled, control)

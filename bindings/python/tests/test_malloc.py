"""Bodies reach Python without page faults: loading the library raises glibc's heap trim
threshold (``_ffi._settle_malloc``), so dropping one large response after another does not
give the heap back to the kernel and fault it in again (a page fault per 4 KiB of body, half
the CPU of a bulk download, before the fix).

1 MiB bodies: 64 KiB ones used to show it too, but the engine no longer frees and allocates a
read buffer per response (vendor/README.md, hyper patch 2), and without that churn their
heap stays put even unsettled. Each run is a fresh interpreter (this one's thresholds may
already have moved), the control with ``HTTPRING_MALLOC_TRIM=keep``: it shows the
measurement sees the faults."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")

SIZE = 1 << 20
REQUESTS = 64

# Batches of 4 bodies, each batch dropped whole before the next (as a drain loop does):
# without the fix a dropped batch leaves more free at the top of the heap than glibc's trim
# threshold (twice the largest block freed so far, here about 2 MiB), which it then trims,
# whatever the timing of the responses.
BATCH = 4
PROBE = textwrap.dedent(
    """
    import resource, sys
    import httpring

    url, rounds, batch, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with httpring.Client() as client:
        client.send_many([url] * batch)  # connections, warm caches
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(rounds):
            sizes = [len(r.content) for r in client.send_many([url] * batch)]
            assert sizes == [size] * batch, sizes
        after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    print(after - before)
    """
)


def minor_faults(url: str, env: dict) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, url, str(REQUESTS // BATCH), str(BATCH), str(SIZE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_large_bodies_do_not_fault_the_heap_back_in(testserver):
    url = f"{testserver.url}/bytes/{SIZE}"
    # A malloc tunable in the environment would mask both runs.
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "HTTPRING_MALLOC_TRIM")}
    # The control must show the faults the fix removes; on a busy machine more of a batch
    # can land in freed chunks, so it gets up to three runs.
    pages = SIZE // 4096
    control = 0
    for _ in range(3):
        control = max(control, minor_faults(url, {**env, "HTTPRING_MALLOC_TRIM": "keep"}))
        if control > pages // 4 * REQUESTS:
            break
    settled = minor_faults(url, env)
    # Control: about 200 faults per 1 MiB response measured (of its 256 pages).
    assert control > pages // 4 * REQUESTS, control
    # Settled: the pages stay mapped (about 10 faults a response measured).
    assert settled < pages // 8 * REQUESTS and settled * 5 < control, (settled, control)

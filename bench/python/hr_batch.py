"""httpring through its Python binding, batch API: httpring.Client.send_many, called with
`inflight` URLs at a time (one round after another: submit the batch, collect the batch).
Fan-out is one batch of every request."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import EXIT_FAILED, Args, Tally, bench_limits, cpu, missing, raise_nofile, report_concurrent, unsupported  # noqa: E402


def main() -> int:
    a = Args(sys.argv)
    try:
        import httpring
    except ImportError as e:
        missing("httpring (Python binding)", e)
    if a.mode == "latency":
        unsupported("send_many is a batch API (see hr_sync.py for sequential requests)")
    raise_nofile()
    try:
        kw = {"limits": bench_limits(httpring)}
        client = httpring.Client(http2=True, verify=False, **kw) if a.h2 else httpring.Client(**kw)
    except NotImplementedError as e:
        unsupported(f"httpring.Client(http2=True): {e}")

    def round_(first: int, n: int, t: Tally) -> None:
        urls = [a.url(i) for i in range(first, first + n)]
        for r in client.send_many(urls, return_exceptions=True):
            if isinstance(r, httpring.UnsupportedProtocol):
                unsupported(f"httpring: {r}")
            if isinstance(r, BaseException):
                t.fail(r)
            else:
                t.ok(r.status_code, len(r.content))

    with client:
        if a.warm:
            warm = Tally()
            round_(0, 1, warm)
            round_(0, a.inflight, warm)
            if warm.failed:
                return EXIT_FAILED
        t = Tally()
        t0, c0 = time.perf_counter(), cpu()
        for first in range(0, a.requests, a.inflight):
            round_(first, min(a.inflight, a.requests - first), t)
        return report_concurrent(a, t, time.perf_counter() - t0, cpu() - c0)


if __name__ == "__main__":
    sys.exit(main())

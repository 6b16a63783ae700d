"""httpring through its Python binding, synchronous: httpring.Client, one request at a
time (the latency scenario; a sync client has no concurrency of its own)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Args, missing, run_sync_latency, unsupported  # noqa: E402


def main() -> int:
    a = Args(sys.argv)
    try:
        import httpring
    except ImportError as e:
        missing("httpring (Python binding)", e)
    if a.mode != "latency":
        unsupported("the synchronous Client is measured sequentially only (see hr_batch.py)")
    with httpring.Client() as client:
        def fetch(u: str):
            r = client.get(u)
            return r.status_code, len(r.content)

        try:
            return run_sync_latency(a, fetch)
        except httpring.UnsupportedProtocol as e:
            unsupported(f"httpring: {e}")


if __name__ == "__main__":
    sys.exit(main())

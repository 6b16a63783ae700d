"""Print server-sent events (text/event-stream) as they arrive, with httpring's streaming.

    python examples/python/sse_events.py                        # 5 events of the local test server
    python examples/python/sse_events.py URL [--max N] [--async]

With no URL it starts the project's test server (target/release/examples/testserver, or
$HTTPRING_TESTSERVER) and reads its /events/5/200 route: 5 events, 200 ms apart, each
``data: I T`` with T the time the server sent it (µs since the epoch), so the lag from
sending to printing is shown too. ``--async`` reads with AsyncClient instead of Client;
``--max N`` stops after N events (leaving the block closes the connection).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import Iterable, Iterator, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

try:
    import httpring
except ImportError:  # running from a checkout without `pip install ./bindings/python`
    sys.path.insert(0, os.path.join(REPO, "bindings", "python", "src"))
    import httpring


def start_test_server() -> "tuple[subprocess.Popen[str], str]":
    path = os.environ.get("HTTPRING_TESTSERVER") or os.path.join(
        REPO, "target", "release", "examples", "testserver"
    )
    if not os.path.exists(path):
        sys.exit(f"{path} not found: run `make build`, or pass a URL")
    proc = subprocess.Popen([path], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("LISTENING"):
        proc.kill()
        sys.exit(f"test server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}/events/5/200"


class EventParser:
    """The event-stream format (the WHATWG HTML standard, "server-sent events"), fed line by
    line: ``field: value`` lines build an event, a blank line ends it, ``:`` starts a
    comment. Gives (event type, data) for each event."""

    def __init__(self) -> None:
        self.kind = ""
        self.data: List[str] = []

    def feed(self, line: str) -> Optional[Tuple[str, str]]:
        if not line:
            if not self.data:
                self.kind = ""
                return None
            event = (self.kind or "message", "\n".join(self.data))
            self.kind, self.data = "", []
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self.data.append(value)
        elif field == "event":
            self.kind = value
        return None  # id and retry are not used here


def show(n: int, kind: str, data: str, start: float) -> None:
    now = time.time()
    lag = ""
    parts = data.split()
    if len(parts) == 2 and parts[1].isdigit() and len(parts[1]) >= 16:
        # The test server's "I T": T is when it sent the event, in µs since the epoch.
        lag = f"  (sent {(now * 1e6 - int(parts[1])) / 1000:.2f} ms ago)"
    print(f"[{(now - start) * 1000:8.1f} ms] #{n} {kind}: {data}{lag}", flush=True)


def events(lines: Iterable[str]) -> Iterator[Tuple[str, str]]:
    parser = EventParser()
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event


def read_sync(url: str, most: Optional[int]) -> int:
    start = time.time()
    count = 0
    # read=None: no limit on the silence between events (connect still times out).
    with httpring.Client(timeout=httpring.Timeout(10.0, read=None)) as client:
        with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as r:
            r.raise_for_status()
            print(f"{r.status_code} {r.http_version} {r.headers.get('content-type', '')}", flush=True)
            for kind, data in events(r.iter_lines()):
                count += 1
                show(count, kind, data, start)
                if most is not None and count >= most:
                    break
    return count


async def read_async(url: str, most: Optional[int]) -> int:
    start = time.time()
    count = 0
    parser = EventParser()
    async with httpring.AsyncClient(timeout=httpring.Timeout(10.0, read=None)) as client:
        async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as r:
            r.raise_for_status()
            print(f"{r.status_code} {r.http_version} {r.headers.get('content-type', '')}", flush=True)
            async for line in r.aiter_lines():
                event = parser.feed(line)
                if event is None:
                    continue
                count += 1
                show(count, *event, start)
                if most is not None and count >= most:
                    break
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", nargs="?", help="an event stream (default: the local test server's)")
    ap.add_argument("--max", type=int, default=None, help="stop after this many events")
    ap.add_argument("--async", dest="use_async", action="store_true", help="use AsyncClient")
    args = ap.parse_args()
    server: "Optional[subprocess.Popen[str]]" = None
    url = args.url
    if url is None:
        server, url = start_test_server()
    try:
        if args.use_async:
            count = asyncio.run(read_async(url, args.max))
        else:
            count = read_sync(url, args.max)
    except httpring.HTTPError as e:
        sys.exit(f"{type(e).__name__}: {e}")
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        if server is not None:
            server.kill()
            server.wait()
    print(f"{count} events")


if __name__ == "__main__":
    main()

"""pycurl peer: libcurl's multi interface driven from a synchronous Python loop
(CurlMulti.perform / info_read / select), `inflight` easy handles re-added with the next URL
as each finishes. Latency: one Curl handle, perform() in a loop. HTTP/2: ALPN over TLS,
multiplexed on one connection, certificate checks off (self-signed)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    EXIT_FAILED, Args, Tally, cpu, missing, raise_nofile, report_concurrent, run_sync_latency,
)


def main() -> int:
    a = Args(sys.argv)
    try:
        import pycurl
    except ImportError as e:
        missing("pycurl", e)
    raise_nofile()

    class Sink:
        __slots__ = ("n",)

        def __init__(self) -> None:
            self.n = 0

        def write(self, data: bytes) -> None:
            self.n += len(data)

    def new_easy() -> "pycurl.Curl":
        c = pycurl.Curl()
        c.sink = Sink()
        c.setopt(pycurl.WRITEFUNCTION, c.sink.write)
        c.setopt(pycurl.NOSIGNAL, 1)
        c.setopt(pycurl.TCP_NODELAY, 1)
        if os.environ.get("BENCH_ACCEPT_ENCODING"):  # the gzip scenario: libcurl decodes
            c.setopt(pycurl.ENCODING, os.environ["BENCH_ACCEPT_ENCODING"])
        if a.h2:
            c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
            c.setopt(pycurl.PIPEWAIT, 1)
            c.setopt(pycurl.SSL_VERIFYPEER, 0)
            c.setopt(pycurl.SSL_VERIFYHOST, 0)
        else:
            c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        return c

    if a.mode == "latency":
        c = new_easy()
        c.setopt(pycurl.URL, a.url(0))
        single = len(a.urls) == 1

        def fetch(u: str):
            if not single:
                c.setopt(pycurl.URL, u)
            c.sink.n = 0
            c.perform()
            return c.getinfo(pycurl.RESPONSE_CODE), c.sink.n

        return run_sync_latency(a, fetch)

    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_PIPELINING, pycurl.PIPE_MULTIPLEX if a.h2 else pycurl.PIPE_NOTHING)
    if a.h2:
        m.setopt(pycurl.M_MAX_HOST_CONNECTIONS, 1)
    handles = [new_easy() for _ in range(a.inflight)]

    def pump(inflight: int, total: int, t: Tally) -> None:
        submitted = completed = 0

        def start(c: "pycurl.Curl") -> None:
            nonlocal submitted
            c.sink.n = 0
            c.setopt(pycurl.URL, a.url(submitted))
            submitted += 1
            m.add_handle(c)

        for c in handles[: min(inflight, total)]:
            start(c)
        while completed < total:
            while m.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            while True:
                queued, ok, err = m.info_read()
                for c in ok:
                    t.ok(c.getinfo(pycurl.RESPONSE_CODE), c.sink.n)
                for c, _errno, msg in err:
                    t.fail(msg)
                for c in ok + [e[0] for e in err]:
                    completed += 1
                    m.remove_handle(c)
                    if submitted < total:
                        start(c)
                if not queued:
                    break
            if completed < total:
                # Wait for a socket or for libcurl's next timer, whichever comes first
                # (select alone would sleep through timers, e.g. HTTP/2 stream start-up).
                ms = m.timeout()
                if ms != 0:
                    m.select(1.0 if ms < 0 else min(ms, 1000) / 1000)

    if a.warm:
        warm = Tally()
        pump(1, 1, warm)
        pump(a.inflight, a.inflight, warm)
        if warm.failed:
            return EXIT_FAILED
    t = Tally()
    t0, c0 = time.perf_counter(), cpu()
    pump(a.inflight, a.requests, t)
    return report_concurrent(a, t, time.perf_counter() - t0, cpu() - c0)


if __name__ == "__main__":
    sys.exit(main())

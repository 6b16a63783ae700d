"""Each timeout (connect, read, total) from the client config and per request, sync and
async, and that each maps to its own exception."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

import httpring
from httpring import Timeout


@pytest.fixture
def blackhole():
    """A loopback port whose accept queue is full: new connections get no SYN-ACK, so
    connecting hangs until the connect timeout (nothing leaves the machine)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    for s in fillers:
        s.close()
    listener.close()


def test_timeout_object():
    t = Timeout(5.0)
    assert (t.connect, t.read, t.write, t.pool, t.total) == (5.0, 5.0, 5.0, 5.0, None)
    assert t.as_ms() == (5000, 5000, 0)
    t = Timeout(None, connect=1, total=2.5)
    assert t.as_ms() == (1000, 0, 2500)
    assert Timeout(Timeout(read=0.0001)).as_ms() == (0, 1, 0)
    assert Timeout(1.0) == Timeout(1.0)
    with pytest.raises(ValueError):
        Timeout(-1)
    with pytest.raises(TypeError):
        Timeout("5")


def test_connect_timeout(blackhole):
    with httpring.Client(timeout=Timeout(connect=0.2)) as c:
        t = time.perf_counter()
        with pytest.raises(httpring.ConnectTimeout) as info:
            c.get(blackhole)
        assert time.perf_counter() - t < 2
        assert info.value.code_name == "HTTPRING_ERR_CONNECT_TIMEOUT"
        assert isinstance(info.value, httpring.TimeoutException)


def test_connect_timeout_per_request(blackhole):
    with httpring.Client(timeout=None) as c:
        with pytest.raises(httpring.ConnectTimeout):
            c.get(blackhole, timeout=Timeout(connect=0.2))


def test_read_timeout_float(testserver):
    with httpring.Client(timeout=0.2) as c:
        with pytest.raises(httpring.ReadTimeout) as info:
            c.get(testserver.url + "/stall")
        assert "HTTPRING_ERR_READ_TIMEOUT" in str(info.value)
        assert info.value.request.url == testserver.url + "/stall"


def test_read_timeout_per_request(client, testserver):
    t = time.perf_counter()
    with pytest.raises(httpring.ReadTimeout):
        client.get(testserver.url + "/stall", timeout=0.2)
    assert time.perf_counter() - t < 2
    # Other requests still use the client's timeout.
    assert client.get(testserver.url + "/delay/300").status_code == 200


def test_read_timeout_mid_body(client, testserver):
    with pytest.raises(httpring.ReadTimeout):
        client.get(testserver.url + "/stall-body", timeout=Timeout(read=0.2))


def test_read_timeout_is_idle_time_not_total(client, testserver):
    # 10 bytes, 50 ms apart: 500 ms in all, never 200 ms of silence.
    r = client.get(testserver.url + "/drip/10/50", timeout=Timeout(read=0.2))
    assert r.content == b"x" * 10


def test_total_timeout(testserver):
    with httpring.Client(timeout=Timeout(total=0.3)) as c:
        with pytest.raises(httpring.TotalTimeout) as info:
            c.get(testserver.url + "/drip/20/50")
        assert info.value.code_name == "HTTPRING_ERR_TIMEOUT"


def test_total_timeout_per_request(client, testserver):
    with pytest.raises(httpring.TotalTimeout):
        client.get(testserver.url + "/drip/20/50", timeout=Timeout(total=0.3))


def test_no_timeout_with_none(testserver):
    with httpring.Client(timeout=None) as c:
        assert c.get(testserver.url + "/delay/200").status_code == 200


def test_async_timeouts(testserver, blackhole):
    async def main():
        async with httpring.AsyncClient(timeout=Timeout(connect=0.2, read=0.2)) as c:
            with pytest.raises(httpring.ConnectTimeout):
                await c.get(blackhole)
            with pytest.raises(httpring.ReadTimeout):
                await c.get(testserver.url + "/stall")
            with pytest.raises(httpring.ReadTimeout):
                await c.get(testserver.url + "/stall", timeout=0.1)
            with pytest.raises(httpring.TotalTimeout):
                await c.get(testserver.url + "/drip/20/50", timeout=Timeout(read=1, total=0.3))
            r = await c.get(testserver.url + "/delay/300", timeout=1.0)
            assert r.status_code == 200

    asyncio.run(main())


def test_low_speed_limit_fails_a_trickle(testserver):
    # /drip/40/50: a byte every 50 ms (20 bytes/s for 2 s): the read timeout never fires.
    url = testserver.url + "/drip/40/50"
    with httpring.Client(low_speed_limit=(100, 0.3)) as c:
        with pytest.raises(httpring.ReadTimeout, match="under the low-speed limit of 100 bytes/s"):
            c.get(url)
        assert len(c.get(testserver.url + "/bytes/100000").content) == 100000

    async def streamed() -> None:
        async with httpring.AsyncClient(low_speed_limit=(100, 0.3)) as c:
            async with c.stream("GET", url) as r:
                with pytest.raises(httpring.ReadTimeout):
                    await r.aread()

    asyncio.run(streamed())
    for bad in ((0, 1), (100, 0), 100, (1.5, 1), (100, float("inf"))):
        with pytest.raises(ValueError, match="low_speed_limit"):
            httpring.Client(low_speed_limit=bad)


def test_low_speed_limit_fails_a_head_that_does_not_come(testserver):
    """The limit bounds the wait for the response head too (curl's LOW_SPEED_TIME counts it):
    a server silent for its time once the request (and its body) has gone sends at 0 bytes/s.
    /delay/3000 answers after 3 s; the client's read timeout (5 s) would wait for it."""
    held = testserver.url + "/delay/3000"
    silent = "no data from the server for 300ms while waiting for the response head, under the low-speed limit"
    with httpring.Client(low_speed_limit=(100, 0.3)) as c:
        for kw in ({}, {"content": b"x" * 1000}):
            t = time.monotonic()
            with pytest.raises(httpring.ReadTimeout, match=silent):
                c.request("POST" if kw else "GET", held, **kw)
            assert 0.29 <= time.monotonic() - t < 2.5
        # Lifted for one request: it waits for its head.
        r = c.get(testserver.url + "/delay/500", extensions={"low_speed_limit": None})
        assert r.status_code == 200 and r.text == "ok"

    async def main() -> None:
        async with httpring.AsyncClient(low_speed_limit=(100, 0.3)) as c:
            t = time.monotonic()
            with pytest.raises(httpring.ReadTimeout, match=silent):
                await c.get(held)
            assert 0.29 <= time.monotonic() - t < 2.5

    asyncio.run(main())


def test_low_speed_limit_fails_an_upload_the_server_stops_taking(testserver):
    """As curl's does, the limit applies to request bodies: a server that reads nothing for
    5 s fails a 16 MiB upload (more than the socket buffers hold) with WriteTimeout, for
    bytes and for an iterator, sync and async; a slow iterator is the caller's doing."""
    stalled = testserver.url + "/upload?hold_ms=5000"
    data = b"x" * (16 << 20)
    too_slow = "the server took the request body at .* under the low-speed limit"

    def pieces(n: int, pause: float = 0.0):
        for _ in range(n):
            yield b"x" * 65536
            time.sleep(pause)

    with httpring.Client(low_speed_limit=(100_000, 0.5)) as c:
        with pytest.raises(httpring.WriteTimeout, match=too_slow):
            c.post(stalled, content=data)
        with pytest.raises(httpring.WriteTimeout, match=too_slow):
            c.post(stalled, content=pieces(256))
        # Three pieces 0.7 s apart: slower than the limit, but the server took each at once.
        r = c.post(testserver.url + "/upload", content=pieces(3, 0.7))
        assert r.json()["received"] == 3 * 65536

    async def main() -> None:
        async with httpring.AsyncClient() as c:
            with pytest.raises(httpring.WriteTimeout, match=too_slow):
                await c.post(stalled, content=data,
                             extensions={"low_speed_limit": (100_000, 0.5)})

    asyncio.run(main())


def test_max_recv_speed_paces_bodies(testserver):
    """max_recv_speed= (curl's --limit-rate): 300,000 bytes at 1 MB/s take at least 0.3 s,
    buffered or streamed; the pauses are not silence (a 0.1 s read timeout does not fire)."""
    url = testserver.url + "/bytes/300000"
    timeout = httpring.Timeout(10.0, read=0.1)
    with httpring.Client(max_recv_speed=1_000_000, timeout=timeout) as c:
        t = time.monotonic()
        assert len(c.get(url).content) == 300_000
        assert time.monotonic() - t >= 0.29

    async def streamed() -> None:
        async with httpring.AsyncClient(max_recv_speed=1_000_000, timeout=timeout) as c:
            t = time.monotonic()
            async with c.stream("GET", url) as r:
                n = sum([len(piece) async for piece in r.aiter_bytes()])
            assert n == 300_000 and time.monotonic() - t >= 0.29

    asyncio.run(streamed())
    for bad in (0, -1, 1.5, True, "1000"):
        with pytest.raises(ValueError, match="max_recv_speed"):
            httpring.Client(max_recv_speed=bad)


def test_max_send_speed_paces_request_bodies(testserver):
    """max_send_speed= (curl's --limit-rate for uploads): 300,000 bytes at 1 MB/s, as bytes
    or from an iterator, reach the server whole after at least ~0.26 s (64 KiB pieces; the
    last goes when the bytes before it are due), with the length they had; the pieces are
    progress (a 0.1 s read timeout does not fire). Without the cap: at once."""
    url = testserver.url + "/upload"
    timeout = httpring.Timeout(10.0, read=0.1)
    data = bytes(range(256)) * 1171 + bytes(224)  # 300,000 bytes
    assert len(data) == 300_000

    def pieces():
        for i in range(0, len(data), 10_000):
            yield data[i : i + 10_000]

    with httpring.Client(max_send_speed=1_000_000, timeout=timeout) as c:
        for content, length in ((data, 300_000), (pieces(), None)):
            t = time.monotonic()
            answer = c.post(url, content=content).json()
            assert time.monotonic() - t >= 0.25, answer
            assert answer["received"] == 300_000 and answer["error"] == "", answer
            assert answer["content_length"] == length, answer

    async def streamed() -> None:
        async def apieces():
            for piece in pieces():
                yield piece

        async with httpring.AsyncClient(max_send_speed=1_000_000, timeout=timeout) as c:
            t = time.monotonic()
            answer = (await c.post(url, content=apieces())).json()
            assert answer["received"] == 300_000 and time.monotonic() - t >= 0.25, answer

    asyncio.run(streamed())
    with httpring.Client() as c:
        # Ten times the bytes (3 s at the cap) in well under half that.
        t = time.monotonic()
        assert c.post(url, content=data * 10).json()["received"] == 3_000_000
        assert time.monotonic() - t < 1.5
    for bad in (0, -1, 1.5, True, "1000"):
        with pytest.raises(ValueError, match="max_send_speed"):
            httpring.Client(max_send_speed=bad)


def test_speed_limits_of_one_request_override_the_clients(testserver):
    """A request's own speed limits (curl sets them per transfer), in its ``extensions``:
    ``request(extensions=)`` and the verbs', ``stream(extensions=)``,
    ``build_request(extensions=)`` then ``send``, or keys set on a Request since. A key left out is the client's; 0 or None
    lifts the client's limit for that request."""
    big = testserver.url + "/bytes/300000"
    # Uncapped checks fetch ten times the bytes (3 s at the cap) and must take under half
    # that, without the 0.1 s read timeout: not the engine's speed, only no cap.
    bigger = testserver.url + "/bytes/3000000"
    upload = testserver.url + "/upload"
    trickle = testserver.url + "/drip/40/50"  # 20 bytes/s for 2 s
    data = bytes(300_000)
    timeout = httpring.Timeout(10.0, read=0.1)

    def took(call):
        t = time.monotonic()
        result = call()
        return result, time.monotonic() - t

    with httpring.Client(timeout=timeout) as c:
        r, s = took(lambda: c.request("GET", big, extensions={"max_recv_speed": 1_000_000}))
        assert len(r.content) == 300_000 and s >= 0.29
        r, s = took(lambda: c.request("GET", bigger, timeout=10.0))  # the client's: no cap
        assert len(r.content) == 3_000_000 and s < 1.5
        r, s = took(lambda: c.request("POST", upload, content=data, extensions={"max_send_speed": 1_000_000}))
        assert r.json()["received"] == 300_000 and s >= 0.25
        r, s = took(lambda: c.get(big, extensions={"max_recv_speed": 1_000_000}))
        assert len(r.content) == 300_000 and s >= 0.29
        r, s = took(lambda: c.put(upload, content=data, extensions={"max_send_speed": 1_000_000}))
        assert r.json()["received"] == 300_000 and s >= 0.25
        request = c.build_request("GET", big, extensions={"max_recv_speed": 1_000_000})
        assert request.extensions == {"max_recv_speed": 1_000_000}
        r, s = took(lambda: c.send(request))
        assert len(r.content) == 300_000 and s >= 0.29
        request = c.build_request("GET", big)
        request.extensions["max_recv_speed"] = 1_000_000
        r, s = took(lambda: c.send(request))
        assert len(r.content) == 300_000 and s >= 0.29
        # Read when sent: a key taken out after build_request sets no cap.
        request = c.build_request(
            "GET", bigger, extensions={"max_recv_speed": 1_000_000}, timeout=10.0
        )
        del request.extensions["max_recv_speed"]
        r, s = took(lambda: c.send(request))
        assert len(r.content) == 3_000_000 and s < 1.5
        # A request hook sees the extensions, and what it sets applies.
        def hook(request):
            assert request.extensions == {"max_send_speed": 1_000_000}
            request.extensions["max_recv_speed"] = 1_000_000

        with httpring.Client(timeout=timeout, event_hooks={"request": [hook]}) as hooked:
            r, s = took(lambda: hooked.get(big, extensions={"max_send_speed": 1_000_000}))
            assert len(r.content) == 300_000 and s >= 0.29
        with c.stream("GET", big, extensions={"max_recv_speed": 1_000_000}) as r:
            n, s = took(lambda: sum(len(p) for p in r.iter_bytes()))
        assert n == 300_000 and s >= 0.2
        with httpring.Client() as slow:  # no read timeout: the trickle completes
            with pytest.raises(httpring.ReadTimeout, match="under the low-speed limit of 100 bytes/s"):
                slow.request("GET", trickle, extensions={"low_speed_limit": (100, 0.3)})
            assert slow.get(trickle).content == b"x" * 40

    # A client capped at 100 kB/s (3 s for 300,000 bytes) with a low-speed limit.
    capped = dict(max_recv_speed=100_000, max_send_speed=100_000, low_speed_limit=(100, 0.3))
    with httpring.Client(**capped) as c:
        lift = {"max_recv_speed": 0, "max_send_speed": None, "low_speed_limit": 0}
        r, s = took(lambda: c.request("GET", big, extensions=lift))
        assert len(r.content) == 300_000 and s < 1.0
        r, s = took(lambda: c.request("POST", upload, content=data, extensions=lift))
        assert r.json()["received"] == 300_000 and s < 1.0
        assert c.request("GET", trickle, extensions=lift).content == b"x" * 40

    async def asynchronous() -> None:
        async with httpring.AsyncClient(**capped) as c:
            r, s = await atook(c.request("GET", big, extensions={"max_recv_speed": 0}))
            assert len(r.content) == 300_000 and s < 1.0
            r, s = await atook(c.get(big, extensions={"max_recv_speed": 0}))
            assert len(r.content) == 300_000 and s < 1.0
            r, s = await atook(c.post(upload, content=data, extensions={"max_send_speed": 0}))
            assert r.json()["received"] == 300_000 and s < 1.0
            async with c.stream("GET", big, extensions={"max_recv_speed": None}) as r:
                t = time.monotonic()
                assert len(await r.aread()) == 300_000 and time.monotonic() - t < 1.0
        async with httpring.AsyncClient(timeout=timeout) as c:
            r, s = await atook(c.request("GET", big, extensions={"max_recv_speed": 1_000_000}))
            assert len(r.content) == 300_000 and s >= 0.29

    async def atook(coro):
        t = time.monotonic()
        result = await coro
        return result, time.monotonic() - t

    asyncio.run(asynchronous())
    with httpring.Client() as c:
        for key, bad in (("max_recv_speed", -1), ("max_send_speed", 1.5), ("max_recv_speed", True),
                         ("low_speed_limit", (100, 0)), ("low_speed_limit", 100)):
            with pytest.raises(ValueError, match=key):
                c.request("GET", big, extensions={key: bad})
        # Keys httpring does not know are the caller's (as in httpx) and change nothing.
        assert c.request("GET", big, extensions={"trace": None}).status_code == 200

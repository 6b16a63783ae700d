"""Limits (httpx's max_connections, max_keepalive_connections, keepalive_expiry; httpring's
max_connections_per_host and max_in_flight) and the pool and write timeouts, against a
test server of this module's own, whose /stats counts what the limits are about:
"connections" (opened since it started), "open" (now), "max_open" and "max_active" (most
open connections and most requests in progress at once since /stats?reset=1). Everything
talks to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
import time

import pytest

import httpring
from httpring import Limits, Timeout

import conftest


@pytest.fixture(scope="module")
def srv():
    server = conftest.TestServer()
    yield server
    server.stop()


def settle(client, url, own=1):
    """Waits (through ``client``, whose connections are the only ones that may stay open)
    until the server has seen every other connection close, then restarts its "most at
    once" counters. ``own``: how many connections ``client`` may hold."""
    for _ in range(200):
        if client.get(url + "/stats").json()["open"] <= own:
            break
        time.sleep(0.01)
    client.get(url + "/stats?reset=1")


async def asettle(client, url, own=1):
    for _ in range(200):
        if (await client.get(url + "/stats")).json()["open"] <= own:
            break
        await asyncio.sleep(0.01)
    await client.get(url + "/stats?reset=1")


def opened(srv):
    """Connections the server has accepted, not counting the one asking."""
    with httpring.Client(limits=Limits(max_keepalive_connections=0)) as c:
        return c.get(srv.url + "/stats").json()["connections"] - 1


# --- the settings ---------------------------------------------------------------------

def test_httpx_defaults():
    assert Limits() == Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=5.0)
    assert httpring.DEFAULT_LIMITS == Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=5.0)
    with httpring.Client() as c:
        assert c._limits == httpring.DEFAULT_LIMITS
    assert repr(httpring.DEFAULT_LIMITS) == "Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=5.0)"
    assert repr(Limits(max_in_flight=3)).endswith("keepalive_expiry=5.0, max_in_flight=3)")
    httpx = pytest.importorskip("httpx")
    fields = ("max_connections", "max_keepalive_connections", "keepalive_expiry")
    assert [getattr(Limits(), f) for f in fields] == [getattr(httpx.Limits(), f) for f in fields]
    from httpx._config import DEFAULT_LIMITS

    # httpx's, except that idle connections are capped by max_connections alone.
    theirs = [getattr(DEFAULT_LIMITS, f) for f in fields]
    assert [getattr(httpring.DEFAULT_LIMITS, f) for f in fields] == [theirs[0], theirs[0], theirs[2]]


def test_limits_checked():
    for bad in (dict(max_connections=0), dict(max_connections_per_host=0), dict(max_in_flight=0),
                dict(max_keepalive_connections=-1), dict(keepalive_expiry=-1.0), dict(max_idle_per_host=-1)):
        with pytest.raises(ValueError, match="Limits"):
            Limits(**bad)
    for bad in (dict(max_connections=1.5), dict(max_in_flight=True), dict(keepalive_expiry="5")):
        with pytest.raises(TypeError, match="Limits"):
            Limits(**bad)


def test_timeout_fields():
    assert Timeout(5.0) == Timeout(connect=5.0, read=5.0, write=5.0, pool=5.0)
    assert Timeout(5.0, pool=None).pool is None
    # Per request every field applies, as in httpx; pool and write are -1 when they are the
    # client's (connect, read, total, pool, write).
    client = Timeout(5.0)
    assert Timeout(10.0).for_request(client) == (10000, 10000, 0, 10000, 10000)
    assert Timeout(10.0, pool=5.0, write=5.0).for_request(client) == (10000, 10000, 0, -1, -1)
    assert Timeout(1.0, write=2.0).for_request(client) == (1000, 1000, 0, 1000, 2000)
    assert Timeout((1.0, 1.0, None, 1.0)).for_request(client)[4] == 0  # no limit


# --- max_connections and max_connections_per_host ---------------------------------------

def test_burst_capped_by_max_connections(srv):
    async def burst(limits):
        async with httpring.AsyncClient(limits=limits) as c:
            await asettle(c, srv.url)
            before = (await c.get(srv.url + "/stats")).json()["connections"]
            rs = await asyncio.gather(*(c.get(srv.url + "/delay/20") for _ in range(200)))
            stats = (await c.get(srv.url + "/stats")).json()
            return rs, stats, stats["connections"] - before

    rs, stats, new = asyncio.run(burst(Limits(max_connections=8)))
    assert [r.status_code for r in rs] == [200] * 200
    assert 2 <= stats["max_open"] <= 8
    assert stats["max_active"] <= 8
    assert new <= 8  # reused: max_keepalive_connections (None) keeps them all
    # Uncapped, the same burst opens far more at once.
    rs, stats, _ = asyncio.run(burst(Limits()))
    assert [r.status_code for r in rs] == [200] * 200
    assert stats["max_open"] > 8


def test_default_client_caps_at_100(srv):
    async def main():
        async with httpring.AsyncClient() as c:
            await asettle(c, srv.url, own=20)
            rs = await asyncio.gather(*(c.get(srv.url + "/delay/100") for _ in range(150)))
            return rs, (await c.get(srv.url + "/stats")).json()

    rs, stats = asyncio.run(main())
    assert [r.status_code for r in rs] == [200] * 150
    assert 20 < stats["max_open"] <= 100


def test_per_host_cap_sync_send_many(srv):
    with httpring.Client(limits=Limits(max_connections_per_host=4)) as c:
        settle(c, srv.url)
        rs = c.send_many([srv.url + "/delay/20"] * 50)
        stats = c.get(srv.url + "/stats").json()
    assert [r.status_code for r in rs] == [200] * 50
    assert 2 <= stats["max_open"] <= 4


# --- pool timeout ---------------------------------------------------------------------

def test_pool_timeout_async(srv):
    async def main():
        async with httpring.AsyncClient(limits=Limits(max_connections=1), timeout=Timeout(5.0, pool=0.2)) as c:
            holder = asyncio.ensure_future(c.get(srv.url + "/delay/1500"))
            await asyncio.sleep(0.1)
            t = time.monotonic()
            with pytest.raises(httpring.PoolTimeout) as info:
                await c.get(srv.url + "/hello")
            waited = time.monotonic() - t
            assert info.value.code_name == "HTTPRING_ERR_POOL_TIMEOUT"
            assert isinstance(info.value, httpring.TimeoutException)
            assert (await holder).status_code == 200
            # A pool timeout of its own: this one waits for the connection.
            holder = asyncio.ensure_future(c.get(srv.url + "/delay/300"))
            await asyncio.sleep(0.05)
            r = await c.get(srv.url + "/hello", timeout=Timeout(5.0, pool=3.0))
            assert r.status_code == 200 and (await holder).status_code == 200
            return waited

    waited = asyncio.run(main())
    assert 0.15 <= waited < 1.0


def test_pool_timeout_per_request_sync(srv):
    # The client waits as long as it takes (pool=None); one request only 0.2 s.
    with httpring.Client(limits=Limits(max_connections=1), timeout=Timeout(5.0, pool=None)) as c:
        holder = c.submit("GET", srv.url + "/delay/1500")
        time.sleep(0.1)
        t = time.monotonic()
        with pytest.raises(httpring.PoolTimeout):
            c.get(srv.url + "/hello", timeout=Timeout(5.0, pool=0.2))
        assert time.monotonic() - t < 1.0
        # send_many with the same per-request setting (built requests).
        out = c.send_many([c.build_request("GET", srv.url + "/hello", timeout=Timeout(5.0, pool=0.2))], return_exceptions=True)
        assert isinstance(out[0], httpring.PoolTimeout)
        assert holder.response().status_code == 200
        assert c.get(srv.url + "/hello").status_code == 200


# --- max_in_flight --------------------------------------------------------------------

def test_too_many_in_flight_sync(srv):
    with httpring.Client(limits=Limits(max_in_flight=2)) as c:
        a = c.submit("GET", srv.url + "/delay/300")
        b = c.submit("GET", srv.url + "/delay/300")
        with pytest.raises(httpring.TooManyInFlight) as info:
            c.submit("GET", srv.url + "/hello")
        assert info.value.code_name == "HTTPRING_ERR_TOO_MANY_IN_FLIGHT"
        with pytest.raises(httpring.TooManyInFlight):
            c.get(srv.url + "/hello")
        assert a.response().status_code == b.response().status_code == 200
        assert c.get(srv.url + "/hello").status_code == 200  # room again


def test_too_many_in_flight_async(srv):
    async def main():
        async with httpring.AsyncClient(limits=Limits(max_in_flight=2)) as c:
            out = await asyncio.gather(*(c.get(srv.url + "/delay/200") for _ in range(3)), return_exceptions=True)
            after = await c.get(srv.url + "/hello")
            return out, after

    out, after = asyncio.run(main())
    assert sorted(type(r).__name__ for r in out) == ["Response", "Response", "TooManyInFlight"]
    assert after.status_code == 200


# --- write timeout --------------------------------------------------------------------

@pytest.fixture
def unaccepting():
    """A port that completes handshakes (the listen backlog) but never accepts: nothing
    reads what is sent, so writes block once the socket buffers are full."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    listener.close()


BIG = b"\0" * (64 << 20)


def test_write_timeout(unaccepting):
    with httpring.Client(timeout=Timeout(5.0, write=0.3)) as c:
        t = time.monotonic()
        with pytest.raises(httpring.WriteTimeout) as info:
            c.post(unaccepting, content=BIG)
        assert time.monotonic() - t < 4.0  # well before the read timeout would fire
        assert info.value.code_name == "HTTPRING_ERR_WRITE_TIMEOUT"


def test_write_timeout_async(unaccepting):
    async def main():
        async with httpring.AsyncClient(timeout=Timeout(5.0, write=0.3)) as c:
            with pytest.raises(httpring.WriteTimeout):
                await c.put(unaccepting, content=BIG)

    asyncio.run(main())


def test_per_request_write_timeout(unaccepting, srv):
    """A request's own write timeout replaces the client's, as in httpx: it ends a write
    the client would wait on (in the batch spec, and through the request builder for a
    streamed body), and one of None lifts the client's (only the total timeout then ends
    the wait)."""
    with httpring.Client(timeout=Timeout(5.0, write=None)) as c:
        for content in (BIG, iter([BIG])):
            t = time.monotonic()
            with pytest.raises(httpring.WriteTimeout):
                c.post(unaccepting, content=content, timeout=Timeout(5.0, write=0.3))
            assert time.monotonic() - t < 4.0  # the read timeout (5 s) did not end it
        assert c.post(srv.url + "/echo", content=b"x", timeout=Timeout(5.0, write=0.3)).status_code == 200

    async def main():
        async with httpring.AsyncClient(timeout=Timeout(5.0, write=None)) as c:
            t = time.monotonic()
            with pytest.raises(httpring.WriteTimeout):
                await c.put(unaccepting, content=BIG, timeout=Timeout(5.0, write=0.3))
            assert time.monotonic() - t < 4.0

    asyncio.run(main())
    with httpring.Client(timeout=Timeout(5.0, write=0.3)) as c:
        t = time.monotonic()
        with pytest.raises(httpring.TimeoutException) as info:
            c.post(unaccepting, content=BIG, timeout=Timeout(10.0, write=None, total=1.5))
        assert not isinstance(info.value, httpring.WriteTimeout), info.value
        assert time.monotonic() - t >= 1.4
        # The client's again for the next request.
        with pytest.raises(httpring.WriteTimeout):
            c.post(unaccepting, content=BIG)
        assert c.live_handles() == 0



# --- over a Unix socket: the same clocks as over TCP ---------------------------------------

@pytest.fixture
def unix_listener():
    """A Unix socket that listens (a backlog of 8) and is served only as a test says."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.sock")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen(8)
        yield path, listener
        listener.close()


def test_write_timeout_over_a_unix_socket(unix_listener):
    """A Unix socket nobody reads: the upload ends with the write timeout, as over TCP (it
    used to wait for the read timeout, and with none it waited forever)."""
    path, _ = unix_listener
    with httpring.Client(uds=path, timeout=Timeout(5.0, write=0.3)) as c:
        t = time.monotonic()
        with pytest.raises(httpring.WriteTimeout):
            c.post("http://unix.test/", content=BIG)
        assert time.monotonic() - t < 4.0


def test_read_timeout_over_a_unix_socket_is_silence(unix_listener):
    """The read timeout is the server's silence over a Unix socket too: a head trickled a
    byte every 30 ms arrives whole under a 0.3 s limit (it used to be cut at 0.3 s after the
    request), and a head that stops half-way still times out."""
    path, listener = unix_listener
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def serve(stop_after):
        s, _ = listener.accept()
        with s:
            s.recv(65536)
            for i, b in enumerate(head[:stop_after]):
                s.sendall(bytes([b]))
                time.sleep(0.03)
            time.sleep(1.0)  # then silence (or the end of a complete response)

    with httpring.Client(uds=path, timeout=Timeout(5.0, read=0.3)) as c:
        server = threading.Thread(target=serve, args=(len(head),))
        server.start()
        t = time.monotonic()
        r = c.get("http://unix.test/")
        assert (r.status_code, r.content) == (200, b"ok")
        assert time.monotonic() - t >= 0.03 * (len(head) - 1)  # the whole trickle
        server.join()
        server = threading.Thread(target=serve, args=(10,))
        server.start()
        t = time.monotonic()
        with pytest.raises(httpring.ReadTimeout):
            c.get("http://unix.test/")
        assert time.monotonic() - t < 0.03 * 10 + 0.9
        server.join()

# --- keep-alive: max_keepalive_connections, keepalive_expiry ------------------------------

def test_no_keepalive_opens_a_connection_per_request(srv):
    before = opened(srv)
    with httpring.Client(limits=Limits(max_keepalive_connections=0)) as c:
        for _ in range(5):
            assert c.get(srv.url + "/hello").status_code == 200
        assert c.stats().connections_opened == 5
    assert opened(srv) - before == 5 + 1  # and the first opened()'s own
    before = opened(srv)
    with httpring.Client() as c:
        for _ in range(5):
            c.get(srv.url + "/hello")
        assert c.stats().connections_opened == 1
    assert opened(srv) - before == 1 + 1


def test_max_keepalive_connections_caps_idle(srv):
    with httpring.Client(limits=Limits(max_keepalive_connections=2)) as c:
        assert [r.status_code for r in c.send_many([srv.url + "/delay/50"] * 8)] == [200] * 8
        assert c.stats().connections_opened == 8
        for _ in range(100):
            if c.stats().pooled_connections <= 2:
                break
            time.sleep(0.01)
        assert c.stats().pooled_connections == 2
        c.send_many([srv.url + "/delay/50"] * 8)
        assert c.stats().connections_opened == 8 + 6  # 2 reused


def test_keepalive_expiry(srv):
    for expiry, expected in ((0.1, 2), (5.0, 1)):
        with httpring.Client(limits=Limits(keepalive_expiry=expiry)) as c:
            c.get(srv.url + "/hello")
            time.sleep(0.4)
            c.get(srv.url + "/hello")
            assert c.stats().connections_opened == expected, expiry


def test_max_response_headers(testserver):
    # hyper's default of 100 header lines, as reqwest's: more are a RemoteProtocolError
    # that names the setting; Limits(max_response_headers=) raises it.
    url = testserver.url + "/many-headers/"
    with httpring.Client() as c:
        assert c.get(url + "90").status_code == 200
        with pytest.raises(httpring.RemoteProtocolError, match="max_response_headers"):
            c.get(url + "150")
    with httpring.Client(limits=Limits(max_response_headers=500)) as c:
        r = c.get(url + "400")
        assert r.headers["x-h-399"] == "399" and len(r.headers) >= 400
    with pytest.raises(ValueError):
        Limits(max_response_headers=0)

"""``mounts=``, as httpx: URL patterns choosing a transport per request (a MockTransport
for some hosts, an HTTPTransport with a proxy for a scheme), the rest going to the engine;
httpx's pattern rules and priorities; send_many with requests of both kinds; closing."""

from __future__ import annotations

import asyncio

import pytest

import httpring

from servers import FakeProxy


def _answer(name: str) -> httpring.MockTransport:
    return httpring.MockTransport(lambda request: httpring.Response(200, text=f"{name} {request.url.host}"))


class Closing(httpring.MockTransport):
    closed = 0

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


def test_a_mounted_host_is_answered_by_its_transport_the_rest_by_the_engine(testserver):
    with httpring.Client(mounts={"all://mock.test": _answer("mock")}) as c:
        assert c.get("http://mock.test/a").text == "mock mock.test"
        assert c.get("https://mock.test/a").text == "mock mock.test"
        assert c.get(testserver.url + "/hello").text == "Hello, world!"  # the engine
        assert list(c.mounts) == ["all://mock.test"]
        # submit() is the engine's: a mounted URL cannot go there.
        with pytest.raises(NotImplementedError, match="mounted transport"):
            c.submit("GET", "http://mock.test/")
        h = c.submit("GET", testserver.url + "/hello")
        assert h.response().text == "Hello, world!"
        h.close()


def test_patterns_and_priorities_as_httpx(testserver):
    port = int(testserver.url.rsplit(":", 1)[1])
    mounts = {
        "all://": _answer("all"),
        "https://": _answer("https"),
        "all://*.example.com": _answer("sub"),
        "all://*example.org": _answer("domain"),
        "http://www.example.com:8080": _answer("port"),
        # None: the client's own transport, here the engine.
        f"http://127.0.0.1:{port}": None,
    }
    with httpring.Client(mounts=mounts) as c:
        assert c.get("http://other.test/").text == "all other.test"
        assert c.get("https://other.test/").text == "https other.test"
        assert c.get("http://www.example.com/").text == "sub www.example.com"
        assert c.get("http://example.com/").text == "all example.com"  # *. wants a subdomain
        assert c.get("http://example.org/").text == "domain example.org"
        assert c.get("http://a.b.example.org/").text == "domain a.b.example.org"
        assert c.get("http://notexample.org/").text == "all notexample.org"
        assert c.get("http://www.example.com:8080/").text == "port www.example.com"  # a port first
        assert c.get(testserver.url + "/hello").text == "Hello, world!"
        # The default port is no port, as httpx's URL.port.
        assert c.get("https://www.example.com:443/").text == "sub www.example.com"
    with pytest.raises(ValueError, match="'http://' rather than 'http'"):
        httpring.Client(mounts={"http": _answer("x")})
    with pytest.raises(TypeError, match="handle_request"):
        httpring.Client(mounts={"all://": object()})
    with pytest.raises(TypeError, match="handle_async_request"):
        httpring.AsyncClient(mounts={"all://": httpring.HTTPTransport()})


def test_a_scheme_through_a_proxy_transport(testserver):
    proxy = FakeProxy()
    try:
        with httpring.Client(mounts={"http://upstream.test": httpring.HTTPTransport(proxy=proxy.url)}) as c:
            r = c.get("http://upstream.test/p?q=1")
            assert r.json() == {"proxied": "GET http://upstream.test/p?q=1 HTTP/1.1"}
            assert c.get(testserver.url + "/hello").text == "Hello, world!"  # direct
        assert proxy.seen == ["GET http://upstream.test/p?q=1 HTTP/1.1"]
    finally:
        proxy.close()


def test_send_many_mixes_both_in_order_and_close_closes_every_transport(testserver):
    mock, other = Closing(lambda r: httpring.Response(201, text="m")), Closing(lambda r: httpring.Response(202))
    seen = []
    c = httpring.Client(
        mounts={"all://mock.test": mock, "all://other.test": other, "all://again.test": mock},
        event_hooks={"request": [lambda r: seen.append(str(r.url))]},
    )
    urls = [testserver.url + "/hello", "http://mock.test/1", testserver.url + "/json", "http://other.test/", "x://bad"]
    results = c.send_many(urls, return_exceptions=True)
    assert [getattr(r, "status_code", None) for r in results] == [200, 201, 200, 202, None]
    assert isinstance(results[4], httpring.UnsupportedProtocol)
    assert results[0].text == "Hello, world!" and results[2].json()["n"] == 42
    assert seen == urls
    c.close()
    assert (mock.closed, other.closed) == (1, 1)  # each once, though mounted twice


def test_async_mounts(testserver):
    async def main() -> None:
        mock = Closing(lambda r: httpring.Response(200, text="async mock"))
        c = httpring.AsyncClient(mounts={"all://mock.test": mock})
        assert (await c.get("http://mock.test/")).text == "async mock"
        assert (await c.get(testserver.url + "/hello")).text == "Hello, world!"
        results = await c.send_many([testserver.url + "/hello", "http://mock.test/", testserver.url + "/json"])
        assert [r.text for r in results[:2]] == ["Hello, world!", "async mock"] and results[2].json()["ok"]
        async with c.stream("GET", "http://mock.test/s") as r:
            assert await r.aread() == b"async mock"
        await c.aclose()
        assert mock.closed == 1

    asyncio.run(main())


def test_a_transport_gets_the_timeouts_and_a_mounted_http_transport_keeps_them(testserver):
    """As httpx: a transport finds the request's timeouts in ``extensions["timeout"]`` (the
    request's own over the client's), and an HTTPTransport applies them: a mounted one
    (per-scheme proxies are mounted so) times out as its client says, not by the 5 s
    default of a client of its own."""
    seen = []

    def handler(request):
        seen.append(request.extensions["timeout"])
        return httpring.Response(200)

    with httpring.Client(timeout=httpring.Timeout(2.0, read=3.0), mounts={"all://mock.test": httpring.MockTransport(handler)}) as c:
        c.get("http://mock.test/")
        c.get("http://mock.test/", timeout=httpring.Timeout(1.0, pool=None))
    assert seen == [
        {"connect": 2.0, "read": 3.0, "write": 2.0, "pool": 2.0},
        {"connect": 1.0, "read": 1.0, "write": 1.0, "pool": None},
    ]
    slow = testserver.url + "/delay/1500"
    with httpring.Client(timeout=0.3, mounts={"http://": httpring.HTTPTransport()}) as c:
        with pytest.raises(httpring.ReadTimeout):
            c.get(slow)
        assert c.get(slow, timeout=5.0).status_code == 200  # the request's own
        with pytest.raises(httpring.ReadTimeout):  # settings of its own, not its timeouts
            c.get(slow, retries=0)

    async def main():
        async with httpring.AsyncClient(timeout=0.3, mounts={"http://": httpring.AsyncHTTPTransport()}) as c:
            with pytest.raises(httpring.ReadTimeout):
                await c.get(slow)

    asyncio.run(main())

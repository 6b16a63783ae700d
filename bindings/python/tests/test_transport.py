"""Transport options other than TLS: HTTP/2 over cleartext (h2c), DNS overrides and the
resolver cache, proxies (explicit and from the environment), Unix sockets, and the
engine's counters (client.stats())."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
import time

import pytest

import httpring

from servers import FakeProxy, UnixServer


def test_http_version_defaults_to_http1(testserver):
    with httpring.Client() as c:
        assert c.get(testserver.url + "/hello").http_version == "HTTP/1.1"
    # http2=True negotiates by ALPN, which only exists over TLS: plain http stays 1.1.
    with httpring.Client(http2=True) as c:
        assert c.get(testserver.url + "/hello").http_version == "HTTP/1.1"


@pytest.mark.parametrize(
    "options",
    [{"http2_prior_knowledge": True}, {"http1": False, "http2": True}],
    ids=["http2_prior_knowledge", "http1=False"],
)
def test_h2c_prior_knowledge(testserver, options):
    with httpring.Client(**options) as c:
        r = c.get(testserver.url + "/hello")
        assert r.status_code == 200 and r.http_version == "HTTP/2"
        assert r.text == "Hello, world!"
        echo = c.post(testserver.url + "/echo", json={"a": 1}, headers={"X-A": "b"}).json()
        assert echo["method"] == "POST" and echo["body"] == '{"a":1}' and echo["headers"]["x-a"] == "b"
        # Not HEAD: the test server (hyper's HTTP/2 server) sends a body with a HEAD
        # response, which the client rightly rejects. test_https covers HEAD over HTTP/2.


def test_h2c_multiplexes_concurrent_requests(testserver):
    async def main():
        async with httpring.AsyncClient(http2_prior_knowledge=True) as c:
            await c.get(testserver.url + "/hello")
            before = c.stats()
            rs = await asyncio.gather(*(c.get(testserver.url + "/delay/50") for _ in range(100)))
            assert {r.http_version for r in rs} == {"HTTP/2"}
            after = c.stats()
            assert after.connections_opened == before.connections_opened
            assert after.pooled_connections == 1

    asyncio.run(main())


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"http2_prior_knowledge": True}, id="h2c+http1-for-https"),
        pytest.param({"http2_prior_knowledge": True, "http2": True}, id="h2c+negotiate"),
        pytest.param({"http1": False, "http2": True}, id="http2-only"),
    ],
)
def test_h2c_cold_batch_shares_one_connection(testserver, options):
    with httpring.Client(**options) as c:
        rs = c.send_many([testserver.url + "/hello"] * 20)
        assert {r.http_version for r in rs} == {"HTTP/2"}
        assert c.stats().connections_opened == 1


def test_stats(testserver):
    with httpring.Client() as c:
        s = c.stats()
        assert isinstance(s, httpring.Stats)
        assert s == (0, 0, 0, 0)
        c.get(testserver.url + "/hello")
        c.get(testserver.url + "/hello")
        s = c.stats()
        assert s.live_handles == 0 and s.connections_opened == 1 and s.pooled_connections == 1
        assert s.dns_lookups == 0  # an IP literal needs no lookup
        h = c.submit("GET", testserver.url + "/delay/100")
        assert c.stats().live_handles == 1
        h.close()
    with pytest.raises(httpring.ClientClosed):
        c.stats()


def test_resolve_overrides_dns(testserver):
    port = testserver.port
    for resolve in (
        [f"api.test:{port}:127.0.0.1"],
        [f"api.test:*:127.0.0.1"],
        {"api.test": "127.0.0.1"},
        {("api.test", port): ["::1", "127.0.0.1"]},
    ):
        with httpring.Client(resolve=resolve) as c:
            r = c.get(f"http://api.test:{port}/echo")
            assert r.status_code == 200
            assert r.json()["headers"]["host"] == f"api.test:{port}"
            assert c.stats().dns_lookups == 0


def test_dns_cache(testserver):
    url = f"http://localhost:{testserver.port}/hello"
    with httpring.Client(limits=httpring.Limits(max_idle_per_host=0)) as c:
        for _ in range(3):
            c.get(url)
        assert c.stats().dns_lookups == 1
        assert c.stats().connections_opened == 3
    with httpring.Client(dns_cache_ttl=0, limits=httpring.Limits(max_idle_per_host=0)) as c:
        for _ in range(3):
            c.get(url)
        assert c.stats().dns_lookups == 3


@pytest.fixture
def proxy():
    p = FakeProxy()
    yield p
    p.close()


def test_explicit_proxy(proxy):
    with httpring.Client(proxy=proxy.url) as c:
        r = c.get("http://upstream.test/path?q=1")
        assert r.json() == {"proxied": "GET http://upstream.test/path?q=1 HTTP/1.1"}
        with pytest.raises(httpring.ProxyError) as info:
            c.get("https://upstream.test/")
        assert info.value.code_name == "HTTPRING_ERR_PROXY"
        assert "upstream.test" in str(info.value)
    assert proxy.seen[-1].startswith("CONNECT upstream.test:443 ")


def test_an_https_proxy():
    """proxy="https://...": TLS to the proxy (verified against verify=), the requests inside
    it; an untrusted proxy certificate fails as a certificate error before any request."""
    from servers import ca_path

    proxy = FakeProxy(tls=True)
    try:
        assert proxy.url.startswith("https://")
        with httpring.Client(proxy=proxy.url, verify=ca_path()) as c:
            r = c.get("http://upstream.test/path?q=1")
            assert r.json() == {"proxied": "GET http://upstream.test/path?q=1 HTTP/1.1"}
            with pytest.raises(httpring.ProxyError):
                c.get("https://upstream.test/")  # this proxy refuses CONNECT

        async def main() -> None:
            async with httpring.AsyncClient(proxy=httpring.Proxy(proxy.url), verify=ca_path()) as c:
                assert (await c.get("http://upstream.test/a")).json()["proxied"].startswith("GET http://upstream.test/a ")

        asyncio.run(main())
        assert proxy.seen[-3:] == [
            "GET http://upstream.test/path?q=1 HTTP/1.1", "CONNECT upstream.test:443 HTTP/1.1", "GET http://upstream.test/a HTTP/1.1"
        ]
        seen = len(proxy.seen)
        with httpring.Client(proxy=proxy.url) as strict:
            with pytest.raises(httpring.CertificateError) as info:
                strict.get("http://upstream.test/")
            assert f"127.0.0.1:{proxy.port}" in str(info.value)
        assert len(proxy.seen) == seen
    finally:
        proxy.close()


def test_proxy_objects_as_httpx(proxy):
    # httpx.Proxy: credentials given apart (or in the URL) reach the proxy, not url/repr.
    import base64

    p = httpring.Proxy(proxy.url, auth=("us:er", "p@ss word"))
    assert p.url == proxy.url and "p@ss" not in repr(p)
    with httpring.Client(proxy=p) as c:
        assert c.get("http://upstream.test/a").json() == {"proxied": "GET http://upstream.test/a HTTP/1.1"}
    assert proxy.authorizations[-1] == "Basic " + base64.b64encode(b"us:er:p@ss word").decode()
    in_url = httpring.Proxy(proxy.url.replace("http://", "http://u%40x:pw@"))
    assert in_url.auth == ("u@x", "pw") and in_url.url == proxy.url
    with httpring.Client(proxy=in_url) as c:
        c.get("http://upstream.test/b")
    assert proxy.authorizations[-1] == "Basic " + base64.b64encode(b"u@x:pw").decode()
    with httpring.Client(proxy=httpring.Proxy(proxy.url)) as c:
        c.get("http://upstream.test/c")
    assert len(proxy.authorizations) == 2 and len(proxy.seen) == 3  # none sent the third time
    with pytest.raises(NotImplementedError, match="headers"):
        httpring.Proxy(proxy.url, headers={"X-A": "1"})
    with pytest.raises(ValueError, match="scheme"):
        httpring.Proxy("ftp://127.0.0.1:1")
    assert httpring.Timeout(5.0, pool=1.0).as_dict() == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 1.0}


def test_no_proxy(proxy, testserver):
    with httpring.Client(proxy=proxy.url, no_proxy=["127.0.0.1"]) as c:
        assert c.get(testserver.url + "/hello").text == "Hello, world!"
    assert proxy.seen == []


def test_proxy_from_environment(proxy, testserver, monkeypatch):
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # A name that resolves to the test server, so a direct request succeeds too.
    resolve = [f"direct.test:{testserver.port}:127.0.0.1"]
    url = f"http://direct.test:{testserver.port}/hello"
    with httpring.Client(resolve=resolve) as c:
        assert c.get(url).json()["proxied"].startswith("GET http://direct.test:")
    with httpring.Client(resolve=resolve, trust_env=False) as c:
        assert c.get(url).text == "Hello, world!"
    # Environment proxies never apply to loopback addresses.
    with httpring.Client() as c:
        assert c.get(testserver.url + "/hello").text == "Hello, world!"


def test_unix_socket():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "http.sock")
        server = UnixServer(path)
        try:
            with httpring.Client(uds=path) as c:
                r = c.get("http://unix.test/v1/info?x=1")
                assert r.status_code == 200
                assert r.json()["path"] == "/v1/info?x=1"
                assert r.json()["headers"]["host"] == "unix.test"
                assert c.post("http://unix.test/p", content=b"abc").json()["method"] == "POST"

            async def main():
                async with httpring.AsyncClient(uds=path) as ac:
                    rs = await asyncio.gather(*(ac.get(f"http://x/{i}") for i in range(20)))
                    return [r.json()["path"] for r in rs]

            assert asyncio.run(main()) == [f"/{i}" for i in range(20)]
        finally:
            server.close()
        with httpring.Client(uds=os.path.join(d, "missing.sock")) as c:
            with pytest.raises(httpring.ConnectError):
                c.get("http://unix.test/")


def test_http_transport_settings_as_httpx(httpbin_secure, testserver):
    # transport=HTTPTransport(...) builds the engine with the transport's settings, which
    # replace the client's own (as httpx's transport holds its own).
    from test_retries import closed_port

    url = f"http://127.0.0.1:{closed_port()}/"
    with httpring.Client(transport=httpring.HTTPTransport(retries=2)) as c:
        with pytest.raises(httpring.ConnectError) as info:
            c.get(url)
        assert info.value.attempts == 3  # httpx's retries: connections that fail
    with httpring.Client(transport=httpring.HTTPTransport(retries=2), timing=True) as c:
        r = c.get(testserver.url + "/status/503")
        assert r.status_code == 503 and r.extensions["timing"]["attempts"] == 1  # no status retries
    with httpring.Client(transport=httpring.HTTPTransport(verify=False)) as c:
        assert c.get(httpbin_secure.url + "/get").status_code == 200
    with httpring.Client(verify=False, transport=httpring.HTTPTransport()) as c:
        with pytest.raises(httpring.ConnectError):  # the transport's verify=True
            c.get(httpbin_secure.url + "/get")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "http.sock")
        server = UnixServer(path)
        try:
            with httpring.Client(transport=httpring.HTTPTransport(uds=path)) as c:
                assert c.get("http://unix.test/a").json()["path"] == "/a"
        finally:
            server.close()
    with pytest.raises(TypeError, match="retries"):
        httpring.HTTPTransport(retries=-1)


def _keepalive_timer(port: int):
    """The keepalive timer of this process's connection to 127.0.0.1:port, from
    /proc/net/tcp: ticks (1/100 s) to the first probe, or None when not armed."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    row = next(r for r in rows if r[2] == f"0100007F:{port:04X}" and r[3] == "01")
    timer, when = row[5].split(":")
    return int(when, 16) if timer == "02" else None


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads Linux's /proc/net/tcp")
def test_local_address_and_keepalive_socket_options(testserver):
    port = int(testserver.url.rsplit(":", 1)[1])
    with httpring.Client() as c:
        assert c.get(testserver.url + "/peer").text == "127.0.0.1"
    # Any of 127.0.0.0/8 is this host's: the server sees the address chosen.
    with httpring.Client(local_address="127.0.0.2") as c:
        assert c.get(testserver.url + "/peer").text == "127.0.0.2"
    with httpring.Client(transport=httpring.HTTPTransport(local_address="127.0.0.2")) as c:
        assert c.get(testserver.url + "/peer").text == "127.0.0.2"
    with pytest.raises(ValueError, match="local_address: local address \"eth0\" is not an IPv4 or IPv6 address"):
        httpring.Client(local_address="eth0")
    with httpring.Client(local_address="::1") as c:  # IPv6 cannot reach the IPv4 server
        with pytest.raises(httpring.ConnectError, match="no IPv6 address"):
            c.get(testserver.url + "/peer")
    # httpx's socket_options: keepalive as the engine's setting.
    keepalive = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1), (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 9)]
    with httpring.Client(transport=httpring.HTTPTransport(socket_options=keepalive)) as c:
        c.get(testserver.url + "/hello")
        ticks = _keepalive_timer(port)
        assert ticks is not None and 0 < ticks <= 900
    # Without SO_KEEPALIVE the timings do nothing, as in the kernel.
    with httpring.Client(socket_options=keepalive[1:] + [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]) as c:
        c.get(testserver.url + "/hello")
        assert _keepalive_timer(port) is None
    with pytest.raises(NotImplementedError, match="not a setting of the engine's"):
        httpring.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)])
    with pytest.raises(TypeError, match="socket_options"):
        httpring.Client(socket_options=[(socket.SOL_SOCKET, socket.SO_KEEPALIVE)])
    with pytest.raises(ValueError, match="socket_options: TCP keepalive: idle and interval at most 32767 s"):
        httpring.Client(socket_options=[(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1), (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 500)])


async def _peer_async(url: str) -> str:
    async with httpring.AsyncClient(transport=httpring.AsyncHTTPTransport(local_address="127.0.0.2")) as c:
        return (await c.get(url)).text


def test_local_address_async(testserver):
    assert asyncio.run(_peer_async(testserver.url + "/peer")) == "127.0.0.2"


def test_http2_keepalive_fails_a_silent_connection_fast(testserver):
    # An h2c server that sends its SETTINGS, then never reads again: PINGs go unanswered.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    held = []

    def serve() -> None:
        conn, _ = sock.accept()
        conn.recv(65536)
        conn.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # an empty SETTINGS frame
        held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        with httpring.Client(http2_prior_knowledge=True, http2_keepalive=(0.1, 0.2), timeout=10) as c:
            start = time.monotonic()
            with pytest.raises(httpring.ReadTimeout, match="HTTP/2 PING"):
                c.get(url)
            assert time.monotonic() - start < 3  # not the 10 s read timeout
    finally:
        for conn in held:
            conn.close()
        sock.close()
    # A server that answers keeps working with pings on; bad values are refused.
    with httpring.Client(http2_prior_knowledge=True, http2_keepalive=0.05) as c:
        assert c.get(testserver.url + "/hello").http_version == "HTTP/2"
        time.sleep(0.2)
        assert c.get(testserver.url + "/hello").text == "Hello, world!"
        assert c.stats().connections_opened == 1
    for bad in (0, -1, "30", (1, 0)):
        with pytest.raises(ValueError, match="http2_keepalive"):
            httpring.Client(http2_keepalive=bad)


def test_http2_read_timeout_is_the_stream_s_own_silence(testserver):
    """Over HTTP/2 every stream shares the socket: neither keep-alive PINGs nor another
    stream's body keep a response head the server holds waiting past the read timeout.
    /delay/5000 answers after 5 s; the read timeout is 0.3 s."""
    held = testserver.url + "/delay/5000"
    silent = "no data from the server for 300ms while waiting for the response head"
    timeout = httpring.Timeout(10, read=0.3)
    with httpring.Client(http2_prior_knowledge=True, http2_keepalive=0.05, timeout=timeout) as c:
        t = time.monotonic()
        with pytest.raises(httpring.ReadTimeout, match=silent):
            c.get(held)
        assert 0.29 <= time.monotonic() - t < 1.5

    async def main() -> None:
        async with httpring.AsyncClient(http2_prior_knowledge=True, timeout=timeout) as c:
            async with c.stream("GET", testserver.url + "/drip/30/100") as r:
                assert r.http_version == "HTTP/2"
                t = time.monotonic()
                ended: list[float] = []
                waiting = asyncio.ensure_future(c.get(held))
                waiting.add_done_callback(lambda _: ended.append(time.monotonic()))
                got = b"".join([piece async for piece in r.aiter_bytes()])
                assert got == b"x" * 30  # 3 s of it
            with pytest.raises(httpring.ReadTimeout, match=silent):
                await waiting
            assert 0.29 <= ended[0] - t < 1.5

    asyncio.run(main())


def test_http_transport_alone_and_async(testserver):
    t = httpring.HTTPTransport()
    r = t.handle_request(httpring.Request("GET", testserver.url + "/hello"))
    assert r.text == "Hello, world!"
    t.close()

    async def main():
        async with httpring.AsyncClient(transport=httpring.AsyncHTTPTransport(http1=True)) as c:
            assert (await c.get(testserver.url + "/hello")).text == "Hello, world!"
        at = httpring.AsyncHTTPTransport()
        r = await at.handle_async_request(httpring.Request("GET", testserver.url + "/hello"))
        await at.aclose()
        return r.text

    assert asyncio.run(main()) == "Hello, world!"

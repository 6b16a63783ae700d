"""Redirects a transport answers with (a MockTransport, a mounted one) are followed by the
client, as httpx follows them around any transport: each hop is a request of its own
(event hooks, the jar's cookies, the transport its URL is mounted to or the engine), built
by the engine's redirect rules (``Response.next_request``)."""

from __future__ import annotations

import asyncio
import json

import pytest

import httpring


def chain(request: httpring.Request) -> httpring.Response:
    """/a 307 -> /b (sets s=1); /b 308 -> /c (sets s=2); /c 303 -> other.test/d; /d answers
    with what it got."""
    path = request.url.path
    if path == "/a":
        return httpring.Response(307, headers={"Location": "/b", "Set-Cookie": "s=1"})
    if path == "/b":
        return httpring.Response(308, headers={"Location": "/c", "Set-Cookie": "s=2"})
    if path == "/c":
        return httpring.Response(303, headers={"Location": "http://other.test:8080/d"})
    return httpring.Response(200, json={
        "method": request.method, "url": str(request.url), "body": request.read().decode(),
        "headers": dict(request.headers),
    })


def check_chain(r: httpring.Response, seen: list) -> None:
    assert r.status_code == 200
    got = r.json()
    assert [h.status_code for h in r.history] == [307, 308, 303]
    assert str(r.url) == "http://other.test:8080/d" and r.next_request is None
    # 303 turned the POST into a GET, without its body or the headers that describe it.
    assert got["method"] == "GET" and got["body"] == ""
    assert "content-length" not in got["headers"] and "content-type" not in got["headers"]
    # Another origin: no credentials, the new Host.
    assert got["headers"]["host"] == "other.test:8080"
    assert not {"authorization", "cookie"} & set(got["headers"])
    # The hops as the transport got them: 307 and 308 kept the method and body; each hop got the
    # jar's cookies as they were then (s=1 on /b, s=2 on /c) beside the caller's own.
    assert [(m, u, b, c) for m, u, b, c in seen[:3]] == [
        ("POST", "http://a.test/a", "data", "mine=1"),
        ("POST", "http://a.test/b", "data", "mine=1; s=1"),
        ("POST", "http://a.test/c", "data", "mine=1; s=2"),
    ]


def recording(seen: list):
    def handler(request: httpring.Request) -> httpring.Response:
        seen.append((request.method, str(request.url), request.read().decode(), request.headers.get("cookie")))
        return chain(request)

    return handler


def test_a_chain_through_a_transport_is_followed():
    seen: list = []
    hooked: list = []
    with httpring.Client(
        transport=httpring.MockTransport(recording(seen)),
        follow_redirects=True,
        auth=("u", "p"),
        event_hooks={"response": [lambda r: hooked.append(r.status_code)]},
    ) as c:
        r = c.post("http://a.test/a", content=b"data", headers={"Cookie": "mine=1", "Content-Type": "text/plain"})
        check_chain(r, seen)
        assert hooked == [307, 308, 303, 200]  # every hop through the hooks
        assert c.cookies["s"] == "2"
        # Not followed: the redirect, with the request it leads to.
        r = c.post("http://a.test/a", content=b"data", follow_redirects=False)
        assert r.status_code == 307 and r.next_request.url == "http://a.test/b"


def test_the_limit_ends_a_chain_through_a_transport():
    def loop(request):
        n = int(request.url.path.strip("/") or 0)
        return httpring.Response(302, headers={"Location": f"/{n + 1}"})

    with httpring.Client(transport=httpring.MockTransport(loop), follow_redirects=True, max_redirects=3) as c:
        with pytest.raises(httpring.TooManyRedirects) as info:
            c.get("http://a.test/0")
        assert info.value.request.url == "http://a.test/4"
        c.max_redirects = 4
        with pytest.raises(httpring.TooManyRedirects):
            c.get("http://a.test/0")


def test_a_hop_leaving_the_mounts_goes_to_the_engine(testserver):
    # The first hop is mocked; its redirect goes to the test server through the engine.
    def handler(request):
        return httpring.Response(302, headers={"Location": f"{testserver.url}/echo"})

    with httpring.Client(mounts={"http://mocked.test": httpring.MockTransport(handler)}, follow_redirects=True) as c:
        r = c.get("http://mocked.test/start", headers={"X-Kept": "yes"})
        assert r.status_code == 200 and [h.status_code for h in r.history] == [302]
        echoed = json.loads(r.content)
        assert echoed["headers"]["x-kept"] == "yes"
        assert echoed["headers"]["host"] == f"127.0.0.1:{testserver.port}"


def test_send_many_and_stream_follow_too():
    seen: list = []
    with httpring.Client(transport=httpring.MockTransport(recording(seen)), follow_redirects=True) as c:
        rs = c.send_many([c.build_request("POST", "http://a.test/a", content=b"data", headers={"Cookie": "mine=1"})])
        check_chain(rs[0], seen)
        with c.stream("GET", "http://a.test/a") as r:
            assert r.status_code == 200 and len(r.history) == 3
            assert json.loads(r.read())["method"] == "GET"


def test_an_async_chain_through_a_transport_is_followed():
    seen: list = []

    async def handler(request):
        body = (await request.aread()).decode()
        seen.append((request.method, str(request.url), body, request.headers.get("cookie")))
        return chain(request)

    async def main():
        async with httpring.AsyncClient(transport=httpring.MockTransport(handler), follow_redirects=True) as c:
            r = await c.post("http://a.test/a", content=b"data", headers={"Cookie": "mine=1"})
            check_chain(r, seen)
            seen.clear()
            c.cookies.clear()
            rs = await c.send_many([c.build_request("POST", "http://a.test/a", content=b"data", headers={"Cookie": "mine=1"})])
            check_chain(rs[0], seen)
            async with c.stream("GET", "http://a.test/a") as r:
                assert r.status_code == 200 and len(r.history) == 3
            c.max_redirects = 2
            with pytest.raises(httpring.TooManyRedirects):
                await c.get("http://a.test/a")

    asyncio.run(main())


def test_the_engine_rules_refuse_https_to_http_and_bad_locations():
    def handler(request):
        if request.url.path == "/down":
            return httpring.Response(302, headers={"Location": "http://a.test/plain"})
        if request.url.path == "/bad":
            return httpring.Response(302, headers={"Location": "http://[::1"})
        return httpring.Response(200)

    with httpring.Client(transport=httpring.MockTransport(handler), follow_redirects=True) as c:
        with pytest.raises(httpring.InsecureRedirect, match="https to plain http"):
            c.get("https://a.test/down")
        with pytest.raises(httpring.RemoteProtocolError, match="invalid Location"):
            c.get("https://a.test/bad")
        # Not followed: next_request is built (the caller decides), the same URL the engine
        # would have gone to.
        r = c.get("https://a.test/down", follow_redirects=False)
        assert r.next_request.url == "http://a.test/plain"


def test_a_location_in_another_scheme_is_given_not_refused():
    # An app's callback (OAuth): the redirect comes back with its next_request, as in httpx;
    # following it fails where it is sent.
    def handler(request):
        return httpring.Response(302, headers={"Location": "myapp://callback?code=abc"})

    with httpring.Client(transport=httpring.MockTransport(handler)) as c:
        r = c.get("https://a.test/authorize")
        assert r.status_code == 302 and str(r.next_request.url) == "myapp://callback?code=abc"
        with pytest.raises(httpring.UnsupportedProtocol):
            c.get("https://a.test/authorize", follow_redirects=True)


def test_a_chain_that_left_the_origin_carries_no_own_headers_again():
    # The caller's own Cookie and Authorization go to the first origin's hops only: after
    # the chain left it (even back home), none, as the engine does.
    seen: list = []

    def handler(request):
        seen.append((str(request.url), request.headers.get("cookie"), request.headers.get("authorization")))
        hops = {"/start": "http://b.test/one", "/one": "/two", "/two": "http://a.test/back", "/back": "/end"}
        if request.url.path in hops:
            return httpring.Response(302, headers={"Location": hops[request.url.path]})
        return httpring.Response(200)

    with httpring.Client(transport=httpring.MockTransport(handler), follow_redirects=True) as c:
        r = c.get("http://a.test/start", headers={"Cookie": "mine=1", "Authorization": "Bearer own"})
        assert r.status_code == 200 and len(r.history) == 4
    assert seen[0][1:] == ("mine=1", "Bearer own")
    assert all(cookie is None and auth is None for _, cookie, auth in seen[1:]), seen


def test_user_info_in_a_location_is_for_the_next_hop():
    seen: list = []

    def handler(request):
        seen.append(request.headers.get("authorization"))
        if request.url.host == "a.test":
            return httpring.Response(302, headers={"Location": "http://lu:lp@b.test/y"})
        return httpring.Response(200)

    with httpring.Client(transport=httpring.MockTransport(handler), follow_redirects=True, auth=("c", "c")) as c:
        assert c.get("http://a.test/x").status_code == 200
    assert seen == ["Basic Yzpj", "Basic bHU6bHA="]  # c:c, then lu:lp (another origin: not c:c)
    # A URL with user info and no port is a URL (its ':' is not a port's).
    with httpring.Client(transport=httpring.MockTransport(lambda r: httpring.Response(302, headers={"Location": "/y"}))) as c:
        assert str(c.get("http://u:p@a.test/x").next_request.url) == "http://u:p@a.test/y"


def _into_mock(testserver) -> tuple:
    """A chain the engine follows: 127.0.0.1 -> localhost (another origin, still the
    engine's) -> http://mocked.test/end (mounted). Returns (start URL, second hop URL)."""
    second = f"http://localhost:{testserver.port}/redirect-to?url=http://mocked.test/end"
    return f"{testserver.url}/redirect-to?url={second}", second


def _mock(seen: list):
    def handler(request):
        seen.append((request.method, str(request.url), dict(request.headers)))
        return httpring.Response(200, json={"at": str(request.url)})

    return handler


def test_a_chain_the_engine_follows_into_a_mount_goes_to_the_mount(testserver):
    # The engine stops at the hop into the mounted origin (its redirect stops); the client
    # sends that hop to the mount. Before, the engine went to the network for it.
    seen: list = []
    hooked: list = []
    start, second = _into_mock(testserver)
    with httpring.Client(
        mounts={"http://mocked.test": httpring.MockTransport(_mock(seen))},
        follow_redirects=True,
        auth=("u", "p"),
        event_hooks={"response": [lambda r: hooked.append(r.status_code)]},
    ) as c:
        r = c.get(start, headers={"Cookie": "mine=1"})
        assert r.status_code == 200 and r.json() == {"at": "http://mocked.test/end"}
        assert str(r.url) == "http://mocked.test/end" and r.next_request is None
        # Both hops in the history, the engine's first; the limit counts them all.
        assert [(h.status_code, str(h.url)) for h in r.history] == [(302, start), (302, second)]
        assert [h.status_code for h in r.history[1].history] == [302]  # each hop's own, as httpx
        assert [(m, u) for m, u, _ in seen] == [("GET", "http://mocked.test/end")]
        # Another origin: none of the credentials went along.
        assert not {"authorization", "cookie"} & set(seen[0][2])
        assert hooked == [302, 200]  # the engine's own hop does not pass through the hooks
        c.max_redirects = 1
        with pytest.raises(httpring.TooManyRedirects):
            c.get(start)
        # Not following: the first redirect, as before.
        c.max_redirects = 10
        r = c.get(start, follow_redirects=False)
        assert r.status_code == 302 and str(r.next_request.url) == second
        # send_many and stream go the same way.
        seen.clear()
        rs = c.send_many([c.build_request("GET", start)])
        assert rs[0].status_code == 200 and len(rs[0].history) == 2 and len(seen) == 1
        with c.stream("GET", start) as s:
            assert s.status_code == 200 and json.loads(s.read()) == {"at": "http://mocked.test/end"}
            assert len(s.history) == 2


def test_an_async_chain_the_engine_follows_into_a_mount_goes_to_the_mount(testserver):
    seen: list = []
    start, second = _into_mock(testserver)

    async def main():
        async with httpring.AsyncClient(
            mounts={"http://mocked.test": httpring.MockTransport(_mock(seen)), "all://localhost": None},
            follow_redirects=True,
        ) as c:
            r = await c.get(start)
            assert r.status_code == 200 and r.json() == {"at": "http://mocked.test/end"}
            assert [(h.status_code, str(h.url)) for h in r.history] == [(302, start), (302, second)]
            rs = await c.send_many([c.build_request("GET", start), c.build_request("GET", f"{testserver.url}/hello")])
            assert rs[0].status_code == 200 and len(rs[0].history) == 2
            assert rs[1].status_code == 200 and rs[1].text == "Hello, world!"
            async with c.stream("GET", start) as s:
                assert s.status_code == 200 and len(s.history) == 2
            # A chain that stays with the engine's origins is the engine's alone.
            r = await c.get(f"{testserver.url}/redirect/2")
            assert r.status_code == 200 and len(r.history) == 2
        assert len(seen) == 3

    asyncio.run(main())

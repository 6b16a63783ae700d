"""Redirects, followed by the engine (the binding only passes follow_redirects and
max_redirects on, and reads the hops back into Response.history), mostly against
pytest-httpbin."""

from __future__ import annotations

import asyncio

import pytest

import httpring


@pytest.fixture
def base(httpbin):
    return httpbin.url.rstrip("/")


def test_not_followed_by_default(client, base):
    r = client.get(base + "/redirect/1")
    assert r.status_code == 302 and r.is_redirect
    assert r.headers["location"]
    assert r.history == []
    with pytest.raises(httpring.HTTPStatusError, match="Redirect response"):
        r.raise_for_status()


def test_follow_per_request(client, base):
    r = client.get(base + "/redirect/3", follow_redirects=True)
    assert r.status_code == 200
    assert r.url == base + "/get"
    assert [h.status_code for h in r.history] == [302, 302, 302]


def test_follow_client_option(base):
    with httpring.Client(follow_redirects=True) as c:
        assert c.get(base + "/relative-redirect/2").url == base + "/get"
        assert c.get(base + "/absolute-redirect/2").url.path == "/get"
        assert c.get(base + "/redirect/1", follow_redirects=False).status_code == 302


def test_too_many_redirects(base):
    with httpring.Client(follow_redirects=True, max_redirects=2) as c:
        with pytest.raises(httpring.TooManyRedirects):
            c.get(base + "/redirect/3")
        assert c.get(base + "/redirect/2").status_code == 200


@pytest.mark.parametrize("status,method", [(301, "GET"), (302, "GET"), (303, "GET"), (307, "POST"), (308, "POST")])
def test_method_rewriting(client, base, status, method):
    r = client.post(
        base + "/redirect-to",
        params={"url": "/anything", "status_code": status},
        content=b"body",
        headers={"Content-Type": "text/plain"},
        follow_redirects=True,
    )
    echo = r.json()
    assert echo["method"] == method
    assert r.history[0].status_code == status
    if method == "POST":
        assert echo["data"] == "body"
        assert echo["headers"]["Content-Type"] == "text/plain"
    else:
        assert echo["data"] == ""
        assert "Content-Type" not in echo["headers"]


def test_authorization_dropped_across_origins(client, base, testserver):
    # httpbin on 127.0.0.1, the test server on the same host but another port: another origin.
    target = testserver.url + "/echo"
    r = client.get(
        base + "/redirect-to",
        params={"url": target},
        headers={"Authorization": "Bearer x", "X-Keep": "1"},
        follow_redirects=True,
    )
    headers = r.json()["headers"]
    assert "authorization" not in headers
    assert headers["x-keep"] == "1"


@pytest.mark.parametrize("name", ["Authorization", "Cookie", "Proxy-Authorization"])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_default_credentials_dropped_across_origins(base, testserver, name, asynchronous):
    # The leak that was: a client's default credentials went to the other origin, because the
    # engine added them to every hop. They must reach the first origin and not the second.
    target = testserver.url + "/echo"
    headers = {name: "secret", "X-Default": "1"}

    async def via_async():
        async with httpring.AsyncClient(headers=headers, follow_redirects=True) as c:
            first = await c.get(base + "/headers")
            return first, await c.get(base + "/redirect-to", params={"url": target})

    if asynchronous:
        first, r = asyncio.run(via_async())
    else:
        with httpring.Client(headers=headers, follow_redirects=True) as c:
            first = c.get(base + "/headers")
            r = c.get(base + "/redirect-to", params={"url": target})
    assert first.json()["headers"][name] == "secret"
    assert r.history[0].status_code == 302
    echoed = r.json()["headers"]
    assert name.lower() not in echoed
    assert echoed["x-default"] == "1"


def test_default_credentials_kept_on_same_origin(base):
    with httpring.Client(headers={"Authorization": "Bearer t"}, follow_redirects=True) as c:
        r = c.get(base + "/redirect-to", params={"url": "/headers"})
        assert r.json()["headers"]["Authorization"] == "Bearer t"
        # A request's own value still wins over the default.
        r = c.get(base + "/headers", headers={"Authorization": "Bearer mine"})
        assert r.json()["headers"]["Authorization"] == "Bearer mine"
        req = httpring.Request("GET", base + "/headers")
        assert c.send(req).json()["headers"]["Authorization"] == "Bearer t"


def test_async_follow(base):
    async def main():
        async with httpring.AsyncClient(follow_redirects=True) as c:
            r = await c.get(base + "/redirect/2")
            assert r.status_code == 200 and len(r.history) == 2
            out = await c.send_many([base + "/redirect/1", base + "/get"])
            assert [x.url for x in out] == [base + "/get", base + "/get"]

    asyncio.run(main())


def test_send_many_follows(client, base):
    out = client.send_many([base + "/redirect/2", base + "/get"], follow_redirects=True)
    assert [r.status_code for r in out] == [200, 200]
    assert len(out[0].history) == 2


def test_history_statuses_urls_and_methods(client, base):
    r = client.get(base + "/redirect/3", follow_redirects=True)
    assert [h.url for h in r.history] == [
        base + "/redirect/3", base + "/relative-redirect/2", base + "/relative-redirect/1",
    ]
    assert [h.request.method for h in r.history] == ["GET"] * 3
    # The engine keeps no hop's headers: a hop carries the URL it led to as its Location.
    assert [h.headers["location"] for h in r.history] == [h.url for h in r.history[1:]] + [r.url]
    assert all(h.is_redirect and h.content == b"" for h in r.history)
    assert [len(h.history) for h in r.history] == [0, 1, 2]
    assert r.request.url == r.url == base + "/get"


def test_absolute_redirect_history(client, base):
    r = client.get(base + "/absolute-redirect/2", follow_redirects=True)
    assert r.status_code == 200 and r.url == base + "/get"
    assert [h.status_code for h in r.history] == [302, 302]
    assert [h.url for h in r.history] == [base + "/absolute-redirect/2", base + "/absolute-redirect/1"]


def test_303_post_becomes_get_and_307_keeps_the_body(client, base):
    r = client.post(base + "/redirect-to", params={"url": "/anything", "status_code": 303}, content=b"x", follow_redirects=True)
    assert r.request.method == "GET" and r.history[0].request.method == "POST"
    assert r.json()["method"] == "GET" and r.json()["data"] == ""
    r = client.post(base + "/redirect-to", params={"url": "/anything", "status_code": 307}, json={"k": 1}, follow_redirects=True)
    assert r.request.method == "POST" and r.json()["json"] == {"k": 1}
    assert r.history[0].status_code == 307


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_max_redirects_is_httpx_semantics(base, limit):
    # httpx: up to max_redirects redirects are followed; one more raises TooManyRedirects.
    with httpring.Client(follow_redirects=True, max_redirects=limit) as c:
        if limit:
            assert len(c.get(base + f"/redirect/{limit}").history) == limit
        with pytest.raises(httpring.TooManyRedirects):
            c.get(base + f"/redirect/{limit + 1}")


def test_max_redirects_checked():
    with pytest.raises(ValueError):
        httpring.Client(max_redirects=-1)


def test_client_settings_assigned_later(base):
    with httpring.Client() as c:
        c.follow_redirects = True
        assert c.follow_redirects is True
        assert c.get(base + "/redirect/1").url == base + "/get"
        c.max_redirects = 1
        with pytest.raises(httpring.TooManyRedirects):
            c.get(base + "/redirect/2")
        c.follow_redirects = False
        c.max_redirects = 20
        assert c.get(base + "/redirect/1").status_code == 302


def test_fast_path_untouched_without_redirects(client, base):
    r = client.get(base + "/get")
    assert r.history == [] and r.request.method == "GET"


def test_send_and_send_many_overrides(base):
    with httpring.Client(follow_redirects=True) as c:
        req = c.build_request("GET", base + "/redirect/1")
        assert c.send(req).status_code == 200
        assert c.send(req, follow_redirects=False).status_code == 302
        out = c.send_many([base + "/redirect/1", base + "/redirect/2"], follow_redirects=False)
        assert [r.status_code for r in out] == [302, 302]
        out = c.send_many([base + "/redirect/2"])
        assert [h.status_code for h in out[0].history] == [302, 302]
    with httpring.Client() as c:
        out = c.send_many([base + "/redirect/4", base + "/get"], follow_redirects=True, return_exceptions=True)
        assert len(out[0].history) == 4 and out[1].history == []


def test_handle_api_reads_history(base):
    with httpring.Client(follow_redirects=True) as c:
        r = c.submit("GET", base + "/redirect/2").response()
        assert r.status_code == 200 and len(r.history) == 2


def test_async_overrides_and_limits(base):
    async def main():
        async with httpring.AsyncClient() as c:
            r = await c.get(base + "/redirect/2")
            assert r.status_code == 302
            r = await c.get(base + "/redirect/2", follow_redirects=True)
            assert [h.url for h in r.history] == [base + "/redirect/2", base + "/relative-redirect/1"]
            r = await c.post(base + "/redirect-to", params={"url": "/anything", "status_code": 303}, content=b"x", follow_redirects=True)
            assert r.request.method == "GET"
            out = await c.send_many([base + "/redirect/1"] * 3 + [base + "/get"], follow_redirects=True)
            assert [len(x.history) for x in out] == [1, 1, 1, 0]
            assert not c._dispatcher.follow_uids
        async with httpring.AsyncClient(follow_redirects=True, max_redirects=2) as c:
            rs = await asyncio.gather(*(c.get(base + "/redirect/2") for _ in range(5)))
            assert [len(x.history) for x in rs] == [2] * 5
            with pytest.raises(httpring.TooManyRedirects):
                await c.get(base + "/redirect/3")
            assert (await c.get(base + "/redirect/1", follow_redirects=False)).status_code == 302

    asyncio.run(main())


def test_async_cancelled_override_request_is_freed(base):
    async def main():
        async with httpring.AsyncClient() as c:
            task = asyncio.ensure_future(c.get(base + "/redirect-to", params={"url": "/delay/5"}, follow_redirects=True))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not c._dispatcher.follow_uids
            assert c.live_handles() == 0

    asyncio.run(main())

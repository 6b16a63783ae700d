"""Redirects, followed in Python (the engine does not follow them yet), against
pytest-httpbin (the project's test server has no redirect route)."""

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
        assert c.get(base + "/absolute-redirect/2").url.endswith("/get")
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

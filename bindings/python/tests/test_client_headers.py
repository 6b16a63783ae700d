"""A mutable ``client.headers``, as in httpx: changes reach the requests made after them.

The headers a client is created with are the engine's (sent with every request); the
binding sends whatever differs from them as each request's own headers. Checked against
the test server's /echo, which answers with the headers it received."""

from __future__ import annotations

import asyncio

import pytest

import httpring


@pytest.fixture
def echo(testserver):
    return testserver.url + "/echo"


def got(response):
    return response.json()["headers"]


def test_is_a_live_headers_object():
    with httpring.Client(headers={"X-A": "1"}) as c:
        h = c.headers
        assert isinstance(h, httpring.Headers)
        assert h is c.headers and h == {"X-A": "1"}
        h["X-B"] = "2"
        assert c.headers["x-b"] == "2"


def test_add_change_revert_remove(echo):
    with httpring.Client(headers={"X-A": "1"}) as c:
        assert got(c.get(echo))["x-a"] == "1"
        c.headers["X-B"] = "2"
        c.headers["X-A"] = "changed"
        h = got(c.get(echo))
        assert h["x-a"] == "changed" and h["x-b"] == "2"
        # A request's own header still wins over the client's.
        h = got(c.get(echo, headers={"X-B": "own", "x-a": "own-a"}))
        assert h["x-b"] == "own" and h["x-a"] == "own-a"
        # Back to the value the client was created with; a header added later removed.
        c.headers["X-A"] = "1"
        del c.headers["x-b"]
        h = got(c.get(echo))
        assert h["x-a"] == "1" and "x-b" not in h
        c.headers.update({"X-C": "3"})
        c.headers.add("X-C", "4")
        assert got(c.get(echo))["x-c"] == "3, 4"
        assert c.headers.pop("X-C") == "3, 4"
        assert "x-c" not in got(c.get(echo))


def test_assignment(echo):
    with httpring.Client() as c:
        c.headers = {"X-One": "1", "User-Agent": "me/1"}
        h = got(c.get(echo))
        assert h["x-one"] == "1" and h["user-agent"] == "me/1"
        c.headers = [("X-Two", "a"), ("X-Two", "b")]
        h = got(c.get(echo))
        assert "x-one" not in h and h["x-two"] == "a, b"
        assert h["user-agent"].startswith("httpring/")  # the engine's own default again
        c.headers.clear()
        assert "x-two" not in got(c.get(echo))


def test_constructor_headers_cannot_be_removed(echo):
    with httpring.Client(headers={"X-Fixed": "f", "X-Other": "o"}) as c:
        with pytest.raises(NotImplementedError, match="x-fixed"):
            del c.headers["X-Fixed"]
        with pytest.raises(NotImplementedError, match="x-other"):
            c.headers = {"X-Fixed": "new"}
        with pytest.raises(NotImplementedError):
            c.headers.clear()
        # Nothing changed by the refused calls.
        assert c.headers == {"X-Fixed": "f", "X-Other": "o"}
        h = got(c.get(echo))
        assert h["x-fixed"] == "f" and h["x-other"] == "o"
        # Their values can change, by assignment too.
        c.headers = {"x-fixed": "1", "X-OTHER": "2", "X-New": "3"}
        h = got(c.get(echo))
        assert (h["x-fixed"], h["x-other"], h["x-new"]) == ("1", "2", "3")


def test_every_way_of_sending_sees_changes(echo):
    with httpring.Client() as c:
        req = c.build_request("GET", echo)
        assert "x-late" not in req.headers
        c.headers["X-Late"] = "yes"
        # A request built before the change keeps what it was built with (as in httpx).
        assert "x-late" not in got(c.send(req))
        req = c.build_request("GET", echo)
        assert req.headers["x-late"] == "yes"
        assert got(c.send(req))["x-late"] == "yes"
        assert all(got(r)["x-late"] == "yes" for r in c.send_many([echo, ("POST", echo), req]))
        assert got(c.submit("GET", echo).response())["x-late"] == "yes"
        assert got(c.get(echo, follow_redirects=True))["x-late"] == "yes"
        h = got(c.post(echo, files={"f": b"x"}, headers={"X-Own": "1"}))
        assert h["x-late"] == "yes" and h["x-own"] == "1"


def test_async_cached_gets_follow_changes(echo):
    async def main():
        async with httpring.AsyncClient(headers={"X-A": "1"}) as c:
            seen = [got(await c.get(echo)).get("x-a")]
            c.headers["X-A"] = "2"
            seen.append(got(await c.get(echo)).get("x-a"))
            rs = await asyncio.gather(*(c.get(echo) for _ in range(5)))
            seen.append({got(r)["x-a"] for r in rs})
            c.headers["X-A"] = "1"
            seen.append(got(await c.get(echo)).get("x-a"))
            c.headers["X-B"] = "b"
            rs = await c.send_many([echo, echo])
            seen.append([got(r).get("x-b") for r in rs])
            return seen

    assert asyncio.run(main()) == ["1", "2", {"2"}, "1", ["b", "b"]]


@pytest.mark.parametrize("name", ["Authorization", "Cookie"])
@pytest.mark.parametrize("given", ["later", "changed"])
def test_credentials_set_later_dropped_across_origins(httpbin, testserver, name, given):
    # Credentials put on client.headers after creation (or a changed value of ones given at
    # creation) are sent as each request's own header: the engine drops those too when a
    # redirect leaves the origin.
    base = httpbin.url.rstrip("/")
    initial = {name: "old"} if given == "changed" else {}
    with httpring.Client(headers=initial, follow_redirects=True) as c:
        c.headers[name] = "secret"
        first = c.get(base + "/headers").json()["headers"]
        assert first[name] == "secret"
        r = c.get(base + "/redirect-to", params={"url": testserver.url + "/echo"})
        assert r.history[0].status_code == 302
        assert name.lower() not in got(r)


def test_changed_cookie_header_and_the_jar(testserver):
    base = testserver.url
    with httpring.Client(headers={"Cookie": "fixed=1"}) as c:
        c.get(base + "/cookies/set?jar=j")
        assert c.get(base + "/cookies").text == "fixed=1; jar=j"
        c.headers["Cookie"] = "mine=2"
        assert c.get(base + "/cookies").text == "mine=2; jar=j"
        c.headers["Cookie"] = "fixed=1"
        assert c.get(base + "/cookies").text == "fixed=1; jar=j"

"""A mutable ``client.headers``, as in httpx: changes reach the requests made after them.

The headers a client is created with are the engine's (sent with every request); the
binding sends whatever differs from them as each request's own headers, and asks the
engine to leave out those removed since. Checked against the test server's /echo, which
answers with the headers it received."""

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
        assert h is c.headers and h["X-A"] == "1"
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


def test_constructor_headers_can_be_removed(echo):
    with httpring.Client(headers={"X-Fixed": "f", "X-Other": "o"}) as c:
        del c.headers["X-Fixed"]
        assert "x-fixed" not in c.headers and c.headers["X-Other"] == "o"
        h = got(c.get(echo))
        assert "x-fixed" not in h and h["x-other"] == "o"
        # Assignment and clear() remove the names they leave out, as in httpx.
        c.headers = {"x-fixed": "1", "X-New": "3"}
        h = got(c.get(echo))
        assert (h["x-fixed"], h["x-new"]) == ("1", "3") and "x-other" not in h
        assert got(c.get(echo))["user-agent"].startswith("httpring/")  # kept, as in httpx
        c.headers.clear()
        h = got(c.get(echo))
        # Every name goes, the engine's own defaults too (httpx then sends none either).
        assert not {"x-fixed", "x-other", "x-new", "user-agent", "accept-encoding"} & set(h)


def test_removed_header_left_out_of_every_way_of_sending(testserver, echo):
    headers = {"X-Fixed": "f", "X-Other": "o"}
    with httpring.Client(headers=headers) as c:
        before = c.build_request("GET", echo)
        c.headers.pop("X-Fixed")
        after = c.build_request("GET", echo)
        assert "x-fixed" not in after.headers
        sent = [
            c.get(echo),
            c.post(echo, content=b"x"),
            c.post(echo, files={"f": b"x"}, headers={"X-Own": "1"}),
            c.get(echo, timeout=5.0),
            c.get(echo, auth=("u", "p")),
            c.get(testserver.url + "/redirect-to?url=/echo", follow_redirects=True),
            c.send(after),
            *c.send_many([echo, ("POST", echo), c.build_request("GET", echo)]),
            c.submit("GET", echo).response(),
        ]
        with c.stream("GET", echo) as r:
            r.read()
            sent.append(r)
        for r in sent:
            h = got(r)
            assert "x-fixed" not in h and h["x-other"] == "o", h
        # A request built before the removal keeps what it was built with (as in httpx).
        assert got(c.send(before))["x-fixed"] == "f"


def test_removed_header_comes_back_when_set_again(echo):
    with httpring.Client(headers={"X-Fixed": "f"}) as c:
        del c.headers["x-fixed"]
        assert "x-fixed" not in got(c.get(echo))
        c.headers["X-Fixed"] = "again"
        assert got(c.get(echo))["x-fixed"] == "again"
        del c.headers["X-Fixed"]
        c.headers["X-Fixed"] = "f"  # the engine's own value: the engine sends it again
        assert got(c.get(echo))["x-fixed"] == "f"
        assert c._default_overrides is None  # and every request is back on the fast calls


def test_lists_the_engines_own_defaults(echo):
    # As httpx lists its defaults: what the engine sends with every request besides the
    # caller's headers, first, readable, replaceable and removable like the others.
    with httpring.Client(headers={"X-A": "1"}) as c:
        assert list(c.headers) == ["user-agent", "accept-encoding", "x-a"]
        assert c.headers["User-Agent"].startswith("httpring/")
        assert c.headers["accept-encoding"] == "gzip, deflate, br, zstd"
        h = got(c.get(echo))
        assert h["user-agent"] == c.headers["user-agent"]
        assert h["accept-encoding"] == c.headers["accept-encoding"]
        assert c._default_overrides is None  # listing them costs the requests nothing
        r = c.get(echo)
        assert r.request.headers["user-agent"] == c.headers["user-agent"]
        c.headers["User-Agent"] = "later/2"
        assert got(c.get(echo))["user-agent"] == "later/2"
        del c.headers["user-agent"]
        del c.headers["Accept-Encoding"]
        h = got(c.get(echo))
        assert "user-agent" not in h and "accept-encoding" not in h and h["x-a"] == "1"
        # An assignment starts from the engine's own defaults again (httpx's setter does).
        c.headers = {"X-B": "2"}
        assert list(c.headers) == ["user-agent", "accept-encoding", "x-b"]
        h = got(c.get(echo))
        assert h["user-agent"].startswith("httpring/") and "x-a" not in h and h["x-b"] == "2"
    # A name the constructor was given is listed once, with the given value.
    with httpring.Client(headers={"User-Agent": "mine/1"}) as c:
        assert c.headers.get_list("user-agent") == ["mine/1"]
        assert list(c.headers) == ["accept-encoding", "user-agent"]
        assert got(c.get(echo))["user-agent"] == "mine/1"


@pytest.mark.anyio
async def test_async_lists_the_engines_own_defaults(echo):
    async with httpring.AsyncClient() as c:
        assert c.headers["user-agent"].startswith("httpring/")
        del c.headers["user-agent"]
        assert "user-agent" not in got(await c.get(echo))


@pytest.mark.parametrize("name", ["User-Agent", "Accept-Encoding"])
def test_removed_header_the_engine_would_also_send(echo, name):
    # The engine sends a User-Agent and an Accept-Encoding of its own; a client given one
    # replaces it, and removing it leaves the name out entirely.
    with httpring.Client() as c:
        assert name.lower() in got(c.get(echo))
    with httpring.Client(headers={name: "mine", "X-Other": "o"}) as c:
        assert got(c.get(echo))[name.lower()] == "mine"
        del c.headers[name]
        h = got(c.get(echo))
        assert name.lower() not in h and h["x-other"] == "o"
        assert name.lower() not in got(c.get(echo, follow_redirects=True))


def test_removed_header_of_a_built_request(echo):
    # Deleting a client default from a built request's headers leaves it out too.
    with httpring.Client(headers={"X-Fixed": "f", "X-Other": "o"}) as c:
        req = c.build_request("GET", echo)
        del req.headers["X-Fixed"]
        h = got(c.send(req))
        assert "x-fixed" not in h and h["x-other"] == "o"
        assert got(c.get(echo))["x-fixed"] == "f"  # the client's are untouched


def test_removed_cookie_header_and_cookies_without_domain(testserver):
    base = testserver.url
    with httpring.Client(headers={"Cookie": "fixed=1"}, cookies={"any": "a"}) as c:
        assert c.get(base + "/cookies").text == "fixed=1; any=a"
        del c.headers["Cookie"]
        assert c.get(base + "/cookies").text == "any=a"


def test_async_removed_header(testserver, echo):
    async def main():
        async with httpring.AsyncClient(headers={"X-Fixed": "f", "User-Agent": "me/1", "X-Other": "o"}) as c:
            seen = [got(await c.get(echo))]
            del c.headers["x-fixed"]
            c.headers.pop("user-agent")
            req = c.build_request("POST", echo, content=b"x")
            rs = await asyncio.gather(*(c.get(echo) for _ in range(5)), c.send(req))
            rs += await c.send_many([echo, ("POST", echo)])
            rs.append(await c.get(testserver.url + "/redirect-to?url=/echo", follow_redirects=True))
            async with c.stream("GET", echo) as r:
                await r.aread()
                rs.append(r)
            seen += [got(r) for r in rs]
            c.headers["X-Fixed"] = "back"
            seen.append(got(await c.get(echo)))
            return seen

    first, *removed, last = asyncio.run(main())
    assert first["x-fixed"] == "f" and first["user-agent"] == "me/1"
    assert len(removed) == 10
    for h in removed:
        assert "x-fixed" not in h and "user-agent" not in h and h["x-other"] == "o", h
    assert last["x-fixed"] == "back" and "user-agent" not in last


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


def test_response_request_keeps_the_headers_it_was_sent_with(echo):
    async def via_async():
        async with httpring.AsyncClient(headers={"X-A": "1"}) as c:
            rs = [await c.get(echo), await c.post(echo, content=b"x"), *await c.send_many([echo])]
            async with c.stream("GET", echo) as r:
                rs.append(r)
            c.headers["X-A"] = "2"
            c.headers["X-B"] = "b"
            return rs

    with httpring.Client(headers={"X-A": "1"}) as c:
        rs = [c.get(echo), c.post(echo, content=b"x"), *c.send_many([echo])]
        with c.stream("GET", echo) as r:
            rs.append(r)
        c.headers["X-A"] = "2"
        del c.headers["x-a"]
        c.headers["X-B"] = "b"
    for r in rs + asyncio.run(via_async()):
        mine = {k: v for k, v in r.request.headers.items() if k.startswith("x-")}
        assert mine == {"x-a": "1"}, r.request.headers
        assert r.request.headers["user-agent"].startswith("httpring/")


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

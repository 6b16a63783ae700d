"""Cookies: the engine's jar behind Client/AsyncClient (what responses set is sent on the
next requests, per host), client.cookies as a live view of it, cookies= on the client and
per request, Response.cookies, and httpring.Cookies itself (httpx's interface)."""

from __future__ import annotations

import asyncio
import time
from http.cookiejar import CookieJar

import pytest

import httpring


def sent(client, base, **kwargs):
    """The Cookie header the test server received, split into a {name: value} dict."""
    text = client.get(base + "/cookies", **kwargs).text
    return dict(p.split("=", 1) for p in text.split("; ") if p)


def localhost(base):
    return base.replace("127.0.0.1", "localhost")


@pytest.fixture
def base(testserver):
    return testserver.url


# --- the jar: set by one response, sent on the next --------------------------------------

def test_set_then_sent(base):
    with httpring.Client() as c:
        r = c.get(base + "/cookies/set?a=1&b=2")
        assert r.status_code == 200
        assert c.get(base + "/cookies").text == "a=1; b=2"
        c.get(base + "/cookies/delete?a")
        assert c.get(base + "/cookies").text == "b=2"


def test_set_then_sent_async(base):
    async def main():
        async with httpring.AsyncClient() as c:
            await c.get(base + "/cookies/set?a=1&b=2")
            r = await c.get(base + "/cookies")
            assert r.text == "a=1; b=2"
            # Concurrent requests all carry them.
            rs = await asyncio.gather(*(c.get(base + "/cookies") for _ in range(20)))
            assert {x.text for x in rs} == {"a=1; b=2"}
            assert dict(c.cookies) == {"a": "1", "b": "2"}

    asyncio.run(main())


def test_send_many_carries_cookies(base):
    with httpring.Client() as c:
        c.get(base + "/cookies/set?k=v")
        rs = c.send_many([base + "/cookies"] * 8)
        assert {r.text for r in rs} == {"k=v"}


def test_clients_do_not_share_jars(base):
    with httpring.Client() as a, httpring.Client() as b:
        a.get(base + "/cookies/set?only=a")
        assert b.get(base + "/cookies").text == ""
        assert a.get(base + "/cookies").text == "only=a"


def test_not_sent_to_another_host(base):
    # 127.0.0.1:P and localhost:P are the same server, two hosts for cookies.
    with httpring.Client(resolve={"localhost": "127.0.0.1"}) as c:
        c.get(base + "/cookies/set?k=v")
        assert c.get(base + "/cookies").text == "k=v"
        assert c.get(localhost(base) + "/cookies").text == ""
        c.get(localhost(base) + "/cookies/set?other=1")
        assert c.get(base + "/cookies").text == "k=v"
        assert c.get(localhost(base) + "/cookies").text == "other=1"


def test_foreign_domain_not_kept(base):
    with httpring.Client() as c:
        r = c.get(base + "/cookies/set?d=1&attrs=Domain=example.com")
        assert r.headers["set-cookie"].startswith("d=1")
        assert len(r.cookies) == 0
        assert len(c.cookies) == 0
        assert c.get(base + "/cookies").text == ""


def test_redirect_sets_cookie_httpbin(httpbin):
    url = httpbin.url.rstrip("/")
    with httpring.Client(follow_redirects=True) as c:
        r = c.get(url + "/cookies/set?k=v")
        # The 302 set it; the engine sent it on the hop it followed to /cookies.
        assert r.url.path == "/cookies" and [h.status_code for h in r.history] == [302]
        assert r.json() == {"cookies": {"k": "v"}}
        assert c.cookies["k"] == "v"
        c.get(url + "/cookies/set/other/2")
        assert c.get(url + "/cookies").json() == {"cookies": {"k": "v", "other": "2"}}
        r = c.get(url + "/cookies/delete?k")
        assert r.json() == {"cookies": {"other": "2"}}


def test_redirect_not_followed_httpbin(httpbin):
    url = httpbin.url.rstrip("/")
    with httpring.Client() as c:
        r = c.get(url + "/cookies/set?k=v")
        assert r.status_code == 302
        assert r.cookies["k"] == "v"
        assert c.get(url + "/cookies").json() == {"cookies": {"k": "v"}}


def test_redirect_not_followed_httpbin_async(httpbin):
    url = httpbin.url.rstrip("/")

    async def main():
        async with httpring.AsyncClient(follow_redirects=True) as c:
            r = await c.get(url + "/cookies/set?k=v")
            assert r.json() == {"cookies": {"k": "v"}}
            r = await c.get(url + "/cookies")
            assert r.json() == {"cookies": {"k": "v"}}

    asyncio.run(main())


# --- cookies= on the client --------------------------------------------------------------

def test_client_cookies_without_domain_go_everywhere(base):
    with httpring.Client(cookies={"a": "1"}, resolve={"localhost": "127.0.0.1"}) as c:
        assert sent(c, base) == {"a": "1"}
        assert sent(c, localhost(base)) == {"a": "1"}
        c.get(base + "/cookies/set?b=2")
        assert sent(c, base) == {"a": "1", "b": "2"}
        assert sent(c, localhost(base)) == {"a": "1"}


def test_client_cookies_with_domain(base):
    jar = httpring.Cookies()
    jar.set("here", "1", domain="127.0.0.1")
    jar.set("there", "2", domain="localhost")
    jar.set("deep", "3", domain="127.0.0.1", path="/cookies/deeper")
    with httpring.Client(cookies=jar, resolve={"localhost": "127.0.0.1"}) as c:
        assert sent(c, base) == {"here": "1"}
        assert sent(c, localhost(base)) == {"there": "2"}
        assert sorted(c.cookies) == ["deep", "here", "there"]


def test_client_cookies_async(base):
    async def main():
        async with httpring.AsyncClient(cookies=[("a", "1")]) as c:
            r = await c.get(base + "/cookies")
            assert r.text == "a=1"
            c.cookies.set("b", "2", domain="127.0.0.1")
            r = await c.get(base + "/cookies")
            assert r.text == "a=1; b=2"

    asyncio.run(main())


def test_client_cookies_from_cookiejar(base):
    source = httpring.Cookies({"x": "1"})
    with httpring.Client(cookies=source.jar) as c:
        assert sent(c, base) == {"x": "1"}


def test_refused_cookie_raises():
    with pytest.raises(ValueError, match="refused"):
        httpring.Client(cookies=_cookies_for("", "1", "127.0.0.1"))


def _cookies_for(name, value, domain):
    c = httpring.Cookies()
    c.set(name, value, domain=domain)
    return c


# --- client.cookies: a live view ---------------------------------------------------------

def test_client_cookies_read(base):
    with httpring.Client() as c:
        assert not c.cookies and len(c.cookies) == 0
        c.get(base + "/cookies/set?a=1&b=2")
        view = c.cookies
        assert len(view) == 2 and bool(view)
        assert view["a"] == "1" and view.get("b") == "2" and view.get("zz", "d") == "d"
        assert sorted(view) == ["a", "b"]
        assert dict(view) == {"a": "1", "b": "2"}
        assert repr(view) == "<Cookies[<Cookie a=1 for 127.0.0.1 />, <Cookie b=2 for 127.0.0.1 />]>"
        cookie = next(iter(view.jar))
        assert cookie.domain == "127.0.0.1" and cookie.path == "/"
        # Live: what a later response sets shows in the same view.
        c.get(base + "/cookies/set?c=3")
        assert view["c"] == "3"


def test_client_cookies_set_delete_clear(base):
    with httpring.Client(resolve={"localhost": "127.0.0.1"}) as c:
        c.cookies.set("a", "1", domain="127.0.0.1")
        c.cookies["b"] = "2"  # no domain: every host
        assert sent(c, base) == {"a": "1", "b": "2"}
        assert sent(c, localhost(base)) == {"b": "2"}
        c.cookies.set("a", "changed", domain="127.0.0.1")
        assert sent(c, base) == {"a": "changed", "b": "2"}
        del c.cookies["a"]
        assert sent(c, base) == {"b": "2"}
        c.cookies.delete("b")
        assert sent(c, base) == {}
        c.get(base + "/cookies/set?x=1&y=2")
        c.cookies.set("l", "1", domain="localhost")
        c.cookies.clear(domain="127.0.0.1")
        assert sent(c, base) == {} and dict(c.cookies) == {"l": "1"}
        c.get(base + "/cookies/set?x=1")
        c.cookies.clear()
        assert sent(c, base) == {} and sent(c, localhost(base)) == {} and not c.cookies


def test_client_cookies_domain_forms():
    with httpring.Client() as c:
        c.cookies.set("a", "1", domain="example.com")
        c.cookies.set("b", "2", domain="host.test", path="/p")
        assert [k.domain for k in c.cookies.jar] == [".example.com", ".host.test"]
        assert c.cookies.get("a", domain="example.com") == "1"
        assert c.cookies.get("a", domain=".example.com") == "1"
        assert c.cookies.get("b", domain="host.test", path="/p") == "2"
        assert c.cookies.get("b", domain="host.test", path="/") is None
        c.cookies.delete("a", domain="example.com")
        c.cookies.clear("host.test", "/p")
        assert not c.cookies


def test_client_cookies_update_and_assign(base):
    with httpring.Client(cookies={"old": "1"}) as c:
        c.get(base + "/cookies/set?server=1")
        c.cookies.update({"new": "2"})
        assert sent(c, base) == {"old": "1", "new": "2", "server": "1"}
        c.cookies = {"only": "3"}
        assert sent(c, base) == {"only": "3"}
        assert dict(c.cookies) == {"only": "3"}
        other = httpring.Cookies()
        other.set("d", "4", domain="127.0.0.1")
        c.cookies = other
        assert sent(c, base) == {"d": "4"}


def test_client_cookies_secure_and_httponly(base):
    with httpring.Client() as c:
        c.get(base + "/cookies/set?s=1&attrs=Secure")
        c.get(base + "/cookies/set?h=2&attrs=HttpOnly")
        # Loopback is a secure context for the engine, as in browsers.
        assert sent(c, base) == {"s": "1", "h": "2"}
        flags = {k.name: (k.secure, k.has_nonstandard_attr("HttpOnly")) for k in c.cookies.jar}
        assert flags == {"s": (True, False), "h": (False, True)}
        c.cookies.delete("s")
        assert sent(c, base) == {"h": "2"}


def test_client_cookies_after_close(base):
    with httpring.Client() as c:
        c.get(base + "/cookies/set?k=v")
    assert dict(c.cookies) == {"k": "v"}
    with pytest.raises(httpring.ClientClosed):
        c.cookies.set("a", "b", domain="127.0.0.1")


def test_cookies_save_and_load(base, tmp_path):
    path = tmp_path / "jar.txt"
    with httpring.Client() as c:
        c.get(base + "/cookies/set?k=v")
        c.cookies.save(str(path))
    assert "\tk\tv" in path.read_text()
    with httpring.Client() as c:
        assert c.cookies.load(str(path)) == 1
        assert sent(c, base) == {"k": "v"}


def test_client_cookies_expired_seed(base):
    jar = httpring.Cookies()
    jar.set("a", "1", domain="127.0.0.1")
    jar.jar.set_cookie(httpring._cookies.make_cookie("gone", "x", "127.0.0.1", expires=int(time.time()) - 10))
    jar.jar.set_cookie(httpring._cookies.make_cookie("later", "y", "127.0.0.1", expires=int(time.time()) + 3600))
    with httpring.Client(cookies=jar) as c:
        assert sent(c, base) == {"a": "1", "later": "y"}
        assert {k.name: k.expires for k in c.cookies.jar}["later"] is not None


# --- per request -------------------------------------------------------------------------

def test_request_cookies(base):
    with httpring.Client(cookies={"client": "c"}) as c:
        c.get(base + "/cookies/set?jar=j")
        r = c.get(base + "/cookies", cookies={"req": "r"})
        assert r.text == "client=c; req=r; jar=j"
        # The request's own Cookie header comes first.
        r = c.get(base + "/cookies", headers={"Cookie": "own=o"}, cookies={"req": "r"})
        assert r.text == "own=o; client=c; req=r; jar=j"
        # The request's value wins over the client's one of the same name.
        assert sent(c, base, cookies={"client": "mine"}) == {"client": "mine", "jar": "j"}
        # Per request only: not kept.
        assert sent(c, base) == {"client": "c", "jar": "j"}
        assert "req" not in c.cookies


def test_default_cookie_header_kept(base):
    # The client's default Cookie header, its cookies with no domain, then the jar's.
    with httpring.Client(headers={"Cookie": "def=1"}, cookies={"a": "1"}) as c:
        c.get(base + "/cookies/set?jar=j")
        assert c.get(base + "/cookies").text == "def=1; a=1; jar=j"
        assert c.get(base + "/cookies", cookies={"r": "1"}).text == "def=1; a=1; r=1; jar=j"
        # The request's own Cookie header replaces the default one, as any header does.
        assert c.get(base + "/cookies", headers={"Cookie": "own=1"}).text == "own=1; a=1; jar=j"
    with httpring.Client(headers={"Cookie": "def=1"}) as c:
        assert c.get(base + "/cookies", cookies={"r": "1"}).text == "def=1; r=1"


def test_request_cookies_async_and_other_methods(base):
    async def main():
        async with httpring.AsyncClient() as c:
            r = await c.get(base + "/cookies", cookies={"a": "1"})
            assert r.text == "a=1"
            r = await c.request("GET", base + "/cookies", cookies=httpring.Cookies({"b": "2"}))
            assert r.text == "b=2"

    asyncio.run(main())
    with httpring.Client() as c:
        r = c.post(base + "/echo", cookies={"p": "1"}, content=b"x")
        assert r.json()["headers"]["cookie"] == "p=1"
        req = c.build_request("GET", base + "/cookies", cookies={"q": "2"})
        assert req.headers["cookie"] == "q=2"
        assert c.send(req).text == "q=2"


def test_request_cookies_domain_matched(base):
    jar = httpring.Cookies()
    jar.set("mine", "1", domain="127.0.0.1")
    jar.set("theirs", "2", domain="example.com")
    with httpring.Client() as c:
        assert sent(c, base, cookies=jar) == {"mine": "1"}


# --- Response.cookies --------------------------------------------------------------------

def test_response_cookies(base):
    with httpring.Client() as c:
        r = c.get(base + "/cookies/set?a=1&b=2")
        assert dict(r.cookies) == {"a": "1", "b": "2"}
        assert [k.domain for k in r.cookies.jar] == ["127.0.0.1", "127.0.0.1"]
        assert len(c.get(base + "/cookies").cookies) == 0
        # A deletion is no cookie.
        r = c.get(base + "/cookies/delete?a")
        assert r.headers.get("set-cookie") and len(r.cookies) == 0


def test_response_cookies_parsing():
    r = httpring.Response(
        200,
        headers=[
            ("set-cookie", "a=1; Path=/x; Secure; HttpOnly"),
            ("set-cookie", "b=two words; Domain=.example.com; Max-Age=60"),
            ("set-cookie", "c=3; Domain=other.org"),
            ("set-cookie", "d=4; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
            ("set-cookie", "noequals"),
            ("set-cookie", "e=5"),
        ],
        url="https://www.example.com/dir/page",
    )
    got = {k.name: k for k in r.cookies.jar}
    assert sorted(got) == ["a", "b", "e"]
    assert (got["a"].domain, got["a"].path, got["a"].secure) == ("www.example.com", "/x", True)
    assert got["a"].has_nonstandard_attr("HttpOnly")
    assert (got["b"].value, got["b"].domain) == ("two words", ".example.com")
    assert got["b"].expires is not None
    assert got["e"].path == "/dir"


# --- httpring.Cookies (httpx's interface) -------------------------------------------------

def test_cookies_mapping():
    c = httpring.Cookies({"a": "1"})
    c["b"] = "2"
    c.set("a", "other", domain="example.com")
    assert len(c) == 3 and bool(c)
    with pytest.raises(httpring.CookieConflict):
        c["a"]
    assert c.get("a", domain="") == "1"
    assert c.get("a", domain="example.com") == "other"
    assert c.get("missing") is None and c.get("missing", "x") == "x"
    with pytest.raises(KeyError):
        c["missing"]
    c.delete("a", domain="example.com")
    assert c["a"] == "1"
    del c["a"]
    assert dict(c) == {"b": "2"}
    c.update({"x": "1"})
    c.update([("y", "2")])
    assert sorted(c) == ["b", "x", "y"]
    c.set("z", "9", domain="example.org", path="/p")
    c.clear(domain="example.org")
    assert "z" not in c
    c.clear()
    assert not c and len(c) == 0
    assert repr(httpring.Cookies({"n": "v"})) == "<Cookies[<Cookie n=v for  />]>"


def test_cookies_copy_and_jar():
    a = httpring.Cookies({"k": "v"})
    b = httpring.Cookies(a)
    b["k"] = "changed"
    assert a["k"] == "v" and b["k"] == "changed"
    jar = CookieJar()
    shared = httpring.Cookies(jar)
    shared["s"] = "1"
    assert [x.name for x in jar] == ["s"]
    assert httpring.Cookies(jar).jar is jar


def test_cached_get_sees_cookie_changes(base):
    # A bare get(url) reuses a prepared request: a change of the client's cookies with no
    # domain must still show on the next one.
    async def main():
        async with httpring.AsyncClient() as c:
            url = base + "/cookies"
            assert (await c.get(url)).text == ""
            c.cookies["a"] = "1"
            assert (await c.get(url)).text == "a=1"
            c.cookies["a"] = "2"
            assert (await c.get(url)).text == "a=2"
            del c.cookies["a"]
            assert (await c.get(url)).text == ""

    asyncio.run(main())
    with httpring.Client() as c:
        c.cookies["b"] = "1"
        assert c.send_many([base + "/cookies"])[0].text == "b=1"
        c.cookies = {}
        assert c.send_many([base + "/cookies"])[0].text == ""

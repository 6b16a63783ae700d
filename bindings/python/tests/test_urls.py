"""``Response.url`` and ``Request.url`` as ``httpring.URL`` objects, shaped like httpx.URL
(with ``httpring.QueryParams`` for ``.params``)."""

from __future__ import annotations

import asyncio

import pytest

import httpring
from httpring import URL, QueryParams


# --- on responses and requests -----------------------------------------------------------

def test_response_url(client, testserver):
    r = client.get(testserver.url + "/echo", params={"a": "1", "b": ["x", "y z"]})
    url = r.url
    assert isinstance(url, URL)
    text = f"{testserver.url}/echo?a=1&b=x&b=y+z"
    assert str(url) == text and url == text and url == URL(text)
    assert url.scheme == "http" and url.host == "127.0.0.1" and url.port == testserver.port
    assert url.path == "/echo" and url.query == b"a=1&b=x&b=y+z"
    assert url.params == QueryParams("a=1&b=x&b=y+z")
    assert url.params["b"] == "x" and url.params.get_list("b") == ["x", "y z"]
    assert url.netloc == f"127.0.0.1:{testserver.port}".encode()
    assert url.raw_path == b"/echo?a=1&b=x&b=y+z"
    assert r.url is url  # parsed once
    assert r.request.url == url and isinstance(r.request.url, URL)


def test_decoded_path_and_idna(client, testserver):
    r = client.get(testserver.url + "/echo/caf\u00e9")
    assert str(r.url).endswith("/echo/caf%C3%A9")
    assert r.url.path == "/echo/caf\u00e9"
    assert URL("http://xn--mnchen-3ya.de/").host == "m\u00fcnchen.de"
    assert URL("http://M\u00dcNCHEN.de/").raw_host == b"xn--mnchen-3ya.de"


def test_history_urls(client, httpbin):
    base = httpbin.url.rstrip("/")
    r = client.get(base + "/redirect/2", follow_redirects=True)
    assert [h.url for h in r.history] == [base + "/redirect/2", base + "/relative-redirect/1"]
    assert all(isinstance(h.url, URL) for h in r.history)
    assert r.url.path == "/get"


def test_async_response_url(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            return await c.get(testserver.url + "/hello")

    r = asyncio.run(main())
    assert isinstance(r.url, URL) and r.url.path == "/hello"


def test_request_url(client, testserver):
    req = client.build_request("GET", testserver.url + "/echo", params={"q": "1"})
    assert isinstance(req.url, URL) and req.url.params == QueryParams({"q": "1"})
    assert repr(req) == f"<Request('GET', '{testserver.url}/echo?q=1')>"
    # Assigning a URL (or a str) changes what is sent, as in httpx.
    req.url = req.url.copy_with(path="/echo/other")
    assert client.send(req).json()["path"] == "/echo/other?q=1"
    req = httpring.Request("GET", URL(testserver.url).join("/hello"))
    assert str(req.url) == testserver.url + "/hello"
    assert client.send(req).text == "Hello, world!"


def test_constructed_response_url():
    assert httpring.Response(200, url="http://example.com/x").url == URL("http://example.com/x")
    req = httpring.Request("GET", "https://example.com/y?k=v")
    r = httpring.Response(200, request=req)
    assert isinstance(r.url, URL) and r.url.params["k"] == "v"
    assert httpring.Response(200).url == ""


def test_error_request_url(client):
    with pytest.raises(httpring.ConnectError) as info:
        client.get("http://127.0.0.1:1/nothing")
    assert info.value.request.url == "http://127.0.0.1:1/nothing"
    assert info.value.request.url.port == 1


# --- URL itself ---------------------------------------------------------------------------

def test_normalization_and_equality():
    url = URL("HTTP://User:p%40ss@Example.COM:80/a b/c?x=1 2#frag ment")
    assert str(url) == "http://User:p%40ss@example.com/a%20b/c?x=1%202#frag%20ment"
    assert url.scheme == "http" and url.host == "example.com" and url.port is None
    assert url.username == "User" and url.password == "p@ss" and url.userinfo == b"User:p%40ss"
    assert url.path == "/a b/c" and url.fragment == "frag ment" and url.query == b"x=1%202"
    assert repr(url) == "URL('http://User:[secure]@example.com/a%20b/c?x=1%202#frag%20ment')"
    # Equal to a URL or a str with the same text after normalization; hashed as its text.
    assert url == "http://User:p%40ss@EXAMPLE.com:80/a%20b/c?x=1%202#frag%20ment"
    assert url != "http://example.com/" and url != 1
    assert len({url, URL(str(url)), str(url)}) == 1
    assert URL("https://h:443/").port is None and URL("https://h:8443").port == 8443
    assert URL("http://[::1]:8080/p").host == "::1" and URL("http://[::1]:8080/p").netloc == b"[::1]:8080"
    assert URL("http://h").path == "/" and URL("http://h").raw_path == b"/"
    assert URL("/relative?q=1").is_relative_url and URL("http://h/").is_absolute_url
    assert str(URL("http://h/?")) == "http://h/?"  # an empty query kept as given


def test_bad_urls():
    with pytest.raises(TypeError):
        URL(123)  # type: ignore[arg-type]
    with pytest.raises(httpring.InvalidURL, match="port"):
        URL("http://h:abc/")
    with pytest.raises(httpring.InvalidURL, match="port"):
        URL("http://h:70000/")
    with pytest.raises(TypeError, match="invalid keyword"):
        URL("http://h/", bogus=1)


def test_join_and_copies():
    url = URL("http://h/a/b?b=1&b=2&c")
    assert url.join("c/d") == "http://h/a/c/d"
    assert url.join("../z") == "http://h/z"
    assert url.join("https://other/") == "https://other/"
    assert url.copy_with(host="other.com", port=81, scheme="https") == "https://other.com:81/a/b?b=1&b=2&c"
    assert url.copy_with(path="/p q", fragment="f") == "http://h/p%20q?b=1&b=2&c#f"
    assert url.copy_with(query=b"k=v") == "http://h/a/b?k=v"
    assert url.copy_with(params={"z": 1}) == "http://h/a/b?z=1"
    assert url.copy_with(raw_path=b"/r?s=1") == "http://h/r?s=1"
    assert url.copy_with(username="us er", password="pw") == "http://us%20er:pw@h/a/b?b=1&b=2&c"
    assert url.copy_with(netloc=b"n.com:99") == "http://n.com:99/a/b?b=1&b=2&c"
    assert url.copy_set_param("b", 9) == "http://h/a/b?b=9&c="
    assert url.copy_add_param("d", "x") == "http://h/a/b?b=1&b=2&c=&d=x"
    assert url.copy_remove_param("b") == "http://h/a/b?c="
    assert url.copy_merge_params({"e": "f", "c": "3"}) == "http://h/a/b?b=1&b=2&c=3&e=f"
    assert URL("http://h/p?x=1", params={"a": True}) == "http://h/p?a=true"
    assert str(url) == "http://h/a/b?b=1&b=2&c"  # unchanged: URLs are immutable


def test_query_params():
    q = QueryParams("a=1&a=2&b=&c=x+y")
    assert dict(q) == {"a": "1", "b": "", "c": "x y"} and len(q) == 3
    assert q.get_list("a") == ["1", "2"] and q.multi_items()[:2] == [("a", "1"), ("a", "2")]
    assert "a" in q and "z" not in q and q.get("z", "d") == "d"
    assert str(q) == "a=1&a=2&b=&c=x+y" and repr(q) == "QueryParams('a=1&a=2&b=&c=x+y')"
    assert q == QueryParams([("a", "1"), ("a", "2"), ("b", ""), ("c", "x y")])
    assert q != {"a": "1"}  # as httpx: only another QueryParams compares equal
    assert QueryParams({"k": ["1", None, False]}) == QueryParams("k=1&k=&k=false")
    assert str(QueryParams(a=1, b="x")) == "a=1&b=x"
    assert str(q.set("a", "9")) == "a=9&b=&c=x+y" and str(q.add("d", 1)) == "a=1&a=2&b=&c=x+y&d=1"
    assert str(q.remove("a")) == "b=&c=x+y" and str(q.merge({"b": "B"})) == "a=1&a=2&b=B&c=x+y"
    # As httpx's: a replaced key keeps its place, all its values replaced; new keys follow.
    assert str(q.merge([("a", "7"), ("z", "1"), ("a", "8")])) == "a=7&a=8&b=&c=x+y&z=1"
    assert hash(q) == hash(str(q))


def test_same_as_httpx():
    httpx = pytest.importorskip("httpx")
    texts = [
        "", "/a/b?x=1", "http://[::1]:8080/p", "https://u:p%40w@h.com:443/x y?q=a b#f g",
        "HTTP://EXAMPLE.com", "http://h/%7Efoo/caf%C3%A9", "http://h/a?b=1&b=2&c",
        "http://m\u00fcnchen.de/\u00e4?\u00f6=1", "http://h/?", "http://h:8080", "https://h:80/",
    ]
    names = ["scheme", "host", "port", "path", "raw_path", "query", "fragment", "netloc",
             "userinfo", "username", "password", "is_absolute_url", "raw_host"]
    for text in texts:
        ours, theirs = URL(text), httpx.URL(text)
        assert str(ours) == str(theirs), text
        assert repr(ours) == repr(theirs), text
        assert str(ours.params) == str(theirs.params), text
        for name in names:
            assert getattr(ours, name) == getattr(theirs, name), (text, name)


def test_the_fragment_given_stays_on_the_response_url(client, testserver, httpbin):
    """As httpx: the fragment is never sent, yet response.url (and response.request.url)
    keep it, also across a redirect whose Location has none (RFC 9110 §10.2.2)."""
    r = client.get(testserver.url + "/echo?q=1#part-2")
    assert r.status_code == 200
    assert str(r.url) == testserver.url + "/echo?q=1#part-2" and r.url.fragment == "part-2"
    assert r.request.url.fragment == "part-2"
    (m,) = client.send_many([("GET", testserver.url + "/echo#m")])
    assert m.url.fragment == "m"
    base = httpbin.url.rstrip("/")
    r = client.get(base + "/redirect/1#top", follow_redirects=True)
    assert r.url.path == "/get" and r.url.fragment == "top"
    with client.stream("GET", testserver.url + "/hello#s") as s:
        assert s.url.fragment == "s"

    async def main() -> httpring.Response:
        async with httpring.AsyncClient() as c:
            return await c.get(testserver.url + "/hello#x")

    assert asyncio.run(main()).url == testserver.url + "/hello#x"
    assert client.get(testserver.url + "/hello").url.fragment == ""

"""Headers, Response and Request as plain Python objects (no server)."""

from __future__ import annotations

import pytest

import httpring
from httpring import Headers, Response
from httpring._models import encode_body, encode_params
from httpring._urls import add_query, encode, join_base


def test_headers_case_insensitive_multi():
    h = Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("X-A", "x")])
    assert h["SET-COOKIE"] == "a=1, b=2"
    assert h.get_list("set-cookie") == ["a=1", "b=2"]
    assert list(h.keys()) == ["set-cookie", "x-a"]
    assert len(h) == 3  # lines, as httpx
    assert "x-a" in h and "X-A" in h and 3 not in h
    h["x-a"] = "y"
    assert h["x-a"] == "y"
    del h["set-cookie"]
    assert "set-cookie" not in h
    with pytest.raises(KeyError):
        del h["nope"]
    assert h == {"X-A": "y"}
    assert h.copy() == h and h.copy() is not h
    assert Headers({"a": "1, 2"}).get_list("a", split_commas=True) == ["1", "2"]


@pytest.mark.parametrize(
    "given",
    [
        {"Authorization": "Bearer s3cret"},
        {"Proxy-Authorization": "Basic dTpw", "X-A": "1"},
        [("authorization", "a"), ("AUTHORIZATION", "b"), ("Cookie", "c")],
        [("X-Api-Key", "k"), ("Set-Cookie", "s")],
        {},
    ],
)
def test_headers_repr_hides_credentials_as_httpx(given):
    httpx = pytest.importorskip("httpx")
    ours = repr(Headers(given))
    assert "s3cret" not in ours and "dTpw" not in ours
    assert ours == repr(httpx.Headers(given))


def test_headers_repr_non_ascii_names_its_encoding():
    httpx = pytest.importorskip("httpx")
    raw = "x: caf\u00e9\r\nauthorization: t\r\n".encode("utf-8")
    ours = Headers._from_raw(raw)
    theirs = httpx.Headers([(b"x", "caf\u00e9".encode("utf-8")), (b"authorization", b"t")])
    assert repr(ours) == repr(theirs) == "Headers({'x': 'caf\u00e9', 'authorization': '[secure]'}, encoding='utf-8')"


def test_request_repr_shows_no_header_values():
    req = httpring.Request("GET", "http://h/", headers={"Authorization": "Bearer s3cret"})
    assert "s3cret" not in repr(req) and "s3cret" not in repr(req.headers)


@pytest.mark.parametrize(
    "given",
    [[("a", "1"), ("A", "2"), ("b", "3")], [("Set-Cookie", "x"), ("set-cookie", "y")], {"a": "1"}, []],
)
def test_headers_multi_value_views_as_httpx(given):
    """len() counts lines (as httpx), keys/values/items/iteration give each name once."""
    httpx = pytest.importorskip("httpx")
    ours, theirs = Headers(given), httpx.Headers(given)
    assert len(ours) == len(theirs) == len(ours.multi_items())
    assert bool(ours) == bool(theirs)
    assert list(ours) == list(theirs) and list(ours.keys()) == list(theirs.keys())
    assert list(ours.values()) == list(theirs.values()) and list(ours.items()) == list(theirs.items())
    assert ours.multi_items() == theirs.multi_items() and dict(ours) == dict(theirs)
    assert Headers._from_raw(b"set-cookie: 1\r\nset-cookie: 2\r\nx: y\r\n").__len__() == 3


def test_headers_from_raw():
    h = Headers._from_raw(b"content-type: text/plain\r\nx-v: a: b\r\nset-cookie: 1\r\nset-cookie: 2\r\n")
    assert h["content-type"] == "text/plain"
    assert h["x-v"] == "a: b"
    assert h.multi_items() == [("content-type", "text/plain"), ("x-v", "a: b"), ("set-cookie", "1"), ("set-cookie", "2")]
    assert Headers._from_raw("x: caf\u00e9\r\n".encode("latin-1"))["x"] == "caf\u00e9"


@pytest.mark.parametrize(
    "ctype,body,text",
    [
        ("text/plain; charset=iso-8859-1", b"caf\xe9", "caf\u00e9"),
        ("text/plain; charset=\"utf-8\"", "caf\u00e9".encode(), "caf\u00e9"),
        ("text/plain", "caf\u00e9".encode(), "caf\u00e9"),
        ("text/plain; charset=unknown-x", b"abc", "abc"),
    ],
)
def test_text_charset(ctype, body, text):
    r = Response(200, headers={"Content-Type": ctype}, content=body)
    assert r.text == text


@pytest.mark.parametrize(
    "ctype, encoding, charset",
    [
        ("text/plain; charset=iso-8859-1", "iso-8859-1", "iso-8859-1"),
        ("text/html; charset=Windows-1252", "windows-1252", "windows-1252"),
        ("text/plain; charset=UTF8", "utf8", "utf8"),
        ('text/plain; charset="latin-1"', "latin-1", "latin-1"),
        ("text/plain; charset=bogus", "utf-8", "bogus"),  # unknown: the default
        ("text/plain; charset=base64", "utf-8", "base64"),  # not a text codec: the default (httpx raises)
        ("text/plain", "utf-8", None),
    ],
)
def test_encoding_is_named_as_content_type_names_it(ctype, encoding, charset):
    """As httpx: ``encoding`` and ``charset_encoding`` give the charset as the server wrote
    it (lower-cased), not Python's codec name for it."""
    r = Response(200, headers={"Content-Type": ctype}, content="caf\u00e9".encode("latin-1"))
    assert r.charset_encoding == charset and r.encoding == encoding
    assert r.text == ("caf\ufffd" if encoding.startswith("utf") else "caf\u00e9")


def test_response_constructor_and_helpers():
    r = Response(404, json={"error": "x"}, url="http://h/p")
    assert r.json() == {"error": "x"}
    assert r.headers["content-type"] == "application/json"
    assert r.is_client_error and r.is_error and not r.is_success
    assert r.reason_phrase == "Not Found"
    assert list(r.iter_bytes(4)) == [r.content[i : i + 4] for i in range(0, len(r.content), 4)]
    with pytest.raises(httpring.HTTPStatusError) as info:
        r.raise_for_status()
    assert info.value.response is r
    # httpx's message: the status, the URL, and where to read about the status.
    assert str(info.value) == (
        "Client error '404 Not Found' for url 'http://h/p'\n"
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/404"
    )
    moved = Response(302, headers={"Location": "/x"}, url="http://h/p")
    assert moved.is_redirect and moved.has_redirect_location
    with pytest.raises(httpring.HTTPStatusError, match="\nRedirect location: '/x'\nFor more"):
        moved.raise_for_status()
    # As in httpx: any 3xx is a redirect status; only one with a Location is followed.
    for bare in (Response(302), Response(304)):
        assert bare.is_redirect and not bare.has_redirect_location
    assert not Response(200).is_redirect and not Response(404).is_redirect
    # A response that came from no request cannot say which URL failed.
    with pytest.raises(RuntimeError, match="request instance has not been set"):
        Response(500).raise_for_status()


def test_encode_params_and_body():
    assert encode_params({"a": [1, 2], "b": None, "c": False}) == "a=1&a=2&b=&c=false"
    assert encode_params("x=1") == "x=1"
    assert encode_body(json={"a": 1}) == (b'{"a":1}', b"application/json")
    assert encode_body(data={"a": "b c"}) == (b"a=b+c", b"application/x-www-form-urlencoded")
    assert encode_body(content="\u00e9") == ("\u00e9".encode(), None)
    assert encode_body() == (b"", None)


def test_urls():
    assert join_base("http://h/api", "/users") == "http://h/api/users"
    assert join_base("http://h/api/", "users") == "http://h/api/users"
    assert join_base("http://h/api", "http://other/x") == "http://other/x"
    assert add_query("http://h/p#f", "a=1") == "http://h/p?a=1#f"
    assert add_query("http://h/p?x=1", "a=1") == "http://h/p?x=1&a=1"
    # The fragment goes to the engine, which never sends it and puts it back on the
    # response's URL.
    assert encode("http://h/p#frag") == b"http://h/p#frag"
    assert encode("http://h/caf\u00e9#\u00e9") == b"http://h/caf%C3%A9#%C3%A9"
    assert encode("http://h/caf\u00e9?q=\u00e9") == b"http://h/caf%C3%A9?q=%C3%A9"
    assert encode("http://b\u00fccher.example/") == b"http://xn--bcher-kva.example/"
    with pytest.raises(httpring.InvalidURL):
        encode("http://h/\x00")


def test_request_object():
    req = httpring.Request("post", "http://h/x", headers={"A": "1"}, content=b"b")
    assert req.method == "POST" and req.headers["a"] == "1" and req.read() == b"b"
    assert repr(req) == "<Request('POST', 'http://h/x')>"


def test_version():
    assert httpring.__version__
    assert httpring.engine_version().count(".") == 2


def test_string_at_copies_exactly():
    import ctypes

    from httpring._engine import string_at

    buf = ctypes.create_string_buffer(b"0123456789" * 100_000)
    addr = ctypes.addressof(buf)
    assert string_at(addr, 10) == b"0123456789"
    assert string_at(addr + 5, 3) == b"567"
    assert string_at(addr, 0) == b""
    assert string_at(addr, 1_000_000) == buf.raw[:1_000_000]
    assert string_at(addr, 10) == ctypes.string_at(addr, 10)


@pytest.mark.parametrize(
    "link",
    [
        '<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel="last"',
        "<https://a.example/x>; rel=prev; title='old', <https://a.example/y>",
        '<https://a.example/x>; rel="next"; broken; title=x',
        "  ",
        "<https://a.example/only>",
        '<https://a.example/x>;rel="a=b"',
    ],
)
def test_response_links_as_httpx(link):
    httpx = pytest.importorskip("httpx")
    assert httpring.Response(200, headers={"Link": link}).links == httpx.Response(200, headers={"Link": link}).links
    assert httpring.Response(200).links == {}

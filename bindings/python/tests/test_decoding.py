"""Header values and body charsets as a server may send them: non-ASCII header bytes come
back unchanged in ``headers.raw``, and a charset that is no text codec never makes
``text`` raise."""

from __future__ import annotations

from typing import Iterator

import pytest

import httpring
from servers import RawServer, raw_response

EURO = "\u20ac".encode("utf-8")  # b"\xe2\x82\xac"
CAFE_UTF8 = "caf\u00e9".encode("utf-8")  # b"caf\xc3\xa9"
CAFE_LATIN1 = "caf\u00e9".encode("latin-1")  # b"caf\xe9": not valid UTF-8

HEADER_ROUTES = {
    "/utf8": raw_response([(b"X-Euro", EURO), (b"X-Cafe", CAFE_UTF8), (b"X-Plain", b"yes")]),
    "/latin1": raw_response([(b"X-Cafe", CAFE_LATIN1), (b"X-Plain", b"yes")]),
    "/ascii": raw_response([(b"X-Plain", b"yes")]),
}

CHARSETS = ["base64", "hex", "idna", "nonsense", "rot13", "zlib", "punycode", "undefined"]
CHARSET_ROUTES = {
    f"/charset/{name}": raw_response(
        [(b"Content-Type", b"text/plain; charset=" + name.encode())], CAFE_UTF8 + b" \xff!"
    )
    for name in CHARSETS
}


@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawServer]:
    server = RawServer({**HEADER_ROUTES, **CHARSET_ROUTES})
    yield server
    server.close()


def test_utf8_header_values_raw_and_decoded(raw_server):
    with httpring.Client() as c:
        r = c.get(raw_server.url + "/utf8")
    assert r.status_code == 200
    raw = dict(r.headers.raw)
    assert raw[b"x-euro"] == EURO
    assert raw[b"x-cafe"] == CAFE_UTF8  # not b"caf\xe9"
    assert raw[b"x-plain"] == b"yes"
    # Decoded as httpx does: the whole block is valid UTF-8.
    assert r.headers.encoding == "utf-8"
    assert r.headers["x-euro"] == "\u20ac"
    assert r.headers["x-cafe"] == "caf\u00e9"


def test_latin1_header_values_raw_and_decoded(raw_server):
    with httpring.Client() as c:
        r = c.get(raw_server.url + "/latin1")
    assert dict(r.headers.raw)[b"x-cafe"] == CAFE_LATIN1
    # Not UTF-8: iso-8859-1, as httpx falls back to.
    assert r.headers.encoding == "iso-8859-1"
    assert r.headers["x-cafe"] == "caf\u00e9"


def test_ascii_headers_and_added_values(raw_server):
    async def get() -> httpring.Response:
        async with httpring.AsyncClient() as c:
            return await c.get(raw_server.url + "/ascii")

    import asyncio

    r = asyncio.run(get())
    h = r.headers
    assert h.encoding == "ascii"
    assert (b"x-plain", b"yes") in h.raw
    # A value the block's codec cannot express is given as UTF-8, not an exception.
    h["x-added"] = "\u20ac"
    assert dict(h.raw)[b"x-added"] == EURO
    assert dict(h.copy().raw)[b"x-plain"] == b"yes"


def test_raw_of_headers_built_by_hand():
    h = httpring.Headers([("X-A", "caf\u00e9"), ("X-B", "\u20ac"), (b"X-C", CAFE_LATIN1)])
    assert h.raw == [(b"X-A", CAFE_LATIN1), (b"X-B", EURO), (b"X-C", CAFE_LATIN1)]


@pytest.mark.parametrize("charset", CHARSETS)
def test_text_with_a_charset_that_is_no_text_codec(raw_server, charset):
    with httpring.Client() as c:
        r = c.get(raw_server.url + "/charset/" + charset)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=" + charset
    # Falls back to UTF-8 with errors="replace".
    assert r.text == "caf\u00e9 \ufffd!"
    assert r.encoding == "utf-8"
    assert list(r.iter_lines()) == ["caf\u00e9 \ufffd!"]


@pytest.mark.parametrize("charset", CHARSETS)
def test_text_charset_unit(charset):
    r = httpring.Response(
        200, headers={"Content-Type": f"text/plain; charset={charset}"}, content=b"caf\xc3\xa9"
    )
    assert r.text == "caf\u00e9"


def test_an_encoding_assigned_by_the_caller_is_used_as_given():
    r = httpring.Response(200, headers={"Content-Type": "text/plain; charset=base64"}, content=b"caf\xe9")
    r.encoding = "latin-1"
    assert r.text == "caf\u00e9"
    r = httpring.Response(200, content=b"abc")
    r.encoding = "nonsense"
    with pytest.raises(LookupError):
        _ = r.text  # as httpx: the caller's mistake is not hidden


def test_text_falls_back_when_the_servers_codec_fails_anyway():
    """A codec that passes the up-front check yet fails on this body."""
    import codecs

    def decode(data: bytes, errors: str = "strict") -> "tuple[str, int]":
        data = bytes(data)
        if b"\xfe" in data:
            raise UnicodeDecodeError("httpringflaky", data, 0, 1, "refused")
        return data.decode("latin-1"), len(data)

    info = codecs.CodecInfo(codecs.latin_1_encode, decode, name="httpringflaky")

    def search(name: str) -> "codecs.CodecInfo | None":
        return info if name == "httpringflaky" else None

    codecs.register(search)
    try:
        ctype = {"Content-Type": "text/plain; charset=httpringflaky"}
        assert httpring.Response(200, headers=ctype, content=b"caf\xe9").text == "caf\u00e9"
        r = httpring.Response(200, headers=ctype, content=b"caf\xc3\xa9 \xfe")
        assert r.encoding == "httpringflaky"
        assert r.text == "caf\u00e9 \ufffd"
    finally:
        if hasattr(codecs, "unregister"):  # Python 3.10+
            codecs.unregister(search)


# --- default_encoding (httpx's: used when Content-Type names no charset, or an unknown one) ---

DEFAULT_ROUTES = {
    "/plain-latin1": raw_response([(b"Content-Type", b"text/plain")], CAFE_LATIN1),
    "/utf8-latin1-body": raw_response([(b"Content-Type", b"text/plain; charset=utf-8")], CAFE_UTF8),
    "/nonsense-latin1": raw_response([(b"Content-Type", b"text/plain; charset=nonsense")], CAFE_LATIN1),
}


@pytest.fixture(scope="module")
def enc_server() -> Iterator[RawServer]:
    server = RawServer(DEFAULT_ROUTES)
    yield server
    server.close()


def test_default_encoding_is_utf8_unless_set(enc_server):
    with httpring.Client() as c:
        r = c.get(enc_server.url + "/plain-latin1")
    assert r.default_encoding == "utf-8"
    assert r.encoding == "utf-8"
    assert r.text == "caf\ufffd"


def test_a_client_default_encoding_decodes_bodies_without_a_charset(enc_server):
    with httpring.Client(default_encoding="latin-1") as c:
        r = c.get(enc_server.url + "/plain-latin1")
        assert (r.default_encoding, r.encoding, r.text) == ("latin-1", "latin-1", "caf\u00e9")
        # A charset the server names wins; one that names no codec falls back to the default.
        assert c.get(enc_server.url + "/utf8-latin1-body").text == "caf\u00e9"
        r = c.get(enc_server.url + "/nonsense-latin1")
        assert (r.encoding, r.text) == ("latin-1", "caf\u00e9")
        (m,) = c.send_many([("GET", enc_server.url + "/plain-latin1")])
        assert m.text == "caf\u00e9"


def test_a_default_encoding_function_sees_the_body(enc_server):
    seen = []

    def detect(body: bytes) -> str:
        seen.append(body)
        return "latin-1"

    async def run() -> "list[str]":
        async with httpring.AsyncClient(default_encoding=detect) as c:
            a = await c.get(enc_server.url + "/plain-latin1")
            b = await c.get(enc_server.url + "/utf8-latin1-body")  # charset given: not asked
            return [a.text, b.text]

    import asyncio

    assert asyncio.run(run()) == ["caf\u00e9", "caf\u00e9"]
    assert seen == [CAFE_LATIN1]


def test_default_encoding_reaches_streamed_and_mocked_responses(enc_server):
    with httpring.Client(default_encoding="latin-1") as c:
        with c.stream("GET", enc_server.url + "/plain-latin1") as r:
            assert "".join(r.iter_text()) == "caf\u00e9"

    def handler(request: httpring.Request) -> httpring.Response:
        return httpring.Response(200, content=CAFE_LATIN1)

    with httpring.Client(default_encoding="latin-1", transport=httpring.MockTransport(handler)) as c:
        assert c.get("http://127.0.0.1:1/").text == "caf\u00e9"


def test_default_encoding_on_a_response_built_by_hand():
    r = httpring.Response(200, content=CAFE_LATIN1, default_encoding="latin-1")
    assert r.text == "caf\u00e9"
    r = httpring.Response(200, content=CAFE_LATIN1, default_encoding=lambda b: None)
    assert r.encoding == "utf-8"  # a function that finds nothing: utf-8, as httpx
    with pytest.raises(TypeError, match="default_encoding"):
        httpring.Client(default_encoding=1)  # type: ignore[arg-type]

"""Header values as a server may send them: non-ASCII header bytes come back unchanged in
``headers.raw``."""

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

@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawServer]:
    server = RawServer(HEADER_ROUTES)
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

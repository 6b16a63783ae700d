"""Compressed responses, decoded by the engine (gzip, deflate, br, zstd): against
pytest-httpbin's /gzip, /deflate, /brotli and the project's test server's /encoded and /bomb
routes (which also serve zstd and corrupt data)."""

from __future__ import annotations

import asyncio

import pytest

import httpring


@pytest.mark.parametrize("route", ["gzip", "deflate", "brotli"])
def test_httpbin_codings(client, httpbin, route):
    r = client.get(httpbin.url.rstrip("/") + "/" + route)
    assert r.status_code == 200
    body = r.json()
    flag = {"gzip": "gzipped", "deflate": "deflated", "brotli": "brotli"}[route]
    assert body[flag] is True
    # httpbin echoes what was asked for.
    assert "gzip" in body["headers"]["Accept-Encoding"]
    assert r.headers["content-encoding"] in ("gzip", "deflate", "br")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "rawdeflate", "br", "zstd", "gzip-zstd"])
def test_each_coding_gives_the_plain_body(client, testserver, coding):
    want = client.get(f"{testserver.url}/encoded/identity/50000").content
    assert len(want) == 50000
    r = client.get(f"{testserver.url}/encoded/{coding}/50000")
    assert r.content == want
    assert r.text.startswith("line 0: the quick brown fox")


def test_corrupt_body_raises_decoding_error(client, testserver):
    with pytest.raises(httpring.DecodingError) as info:
        client.get(f"{testserver.url}/encoded/gzip?corrupt=1")
    assert info.value.code == 27
    assert client.get(f"{testserver.url}/encoded/gzip/10").text == "line 0: th"


def test_bomb_is_refused_at_the_body_limit(testserver):
    with httpring.Client(max_body_size=4 << 20) as c:
        for coding in ("gzip", "zstd", "br"):
            with pytest.raises(httpring.ResponseTooLarge, match="4194304"):
                c.get(f"{testserver.url}/bomb/{coding}/1024")


def test_async_client_decodes(testserver):
    async def main() -> bytes:
        async with httpring.AsyncClient() as c:
            r = await c.get(f"{testserver.url}/encoded/br/20000")
            return r.content

    assert asyncio.run(main())[:8] == b"line 0: "


def test_num_bytes_downloaded_counts_the_coded_body(testserver):
    """httpx's num_bytes_downloaded: the body as it came over the wire (the engine's
    httpring_result.bytes_received), for buffered, batched, streamed and async responses."""
    url = f"{testserver.url}/encoded/gzip/200000"
    with httpring.Client() as c:
        plain = c.get(f"{testserver.url}/encoded/identity/200000")
        assert plain.num_bytes_downloaded == len(plain.content) == 200000
        r = c.get(url)
        assert len(r.content) == 200000 and 0 < r.num_bytes_downloaded < 200000
        wire = r.num_bytes_downloaded
        if "content-length" in r.headers:
            assert wire == int(r.headers["content-length"])
        assert [x.num_bytes_downloaded for x in c.send_many([url, url])] == [wire, wire]
        with c.stream("GET", url) as s:
            assert s.num_bytes_downloaded <= wire
            assert sum(len(p) for p in s.iter_bytes()) == 200000
            assert s.num_bytes_downloaded == wire
        assert s.num_bytes_downloaded == wire  # kept after close

    async def main():
        async with httpring.AsyncClient() as c:
            r = await c.get(url)
            assert r.num_bytes_downloaded == wire
            async with c.stream("GET", url) as s:
                await s.aread()
            assert s.num_bytes_downloaded == wire

    asyncio.run(main())
    # Built by hand (as httpx): only bytes read from a stream count.
    assert httpring.Response(200, content=b"abc").num_bytes_downloaded == 0
    r = httpring.Response(200, content=iter([b"ab", b"c"]))
    r.read()
    assert r.num_bytes_downloaded == 3


# --- bodies that did not come through the engine: hand-made and MockTransport responses ---

WIRE_CODINGS = [
    ("gzip", "gzip"), ("deflate", "deflate"), ("rawdeflate", "deflate"),
    ("br", "br"), ("zstd", "zstd"), ("gzip-zstd", "gzip, zstd"),
]


def _wire(testserver, route: str) -> bytes:
    """The coded bytes of /encoded/<route>/50000, as sent."""
    import urllib.request

    with urllib.request.urlopen(f"{testserver.url}/encoded/{route}/50000") as f:
        return f.read()


@pytest.mark.parametrize("route,coding", WIRE_CODINGS)
def test_a_response_built_by_hand_is_decoded_as_httpx_decodes_it(testserver, route, coding):
    plain = _wire(testserver, "identity")
    wire = _wire(testserver, route)
    assert len(wire) < len(plain)
    r = httpring.Response(200, headers={"Content-Encoding": coding}, content=wire)
    assert r.content == plain
    # The headers stay as given: they describe the coded body.
    assert r.headers["content-encoding"] == coding
    assert r.headers["content-length"] == str(len(wire))

    # A streamed one, decoded as it is read (pieces of 7 bytes); the bytes downloaded are
    # the coded ones, as in httpx.
    def pieces():
        for i in range(0, len(wire), 7):
            yield wire[i : i + 7]

    r = httpring.Response(200, headers={"Content-Encoding": coding}, content=pieces())
    assert b"".join(r.iter_bytes()) == plain
    assert r.num_bytes_downloaded == len(wire)

    async def apieces():
        for i in range(0, len(wire), 1000):
            yield wire[i : i + 1000]

    async def aread():
        r = httpring.Response(200, headers={"Content-Encoding": coding}, content=apieces())
        return await r.aread()

    assert asyncio.run(aread()) == plain


def test_a_hand_made_body_the_engine_cannot_decode():
    # Corrupt or cut short: DecodingError, with the engine's reason.
    import gzip

    whole = gzip.compress(b"x" * 1000)
    for bad in (b"not gzip at all", whole[:-5], whole + b"junk"):
        with pytest.raises(httpring.DecodingError, match="could not decode"):
            httpring.Response(200, headers={"Content-Encoding": "gzip"}, content=bad)
    with pytest.raises(httpring.DecodingError):
        httpring.Response(200, headers={"Content-Encoding": "gzip"}, content=iter([whole[:-5]])).read()
    # A coding the engine does not know, or identity: the body as it is.
    for coding in ("identity", "x-custom", "compress"):
        r = httpring.Response(200, headers={"Content-Encoding": coding}, content=b"as is")
        assert r.content == b"as is"
    # An empty body in a coding is an empty body.
    assert httpring.Response(200, headers={"Content-Encoding": "gzip"}).content == b""


def test_a_mock_transport_response_is_decoded(testserver):
    import gzip

    def handler(request):
        return httpring.Response(200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(b"mocked"))

    with httpring.Client(transport=httpring.MockTransport(handler)) as c:
        r = c.get("http://127.0.0.1:1/")
        assert r.content == b"mocked"
        assert r.text == "mocked"

    async def main():
        async def coded():
            yield gzip.compress(b"streamed")

        async def ahandler(request):
            return httpring.Response(200, headers={"Content-Encoding": "gzip"}, content=coded())

        async with httpring.AsyncClient(transport=httpring.MockTransport(ahandler)) as c:
            async with c.stream("GET", "http://127.0.0.1:1/") as r:
                return b"".join([piece async for piece in r.aiter_bytes()])

    assert asyncio.run(main()) == b"streamed"

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

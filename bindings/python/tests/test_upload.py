"""Request bodies sent as they are read: ``content=`` an iterator of bytes (Client), an
async iterator (AsyncClient, under asyncio and trio), a file (through its descriptor: no
Python per chunk), against the test server's ``/upload[?pause_ms=N]``, which reads the body
and answers with its length, FNV-1a 64 hash and framing. Bounded buffering (a slow server
holds the writer back), a source that raises, HTTP/2, redirects (a 303 becomes a GET, a 307
is not followed: the body has gone), and memory that stays flat over a 100 MB upload."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import textwrap
import time
from typing import Any, AsyncIterator, Dict, Iterator, List

import anyio
import pytest

import httpring
from httpring import _async_client, _upload

MB = 1 << 20
# Sizes that cut across the engine's 256 KiB buffer (and the small ones below) unevenly.
SIZES = [1, 7, 65536, 300_000, 4096, 1_000_003, 12345]


def fnv(data: bytes) -> str:
    """FNV-1a 64, as the test server computes it (slow in Python: small bodies only)."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


@pytest.fixture(scope="module")
def payload() -> bytes:
    return random.Random(18).randbytes(20 * MB)


@pytest.fixture(scope="module")
def payload_fnv(testserver: Any, payload: bytes) -> str:
    """The server's hash of ``payload`` sent whole (the plain bytes path): the streamed
    uploads must give the same. (The hash itself is checked against Python's on a small
    body in test_small_bodies_hash_as_in_python.)"""
    with httpring.Client() as c:
        got = c.post(testserver.url + "/upload", content=payload).json()
    assert got["received"] == len(payload) and not got["chunked"]
    return str(got["fnv"])


def pieces(data: bytes) -> Iterator[Any]:
    """``data`` in uneven chunks, as bytes, bytearray and memoryview."""
    at = 0
    i = 0
    while at < len(data):
        n = SIZES[i % len(SIZES)]
        chunk = data[at : at + n]
        yield (chunk, bytearray(chunk), memoryview(chunk))[i % 3]
        at += n
        i += 1


async def apieces(data: bytes) -> AsyncIterator[Any]:
    for i, chunk in enumerate(pieces(data)):
        if i % 16 == 0:
            await anyio.sleep(0)
        yield chunk


def check(r: httpring.Response, data_len: int, digest: str, chunked: bool = True) -> Dict[str, Any]:
    got: Dict[str, Any] = r.json()
    assert r.status_code == 200 and got["error"] == "", got
    assert got["received"] == data_len
    assert got["fnv"] == digest
    assert got["chunked"] is chunked
    assert got["content_length"] == (None if chunked else data_len)
    return got


def test_small_bodies_hash_as_in_python(testserver):
    data = random.Random(1).randbytes(50_000)
    with httpring.Client() as c:
        check(c.post(testserver.url + "/upload", content=pieces(data)), len(data), fnv(data))
        check(c.put(testserver.url + "/upload", content=iter([data[:10], "é", b""])), 12, fnv(data[:10] + "é".encode()))


# --- Client ---

def test_a_generator_is_sent_chunked(testserver, payload, payload_fnv):
    with httpring.Client() as c:
        got = check(c.post(testserver.url + "/upload", content=pieces(payload)), len(payload), payload_fnv)
        assert got["version"] == "HTTP/1.1"
        # The client goes on as usual.
        assert c.get(testserver.url + "/hello").status_code == 200


def test_a_content_length_given_is_the_length(testserver, payload, payload_fnv):
    with httpring.Client() as c:
        r = c.put(
            testserver.url + "/upload", content=pieces(payload), headers={"Content-Length": str(len(payload))}
        )
        check(r, len(payload), payload_fnv, chunked=False)
        # More than it says: refused before it is sent on, the request cancelled.
        with pytest.raises(httpring.LocalProtocolError, match="Content-Length of 10"):
            c.post(testserver.url + "/upload", content=iter([b"x" * 8, b"x" * 8]), headers={"Content-Length": "10"})
        # Less: the request fails, as the engine holds the body to it.
        with pytest.raises(httpring.BodySourceError, match="after 5 of its 10 bytes"):
            c.post(testserver.url + "/upload", content=iter([b"12345"]), headers={"Content-Length": "10"})
        with pytest.raises(httpring.LocalProtocolError, match="invalid Content-Length"):
            c.post(testserver.url + "/upload", content=iter([b"1"]), headers={"Content-Length": "x"})
        assert c.get(testserver.url + "/hello").status_code == 200


def test_a_slow_server_holds_the_writer_back(testserver, monkeypatch):
    """A small stream_buffer and a server pausing after each piece: the writer blocks for
    room (httpring_handle_wait_writable) again and again, and the body arrives whole."""
    data = random.Random(2).randbytes(2 * MB)
    with httpring.Client(limits=httpring.Limits(stream_buffer=32 * 1024)) as c:
        lib = c._engine.lib
        waits: List[int] = []
        real = lib.httpring_handle_wait_writable

        def counting(*args: Any) -> int:
            waits.append(1)
            return int(real(*args))

        monkeypatch.setattr(lib, "httpring_handle_wait_writable", counting)
        r = c.post(testserver.url + "/upload?pause_ms=1", content=pieces(data))
        got = r.json()
        assert got["received"] == len(data) and got["chunked"]
        assert len(waits) > 5, len(waits)
    with httpring.Client() as c:
        assert c.post(testserver.url + "/upload", content=data).json()["fnv"] == got["fnv"]


def test_an_iterator_that_raises_cancels_the_request(testserver):
    class Boom(Exception):
        pass

    def source() -> Iterator[bytes]:
        yield b"x" * 500_000
        yield b"y" * 500_000
        raise Boom("midway")

    with httpring.Client(limits=httpring.Limits(stream_buffer=64 * 1024)) as c:
        with pytest.raises(Boom, match="midway"):
            c.post(testserver.url + "/upload?pause_ms=1", content=source())
        assert c.live_handles() == 0
        assert c.post(testserver.url + "/upload", content=iter([b"ok"])).json()["received"] == 2


def endless() -> Iterator[bytes]:
    while True:
        yield b"x" * 65536


async def aendless() -> AsyncIterator[bytes]:
    while True:
        yield b"x" * 65536


def test_a_stalled_server_ends_the_writer_with_the_engines_timeout(testserver):
    """The server takes a piece a second: the writer, blocked for room, sees the request
    fail with the engine's timeout and raises it (it never waits on forever)."""
    limits = httpring.Limits(stream_buffer=16 * 1024)
    with httpring.Client(limits=limits, timeout=httpring.Timeout(5.0, write=0.3)) as c:
        t = time.monotonic()
        with pytest.raises(httpring.TimeoutException):
            c.post(testserver.url + "/upload?pause_ms=1000", content=endless())
        assert time.monotonic() - t < 3
        assert c.live_handles() == 0


@pytest.mark.anyio
async def test_async_stalled_server(testserver):
    limits = httpring.Limits(stream_buffer=16 * 1024)
    async with httpring.AsyncClient(limits=limits, timeout=httpring.Timeout(5.0, write=0.3)) as c:
        t = time.monotonic()
        with pytest.raises(httpring.TimeoutException):
            await c.post(testserver.url + "/upload?pause_ms=1000", content=aendless())
        assert time.monotonic() - t < 3
        assert c.live_handles() == 0


def test_http2(testserver, payload, payload_fnv):
    with httpring.Client(http2_prior_knowledge=True) as c:
        r = c.post(testserver.url + "/upload", content=pieces(payload))
        assert r.http_version == "HTTP/2"
        got = r.json()
        assert got["version"] == "HTTP/2.0" and got["received"] == len(payload) and got["fnv"] == payload_fnv
        r = c.post(testserver.url + "/upload", content=pieces(payload[:100_000]), headers={"content-length": "100000"})
        assert r.json()["content_length"] == 100_000


def test_a_file_goes_through_its_descriptor(testserver, tmp_path, monkeypatch):
    data = random.Random(3).randbytes(3 * MB + 17)
    path = tmp_path / "body.bin"
    path.write_bytes(data)
    with httpring.Client() as c:
        lib = c._engine.lib
        fds: List[int] = []
        real = lib.httpring_request_set_body_fd

        def counting(req: Any, fd: int, length: int) -> int:
            fds.append(length)
            return int(real(req, fd, length))

        monkeypatch.setattr(lib, "httpring_request_set_body_fd", counting)
        with open(path, "rb") as f:
            r = c.put(testserver.url + "/upload", content=f)
            assert f.tell() == len(data)  # read to its end, as iterating it would
        ref = c.put(testserver.url + "/upload", content=data).json()
        assert r.json()["fnv"] == ref["fnv"] and r.json()["content_length"] == len(data)
        # From where the file object is (a buffered reader has read ahead).
        with open(path, "rb") as f:
            assert f.read(1000) == data[:1000]
            r = c.put(testserver.url + "/upload", content=f)
        assert r.json()["content_length"] == len(data) - 1000
        assert r.json()["fnv"] == c.put(testserver.url + "/upload", content=data[1000:]).json()["fnv"]
        assert fds == [len(data), len(data) - 1000]
        # Unbuffered too.
        with open(path, "rb", buffering=0) as f:
            f.seek(len(data) - 5)
            assert c.put(testserver.url + "/upload", content=f).json()["received"] == 5
        # Not a regular file, or not binary: through the writer, as an iterator.
        small = b"abc\ndef\n" * 1000
        got = c.put(testserver.url + "/upload", content=io.BytesIO(small)).json()
        assert (got["received"], got["content_length"], got["fnv"]) == (len(small), len(small), fnv(small))
        (tmp_path / "t.txt").write_text("line 1\nline 2\n")
        with open(tmp_path / "t.txt") as t:
            got = c.put(testserver.url + "/upload", content=t).json()
        assert got["received"] == 14 and got["chunked"]
        assert len(fds) == 3


def test_a_303_after_an_upload_becomes_a_get_and_a_307_is_not_followed(testserver):
    # A small body: the route answers without reading it, and over HTTP/1.1 a server that
    # closes with much of it unread may reset the connection before the 303 is read (a
    # race of TCP, see the HTTP/2 case below for a large one).
    with httpring.Client(follow_redirects=True) as c:
        r = c.post(testserver.url + "/redirect-to?status=303&url=/echo", content=iter([b"z" * 1000] * 10))
        assert r.status_code == 200 and r.json()["method"] == "GET"
        assert r.request.method == "GET" and [h.status_code for h in r.history] == [303]
        # A 307 would send the body again, which has gone: its response is the answer.
        r = c.post(testserver.url + "/redirect-to?status=307&url=/upload", content=iter([b"x" * 1000]))
        assert r.status_code == 307


def test_a_hundred_megabytes_in_flat_memory(testserver):
    """In a process of its own (its peak RSS is this upload's): 100 MB from a generator
    grow the peak by far less than the body (the engine buffers 256 KiB)."""
    script = textwrap.dedent(
        """
        import sys, httpring
        def rss_peak():
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        chunk = bytes(range(256)) * 256
        def body():
            for _ in range(1600):
                yield chunk
        with httpring.Client() as c:
            c.post(sys.argv[1] + "/upload", content=iter([chunk]))  # warm
            before = rss_peak()
            r = c.post(sys.argv[1] + "/upload", content=body())
            print(r.json()["received"], rss_peak() - before)
        """
    )
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc")
    out = subprocess.run(
        [sys.executable, "-c", script, testserver.url], capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert out.returncode == 0, out.stderr
    received, growth = map(int, out.stdout.split())
    assert received == 1600 * 65536
    assert growth < 16 * MB, growth


def test_request_objects_and_transports(testserver):
    """A Request built with an iterator sends it as it is read (content: RequestNotRead
    until read()); a MockTransport's handler gets it read whole."""
    with httpring.Client() as c:
        request = c.build_request("PUT", testserver.url + "/upload", content=iter([b"ab", b"cd"]))
        with pytest.raises(httpring.RequestNotRead):
            request.content
        r = c.send(request)
        assert r.json()["received"] == 4 and r.json()["chunked"]
        with pytest.raises(httpring.StreamConsumed):
            c.send(request)  # a generator goes once
        request = httpring.Request("POST", testserver.url + "/upload", content=iter([b"abc"]))
        assert request.read() == b"abc" and request.content == b"abc"
        assert c.send(request).json() == c.post(testserver.url + "/upload", content=b"abc").json()
        # send_many and submit() have no writer: the body is read whole.
        r1, r2 = c.send_many([c.build_request("POST", testserver.url + "/upload", content=iter([b"x"] * 3)), testserver.url + "/hello"])
        assert r1.json()["received"] == 3 and not r1.json()["chunked"]
        with c.submit("POST", testserver.url + "/upload", content=iter([b"y"] * 4)) as h:
            assert h.response().json()["received"] == 4
        # An event hook sees the Request, the body unread.
        seen: List[Any] = []
        c.event_hooks = {"request": [lambda req: seen.append(req.stream)]}
        assert c.post(testserver.url + "/upload", content=iter([b"q"])).json()["chunked"]
        assert seen and not isinstance(seen[0], bytes)

    def handler(request: httpring.Request) -> httpring.Response:
        return httpring.Response(200, content=request.content[::-1])

    with httpring.Client(transport=httpring.MockTransport(handler)) as c:
        assert c.post("http://x/", content=iter([b"ab", b"cd"])).content == b"dcba"
    with pytest.raises(TypeError, match="async iterator"):
        with httpring.Client() as c:
            async def agen() -> AsyncIterator[bytes]:
                yield b"x"
            c.post(testserver.url + "/upload", content=agen())


def test_a_streamed_response_after_an_upload_and_module_functions(testserver):
    with httpring.Client() as c:
        with c.stream("POST", testserver.url + "/upload", content=pieces(b"s" * MB)) as r:
            assert r.read() and r.json()["received"] == MB
    assert httpring.post(testserver.url + "/upload", content=iter([b"m"] * 5)).json()["chunked"]
    with httpring.stream("PATCH", testserver.url + "/upload", content=pieces(b"p" * 1000)) as r:
        assert r.read() and r.json()["received"] == 1000


# --- AsyncClient (asyncio and trio) ---

@pytest.mark.anyio
async def test_async_generator(testserver, payload, payload_fnv):
    async with httpring.AsyncClient() as c:
        check(await c.post(testserver.url + "/upload", content=apieces(payload)), len(payload), payload_fnv)
        r = await c.put(
            testserver.url + "/upload", content=apieces(payload), headers={"content-length": str(len(payload))}
        )
        check(r, len(payload), payload_fnv, chunked=False)
        # A sync iterator too.
        check(await c.post(testserver.url + "/upload", content=pieces(payload)), len(payload), payload_fnv)
        assert (await c.get(testserver.url + "/hello")).status_code == 200


@pytest.mark.anyio
async def test_async_writer_awaits_room(testserver, monkeypatch):
    """With a small buffer and a slow server, writes find it full: the task awaits the
    handle's WRITABLE completion (through the client's fd), several uploads at once on one
    client, and every body arrives whole."""
    events: List[int] = []
    real = _async_client._Dispatcher.stream_event

    def counting(self: Any, h: int, uid: int, event: int) -> None:
        events.append(event)
        real(self, h, uid, event)

    monkeypatch.setattr(_async_client._Dispatcher, "stream_event", counting)
    data = random.Random(4).randbytes(MB)
    async with httpring.AsyncClient(limits=httpring.Limits(stream_buffer=32 * 1024)) as c:
        results: List[Any] = [None] * 3

        async def one(i: int) -> None:
            results[i] = (await c.post(testserver.url + "/upload?pause_ms=1", content=apieces(data))).json()

        async with anyio.create_task_group() as tg:
            for i in range(3):
                tg.start_soon(one, i)
        ref = (await c.post(testserver.url + "/upload", content=data)).json()
        assert all(got["fnv"] == ref["fnv"] and got["received"] == len(data) for got in results)
    assert events.count(3) > 5, events.count(3)  # HTTPRING_EVENT_WRITABLE


@pytest.mark.anyio
async def test_async_iterator_that_raises(testserver):
    async def source() -> AsyncIterator[bytes]:
        yield b"x" * 300_000
        raise KeyError("midway")

    async with httpring.AsyncClient(limits=httpring.Limits(stream_buffer=16 * 1024)) as c:
        with pytest.raises(KeyError, match="midway"):
            await c.post(testserver.url + "/upload?pause_ms=1", content=source())
        assert c.live_handles() == 0
        assert (await c.post(testserver.url + "/upload", content=apieces(b"ok"))).json()["received"] == 2


@pytest.mark.anyio
async def test_async_cancel_during_upload(testserver):
    async def slow() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536

    async with httpring.AsyncClient(limits=httpring.Limits(stream_buffer=16 * 1024)) as c:
        with anyio.move_on_after(0.3) as scope:
            await c.post(testserver.url + "/upload?pause_ms=5", content=slow())
        assert scope.cancelled_caught
        assert c.cancelled_requests == 1 and c.live_handles() == 0
        assert (await c.get(testserver.url + "/hello")).status_code == 200


@pytest.mark.anyio
async def test_async_http2_file_redirect_and_stream(testserver, tmp_path):
    data = random.Random(5).randbytes(2 * MB)
    path = tmp_path / "body.bin"
    path.write_bytes(data)
    async with httpring.AsyncClient(http2_prior_knowledge=True, follow_redirects=True) as c:
        ref = (await c.post(testserver.url + "/upload", content=data)).json()
        got = (await c.post(testserver.url + "/upload", content=apieces(data))).json()
        assert got["version"] == "HTTP/2.0" and got["fnv"] == ref["fnv"]
        with open(path, "rb") as f:
            got = (await c.put(testserver.url + "/upload", content=f)).json()
        assert got["fnv"] == ref["fnv"] and got["content_length"] == len(data)
        r = await c.post(testserver.url + "/redirect-to?status=303&url=/echo", content=apieces(data))
        assert r.json()["method"] == "GET" and [h.status_code for h in r.history] == [303]
        async with c.stream("POST", testserver.url + "/upload", content=apieces(data)) as r:
            await r.aread()
            assert r.json()["fnv"] == ref["fnv"]


@pytest.mark.anyio
async def test_async_requests_and_transports(testserver):
    async with httpring.AsyncClient() as c:
        request = c.build_request("POST", testserver.url + "/upload", content=apieces(b"abcd"))
        with pytest.raises(httpring.RequestNotRead):
            request.content
        assert (await c.send(request)).json()["received"] == 4
        r1, r2 = await c.send_many([c.build_request("POST", testserver.url + "/upload", content=apieces(b"xyz")), testserver.url + "/hello"])
        assert r1.json()["received"] == 3 and r2.status_code == 200

    async def handler(request: httpring.Request) -> httpring.Response:
        return httpring.Response(200, content=request.content.upper())

    async with httpring.AsyncClient(transport=httpring.MockTransport(handler)) as c:
        assert (await c.post("http://x/", content=apieces(b"abc"))).content == b"ABC"


def test_an_upload_is_an_empty_body_where_bytes_go():
    up = _upload.Upload(iter([b"x"]))
    assert up == b"" and "Upload" in repr(up)

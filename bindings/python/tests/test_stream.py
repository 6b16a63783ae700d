"""Streamed responses (``client.stream``, ``send(stream=True)``, ``httpring.stream``): the body
read as it arrives, with flat memory, a server held back by a reader that stops, events as
they are sent, httpx's rules (StreamConsumed, ResponseNotRead, StreamClosed), and errors in
the middle of a body raised as the request's exception classes. Every server is on
127.0.0.1 and started by the tests."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator, List, Sequence

import anyio
import pytest

import httpring
import conftest
from servers import _read_head, _Threaded

ALPHABET = bytes(range(ord("a"), ord("z") + 1))
#: Long enough to compare any piece read (at most 256 KiB) at any offset.
PATTERN = ALPHABET * ((300 << 10) // 26 + 2)


def check_pattern(chunk: bytes, offset: int) -> None:
    """The /stream route's body: byte i is 'a' + i % 26."""
    start = offset % 26
    assert chunk == PATTERN[start : start + len(chunk)], f"wrong bytes at offset {offset}"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def run_on(backend: str, main: Callable[[], Any]) -> Any:
    """Runs ``main()`` under asyncio or trio (the ``anyio_backend`` fixture: the test runs
    on both), 60 s at most."""

    async def bounded() -> Any:
        with anyio.fail_after(60):
            return await main()

    return anyio.run(bounded, backend=backend)


# --- a body as it arrives --------------------------------------------------------------------

def test_stream_50_mb_sync(testserver):
    n = 50_000_000
    with httpring.Client() as c:
        with c.stream("GET", f"{testserver.url}/stream/{n}") as r:
            assert r.status_code == 200 and r.headers["content-length"] == str(n)
            assert not r.is_stream_consumed and not r.is_closed
            got = 0
            pieces = 0
            for chunk in r.iter_bytes():
                check_pattern(chunk, got)
                got += len(chunk)
                pieces += 1
            assert got == n and pieces > 1
            assert r.is_stream_consumed and r.is_closed  # read to its end: closed
        assert c.live_handles() == 0
        # The connection went back to the pool: the next request reuses it.
        opened = c.stats().connections_opened
        assert c.get(testserver.url + "/hello").status_code == 200
        assert c.stats().connections_opened == opened


def test_stream_50_mb_async(testserver, anyio_backend):
    n = 50_000_000

    async def main() -> None:
        async with httpring.AsyncClient() as c:
            async with c.stream("GET", f"{testserver.url}/stream/{n}?chunked=1") as r:
                assert r.status_code == 200 and "content-length" not in r.headers
                got = 0
                async for chunk in r.aiter_bytes():
                    check_pattern(chunk, got)
                    got += len(chunk)
                assert got == n and r.is_closed
            assert c.live_handles() == 0
            opened = c.stats().connections_opened
            assert (await c.get(testserver.url + "/hello")).status_code == 200
            assert c.stats().connections_opened == opened

    run_on(anyio_backend, main)


def test_iter_bytes_and_iter_raw_chunk_size(testserver):
    with httpring.Client() as c:
        with c.stream("GET", f"{testserver.url}/stream/100000/7000") as r:
            chunks = list(r.iter_bytes(chunk_size=4096))
        assert [len(x) for x in chunks] == [4096] * 24 + [100000 - 24 * 4096]
        check_pattern(b"".join(chunks), 0)
        with c.stream("GET", f"{testserver.url}/stream/100000/7000") as r:
            raw = list(r.iter_raw(1000))
        assert len(raw) == 100 and all(len(x) == 1000 for x in raw)
        check_pattern(b"".join(raw), 0)


MEMORY_CHILD = r"""
import asyncio, resource, sys, httpring
url, n = sys.argv[1], int(sys.argv[2])
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
def sync():
    with httpring.Client() as c:
        c.get(url + "/hello")
        before = peak(); got = 0
        with c.stream("GET", f"{url}/stream/{n}") as r:
            for chunk in r.iter_bytes():
                got += len(chunk)
        assert got == n, got
        return peak() - before
async def main():
    async with httpring.AsyncClient() as c:
        await c.get(url + "/hello")
        before = peak(); got = 0
        async with c.stream("GET", f"{url}/stream/{n}") as r:
            async for chunk in r.aiter_bytes():
                got += len(chunk)
        assert got == n, got
        return peak() - before
print(sync(), asyncio.run(main()))
"""


def test_memory_stays_flat(testserver):
    """Peak RSS (in a fresh process, so the peak is this stream's) grows far less than the
    200 MB streamed, sync and async. The server is another process."""
    n = 200_000_000
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, testserver.url, str(n)],
        capture_output=True, text=True, timeout=120, env=os.environ,
    )
    assert out.returncode == 0, out.stderr
    sync_growth, async_growth = map(int, out.stdout.split())
    assert sync_growth < 40 << 20, f"sync: peak RSS grew {sync_growth >> 20} MiB"
    assert async_growth < 40 << 20, f"async: peak RSS grew {async_growth >> 20} MiB"


# --- a reader that stops holds the server back; closing closes the connection -------------

@pytest.fixture
def own_server() -> Iterator[conftest.TestServer]:
    """A test server of this test's own: its /stats count only this test's connections."""
    server = conftest.TestServer()
    yield server
    server.stop()


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def sent_once_still(server, still: float = 0.5, within: float = 10.0):
    """The server's count of bytes sent once it has stood still for ``still`` seconds
    (the server is blocked), or None if it never did within ``within``: waited for, not a
    fixed time that a loaded machine might not fill the buffers in."""
    start = time.monotonic()
    sent = server.stats()["sent"]
    since = time.monotonic()
    while time.monotonic() - since < still:
        if time.monotonic() - start > within:
            return None
        time.sleep(0.02)
        now = server.stats()["sent"]
        if now != sent:
            sent, since = now, time.monotonic()
    return sent


def test_a_reader_that_stops_holds_the_server_back_sync(own_server):
    body = 1_000_000_000
    open_before = own_server.stats()["open"]  # counts the /stats request's own connection
    with httpring.Client() as c:
        with c.stream("GET", f"{own_server.url}/stream/{body}") as r:
            chunk = next(r.iter_bytes())
            check_pattern(chunk, 0)
            first = sent_once_still(own_server)
            assert first is not None, "the server kept sending to a reader that stopped"
            # What waits: the engine's 256 KiB, hyper's buffer, the sockets' buffers.
            assert first < 64 << 20, f"{first} bytes sent to a reader that read {len(chunk)}"
            assert own_server.stats()["open"] == open_before + 1
        assert c.live_handles() == 0
        # Closed early: the connection is closed, not pooled.
        assert c.stats().pooled_connections == 0
    assert wait_for(lambda: own_server.stats()["open"] == open_before), own_server.stats()
    assert own_server.stats()["sent"] < 64 << 20


def test_a_reader_that_stops_holds_the_server_back_async(own_server, anyio_backend):
    body = 1_000_000_000
    open_before = own_server.stats()["open"]

    async def main() -> None:
        async with httpring.AsyncClient() as c:
            async with c.stream("GET", f"{own_server.url}/stream/{body}") as r:
                async for chunk in r.aiter_bytes():
                    check_pattern(chunk, 0)
                    break
                first = await anyio.to_thread.run_sync(sent_once_still, own_server)
                assert first is not None, "the server kept sending to a reader that stopped"
                assert first < 64 << 20
            assert c.live_handles() == 0 and c.stats().pooled_connections == 0

    run_on(anyio_backend, main)
    assert wait_for(lambda: own_server.stats()["open"] == open_before), own_server.stats()


# --- server-sent events: each line as it is sent ------------------------------------------

def check_events(lines: Sequence[str], arrivals: Sequence[int], count: int) -> float:
    """The lines are exactly the events (``data: I T`` then a blank line); returns the
    median lag, in ms, from T (µs since the epoch, when the server sent it) to arrival."""
    assert lines[1::2] == [""] * count
    data = lines[0::2]
    assert [line.split()[:2] for line in data] == [["data:", str(i)] for i in range(count)]
    lags = [(arrived - int(line.split()[2])) / 1000 for line, arrived in zip(data, arrivals[0::2])]
    return statistics.median(lags)


def test_server_sent_events_sync(testserver):
    lines: List[str] = []
    arrivals: List[int] = []
    with httpring.Client() as c:
        with c.stream("GET", testserver.url + "/events/5/200") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                arrivals.append(time.time_ns() // 1000)
                lines.append(line)
    assert len(lines) == 10
    assert check_events(lines, arrivals, 5) < 50
    # Lines came as the events were sent (200 ms apart), not all at the end.
    assert arrivals[-2] - arrivals[0] > 600_000


def test_server_sent_events_async(testserver, anyio_backend):
    lines: List[str] = []
    arrivals: List[int] = []

    async def main() -> None:
        async with httpring.AsyncClient() as c:
            async with c.stream("GET", testserver.url + "/events/5/200") as r:
                async for line in r.aiter_lines():
                    arrivals.append(time.time_ns() // 1000)
                    lines.append(line)

    run_on(anyio_backend, main)
    assert len(lines) == 10
    assert check_events(lines, arrivals, 5) < 50
    assert arrivals[-2] - arrivals[0] > 600_000


def test_many_streams_and_requests_at_once_async(testserver, anyio_backend):
    """BODY completions of many bodies, interleaved with other requests' completions on
    the same drain, each reach their own reader."""

    async def one(c: httpring.AsyncClient, i: int) -> int:
        n = 300_000 + i * 1000
        got = 0
        async with c.stream("GET", f"{testserver.url}/stream/{n}/{1000 + i}") as r:
            async for chunk in r.aiter_bytes():
                check_pattern(chunk, got)
                got += len(chunk)
        return got - n

    async def events(c: httpring.AsyncClient) -> int:
        async with c.stream("GET", testserver.url + "/events/3/20") as r:
            return len([line async for line in r.aiter_lines() if line])

    async def main() -> None:
        async with httpring.AsyncClient() as c:
            jobs = [*(one(c, i) for i in range(20)), *(events(c) for _ in range(5))]
            jobs += [c.get(testserver.url + "/hello") for _ in range(20)]
            results: List[Any] = [None] * len(jobs)

            async def run_job(i: int) -> None:
                results[i] = await jobs[i]

            async with anyio.create_task_group() as tg:
                for i in range(len(jobs)):
                    tg.start_soon(run_job, i)
            assert results[:20] == [0] * 20
            assert results[20:25] == [3] * 5
            assert all(r.text == "Hello, world!" for r in results[25:])
            assert c.live_handles() == 0

    run_on(anyio_backend, main)


def test_many_streams_from_threads_sync(testserver):
    errors: List[BaseException] = []
    with httpring.Client() as c:

        def reader(i: int) -> None:
            try:
                n = 2_000_000 + i
                got = 0
                with c.stream("GET", f"{testserver.url}/stream/{n}/{3000 + i}") as r:
                    for chunk in r.iter_bytes():
                        check_pattern(chunk, got)
                        got += len(chunk)
                assert got == n
                assert c.get(testserver.url + "/hello").status_code == 200
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert c.live_handles() == 0


def test_http2_a_stalled_stream_does_not_hold_up_the_connection(testserver):
    """Over HTTP/2 (h2c) a stream its reader left alone is held back by flow control, while
    another stream on the same connection goes on."""
    with httpring.Client(http1=False, http2=True) as c:
        with c.stream("GET", f"{testserver.url}/stream/1000000000") as stalled:
            assert stalled.http_version == "HTTP/2"
            check_pattern(next(stalled.iter_bytes()), 0)
            with c.stream("GET", f"{testserver.url}/stream/20000000") as r:
                got = 0
                for chunk in r.iter_bytes():
                    check_pattern(chunk, got)
                    got += len(chunk)
            assert got == 20_000_000
            assert c.stats().connections_opened == 1
        assert c.live_handles() == 0
        # Closed mid-body: its stream was reset, and the shared connection goes on.
        assert c.get(testserver.url + "/hello").text == "Hello, world!"
        assert c.stats().connections_opened == 1

    async def main() -> None:
        async with httpring.AsyncClient(http1=False, http2=True) as ac:
            async with ac.stream("GET", f"{testserver.url}/stream/1000000000") as stalled:
                async for _ in stalled.aiter_raw():
                    break
                async with ac.stream("GET", f"{testserver.url}/stream/20000000") as r:
                    assert len(await r.aread()) == 20_000_000
                assert ac.stats().connections_opened == 1

    run(main())


def test_a_response_keeps_its_async_client(testserver, anyio_backend):
    async def open_one() -> httpring.Response:
        client = httpring.AsyncClient()
        return await client.send(client.build_request("GET", f"{testserver.url}/stream/300000"), stream=True)

    async def main() -> None:
        r = await open_one()
        gc.collect()  # the client is not collected (and closed) under its response
        assert len(await r.aread()) == 300000 and r.is_closed

    run_on(anyio_backend, main)


# --- text and lines --------------------------------------------------------------------------

@pytest.mark.parametrize("coding", ["gzip", "br", "zstd", "deflate"])
def test_streamed_encoded_body_is_decoded(testserver, coding):
    url = f"{testserver.url}/encoded/{coding}/300000"
    with httpring.Client() as c:
        whole = c.get(url)
        with c.stream("GET", url) as r:
            assert r.headers["content-encoding"] == coding  # as received, as in httpx
            streamed = b"".join(r.iter_bytes())
        assert streamed == whole.content and len(streamed) == 300000
        with c.stream("GET", url) as r:
            assert "".join(r.iter_text()) == whole.text
        with c.stream("GET", url) as r:
            assert list(r.iter_lines()) == whole.text.splitlines()
        with c.stream("GET", url) as r:
            chunks = list(r.iter_text(chunk_size=1000))
        assert "".join(chunks) == whole.text
        assert all(len(x) == 1000 for x in chunks[:-1]) and 0 < len(chunks[-1]) <= 1000


def test_streamed_encoded_body_async(testserver, anyio_backend):
    url = f"{testserver.url}/encoded/gzip/300000"

    async def main() -> None:
        async with httpring.AsyncClient() as c:
            whole = await c.get(url)
            async with c.stream("GET", url) as r:
                assert b"".join([x async for x in r.aiter_bytes(5000)]) == whole.content
            async with c.stream("GET", url) as r:
                assert [x async for x in r.aiter_lines()] == whole.text.splitlines()
            async with c.stream("GET", url) as r:
                chunks = [x async for x in r.aiter_text(chunk_size=999)]
            assert "".join(chunks) == whole.text and {len(x) for x in chunks[:-1]} == {999}
            async with c.stream("GET", url) as r:
                raw = [x async for x in r.aiter_raw()]
            assert b"".join(raw) == whole.content  # decoded: see iter_raw

    run_on(anyio_backend, main)


class PiecesServer(_Threaded):
    """Answers every request with ``pieces``, sent one by one with a pause between them, so
    the client reads them separately: a character or a line end cut in two."""

    def __init__(self, pieces: Sequence[bytes]) -> None:
        self.pieces = pieces
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        super().__init__(sock)

    def serve(self, conn: socket.socket) -> None:
        if not _read_head(conn)[0]:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in self.pieces:
            conn.sendall(piece)
            time.sleep(0.03)


def split_response(charset: str, text: str, cuts: Sequence[int]) -> List[bytes]:
    body = text.encode(charset)
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset={charset}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode()
    bounds = [0, *cuts, len(body)]
    return [head] + [body[a:b] for a, b in zip(bounds, bounds[1:])]


def test_text_and_lines_cut_anywhere():
    text = "caf\u00e9\r\nna\u00efve \u20ac\rlast"
    body = text.encode("utf-8")
    # "é" cut in two, "\r\n" cut in two, "€" cut after its first byte, a lone "\r".
    cuts = [4, 6, 13]
    assert body[3:5] == "\u00e9".encode() and body[5:7] == b"\r\n"
    server = PiecesServer(split_response("utf-8", text, cuts))
    try:
        with httpring.Client() as c:
            with c.stream("GET", server.url) as r:
                assert list(r.iter_lines()) == text.splitlines() == ["caf\u00e9", "na\u00efve \u20ac", "last"]
            with c.stream("GET", server.url) as r:
                pieces = list(r.iter_text())
            assert "".join(pieces) == text and len(pieces) > 2

            async def main() -> List[str]:
                async with httpring.AsyncClient() as ac:
                    async with ac.stream("GET", server.url) as r:
                        return [line async for line in r.aiter_lines()]

            assert run(main()) == text.splitlines()
    finally:
        server.close()


def test_text_uses_the_charset():
    text = "na\u00efve caf\u00e9\n" * 3
    server = PiecesServer(split_response("latin-1", text, [5, 20]))
    try:
        with httpring.Client() as c:
            with c.stream("GET", server.url) as r:
                assert r.encoding == "latin-1"  # as Content-Type names it (httpx)
                assert "".join(r.iter_text()) == text
    finally:
        server.close()


# --- httpx's rules ------------------------------------------------------------------------------

def test_read_inside_the_block(testserver):
    with httpring.Client() as c:
        with c.stream("GET", testserver.url + "/json") as r:
            with pytest.raises(httpring.ResponseNotRead):
                r.content
            with pytest.raises(httpring.ResponseNotRead):
                r.json()
            assert r.read() == r.content and r.json() == c.get(testserver.url + "/json").json()
            assert r.read() is r.content  # kept
            assert r.is_stream_consumed and r.is_closed
            # Iterating what read() kept is fine, as in httpx.
            assert b"".join(r.iter_bytes()) == r.content
            assert "".join(r.iter_text()) == r.text
            with pytest.raises(httpring.StreamConsumed):
                list(r.iter_raw())
        assert r.content and r.elapsed.total_seconds() > 0
        assert c.live_handles() == 0


def test_content_after_iteration_needs_read(testserver):
    with httpring.Client() as c:
        with c.stream("GET", testserver.url + "/stream/1000") as r:
            assert len(b"".join(r.iter_bytes())) == 1000
            with pytest.raises(httpring.ResponseNotRead):
                r.content
            with pytest.raises(httpring.ResponseNotRead):
                r.text
            with pytest.raises(httpring.StreamConsumed):
                list(r.iter_bytes())
            with pytest.raises(httpring.StreamConsumed):
                list(r.iter_lines())
            with pytest.raises(httpring.StreamConsumed):
                r.read()
        # A body closed before it was read.
        with c.stream("GET", testserver.url + "/stream/1000") as r:
            pass
        assert r.is_closed and not r.is_stream_consumed
        with pytest.raises(httpring.StreamClosed):
            list(r.iter_bytes())
        with pytest.raises(httpring.StreamClosed):
            r.read()
        assert isinstance(httpring.StreamClosed(), httpring.StreamError)
        assert isinstance(httpring.ResponseNotRead(), RuntimeError)
        assert not isinstance(httpring.StreamConsumed(), httpring.HTTPError)


def test_async_rules(testserver, anyio_backend):
    async def main() -> None:
        async with httpring.AsyncClient() as c:
            async with c.stream("GET", testserver.url + "/stream/1000") as r:
                with pytest.raises(RuntimeError, match="sync iterator on an async stream"):
                    list(r.iter_bytes())
                with pytest.raises(RuntimeError, match="sync close on an async stream"):
                    r.close()
                assert await r.aread() == r.content and len(r.content) == 1000
                with pytest.raises(httpring.StreamConsumed):
                    [x async for x in r.aiter_raw()]
                assert [x async for x in r.aiter_bytes()] == [r.content]
            async with c.stream("GET", testserver.url + "/stream/1000") as r:
                assert [x async for x in r.aiter_text()] and r.is_closed
                with pytest.raises(httpring.ResponseNotRead):
                    r.content
                with pytest.raises(httpring.StreamConsumed):
                    await r.aread()
            assert c.live_handles() == 0

    run_on(anyio_backend, main)


def test_aiter_bytes_behaves_as_an_async_generator(testserver, anyio_backend):
    """aiter_bytes()/aiter_raw() without chunk_size give the body's own iterator (not an
    async generator): as httpx's, nothing happens until it is iterated, the response is
    closed after the last piece, a second iteration raises StreamConsumed, and aclose()
    ends it early with the response still open. The end is known with the last bytes."""
    n = 3 << 20

    async def main() -> None:
        async with httpring.AsyncClient() as c:
            async with c.stream("GET", f"{testserver.url}/stream/{n}") as r:
                it = r.aiter_bytes()
                assert not r.is_stream_consumed and not r.is_closed
                assert it.__aiter__() is it
                total = 0
                async for piece in it:
                    assert 0 < len(piece) <= 256 << 10
                    check_pattern(piece, total)
                    total += len(piece)
                    assert not r.is_closed or total == n
                assert total == n and r.is_closed and r.num_bytes_downloaded == n
                with pytest.raises(StopAsyncIteration):
                    await it.__anext__()
                with pytest.raises(httpring.StreamConsumed):
                    [x async for x in r.aiter_bytes()]
            async with c.stream("GET", f"{testserver.url}/stream/{n}") as r:
                it = r.aiter_raw()
                first = await it.__anext__()
                check_pattern(first, 0)
                await it.aclose()
                assert [x async for x in it] == []
                assert r.is_stream_consumed and not r.is_closed
            assert r.is_closed
            # asend() and athrow(), as an async generator that takes nothing in and catches
            # nothing: the next piece; the exception, and the iteration over.
            async with c.stream("GET", f"{testserver.url}/stream/{n}") as r:
                it = r.aiter_bytes()
                check_pattern(await it.asend(None), 0)
                with pytest.raises(KeyError):
                    await it.athrow(KeyError("stop"))
                with pytest.raises(StopAsyncIteration):
                    await it.asend(None)
                with pytest.raises(ValueError, match="bad"):
                    await r.aiter_raw().athrow(ValueError, "bad")
            assert c.live_handles() == 0

    run_on(anyio_backend, main)


def test_closing_a_response_from_another_thread_mid_read(testserver):
    """A response closed by another thread while its body is read (and copied out of the
    engine's lent bytes): the reader stops with StreamClosed, every byte it got in order."""
    total = 200 << 20
    with httpring.Client() as c:
        got = 0
        with c.stream("GET", f"{testserver.url}/stream/{total}") as r:
            closer = threading.Timer(0.05, r.close)
            closer.start()
            with pytest.raises(httpring.StreamClosed):
                for piece in r.iter_bytes():
                    check_pattern(piece, got)
                    got += len(piece)
                    time.sleep(0.001)  # a reader slower than the close
            closer.join()
        assert 0 < got < total and r.is_closed
        assert c.live_handles() == 0


def test_a_close_inside_a_copy_on_the_same_thread_does_not_deadlock(testserver):
    """A finalizer the garbage collector runs while this thread holds Engine.lock (copying
    a response out) may close a streamed response: the close returns, and the handle is
    freed once the lock is free."""
    with httpring.Client() as c:
        with c.stream("GET", f"{testserver.url}/stream/{1 << 20}") as r:
            next(r.iter_bytes())
            with c._engine.lock:  # as inside read_many or a body's copy
                t0 = time.monotonic()
                r.close()
                assert time.monotonic() - t0 < 5
                assert r.is_closed and c.live_handles() == 1  # not freed under the lock
        deadline = time.monotonic() + 10
        while c.live_handles() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert c.live_handles() == 0


def test_responses_not_streamed_follow_the_same_rules(testserver):
    with httpring.Client() as c:
        r = c.get(testserver.url + "/stream/1000")
    assert r.is_stream_consumed and r.is_closed
    assert r.read() == r.content and b"".join(r.iter_bytes(100)) == r.content
    assert "".join(r.iter_text(300)) == r.text and list(r.iter_lines()) == [r.text]
    with pytest.raises(httpring.StreamConsumed):
        list(r.iter_raw())
    r.close()

    async def main() -> None:
        assert await r.aread() == r.content
        assert b"".join([x async for x in r.aiter_bytes()]) == r.content
        assert [x async for x in r.aiter_lines()] == [r.text]
        await r.aclose()

    run(main())
    built = httpring.Response(200, content=b"a\nb")
    assert list(built.iter_lines()) == ["a", "b"] and built.is_closed


# --- errors in the middle of a body ------------------------------------------------------------

def test_read_timeout_mid_body(testserver):
    got: List[bytes] = []
    with httpring.Client() as c:
        with c.stream("GET", testserver.url + "/stall-body", timeout=httpring.Timeout(5.0, read=0.3)) as r:
            assert r.status_code == 200
            start = time.monotonic()
            with pytest.raises(httpring.ReadTimeout) as info:
                for chunk in r.iter_bytes():
                    got.append(chunk)
            assert 0.25 < time.monotonic() - start < 3
        assert b"".join(got) == b"0123456789"
        assert info.value.code_name == "HTTPRING_ERR_READ_TIMEOUT"
        assert info.value.request.url == testserver.url + "/stall-body"
        assert c.live_handles() == 0


def test_read_timeout_mid_body_async(testserver, anyio_backend):
    async def main() -> None:
        got: List[bytes] = []
        async with httpring.AsyncClient(timeout=httpring.Timeout(5.0, read=0.3)) as c:
            with pytest.raises(httpring.ReadTimeout):
                async with c.stream("GET", testserver.url + "/stall-body") as r:
                    async for chunk in r.aiter_bytes():
                        got.append(chunk)
            assert b"".join(got) == b"0123456789"
            assert c.live_handles() == 0
            assert (await c.get(testserver.url + "/hello")).status_code == 200

    run_on(anyio_backend, main)


def test_body_cut_short(testserver):
    # /lie announces 100 bytes and breaks the connection (this server sends none of them).
    with httpring.Client() as c:
        with pytest.raises((httpring.RemoteProtocolError, httpring.ReadError)):
            with c.stream("GET", testserver.url + "/lie") as r:
                for chunk in r.iter_bytes():
                    assert b"0123456789".startswith(chunk)
        assert c.live_handles() == 0

    async def main() -> None:
        async with httpring.AsyncClient() as ac:
            async with ac.stream("GET", testserver.url + "/lie") as r:
                with pytest.raises((httpring.RemoteProtocolError, httpring.ReadError)):
                    await r.aread()

    run(main())


def test_body_cut_short_after_some_bytes():
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n"
    server = PiecesServer([head, b"01234", b"56789"])  # then closed: 10 of 100 bytes
    try:
        got: List[bytes] = []
        with httpring.Client() as c:
            with c.stream("GET", server.url) as r:
                with pytest.raises(httpring.RemoteProtocolError) as info:
                    for chunk in r.iter_bytes():
                        got.append(chunk)
        assert b"".join(got) == b"0123456789" and len(got) == 2
        assert info.value.code_name == "HTTPRING_ERR_PROTOCOL"

        async def main() -> List[bytes]:
            out: List[bytes] = []
            async with httpring.AsyncClient() as ac:
                async with ac.stream("GET", server.url) as r:
                    with pytest.raises(httpring.RemoteProtocolError):
                        async for chunk in r.aiter_raw():
                            out.append(chunk)
            return out

        assert b"".join(run(main())) == b"0123456789"
    finally:
        server.close()


def test_errors_before_the_head(testserver):
    with httpring.Client(timeout=2) as c:
        with pytest.raises(httpring.ConnectError):
            with c.stream("GET", "http://127.0.0.1:1/"):
                pass  # pragma: no cover
        with pytest.raises(httpring.UnsupportedProtocol):
            with c.stream("GET", "ftp://127.0.0.1/"):
                pass  # pragma: no cover
        assert c.live_handles() == 0

    async def main() -> None:
        async with httpring.AsyncClient(timeout=2) as ac:
            with pytest.raises(httpring.ConnectError):
                async with ac.stream("GET", "http://127.0.0.1:1/"):
                    pass  # pragma: no cover
            assert ac.live_handles() == 0

    run(main())


# --- leaving early, closing, cancelling ---------------------------------------------------------

def test_leaving_early_frees_the_handle(testserver):
    with httpring.Client() as c:
        for _ in range(3):
            with c.stream("GET", f"{testserver.url}/stream/100000000") as r:
                for chunk in r.iter_bytes():
                    break
            assert r.is_closed and c.live_handles() == 0
        # An exception out of the block closes too.
        with pytest.raises(KeyError):
            with c.stream("GET", f"{testserver.url}/stream/100000000") as r:
                raise KeyError("x")
        assert r.is_closed and c.live_handles() == 0
        assert c.get(testserver.url + "/hello").status_code == 200


def test_leaving_early_async(testserver, anyio_backend):
    async def main() -> None:
        async with httpring.AsyncClient() as c:
            for _ in range(3):
                async with c.stream("GET", f"{testserver.url}/stream/100000000") as r:
                    async for line in r.aiter_lines():
                        break
                assert r.is_closed and c.live_handles() == 0
            assert (await c.get(testserver.url + "/hello")).status_code == 200

    run_on(anyio_backend, main)


def test_a_stream_block_is_entered_once(testserver, anyio_backend):
    with httpring.Client() as c:
        cm = c.stream("GET", testserver.url + "/hello")
        with cm as r:
            with pytest.raises(RuntimeError):
                cm.__enter__()
            assert r.read() == b"Hello, world!"
        assert c.live_handles() == 0

    async def main() -> None:
        async with httpring.AsyncClient() as ac:
            acm = ac.stream("GET", testserver.url + "/hello")
            async with acm as r:
                with pytest.raises(RuntimeError):
                    await acm.__aenter__()
                assert await r.aread() == b"Hello, world!"
            assert ac.live_handles() == 0

    run_on(anyio_backend, main)


def test_a_streamed_request_cancelled_before_its_batch_goes(testserver):
    """A stream() whose task is cancelled while its request waits for the loop's batch is
    never sent, and leaves nothing behind; the next batch goes on."""

    async def main() -> None:
        async with httpring.AsyncClient() as c:

            async def read(path: str) -> bytes:
                async with c.stream("GET", testserver.url + path) as r:
                    return await r.aread()

            first = asyncio.ensure_future(read("/hello"))  # sent at once: nothing in flight
            queued = asyncio.ensure_future(read("/stream/1000"))  # queued behind it
            await asyncio.sleep(0)
            queued.cancel()
            assert await first == b"Hello, world!"
            with pytest.raises(asyncio.CancelledError):
                await queued
            d = c._dispatcher
            assert c.live_handles() == 0 and not d.queued and not d.queued_streams and not d.streams
            assert len(await read("/stream/5000")) == 5000

    asyncio.run(main())


def test_a_response_dropped_unclosed_is_freed(testserver, anyio_backend):
    with httpring.Client() as c:
        r = c.send(c.build_request("GET", f"{testserver.url}/stream/10000000"), stream=True)
        assert c.live_handles() == 1
        del r
        gc.collect()
        assert c.live_handles() == 0

    async def main() -> None:
        async with httpring.AsyncClient() as ac:
            r = await ac.send(ac.build_request("GET", f"{testserver.url}/stream/10000000"), stream=True)
            assert ac.live_handles() == 1
            del r
            # The loop's callback that resumed this task holds the head's future (and so
            # the response) until this step ends.
            await anyio.sleep(0)
            gc.collect()
            assert ac.live_handles() == 0
            assert not ac._dispatcher.streams  # the body took itself out

    run_on(anyio_backend, main)


def test_cancelling_the_reading_task(testserver, anyio_backend):
    """A cancel scope (asyncio: the task's cancellation) that ends a reader, mid-body or
    while the head is awaited, frees the handle; the client goes on."""

    async def main() -> None:
        async with httpring.AsyncClient() as c:
            lines: List[str] = []

            async def reader() -> None:
                async with c.stream("GET", testserver.url + "/events/100/100") as r:
                    async for line in r.aiter_lines():
                        lines.append(line)
                        if len(lines) == 2:
                            started.set()

            async with anyio.create_task_group() as tg:
                started = anyio.Event()
                tg.start_soon(reader)
                await started.wait()
                tg.cancel_scope.cancel()
            assert lines[0].startswith("data: 0 ") and len(lines) < 20
            assert c.live_handles() == 0
            # Cancelled while waiting for the head.
            async with anyio.create_task_group() as tg:
                tg.start_soon(reader)
                await anyio.sleep(0)
                tg.cancel_scope.cancel()
            assert c.live_handles() == 0
            assert (await c.get(testserver.url + "/hello")).status_code == 200

    run_on(anyio_backend, main)


@pytest.mark.allow_live_at_close
def test_closing_the_client_under_a_reader_sync(testserver):
    c = httpring.Client(timeout=httpring.Timeout(5.0, read=30))
    errors: List[BaseException] = []

    def reader() -> None:
        try:
            with c.stream("GET", testserver.url + "/stall-body") as r:
                for _ in r.iter_bytes():
                    pass
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    c.close()
    t.join(5)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], httpring.ClientClosed), errors
    # httpx raises ReadError there: the same error is one (a TransportError) too.
    assert isinstance(errors[0], httpring.ReadError) and isinstance(errors[0], httpring.TransportError)


@pytest.mark.allow_live_at_close
def test_closing_the_client_under_a_reader_async(testserver, anyio_backend):
    errors: List[BaseException] = []

    async def main() -> None:
        c = httpring.AsyncClient(timeout=httpring.Timeout(5.0, read=30))
        async with c.stream("GET", testserver.url + "/stall-body") as r:
            chunks = r.aiter_bytes()
            assert await chunks.__anext__() == b"0123456789"

            async def wait_more() -> None:
                try:
                    await chunks.__anext__()
                except Exception as e:
                    errors.append(e)

            with anyio.fail_after(5):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(wait_more)
                    await anyio.sleep(0.1)
                    await c.aclose()

    run_on(anyio_backend, main)
    assert len(errors) == 1 and isinstance(errors[0], httpring.ClientClosed), errors
    # httpx raises ReadError there: the same error is one (a TransportError) too.
    assert isinstance(errors[0], httpring.ReadError) and isinstance(errors[0], httpring.TransportError)


# --- the other ways in ---------------------------------------------------------------------------

def test_module_stream_and_send(testserver):
    with httpring.stream("GET", testserver.url + "/stream/5000", params={"chunked": "1"}) as r:
        assert r.request.url == testserver.url + "/stream/5000?chunked=1"
        assert len(r.read()) == 5000
    with httpring.Client() as c:
        request = c.build_request("POST", testserver.url + "/echo", json={"a": 1})
        r = c.send(request, stream=True)
        try:
            assert r.request is request and not r.is_closed
            r.read()
            assert r.json()["body"] == '{"a":1}' and r.is_closed
        finally:
            r.close()
        # Redirects followed before the head.
        with c.stream("GET", testserver.url + "/redirect-to?url=/hello", follow_redirects=True) as r:
            assert r.read() == b"Hello, world!" and len(r.history) == 1
        assert c.live_handles() == 0


def test_response_hooks_see_the_head(testserver):
    seen: List[httpring.Response] = []

    def hook(response: httpring.Response) -> None:
        seen.append(response)
        assert not response.is_stream_consumed
        response.raise_for_status()

    with httpring.Client(event_hooks={"response": [hook]}) as c:
        with c.stream("GET", testserver.url + "/stream/100") as r:
            assert r is seen[0] and len(r.read()) == 100
        with pytest.raises(httpring.HTTPStatusError):
            with c.stream("GET", testserver.url + "/status/404"):
                pass  # pragma: no cover
        assert c.live_handles() == 0

    async def ahook(response: httpring.Response) -> None:
        await response.aread()

    async def main() -> None:
        async with httpring.AsyncClient(event_hooks={"response": [ahook]}) as ac:
            async with ac.stream("GET", testserver.url + "/stream/100") as r:
                assert len(r.content) == 100
            assert ac.live_handles() == 0

    run(main())


def test_mock_transport_streams_the_content():
    transport = httpring.MockTransport(lambda request: httpring.Response(200, content=b"a\nb\nc"))
    with httpring.Client(transport=transport) as c:
        with c.stream("GET", "http://127.0.0.1:1/") as r:
            assert list(r.iter_lines()) == ["a", "b", "c"]


def test_a_response_built_from_an_iterator_is_a_stream():
    # As httpx: content= an iterator (or async iterator) is read once, when asked;
    # content raises ResponseNotRead until then; Transfer-Encoding instead of a length.
    pieces = []

    def gen():
        for p in (b"data: 1\n\n", "data: 2\n\n"):
            pieces.append(p)
            yield p

    r = httpring.Response(200, content=gen())
    assert r.headers["transfer-encoding"] == "chunked" and "content-length" not in r.headers
    with pytest.raises(httpring.ResponseNotRead):
        r.content
    assert pieces == [] and not r.is_stream_consumed
    assert list(r.iter_lines()) == ["data: 1", "", "data: 2", ""]
    assert r.is_stream_consumed and r.is_closed
    with pytest.raises(httpring.StreamConsumed):
        r.read()
    r = httpring.Response(200, content=[b"a", b"bc"], headers={"Content-Length": "3"})
    assert r.read() == b"abc" == r.content and r.headers["content-length"] == "3"
    r = httpring.Response(200, content=iter([b"x", 3]))
    with pytest.raises(TypeError, match="not bytes"):
        r.read()
    r = httpring.Response(200, content=iter([b"x"]))
    r.close()
    with pytest.raises(httpring.StreamClosed):
        r.read()


def test_mock_transport_streams_an_iterator_both_ways():
    """A MockTransport's streamed answer: read as it is iterated under client.stream(),
    read whole by a plain request (as httpx does); server-sent events from an async
    generator reach aiter_lines one by one."""
    sent = []

    def events():
        for i in range(3):
            sent.append(i)
            yield f"data: {i}\n\n".encode()

    with httpring.Client(transport=httpring.MockTransport(lambda req: httpring.Response(200, content=events()))) as c:
        with c.stream("GET", "http://127.0.0.1:1/events") as r:
            it = r.iter_lines()
            assert next(it) == "data: 0" and sent == [0]  # nothing read ahead
            assert list(it) == ["", "data: 1", "", "data: 2", ""]
        sent.clear()
        r = c.get("http://127.0.0.1:1/events")
        assert r.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n" and sent == [0, 1, 2]
        assert c.send_many(["http://127.0.0.1:1/e"])[0].content.startswith(b"data: 0")

    async def aevents():
        for i in range(3):
            await asyncio.sleep(0)
            yield f"data: {i}\n\n"

    async def main():
        transport = httpring.MockTransport(lambda req: httpring.Response(200, content=aevents()))
        async with httpring.AsyncClient(transport=transport) as c:
            async with c.stream("GET", "http://127.0.0.1:1/events") as r:
                got = [line async for line in r.aiter_lines() if line]
            assert got == ["data: 0", "data: 1", "data: 2"]
            r = await c.get("http://127.0.0.1:1/events")
            assert r.content == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
            assert (await c.send_many(["http://127.0.0.1:1/e"]))[0].text.startswith("data: 0")
        # A sync iterator cannot be read by an AsyncClient (as httpx).
        transport = httpring.MockTransport(lambda req: httpring.Response(200, content=iter([b"x"])))
        async with httpring.AsyncClient(transport=transport) as c:
            with pytest.raises(RuntimeError, match="sync stream"):
                await c.get("http://127.0.0.1:1/")

    asyncio.run(main())


def test_content_iterators_stream_with_a_streamed_response(testserver):
    """An iterator given as content= is sent as it is read (chunked), with a streamed
    response too; an async one by AsyncClient only (Client refuses it before sending)."""
    with httpring.Client() as c:
        with c.stream("POST", testserver.url + "/echo", content=iter([b"ab", b"cd"])) as r:
            r.read()
            assert r.json()["body"] == "abcd"

    async def chunks():
        yield b"ab"
        yield "cd"

    async def main() -> None:
        async with httpring.AsyncClient() as ac:
            assert (await ac.post(testserver.url + "/echo", content=chunks())).json()["body"] == "abcd"
            async with ac.stream("PUT", testserver.url + "/echo", content=chunks()) as r:
                await r.aread()
                assert r.json()["method"] == "PUT" and r.json()["body"] == "abcd"
            with httpring.Client() as c:
                with pytest.raises(TypeError, match="async iterator"):
                    c.post(testserver.url + "/echo", content=chunks())

    run(main())


def test_a_long_sync_stream_sweeps_the_queue(testserver, monkeypatch):
    """A sync reader's BODY completions, which nobody drains, are swept from the queue
    now and then; completions of submit() that land meanwhile still reach drain()."""
    from httpring import _stream

    monkeypatch.setattr(_stream, "SWEEP_EVERY", 2)
    sweeps = []
    original = httpring.Client._sweep

    def counting(self: httpring.Client) -> None:
        sweeps.append(1)
        original(self)

    monkeypatch.setattr(httpring.Client, "_sweep", counting)
    with httpring.Client() as c:
        h = c.submit("GET", testserver.url + "/hello", user_data=7)
        with c.stream("GET", testserver.url + "/events/8/10") as r:
            assert len([line for line in r.iter_lines() if line]) == 8
        assert len(sweeps) >= 2
        assert h.wait(5)
        done = c.drain()
        assert [(d.user_data, d.status) for d in done] == [(7, 200)]
        assert h.response().text == "Hello, world!"

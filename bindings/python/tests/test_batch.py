"""Submissions in batches (httpring_client_send_many): AsyncClient queues requests and
submits them once per event-loop iteration; Client.send_many submits in one call. Checks
the semantics survive: a request cancelled before the flush is never sent, a refused
request fails only its own awaiter, headers/bodies/timeouts of each request stay its own."""

from __future__ import annotations

import asyncio

import pytest

import httpring
from httpring import _engine


def run(coro):
    return asyncio.run(coro)


def test_lone_request_is_sent_at_once(testserver):
    """With nothing in flight a request does not wait for a batch (sequential latency)."""
    async def main():
        async with httpring.AsyncClient() as c:
            for _ in range(3):
                task = asyncio.ensure_future(c.get(testserver.url + "/hello"))
                await asyncio.sleep(0)  # the task ran: its request is already in the engine
                assert not c._dispatcher.queued and len(c._dispatcher.pending) == 1
                assert (await task).status_code == 200

    run(main())


def test_cancelled_before_flush_is_never_submitted(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            first = asyncio.ensure_future(c.get(testserver.url + "/delay/200"))
            await asyncio.sleep(0)  # in flight: later requests now form a batch
            task = asyncio.ensure_future(c.get(testserver.url + "/hello?second"))
            await asyncio.sleep(0)  # the task queues its request; the flush comes later
            assert len(c._dispatcher.queued) == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await first).status_code == 200
            await asyncio.sleep(0.05)
            assert not c._dispatcher.queued and not c._dispatcher.pending
            s = c.stats()
            assert s.connections_opened == 1 and s.live_handles == 0
            assert c.cancelled_requests == 0  # nothing reached the engine to cancel

    run(main())


def test_wait_for_zero_never_submits(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            first = asyncio.ensure_future(c.get(testserver.url + "/delay/100"))
            await asyncio.sleep(0)
            for _ in range(10):
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(c.get(testserver.url + "/hello"), 0)
            await first
            await asyncio.sleep(0.05)
            assert c.stats().connections_opened == 1

    run(main())


def test_one_flush_per_loop_iteration(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            batch = c._dispatcher.batch
            sizes = []
            send_many = batch._send_many

            def spy(ptr, specs, n, handles, codes):
                sizes.append(n)
                return send_many(ptr, specs, n, handles, codes)

            batch._send_many = spy
            rs = await asyncio.gather(*(c.get(testserver.url + f"/status/{200 + i % 5}") for i in range(100)))
            assert [r.status_code for r in rs] == [200 + i % 5 for i in range(100)]
            # The first goes alone (nothing was in flight), the other 99 in one batch.
            assert sizes == [99]

    run(main())


def test_refused_requests_fail_only_their_awaiters(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            good = testserver.url + "/hello"
            coros = [
                c.get(good),
                c.get(good, headers={"bad name": "x"}),
                c.get("ftp://127.0.0.1/"),
                c.request("GE(T", good),
                c.get(good),
            ]
            out = await asyncio.gather(*coros, return_exceptions=True)
            assert out[0].status_code == 200 and out[4].status_code == 200
            assert isinstance(out[1], httpring.LocalProtocolError) and out[1].code_name == "HTTPRING_ERR_INVALID_HEADER"
            assert isinstance(out[2], httpring.UnsupportedProtocol)
            assert isinstance(out[3], httpring.LocalProtocolError) and out[3].code_name == "HTTPRING_ERR_INVALID_METHOD"
            assert out[1].request.url == good
            with pytest.raises(httpring.LocalProtocolError):
                await c.get(good, headers={"x": "a\nb"})
            assert c.live_handles() == 0

    run(main())


def _echo_batch(testserver, n):
    """n requests whose method, headers, body and timeout differ by index."""
    reqs = []
    for i in range(n):
        headers = {f"x-h{j}": f"{i}-{j}" for j in range(i % 4)}
        method = ("GET", "POST", "PUT", "DELETE")[i % 4]
        content = f"body {i}".encode() if method in ("POST", "PUT") else None
        timeout = None if i % 3 else httpring.Timeout(5.0, total=10.0)
        reqs.append((method, f"{testserver.url}/echo?i={i}", headers, content, timeout))
    return reqs


def _check_echo(i, r, req):
    method, url, headers, content, _ = req
    echo = r.json()
    assert echo["method"] == method, i
    assert echo["path"].endswith(f"?i={i}"), i
    for k, v in headers.items():
        assert echo["headers"][k] == v, (i, k)
    assert echo["body"] == (content or b"").decode(), i


@pytest.mark.parametrize("portable", [False, True], ids=["pack_into", "ctypes-fallback"])
def test_batches_keep_each_request_its_own(testserver, monkeypatch, portable):
    if portable:
        monkeypatch.setattr(_engine, "BYTES_DATA", 0)
    reqs = _echo_batch(testserver, 150)  # 225 header entries: the header array grows

    async def main():
        async with httpring.AsyncClient() as c:
            out = await asyncio.gather(
                *(c.request(m, u, headers=h, content=b, **({"timeout": t} if t else {})) for m, u, h, b, t in reqs)
            )
            for i, (r, req) in enumerate(zip(out, reqs)):
                _check_echo(i, r, req)

    run(main())
    with httpring.Client() as c:
        built = [
            c.build_request(m, u, headers=h, content=b, **({"timeout": t} if t else {}))
            for m, u, h, b, t in reqs
        ]
        for i, (r, req) in enumerate(zip(c.send_many(built), reqs)):
            _check_echo(i, r, req)


def test_sync_send_many_refusals(testserver):
    with httpring.Client() as c:
        items = [testserver.url + "/hello", ("GE(T", testserver.url + "/hello"), "gopher://x/", testserver.url + "/hello"]
        out = c.send_many(items, return_exceptions=True)
        assert out[0].status_code == 200 and out[3].status_code == 200
        assert isinstance(out[1], httpring.LocalProtocolError)
        assert isinstance(out[2], httpring.UnsupportedProtocol)
        with pytest.raises(httpring.LocalProtocolError):  # the first refusal in order
            c.send_many(items)
        assert c.live_handles() == 0


@pytest.mark.parametrize("bad", [("GET",), ("GET", "http://127.0.0.1/", "x"), None, 5])
def test_send_many_malformed_item_is_a_type_error(testserver, bad):
    """An item that is no Request, URL or (method, url) is a TypeError naming it, with
    return_exceptions too (a programming error, as asyncio.gather's), and nothing is sent."""
    items = [testserver.url + "/hello", bad]
    with httpring.Client() as c:
        with pytest.raises(TypeError, match="url|tuple"):
            c.send_many(items, return_exceptions=True)
        assert c.live_handles() == 0

    async def main():
        async with httpring.AsyncClient() as c:
            with pytest.raises(TypeError, match="url|tuple") as info:
                await c.send_many(items, return_exceptions=True)
            assert repr(bad) in str(info.value)

    run(main())


def test_per_request_timeout_single_request(testserver):
    with httpring.Client(timeout=5.0) as c:
        with pytest.raises(httpring.ReadTimeout):
            c.get(testserver.url + "/stall", timeout=httpring.Timeout(read=0.1))
        with pytest.raises(httpring.TotalTimeout):
            c.get(testserver.url + "/drip/20/50", timeout=httpring.Timeout(total=0.2))
        assert c.get(testserver.url + "/delay/100", timeout=1.0).status_code == 200


@pytest.mark.allow_live_at_close
def test_closed_while_queued(testserver):
    async def main():
        c = httpring.AsyncClient()
        first = asyncio.ensure_future(c.get(testserver.url + "/delay/1000"))
        await asyncio.sleep(0)
        task = asyncio.ensure_future(c.get(testserver.url + "/hello"))
        await asyncio.sleep(0)
        assert len(c._dispatcher.queued) == 1
        await c.aclose()
        for t in (first, task):
            with pytest.raises(httpring.ClientClosed):
                await t

    run(main())


def test_loop_closed_with_requests_left(testserver):
    """A loop closed without awaiting its requests (run_until_complete, then close): the
    next loop gets a working client, and nothing leaks in the engine."""
    c = httpring.AsyncClient()
    loop = asyncio.new_event_loop()

    async def leave_some():
        asyncio.ensure_future(c.get(testserver.url + "/delay/5000"))
        await asyncio.sleep(0.05)  # flushed: in flight in the engine
        d = c._dispatcher
        d.submit(c._prepare("GET", testserver.url + "/hello")[0], "GET", testserver.url + "/hello")
        assert len(d.queued) == 1 and len(d.pending) == 1

    loop.run_until_complete(leave_some())
    loop.close()

    async def main():
        r = await c.get(testserver.url + "/hello")
        assert r.status_code == 200
        assert c.live_handles() == 0

    run(main())
    run(c.aclose())


def test_a_batch_refused_as_a_whole_reports_every_request(testserver):
    """When httpring_client_send_many fails as a call (a client freed underneath), it fills
    in nothing: the batch must not read the previous batch's handles as this one's."""
    c = httpring.Client()
    engine = c._engine
    assert [r.status_code for r in c.send_many([testserver.url + "/hello"] * 4)] == [200] * 4
    batch = c._scratch().batch
    prep, _, _ = c._from_request(testserver.url + "/hello")
    ptr = engine.ptr
    engine.lib.httpring_client_free(ptr)  # behind the Python client's back
    try:
        code = batch.send(ptr, [prep] * 4, range(1, 5))
        assert code == httpring._ffi.HTTPRING_ERR_CLIENT_CLOSED
        assert list(batch.codes[:4]) == [code] * 4
        assert list(batch.handles[:4]) == [0] * 4
    finally:
        engine.closed = True  # already freed: close() must not free it again


@pytest.mark.parametrize("portable", [False, True], ids=["pack_into", "ctypes-fallback"])
def test_streamed_requests_ride_the_batch(testserver, monkeypatch, portable):
    """client.stream() requests go in the AsyncClient's batch, flagged HTTPRING_SPEC_STREAM
    (packed either way), beside buffered ones: each streamed one streams, each buffered one
    does not, and nothing is left behind."""
    if portable:
        monkeypatch.setattr(_engine, "BYTES_DATA", 0)
    sent = []
    real = _engine.SpecBatch.send

    def spy(self, ptr, preps, uids, streams=None):
        sent.append((len(preps), len(streams or ())))
        return real(self, ptr, preps, uids, streams)

    monkeypatch.setattr(_engine.SpecBatch, "send", spy)

    async def main():
        async with httpring.AsyncClient() as c:

            async def streamed(i):
                async with c.stream("GET", f"{testserver.url}/stream/{200_000 + i}") as r:
                    assert not r.is_closed  # streamed: the body is still to be read
                    pieces = [chunk async for chunk in r.aiter_bytes()]
                    assert r.is_closed
                    return sum(map(len, pieces))

            out = await asyncio.gather(
                *(streamed(i) for i in range(8)), *(c.get(testserver.url + "/hello") for _ in range(8))
            )
            assert out[:8] == [200_000 + i for i in range(8)]
            assert all(r.text == "Hello, world!" and r.is_closed for r in out[8:])
            d = c._dispatcher
            assert c.live_handles() == 0 and not d.streams and not d.queued_streams

    run(main())
    # At least one batch carried streamed and buffered requests together.
    assert any(0 < streams < n for n, streams in sent), sent


def test_bodies_read_in_pieces_arrive_whole(testserver, monkeypatch):
    """A body the engine read in several pieces is copied from each piece straight into
    one bytes (``httpring_handles_read_pieces``), by every way of reading responses: one
    handle (sync ``get``), many (``send_many``, the async client's drain)."""
    joined = []
    body_at = _engine.body_at

    def counting(s, body_p, body_len, pieces_p, count):
        if not body_p and body_len < 10:  # a drip's
            joined.append(count)
        return body_at(s, body_p, body_len, pieces_p, count)

    monkeypatch.setattr(_engine, "body_at", counting)
    url = testserver.url
    drips = [f"{url}/drip/{n}/30" for n in (2, 5, 3)]
    with httpring.Client() as c:
        assert c.get(drips[1]).content == b"xxxxx"
        got = c.send_many([drips[0], url + "/hello", drips[2], url + "/bytes/300000"])
        assert [r.content for r in got[:3]] == [b"xx", b"Hello, world!", b"xxx"]
        assert got[3].content == (b"abcdefghijklmnopqrstuvwxyz" * 11539)[:300000]

    async def fetch():
        async with httpring.AsyncClient() as c:
            rs = await asyncio.gather(*(c.get(u) for u in drips))
            return [r.content for r in rs]

    assert asyncio.run(fetch()) == [b"xx", b"xxxxx", b"xxx"]
    # Each drip came in two or more reads (a busy machine may join some), at most 16.
    assert len(joined) >= 4 and max(joined) <= 16, joined


def test_a_batch_read_gives_each_handle_its_own_result(testserver, monkeypatch):
    """Engine.read_many builds a batch's responses newest first (the bodies still in cache)
    and hands them back in the order of the handles: each one with its own status, URL and
    body, a failure in its own place."""
    calls = []
    real = _engine.Engine.read_many

    def spy(self, hs, requests, s, history=False):
        out = real(self, hs, requests, s, history)
        calls.append((list(requests), out))
        return out

    monkeypatch.setattr(_engine.Engine, "read_many", spy)
    base = testserver.url
    urls = [f"{base}/stream/{1000 * (i + 1)}/{300 + i}" for i in range(5)]
    urls += [f"{base}/status/{201 + i}" for i in range(3)]
    urls.insert(4, "http://127.0.0.1:1/")  # refused: an error among the responses
    with httpring.Client() as c:
        out = c.send_many(urls, return_exceptions=True)
    assert isinstance(out[4], httpring.ConnectError)
    for i, url in enumerate(urls):
        if i == 4:
            continue
        assert str(out[i].url) == url
        if "/stream/" in url:
            n = int(url.split("/")[-2])
            assert out[i].status_code == 200 and len(out[i].content) == n
            assert out[i].content == (b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]
        else:
            assert out[i].status_code == int(url.rsplit("/", 1)[1])
    assert max(len(reqs) for reqs, _ in calls) > 1, "no batch of several was read"
    for reqs, results in calls:
        for (method, url), r in zip(reqs, results):
            if r.__class__ is httpring.Response:
                assert (method, str(r.url)) == ("GET", url)

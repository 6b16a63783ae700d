"""AsyncClient: the same requests, concurrency, cancellation and closing under asyncio and
trio (``@pytest.mark.anyio``: each test runs once per backend of the ``anyio_backend``
fixture, see conftest), then what is particular to each: asyncio's tasks, wait_for, loops
and uvloop; trio's runs."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import anyio
import pytest

import httpring


def run(coro):
    return asyncio.run(coro)


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_methods(server, method):
    async with httpring.AsyncClient() as c:
        r = await c.request(method, server.echo(), content=b"b" if method != "GET" else None)
        assert r.status_code == 200
        assert server.parse_echo(r)["method"] == method
        helper = getattr(c, method.lower())
        r = await helper(server.echo())
        assert server.parse_echo(r)["method"] == method
        r = await c.head(server.echo())
        assert r.status_code == 200 and r.content == b""
        r = await c.options(server.echo())
        assert r.status_code == 200


@pytest.mark.anyio
async def test_params_json_form_headers(server):
    async with httpring.AsyncClient(headers={"X-Client": "c"}) as c:
        r = await c.get(server.echo(), params={"a": "1", "b": ["2", "3"]}, headers={"X-Req": "r"})
        echo = server.parse_echo(r)
        assert echo["path"].endswith("?a=1&b=2&b=3")
        assert echo["headers"]["x-client"] == "c" and echo["headers"]["x-req"] == "r"
        r = await c.post(server.echo(), json={"k": [1, 2]})
        echo = server.parse_echo(r)
        assert echo["headers"]["content-type"] == "application/json"
        assert echo["body"] == '{"k":[1,2]}'
        r = await c.patch(server.echo(), data={"f": "v w"})
        echo = server.parse_echo(r)
        assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.anyio
async def test_response_fields(server):
    async with httpring.AsyncClient(base_url=server.url) as c:
        r = await c.get("/status/404")
        assert r.status_code == 404 and r.is_client_error
        assert r.url == server.status(404)
        with pytest.raises(httpring.HTTPStatusError):
            r.raise_for_status()
        r = await c.get(server.multi_headers())
        assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]
        r = await c.get(server.json())
        assert isinstance(r.json(), dict)


@pytest.mark.anyio
async def test_1000_concurrent(testserver):
    """1000 tasks (a task group: asyncio tasks or a trio nursery) on one client, one fd and
    no thread per request."""
    async with httpring.AsyncClient() as c:
        await c.get(testserver.url + "/hello")
        threads = threading.active_count()
        paths = {}

        async def one(i):
            paths[i] = (await c.get(f"{testserver.url}/echo?i={i}")).json()["path"]

        async with anyio.create_task_group() as tg:
            for i in range(1000):
                tg.start_soon(one, i)
            await anyio.sleep(0)
            assert threading.active_count() == threads
        assert paths == {i: f"/echo?i={i}" for i in range(1000)}
        assert c.live_handles() == 0


@pytest.mark.anyio
async def test_requests_really_run_concurrently(testserver):
    async with httpring.AsyncClient() as c:
        statuses = []

        async def one():
            statuses.append((await c.get(testserver.url + "/delay/300")).status_code)

        t = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(100):
                tg.start_soon(one)
        elapsed = time.perf_counter() - t
        assert statuses == [200] * 100
        assert elapsed < 2.0, f"100 x 300 ms took {elapsed:.2f} s"


@pytest.mark.anyio
async def test_send_many(testserver):
    async with httpring.AsyncClient() as c:
        reqs = [f"{testserver.url}/status/{200 + i}" for i in range(10)]
        reqs.append(c.build_request("POST", testserver.url + "/echo", json={"x": 1}))
        out = await c.send_many(reqs)
        assert [r.status_code for r in out[:10]] == list(range(200, 210))
        assert out[10].json()["body"] == '{"x":1}'
        mixed = await c.send_many(
            [testserver.url + "/hello", "http://127.0.0.1:1/", "gopher://x/"], return_exceptions=True
        )
        assert mixed[0].status_code == 200
        assert isinstance(mixed[1], httpring.ConnectError)
        assert isinstance(mixed[2], httpring.UnsupportedProtocol)
        # The first error is raised as itself (no ExceptionGroup under trio); the request
        # still in flight is cancelled.
        with pytest.raises(httpring.ConnectError):
            await c.send_many([testserver.url + "/stall", "http://127.0.0.1:1/"])
        assert c.cancelled_requests == 1 and c.live_handles() == 0


@pytest.mark.anyio
async def test_move_on_after_cancels_engine_request(testserver):
    async with httpring.AsyncClient() as c:
        with anyio.move_on_after(0.2) as scope:
            await c.get(testserver.url + "/stall")
        assert scope.cancelled_caught
        assert c.cancelled_requests == 1
        assert c.live_handles() == 0
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.1):
                await c.post(testserver.url + "/stall", content=b"x")
        assert c.cancelled_requests == 2 and c.live_handles() == 0
        # The client keeps working after a cancellation.
        assert (await c.get(testserver.url + "/hello")).status_code == 200


@pytest.mark.anyio
async def test_cancel_scope_cancels_engine_requests(testserver):
    async with httpring.AsyncClient() as c:
        done = []

        async def stall():
            await c.get(testserver.url + "/stall")
            done.append(1)

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(stall)
            await anyio.sleep(0.1)
            assert c.live_handles() == 20
            tg.cancel_scope.cancel()
        assert done == []
        assert c.cancelled_requests == 20
        assert c.live_handles() == 0
        assert (await c.get(testserver.url + "/hello")).status_code == 200


@pytest.mark.anyio
async def test_cancelled_send_many_cancels_everything(testserver):
    async with httpring.AsyncClient() as c:
        with anyio.move_on_after(0.1):
            await c.send_many([testserver.url + "/stall"] * 10)
        assert c.cancelled_requests == 10
        assert c.live_handles() == 0


@pytest.mark.anyio
async def test_cancel_around_completion_is_harmless(testserver):
    """A request cancelled around the time its response arrives (before or after, or
    after it arrived but before the task resumed) neither leaks nor double-frees."""
    async with httpring.AsyncClient() as c:
        for i in range(40):
            with anyio.move_on_after(i * 0.0002):
                await c.get(testserver.url + "/hello")
        assert c.live_handles() == 0
        assert (await c.get(testserver.url + "/hello")).status_code == 200


@pytest.mark.anyio
async def test_errors_map_to_exceptions(testserver):
    async with httpring.AsyncClient(timeout=httpring.Timeout(read=0.2)) as c:
        with pytest.raises(httpring.ReadTimeout):
            await c.get(testserver.url + "/stall")
        with pytest.raises(httpring.ConnectError):
            await c.get("http://127.0.0.1:1/")
        with pytest.raises(httpring.InvalidURL):
            await c.get("http://")
        with pytest.raises(httpring.UnsupportedProtocol):
            await c.get("ftp://127.0.0.1/")
        with pytest.raises(httpring.TotalTimeout):
            await c.get(testserver.url + "/drip/20/50", timeout=httpring.Timeout(total=0.3))
        assert c.live_handles() == 0


@pytest.mark.anyio
async def test_closed_client_raises(testserver):
    c = httpring.AsyncClient()
    await c.aclose()
    await c.aclose()  # idempotent
    assert c.is_closed
    with pytest.raises(httpring.ClientClosed, match="closed"):
        await c.get(testserver.url + "/hello")
    with pytest.raises(RuntimeError):
        async with c:
            pass


@pytest.mark.anyio
@pytest.mark.allow_live_at_close
async def test_close_with_requests_in_flight(testserver):
    c = httpring.AsyncClient()
    results = []

    async def stall():
        try:
            await c.get(testserver.url + "/stall")
        except Exception as e:
            results.append(e)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(stall)
        await anyio.sleep(0.1)
        await c.aclose()
    assert len(results) == 5 and all(isinstance(r, httpring.ClientClosed) for r in results)


@pytest.mark.anyio
async def test_unclosed_client_is_freed_by_gc(testserver):
    c = httpring.AsyncClient()
    await c.get(testserver.url + "/hello")
    engine = c._engine
    del c
    gc.collect()
    await anyio.sleep(0)
    assert engine.closed
    await anyio.to_thread.run_sync(engine.freed.result)


@pytest.mark.anyio
async def test_hooks_and_transports(testserver):
    """Async event hooks, streamed responses through hooks, and send_many through an async
    MockTransport (run concurrently: a task group under trio)."""
    seen = []

    async def on_response(r):
        await anyio.sleep(0)
        seen.append(r.status_code)

    async with httpring.AsyncClient(event_hooks={"response": [on_response]}) as c:
        assert (await c.get(testserver.url + "/hello")).text == "Hello, world!"
        out = await c.send_many([testserver.url + "/status/201", testserver.url + "/status/202"])
        assert [r.status_code for r in out] == [201, 202]
        async with c.stream("GET", testserver.url + "/stream/5000") as r:
            assert len(await r.aread()) == 5000
        assert c.live_handles() == 0
    assert seen == [200, 201, 202, 200]

    started = []
    at_end = []  # how many had started when each ended

    async def handler(request):
        started.append(request.url.path)
        await anyio.sleep(0.2)
        at_end.append(len(started))
        if request.url.path == "/bad":
            raise httpring.ConnectError("no", request=request)
        return httpring.Response(200, content=request.url.path.encode())

    async with httpring.AsyncClient(transport=httpring.MockTransport(handler), event_hooks={"response": [on_response]}) as c:
        out = await c.send_many(["http://x/a", "http://x/b", "http://x/bad"], return_exceptions=True)
        assert [r.content for r in out[:2]] == [b"/a", b"/b"], out
        # All three began before any ended: the transport's requests ran side by side.
        assert at_end == [3, 3, 3], at_end
        assert isinstance(out[2], httpring.ConnectError)
        with pytest.raises(httpring.ConnectError):
            await c.send_many(["http://x/c", "http://x/bad"])


# --- asyncio only ---------------------------------------------------------------------------

def test_wait_for_expiry_cancels_engine_request(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(c.get(testserver.url + "/stall"), 0.2)
            assert c.cancelled_requests == 1
            assert c.live_handles() == 0
            # The client keeps working after a cancellation.
            assert (await c.get(testserver.url + "/hello")).status_code == 200

    run(main())


def test_task_cancel_cancels_engine_requests(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            tasks = [asyncio.ensure_future(c.get(testserver.url + "/stall")) for _ in range(20)]
            await asyncio.sleep(0.1)
            assert c.live_handles() == 20
            for t in tasks:
                t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
            assert c.cancelled_requests == 20
            assert c.live_handles() == 0

    run(main())


def test_cancelled_send_many_cancels_everything(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            task = asyncio.ensure_future(c.send_many([testserver.url + "/stall"] * 10))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert c.cancelled_requests == 10
            assert c.live_handles() == 0

    run(main())


def test_cancel_after_completion_is_harmless(testserver):
    """A task cancelled after its response arrived but before it resumed must neither leak
    nor double-free the handle."""

    async def main():
        async with httpring.AsyncClient() as c:
            for _ in range(20):
                task = asyncio.ensure_future(c.get(testserver.url + "/hello"))
                await asyncio.sleep(0.005)
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
            assert c.live_handles() == 0

    run(main())


def test_client_reused_across_event_loops(testserver):
    c = httpring.AsyncClient()
    try:
        for _ in range(3):
            r = asyncio.run(c.get(testserver.url + "/hello"))
            assert r.status_code == 200
    finally:
        asyncio.run(c.aclose())


@pytest.mark.parametrize("runners", [("asyncio", "asyncio"), ("trio", "asyncio"), ("asyncio", "trio")])
def test_client_used_from_two_threads_loops_at_once_fails_fast(testserver, runners):
    """One AsyncClient, two threads each running its own loop (or trio run) at the same
    time: the second to come gets RuntimeError (or both succeed, one after the other);
    neither hangs. The client then works from a new loop."""
    if "trio" in runners:
        trio = pytest.importorskip("trio")
    c = httpring.AsyncClient(timeout=5)
    url = testserver.url + "/delay/100"

    async def many():
        return await asyncio.gather(*(c.get(url) for _ in range(20)), return_exceptions=True)

    async def many_trio():
        from httpring import _trio

        return await _trio.gather([c.get(url) for _ in range(20)], True)

    try:
        for _ in range(5):
            results = {}
            barrier = threading.Barrier(2)

            def worker(i):
                barrier.wait()
                try:
                    results[i] = asyncio.run(many()) if runners[i] == "asyncio" else trio.run(many_trio)
                except BaseException as e:
                    results[i] = [e]

            threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert not any(t.is_alive() for t in threads), "a loop hung"
            kinds = [{type(x).__name__ for x in results[i]} for i in range(2)]
            assert sorted(kinds, key=sorted) in (
                [{"Response"}, {"Response"}],
                [{"Response"}, {"RuntimeError"}],
            ), kinds
            for i in range(2):
                if kinds[i] == {"RuntimeError"}:
                    assert "one client per loop" in str(results[i][0])
        assert asyncio.run(c.get(testserver.url + "/hello")).status_code == 200
    finally:
        asyncio.run(c.aclose())


def test_uvloop_if_installed(testserver):
    uvloop = pytest.importorskip("uvloop")

    async def main():
        async with httpring.AsyncClient() as c:
            rs = await asyncio.gather(*(c.get(testserver.url + "/hello") for _ in range(100)))
            assert all(r.status_code == 200 for r in rs)

    uvloop.run(main())


# --- trio only ------------------------------------------------------------------------------

def test_trio_client_reused_across_runs(testserver):
    trio = pytest.importorskip("trio")
    c = httpring.AsyncClient()
    try:
        for _ in range(3):
            r = trio.run(c.get, testserver.url + "/hello")
            assert r.status_code == 200
        # From asyncio after trio, and back: the fd moves to the running library.
        assert asyncio.run(c.get(testserver.url + "/hello")).status_code == 200
        assert trio.run(c.get, testserver.url + "/hello").status_code == 200
    finally:
        trio.run(c.aclose)


def test_trio_waits_on_the_fd_with_trio(testserver):
    """Under trio no asyncio loop is involved: one system task per client waits in
    trio.lowlevel.wait_readable on the client's fd; it ends when the client is closed."""
    trio = pytest.importorskip("trio")

    def watchers():
        system = trio.lowlevel.current_root_task().child_nurseries
        return [t for n in system for t in n.child_tasks if t.name.startswith("httpring fd")]

    async def main():
        async with httpring.AsyncClient() as c, httpring.AsyncClient() as d:
            await c.get(testserver.url + "/hello")
            await d.get(testserver.url + "/hello")
            assert asyncio._get_running_loop() is None
            assert len(watchers()) == 2
            await c.aclose()
            # The watcher was woken (notify_closing) and ends at its next turn, which trio
            # may schedule after this task's: wait for it, a bounded while.
            deadline = trio.current_time() + 5
            while len(watchers()) > 1 and trio.current_time() < deadline:
                await trio.sleep(0.001)
            assert [t.name for t in watchers()] == [f"httpring fd {d._dispatcher.fd}"]

    trio.run(main)

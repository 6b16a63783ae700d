"""AsyncClient: the same requests through asyncio, concurrency, cancellation, loops."""

from __future__ import annotations

import asyncio
import time

import pytest

import httpring


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_methods(server, method):
    async def main():
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

    run(main())


def test_params_json_form_headers(server):
    async def main():
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

    run(main())


def test_response_fields(server):
    async def main():
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

    run(main())


def test_gather_1000_concurrent(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            urls = [f"{testserver.url}/echo?i={i}" for i in range(1000)]
            responses = await asyncio.gather(*(c.get(u) for u in urls))
            assert [r.json()["path"] for r in responses] == [f"/echo?i={i}" for i in range(1000)]
            assert c.live_handles() == 0

    run(main())


def test_requests_really_run_concurrently(testserver):
    async def main():
        async with httpring.AsyncClient() as c:
            t = time.perf_counter()
            rs = await asyncio.gather(*(c.get(testserver.url + "/delay/300") for _ in range(100)))
            elapsed = time.perf_counter() - t
            assert all(r.status_code == 200 for r in rs)
            assert elapsed < 2.0, f"100 x 300 ms took {elapsed:.2f} s"

    run(main())


def test_send_many(testserver):
    async def main():
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
            with pytest.raises(httpring.ConnectError):
                await c.send_many([testserver.url + "/delay/100", "http://127.0.0.1:1/"])

    run(main())


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


def test_errors_map_to_exceptions(testserver):
    async def main():
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

    run(main())


def test_client_reused_across_event_loops(testserver):
    c = httpring.AsyncClient()
    try:
        for _ in range(3):
            r = asyncio.run(c.get(testserver.url + "/hello"))
            assert r.status_code == 200
    finally:
        asyncio.run(c.aclose())


def test_closed_client_raises(testserver):
    async def main():
        c = httpring.AsyncClient()
        await c.aclose()
        await c.aclose()  # idempotent
        assert c.is_closed
        with pytest.raises(httpring.ClientClosed, match="closed"):
            await c.get(testserver.url + "/hello")
        with pytest.raises(RuntimeError):
            async with c:
                pass

    run(main())


@pytest.mark.allow_live_at_close
def test_close_with_requests_in_flight(testserver):
    async def main():
        c = httpring.AsyncClient()
        tasks = [asyncio.ensure_future(c.get(testserver.url + "/stall")) for _ in range(5)]
        await asyncio.sleep(0.1)
        await c.aclose()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, httpring.ClientClosed) for r in results)

    run(main())


def test_unclosed_client_is_freed_by_gc(testserver):
    import gc

    from httpring import _engine

    async def main():
        c = httpring.AsyncClient()
        await c.get(testserver.url + "/hello")
        engine = c._engine
        del c
        gc.collect()
        await asyncio.sleep(0)
        assert engine.closed

    run(main())
    assert all(e.closed or e.live_handles() == 0 for e in _engine.ALL_ENGINES)


def test_uvloop_if_installed(testserver):
    uvloop = pytest.importorskip("uvloop")

    async def main():
        async with httpring.AsyncClient() as c:
            rs = await asyncio.gather(*(c.get(testserver.url + "/hello") for _ in range(100)))
            assert all(r.status_code == 200 for r in rs)

    uvloop.run(main())

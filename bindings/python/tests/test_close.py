"""Closing a busy client: the sync client from another thread while responses are being
copied out (never a read of freed memory), the async one without blocking its event loop
(the engine's free can wait out a 2 s shutdown grace), under asyncio and trio."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from typing import Any, Awaitable, Tuple

import anyio
import pytest

import httpring

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src"))

# --- sync: close() on another thread ------------------------------------------------------

# Run in a child process: a read of freed memory may crash it. glibc's MALLOC_PERTURB_
# overwrites freed memory, so a copy made after the free cannot pass for the body.
PRELUDE = """
import json, random, sys, threading, time
import httpring
from httpring import _engine

url = sys.argv[1]
N = 1 << 20
EXPECTED = (b"abcdefghijklmnopqrstuvwxyz" * (N // 26 + 1))[:N]
"""

HELD_OPEN = PRELUDE + """
class HeldOpen:
    # _engine._ADDRESS_SPACE, except that slicing out the body (or a piece of it: a body
    # read in several pieces is copied from each; the URL and headers are shorter) first
    # lets the main thread close the client, then waits for it (0.5 s at most): the copy
    # comes as late as a thread switch could make it come.
    def __init__(self, view):
        self.view = view
        self.copying = threading.Event()
        self.closed = threading.Event()

    def __getitem__(self, s):
        if s.stop - s.start >= 4096 and not self.copying.is_set():
            self.copying.set()
            self.closed.wait(0.5)
        return self.view[s]

c = httpring.Client()
assert c.get(url + "/hello").status_code == 200
held = _engine._ADDRESS_SPACE = HeldOpen(_engine._ADDRESS_SPACE)
out = []

def reader():
    try:
        if sys.argv[2] == "send_many":
            out.extend(r.content == EXPECTED for r in c.send_many([f"{url}/bytes/{N}"]))
        else:
            out.append(c.get(f"{url}/bytes/{N}").content == EXPECTED)
    except httpring.HTTPError as e:
        out.append(type(e).__name__)

t = threading.Thread(target=reader)
t.start()
assert held.copying.wait(10), "the reader never got to the copy"
c.close()
held.closed.set()
t.join()
print(out)
"""

STRESS = PRELUDE + """
deadline = time.monotonic() + float(sys.argv[2])
counts = {"rounds": 0, "responses": 0, "errors": 0}
bad = []

def worker(c, i):
    try:
        while True:
            if i % 2:
                rs = c.send_many([f"{url}/bytes/{N}"] * 2)
            else:
                rs = [c.get(f"{url}/bytes/{N}")]
            for r in rs:
                if r.content != EXPECTED:
                    bad.append("a corrupt body")
                    return
            counts["responses"] += len(rs)
    except httpring.HTTPError:
        counts["errors"] += 1  # closed under it: a clean httpring exception
    except BaseException as e:
        bad.append(repr(e))

while time.monotonic() < deadline and not bad:
    counts["rounds"] += 1
    c = httpring.Client()
    c.get(url + "/hello")
    threads = [threading.Thread(target=worker, args=(c, i)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(0.001, 0.02))
    c.close()
    for t in threads:
        t.join()
print(json.dumps({"counts": counts, "bad": bad[:3]}))
"""


def run_child(script: str, *args: str) -> str:
    env = dict(os.environ, MALLOC_PERTURB_="165")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, f"the child died ({out.returncode}):\n{out.stdout}{out.stderr}"
    return out.stdout.strip()


@pytest.mark.parametrize("call", ["get", "send_many"])
def test_close_on_another_thread_waits_for_the_copy(testserver, call):
    """The close lands after the engine returned the body's address, before the copy."""
    assert run_child(HELD_OPEN, testserver.url, call) == "[True]"


def test_close_on_another_thread_under_load(testserver):
    """Threads request 1 MB bodies (get and send_many) while the main thread closes the
    client at random moments: each call returns an intact response or raises a clean
    httpring exception."""
    out = json.loads(run_child(STRESS, testserver.url, "2.0"))
    assert out["bad"] == [], out
    counts = out["counts"]
    assert counts["rounds"] > 5 and counts["responses"] > 0 and counts["errors"] > 0, out


# --- async: the free runs off the event loop ----------------------------------------------


class SlowFree:
    """The engine library, except that freeing a client first takes ``delay`` seconds, as
    the engine does when it waits out a name lookup in progress (up to its 2 s shutdown
    grace): a stalled server alone does not make the free slow."""

    def __init__(self, lib: Any, delay: float) -> None:
        self._lib = lib
        self.delay = delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lib, name)

    def httpring_client_free(self, ptr: Any) -> int:
        time.sleep(self.delay)
        return self._lib.httpring_client_free(ptr)  # type: ignore[no-any-return]


async def tick_gap_during(work: Awaitable[Any]) -> Tuple[float, float]:
    """Awaits ``work`` while a task sleeps 10 ms in a loop: (the longest gap between two
    ticks, how long ``work`` took)."""
    gaps = []
    done = anyio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await anyio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.sleep(0.05)
        start = time.monotonic()
        await work
        took = time.monotonic() - start
        await anyio.sleep(0.05)
        done.set()
    return max(gaps), took


@pytest.mark.anyio
@pytest.mark.allow_live_at_close
async def test_aclose_does_not_block_the_event_loop(testserver):
    c = httpring.AsyncClient()
    engine = c._engine
    engine.lib = SlowFree(engine.lib, 2.0)
    results = []

    async def stall() -> None:
        try:
            await c.get(testserver.url + "/stall")
        except Exception as e:
            results.append(e)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(stall)
        await anyio.sleep(0.1)
        gap, took = await tick_gap_during(c.aclose())
    assert gap < 1.0, f"the event loop stood still for {gap:.2f} s"  # the free takes 2 s
    assert took >= 1.9, "aclose returned before the engine client was freed"
    assert engine.freed is not None and engine.freed.done()
    assert len(results) == 5 and all(isinstance(r, httpring.ClientClosed) for r in results), results


@pytest.mark.anyio
async def test_finalizer_does_not_block_the_event_loop(testserver):
    c = httpring.AsyncClient()
    engine = c._engine
    engine.lib = SlowFree(engine.lib, 2.0)
    assert (await c.get(testserver.url + "/hello")).status_code == 200

    async def drop() -> None:
        nonlocal c
        del c
        gc.collect()  # the finalizer runs here, on the loop's thread

    gap, _ = await tick_gap_during(drop())
    assert engine.closed
    assert gap < 1.0, f"the event loop stood still for {gap:.2f} s"  # the free takes 2 s
    assert engine.freed is not None
    await anyio.to_thread.run_sync(engine.freed.result)

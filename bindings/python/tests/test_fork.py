"""fork(): what a child process can do with the clients of its parent, and with its own.

The promise (tests/fork.rs for the C ABI, docs/RELIABILITY.md): the engine's threads stay
in the parent, so a client made before the fork is closed in the child. Every call on it
raises ``ClientClosed`` (code ``HTTPRING_ERR_CLIENT_CLOSED``, a message naming fork),
closing it returns at once, and nothing hangs or crashes. A client made in the child
works. The parent's clients are not affected, requests in flight included.

Children report through their exit status (``os._exit``; the failed checks also go
through a pipe for the message); every wait has a deadline, so a hang fails the test."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import httpring
from httpring import _ffi

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork()")

#: How long a child may take before it counts as hung.
CHILD_DEADLINE = 20.0
CLOSED = _ffi.HTTPRING_ERR_CLIENT_CLOSED
#: pid -> the read end of the pipe its failed checks come through.
_PIPES: Dict[int, int] = {}


def fork_child(body: Callable[[List[str]], None]) -> int:
    """Forks; the child runs ``body(failures)`` and exits with status 1 if it appended a
    failure or raised, else 0. Returns the child's pid (``wait_child`` checks it)."""
    r, w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        status = 1
        try:
            os.close(r)
            failures: List[str] = []
            try:
                body(failures)
            except BaseException as e:
                failures.append(f"raised {type(e).__name__}: {e}")
            status = 1 if failures else 0
            os.write(w, "\n".join(failures).encode("utf-8", "replace")[:4096])
        finally:
            os._exit(status)
    os.close(w)
    _PIPES[pid] = r
    return pid


def wait_child(pid: int, deadline: float = CHILD_DEADLINE) -> None:
    """Waits for ``pid`` (polling, with a deadline: a hung child is killed and fails the
    test) and asserts it exited with status 0."""
    r = _PIPES.pop(pid)
    end = time.monotonic() + deadline
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                break
            if time.monotonic() > end:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"the child hung (killed after {deadline} s)")
            time.sleep(0.01)
        report = os.read(r, 4096).decode("utf-8", "replace")
    finally:
        os.close(r)
    assert os.WIFEXITED(status), f"the child died: {status_text(status)}"
    assert os.WEXITSTATUS(status) == 0, f"checks failed in the child:\n{report}"


def status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"status {status}"


def expect_closed(failures: List[str], what: str, call: Callable[[], Any]) -> None:
    """``call()`` must raise ClientClosed with the closed code and a message naming fork."""
    try:
        result = call()
    except httpring.ClientClosed as e:
        if e.code != CLOSED:
            failures.append(f"{what}: code {e.code}, not {CLOSED}")
        if "fork" not in str(e):
            failures.append(f"{what}: the message does not name fork: {e}")
        return
    except BaseException as e:
        failures.append(f"{what}: raised {type(e).__name__}: {e}")
        return
    failures.append(f"{what}: returned {result!r}")


def quickly(failures: List[str], what: str, call: Callable[[], Any], limit: float = 1.0) -> None:
    """``call()`` must return without raising, within ``limit`` seconds."""
    start = time.monotonic()
    try:
        call()
    except BaseException as e:
        failures.append(f"{what}: raised {type(e).__name__}: {e}")
    took = time.monotonic() - start
    if took > limit:
        failures.append(f"{what}: took {took:.2f} s")


# --- os.fork() with the blocking Client ---------------------------------------------------


def test_forked_child_sees_inherited_client_closed_and_makes_its_own(testserver):
    url = testserver.url + "/hello"
    parent = httpring.Client()
    assert parent.get(url).status_code == 200
    # In flight across the fork: it completes in the parent.
    pending = parent.submit("GET", testserver.url + "/delay/300")
    done = parent.submit("GET", url)
    assert done.wait(5)

    def child(failures: List[str]) -> None:
        expect_closed(failures, "get", lambda: parent.get(url))
        expect_closed(failures, "send_many", lambda: parent.send_many([url, url]))
        expect_closed(failures, "submit", lambda: parent.submit("GET", url))
        expect_closed(failures, "stats", parent.stats)
        expect_closed(failures, "with", parent.__enter__)
        expect_closed(failures, "the pending handle", lambda: pending.response(timeout=1))
        expect_closed(failures, "the completed handle", lambda: done.response(timeout=1))
        # Closing what came from the parent returns at once (no thread to join).
        quickly(failures, "Handle.close", pending.close)
        quickly(failures, "Handle.close", done.close)
        quickly(failures, "Client.close", parent.close)
        quickly(failures, "Client.close again", parent.close)
        if not parent.is_closed:
            failures.append("the inherited client does not say it is closed")
        with httpring.Client() as own:
            if own.get(url).status_code != 200:
                failures.append("a client made in the child: get failed")
            codes = [r.status_code for r in own.send_many([url] * 4)]
            if codes != [200] * 4:
                failures.append(f"a client made in the child: send_many gave {codes}")
            h = own.submit("GET", url)
            if h.response(timeout=5).status_code != 200:
                failures.append("a client made in the child: submit failed")

    pid = fork_child(child)
    wait_child(pid)
    # The parent's client, and the request that was in flight at the fork, are unaffected.
    assert pending.response(timeout=5).status_code == 200
    assert done.response().status_code == 200
    assert parent.get(url).status_code == 200
    assert parent.stats().live_handles == 0
    parent.close()


def test_fork_while_another_thread_waits_on_the_client(testserver):
    """A parent thread blocked in the engine (a slow request: the waiting thread runs the
    client's I/O itself) at the fork: the child still sees the client closed and can make
    its own; the parent thread's request completes."""
    url = testserver.url + "/hello"
    parent = httpring.Client()
    assert parent.get(url).status_code == 200
    got: List[Any] = []
    waiter = threading.Thread(target=lambda: got.append(parent.get(testserver.url + "/delay/500")))
    waiter.start()
    time.sleep(0.1)  # the thread is in httpring_handle_wait

    def child(failures: List[str]) -> None:
        expect_closed(failures, "get", lambda: parent.get(url))
        quickly(failures, "Client.close", parent.close)
        with httpring.Client() as own:
            if own.get(url).status_code != 200:
                failures.append("a client made in the child: get failed")

    pid = fork_child(child)
    wait_child(pid)
    waiter.join(10)
    assert not waiter.is_alive()
    assert [r.status_code for r in got] == [200]
    parent.close()


def test_forked_child_exits_normally_with_clients_open(testserver):
    """A child that exits through the interpreter's shutdown (atexit, finalizers) rather
    than os._exit, leaving open an inherited client, an inherited handle and clients of its
    own, blocking and async: the finalizers close them, and it exits with status 0."""
    script = textwrap.dedent(
        """
        import asyncio, os, sys, warnings
        import httpring
        warnings.simplefilter("ignore", DeprecationWarning)
        url = sys.argv[1]

        async def get(client):
            return (await client.get(url)).status_code

        c = httpring.Client()
        ac = httpring.AsyncClient()
        assert c.get(url).status_code == 200
        assert asyncio.run(get(ac)) == 200
        h = c.submit("GET", url)
        pid = os.fork()
        if pid == 0:
            own = httpring.Client()
            own_async = httpring.AsyncClient()
            assert own.get(url).status_code == 200
            assert asyncio.run(get(own_async)) == 200
            sys.exit(0)  # everything left open
        _, status = os.waitpid(pid, 0)
        assert h.response(timeout=5).status_code == 200
        assert c.get(url).status_code == 200
        sys.exit(0 if status == 0 else 3)
        """
    )
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(httpring.__file__))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", script, testserver.url + "/hello"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


# --- AsyncClient ---------------------------------------------------------------------------


def test_forked_child_async_clients(testserver):
    """An AsyncClient made (and used) before the fork raises ClientClosed in the child's
    own event loop, and aclose() returns at once; a fresh AsyncClient under asyncio.run
    in the child works. The parent's AsyncClient keeps working in a later loop."""
    url = testserver.url + "/hello"
    parent = httpring.AsyncClient()

    async def get_with(client: httpring.AsyncClient) -> int:
        return (await client.get(url)).status_code

    assert asyncio.run(get_with(parent)) == 200

    def child(failures: List[str]) -> None:
        expect_closed(failures, "AsyncClient.get", lambda: asyncio.run(get_with(parent)))
        quickly(failures, "AsyncClient.aclose", lambda: asyncio.run(parent.aclose()))

        async def own() -> List[int]:
            async with httpring.AsyncClient() as client:
                rs = await asyncio.gather(*(client.get(url) for _ in range(5)))
                return [r.status_code for r in rs]

        codes = asyncio.run(asyncio.wait_for(own(), 10))
        if codes != [200] * 5:
            failures.append(f"an AsyncClient made in the child gave {codes}")

    pid = fork_child(child)
    wait_child(pid)
    assert asyncio.run(get_with(parent)) == 200
    asyncio.run(parent.aclose())


def test_fork_inside_a_running_event_loop(testserver):
    """The fork happens inside a coroutine while the parent's AsyncClient has requests in
    flight: the child (still inside the parent's loop's stack) runs a new loop with a
    fresh AsyncClient; the parent's requests complete."""
    url = testserver.url + "/hello"

    async def main() -> Tuple[int, List[int]]:
        async with httpring.AsyncClient() as client:
            await client.get(url)
            inflight = [asyncio.ensure_future(client.get(testserver.url + "/delay/300")) for _ in range(3)]
            await asyncio.sleep(0.05)

            def child(failures: List[str]) -> None:
                async def own() -> int:
                    async with httpring.AsyncClient() as mine:
                        return (await mine.get(url)).status_code

                if asyncio.run(asyncio.wait_for(own(), 10)) != 200:
                    failures.append("a fresh AsyncClient in the child failed")
                expect_closed(failures, "inherited get", lambda: asyncio.run(client.get(url)))

            pid = fork_child(child)
            rs = await asyncio.wait_for(asyncio.gather(*inflight), 10)
            return pid, [r.status_code for r in rs]

    pid, codes = asyncio.run(main())
    wait_child(pid)
    assert codes == [200] * 3


# --- multiprocessing, start method "fork" -----------------------------------------------

# Pool tasks are module-level functions (pickled by name); the URL and the client made
# before the pool reach the workers as globals, copied by the fork.
URL = ""
BEFORE_POOL: Optional[httpring.Client] = None
WORKER_CLIENT: Optional[httpring.Client] = None


def fetch_with_own_client(i: int) -> Tuple[int, str]:
    with httpring.Client() as client:
        return os.getpid(), client.get(f"{URL}/echo?i={i}").json()["path"]


def start_worker_client() -> None:
    global WORKER_CLIENT
    WORKER_CLIENT = httpring.Client()


def fetch_with_worker_client(i: int) -> Tuple[int, str]:
    assert WORKER_CLIENT is not None
    return os.getpid(), WORKER_CLIENT.get(f"{URL}/echo?i={i}").json()["path"]


def fetch_with_client_made_before_pool(i: int) -> int:
    assert BEFORE_POOL is not None
    return BEFORE_POOL.get(f"{URL}/hello").status_code


def close_client_made_before_pool(_: int) -> float:
    assert BEFORE_POOL is not None
    start = time.monotonic()
    BEFORE_POOL.close()
    return time.monotonic() - start


def fetch_async(i: int) -> List[int]:
    async def run() -> List[int]:
        async with httpring.AsyncClient() as client:
            rs = await asyncio.gather(*(client.get(f"{URL}/echo?i={i}") for _ in range(4)))
            return [r.status_code for r in rs]

    return asyncio.run(asyncio.wait_for(run(), 10))


@pytest.fixture
def fork_pool(testserver: Any) -> Any:
    global URL
    URL = testserver.url
    ctx = multiprocessing.get_context("fork")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads (3.12+)
        pool = ctx.Pool(3)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


def test_pool_workers_make_their_own_clients(fork_pool):
    results = fork_pool.map_async(fetch_with_own_client, range(12)).get(timeout=30)
    assert [path for _, path in results] == [f"/echo?i={i}" for i in range(12)]
    assert all(pid != os.getpid() for pid, _ in results)


def test_pool_workers_keep_a_client_each(testserver):
    """One client per worker, made by the pool's initializer."""
    global URL
    URL = testserver.url
    ctx = multiprocessing.get_context("fork")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ctx.Pool(2, initializer=start_worker_client)
    try:
        results = pool.map_async(fetch_with_worker_client, range(10)).get(timeout=30)
    finally:
        pool.terminate()
        pool.join()
    assert [path for _, path in results] == [f"/echo?i={i}" for i in range(10)]


def test_pool_workers_with_async_clients(fork_pool):
    assert fork_pool.map_async(fetch_async, range(6)).get(timeout=30) == [[200] * 4] * 6


def test_pool_with_a_client_made_before_the_pool(testserver):
    """A client made (and used) before the pool is inherited by every worker: there it
    raises ClientClosed, which comes back to the parent as ClientClosed with its code (the
    exception pickles); closing it in a worker returns at once; the pool stays usable and
    the parent's client keeps working."""
    global BEFORE_POOL, URL
    URL = testserver.url
    BEFORE_POOL = httpring.Client()
    try:
        assert BEFORE_POOL.get(URL + "/hello").status_code == 200
        ctx = multiprocessing.get_context("fork")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pool = ctx.Pool(3)
        try:
            with pytest.raises(httpring.ClientClosed, match="fork") as info:
                pool.map_async(fetch_with_client_made_before_pool, range(6)).get(timeout=30)
            assert info.value.code == CLOSED
            took = pool.map_async(close_client_made_before_pool, range(3)).get(timeout=30)
            assert max(took) < 1.0
            results = pool.map_async(fetch_with_own_client, range(6)).get(timeout=30)
            assert [path for _, path in results] == [f"/echo?i={i}" for i in range(6)]
        finally:
            pool.terminate()
            pool.join()
        assert BEFORE_POOL.get(URL + "/hello").status_code == 200
    finally:
        BEFORE_POOL.close()
        BEFORE_POOL = None


# --- known engine defects ---------------------------------------------------------------------


class EofServer:
    """A keep-alive HTTP/1.1 server that notes when a connection reaches EOF (the client
    closed it, and no other process holds the socket open)."""

    def __init__(self) -> None:
        import socket

        self.eof = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Any) -> None:
        buf = b""
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    self.eof.set()
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    _, _, buf = buf.partition(b"\r\n\r\n")
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def close(self) -> None:
        self.listener.close()


def test_a_connection_the_parent_closes_ends_while_a_child_lives():
    server = EofServer()
    parent = httpring.Client()
    try:
        assert parent.get(server.url).text == "ok"  # one pooled keep-alive connection
        release_r, release_w = os.pipe()

        def child(failures: List[str]) -> None:
            os.close(release_w)
            os.read(release_r, 1)  # until the parent is done (or gone)

        pid = fork_child(child)
        os.close(release_r)
        try:
            parent.close()
            ended = server.eof.wait(2.0)
        finally:
            os.close(release_w)
            wait_child(pid)
        assert ended, "the server saw no EOF: the child still holds the socket"
    finally:
        parent.close()
        server.close()


# --- fork while another thread is inside the library ---------------------------------------


@pytest.mark.skipif(
    not os.environ.get("HTTPRING_FORK_STRESS"),
    reason=(
        "a stress run (a fork while other threads are inside calls: the engine holds its "
        "locks across the fork); set HTTPRING_FORK_STRESS=<forks> (e.g. 3000) to run it"
    ),
)
def test_fork_while_other_threads_call_the_engine(testserver):
    url = testserver.url + "/hello"
    forks = int(os.environ["HTTPRING_FORK_STRESS"])
    parent = httpring.Client()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            parent.get(url)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()

    def child(failures: List[str]) -> None:
        expect_closed(failures, "get", lambda: parent.get(url))
        with httpring.Client() as own:
            if own.get(url).status_code != 200:
                failures.append("a client made in the child: get failed")

    try:
        for _ in range(forks):
            wait_child(fork_child(child), deadline=5.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
        parent.close()

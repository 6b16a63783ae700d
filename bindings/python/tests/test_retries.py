"""Retries (httpring.Retry, Client(retries=), retries= per request), the timing record
(Client(timing=True) -> response.extensions["timing"]), HTTPError.attempts, and a Handle's
progress and attempts. The engine decides and retries; these tests check that what Python
asks for reaches it, and that what it reports comes back.

Servers, all on 127.0.0.1: the project's test server (``/flaky/KEY/N``: 503 with
``Retry-After: 0`` for the first N requests naming KEY, then 200 "ok"; every test uses
keys of its own) and ``ScriptServer``, a raw socket server of this module that answers
request i as its script says: reset the connection (SO_LINGER 0, after reading the
request), send given bytes, or, past the script, 200 "ok" with ``Connection: close``."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
import uuid
from typing import List, Tuple, Union

import pytest

import httpring
from httpring import Retry

from servers import TLSServer, _Threaded, _read_head, ca_path

PHASES = ["queued", "pool", "dns", "connect", "tls", "send", "wait", "receive"]
TIMING_KEYS = PHASES + ["total", "attempts", "reused", "remote_address", "tls_version", "alpn"]
RESET = "reset"
OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
BUSY_1S = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 4\r\n\r\nbusy"
#: Waits short enough to keep the tests fast, whatever a retry's backoff draws.
FAST = dict(backoff=0.001, backoff_max=0.01)


def run(coro):
    return asyncio.run(coro)


def flaky(testserver, fails: int) -> str:
    """A URL of the test server that answers 503 ``fails`` times, then 200 "ok"."""
    return f"{testserver.url}/flaky/{uuid.uuid4().hex}/{fails}"


class ScriptServer(_Threaded):
    """Request i (counted across connections) gets ``script[i]``: RESET closes the
    connection with a TCP reset once the request is read, bytes are sent as the response
    (the connection then serves its next request); past the script, ``OK`` and close.
    ``requests`` lists the (method, path) of each request read."""

    def __init__(self, script: List[Union[str, bytes]]) -> None:
        self.script = list(script)
        self.requests: List[Tuple[str, str]] = []
        self.lock = threading.Lock()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(sock)

    def serve(self, conn: socket.socket) -> None:
        while True:
            head, rest = _read_head(conn)
            if not head:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            while len(rest) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                rest += chunk
            with self.lock:
                self.requests.append((method, path))
                action = self.script.pop(0) if self.script else OK
            if action == RESET:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return  # closed by _serve_safely: a reset, not a FIN
            assert isinstance(action, bytes)
            conn.sendall(action)
            if action is OK:
                return


@pytest.fixture
def script_server():
    servers: List[ScriptServer] = []

    def start(*script: Union[str, bytes]) -> ScriptServer:
        server = ScriptServer(list(script))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return int(port)


def attempts(response: httpring.Response) -> int:
    return int(response.extensions["timing"]["attempts"])


def check_timing(response: httpring.Response, port: int) -> dict:
    """The record's keys and types, its phases non-negative and adding up to the total
    (each is rounded down to the µs), the total equal to ``elapsed``."""
    t = response.extensions["timing"]
    assert list(t) == TIMING_KEYS
    for name in PHASES + ["total"]:
        assert isinstance(t[name], float) and t[name] >= 0.0, (name, t)
    assert abs(sum(t[name] for name in PHASES) - t["total"]) <= 1e-5, t
    assert t["total"] == response.elapsed.total_seconds()
    assert isinstance(t["attempts"], int) and t["attempts"] >= 1
    assert isinstance(t["reused"], bool)
    assert t["remote_address"] == f"127.0.0.1:{port}"
    return t


# --- the settings ---------------------------------------------------------------------

def test_retry_defaults_and_checks():
    r = Retry()
    assert (r.max_retries, r.statuses, r.backoff, r.backoff_max, r.non_idempotent) == (
        3, (429, 502, 503, 504), 0.1, 10.0, False,
    )
    assert Retry(2, statuses=[503], backoff=1, non_idempotent=True) == Retry(
        max_retries=2, statuses=(503,), backoff=1.0, non_idempotent=True
    )
    assert Retry(statuses=()).statuses == ()
    assert repr(Retry(1)) == (
        "Retry(max_retries=1, statuses=(429, 502, 503, 504), backoff=0.1, backoff_max=10.0, non_idempotent=False)"
    )
    # As the engine checks them: a uint32 count, statuses 100..599, a first wait of at
    # least 1 ms and a cap at least that.
    for bad in (dict(max_retries=-1), dict(max_retries=1 << 32), dict(statuses=(99,)), dict(statuses=(600,)),
                dict(backoff=0), dict(backoff=-1.0), dict(backoff=float("nan")), dict(backoff_max=float("inf")),
                dict(backoff=2.0, backoff_max=1.0)):
        with pytest.raises(ValueError, match="Retry"):
            Retry(**bad)
    for bad in (dict(max_retries=1.5), dict(max_retries=True), dict(statuses=("503",)), dict(backoff="1")):
        with pytest.raises(TypeError, match="Retry"):
            Retry(**bad)


def test_client_retries_argument(testserver):
    with httpring.Client() as c:
        assert c.retries is None
    with httpring.Client(retries=2) as c:
        assert c.retries == Retry(max_retries=2)
    policy = Retry(1, statuses=(429,))
    with httpring.Client(retries=policy) as c:
        assert c.retries is policy
    for bad in ("3", 1.0, True):
        with pytest.raises(TypeError, match="retries"):
            httpring.Client(retries=bad)
    with pytest.raises(ValueError, match="retries"):
        httpring.AsyncClient(retries=-1)
    with httpring.Client() as c:
        with pytest.raises(ValueError, match="retries"):
            c.get(testserver.url + "/hello", retries=-1)
        with pytest.raises(TypeError, match="retries"):
            c.build_request("GET", testserver.url + "/hello", retries=1.0)
        assert c.live_handles() == 0


# --- statuses (the test server's /flaky) ----------------------------------------------

def test_no_retries_by_default(testserver):
    with httpring.Client(timing=True) as c:
        r = c.get(flaky(testserver, 1))
        assert r.status_code == 503 and r.headers["retry-after"] == "0"
        assert attempts(r) == 1


def test_status_retried_sync(testserver):
    with httpring.Client(retries=3, timing=True) as c:
        r = c.get(flaky(testserver, 2))
        assert (r.status_code, r.text, attempts(r)) == (200, "ok", 3)
        # Out of retries: the last response is the result.
        r = c.get(flaky(testserver, 5))
        assert (r.status_code, attempts(r)) == (503, 4)
        assert r.text == "attempt 4: busy"
        # Idempotent methods are retried, POST and PATCH are not.
        for method in ("HEAD", "PUT", "DELETE", "OPTIONS"):
            r = c.request(method, flaky(testserver, 1))
            assert (r.status_code, attempts(r)) == (200, 2), method
        for method in ("POST", "PATCH"):
            r = c.request(method, flaky(testserver, 1), content=b"x")
            assert (r.status_code, attempts(r)) == (503, 1), method
        # Through send_many too (the batch read).
        rs = c.send_many([flaky(testserver, 1) for _ in range(5)])
        assert [(r.status_code, attempts(r)) for r in rs] == [(200, 2)] * 5


def test_status_retried_async(testserver):
    async def main():
        async with httpring.AsyncClient(retries=3, timing=True) as c:
            rs = await asyncio.gather(*(c.get(flaky(testserver, 2)) for _ in range(20)))
            assert [(r.status_code, attempts(r)) for r in rs] == [(200, 3)] * 20
            r = await c.post(flaky(testserver, 1), json={"a": 1})
            assert (r.status_code, attempts(r)) == (503, 1)
            rs = await c.send_many([flaky(testserver, 1) for _ in range(5)])
            assert [(r.status_code, attempts(r)) for r in rs] == [(200, 2)] * 5

    run(main())


def test_policy_fields_reach_the_engine(testserver):
    # Only the statuses named are retried.
    with httpring.Client(retries=Retry(3, statuses=(429,)), timing=True) as c:
        r = c.get(flaky(testserver, 1))
        assert (r.status_code, attempts(r)) == (503, 1)
    with httpring.Client(retries=Retry(3, statuses=()), timing=True) as c:
        assert attempts(c.get(flaky(testserver, 1))) == 1
    # non_idempotent: POST is retried too.
    with httpring.Client(retries=Retry(3, non_idempotent=True), timing=True) as c:
        r = c.post(flaky(testserver, 2), content=b"body")
        assert (r.status_code, r.text, attempts(r)) == (200, "ok", 3)


def test_per_request_retries_sync(testserver):
    # A request's count over a client without retries (the rest of the policy: the
    # engine's defaults) ...
    with httpring.Client(timing=True) as c:
        r = c.get(flaky(testserver, 2), retries=2)
        assert (r.status_code, attempts(r)) == (200, 3)
        r = c.put(flaky(testserver, 2), content=b"x", retries=1)
        assert (r.status_code, attempts(r)) == (503, 2)
        assert attempts(c.get(flaky(testserver, 1))) == 1  # the client's: none
        # ... with its other per-request settings (the batch entry carries them all).
        r = c.get(flaky(testserver, 1), retries=1, timeout=httpring.Timeout(5.0, pool=1.0))
        assert (r.status_code, attempts(r)) == (200, 2)
        # build_request keeps it for send(); send(retries=) overrides it.
        request = c.build_request("GET", flaky(testserver, 1), retries=1)
        r = c.send(request)
        assert (r.status_code, attempts(r)) == (200, 2)
        r = c.send(c.build_request("GET", flaky(testserver, 1), retries=1), retries=0)
        assert (r.status_code, attempts(r)) == (503, 1)
        r = c.send(c.build_request("GET", flaky(testserver, 1)), retries=1)
        assert (r.status_code, attempts(r)) == (200, 2)
        assert r.request.method == "GET"
        # send_many: a built request keeps its own.
        rs = c.send_many([c.build_request("GET", flaky(testserver, 1), retries=1), flaky(testserver, 1)])
        assert [(r.status_code, attempts(r)) for r in rs] == [(200, 2), (503, 1)]
    # ... and 0 turns a client's retries off for one request.
    with httpring.Client(retries=3, timing=True) as c:
        r = c.get(flaky(testserver, 1), retries=0)
        assert (r.status_code, attempts(r)) == (503, 1)
        r = c.post(flaky(testserver, 1), retries=0)
        assert (r.status_code, attempts(r)) == (503, 1)
    # The module functions pass it to their client.
    r = httpring.get(flaky(testserver, 1), retries=1)
    assert r.status_code == 200


def test_per_request_retries_with_hooks(testserver):
    seen = []
    with httpring.Client(timing=True, event_hooks={"request": [seen.append]}) as c:
        r = c.get(flaky(testserver, 1), retries=1)
        assert (r.status_code, attempts(r)) == (200, 2)
        r = c.send(c.build_request("GET", flaky(testserver, 1)), retries=1)
        assert (r.status_code, attempts(r)) == (200, 2)
    assert len(seen) == 2


def test_per_request_retries_async(testserver):
    async def main():
        async with httpring.AsyncClient(timing=True) as c:
            r = await c.get(flaky(testserver, 1), retries=1)
            assert (r.status_code, attempts(r)) == (200, 2)
            # Among requests of the fast path, in one batch.
            urls = [flaky(testserver, 1) for _ in range(6)]
            rs = await asyncio.gather(*(c.get(u, retries=1 if i % 2 else None) for i, u in enumerate(urls)))
            assert [r.status_code for r in rs] == [503, 200] * 3
            request = c.build_request("DELETE", flaky(testserver, 1), retries=1)
            r = await c.send(request)
            assert (r.status_code, attempts(r)) == (200, 2)
        async with httpring.AsyncClient(retries=2, timing=True) as c:
            r = await c.get(flaky(testserver, 1), retries=0)
            assert (r.status_code, attempts(r)) == (503, 1)

    run(main())


def test_retry_after_beyond_the_cap_is_the_result(script_server):
    server = script_server(BUSY_1S)
    with httpring.Client(retries=Retry(3, backoff=0.01, backoff_max=0.5), timing=True) as c:
        t0 = time.monotonic()
        r = c.get(server.url + "/")
        assert (r.status_code, attempts(r)) == (503, 1)
        assert time.monotonic() - t0 < 0.9


def test_retry_after_wait_is_measured_sync(script_server):
    server = script_server(BUSY_1S)
    with httpring.Client(retries=2, timing=True) as c:
        t0 = time.monotonic()
        r = c.get(server.url + "/wait")
        waited = time.monotonic() - t0
    assert (r.status_code, r.text) == (200, "ok")
    t = check_timing(r, server.port)
    assert t["attempts"] == 2
    assert waited >= 0.95 and t["total"] >= 0.95
    # The phases describe the last exchange: the first one and the wait are "queued".
    assert t["queued"] >= 0.95
    assert [m for m, _ in server.requests] == ["GET", "GET"]


def test_retry_after_wait_is_measured_async(script_server):
    server = script_server(BUSY_1S)

    async def main():
        async with httpring.AsyncClient(retries=2, timing=True) as c:
            return await c.get(server.url + "/wait")

    r = run(main())
    t = check_timing(r, server.port)
    assert (r.status_code, t["attempts"]) == (200, 2)
    assert t["total"] >= 0.95 and r.elapsed.total_seconds() >= 0.95


def test_backoff_reaches_the_engine(script_server):
    # Retry 1 waits between half and all of `backoff`: two retries wait >= 2 * 0.1 s.
    server = script_server(RESET, RESET)
    with httpring.Client(retries=Retry(2, backoff=0.2, backoff_max=0.2), timing=True) as c:
        r = c.get(server.url + "/")
    assert (r.status_code, attempts(r)) == (200, 3)
    assert r.extensions["timing"]["total"] >= 0.2


# --- resets and refused connections (ScriptServer) ------------------------------------

def test_reset_get_retried_post_not_sync(script_server):
    server = script_server(RESET, RESET)
    with httpring.Client(retries=Retry(3, **FAST), timing=True) as c:
        r = c.get(server.url + "/get")
        assert (r.status_code, r.text, attempts(r)) == (200, "ok", 3)
    assert server.requests == [("GET", "/get")] * 3
    assert server.connections == 3

    server = script_server(RESET, RESET)
    with httpring.Client(retries=Retry(3, **FAST)) as c:
        with pytest.raises(httpring.TransportError) as info:
            c.post(server.url + "/post", content=b"once")
    assert info.value.attempts == 1
    assert server.requests == [("POST", "/post")]

    server = script_server(RESET, RESET)
    with httpring.Client(retries=Retry(3, non_idempotent=True, **FAST), timing=True) as c:
        r = c.post(server.url + "/post", content=b"again")
        assert (r.status_code, attempts(r)) == (200, 3)
    assert server.requests == [("POST", "/post")] * 3


def test_reset_get_retried_post_not_async(script_server):
    async def main():
        server = script_server(RESET, RESET)
        async with httpring.AsyncClient(retries=Retry(3, **FAST), timing=True) as c:
            r = await c.get(server.url + "/get")
            assert (r.status_code, attempts(r)) == (200, 3)
        assert server.requests == [("GET", "/get")] * 3

        server = script_server(RESET, RESET)
        async with httpring.AsyncClient(retries=Retry(3, **FAST)) as c:
            with pytest.raises(httpring.TransportError) as info:
                await c.post(server.url + "/post", content=b"once")
        assert info.value.attempts == 1
        assert server.requests == [("POST", "/post")]

        server = script_server(RESET, RESET)
        async with httpring.AsyncClient(retries=Retry(3, non_idempotent=True, **FAST), timing=True) as c:
            r = await c.post(server.url + "/post", content=b"again")
            assert (r.status_code, attempts(r)) == (200, 3)
        assert len(server.requests) == 3

    run(main())


def test_reset_without_retries_fails_at_once(script_server):
    server = script_server(RESET)
    with httpring.Client() as c:
        with pytest.raises(httpring.TransportError) as info:
            c.get(server.url + "/")
    assert info.value.attempts == 1
    assert len(server.requests) == 1


def test_refused_connection_retried_whatever_the_method():
    url = f"http://127.0.0.1:{closed_port()}/"
    with httpring.Client(retries=Retry(2, **FAST)) as c:
        for method in ("GET", "POST"):
            with pytest.raises(httpring.ConnectError) as info:
                c.request(method, url, content=b"x" if method == "POST" else None)
            assert info.value.attempts == 3, method
        with pytest.raises(httpring.ConnectError) as info:
            c.get(url, retries=0)
        assert info.value.attempts == 1
        rs = c.send_many([url, url], return_exceptions=True)
        assert [e.attempts for e in rs] == [3, 3]

    async def main():
        async with httpring.AsyncClient(retries=Retry(1, **FAST)) as c:
            with pytest.raises(httpring.ConnectError) as info:
                await c.post(url, json={})
            assert info.value.attempts == 2

    run(main())


def test_attempts_unknown_when_nothing_started(testserver):
    with httpring.Client() as c:
        with pytest.raises(httpring.UnsupportedProtocol) as info:
            c.get("ftp://127.0.0.1/x")
    assert info.value.attempts is None
    assert httpring.ReadTimeout("x").attempts is None


# --- the timing record ----------------------------------------------------------------

def test_timing_record_sync(testserver):
    with httpring.Client(timing=True) as c:
        first = c.get(testserver.url + "/hello")
        second = c.get(testserver.url + "/bytes/100000")
        third = c.send_many([testserver.url + "/hello"])[0]
    t1 = check_timing(first, testserver.port)
    t2 = check_timing(second, testserver.port)
    check_timing(third, testserver.port)
    assert (t1["reused"], t2["reused"]) == (False, True)
    assert t1["attempts"] == t2["attempts"] == 1
    assert t1["connect"] > 0.0 and t2["connect"] == 0.0  # a new connection, then none
    assert (t1["tls_version"], t1["alpn"], t1["tls"]) == (None, None, 0.0)
    assert t2["wait"] > 0.0
    # Built once, on first access, then the same dict.
    assert first.extensions is first.extensions


def test_timing_record_async(testserver):
    async def main():
        async with httpring.AsyncClient(timing=True) as c:
            first = await c.get(testserver.url + "/hello")
            second = await c.get(testserver.url + "/hello")
            many = await asyncio.gather(*(c.get(testserver.url + "/delay/20") for _ in range(10)))
            return first, second, many

    first, second, many = run(main())
    t1 = check_timing(first, testserver.port)
    t2 = check_timing(second, testserver.port)
    assert (t1["reused"], t2["reused"]) == (False, True)
    for r in many:
        t = check_timing(r, testserver.port)
        assert t["total"] >= 0.02 and t["wait"] >= 0.015


def test_timing_of_a_delayed_response(testserver):
    with httpring.Client(timing=True) as c:
        r = c.get(testserver.url + "/delay/200")
    t = check_timing(r, testserver.port)
    assert t["wait"] >= 0.19 and t["total"] >= 0.2


def test_timing_over_tls():
    server = TLSServer(alpn=["http/1.1"])
    try:
        with httpring.Client(verify=ca_path(), timing=True) as c:
            r = c.get(server.url + "/")
            again = c.get(server.url + "/")
    finally:
        server.close()
    t = check_timing(r, server.port)
    assert t["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert t["alpn"] == "http/1.1"
    assert t["tls"] > 0.0 and t["connect"] > 0.0
    t = check_timing(again, server.port)
    assert t["reused"] and t["tls"] == 0.0


def test_no_timing_unless_asked(testserver):
    with httpring.Client() as c:
        r = c.get(testserver.url + "/hello")
        assert "timing" not in r.extensions
        assert r.elapsed.total_seconds() > 0
        assert "timing" not in c.send_many([testserver.url + "/hello"])[0].extensions

    async def main():
        async with httpring.AsyncClient() as c:
            return await c.get(testserver.url + "/hello")

    assert "timing" not in run(main()).extensions
    assert httpring.Response(200, extensions={"a": 1}).extensions == {"a": 1}


# --- Handle: progress and attempts ----------------------------------------------------

def test_handle_progress_and_attempts(testserver):
    n = 8_000_000
    with httpring.Client() as c:
        h = c.submit("GET", testserver.url + "/delay/300")
        assert h.progress() == (0, None)  # no response head yet
        assert h.attempts == 1
        assert h.response().text == "ok"
        assert h.progress() == (2, 2)

        h = c.submit("GET", f"{testserver.url}/bytes/{n}")
        seen = [h.progress()]
        while not h.poll():
            seen.append(h.progress())
        seen.append(h.progress())
        assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:])), "progress went back"
        assert all(length in (None, n) for _, length in seen)
        assert seen[-1] == (n, n)
        r = h.response()
        assert len(r.content) == n
        assert h.progress() == (n, n)  # the final figures, after the handle was freed
        # A Handle's response always has its timing.
        t = check_timing(r, testserver.port)
        assert t["receive"] > 0.0
        assert c.live_handles() == 0

        h = c.submit("GET", testserver.url + "/hello")
        h.close()
        with pytest.raises(httpring.InvalidHandle):
            h.progress()


def test_handle_attempts_with_retries(testserver):
    with httpring.Client(retries=3) as c:
        h = c.submit("GET", flaky(testserver, 2))
        r = h.response()
        assert (r.status_code, h.attempts, attempts(r)) == (200, 3, 3)
        h = c.submit("GET", flaky(testserver, 2), retries=0)
        assert (h.response().status_code, h.attempts) == (503, 1)
        h = c.submit("GET", f"http://127.0.0.1:{closed_port()}/", retries=1)
        with pytest.raises(httpring.ConnectError) as info:
            h.response()
        assert info.value.attempts == h.attempts == 2

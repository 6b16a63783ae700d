"""A misbehaving HTTP/1.1 server: what each fault ends in (exception class and engine code).

docs/RELIABILITY.md's table of server misbehaviours cites these for the cases the Rust and
C tests do not pin. Each server reads the request head, then misbehaves; no retries are
configured (the default), and every connection is new, so nothing is sent twice."""

from __future__ import annotations

import socket
import struct
import time
from typing import Callable, Iterator, Tuple, Type

import pytest

import httpring

from servers import _read_head, _Threaded

Fault = Callable[[socket.socket], None]


def reset(conn: socket.socket) -> None:
    """Closes with a TCP reset (SO_LINGER 0), not a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def send_then(data: bytes, end: Fault) -> Fault:
    def fault(conn: socket.socket) -> None:
        conn.sendall(data)
        time.sleep(0.05)  # the bytes arrive before the close does
        end(conn)

    return fault


def close(conn: socket.socket) -> None:
    conn.close()


HEAD_100 = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"

#: (what, fault, exception class, code name)
CASES = [
    ("reset after the request was read", reset, httpring.ReadError, "HTTPRING_ERR_IO"),
    ("closed after the request was read, no answer", close, httpring.RemoteProtocolError, "HTTPRING_ERR_PROTOCOL"),
    ("10 of 100 announced bytes, then closed", send_then(HEAD_100 + b"0123456789", close), httpring.RemoteProtocolError, "HTTPRING_ERR_PROTOCOL"),
    ("10 of 100 announced bytes, then reset", send_then(HEAD_100 + b"0123456789", reset), httpring.ReadError, "HTTPRING_ERR_IO"),
    (
        "chunked body closed before its last chunk",
        send_then(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", close),
        httpring.RemoteProtocolError,
        "HTTPRING_ERR_PROTOCOL",
    ),
    (
        "more than 100 header lines",
        send_then(b"HTTP/1.1 200 OK\r\n" + b"".join(b"x-h%d: v\r\n" % i for i in range(150)) + b"Content-Length: 0\r\n\r\n", close),
        httpring.RemoteProtocolError,
        "HTTPRING_ERR_PROTOCOL",
    ),
    (
        "a response head over 400 KiB",
        send_then(b"HTTP/1.1 200 OK\r\nx-big: " + b"v" * (500 << 10) + b"\r\nContent-Length: 0\r\n\r\n", close),
        httpring.RemoteProtocolError,
        "HTTPRING_ERR_PROTOCOL",
    ),
]


class FaultServer(_Threaded):
    """Reads each request head, then runs ``fault`` on the connection."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        super().__init__(sock)

    def serve(self, conn: socket.socket) -> None:
        if _read_head(conn)[0]:
            self.fault(conn)


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def case(request: pytest.FixtureRequest) -> Iterator[Tuple["FaultServer", Type[Exception], str]]:
    what, fault, error, code = request.param
    server = FaultServer(fault)
    yield server, error, code
    server.close()


def test_fault_ends_in_its_code(case, testserver):
    server, error, code = case
    with httpring.Client(timeout=10) as c:
        with pytest.raises(error) as info:
            c.get(server.url)
        assert info.value.code_name == code, str(info.value)
        # The client goes on.
        assert c.get(testserver.url + "/hello").status_code == 200


def test_fault_ends_in_its_code_async(case, testserver):
    import asyncio

    server, error, code = case

    async def main() -> None:
        async with httpring.AsyncClient(timeout=10) as c:
            with pytest.raises(error) as info:
                await c.get(server.url)
            assert info.value.code_name == code, str(info.value)
            assert (await c.get(testserver.url + "/hello")).status_code == 200

    asyncio.run(asyncio.wait_for(main(), 20))

"""Fixtures: the project's test server (started once per session), pytest-httpbin's local
server, a `server` fixture that runs a test against both, the async backends an
`@pytest.mark.anyio` test runs under (asyncio and trio), and a leak check after every test
(every engine client created during the test ends with 0 live handles)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, Iterator, Optional
from urllib.parse import quote

import pytest

import httpring
from httpring import _engine

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _testserver_path() -> str:
    return os.environ.get("HTTPRING_TESTSERVER") or os.path.join(
        REPO, "target", "release", "examples", "testserver"
    )


class TestServer:
    """A running `testserver` process; `url` is http://127.0.0.1:PORT."""

    def __init__(self, *flags: str) -> None:
        path = _testserver_path()
        if not os.path.exists(path):
            pytest.exit(f"test server not built: {path} (run `make build`)", returncode=2)
        self.proc = subprocess.Popen([path, *flags], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("LISTENING"):
            self.proc.kill()
            raise RuntimeError(f"test server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self) -> Dict[str, int]:
        with httpring.Client() as c:
            return c.get(self.url + "/stats").json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def testserver() -> Iterator[TestServer]:
    server = TestServer()
    yield server
    server.stop()


class Backend:
    """One server the shared tests run against, with its route names."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url.rstrip("/")

    def __repr__(self) -> str:
        return self.name

    @property
    def is_httpbin(self) -> bool:
        return self.name.startswith("httpbin")

    def echo(self, query: str = "") -> str:
        path = "/anything" if self.is_httpbin else "/echo"
        return self.url + path + (f"?{query}" if query else "")

    def hello(self) -> str:
        return self.url + ("/robots.txt" if self.is_httpbin else "/hello")

    def status(self, code: int) -> str:
        return f"{self.url}/status/{code}"

    def bytes(self, n: int) -> str:
        return f"{self.url}/bytes/{n}"

    def json(self) -> str:
        return self.url + "/json"

    def delay(self, seconds: float) -> str:
        if self.is_httpbin:
            return f"{self.url}/delay/{seconds}"
        return f"{self.url}/delay/{int(seconds * 1000)}"

    def multi_headers(self) -> str:
        """A response with set-cookie twice (a=1, b=2) and X-Custom: Yes."""
        if self.is_httpbin:
            q = "&".join(f"{k}={quote(v)}" for k, v in (("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x-custom", "Yes")))
            return f"{self.url}/response-headers?{q}"
        return self.url + "/headers"

    def parse_echo(self, response: httpring.Response) -> Dict[str, Any]:
        """{method, path (with query), headers (lower-case names), body} from either echo."""
        data = response.json()
        if self.is_httpbin:
            url = data["url"]
            path = url.split("://", 1)[1]
            path = path[path.index("/") :] if "/" in path else "/"
            return {
                "method": data["method"],
                "path": path,
                "headers": {k.lower(): v for k, v in data["headers"].items()},
                "body": data["data"] or "&".join(
                    f"{k}={v}" for k, v in data.get("form", {}).items()
                ),
                "form": data.get("form", {}),
                "args": data.get("args", {}),
            }
        return {
            "method": data["method"],
            "path": data["path"],
            "headers": data["headers"],
            "body": data["body"],
        }


@pytest.fixture(params=["testserver", "httpbin", "httpbin-https"])
def server(request: Any, testserver: TestServer, monkeypatch: Any) -> Backend:
    """The shared tests run against the project's test server and pytest-httpbin's HTTP
    and HTTPS servers. The HTTPS one has a certificate from pytest-httpbin's own CA: it
    is trusted through SSL_CERT_FILE, which clients honour as httpx does (verify=True with
    trust_env=True), so the tests create their clients unchanged."""
    if request.param == "httpbin":
        return Backend("httpbin", request.getfixturevalue("httpbin").url)
    if request.param == "httpbin-https":
        from pytest_httpbin import certs

        monkeypatch.setenv("SSL_CERT_FILE", certs.where())
        return Backend("httpbin-https", request.getfixturevalue("httpbin_secure").url)
    return Backend("testserver", testserver.url)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: Any) -> str:
    """anyio's pytest plugin runs each `@pytest.mark.anyio` test under both."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def client(request: Any) -> Iterator[httpring.Client]:
    if "server" in request.fixturenames:
        request.getfixturevalue("server")  # first: it may set SSL_CERT_FILE
    with httpring.Client() as c:
        yield c


@pytest.fixture(autouse=True)
def no_leaked_handles(request: Any) -> Iterator[None]:
    """After each test, every engine client it created has 0 live handles (checked when
    it was closed, or now if it is still open). Mark a test `allow_live_at_close` when
    it closes a client with requests in flight on purpose."""
    before = set(map(id, _engine.ALL_ENGINES))
    _engine.CLOSE_LOG = log = []
    yield
    import gc

    gc.collect()
    _engine.CLOSE_LOG = None
    if request.node.get_closest_marker("allow_live_at_close") is None:
        assert all(n == 0 for n in log), f"handles live when a client was closed: {log}"
    for engine in list(_engine.ALL_ENGINES):
        if id(engine) not in before and not engine.closed:
            assert engine.live_handles() == 0, "handles leaked by the test"


def pytest_collection_finish(session: Any) -> None:
    """The leak check runs gc.collect() after every test: freeze what exists by now
    (modules, collected tests) so those collections only scan what the tests create."""
    import gc

    gc.collect()
    gc.freeze()


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "allow_live_at_close: the test closes a busy client on purpose")

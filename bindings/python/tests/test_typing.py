"""The package's type hints hold (mypy --strict), including for a typical caller."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "src")

CALLER = '''
import asyncio
from typing import Any, Iterator
import httpring

async def main() -> int:
    async with httpring.AsyncClient(timeout=httpring.Timeout(connect=1, read=2)) as c:
        r: httpring.Response = await c.post("http://127.0.0.1:1/", json={"a": 1}, params={"q": "x"})
        rs = await asyncio.gather(*(c.get(u) for u in ["http://127.0.0.1:1/"]))
        return r.status_code + len(rs) + len(r.headers.get_list("set-cookie"))

with httpring.Client(base_url="http://127.0.0.1:1") as client:
    h: httpring.Handle = client.submit("GET", "/x", user_data=1)
    done: list[httpring.Completion] = client.drain()
    text: str = client.get("/y", headers={"a": "b"}).text
    stats: httpring.Stats = client.stats()
    opened: int = stats.connections_opened
    hops: list[httpring.Response] = client.get("/r", auth=("u", "p"), follow_redirects=True).history

def auths() -> None:
    httpring.Client(auth=("user", "pass"), follow_redirects=True, max_redirects=5)
    httpring.AsyncClient(auth=httpring.DigestAuth("user", "pass"))
    basic: httpring.Auth = httpring.BasicAuth(b"user", b"pass")

def cookies(r: httpring.Response) -> None:
    client = httpring.Client(cookies={"a": "1"})
    jar: httpring.Cookies = client.cookies
    jar.set("b", "2", domain="example.com", path="/")
    value: str | None = jar.get("b", domain="example.com")
    client.cookies = {"c": "3"}
    client.cookies = [("d", "4")]
    client.cookies = httpring.Cookies(r.cookies)
    client.get("http://127.0.0.1:1/", cookies={"e": "5"})
    names: list[str] = list(r.cookies)
    try:
        first: str = jar["b"]
    except httpring.CookieConflict:
        pass

def limits() -> None:
    lim = httpring.Limits(max_connections=8, max_keepalive_connections=0, keepalive_expiry=None,
                          max_connections_per_host=2, max_in_flight=100)
    n: int | None = lim.max_connections
    client = httpring.Client(limits=lim, timeout=httpring.Timeout(5.0, pool=0.5, write=None))
    try:
        client.get("http://127.0.0.1:1/", timeout=httpring.Timeout(1.0, pool=0.1))
    except (httpring.PoolTimeout, httpring.WriteTimeout, httpring.TooManyInFlight):
        pass
    default: httpring.Limits = httpring.DEFAULT_LIMITS

def uploads() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"x"
    with httpring.Client(limits=httpring.Limits(stream_buffer=65536)) as client:
        r: httpring.Response = client.post("http://127.0.0.1:1/", content=chunks())
        request = client.build_request("PUT", "http://127.0.0.1:1/", content=chunks())
        try:
            body: bytes = request.content
        except httpring.RequestNotRead:
            body = request.read()
        with open(__file__, "rb") as f:
            client.put("http://127.0.0.1:1/", content=f)

def forms_headers_urls(r: httpring.Response) -> None:
    client = httpring.Client(headers={"a": "b"})
    client.post("http://127.0.0.1:1/", data={"k": ["1", "2"]}, files={"f": ("a.txt", b"x", "text/plain")})
    client.build_request("PUT", "http://127.0.0.1:1/", files=[("f", open("a.bin", "rb"))])
    client.headers["X-Key"] = "v"
    client.headers = {"a": "c"}
    headers: httpring.Headers = client.headers
    url: httpring.URL = r.url
    host: str = url.host
    port: int | None = url.port
    query: bytes = url.query
    first: str = url.params["q"]
    text: str = str(url.join("/next").copy_with(fragment="x"))
    same: bool = r.request.url == "http://127.0.0.1:1/"
    params: httpring.QueryParams = httpring.QueryParams({"a": "1"}).add("b", 2)

import pathlib
import ssl

def transports(ca: pathlib.Path, ctx: ssl.SSLContext) -> None:
    httpring.Client(verify=str(ca), cert=("c.pem", "k.pem"), http2=True, proxy="http://p:3128")
    httpring.Client(verify=ca, trust_env=False, resolve=["a.test:443:127.0.0.1"], dns_cache_ttl=5)
    httpring.AsyncClient(verify=ctx, http1=False, http2=True, uds="/run/x.sock", no_proxy=[".corp"])
    httpring.AsyncClient(verify=b"PEM", http2_prior_knowledge=True, resolve={("a.test", 80): ["::1"]})
    try:
        httpring.get("https://example.com/", verify=False)
    except httpring.CertificateError as e:
        reason: str = str(e)
    except httpring.TLSError:
        pass

def httpx_surface() -> None:
    def handler(request: httpring.Request) -> httpring.Response:
        path: str = request.url.path
        return httpring.Response(200, json={"path": path}, request=request)

    async def ahandler(request: httpring.Request) -> httpring.Response:
        return httpring.Response(201, text=request.method)

    def on_request(request: httpring.Request) -> None:
        request.headers["x-signed"] = "1"

    async def on_response(response: httpring.Response) -> None:
        response.raise_for_status()

    with httpring.Client(transport=httpring.MockTransport(handler), event_hooks={"request": [on_request]}) as c:
        r: httpring.Response = c.put("http://127.0.0.1:1/x", content=b"b").raise_for_status()
        phrase: str = r.reason_phrase
        sent: httpring.Request = r.request
        hooks: dict[str, list[Any]] = c.event_hooks
    httpring.AsyncClient(transport=httpring.MockTransport(ahandler), event_hooks={"response": [on_response]})
    req = httpring.Request("POST", "http://127.0.0.1:1/", params={"a": "1"}, json=[1])
    port: int | None = req.url.port
    resp = httpring.patch("http://127.0.0.1:1/", data={"a": "b"}, timeout=1.0, follow_redirects=True)
    httpring.delete("http://127.0.0.1:1/"); httpring.head("http://127.0.0.1:1/"); httpring.options("http://127.0.0.1:1/")

async def retries_and_timing() -> None:
    policy = httpring.Retry(max_retries=2, statuses=(503,), backoff=0.05, backoff_max=1.0, non_idempotent=True)
    with httpring.Client(retries=policy, timing=True) as c:
        r = c.get("http://127.0.0.1:1/", retries=1)
        timing: dict[str, Any] = r.extensions["timing"]
        total: float = timing["total"]
        same: bool = r.elapsed.total_seconds() == total
        c.send(c.build_request("GET", "http://127.0.0.1:1/", retries=0), retries=2)
        h = c.submit("GET", "http://127.0.0.1:1/", retries=3)
        received, length = h.progress()
        got: int = received + (length or 0) + h.attempts
        kept: httpring.Retry | None = c.retries
    async with httpring.AsyncClient(retries=3) as ac:
        await ac.post("http://127.0.0.1:1/", content=b"x", retries=0)
    try:
        httpring.get("http://127.0.0.1:1/", retries=2)
    except httpring.HTTPError as e:
        tries: int | None = e.attempts

def streaming(client: httpring.Client) -> int:
    total = 0
    with client.stream("GET", "http://127.0.0.1:1/", params={"a": 1}, timeout=httpring.Timeout(5, read=1)) as r:
        for chunk in r.iter_bytes(chunk_size=1024):
            total += len(chunk)
        lines: list[str] = list(r.iter_lines())
        texts: list[str] = list(r.iter_text())
        raw: list[bytes] = list(r.iter_raw())
        done: bool = r.is_stream_consumed and r.is_closed
    with httpring.stream("POST", "http://127.0.0.1:1/", json={"a": 1}) as r2:
        body: bytes = r2.read()
    r3 = client.send(client.build_request("GET", "http://127.0.0.1:1/"), stream=True)
    r3.close()
    try:
        r3.content
    except (httpring.ResponseNotRead, httpring.StreamConsumed, httpring.StreamClosed) as e:
        err: httpring.StreamError = e
    return total

async def astreaming(client: httpring.AsyncClient) -> str:
    async with client.stream("GET", "http://127.0.0.1:1/") as r:
        async for line in r.aiter_lines():
            return line
        async for chunk in r.aiter_bytes(10):
            pass
        async for text in r.aiter_text():
            pass
        async for piece in r.aiter_raw():
            pass
        body: bytes = await r.aread()
    r2 = await client.send(client.build_request("GET", "http://127.0.0.1:1/"), stream=True)
    await r2.aclose()
    return ""

class Custom(httpring.BaseTransport):
    def handle_request(self, request: httpring.Request) -> httpring.Response:
        return httpring.Response(204)
'''


def test_mypy_strict(tmp_path):
    pytest.importorskip("mypy")
    caller = tmp_path / "caller.py"
    caller.write_text(CALLER)
    env = dict(os.environ, MYPYPATH=os.path.abspath(SRC))
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
         os.path.join(os.path.abspath(SRC), "httpring"), str(caller)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr

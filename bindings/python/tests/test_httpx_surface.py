"""httpx's API, as code written for httpx uses it: only the import line differs from an
httpx test suite. Runs against the project's test server on 127.0.0.1 (``testserver``)
or with no network at all (``MockTransport``)."""

from __future__ import annotations

import asyncio
import json

import pytest

import httpring as httpx


def run(coro):
    return asyncio.run(coro)


# --- module-level functions ------------------------------------------------------------

@pytest.mark.parametrize("method", ["get", "head", "options", "delete"])
def test_module_functions_without_body(testserver, method):
    r = getattr(httpx, method)(testserver.url + "/echo", params={"q": "1"}, headers={"X-Test": "yes"})
    assert r.status_code == 200
    assert r.request.method == method.upper()
    if method == "head":
        assert r.content == b""
        return
    echo = r.json()
    assert echo["method"] == method.upper()
    assert echo["path"] == "/echo?q=1"
    assert echo["headers"]["x-test"] == "yes"


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_module_functions_with_body(testserver, method):
    fn = getattr(httpx, method)
    echo = fn(testserver.url + "/echo", json={"a": 1}).json()
    assert echo["method"] == method.upper()
    assert echo["body"] == '{"a":1}'
    assert echo["headers"]["content-type"] == "application/json"
    echo = fn(testserver.url + "/echo", data={"k": "v w"}).json()
    assert echo["body"] == "k=v+w"
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert fn(testserver.url + "/echo", content=b"raw").json()["body"] == "raw"


def test_module_request_and_client_options(testserver):
    r = httpx.request("PUT", testserver.url + "/echo", content=b"x", headers={"A": "b"})
    assert r.json()["method"] == "PUT" and r.json()["body"] == "x"
    # Options of the short-lived client: redirects, cookies, auth.
    r = httpx.get(testserver.url + "/redirect-to?url=/hello", follow_redirects=True)
    assert r.status_code == 200 and r.text == "Hello, world!" and len(r.history) == 1
    assert httpx.get(testserver.url + "/redirect-to?url=/hello").status_code == 302
    assert httpx.get(testserver.url + "/cookies", cookies={"sid": "42"}).text == "sid=42"
    r = httpx.get(testserver.url + "/echo", auth=("user", "pass"))
    assert r.json()["headers"]["authorization"] == "Basic dXNlcjpwYXNz"
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://127.0.0.1:1/", timeout=2)

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


# --- Request and Response, built by hand -------------------------------------------------

def test_request_construction():
    request = httpx.Request(
        "post", "http://127.0.0.1:8000/items", params={"a": "1", "b": "2"},
        headers={"X-Api-Key": "k"}, json={"name": "x"},
    )
    assert request.method == "POST"
    assert request.url == "http://127.0.0.1:8000/items?a=1&b=2"
    assert request.url.scheme == "http" and request.url.host == "127.0.0.1" and request.url.port == 8000
    assert request.url.path == "/items" and request.url.query == b"a=1&b=2"
    assert request.url.params["b"] == "2" and request.url.raw_path == b"/items?a=1&b=2"
    assert request.headers["x-api-key"] == "k"
    assert request.headers["content-type"] == "application/json"
    assert request.content == b'{"name":"x"}' and request.read() == request.content
    assert json.loads(request.content) == {"name": "x"}
    assert repr(request) == "<Request('POST', 'http://127.0.0.1:8000/items?a=1&b=2')>"

    form = httpx.Request("PUT", "http://127.0.0.1/f", data={"a": "b c"})
    assert form.content == b"a=b+c" and form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert httpx.Request("GET", "http://127.0.0.1/", content="é").content == "é".encode()
    with_cookies = httpx.Request("GET", "http://127.0.0.1/", cookies={"sid": "1"})
    assert with_cookies.headers["cookie"] == "sid=1"
    assert httpx.URL("https://127.0.0.1:443/").port is None


def test_response_construction():
    request = httpx.Request("GET", "http://127.0.0.1/users/1")
    response = httpx.Response(200, json={"id": 1}, headers={"X-Trace": "t"}, request=request)
    assert response.status_code == 200 and response.reason_phrase == "OK"
    assert response.json() == {"id": 1}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["x-trace"] == "t"
    assert response.request is request and response.url == "http://127.0.0.1/users/1"
    assert response.http_version == "HTTP/1.1" and response.history == []
    assert response.is_success and not response.is_error

    text = httpx.Response(404, text="nope")
    assert text.text == "nope" and text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.reason_phrase == "Not Found" and text.is_client_error
    html = httpx.Response(200, html="<p>hi</p>")
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert httpx.Response(204).content == b"" and "content-length" not in httpx.Response(204).headers
    assert httpx.Response(200, content=b"abc").text == "abc"
    assert httpx.Response(200, content=[b"a", b"bc"]).read() == b"abc"
    assert repr(httpx.Response(404)) == "<Response [404 Not Found]>"
    assert httpx.Response(599).reason_phrase == ""


def test_raise_for_status_returns_response_or_raises():
    request = httpx.Request("GET", "http://127.0.0.1/x")
    ok = httpx.Response(201, request=request)
    assert ok.raise_for_status() is ok
    # The idiom httpx code uses: chain it.
    assert httpx.Response(200, json=[1], request=request).raise_for_status().json() == [1]
    bad = httpx.Response(503, request=request)
    with pytest.raises(httpx.HTTPStatusError) as info:
        bad.raise_for_status()
    assert info.value.response is bad and info.value.request is request
    assert str(info.value).startswith("Server error '503 Service Unavailable' for url 'http://127.0.0.1/x'")
    moved = httpx.Response(301, headers={"Location": "/y"}, request=request)
    with pytest.raises(httpx.HTTPStatusError, match="Redirect location: '/y'"):
        moved.raise_for_status()


# --- Request, Response and reason_phrase from a real server -------------------------------

def test_response_request_is_the_request_sent(testserver):
    with httpx.Client(headers={"X-Client": "c"}) as client:
        r = client.post(testserver.url + "/echo", params={"q": "1"}, headers={"X-Own": "o"}, content=b"body")
        sent = r.request
        assert isinstance(sent, httpx.Request)
        assert sent.method == "POST" and sent.url == testserver.url + "/echo?q=1"
        assert sent.url.path == "/echo" and sent.url.params["q"] == "1"
        # The client's headers and the request's own, as httpx shows them.
        assert sent.headers["x-own"] == "o" and sent.headers["x-client"] == "c"
        assert sent.content == b"body"
        echoed = r.json()["headers"]
        assert echoed["x-own"] == "o" and echoed["x-client"] == "c"

        request = client.build_request("GET", testserver.url + "/hello", headers={"A": "1"})
        response = client.send(request)
        assert response.request is request and response.text == "Hello, world!"
        # After redirects: the last hop's method and URL.
        r = client.post(testserver.url + "/redirect-to?status=303&url=/echo", content=b"x", follow_redirects=True)
        assert r.request.method == "GET" and r.request.url == testserver.url + "/echo"
        assert r.request.content == b"" and r.request.headers["x-client"] == "c"


def test_reason_phrase_and_raise_for_status_from_server(testserver):
    with httpx.Client() as client:
        assert client.get(testserver.url + "/hello").reason_phrase == "OK"
        r = client.get(testserver.url + "/status/404")
        assert r.reason_phrase == "Not Found"
        with pytest.raises(httpx.HTTPStatusError) as info:
            r.raise_for_status()
        assert info.value.response is r and info.value.request.url == testserver.url + "/status/404"
        ok = client.get(testserver.url + "/json")
        assert ok.raise_for_status() is ok and ok.raise_for_status().json()["n"] == 42


def test_reason_phrase_is_the_standard_one():
    """The engine does not expose the status line's reason (include/httpring.h has no
    accessor): reason_phrase is the standard phrase for the code, whatever the server
    wrote. Change this test when the engine exposes it."""
    from servers import RawServer

    server = RawServer({"/": b"HTTP/1.1 200 Everything Fine\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"})
    try:
        r = httpx.get(server.url + "/")
        assert r.status_code == 200 and r.text == "ok" and r.reason_phrase == "OK"
    finally:
        server.close()

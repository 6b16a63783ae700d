"""httpx's API, as code written for httpx uses it: only the import line differs from an
httpx test suite. Runs against the project's test server on 127.0.0.1 (``testserver``)
or with no network at all (``MockTransport``). With ``import httpx`` instead, every test
but those of the last section (httpring's own API, and its reason phrase) passes with
httpx too."""

from __future__ import annotations

import asyncio
import io
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


def test_url_of_wrong_type_is_a_type_error(testserver):
    """As httpx: not InvalidURL from the engine, nor a Request for the URL "None"."""
    for bad in (None, 123):
        with pytest.raises(TypeError, match="url"):
            httpx.Request("GET", bad)
        with httpx.Client() as client:
            with pytest.raises(TypeError, match="url"):
                client.get(bad)

    async def main():
        async with httpx.AsyncClient() as client:
            with pytest.raises(TypeError, match="url"):
                await client.get(None)

    run(main())


def test_header_of_wrong_type_is_a_type_error(testserver):
    """As httpx (not AttributeError; not bytes(3), three NULs, refused by the engine)."""
    for bad in ({"a": 1}, {"a": None}, [("a", 3)]):
        with pytest.raises(TypeError, match="Header value must be str or bytes"):
            httpx.Headers(bad)
        with pytest.raises(TypeError, match="Header value must be str or bytes"):
            httpx.Client(headers=bad)
        with httpx.Client() as client:
            with pytest.raises(TypeError, match="Header value must be str or bytes"):
                client.get(testserver.url + "/echo", headers=bad)


def test_content_of_wrong_type_is_a_type_error(testserver):
    """As httpx: a dict given as content= is refused, not sent as its keys."""
    url = testserver.url + "/echo"
    for bad in ({"a": 1}, 123):
        with pytest.raises(TypeError, match="content"):
            httpx.Request("POST", url, content=bad)
        with httpx.Client() as client:
            with pytest.raises(TypeError, match="content"):
                client.post(url, content=bad)
            assert client.post(url, content=[b"a", b"b"]).json()["body"] == "ab"

    async def main():
        async with httpx.AsyncClient() as client:
            with pytest.raises(TypeError, match="content"):
                await client.post(url, content={"a": 1})

    run(main())


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


# --- event hooks ---------------------------------------------------------------------------

def test_event_hooks_see_request_and_response(testserver):
    seen = []

    def log_request(request):
        seen.append(("request", request.method, str(request.url), request.headers.get("x-client")))
        request.headers["X-Signed"] = "sig-" + request.method  # what a hook changes is sent

    def log_response(response):
        seen.append(("response", response.status_code, response.request.method))

    with httpx.Client(headers={"X-Client": "c"}, event_hooks={"request": [log_request], "response": [log_response]}) as client:
        r = client.post(testserver.url + "/echo", json={"a": 1})
        echoed = r.json()
        assert echoed["headers"]["x-signed"] == "sig-POST"
        assert echoed["headers"]["x-client"] == "c" and echoed["body"] == '{"a":1}'
        assert r.request.headers["x-signed"] == "sig-POST"
        assert seen == [
            ("request", "POST", testserver.url + "/echo", "c"),
            ("response", 200, "POST"),
        ]
        # send() runs them too.
        seen.clear()
        client.send(client.build_request("GET", testserver.url + "/hello"))
        assert seen == [("request", "GET", testserver.url + "/hello", "c"), ("response", 200, "GET")]


def test_response_hook_raise_for_status_propagates(testserver):
    def raise_on_4xx_5xx(response):
        response.raise_for_status()

    with httpx.Client(event_hooks={"response": [raise_on_4xx_5xx]}) as client:
        assert client.get(testserver.url + "/hello").text == "Hello, world!"
        with pytest.raises(httpx.HTTPStatusError) as info:
            client.get(testserver.url + "/status/404")
        assert info.value.response.status_code == 404
        assert info.value.request.url == testserver.url + "/status/404"


def test_request_hook_exception_stops_the_request(testserver):
    class Refused(Exception):
        pass

    def refuse(request):
        raise Refused(request.url.path)

    before = testserver.stats()["requests"]
    with httpx.Client(event_hooks={"request": [refuse]}) as client:
        with pytest.raises(Refused, match="/hello"):
            client.get(testserver.url + "/hello")
    # Nothing was sent: the server saw only the two /stats requests.
    assert testserver.stats()["requests"] == before + 1


def test_event_hooks_property(testserver):
    calls = []
    client = httpx.Client()
    try:
        assert client.event_hooks == {"request": [], "response": []}
        client.event_hooks = {"request": [lambda request: calls.append("req")]}
        assert len(client.event_hooks["request"]) == 1 and client.event_hooks["response"] == []
        client.event_hooks["response"].append(lambda response: calls.append(response.status_code))
        client.get(testserver.url + "/status/201")
        assert calls == ["req", 201]
        client.event_hooks = {"request": [], "response": []}
        client.get(testserver.url + "/hello")
        assert calls == ["req", 201]
    finally:
        client.close()


def test_async_event_hooks_are_awaited(testserver):
    seen = []

    async def on_request(request):
        await asyncio.sleep(0)
        request.headers["X-Hooked"] = "yes"
        seen.append(("request", request.url.path))

    async def on_response(response):
        await asyncio.sleep(0)
        seen.append(("response", response.status_code))
        response.raise_for_status()

    async def main():
        async with httpx.AsyncClient(event_hooks={"request": [on_request], "response": [on_response]}) as client:
            r = await client.get(testserver.url + "/echo")
            assert r.json()["headers"]["x-hooked"] == "yes"
            with pytest.raises(httpx.HTTPStatusError):
                await client.get(testserver.url + "/status/500")
            rs = await asyncio.gather(*(client.post(testserver.url + "/echo", content=b"x") for _ in range(3)))
            assert all(r.json()["headers"]["x-hooked"] == "yes" for r in rs)

    run(main())
    assert seen[:4] == [("request", "/echo"), ("response", 200), ("request", "/status/500"), ("response", 500)]
    assert len(seen) == 10


# --- streaming ------------------------------------------------------------------------------

def test_stream_as_httpx_code_uses_it(testserver):
    with httpx.Client() as client:
        with client.stream("GET", testserver.url + "/stream/100000") as r:
            assert r.status_code == 200 and not r.is_stream_consumed and not r.is_closed
            with pytest.raises(httpx.ResponseNotRead):
                r.content
            chunks = list(r.iter_bytes(chunk_size=30000))
            assert [len(c) for c in chunks] == [30000, 30000, 30000, 10000]
            assert r.is_stream_consumed and r.is_closed
            with pytest.raises(httpx.StreamConsumed):
                list(r.iter_bytes())
        with client.stream("GET", testserver.url + "/events/3/10") as r:
            lines = [line for line in r.iter_lines() if line]
            assert [line.split()[:2] for line in lines] == [["data:", "0"], ["data:", "1"], ["data:", "2"]]
        with client.stream("POST", testserver.url + "/echo", json={"a": 1}) as r:
            assert r.read() == r.content and r.json()["body"] == '{"a":1}'
            assert "".join(r.iter_text(chunk_size=5)) == r.text
        response = client.send(client.build_request("GET", testserver.url + "/hello"), stream=True)
        assert response.read() == b"Hello, world!"
        response.close()
        with client.stream("GET", testserver.url + "/hello") as r:
            pass
        with pytest.raises(httpx.StreamClosed):
            r.read()
    with httpx.stream("GET", testserver.url + "/stream/1000") as r:
        assert len(b"".join(r.iter_raw())) == 1000


def test_async_stream_as_httpx_code_uses_it(testserver):
    async def main() -> None:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", testserver.url + "/stream/100000") as r:
                got = b"".join([chunk async for chunk in r.aiter_bytes()])
                assert len(got) == 100000 and got[:3] == b"abc"
            async with client.stream("GET", testserver.url + "/events/2/10") as r:
                assert [line async for line in r.aiter_lines() if line][1].startswith("data: 1 ")
            async with client.stream("GET", testserver.url + "/json") as r:
                await r.aread()
                assert r.json() == (await client.get(testserver.url + "/json")).json()
            async with client.stream("GET", testserver.url + "/hello") as r:
                assert "".join([t async for t in r.aiter_text()]) == "Hello, world!"
                with pytest.raises(httpx.StreamConsumed):
                    await r.aread()
            with pytest.raises(httpx.ReadTimeout):
                async with client.stream("GET", testserver.url + "/stall-body", timeout=httpx.Timeout(5.0, read=0.3)) as r:
                    async for _ in r.aiter_bytes():
                        pass

    run(main())


# --- MockTransport: no network ------------------------------------------------------------

# Nothing listens on port 1: a request that reached the network would fail to connect.
NOWHERE = "http://127.0.0.1:1"


def users_api(request):
    if request.url.path == "/users" and request.method == "GET":
        return httpx.Response(200, json=[{"id": 1}], headers={"X-Page": request.url.params.get("page", "1")})
    if request.url.path == "/users" and request.method == "POST":
        return httpx.Response(201, json={"id": 2, **json.loads(request.content)})
    if request.url.path == "/login":
        return httpx.Response(204, headers={"Set-Cookie": "sid=abc; Path=/"})
    if request.url.path == "/me":
        return httpx.Response(200, text=request.headers.get("cookie", ""))
    return httpx.Response(404, text="no route")


def test_mock_transport():
    transport = httpx.MockTransport(users_api)
    with httpx.Client(transport=transport, base_url=NOWHERE, headers={"Authorization": "Bearer t"}) as client:
        r = client.get("/users", params={"page": 2})
        assert r.status_code == 200 and r.json() == [{"id": 1}] and r.headers["x-page"] == "2"
        assert r.url == NOWHERE + "/users?page=2" and r.request.url == r.url
        assert r.request.headers["authorization"] == "Bearer t"
        r = client.post("/users", json={"name": "ann"})
        assert r.status_code == 201 and r.json() == {"id": 2, "name": "ann"}
        assert r.request.headers["content-type"] == "application/json"
        assert client.get("/nope").status_code == 404
        with pytest.raises(httpx.HTTPStatusError):
            client.get("/nope").raise_for_status()
        # Cookies a mocked response sets are kept and sent, as from a server.
        client.get("/login")
        assert client.cookies["sid"] == "abc"
        assert client.get("/me").text == "sid=abc"
        assert client.get("/me", cookies={"extra": "1"}).text in ("extra=1; sid=abc", "sid=abc; extra=1")


def test_mock_transport_handler_sees_the_request():
    received = []

    def handler(request):
        received.append(request)
        return httpx.Response(200, content=b"ok")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        r = client.put(NOWHERE + "/items/7", content=b"payload", headers={"X-Id": "7"})
    request = received[0]
    assert isinstance(request, httpx.Request) and r.request is request
    assert request.method == "PUT" and request.url == NOWHERE + "/items/7"
    assert request.headers["x-id"] == "7" and request.content == b"payload" and request.read() == b"payload"
    assert r.text == "ok"


def test_mock_transport_with_event_hooks_and_module_style_errors():
    def handler(request):
        if request.url.path == "/boom":
            raise httpx.ConnectError("mocked failure", request=request)
        return httpx.Response(500)

    seen = []
    with httpx.Client(
        transport=httpx.MockTransport(handler),
        event_hooks={"request": [lambda r: seen.append(r.url.path)], "response": [lambda r: r.raise_for_status()]},
    ) as client:
        with pytest.raises(httpx.HTTPStatusError) as info:
            client.get(NOWHERE + "/fails")
        assert info.value.response.status_code == 500
        with pytest.raises(httpx.ConnectError, match="mocked failure"):
            client.get(NOWHERE + "/boom")
    assert seen == ["/fails", "/boom"]


def test_mock_transport_async_handler_and_sync_handler():
    async def async_handler(request):
        await asyncio.sleep(0)
        return httpx.Response(200, json={"path": request.url.path})

    def sync_handler(request):
        return httpx.Response(200, json={"path": request.url.path, "sync": True})

    async def main():
        async with httpx.AsyncClient(transport=httpx.MockTransport(async_handler)) as client:
            rs = await asyncio.gather(*(client.get(f"{NOWHERE}/a/{i}") for i in range(5)))
            assert [r.json()["path"] for r in rs] == [f"/a/{i}" for i in range(5)]
            r = await client.post(NOWHERE + "/b", json={"x": 1})
            assert r.json() == {"path": "/b"} and r.request.content == b'{"x":1}'
        async with httpx.AsyncClient(transport=httpx.MockTransport(sync_handler)) as client:
            r = await client.get(NOWHERE + "/c")
            assert r.json() == {"path": "/c", "sync": True}

    run(main())


def test_async_mock_transport_with_hooks():
    seen = []

    async def on_request(request):
        seen.append(request.method)

    async def on_response(response):
        response.raise_for_status()

    async def main():
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(lambda request: httpx.Response(403)),
            event_hooks={"request": [on_request], "response": [on_response]},
        ) as client:
            with pytest.raises(httpx.HTTPStatusError) as info:
                await client.delete(NOWHERE + "/x")
            assert info.value.response.status_code == 403

    run(main())
    assert seen == ["DELETE"]


def test_custom_transports():
    class Recorder(httpx.BaseTransport):
        def __init__(self):
            self.paths = []
            self.closed = False

        def handle_request(self, request):
            self.paths.append(request.url.path)
            return httpx.Response(200, text=f"{request.method} {request.url.path}")

        def close(self):
            self.closed = True

    class AsyncRecorder(httpx.AsyncBaseTransport):
        def __init__(self):
            self.closed = False

        async def handle_async_request(self, request):
            return httpx.Response(202, text=request.url.path)

        async def aclose(self):
            self.closed = True

    transport = Recorder()
    with httpx.Client(transport=transport) as client:
        assert client.get(NOWHERE + "/one").text == "GET /one"
        assert client.post(NOWHERE + "/two").text == "POST /two"
    assert transport.paths == ["/one", "/two"] and transport.closed

    atransport = AsyncRecorder()

    async def main():
        async with httpx.AsyncClient(transport=atransport) as client:
            r = await client.get(NOWHERE + "/three")
            assert r.status_code == 202 and r.text == "/three"

    run(main())
    assert atransport.closed


def test_errors_carry_the_request(testserver):
    def handler(request):
        raise httpx.ReadTimeout("mocked timeout", request=request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(httpx.ReadTimeout) as info:
            client.get(NOWHERE + "/slow", headers={"X-Id": "1"})
    assert info.value.request.url == NOWHERE + "/slow" and info.value.request.headers["x-id"] == "1"

    def add_header(request):
        request.headers["X-Hooked"] = "1"

    with httpx.Client(event_hooks={"request": [add_header]}) as client:
        with pytest.raises(httpx.ConnectError) as info:
            client.get("http://127.0.0.1:1/refused")
    assert info.value.request.url == "http://127.0.0.1:1/refused"
    assert info.value.request.headers["x-hooked"] == "1"


def test_transport_error_without_request_gets_one():
    def handler(request):
        raise httpx.ConnectError("down")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(httpx.ConnectError) as info:
            client.get(NOWHERE + "/x")
    assert info.value.request.url == NOWHERE + "/x"


def test_sync_client_rejects_async_handler():
    async def handler(request):
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TypeError, match="async handler"):
            client.get(NOWHERE + "/")


# --- httpring's own: send_many, submit, checks httpx does not make, the reason phrase -------

def test_async_event_hooks_with_send_many(testserver):
    paths = []

    async def on_request(request):
        paths.append(request.url.path)

    async def main():
        async with httpx.AsyncClient(event_hooks={"request": [on_request], "response": [lambda r: r.raise_for_status()]}) as client:
            out = await client.send_many([testserver.url + "/hello", testserver.url + "/status/500"], return_exceptions=True)
            assert out[0].text == "Hello, world!"
            assert isinstance(out[1], httpx.HTTPStatusError) and out[1].response.status_code == 500
            with pytest.raises(httpx.HTTPStatusError):
                await client.send_many([testserver.url + "/status/500"])

    run(main())
    assert paths == ["/hello", "/status/500", "/status/500"]


def test_mock_transport_send_many_and_submit():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=request.url.path))
    with httpx.Client(transport=transport) as client:
        out = client.send_many([NOWHERE + "/a", ("POST", NOWHERE + "/b"), client.build_request("GET", NOWHERE + "/c")])
        assert [r.text for r in out] == ["/a", "/b", "/c"] and out[1].request.method == "POST"
        with pytest.raises(NotImplementedError, match="transport"):
            client.submit("GET", NOWHERE + "/d")

    async def main():
        async with httpx.AsyncClient(transport=transport) as client:
            out = await client.send_many([NOWHERE + "/e", NOWHERE + "/f"])
            assert [r.text for r in out] == ["/e", "/f"]

    run(main())


def test_transport_type_is_checked():
    class SyncOnly(httpx.BaseTransport):
        def handle_request(self, request):
            return httpx.Response(200)

    with pytest.raises(TypeError, match="handle_async_request"):
        httpx.AsyncClient(transport=SyncOnly())
    with pytest.raises(TypeError, match="handle_request"):
        httpx.Client(transport=object())
    client = httpx.Client(transport=SyncOnly())
    client.close()
    with pytest.raises(httpx.ClientClosed):
        client.get(NOWHERE + "/")


def test_event_hooks_with_send_many(testserver):
    urls = []
    statuses = []
    with httpx.Client(event_hooks={"request": [lambda r: urls.append(r.url.path)], "response": [lambda r: statuses.append(r.status_code)]}) as client:
        out = client.send_many([testserver.url + "/hello", testserver.url + "/status/404"])
    assert [r.status_code for r in out] == [200, 404]
    assert urls == ["/hello", "/status/404"] and sorted(statuses) == [200, 404]
    assert out[1].request.url == testserver.url + "/status/404"


def test_reason_phrase_is_the_servers_own():
    """reason_phrase (and extensions["reason_phrase"]) is what the server wrote in its status
    line when that is not the standard phrase, also an empty one; the standard one
    otherwise. Sync, async, streamed and send_many alike."""
    from servers import RawServer

    def line(status: bytes) -> bytes:
        return b"HTTP/1.1 " + status + b"\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"

    server = RawServer({"/fine": line(b"200 Everything Fine"), "/empty": line(b"200 "), "/std": line(b"404 Not Found"),
                        "/odd": line(b"299 Odd")})
    want = {"/fine": "Everything Fine", "/empty": "", "/std": "Not Found", "/odd": "Odd"}
    try:
        with httpx.Client() as client:
            for path, phrase in want.items():
                r = client.get(server.url + path)
                assert r.text == "ok" and r.reason_phrase == phrase, path
                assert r.extensions["reason_phrase"] == phrase.encode() and r.extensions["http_version"] == b"HTTP/1.1"
                with client.stream("GET", server.url + path) as s:
                    assert s.reason_phrase == phrase, path
            out = client.send_many([server.url + p for p in want])
            assert [r.reason_phrase for r in out] == list(want.values())
            assert "Everything Fine" in repr(out[0])

        async def main() -> None:
            async with httpx.AsyncClient() as client:
                got = await asyncio.gather(*(client.get(server.url + p) for p in want))
                assert [r.reason_phrase for r in got] == list(want.values())

        asyncio.run(main())
    finally:
        server.close()
    # Built by hand: the standard phrase.
    assert httpx.Response(200).reason_phrase == "OK" and httpx.Response(599).reason_phrase == ""


def test_status_codes_as_httpx(testserver):
    codes = httpx.codes
    # Members are ints with a phrase; lower-case aliases as requests and httpx have.
    assert codes.OK == 200 and codes.ok == 200 and codes.NOT_FOUND == codes.not_found == 404
    assert isinstance(codes.OK, int) and str(codes.OK) == "200" and codes(404) is codes.NOT_FOUND
    assert codes(429).phrase == "Too Many Requests" and codes.get_reason_phrase(418) == "I'm a teapot"
    assert codes.get_reason_phrase(599) == ""  # not in the table
    assert codes.is_informational(103) and codes.is_success(204) and codes.is_redirect(308)
    assert codes.is_client_error(404) and codes.is_server_error(503) and codes.is_error(451)
    assert not codes.is_error(399) and not codes.is_success(300)
    assert len(codes) == 62  # IANA's registered codes, httpx's names
    # The phrase a response reports comes from the same table.
    with httpx.Client() as c:
        r = c.get(testserver.url + "/status/418")
        assert r.status_code == codes.IM_A_TEAPOT and r.reason_phrase == "I'm a teapot"
        # hyper's server writes "<none>" for a code without a phrase: the server's own.
        assert c.get(testserver.url + "/status/299").reason_phrase == "<none>"


def test_client_params_base_url_and_trust_env_attributes(testserver):
    with httpx.Client(params={"a": "1"}, base_url=testserver.url, trust_env=False) as c:
        assert c.params == httpx.QueryParams({"a": "1"}) and c.trust_env is False
        assert c.get("/echo").json()["path"] == "/echo?a=1"
        # Reassigned, as in httpx: later requests (the cached plain GETs too) follow.
        c.params = [("b", "2"), ("b", "3")]
        assert c.params.get_list("b") == ["2", "3"]
        assert c.get("/echo").json()["path"] == "/echo?b=2&b=3"
        assert c.get("/echo", params={"c": "4"}).json()["path"] == "/echo?b=2&b=3&c=4"
        c.params = None
        assert c.get("/echo").json()["path"] == "/echo"
        c.base_url = testserver.url + "/redirect-to"
        assert c.get("?url=/hello", follow_redirects=True).text == "Hello, world!"
    with httpx.Client() as c:
        assert c.trust_env is True and len(c.params) == 0


def test_request_headers_lead_with_host_and_content_length(testserver):
    """As httpx's, a Request's headers start with Host and Content-Length (0 for a POST, PUT
    or PATCH without a body; Transfer-Encoding for a body of unknown length): what request
    signing in an auth flow and mock handlers read. On the wire each goes once, with the
    value the engine derives itself, unless changed."""
    req = httpx.Request("POST", "http://example.com:8080/x", content=b"abc")
    assert req.headers.multi_items()[:2] == [("host", "example.com:8080"), ("content-length", "3")]
    # Host as the engine sends it: the authority as written (httpx drops a default port).
    assert httpx.Request("GET", "https://u:p@h:443/").headers.multi_items() == [("host", "h:443")]
    assert httpx.Request("GET", "https://h/").headers["host"] == "h"
    assert httpx.Request("PUT", "http://h/", content=io.BytesIO(b"abcd")).headers["content-length"] == "4"
    assert httpx.Request("PUT", "http://h/").headers["content-length"] == "0"
    assert httpx.Request("POST", "http://h/", content=iter([b"a"])).headers["transfer-encoding"] == "chunked"
    assert httpx.Request("GET", "http://h/", headers={"Host": "other"}).headers.get_list("host") == ["other"]

    class Sign(httpx.Auth):
        def auth_flow(self, request):
            request.headers["X-Sig"] = request.headers["Host"] + "|" + request.headers.get("Content-Length", "-")
            yield request

    with httpx.Client(auth=Sign()) as c:
        r = c.post(testserver.url + "/echo", content=b"abc")
        sent = r.json()["headers"]  # a repeated header would show as "v1, v2"
        netloc = testserver.url.split("://", 1)[1]
        assert sent["x-sig"] == netloc + "|3"
        assert sent["host"] == netloc and sent["content-length"] == "3"
        # A changed one is what is sent.
        req = c.build_request("GET", testserver.url + "/echo")
        req.headers["Host"] = "renamed.test"
        assert c.send(req).json()["headers"]["host"] == "renamed.test"
        # Shown, then the body changed: the length sent is the new body's, not the one shown.
        req = c.build_request("POST", testserver.url + "/echo", content=b"abc")
        assert req.headers["content-length"] == "3"
        req.content = b"abcabc"
        r = c.send(req)
        assert r.json()["headers"]["content-length"] == "6" and r.json()["body"] == "abcabc"

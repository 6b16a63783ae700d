"""The blocking Client against both servers: methods, params, bodies, headers, statuses."""

from __future__ import annotations

import datetime
import threading

import pytest

import httpring

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def test_get_response_fields(client, server):
    r = client.get(server.hello())
    assert r.status_code == 200
    assert r.is_success and not r.is_error and not r.is_redirect
    assert r.http_version == "HTTP/1.1"
    assert r.url == server.hello()
    assert isinstance(r.elapsed, datetime.timedelta) and r.elapsed.total_seconds() > 0
    assert r.headers["content-type"].startswith("text/plain")
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.text == r.content.decode()
    assert r.reason_phrase == "OK"
    assert repr(r) == "<Response [200 OK]>"
    assert r.request.method == "GET" and r.request.url == server.hello()
    if not server.is_httpbin:
        assert r.content == b"Hello, world!"


@pytest.mark.parametrize("method", METHODS)
def test_every_method(client, server, method):
    r = client.request(method, server.echo(), content=b"payload" if method in ("POST", "PUT", "PATCH") else None)
    assert r.status_code == 200
    if server.is_httpbin and method == "OPTIONS":
        assert "OPTIONS" in r.headers["allow"]  # Flask answers OPTIONS itself
        return
    echo = server.parse_echo(r)
    assert echo["method"] == method
    if method in ("POST", "PUT", "PATCH"):
        assert echo["body"] == "payload"


@pytest.mark.parametrize("name", ["get", "post", "put", "patch", "delete", "options", "head"])
def test_method_helpers(client, server, name):
    r = getattr(client, name)(server.echo())
    assert r.status_code == 200
    if name == "head":
        assert r.content == b""
        assert r.request.method == "HEAD"
    elif name == "options" and server.is_httpbin:
        assert "OPTIONS" in r.headers["allow"]
    else:
        assert server.parse_echo(r)["method"] == name.upper()


def test_head_has_headers_but_no_body(client, server):
    r = client.head(server.bytes(100))
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == "100"


def test_params(client, server):
    r = client.get(server.echo(), params={"a": "1", "b": "x y", "multi": ["1", "2"], "flag": True})
    assert server.parse_echo(r)["path"].endswith("?a=1&b=x+y&multi=1&multi=2&flag=true")


def test_params_merge_with_url_query(client, server):
    r = client.get(server.echo("q=0"), params=[("a", "1")])
    assert server.parse_echo(r)["path"].endswith("?q=0&a=1")


def test_client_params(server):
    with httpring.Client(params={"key": "k"}) as c:
        r = c.get(server.echo(), params={"a": "b"})
        assert server.parse_echo(r)["path"].endswith("?key=k&a=b")
        # A request's param replaces the client's of the same name (httpx's merge), in place.
        r = c.get(server.echo(), params={"key": "mine", "page": "2"})
        assert server.parse_echo(r)["path"].endswith("?key=mine&page=2")


def test_fragment_is_not_sent(client, server):
    r = client.get(server.echo("x=1") + "#frag")
    assert server.parse_echo(r)["path"].endswith("?x=1")


def test_json_body(client, server):
    r = client.post(server.echo(), json={"name": "h\u00e9", "n": [1, 2]})
    echo = server.parse_echo(r)
    assert echo["headers"]["content-type"] == "application/json"
    assert httpring.Response(200, content=echo["body"]).json() == {"name": "h\u00e9", "n": [1, 2]}


def test_json_response(client, server):
    r = client.get(server.json())
    data = r.json()
    assert isinstance(data, dict)
    if not server.is_httpbin:
        assert data == {"ok": True, "n": 42}


def test_form_data(client, server):
    r = client.post(server.echo(), data={"a": "1", "b": "x y"})
    echo = server.parse_echo(r)
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"
    if server.is_httpbin:
        assert echo["form"] == {"a": "1", "b": "x y"}
    else:
        assert echo["body"] == "a=1&b=x+y"


@pytest.mark.parametrize("content", [b"raw bytes", "text \u00e9", bytearray(b"ba"), [b"chunk1", b"chunk2"]])
def test_content(client, server, content):
    r = client.put(server.echo(), content=content)
    expected = {bytes: "raw bytes", str: "text \u00e9", bytearray: "ba", list: "chunk1chunk2"}[type(content)]
    assert server.parse_echo(r)["body"] == expected


def test_content_type_can_be_overridden(client, server):
    r = client.post(server.echo(), json=[1], headers={"Content-Type": "application/vnd.x+json"})
    assert server.parse_echo(r)["headers"]["content-type"] == "application/vnd.x+json"


def test_request_headers(client, server):
    r = client.get(server.echo(), headers={"X-One": "1", "x-two": "two words"})
    headers = server.parse_echo(r)["headers"]
    assert headers["x-one"] == "1"
    assert headers["x-two"] == "two words"
    assert headers["user-agent"].startswith("httpring/")


def test_repeated_request_header(client, testserver):
    r = client.get(testserver.url + "/echo", headers=[("X-Rep", "a"), ("X-Rep", "b")])
    assert r.json()["headers"]["x-rep"] == "a, b"


def test_client_default_headers(server):
    with httpring.Client(headers={"X-Default": "d", "User-Agent": "agent/1"}) as c:
        r = c.get(server.echo(), headers={"X-Own": "o"})
        h = server.parse_echo(r)["headers"]
        assert h["x-default"] == "d" and h["x-own"] == "o" and h["user-agent"] == "agent/1"
        # A request's own header of the same name wins.
        r = c.get(server.echo(), headers={"X-Default": "mine"})
        assert server.parse_echo(r)["headers"]["x-default"] == "mine"
        assert c.headers["x-default"] == "d"
        # Mutable, as in httpx (see test_client_headers.py).
        c.headers["x-new"] = "1"
        assert server.parse_echo(c.get(server.echo()))["headers"]["x-new"] == "1"


def test_response_multi_headers(client, server):
    r = client.get(server.multi_headers())
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert r.headers["Set-Cookie"] == "a=1, b=2"
    assert r.headers["X-CUSTOM"] == "Yes"
    assert "x-custom" in r.headers and "nope" not in r.headers
    assert ("set-cookie", "a=1") in r.headers.multi_items()
    assert r.headers.get("missing", "dflt") == "dflt"


def test_base_url(server):
    with httpring.Client(base_url=server.url + "/") as c:
        r = c.get("/status/201")
        assert r.status_code == 201
        assert r.url == server.url + "/status/201"
        # Absolute URLs are left alone.
        assert c.get(server.status(202)).status_code == 202


@pytest.mark.parametrize("code", [201, 204, 404, 418, 500, 503])
def test_status_codes(client, server, code):
    r = client.get(server.status(code))
    assert r.status_code == code
    assert r.is_success == (200 <= code < 300)
    assert r.is_client_error == (400 <= code < 500)
    assert r.is_server_error == (500 <= code < 600)


def test_raise_for_status(client, server):
    ok = client.get(server.status(200))
    assert ok.raise_for_status() is ok
    r = client.get(server.status(404))
    with pytest.raises(httpring.HTTPStatusError) as info:
        r.raise_for_status()
    assert info.value.response is r
    assert info.value.request.url == server.status(404)
    # The server's own phrase (werkzeug's is "NOT FOUND"), as httpx reports it.
    assert r.reason_phrase.lower() == "not found"
    assert f"Client error '404 {r.reason_phrase}'" in str(info.value)
    with pytest.raises(httpring.HTTPStatusError, match="Server error '500"):
        client.get(server.status(500)).raise_for_status()


def test_large_body(client, server):
    n = 2_000_000 if not server.is_httpbin else 100_000
    r = client.get(server.bytes(n))
    assert len(r.content) == n


def test_send_built_request(client, server):
    req = client.build_request("POST", server.echo(), params={"p": "1"}, json={"k": "v"})
    assert req.method == "POST" and req.url.query == b"p=1"
    assert req.headers["content-type"] == "application/json"
    r = client.send(req)
    echo = server.parse_echo(r)
    assert echo["method"] == "POST" and echo["path"].endswith("?p=1")


def test_send_many(client, server):
    requests = [server.status(200 + i) for i in range(5)] + [
        ("POST", server.echo()),
        client.build_request("PUT", server.echo(), content=b"x"),
    ]
    responses = client.send_many(requests)
    assert [r.status_code for r in responses[:5]] == [200, 201, 202, 203, 204]
    assert server.parse_echo(responses[5])["method"] == "POST"
    assert server.parse_echo(responses[6])["body"] == "x"


def test_send_many_errors(client, testserver):
    bad = "http://127.0.0.1:1/"
    with pytest.raises(httpring.ConnectError):
        client.send_many([testserver.url + "/hello", bad])
    results = client.send_many([testserver.url + "/hello", bad, "nope://x"], return_exceptions=True)
    assert results[0].status_code == 200
    assert isinstance(results[1], httpring.ConnectError)
    assert isinstance(results[2], httpring.UnsupportedProtocol)


def test_send_many_from_threads(testserver):
    """Batches on several threads share one completion queue; each gets its own."""
    errors = []
    with httpring.Client() as c:

        def work(t: int) -> None:
            try:
                for _ in range(5):
                    urls = [f"{testserver.url}/echo?t={t}&i={i}" for i in range(20)]
                    out = c.send_many(urls)
                    assert [r.json()["path"] for r in out] == [u[len(testserver.url):] for u in urls]
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors


def test_requests_from_threads(testserver):
    errors = []
    with httpring.Client() as c:

        def work() -> None:
            try:
                for _ in range(50):
                    assert c.get(testserver.url + "/hello").content == b"Hello, world!"
            except BaseException as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert c.live_handles() == 0
    assert not errors


def test_keep_alive_reuses_connections(testserver):
    before = testserver.stats()["connections"]
    with httpring.Client() as c:
        for _ in range(20):
            c.get(testserver.url + "/hello")
    assert testserver.stats()["connections"] - before <= 2  # ours, and stats()'s own


def test_no_keep_alive_with_zero_idle(testserver):
    before = testserver.stats()["connections"]
    with httpring.Client(limits=httpring.Limits(max_idle_per_host=0)) as c:
        for _ in range(5):
            c.get(testserver.url + "/hello")
    assert testserver.stats()["connections"] - before >= 5


def test_module_level_helpers(testserver):
    assert httpring.get(testserver.url + "/hello").text == "Hello, world!"
    assert httpring.post(testserver.url + "/echo", json={"a": 1}).json()["body"] == '{"a":1}'


def test_non_ascii_url_is_percent_encoded(client, testserver):
    r = client.get(testserver.url + "/echo?q=caf\u00e9")
    assert r.json()["path"] == "/echo?q=caf%C3%A9"

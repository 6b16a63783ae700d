"""``Response.next_request``, as in httpx: a redirect that was not followed says which
request comes next, and ``client.send(response.next_request)`` takes the hop. The rules are
the engine's (method, body, credentials across origins). Against the project's test server
(``/redirect-to?url=U&status=S``, ``/echo``) and a second one: another port, another origin."""

from __future__ import annotations

import pytest

import httpring

import conftest


@pytest.fixture(scope="module")
def other():
    server = conftest.TestServer()
    yield server
    server.stop()


def to(base, target, status=302):
    """A URL of ``base`` that redirects to ``target`` with ``status``."""
    return f"{base}/redirect-to?url={target}&status={status}"


def got(response):
    return response.json()


def test_none_unless_a_redirect_that_was_not_followed(testserver):
    base = testserver.url
    with httpring.Client() as c:
        assert c.get(base + "/hello").next_request is None
        r = c.get(base + "/redirect/1", follow_redirects=True)
        assert r.status_code == 200 and r.next_request is None
        assert c.submit("GET", base + "/redirect/1").response().next_request is None
        r = c.get(base + "/redirect/1")
        assert r.status_code == 302 and r.next_request is not None
        r.next_request = None  # assignable, as in httpx
        assert r.next_request is None

        # The engine does not send a body given as an iterator twice: the 307 is the
        # answer even when following, and says nothing of a next request.
        def body():
            yield b"once"

        r = c.post(to(base, "/echo", 307), content=body(), follow_redirects=True)
        assert r.status_code == 307 and r.next_request is None
    assert httpring.Response(302, headers={"Location": "/x"}).next_request is None
    with httpring.Client(follow_redirects=True) as c:
        r = c.get(base + "/redirect/1", follow_redirects=False)
        assert r.next_request.url == base + "/redirect/0"


def test_following_by_hand(testserver):
    base = testserver.url
    with httpring.Client() as c:
        r = c.get(base + "/redirect/3")
        hops = []
        while r.next_request is not None:
            hops.append(str(r.next_request.url))
            r = c.send(r.next_request)
        assert hops == [base + "/redirect/2", base + "/redirect/1", base + "/redirect/0"]
        assert r.status_code == 200 and r.text == "redirected"


@pytest.mark.parametrize(
    "method,status,then",
    [
        ("POST", 301, "GET"), ("POST", 302, "GET"), ("POST", 303, "GET"), ("PUT", 303, "GET"),
        ("POST", 307, "POST"), ("PUT", 308, "PUT"), ("PUT", 302, "PUT"), ("HEAD", 303, "HEAD"),
    ],
)
def test_method_and_body(testserver, method, status, then):
    with httpring.Client() as c:
        content = None if method == "HEAD" else b"body"
        r = c.request(
            method, to(testserver.url, "/echo", status), content=content,
            headers={"Content-Type": "text/plain", "X-Keep": "1"},
        )
        assert r.status_code == status
        nr = r.next_request
        assert nr.method == then and nr.url == testserver.url + "/echo"
        assert nr.headers["x-keep"] == "1"
        if then == "HEAD":
            assert c.send(nr).status_code == 200
            return
        kept = then == method
        assert nr.content == (b"body" if kept else b"")
        assert ("content-type" in nr.headers) == kept
        echo = got(c.send(nr))
        assert echo["method"] == then and echo["headers"]["x-keep"] == "1"
        assert echo["body"] == ("body" if kept else "")
        assert ("content-type" in echo["headers"]) == kept


def test_url_joined_and_fragment_kept(testserver):
    base = testserver.url
    with httpring.Client() as c:
        r = c.get(to(base, "echo?q=1"))  # relative to /redirect-to
        assert r.next_request.url == base + "/echo?q=1"
        r = c.send(c.build_request("GET", to(base, "/echo") + "#part"))
        assert r.next_request.url == base + "/echo#part"
        assert got(c.send(r.next_request))["path"] == "/echo"


def test_streamed_body_cannot_be_sent_again(testserver):
    def body():
        yield b"chunk"

    with httpring.Client() as c:
        r = c.post(to(testserver.url, "/echo", 307), content=body())
        nr = r.next_request
        assert nr.method == "POST"
        with pytest.raises(httpring.StreamConsumed):
            c.send(nr)
        # A 303 drops the body: nothing to send again.
        r = c.post(to(testserver.url, "/echo", 303), content=body())
        assert got(c.send(r.next_request))["method"] == "GET"


CLIENTS = [
    pytest.param({"headers": {"Authorization": "Bearer secret"}}, id="default-header"),
    pytest.param({"auth": ("u", "p")}, id="auth"),
    pytest.param({"headers": {"Proxy-Authorization": "Basic eDp5"}}, id="proxy-header"),
]


@pytest.mark.parametrize("options", CLIENTS)
def test_client_credentials_not_sent_to_another_origin(testserver, other, options):
    # The engine adds the client's default headers and auth to every request: a next
    # request to another origin must be sent without them.
    with httpring.Client(**options) as c:
        name = "proxy-authorization" if "Proxy-Authorization" in options.get("headers", {}) else "authorization"
        assert name in got(c.get(testserver.url + "/echo"))["headers"]
        r = c.get(to(testserver.url, other.url + "/echo"), headers={"X-Own": "1"})
        nr = r.next_request
        assert nr.url == other.url + "/echo" and name not in nr.headers
        echoed = got(c.send(nr))["headers"]
        assert name not in echoed and echoed["x-own"] == "1"
        # A Request built by hand (the client's defaults are not in its headers).
        r = c.send(httpring.Request("GET", to(testserver.url, other.url + "/echo")))
        assert name not in got(c.send(r.next_request))["headers"]
        # Hops on from there do not get them back, even home again (as the engine does).
        r = c.get(to(testserver.url, to(other.url, testserver.url + "/echo")))
        r = c.send(r.next_request)
        assert name not in got(c.send(r.next_request))["headers"]
        # The same origin keeps them.
        r = c.get(to(testserver.url, "/echo"))
        assert name in got(c.send(r.next_request))["headers"]


def test_request_credentials_not_sent_to_another_origin(testserver, other):
    with httpring.Client(headers={"Cookie": "client=1"}, cookies={"any": "a"}) as c:
        r = c.get(
            to(testserver.url, other.url + "/echo"),
            headers={"Authorization": "Bearer own", "Host": f"127.0.0.1:{testserver.port}"},
        )
        nr = r.next_request
        assert not {"authorization", "cookie"} & set(nr.headers)
        # The caller's Host goes along to the same host name on another port (curl's rule,
        # and the engine's when it follows).
        assert nr.headers["host"] == f"127.0.0.1:{testserver.port}"
        echoed = got(c.send(nr))["headers"]
        assert "authorization" not in echoed and "cookie" not in echoed
        assert echoed["host"] == f"127.0.0.1:{testserver.port}"
        # Without one of the caller's, the new URL's.
        nr = c.get(to(testserver.url, other.url + "/echo")).next_request
        assert nr.headers["host"] == f"127.0.0.1:{other.port}"
        assert got(c.send(nr))["headers"]["host"] == f"127.0.0.1:{other.port}"
        # To another host name, the caller's Host stays behind.
        nr = c.get(
            to(testserver.url, f"http://localhost:{other.port}/echo"), headers={"Host": "internal.test"}
        ).next_request
        assert nr.headers["host"] == f"localhost:{other.port}"
        r = c.get(to(testserver.url, "/echo"), headers={"Authorization": "Bearer own"})
        echoed = got(c.send(r.next_request))["headers"]
        assert echoed["authorization"] == "Bearer own" and echoed["cookie"] == "client=1; any=a"


def test_removed_default_header_stays_removed(testserver):
    with httpring.Client(headers={"X-Fixed": "f", "X-Other": "o"}) as c:
        del c.headers["X-Fixed"]
        r = c.get(to(testserver.url, "/echo"))
        c.headers["X-Fixed"] = "f"  # back for later requests; this one was sent without it
        echoed = got(c.send(r.next_request))["headers"]
        assert "x-fixed" not in echoed and echoed["x-other"] == "o"


@pytest.mark.anyio
@pytest.mark.parametrize("options", CLIENTS[:2])
async def test_async(testserver, other, options):
    async with httpring.AsyncClient(**options) as c:
        r = await c.post(to(testserver.url, other.url + "/echo", 307), content=b"x")
        assert r.next_request.method == "POST"
        away = got(await c.send(r.next_request))
        rs = await c.send_many([to(testserver.url, "/echo"), to(testserver.url, other.url + "/echo")])
        near, far = [got(await c.send(r.next_request)) for r in rs]
        async with c.stream("GET", to(testserver.url, other.url + "/echo")) as r:
            streamed = got(await c.send(r.next_request))
        r = await c.get(to(testserver.url, "/echo"), follow_redirects=True)
        assert r.status_code == 200 and r.next_request is None
    assert away["method"] == "POST" and away["body"] == "x"
    assert "authorization" not in away["headers"]
    assert "authorization" in near["headers"]
    assert "authorization" not in far["headers"] and "authorization" not in streamed["headers"]


def test_transport_and_hooks():
    def handler(request):
        if request.url.path == "/start":
            return httpring.Response(302, headers={"Location": "next#own"})
        return httpring.Response(200, text=request.headers.get("authorization", "none"))

    seen = []
    with httpring.Client(
        transport=httpring.MockTransport(handler),
        headers={"Authorization": "Bearer t"},
        event_hooks={"request": [seen.append]},
    ) as c:
        r = c.get("http://a.test/start")
        assert r.next_request.url == "http://a.test/next#own"
        assert c.send(r.next_request).text == "Bearer t"
        # Followed around the transport, as httpx follows them: each hop through the hooks.
        r = c.get("http://a.test/start", follow_redirects=True)
        assert r.status_code == 200 and r.text == "Bearer t" and r.next_request is None
        assert [h.status_code for h in r.history] == [302]
        assert r.history[0].next_request is None
    assert [str(x.url) for x in seen] == [
        "http://a.test/start", "http://a.test/next#own", "http://a.test/start", "http://a.test/next#own",
    ]

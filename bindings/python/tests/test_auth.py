"""auth=: Basic and Digest credentials, applied by the engine (the binding only says which
they are), per client and per request, against pytest-httpbin and the project's test
server."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest

import httpring

SRC = os.path.join(os.path.dirname(__file__), "..", "src", "httpring")


@pytest.fixture
def base(httpbin):
    return httpbin.url.rstrip("/")


BASIC = "/basic-auth/user/passwd"


def test_basic_per_client(base):
    with httpring.Client(auth=("user", "passwd")) as c:
        r = c.get(base + BASIC)
        assert r.status_code == 200 and r.json() == {"authenticated": True, "user": "user"}
        assert c.get(base + "/basic-auth/user/other").status_code == 401
    with httpring.Client(auth=httpring.BasicAuth("user", "passwd")) as c:
        assert c.get(base + BASIC).status_code == 200


def test_basic_per_request(client, base):
    assert client.get(base + BASIC).status_code == 401
    assert client.get(base + BASIC, auth=("user", "passwd")).status_code == 200
    assert client.get(base + BASIC, auth=httpring.BasicAuth(b"user", b"passwd")).status_code == 200
    assert client.get(base + BASIC, auth=("user", "wrong")).status_code == 401
    r = client.post(base + "/anything", json={"a": 1}, auth=("u", "p"))
    assert r.json()["json"] == {"a": 1}
    assert r.json()["headers"]["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()


def test_request_auth_over_client_auth(base):
    with httpring.Client(auth=("user", "wrong")) as c:
        assert c.get(base + BASIC).status_code == 401
        assert c.get(base + BASIC, auth=("user", "passwd")).status_code == 200
        # The client's own credentials given again: the fast path, same result.
        assert c.get(base + BASIC, auth=("user", "wrong")).status_code == 401
        req = c.build_request("GET", base + BASIC)
        assert c.send(req, auth=("user", "passwd")).status_code == 200
        out = c.send_many([base + BASIC] * 3, auth=httpring.BasicAuth("user", "passwd"))
        assert [r.status_code for r in out] == [200, 200, 200]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_httpbin(client, base, algorithm):
    url = base + f"/digest-auth/auth/user/passwd/{algorithm}"
    assert client.get(url).status_code == 401
    r = client.get(url, auth=httpring.DigestAuth("user", "passwd"))
    assert r.status_code == 200 and r.json() == {"authenticated": True, "user": "user"}
    assert client.get(url, auth=httpring.DigestAuth("user", "nope")).status_code == 401
    with httpring.Client(auth=httpring.DigestAuth("user", "passwd")) as c:
        assert c.get(url).status_code == 200
        assert c.send_many([url, url])[1].status_code == 200


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_testserver(testserver, algorithm):
    url = testserver.url + f"/digest-auth/auth/alice/s3cret/{algorithm}"
    with httpring.Client(auth=httpring.DigestAuth("alice", "s3cret")) as c:
        assert c.get(url).status_code == 200
        assert c.get(url, auth=httpring.DigestAuth("alice", "bad")).status_code == 401


def test_async_basic_and_digest(base):
    digest = base + "/digest-auth/auth/user/passwd/SHA-256"

    async def main():
        async with httpring.AsyncClient() as c:
            assert (await c.get(base + BASIC)).status_code == 401
            assert (await c.get(base + BASIC, auth=("user", "passwd"))).status_code == 200
            assert (await c.get(digest, auth=httpring.DigestAuth("user", "passwd"))).status_code == 200
            rs = await asyncio.gather(
                *(c.get(base + BASIC, auth=("user", "passwd")) for _ in range(4)), c.get(base + "/get")
            )
            assert [r.status_code for r in rs] == [200] * 5
            out = await c.send_many([digest, digest], auth=httpring.DigestAuth("user", "passwd"))
            assert [r.status_code for r in out] == [200, 200]
        async with httpring.AsyncClient(auth=httpring.DigestAuth("user", "passwd")) as c:
            assert (await c.get(digest)).status_code == 200
        async with httpring.AsyncClient(auth=("user", "passwd")) as c:
            assert (await c.get(base + BASIC)).status_code == 200

    asyncio.run(main())


@pytest.mark.parametrize("flow", [False, True])
@pytest.mark.parametrize("per_request", [False, True])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_auth_not_sent_across_origins(testserver, per_request, asynchronous, flow):
    # 127.0.0.1:P and localhost:P are two origins: the credentials stay with the first.
    # A custom flow's Authorization header is the request's own: the engine drops it too.
    port = testserver.port
    start = testserver.url + "/redirect-to"  # its query is not percent-decoded
    other = f"http://localhost:{port}/echo"
    given = ("user", "passwd")
    if flow:
        value = "Basic " + base64.b64encode(b"user:passwd").decode()
        given = lambda r: (r.headers.__setitem__("Authorization", value), r)[1]  # noqa: E731
    client_auth = None if per_request else given
    request_auth = given if per_request else httpring.USE_CLIENT_DEFAULT
    opts = dict(auth=client_auth, follow_redirects=True, resolve={"localhost": "127.0.0.1"})

    async def via_async():
        async with httpring.AsyncClient(**opts) as c:
            same = await c.get(start + "?url=/echo", auth=request_auth)
            return same, await c.get(start + "?url=" + other, auth=request_auth)

    if asynchronous:
        same, cross = asyncio.run(via_async())
    else:
        with httpring.Client(**opts) as c:
            same = c.get(start + "?url=/echo", auth=request_auth)
            cross = c.get(start + "?url=" + other, auth=request_auth)
    expected = "Basic " + base64.b64encode(b"user:passwd").decode()
    assert same.history and same.json()["headers"]["authorization"] == expected
    assert cross.url == other and str(cross.history[0].url).startswith(testserver.url)
    assert "authorization" not in cross.json()["headers"]


def test_auth_none_per_request(base):
    with httpring.Client() as c:
        assert c.get(base + BASIC, auth=None).status_code == 401
    with httpring.Client(auth=("user", "passwd")) as c:
        # The engine leaves the client's credentials out of this one request (as httpx).
        assert c.get(base + BASIC, auth=None).status_code == 401
        assert c.get(base + BASIC).status_code == 200
        assert c.get(base + BASIC, auth=("user", "passwd")).status_code == 200


def test_bad_auth_values(client, base):
    with pytest.raises(ValueError, match="may not contain ':'"):
        httpring.Client(auth=("a:b", "c"))
    with pytest.raises(ValueError, match="may not contain ':'"):
        client.get(base + "/get", auth=("a:b", "c"))
    with pytest.raises(ValueError, match="NUL"):
        httpring.BasicAuth("a\0b", "c")
    with pytest.raises(TypeError, match="function of the request"):
        client.get(base + "/get", auth=42)
    with pytest.raises(TypeError):
        httpring.Client(auth="user:pass")
    with pytest.raises(TypeError):
        httpring.Auth("a", "b")


def test_auth_objects():
    a = httpring.BasicAuth("user", "secret")
    assert "secret" not in repr(a) and "user" in repr(a)
    assert a == httpring.BasicAuth(b"user", b"secret") != httpring.DigestAuth("user", "secret")
    assert len({a, httpring.BasicAuth("user", "secret")}) == 1
    assert isinstance(httpring.DigestAuth("u", "p"), httpring.Auth)


def test_binding_builds_no_credentials():
    # The engine encodes Basic and answers Digest: the binding never does.
    for name in os.listdir(SRC):
        if name.endswith(".py"):
            with open(os.path.join(SRC, name)) as f:
                text = f.read()
            assert "import base64" not in text and "import hashlib" not in text, name


# --- custom auth flows (httpx.Auth.auth_flow, a function as auth=): run by the client ---


def bearer(token):
    def add(request):
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    return add


class Challenge(httpring.Auth):
    """Sends the request bare; answers a 401 by sending it again with Basic credentials
    (built here: a caller's flow, not the binding)."""

    def __init__(self, user, password):
        self.value = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.seen = []

    def auth_flow(self, request):
        response = yield request
        self.seen.append(response.status_code)
        if response.status_code == 401:
            request.headers["Authorization"] = self.value
            response = yield request
            self.seen.append(response.status_code)


def test_function_auth_per_request_and_per_client(base):
    with httpring.Client() as c:
        r = c.get(base + "/headers", auth=bearer("t1"))
        assert r.json()["headers"]["Authorization"] == "Bearer t1"
        assert r.request.headers["Authorization"] == "Bearer t1"
        # The client's own requests stay untouched.
        assert "Authorization" not in c.get(base + "/headers").json()["headers"]
        r = c.send(c.build_request("GET", base + "/headers"), auth=httpring.FunctionAuth(bearer("t2")))
        assert r.json()["headers"]["Authorization"] == "Bearer t2"
    with httpring.Client(auth=bearer("t3")) as c:
        assert isinstance(c.auth, httpring.FunctionAuth)
        for r in (c.get(base + "/headers"), c.post(base + "/anything", json={"a": 1})):
            assert r.json()["headers"]["Authorization"] == "Bearer t3"
        with c.stream("GET", base + "/headers") as r:
            r.read()
            assert r.json()["headers"]["Authorization"] == "Bearer t3"
        out = c.send_many([base + "/headers", ("GET", base + "/headers")])
        assert [o.json()["headers"]["Authorization"] for o in out] == ["Bearer t3"] * 2
        # auth=None leaves the flow out; Basic credentials replace it (the engine's).
        assert "Authorization" not in c.get(base + "/headers", auth=None).json()["headers"]
        assert c.get(base + BASIC, auth=("user", "passwd")).status_code == 200


def test_auth_flow_answers_a_challenge(base):
    flow = Challenge("user", "passwd")
    calls = []
    with httpring.Client(auth=flow, event_hooks={"request": [lambda r: calls.append(r.headers.get("Authorization"))]}) as c:
        r = c.get(base + BASIC)
        assert r.status_code == 200 and r.json() == {"authenticated": True, "user": "user"}
        assert flow.seen == [401, 200]
        # The first try is the response's history, as in httpx; each try ran the hooks.
        assert [h.status_code for h in r.history] == [401]
        assert calls == [None, flow.value]
        assert r.request.headers["Authorization"] == flow.value
    # Wrong credentials: the flow ends with the second 401.
    with httpring.Client() as c:
        r = c.get(base + BASIC, auth=Challenge("user", "nope"))
        assert r.status_code == 401 and len(r.history) == 1


def test_auth_flow_reads_bodies_it_asks_for(base):
    class NeedsBody(httpring.Auth):
        requires_request_body = True
        requires_response_body = True

        def __init__(self):
            self.bodies = []

        def auth_flow(self, request):
            self.bodies.append(request.content)
            response = yield request
            self.bodies.append(response.json()["data"])

    a = NeedsBody()
    with httpring.Client() as c:
        with c.stream("POST", base + "/anything", content=iter([b"ab", b"cd"]), auth=a) as r:
            assert r.status_code == 200
    assert a.bodies == [b"abcd", "abcd"]


def test_auth_flow_against_client_credentials_and_reassignment(base):
    with httpring.Client(auth=("user", "passwd")) as c:
        # A flow given per request replaces the client's credentials, as in httpx.
        r = c.get(base + "/headers", auth=lambda req: req)
        assert "Authorization" not in r.json()["headers"]
        assert c.get(base + BASIC).status_code == 200
        # client.auth may be reassigned: to a flow, to None, to other credentials, back.
        c.auth = bearer("x")
        assert c.get(base + "/headers").json()["headers"]["Authorization"] == "Bearer x"
        c.auth = None
        assert c.auth is None and c.get(base + BASIC).status_code == 401
        c.auth = ("user", "other")
        assert c.get(base + "/basic-auth/user/other").status_code == 200
        c.auth = httpring.BasicAuth("user", "passwd")
        assert c.get(base + BASIC).status_code == 200


def test_auth_flow_errors(base):
    class Broken(httpring.Auth):
        def auth_flow(self, request):
            raise RuntimeError("no token")
            yield request  # noqa: unreachable: a generator

    with httpring.Client() as c:
        with pytest.raises(TypeError, match="auth flow must yield"):
            c.get(base + "/get", auth=lambda r: "x")
        with pytest.raises(RuntimeError, match="no token"):
            c.get(base + "/get", auth=Broken())
        out = c.send_many([base + "/get"], auth=Broken(), return_exceptions=True)
        assert isinstance(out[0], RuntimeError)
        assert c.get(base + "/get").status_code == 200  # the client goes on


def test_async_auth_flows(base):
    class AsyncRefresh(httpring.Auth):
        """A flow that awaits (async_auth_flow), as an async token refresh would."""

        def __init__(self):
            self.refreshed = 0

        async def async_auth_flow(self, request):
            response = yield request
            if response.status_code == 401:
                await asyncio.sleep(0)
                self.refreshed += 1
                request.headers["Authorization"] = Challenge("user", "passwd").value
                yield request

    async def main():
        async with httpring.AsyncClient(auth=bearer("a1")) as c:
            r = await c.get(base + "/headers")
            assert r.json()["headers"]["Authorization"] == "Bearer a1"
            r = await c.request("GET", base + "/headers", auth=bearer("a2"))
            assert r.json()["headers"]["Authorization"] == "Bearer a2"
            out = await c.send_many([base + "/headers"] * 3)
            assert [o.json()["headers"]["Authorization"] for o in out] == ["Bearer a1"] * 3
            async with c.stream("GET", base + "/headers") as r:
                await r.aread()
                assert r.json()["headers"]["Authorization"] == "Bearer a1"
        flow = AsyncRefresh()
        async with httpring.AsyncClient() as c:
            r = await c.get(base + BASIC, auth=flow)
            assert r.status_code == 200 and flow.refreshed == 1
            assert [h.status_code for h in r.history] == [401]
            r = await c.send(c.build_request("GET", base + BASIC), auth=Challenge("user", "passwd"))
            assert r.status_code == 200

    asyncio.run(main())


def test_auth_flow_with_a_mock_transport():
    # A flow runs with a transport too (nothing goes to the network).
    seen = []

    def handler(request):
        seen.append(request.headers.get("Authorization"))
        return httpring.Response(401 if len(seen) == 1 else 200)

    flow = Challenge("u", "p")
    with httpring.Client(transport=httpring.MockTransport(handler), auth=flow) as c:
        r = c.get("http://127.0.0.1:9/")
        assert r.status_code == 200 and seen == [None, flow.value] and flow.seen == [401, 200]
        assert [h.status_code for h in r.history] == [401]


def test_netrc_auth_as_httpx(testserver, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password a1\ndefault login anon password x\n")
    url = testserver.url + "/basic-auth/alice/a1"
    with httpring.Client(auth=httpring.NetRCAuth(netrc)) as c:
        assert c.get(url).status_code == 200
        # A request's own credentials win.
        assert c.get(testserver.url + "/basic-auth/u/p", auth=("u", "p")).status_code == 200
        assert c.get(url, auth=None).status_code == 401  # auth=None: none at all
        assert c.get(url, auth=httpring.NetRCAuth(netrc)).status_code == 200  # the client's own
        with pytest.raises(NotImplementedError, match="client"):
            c.get(url, auth=httpring.NetRCAuth(tmp_path / "other"))

    async def main() -> None:
        async with httpring.AsyncClient(auth=httpring.NetRCAuth(str(netrc))) as c:
            assert (await c.get(url)).status_code == 200

    asyncio.run(main())
    # No file given: NETRC names it (else ~/.netrc).
    monkeypatch.setenv("NETRC", str(netrc))
    with httpring.Client(auth=httpring.NetRCAuth()) as c:
        assert c.get(url).status_code == 200
    with pytest.raises(ValueError, match="netrc file .*missing"):
        httpring.Client(auth=httpring.NetRCAuth(tmp_path / "missing"))
    assert repr(httpring.NetRCAuth()) == "NetRCAuth(file=None)"

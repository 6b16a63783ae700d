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


@pytest.mark.parametrize("per_request", [False, True])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_auth_not_sent_across_origins(testserver, per_request, asynchronous):
    # 127.0.0.1:P and localhost:P are two origins: the credentials stay with the first.
    port = testserver.port
    start = testserver.url + "/redirect-to"  # its query is not percent-decoded
    other = f"http://localhost:{port}/echo"
    client_auth = None if per_request else ("user", "passwd")
    request_auth = ("user", "passwd") if per_request else httpring.USE_CLIENT_DEFAULT
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
    with pytest.raises(TypeError, match="custom auth flows"):
        client.get(base + "/get", auth=lambda request: request)
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

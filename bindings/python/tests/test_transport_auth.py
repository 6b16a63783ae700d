"""``auth=`` around a transport (a MockTransport, a mounted one), as httpx applies it around
any transport: Basic credentials are on the request the transport gets, a Digest challenge
is answered (by the engine's Digest code, as it answers its own), by the engine's
precedence, and never to a hop that left the origin."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re

import pytest

import httpring

USER, PASSWORD, REALM = "alice", "s3cret", "mock"


def _params(header: str) -> dict:
    return {k: v1 or v2 for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class DigestServer:
    """Answers 401 with a Digest challenge (MD5, qop=auth) until a right answer comes; with
    ``stale_first``, the first right answer is called stale (a new nonce)."""

    def __init__(self, stale_first: bool = False) -> None:
        self.nonces = ["n1", "n2"] if stale_first else ["n1"]
        self.seen: list = []

    def challenge(self, stale: bool = False) -> httpring.Response:
        value = f'Digest realm="{REALM}", nonce="{self.nonces[0]}", qop="auth", algorithm=MD5'
        if stale:
            value += ", stale=true"
        return httpring.Response(401, headers={"WWW-Authenticate": value})

    def __call__(self, request: httpring.Request) -> httpring.Response:
        auth = request.headers.get("authorization")
        self.seen.append(auth)
        if not auth or not auth.startswith("Digest "):
            return self.challenge()
        p = _params(auth)
        ha1 = _md5(f"{p['username']}:{REALM}:{PASSWORD}")
        ha2 = _md5(f"{request.method}:{p['uri']}")
        want = _md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")
        if p["response"] != want or p["uri"] != request.url.raw_path.decode() or p["nonce"] != self.nonces[0]:
            return self.challenge()
        if len(self.nonces) > 1:
            self.nonces.pop(0)
            return self.challenge(stale=True)
        return httpring.Response(200, text="in")


def echo_auth(request: httpring.Request) -> httpring.Response:
    return httpring.Response(200, text=request.headers.get("authorization", "none"))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_credentials_reach_a_transport():
    with httpring.Client(transport=httpring.MockTransport(echo_auth), auth=(USER, PASSWORD)) as c:
        assert c.get("http://a.test/").text == basic(USER, PASSWORD)
        # A request's own auth= wins over the client's; auth=None sends none.
        assert c.get("http://a.test/", auth=("bob", "pw")).text == basic("bob", "pw")
        assert c.get("http://a.test/", auth=None).text == "none"
        # A request's own Authorization header wins over both (the engine's order).
        assert c.get("http://a.test/", headers={"Authorization": "Bearer mine"}).text == "Bearer mine"
        assert c.send_many(["http://a.test/"])[0].text == basic(USER, PASSWORD)
    # A user name with ':' is refused, as for the engine's requests.
    with httpring.Client(transport=httpring.MockTransport(echo_auth)) as c:
        with pytest.raises(ValueError):
            c.get("http://a.test/", auth=httpring.BasicAuth("a:b", "pw"))


def test_credentials_stay_home_on_a_redirect_through_a_transport():
    def handler(request):
        if request.url.host == "a.test" and request.url.path == "/go":
            return httpring.Response(302, headers={"Location": "http://b.test/there"})
        if request.url.path == "/same":
            return httpring.Response(302, headers={"Location": "/here"})
        return echo_auth(request)

    with httpring.Client(transport=httpring.MockTransport(handler), auth=(USER, PASSWORD), follow_redirects=True) as c:
        assert c.get("http://a.test/go").text == "none"
        assert c.get("http://a.test/same").text == basic(USER, PASSWORD)


@pytest.mark.parametrize("stale_first", [False, True])
def test_a_digest_challenge_from_a_transport_is_answered(stale_first):
    server = DigestServer(stale_first)
    with httpring.Client(transport=httpring.MockTransport(server), auth=httpring.DigestAuth(USER, PASSWORD)) as c:
        r = c.get("http://a.test/private?x=1")
        assert r.status_code == 200 and r.text == "in"
        # Nothing before the challenge; then one answer (two with a stale nonce).
        assert server.seen[0] is None
        assert len(server.seen) == (3 if stale_first else 2)
        assert all(s.startswith("Digest ") for s in server.seen[1:])
    # Wrong credentials: one answer, then the 401 is the result.
    server = DigestServer()
    with httpring.Client(transport=httpring.MockTransport(server), auth=httpring.DigestAuth(USER, "wrong")) as c:
        assert c.get("http://a.test/private").status_code == 401
        assert len(server.seen) == 2


def test_an_async_client_applies_them_too():
    server = DigestServer(stale_first=True)

    async def handler(request):
        return server(request) if request.url.path == "/digest" else echo_auth(request)

    async def main():
        async with httpring.AsyncClient(transport=httpring.MockTransport(handler)) as c:
            r = await c.get("http://a.test/digest", auth=httpring.DigestAuth(USER, PASSWORD))
            assert r.status_code == 200 and len(server.seen) == 3
            assert (await c.get("http://a.test/", auth=(USER, PASSWORD))).text == basic(USER, PASSWORD)
            rs = await c.send_many(["http://a.test/"], auth=(USER, PASSWORD))
            assert rs[0].text == basic(USER, PASSWORD)

    asyncio.run(main())


def test_a_requests_own_auth_stays_home_too(testserver):
    # The request's auth= (not only the client's) is withheld from a hop to another origin,
    # whether a transport or the engine sends that hop.
    def handler(request):
        if request.url.host == "a.test":
            return httpring.Response(302, headers={"Location": "http://b.test/x"})
        return echo_auth(request)

    with httpring.Client(transport=httpring.MockTransport(handler), follow_redirects=True) as c:
        assert c.get("http://a.test/", auth=(USER, PASSWORD)).text == "none"
    server = DigestServer()

    def digest_elsewhere(request):
        if request.url.host == "a.test":
            return httpring.Response(302, headers={"Location": "http://b.test/"})
        return server(request)

    with httpring.Client(transport=httpring.MockTransport(digest_elsewhere), follow_redirects=True) as c:
        assert c.get("http://a.test/", auth=httpring.DigestAuth(USER, PASSWORD)).status_code == 401
        assert server.seen == [None]  # the challenge from b.test was not answered

    def to_engine(request):
        return httpring.Response(302, headers={"Location": f"{testserver.url}/echo"})

    with httpring.Client(mounts={"http://a.test": httpring.MockTransport(to_engine)}, follow_redirects=True) as c:
        echoed = c.get("http://a.test/", auth=(USER, PASSWORD)).json()
        assert "authorization" not in echoed["headers"]


def test_the_engines_precedence_around_a_transport():
    # A client's default Authorization header yields to auth=, as in the engine and httpx;
    # the URL's user info comes before the client's auth= (the engine's order).
    with httpring.Client(transport=httpring.MockTransport(echo_auth), headers={"Authorization": "Bearer d"}) as c:
        assert c.get("http://a.test/").text == "Bearer d"
        assert c.get("http://a.test/", auth=(USER, PASSWORD)).text == basic(USER, PASSWORD)
    with httpring.Client(transport=httpring.MockTransport(echo_auth), auth=("c", "c")) as c:
        assert c.get("http://u:p@a.test/").text == basic("u", "p")


def test_each_hop_of_a_chain_is_answered_and_hooked_once():
    # A Digest challenge on a later same-origin hop is answered too, as the engine answers
    # every hop's; send_many runs the hooks once per hop, in order.
    server = DigestServer()

    def handler(request):
        if request.url.path == "/a" and request.headers.get("authorization"):
            return httpring.Response(302, headers={"Location": "/b"})
        return server(request) if request.url.path in ("/a", "/b") else httpring.Response(404)

    events: list = []
    with httpring.Client(
        transport=httpring.MockTransport(handler), auth=httpring.DigestAuth(USER, PASSWORD), follow_redirects=True,
        event_hooks={"request": [lambda r: events.append(("req", r.url.path))],
                     "response": [lambda r: events.append(("resp", r.status_code))]},
    ) as c:
        r = c.get("http://a.test/a")
        assert r.status_code == 200 and [h.status_code for h in r.history] == [302]
        events.clear()
        rs = c.send_many(["http://a.test/a"])
        assert rs[0].status_code == 200
        assert events == [("req", "/a"), ("resp", 302), ("req", "/b"), ("resp", 200)]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_netrc_auth_around_a_transport(tmp_path):
    """NetRCAuth around a transport, as the engine applies it: each request gets the entry
    for its host (else the file's default), a redirect hop to another host that host's entry
    (never the last one's), a request with auth=None none, its own auth= over the file."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine a.test login alice password a1\nmachine b.test login bob password b2\n")
    seen = []

    def handler(request: httpring.Request) -> httpring.Response:
        seen.append((request.url.host, request.headers.get("authorization")))
        if request.url.path == "/to-b":
            return httpring.Response(302, headers={"Location": "http://b.test/landing"})
        if request.url.path == "/to-c":
            return httpring.Response(302, headers={"Location": "http://c.test/landing"})
        return httpring.Response(200)

    transport = httpring.MockTransport(handler)
    with httpring.Client(transport=transport, auth=httpring.NetRCAuth(netrc), follow_redirects=True) as c:
        c.get("http://a.test/x")
        c.get("http://c.test/x")  # no entry, no default
        c.get("http://a.test/to-b")
        c.get("http://a.test/to-c")
        c.get("http://a.test/y", auth=None)
        c.get("http://a.test/z", auth=("own", "pw"))
    assert seen == [
        ("a.test", _basic("alice", "a1")),
        ("c.test", None),
        ("a.test", _basic("alice", "a1")),
        ("b.test", _basic("bob", "b2")),
        ("a.test", _basic("alice", "a1")),
        ("c.test", None),
        ("a.test", None),
        ("a.test", _basic("own", "pw")),
    ]
    netrc.write_text("default login anon password x\n")
    seen.clear()

    async def main():
        async with httpring.AsyncClient(transport=transport, auth=httpring.NetRCAuth(str(netrc))) as c:
            await c.get("http://c.test/x")

    asyncio.run(main())
    assert seen == [("c.test", _basic("anon", "x"))]

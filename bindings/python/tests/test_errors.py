"""Engine failures mapped to httpx-shaped exceptions; options the engine cannot honour yet;
closed clients."""

from __future__ import annotations

import asyncio
import socket

import pytest

import httpring
from httpring import _ffi
from httpring._exceptions import CODE_EXCEPTIONS, from_code


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_hierarchy():
    h = httpring
    for cls in (h.ConnectTimeout, h.ReadTimeout, h.WriteTimeout, h.PoolTimeout, h.TotalTimeout):
        assert issubclass(cls, h.TimeoutException)
    for cls in (h.ConnectError, h.ReadError, h.WriteError, h.CloseError):
        assert issubclass(cls, h.NetworkError)
    for cls in (h.LocalProtocolError, h.RemoteProtocolError):
        assert issubclass(cls, h.ProtocolError)
    for cls in (h.TimeoutException, h.NetworkError, h.ProtocolError, h.UnsupportedProtocol):
        assert issubclass(cls, h.TransportError)
    assert issubclass(h.TransportError, h.RequestError)
    assert issubclass(h.TooManyRedirects, h.RequestError)
    assert issubclass(h.RequestError, h.HTTPError)
    assert issubclass(h.HTTPStatusError, h.HTTPError)
    assert issubclass(h.ClientClosed, RuntimeError)
    assert not issubclass(h.InvalidURL, h.HTTPError)  # as in httpx


def test_every_error_code_has_a_class():
    for name in dir(_ffi):
        if name.startswith("HTTPRING_ERR_") and name != "HTTPRING_ERR_NOT_FOUND":
            assert getattr(_ffi, name) in CODE_EXCEPTIONS, name


def test_from_code_carries_code_and_message():
    e = from_code(_ffi.HTTPRING_ERR_READ_TIMEOUT, "no data for 1s", context="GET http://x/")
    assert isinstance(e, httpring.ReadTimeout)
    assert e.code == _ffi.HTTPRING_ERR_READ_TIMEOUT
    assert e.code_name == "HTTPRING_ERR_READ_TIMEOUT"
    assert str(e) == "no data for 1s (GET http://x/) [HTTPRING_ERR_READ_TIMEOUT]"
    with pytest.raises(RuntimeError):
        e.request
    assert _ffi.error_name(_ffi.HTTPRING_ERR_DNS) == "HTTPRING_ERR_DNS"


def test_unknown_code_is_a_transport_error():
    e = from_code(999, "something new")
    assert type(e) is httpring.TransportError
    assert e.code == 999 and e.code_name == "HTTPRING_UNKNOWN"


def test_connect_refused(client):
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(httpring.ConnectError) as info:
        client.get(url)
    assert info.value.code_name == "HTTPRING_ERR_CONNECT_REFUSED"
    assert "refused" in str(info.value)
    assert info.value.request.url == url and info.value.request.method == "GET"


@pytest.mark.parametrize("url", ["http://", "not a url", "http://exa mple.com/", "http://127.0.0.1:80\x00/"])
def test_invalid_url(client, url):
    with pytest.raises(httpring.InvalidURL):
        client.get(url)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "gopher://127.0.0.1/", "ws://127.0.0.1/"])
def test_unsupported_scheme(client, url):
    with pytest.raises(httpring.UnsupportedProtocol) as info:
        client.get(url)
    assert info.value.code_name == "HTTPRING_ERR_UNSUPPORTED_SCHEME"


def test_https_to_a_closed_port(client):
    with pytest.raises(httpring.ConnectError) as info:
        client.get(f"https://127.0.0.1:{free_port()}/")
    assert info.value.code_name == "HTTPRING_ERR_CONNECT_REFUSED"


@pytest.mark.parametrize(
    "headers", [{"bad name": "x"}, {"x": "a\nb"}, {"x": "a\rb"}, {"x": "nul\x00"}, {"": "empty"}]
)
def test_invalid_header(client, testserver, headers):
    with pytest.raises(httpring.LocalProtocolError) as info:
        client.get(testserver.url + "/hello", headers=headers)
    assert info.value.code_name == "HTTPRING_ERR_INVALID_HEADER"


def test_invalid_method(client, testserver):
    with pytest.raises(httpring.LocalProtocolError) as info:
        client.request("GE T", testserver.url + "/hello")
    assert info.value.code_name == "HTTPRING_ERR_INVALID_METHOD"


def test_server_lies_about_length(client, testserver):
    # The engine reports a body cut short as ERR_IO today; the header documents
    # ERR_PROTOCOL for it. Either way it is a transport error with a clear message.
    with pytest.raises((httpring.RemoteProtocolError, httpring.ReadError)) as info:
        client.get(testserver.url + "/lie")
    assert info.value.code in (_ffi.HTTPRING_ERR_PROTOCOL, _ffi.HTTPRING_ERR_IO)


def test_body_too_large(testserver):
    with httpring.Client(max_body_size=100) as c:
        assert len(c.get(testserver.url + "/bytes/100").content) == 100
        with pytest.raises(httpring.ResponseTooLarge) as info:
            c.get(testserver.url + "/bytes/101")
        assert info.value.code_name == "HTTPRING_ERR_BODY_TOO_LARGE"


def test_options_the_engine_can_honour():
    httpring.Client(verify=False, http2=True, limits=httpring.Limits(max_keepalive_connections=4)).close()
    httpring.Client(limits=httpring.Limits(max_connections=10, max_connections_per_host=2, max_in_flight=5)).close()


def test_transport_option_errors(tmp_path):
    with pytest.raises(ValueError, match="no protocol"):
        httpring.Client(http1=False, http2=False)
    with pytest.raises(FileNotFoundError, match="CA certificate bundle"):
        httpring.Client(verify=str(tmp_path / "missing.pem"))
    with pytest.raises(FileNotFoundError):
        httpring.Client(cert=str(tmp_path / "missing.pem"))
    with pytest.raises(TypeError, match="verify="):
        httpring.Client(verify=42)
    with pytest.raises(TypeError, match="cert="):
        httpring.Client(cert=42)
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a certificate")
    with pytest.raises(ValueError, match="no CA certificate"):
        httpring.Client(verify=str(junk))
    with pytest.raises(ValueError, match="cert"):
        httpring.Client(cert=(str(junk), str(junk)))
    with pytest.raises(ValueError, match="proxy"):
        httpring.Client(proxy="ftp://proxy.invalid:21")
    with pytest.raises(ValueError, match="resolve"):
        httpring.Client(resolve=["example.com:80"])
    with pytest.raises(ValueError, match="resolve"):
        httpring.Client(resolve={"example.com": "not an address"})


def test_bad_config_values():
    with pytest.raises(ValueError, match="worker_threads"):
        httpring.Client(worker_threads=0)
    with pytest.raises(ValueError, match="max_body_size"):
        httpring.Client(max_body_size=0)
    with pytest.raises(ValueError, match="header"):
        httpring.Client(headers={"bad name": "x"})


def test_closed_client(testserver):
    c = httpring.Client()
    c.close()
    c.close()  # idempotent
    assert c.is_closed
    with pytest.raises(httpring.ClientClosed, match="client has been closed"):
        c.get(testserver.url + "/hello")
    with pytest.raises(httpring.ClientClosed):
        c.submit("GET", testserver.url + "/hello")
    with pytest.raises(httpring.ClientClosed):
        c.send_many([testserver.url + "/hello"])
    with pytest.raises(httpring.ClientClosed):
        c.live_handles()
    with pytest.raises(RuntimeError):
        with c:
            pass


def test_many_clients(testserver):
    for _ in range(20):
        with httpring.Client() as c:
            assert c.get(testserver.url + "/hello").status_code == 200


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork()")
def test_client_inherited_through_fork(testserver):
    """The engine's threads do not survive fork(): in the child the client raises a clear
    error instead of hanging, and closing it is a no-op; the parent is unaffected."""
    import os
    import warnings

    c = httpring.Client()
    assert c.get(testserver.url + "/hello").status_code == 200
    r, w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            c.get(testserver.url + "/hello")
        except httpring.ClientClosed as e:
            code = 0 if "fork" in str(e) else 2
        except BaseException:
            code = 3
        c.close()
        os.write(w, bytes([code]))
        os._exit(0)
    os.close(w)
    result = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    assert result == b"\x00"
    assert c.get(testserver.url + "/hello").status_code == 200
    c.close()


# Codes that never become an exception, and why: success; PENDING is a return value
# (wait/poll report it as "not finished"); NOT_FOUND only answers header lookups, which this
# binding does not make (it parses the raw header block).
NEVER_RAISED = {"HTTPRING_OK", "HTTPRING_PENDING", "HTTPRING_ERR_NOT_FOUND"}


def library_codes():
    """(code, name) for every code the loaded library names, asking it 0, 1, 2, ... until
    it answers HTTPRING_UNKNOWN: a code added to the library shows up here."""
    codes = []
    code = 0
    while True:
        name = _ffi.error_name(code)
        if name == "HTTPRING_UNKNOWN":
            return codes
        codes.append((code, name))
        code += 1
        assert code < 10_000, "httpring_error_name never says HTTPRING_UNKNOWN"


def test_every_library_code_has_a_constant_and_a_specific_exception():
    codes = library_codes()
    assert codes[0] == (0, "HTTPRING_OK")
    assert len(codes) > _ffi.HTTPRING_ERR_PROXY  # at least the codes this binding knows
    for code, name in codes:
        assert getattr(_ffi, name, None) == code, f"_ffi has no {name} = {code}"
        if name in NEVER_RAISED:
            continue
        cls = CODE_EXCEPTIONS.get(code)
        assert cls is not None, f"{name} has no exception class"
        e = from_code(code, "x")
        assert type(e) is cls and cls is not httpring.TransportError, name
        assert e.code == code
        if isinstance(e, httpring.HTTPError):
            assert e.code_name == name
    # Nothing maps a code the library does not have.
    assert set(CODE_EXCEPTIONS) <= {code for code, _ in codes}


def test_refused_requests_say_why(testserver):
    # The engine's reason (httpring_last_error_message) is in the message, from every path.
    url = testserver.url + "/echo"
    with httpring.Client() as c:
        with pytest.raises(httpring.InvalidURL, match="invalid port"):
            c.get("http://127.0.0.1:99999/x")
        # A Content-Length the body contradicts is refused, never sent (it hung the request
        # or cut the body short).
        with pytest.raises(httpring.LocalProtocolError, match="says 10 bytes, but the body has 3"):
            c.post(url, content=b"abc", headers={"Content-Length": "10"})
        with pytest.raises(httpring.LocalProtocolError, match="says 2 bytes, but the body has 6"):
            c.post(url, content=b"abcdef", headers={"Content-Length": "2"})
        assert c.post(url, content=b"abc", headers={"Content-Length": "3"}).status_code == 200
        # A batch that refuses one request says why; with several refused, each its code.
        rs = c.send_many([url, "http://127.0.0.1:99999/"], return_exceptions=True)
        assert rs[0].status_code == 200 and "invalid port" in str(rs[1])
        rs = c.send_many(["http://127.0.0.1:99999/", "http://"], return_exceptions=True)
        assert all(isinstance(r, httpring.InvalidURL) for r in rs)
        assert "no host" not in str(rs[0])  # not the other request's reason

    async def main():
        async with httpring.AsyncClient() as c:
            with pytest.raises(httpring.LocalProtocolError, match="says 10 bytes"):
                await c.post(url, content=b"abc", headers={"Content-Length": "10"})
            rs = await asyncio.gather(
                c.get(url), c.get("http://127.0.0.1:99999/"), return_exceptions=True
            )
            assert rs[0].status_code == 200 and "invalid port" in str(rs[1])

    asyncio.run(main())

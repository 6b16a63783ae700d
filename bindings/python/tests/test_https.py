"""HTTPS: trusting pytest-httpbin's CA every way httpx allows (path, PEM bytes, SSLContext,
SSL_CERT_FILE), rejections mapped to CertificateError (a ConnectError, as in httpx),
verify=False, client certificates, and HTTP/2 negotiated by ALPN."""

from __future__ import annotations

import asyncio
import os
import ssl

import pytest

import httpring

from servers import TLSServer, ca_path, make_pki


@pytest.fixture(autouse=True)
def no_ssl_env(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture(scope="module")
def h2_server():
    pytest.importorskip("h2")
    server = TLSServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def h1_tls_server():
    server = TLSServer(alpn=["http/1.1"])
    yield server
    server.close()


def _ca_pem() -> bytes:
    with open(ca_path(), "rb") as f:
        return f.read()


@pytest.mark.parametrize(
    "verify",
    [
        pytest.param(lambda: ca_path(), id="path"),
        pytest.param(lambda: __import__("pathlib").Path(ca_path()), id="pathlike"),
        pytest.param(lambda: os.path.dirname(ca_path()), id="directory"),
        pytest.param(_ca_pem, id="pem-bytes"),
        pytest.param(lambda: ssl.create_default_context(cafile=ca_path()), id="sslcontext"),
        pytest.param(lambda: False, id="false"),
    ],
)
def test_https_httpbin_trusted(httpbin_secure, verify):
    with httpring.Client(verify=verify()) as c:
        r = c.get(httpbin_secure.url + "/get", params={"a": "1"})
        assert r.status_code == 200
        assert r.json()["args"] == {"a": "1"}
        assert r.url.scheme == "https"
        assert r.http_version == "HTTP/1.1"


def test_ssl_cert_file_is_honoured_with_trust_env(httpbin_secure, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", ca_path())
    with httpring.Client() as c:
        assert c.get(httpbin_secure.url + "/get").status_code == 200
    # Not tested: trust_env=False with SSL_CERT_FILE set. The engine's system roots come
    # from rustls-native-certs, which reads SSL_CERT_FILE itself, once per process: the
    # variable would then leak into every later client's "system" roots.


def test_untrusted_certificate(httpbin_secure):
    with httpring.Client() as c:  # system roots: pytest-httpbin's CA is not among them
        with pytest.raises(httpring.ConnectError) as info:
            c.get(httpbin_secure.url + "/get")
    e = info.value
    assert isinstance(e, httpring.CertificateError) and isinstance(e, httpring.TLSError)
    assert e.code_name == "HTTPRING_ERR_TLS_CERTIFICATE"
    assert httpbin_secure.url in str(e)
    # The verifier's reason, not just the code.
    assert "certificate" in str(e).lower() and len(str(e)) > 60, str(e)


def test_wrong_host_name(httpbin_secure):
    # The certificate names localhost, 127.0.0.1 and ::1: reach the same server by another name.
    port = httpbin_secure.port
    with httpring.Client(verify=ca_path(), resolve=[f"wrong.example:{port}:127.0.0.1"]) as c:
        with pytest.raises(httpring.CertificateError) as info:
            c.get(f"https://wrong.example:{port}/get")
        assert info.value.code_name == "HTTPRING_ERR_TLS_CERTIFICATE"
        assert c.get(f"https://localhost:{port}/get").status_code == 200


def test_sslcontext_without_verification(httpbin_secure):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with httpring.Client(verify=ctx) as c:
        assert c.get(httpbin_secure.url + "/get").status_code == 200


def test_sslcontext_minimum_version(httpbin_secure):
    ctx = ssl.create_default_context(cafile=ca_path())
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    with httpring.Client(verify=ctx) as c:
        assert c.get(httpbin_secure.url + "/get").status_code == 200


def test_https_async(httpbin_secure):
    async def main():
        async with httpring.AsyncClient(verify=ca_path()) as c:
            rs = await asyncio.gather(*(c.get(httpbin_secure.url + f"/status/{200 + i}") for i in range(5)))
            assert [r.status_code for r in rs] == [200, 201, 202, 203, 204]
            with pytest.raises(httpring.CertificateError):
                async with httpring.AsyncClient() as strict:
                    await strict.get(httpbin_secure.url + "/get")

    asyncio.run(main())


def test_client_certificate_is_presented(tmp_path):
    """mTLS: a server that requires a client certificate accepts the one given by cert=
    (a (certfile, keyfile) tuple, or one file holding both) and refuses a client without
    one (HTTPRING_ERR_TLS: TLSError)."""
    pytest.importorskip("cryptography")
    pki = make_pki(str(tmp_path))
    server = TLSServer(alpn=["http/1.1"], cert=(pki["server_cert"], pki["server_key"]))
    server.ctx.load_verify_locations(pki["ca"])
    server.ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        for cert in ((pki["client_cert"], pki["client_key"]), pki["client_both"]):
            with httpring.Client(verify=pki["ca"], cert=cert) as c:
                assert c.get(server.url + "/mtls").json()["path"] == "/mtls"
        with httpring.Client(verify=pki["ca"]) as c:
            with pytest.raises(httpring.TransportError) as info:
                c.get(server.url + "/mtls")
            assert isinstance(info.value, httpring.TLSError), repr(info.value)
            assert info.value.code_name == "HTTPRING_ERR_TLS"
    finally:
        server.close()


def test_client_certificate_with_an_encrypted_key(tmp_path):
    """cert=(certfile, keyfile, password): a PKCS#8 key encrypted as Python's cryptography
    (and `openssl pkcs8 -topk8`) write it; the password as str, bytes or a function. A wrong
    or missing password, and OpenSSL's legacy encrypted PEM, fail when the client is made,
    saying why."""
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization

    pki = make_pki(str(tmp_path))
    with open(pki["client_key"], "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    encrypted = tmp_path / "client-key-encrypted.pem"
    encrypted.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"s3cret")
    ))
    assert encrypted.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    legacy = tmp_path / "client-key-legacy.pem"
    legacy.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"s3cret"),
    ))
    server = TLSServer(alpn=["http/1.1"], cert=(pki["server_cert"], pki["server_key"]))
    server.ctx.load_verify_locations(pki["ca"])
    server.ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        for password in ("s3cret", b"s3cret", lambda: "s3cret"):
            with httpring.Client(verify=pki["ca"], cert=(pki["client_cert"], str(encrypted), password)) as c:
                assert c.get(server.url + "/mtls").json()["path"] == "/mtls"

        async def main() -> None:
            async with httpring.AsyncClient(verify=pki["ca"], cert=(pki["client_cert"], encrypted, "s3cret")) as c:
                assert (await c.get(server.url + "/mtls")).status_code == 200

        asyncio.run(main())
        # A plain key with a password: the password is not needed, and ignored.
        with httpring.Client(verify=pki["ca"], cert=(pki["client_cert"], pki["client_key"], "unused")) as c:
            assert c.get(server.url + "/mtls").status_code == 200
    finally:
        server.close()
    for keyfile, password, says in [
        (encrypted, "wrong", "could not decrypt"),
        (encrypted, None, "give its password"),
        (legacy, "s3cret", "openssl pkcs8 -topk8"),
    ]:
        with pytest.raises(ValueError, match=says):
            httpring.Client(verify=pki["ca"], cert=(pki["client_cert"], str(keyfile), password))
    with pytest.raises(TypeError, match="password"):
        httpring.Client(cert=(pki["client_cert"], str(encrypted), 42))


def test_pinned_public_key(httpbin_secure):
    """pinned_public_key=: the server's key passes, another fails as CertificateError naming
    the key it has (also with verify=False); a malformed pin is refused."""
    import base64
    import hashlib

    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import serialization

    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", httpbin_secure.port)))
    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    right = "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode()
    other = "sha256//" + base64.b64encode(hashlib.sha256(b"another key").digest()).decode()
    url = httpbin_secure.url + "/get"
    with httpring.Client(verify=ca_path(), pinned_public_key=f"{other};{right}") as c:
        assert c.get(url).status_code == 200
    for verify in (ca_path(), False):
        with httpring.Client(verify=verify, pinned_public_key=other) as c:
            with pytest.raises(httpring.CertificateError, match="matches no pinned key") as info:
                c.get(url)
            assert right in str(info.value)

    async def main() -> None:
        async with httpring.AsyncClient(verify=ca_path(), pinned_public_key=right) as c:
            assert (await c.get(url)).status_code == 200

    asyncio.run(main())
    with pytest.raises(ValueError, match="pinned"):
        httpring.Client(pinned_public_key="sha1//AAAA")


# --- HTTP/2 over TLS (ALPN) -------------------------------------------------------------


def test_http2_negotiated_by_alpn(h2_server):
    with httpring.Client(verify=ca_path(), http2=True) as c:
        r = c.get(h2_server.url + "/h2?x=1")
        assert r.http_version == "HTTP/2"
        assert r.json()["version"] == "HTTP/2" and r.json()["path"] == "/h2?x=1"
        r = c.post(h2_server.url + "/post", json={"a": 1})
        assert r.json()["method"] == "POST"
        r = c.head(h2_server.url + "/head")
        assert r.status_code == 200 and r.content == b"" and int(r.headers["content-length"]) > 0


def test_http2_false_means_http1_only(h2_server):
    # httpx's default: HTTP/1.1 unless http2=True.
    with httpring.Client(verify=ca_path()) as c:
        r = c.get(h2_server.url + "/h1")
        assert r.http_version == "HTTP/1.1" and r.json()["version"] == "HTTP/1.1"


def test_http2_falls_back_to_http1(h1_tls_server):
    with httpring.Client(verify=ca_path(), http2=True) as c:
        assert c.get(h1_tls_server.url + "/").http_version == "HTTP/1.1"


def test_http2_multiplexes_one_connection(h2_server):
    async def main():
        async with httpring.AsyncClient(verify=ca_path(), http2=True) as c:
            before = c.stats().connections_opened
            rs = await asyncio.gather(*(c.get(h2_server.url + f"/m/{i}") for i in range(50)))
            assert {r.http_version for r in rs} == {"HTTP/2"}
            assert [r.json()["path"] for r in rs] == [f"/m/{i}" for i in range(50)]
            assert c.stats().connections_opened - before == 1

    asyncio.run(main())


def test_sslkeylogfile_as_curl_and_httpx(h1_tls_server, tmp_path, monkeypatch):
    # The engine appends each connection's secrets to the file SSLKEYLOGFILE names (for
    # Wireshark); trust_env=False turns that off, as in httpx.
    log = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(log))
    with httpring.Client(verify=ca_path()) as c:
        assert c.get(h1_tls_server.url + "/").status_code == 200
    lines = log.read_text().splitlines()
    labels = {line.split(" ", 1)[0] for line in lines}
    assert labels & {"CLIENT_TRAFFIC_SECRET_0", "CLIENT_RANDOM"}, lines
    with httpring.Client(verify=ca_path(), trust_env=False) as c:
        assert c.get(h1_tls_server.url + "/").status_code == 200
    assert log.read_text().splitlines() == lines

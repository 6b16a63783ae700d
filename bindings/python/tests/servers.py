"""Small local servers for the transport tests, each on a thread of the test process:

- ``TLSServer``: HTTPS with pytest-httpbin's certificate (its CA is ``ca_path()``); speaks
  HTTP/2 when ALPN picks h2 (with the ``h2`` package) and HTTP/1.1 otherwise. Every
  response is JSON: {"method", "path", "version", "headers"}.
- ``UnixServer``: HTTP/1.1 on a Unix domain socket, same JSON.
- ``FakeProxy``: an HTTP proxy that forwards nothing. It answers absolute-form requests
  itself ({"proxied": "<request line>"}) and refuses every CONNECT with 403.
- ``RawServer``: HTTP/1.1 that answers each path with the exact bytes given for it (header
  bytes no library would produce), then closes the connection.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import threading
from typing import Any, Dict, List, Optional, Tuple


def ca_path() -> str:
    from pytest_httpbin import certs

    return certs.where()


def _cert_files() -> Tuple[str, str]:
    d = os.path.join(os.path.dirname(ca_path()))
    return os.path.join(d, "server.pem"), os.path.join(d, "server.key")


def _read_head(sock: socket.socket) -> Tuple[bytes, bytes]:
    """Reads a request head; returns (head, whatever followed it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _http1_exchange(sock: socket.socket, version: str = "HTTP/1.1") -> Optional[Dict[str, Any]]:
    head, rest = _read_head(sock)
    if not head:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    body = json.dumps({"method": method, "path": path, "version": version, "headers": headers}).encode()
    sock.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    return headers


class _Threaded:
    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve_safely, args=(conn,), daemon=True).start()

    def _serve_safely(self, conn: socket.socket) -> None:
        try:
            with conn:
                self.serve(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass

    def serve(self, conn: socket.socket) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        self._stop = True
        self.listener.close()


class TLSServer(_Threaded):
    def __init__(
        self, alpn: List[str] = ["h2", "http/1.1"], cert: Optional[Tuple[str, str]] = None
    ) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*(cert or _cert_files()))
        ctx.set_alpn_protocols(alpn)
        self.ctx = ctx
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        super().__init__(sock)

    def serve(self, conn: socket.socket) -> None:
        tls = self.ctx.wrap_socket(conn, server_side=True)
        if tls.selected_alpn_protocol() == "h2":
            self._serve_h2(tls)
        else:
            while _http1_exchange(tls) is not None:
                pass

    def _serve_h2(self, sock: ssl.SSLSocket) -> None:
        import h2.config
        import h2.connection
        import h2.events

        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        requests: Dict[int, Dict[str, str]] = {}
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    requests[ev.stream_id] = {
                        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                        for k, v in ev.headers
                    }
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    h = requests.pop(ev.stream_id, {})
                    body = json.dumps(
                        {"method": h.get(":method"), "path": h.get(":path"), "version": "HTTP/2", "headers": h}
                    ).encode()
                    head = h.get(":method") == "HEAD"
                    conn.send_headers(
                        ev.stream_id,
                        [(":status", "200"), ("content-type", "application/json"), ("content-length", str(len(body)))],
                        end_stream=head,
                    )
                    if not head:
                        conn.send_data(ev.stream_id, body, end_stream=True)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    sock.sendall(conn.data_to_send())
                    return
            sock.sendall(conn.data_to_send())


class UnixServer(_Threaded):
    def __init__(self, path: str) -> None:
        self.path = path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(128)
        super().__init__(sock)

    def serve(self, conn: socket.socket) -> None:
        while _http1_exchange(conn) is not None:
            pass


class FakeProxy(_Threaded):
    """Answers absolute-form requests with the request line it got; refuses CONNECT.
    ``tls``: reached over TLS (an ``https://`` proxy, the test certificate)."""

    def __init__(self, tls: bool = False) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self.ctx: Optional[ssl.SSLContext] = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*_cert_files())
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.seen: List[str] = []
        #: The Proxy-Authorization values received.
        self.authorizations: List[str] = []
        super().__init__(sock)

    def serve(self, conn: socket.socket) -> None:
        if self.ctx is not None:
            try:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                return  # a client that refused the certificate
        head, _ = _read_head(conn)
        if not head:
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        self.seen.append(line)
        for field in head.split(b"\r\n")[1:]:
            name, _, value = field.partition(b":")
            if name.strip().lower() == b"proxy-authorization":
                self.authorizations.append(value.strip().decode("latin-1"))
        if line.startswith("CONNECT "):
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            return
        body = json.dumps({"proxied": line}).encode()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )


def make_pki(directory: str) -> Dict[str, str]:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client
    certificate, written as PEM files into ``directory`` (needs ``cryptography``).
    Returns their paths: ca, server_cert, server_key, client_cert, client_key, client_both."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def key_pem(key: Any) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("httpring test CA"))
        .issuer_name(name("httpring test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(cn: str, sans: List[x509.GeneralName], usage: Any) -> Tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem(key)

    server_cert, server_key = leaf(
        "127.0.0.1",
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        ExtendedKeyUsageOID.SERVER_AUTH,
    )
    client_cert, client_key = leaf(
        "client", [x509.DNSName("client.example")], ExtendedKeyUsageOID.CLIENT_AUTH
    )
    files = {
        "ca": ca.public_bytes(serialization.Encoding.PEM),
        "server_cert": server_cert,
        "server_key": server_key,
        "client_cert": client_cert,
        "client_key": client_key,
        "client_both": client_cert + client_key,
    }
    paths = {}
    for label, data in files.items():
        path = os.path.join(directory, label + ".pem")
        with open(path, "wb") as f:
            f.write(data)
        paths[label] = path
    return paths


class RawServer(_Threaded):
    """``routes`` maps a request path to the whole response (status line, headers and body)
    sent byte for byte; other paths get a 404."""

    def __init__(self, routes: Dict[str, bytes]) -> None:
        self.routes = routes
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(sock)

    def serve(self, conn: socket.socket) -> None:
        head, _ = _read_head(conn)
        if not head:
            return
        path = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[1]
        conn.sendall(self.routes.get(path, b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"))


def raw_response(headers: List[Tuple[bytes, bytes]], body: bytes = b"ok") -> bytes:
    """A complete HTTP/1.1 200 response with these header lines (and Content-Length,
    Connection: close)."""
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return (
        b"HTTP/1.1 200 OK\r\n" + lines
        + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body
    )

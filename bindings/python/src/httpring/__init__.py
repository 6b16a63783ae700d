"""httpring: a fast asynchronous HTTP client (a Rust engine behind a C ABI), with an
httpx-shaped API.

    import httpring
    with httpring.Client() as client:
        r = client.get("http://127.0.0.1:8080/hello")
        print(r.status_code, r.text)
"""

from ._async_client import AsyncClient
from ._auth import Auth, BasicAuth, DigestAuth
from ._client import Client, Completion, Handle
from ._cookies import CookieConflict, Cookies
from ._config import DEFAULT_TIMEOUT, USE_CLIENT_DEFAULT, Limits, Timeout
from ._exceptions import (
    CertificateError,
    ClientClosed,
    CloseError,
    ConnectError,
    ConnectTimeout,
    DecodingError,
    HTTPError,
    HTTPStatusError,
    InternalError,
    InvalidHandle,
    InvalidURL,
    LocalProtocolError,
    NetworkError,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    RequestCancelled,
    RequestError,
    ResponseTooLarge,
    TLSError,
    TimeoutException,
    TooManyRedirects,
    InsecureRedirect,
    TotalTimeout,
    TransportError,
    UnsupportedProtocol,
    WriteError,
    WriteTimeout,
)
from ._engine import Stats
from ._ffi import engine_version
from ._models import Headers, Request, Response
from ._urls import URL, QueryParams

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "Auth",
    "BasicAuth",
    "CertificateError",
    "Client",
    "ClientClosed",
    "CloseError",
    "Completion",
    "CookieConflict",
    "Cookies",
    "ConnectError",
    "ConnectTimeout",
    "DEFAULT_TIMEOUT",
    "DecodingError",
    "DigestAuth",
    "HTTPError",
    "HTTPStatusError",
    "Handle",
    "Headers",
    "InternalError",
    "InvalidHandle",
    "InvalidURL",
    "Limits",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "QueryParams",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "RequestCancelled",
    "RequestError",
    "Response",
    "ResponseTooLarge",
    "Stats",
    "TLSError",
    "Timeout",
    "TimeoutException",
    "TooManyRedirects",
    "InsecureRedirect",
    "TotalTimeout",
    "TransportError",
    "URL",
    "USE_CLIENT_DEFAULT",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
    "engine_version",
    "request",
    "get",
    "post",
]


_CLIENT_OPTIONS = (
    "verify", "cert", "http1", "http2", "http2_prior_knowledge", "proxy", "trust_env",
    "no_proxy", "resolve", "dns_cache_ttl", "uds", "max_body_size",
)


def request(method: str, url: str, **kwargs: object) -> Response:
    """One request with a short-lived Client (convenient, not fast: prefer a Client)."""
    opts = {k: kwargs.pop(k) for k in _CLIENT_OPTIONS if k in kwargs}
    with Client(**opts) as client:  # type: ignore[arg-type]
        return client.request(method, url, **kwargs)  # type: ignore[arg-type]


def get(url: str, **kwargs: object) -> Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: object) -> Response:
    return request("POST", url, **kwargs)

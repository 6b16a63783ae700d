"""httpring: a fast asynchronous HTTP client (a Rust engine behind a C ABI), with an
httpx-shaped API.

    import httpring
    with httpring.Client() as client:
        r = client.get("http://127.0.0.1:8080/hello")
        print(r.status_code, r.text)
"""

import contextlib
from typing import Any, Iterator

from ._async_client import AsyncClient
from ._status_codes import codes
from ._auth import Auth, AuthTypes, BasicAuth, DigestAuth, FunctionAuth, NetRCAuth
from ._client import Client, Completion, Handle
from ._cookies import CookieConflict, CookieTypes, Cookies
from ._config import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    USE_CLIENT_DEFAULT,
    Limits,
    Proxy,
    Retry,
    Timeout,
    TimeoutTypes,
    VerifyTypes,
)
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
    RequestNotRead,
    ResponseNotRead,
    ResponseTooLarge,
    StreamClosed,
    StreamConsumed,
    StreamError,
    TLSError,
    TimeoutException,
    TooManyInFlight,
    BodySourceError,
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
from ._transports import AsyncBaseTransport, AsyncHTTPTransport, BaseTransport, HTTPTransport, MockTransport
from ._urls import URL, QueryParams
from ._models import HeaderTypes, Headers, QueryParamTypes, Request, Response

__version__ = "0.1.0"

__all__ = [
    "AsyncBaseTransport",
    "AsyncClient",
    "AsyncHTTPTransport",
    "Auth",
    "BaseTransport",
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
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "DecodingError",
    "DigestAuth",
    "NetRCAuth",
    "FunctionAuth",
    "HTTPError",
    "HTTPTransport",
    "HTTPStatusError",
    "Handle",
    "Headers",
    "InternalError",
    "InvalidHandle",
    "InvalidURL",
    "Limits",
    "LocalProtocolError",
    "MockTransport",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "Proxy",
    "ProxyError",
    "QueryParams",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "RequestCancelled",
    "RequestError",
    "Response",
    "RequestNotRead",
    "ResponseNotRead",
    "ResponseTooLarge",
    "Retry",
    "Stats",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "TLSError",
    "Timeout",
    "TimeoutException",
    "TooManyInFlight",
    "BodySourceError",
    "TooManyRedirects",
    "InsecureRedirect",
    "TotalTimeout",
    "TransportError",
    "URL",
    "USE_CLIENT_DEFAULT",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
    "codes",
    "engine_version",
    "request",
    "stream",
    "get",
    "options",
    "head",
    "delete",
    "post",
    "put",
    "patch",
]


def request(
    method: str,
    url: Any,
    *,
    params: QueryParamTypes = None,
    content: Any = None,
    data: Any = None,
    files: Any = None,
    json: Any = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    trust_env: bool = True,
    **client_options: Any,
) -> Response:
    """One request with a short-lived Client, as ``httpx.request`` (convenient, not fast:
    prefer a Client). ``client_options`` are other Client options (``http2=``,
    ``resolve=``, ``cert=``...)."""
    with Client(
        cookies=cookies,
        proxy=proxy,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
        auth=auth,
        follow_redirects=follow_redirects,
        **client_options,
    ) as client:
        return client.request(
            method, url, params=params, content=content, data=data, files=files, json=json, headers=headers
        )


@contextlib.contextmanager
def stream(
    method: str,
    url: Any,
    *,
    params: QueryParamTypes = None,
    content: Any = None,
    data: Any = None,
    files: Any = None,
    json: Any = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    trust_env: bool = True,
    **client_options: Any,
) -> Iterator[Response]:
    """A streamed request with a short-lived Client, as ``httpx.stream``: ``with
    httpring.stream("GET", url) as r: for chunk in r.iter_bytes(): ...`` (see
    ``Client.stream``)."""
    with Client(
        cookies=cookies,
        proxy=proxy,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
        auth=auth,
        follow_redirects=follow_redirects,
        **client_options,
    ) as client:
        with client.stream(
            method, url, params=params, content=content, data=data, files=files, json=json, headers=headers
        ) as response:
            yield response


def get(
    url: Any,
    *,
    params: QueryParamTypes = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    trust_env: bool = True,
    **client_options: Any,
) -> Response:
    """A GET with a short-lived Client, as ``httpx.get``."""
    return request(
        "GET", url, params=params, headers=headers, cookies=cookies, auth=auth, proxy=proxy,
        follow_redirects=follow_redirects, verify=verify, timeout=timeout, trust_env=trust_env,
        **client_options,
    )


def options(
    url: Any,
    *,
    params: QueryParamTypes = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    trust_env: bool = True,
    **client_options: Any,
) -> Response:
    """An OPTIONS request with a short-lived Client, as ``httpx.options``."""
    return request(
        "OPTIONS", url, params=params, headers=headers, cookies=cookies, auth=auth, proxy=proxy,
        follow_redirects=follow_redirects, verify=verify, timeout=timeout, trust_env=trust_env,
        **client_options,
    )


def head(
    url: Any,
    *,
    params: QueryParamTypes = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    trust_env: bool = True,
    **client_options: Any,
) -> Response:
    """A HEAD request with a short-lived Client, as ``httpx.head``."""
    return request(
        "HEAD", url, params=params, headers=headers, cookies=cookies, auth=auth, proxy=proxy,
        follow_redirects=follow_redirects, verify=verify, timeout=timeout, trust_env=trust_env,
        **client_options,
    )


def delete(
    url: Any,
    *,
    params: QueryParamTypes = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    trust_env: bool = True,
    **client_options: Any,
) -> Response:
    """A DELETE with a short-lived Client, as ``httpx.delete``."""
    return request(
        "DELETE", url, params=params, headers=headers, cookies=cookies, auth=auth, proxy=proxy,
        follow_redirects=follow_redirects, verify=verify, timeout=timeout, trust_env=trust_env,
        **client_options,
    )


def post(
    url: Any,
    *,
    content: Any = None,
    data: Any = None,
    files: Any = None,
    json: Any = None,
    params: QueryParamTypes = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    trust_env: bool = True,
    **client_options: Any,
) -> Response:
    """A POST with a short-lived Client, as ``httpx.post``."""
    return request(
        "POST", url, content=content, data=data, files=files, json=json, params=params,
        headers=headers, cookies=cookies, auth=auth, proxy=proxy, follow_redirects=follow_redirects,
        verify=verify, timeout=timeout, trust_env=trust_env, **client_options,
    )


def put(
    url: Any,
    *,
    content: Any = None,
    data: Any = None,
    files: Any = None,
    json: Any = None,
    params: QueryParamTypes = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    trust_env: bool = True,
    **client_options: Any,
) -> Response:
    """A PUT with a short-lived Client, as ``httpx.put``."""
    return request(
        "PUT", url, content=content, data=data, files=files, json=json, params=params,
        headers=headers, cookies=cookies, auth=auth, proxy=proxy, follow_redirects=follow_redirects,
        verify=verify, timeout=timeout, trust_env=trust_env, **client_options,
    )


def patch(
    url: Any,
    *,
    content: Any = None,
    data: Any = None,
    files: Any = None,
    json: Any = None,
    params: QueryParamTypes = None,
    headers: HeaderTypes = None,
    cookies: CookieTypes = None,
    auth: AuthTypes = None,
    proxy: Any = None,
    follow_redirects: bool = False,
    verify: VerifyTypes = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    trust_env: bool = True,
    **client_options: Any,
) -> Response:
    """A PATCH with a short-lived Client, as ``httpx.patch``."""
    return request(
        "PATCH", url, content=content, data=data, files=files, json=json, params=params,
        headers=headers, cookies=cookies, auth=auth, proxy=proxy, follow_redirects=follow_redirects,
        verify=verify, timeout=timeout, trust_env=trust_env, **client_options,
    )

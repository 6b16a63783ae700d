"""A redirect the caller follows by hand: ``Response.next_request``, and the client's own
following around a transport. The engine follows redirects itself
(``follow_redirects=True``); for one it was not asked to follow, this builds the request it
would have sent next, with the engine's decision (``httpring_redirect_next``): the URL the
Location leads to, the method, and what of the request goes along."""

from __future__ import annotations

import ctypes
from typing import Any, Optional, Set, Tuple

from . import _ffi
from ._exceptions import from_code
from ._models import Request, Response, request_from
from ._urls import URL, encode

#: Headers a redirect does not carry to another origin (scheme, host or port): those of
#: ``HTTPRING_REDIRECT_CROSS_ORIGIN``. The client's defaults of these names are withheld
#: too when such a request is sent (``BaseClient._request_overrides``).
CREDENTIAL_HEADERS: Tuple[bytes, ...] = (b"authorization", b"cookie", b"proxy-authorization")
#: Headers about the body, dropped with it when a redirect turns the request into a GET
#: (``HTTPRING_REDIRECT_TO_GET``).
_BODY_HEADERS = ("content-type", "content-length", "content-encoding", "transfer-encoding")


def engine_next(
    method: str, url: str, status: int, location: bytes, allow_insecure: bool = True, request: Any = None
) -> Optional[Tuple[str, int]]:
    """The engine's next hop (``httpring_redirect_next``): the next URL (with the
    Location's fragment, if it has one) and ``HTTPRING_REDIRECT_*`` flags, or None when the
    response is no redirect. A Location that is no URL raises RemoteProtocolError, https to
    http InsecureRedirect unless ``allow_insecure``."""
    lib = _ffi.load()
    n = ctypes.c_size_t()
    flags = ctypes.c_uint32()
    args = (method.encode("ascii"), url.encode("utf-8"), status, location, allow_insecure)
    buf = ctypes.create_string_buffer(len(url) + len(location) + 64)
    code = lib.httpring_redirect_next(*args, buf, len(buf), ctypes.byref(n), ctypes.byref(flags))
    if not code and n.value >= len(buf):
        buf = ctypes.create_string_buffer(n.value + 1)
        code = lib.httpring_redirect_next(*args, buf, len(buf), ctypes.byref(n), ctypes.byref(flags))
    if code:
        raise from_code(int(code), _ffi.last_error_message(lib), request=request)
    if not n.value:
        return None
    return buf.value.decode("utf-8"), flags.value


def redirect_method(method: str, status: int, url: str, location: bytes) -> str:
    """The method of the request after a ``status`` redirect from ``url`` to ``location``,
    as the engine decides it (for ``Response.request`` and the history of a chain the
    engine followed)."""
    try:
        nxt = engine_next(method, url, status, location)
    except Exception:
        return method
    if nxt is not None and nxt[1] & _ffi.HTTPRING_REDIRECT_TO_GET:
        return "GET"
    return method


def next_request(response: Response, allow_insecure: bool = True) -> Optional[Request]:
    """The request a redirect ``response`` leads to, or None if it is not a redirect (a
    301, 302, 303, 307 or 308 with a Location). As the engine would send it: the Location
    resolved against the response's URL (the request's fragment kept when the Location has
    none), the method (a body dropped with the headers that describe it), the request's
    headers, less Authorization, Cookie and Proxy-Authorization when the origin changes, and
    the new URL's Host (a Host the caller set stays only on the same host name); such a
    request is sent without the client's credentials (its default headers of those names,
    its ``auth=``). A body given as an iterator is the same one: sending it again raises
    StreamConsumed, as in httpx. ``allow_insecure=False``: https to http raises
    InsecureRedirect, as the engine refuses it (the client's own following)."""
    if not response.has_redirect_location:
        return None
    request = response.request
    raw = response.headers["location"]
    try:
        # The bytes as received (header values are read as latin-1), if they are UTF-8.
        location = raw.encode("latin-1")
        location.decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        location = raw.encode("utf-8")  # a str given by hand
    nxt = engine_next(request.method, str(response.url), response.status_code, location, allow_insecure, request)
    if nxt is None:
        return None
    url_s, flags = nxt
    url = URL(url_s)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
        url_s = str(url)
    url_b = encode(url_s)
    cross = bool(flags & _ffi.HTTPRING_REDIRECT_CROSS_ORIGIN)
    to_get = bool(flags & _ffi.HTTPRING_REDIRECT_TO_GET)
    method = "GET" if to_get and request.method != "GET" else request.method
    drop: Set[str] = set()
    if cross:
        drop.update(name.decode("ascii") for name in CREDENTIAL_HEADERS)
    # Host: the one the last URL had by itself goes (the new URL's is set below); one the
    # caller set goes only to another host name.
    own_host = request.headers.get("host")
    auto_host = (request._auto or {}).get("host")
    if own_host is not None and (own_host == auto_host or flags & _ffi.HTTPRING_REDIRECT_OTHER_HOST):
        drop.add("host")
    body = request._content
    if to_get:
        body = b""
        drop.update(_BODY_HEADERS)
    headers = request.headers.copy()
    for name in drop:
        if name in headers:
            del headers[name]
    pairs = tuple(p for p in request._pairs or () if p[0].decode("latin-1").lower() not in drop) or None
    method_b = request._method_b if method == request.method else method.encode("ascii")
    new = request_from((method_b, url_b, pairs, body, request._timeout), method, url_s)
    # The client's defaults as the first request had them, and its headers with the drops
    # (``_wire_pairs`` and ``_withheld`` read what to send from them).
    new._defaults = request._defaults
    new._headers = headers
    new._cross_origin = cross or request._cross_origin
    new.extensions = dict(request.extensions)
    if "host" not in headers:
        # The new URL's Host, first, as httpx sets it (the engine derives the same one).
        auto = [(n.lower(), n, v) for n, v in new._auto_headers() if n == "Host"]
        headers._list[:0] = auto
        new._auto = {lk: v for lk, _, v in auto}
    return new

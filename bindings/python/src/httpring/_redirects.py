"""A redirect the caller follows by hand: ``Response.next_request``. The engine follows
redirects itself (``follow_redirects=True``); for one it was not asked to follow, this builds
the request the engine would have sent next, by the engine's rules: the method
(``redirect_method``), and the credentials and body headers a hop leaves behind."""

from __future__ import annotations

from typing import Optional, Set, Tuple

from ._exceptions import InvalidURL, RemoteProtocolError
from ._models import Request, Response, request_from
from ._urls import URL, encode

#: Headers a redirect does not carry to another origin (scheme, host or port), the engine's
#: list (``src/policy/redirect.rs``). The client's defaults of these names are withheld
#: too when such a request is sent (``BaseClient._request_overrides``).
CREDENTIAL_HEADERS: Tuple[bytes, ...] = (b"authorization", b"cookie", b"proxy-authorization")
#: Headers about the body, dropped with it when a redirect turns the request into a GET
#: (the engine's list).
_BODY_HEADERS = ("content-type", "content-length", "content-encoding", "transfer-encoding")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def redirect_method(method: str, status: int) -> str:
    """The method of the request after a ``status`` redirect, as the engine decides it: 303
    turns anything but HEAD into GET, 301 and 302 turn POST into GET (for
    ``Response.request``, the history and ``Response.next_request``)."""
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        return "GET"
    return method


def _origin(url: URL) -> Tuple[str, str, Optional[int]]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def next_request(response: Response) -> Optional[Request]:
    """The request a redirect ``response`` leads to, or None if it is not a redirect (a
    301, 302, 303, 307 or 308 with a Location). As httpx builds it: the Location joined to
    the response's URL (the request's fragment kept when the Location has none), the
    method by ``redirect_method`` (a body dropped with the headers that describe it), the
    request's headers, less Authorization, Cookie, Proxy-Authorization and Host when the
    origin changes; such a request is sent without the client's credentials (its default
    headers of those names, its ``auth=``). A body given as an iterator is the same one:
    sending it again raises StreamConsumed, as in httpx."""
    if not response.has_redirect_location:
        return None
    request = response.request
    here = response.url
    try:
        url = here.join(response.headers["location"])
        if request.url.fragment and not url.fragment:
            url = url.copy_with(fragment=request.url.fragment)
        url_s = str(url)
        url_b = encode(url_s)
    except (InvalidURL, ValueError, UnicodeError) as e:
        raise RemoteProtocolError(f"Invalid URL in location header: {e}.", request=request) from None
    method = redirect_method(request.method, response.status_code)
    cross = _origin(url) != _origin(here)
    drop: Set[str] = set()
    if cross:
        drop.update(name.decode("ascii") for name in CREDENTIAL_HEADERS)
        drop.add("host")  # the new URL's is set below
    body = request._content
    if method != request.method:
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
    if cross:
        # The new URL's Host, first, as httpx sets it (the engine derives the same one).
        auto = [(n.lower(), n, v) for n, v in new._auto_headers() if n == "Host"]
        headers._list[:0] = auto
        new._auto = {lk: v for lk, _, v in auto}
    return new

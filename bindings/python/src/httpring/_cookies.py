"""Cookies, shaped like httpx's.

The jar of a client is the engine's (RFC 6265 through ``cookie_store``: domain and path
matching, Secure, expiry, public suffixes): responses' Set-Cookie are stored there and
matching cookies sent from there, redirect hops included. This module only translates:

- ``Cookies``: httpx's MutableMapping of name -> value over ``http.cookiejar.Cookie``
  objects, standalone (an ``http.cookiejar.CookieJar`` behind it, as in httpx);
- ``ClientCookies``: the same interface as a live view of a client's engine jar (read
  through ``httpring_client_cookies_export``, written through ``httpring_client_cookie_add``
  and ``httpring_client_cookies_clear``);
- a cookie with no domain (``Client(cookies={"a": "1"})``, ``cookies.set("a", "1")``) is
  httpx's "every domain" cookie, which a RFC 6265 jar cannot hold: the client keeps those
  itself and sends them as the request's own Cookie header (the engine adds the jar's
  cookies after it), as it does with a request's ``cookies=``.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import ipaddress
import threading
import time
from http.cookiejar import Cookie, CookieJar
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    MutableMapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._engine import Engine

#: Parses the date formats seen in Expires (not in typeshed's http.cookiejar).
_http2time: Callable[[str], Optional[int]] = getattr(http.cookiejar, "http2time")

CookieTypes = Union["Cookies", CookieJar, Mapping[str, str], Sequence[Tuple[str, str]], None]


class CookieConflict(Exception):
    """``Cookies.get(name)`` (or ``cookies[name]``) found several cookies of that name (on
    different domains or paths): pass ``domain=``/``path=`` to pick one (as in httpx)."""


def make_cookie(
    name: str,
    value: str,
    domain: str = "",
    path: str = "/",
    *,
    secure: bool = False,
    expires: Optional[int] = None,
    http_only: bool = False,
    domain_specified: Optional[bool] = None,
) -> Cookie:
    """An ``http.cookiejar.Cookie`` as httpx's ``Cookies.set`` builds it. A ``domain`` with
    a leading dot, or ``domain_specified``, is a domain cookie (subdomains match); without
    either, a host-only one."""
    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain=domain,
        domain_specified=bool(domain) if domain_specified is None else domain_specified,
        domain_initial_dot=domain.startswith("."),
        path=path,
        path_specified=bool(path),
        secure=secure,
        expires=expires,
        discard=expires is None,
        comment=None,
        comment_url=None,
        rest={"HttpOnly": ""} if http_only else {},
        rfc2109=False,
    )


class Cookies(MutableMapping[str, str]):
    """httpx.Cookies: name -> value, each cookie also having a domain and a path.

    ``Cookies({"a": "1"})``, ``Cookies([("a", "1")])``, ``Cookies(other)`` (a copy) or
    ``Cookies(cookiejar)`` (that jar, shared). ``client.cookies`` is the same interface
    over the client's jar (see ``ClientCookies``)."""

    def __init__(self, cookies: CookieTypes = None) -> None:
        if isinstance(cookies, CookieJar):
            self._jar = cookies
            return
        self._jar = CookieJar()
        if cookies is None:
            return
        if isinstance(cookies, Cookies):
            for c in cookies._all():
                self._jar.set_cookie(c)
        elif isinstance(cookies, Mapping):
            for name, value in cookies.items():
                self.set(name, value)
        else:
            for name, value in cookies:
                self.set(name, value)

    # --- storage (overridden by ClientCookies) ---
    def _all(self) -> List[Cookie]:
        return list(self._jar)

    def _store(self, cookie: Cookie) -> None:
        self._jar.set_cookie(cookie)

    def _remove(self, cookies: List[Cookie]) -> None:
        for c in cookies:
            self._jar.clear(c.domain, c.path, c.name)

    def _remove_all(self) -> None:
        self._jar.clear()

    def _is(self, c: Cookie, domain: Optional[str], path: Optional[str]) -> bool:
        """Whether ``c`` is on ``domain`` and ``path`` (None: any)."""
        return (domain is None or c.domain == domain) and (path is None or c.path == path)

    @property
    def jar(self) -> CookieJar:
        """The ``http.cookiejar.CookieJar`` behind it (for ``client.cookies``, a copy)."""
        return self._jar

    # --- httpx's interface ---
    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Sets a cookie. ``domain=""`` (the default) means every domain, as in httpx."""
        self._store(make_cookie(name, value, domain, path))

    def get(  # type: ignore[override]
        self,
        name: str,
        default: Optional[str] = None,
        domain: Optional[str] = None,
        path: Optional[str] = None,
    ) -> Optional[str]:
        """The value of the cookie ``name`` (narrowed by ``domain``/``path``), or
        ``default``; CookieConflict if several match."""
        value: Optional[str] = None
        for c in self._all():
            if c.name == name and self._is(c, domain, path):
                if value is not None:
                    raise CookieConflict(f"Multiple cookies exist with name={name}")
                value = c.value if c.value is not None else ""
        return default if value is None else value

    def delete(self, name: str, domain: Optional[str] = None, path: Optional[str] = None) -> None:
        """Removes every cookie ``name`` (narrowed by ``domain``/``path``); none is fine."""
        self._remove(
            [
                c for c in self._all() if c.name == name and self._is(c, domain, path)
            ]
        )

    def clear(self, domain: Optional[str] = None, path: Optional[str] = None) -> None:
        """Removes every cookie, or those of ``domain`` (and ``path``)."""
        if domain is None and path is None:
            self._remove_all()
            return
        if path is not None and domain is None:
            raise TypeError("clear(path=...) needs a domain too (as CookieJar.clear)")
        self._remove([c for c in self._all() if self._is(c, domain, path)])

    def update(self, cookies: CookieTypes = None) -> None:  # type: ignore[override]
        for c in Cookies(cookies)._all():
            self._store(c)

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __delitem__(self, name: str) -> None:
        self.delete(name)

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter([c.name for c in self._all()])

    def __bool__(self) -> bool:
        return bool(self._all())

    def __repr__(self) -> str:
        inner = ", ".join(f"<Cookie {c.name}={c.value} for {c.domain} />" for c in self._all())
        return f"<Cookies[{inner}]>"


# --- a client's jar ----------------------------------------------------------------------

class ClientJar:
    """What a client knows of its cookies: the engine jar, plus the cookies with no
    domain, which the client sends itself (``anywhere``)."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        #: (cookies with no domain, their Cookie header or None), replaced as a whole on
        #: every change (so a new object: requests prepared with an older one are stale).
        #: The header is there when every one of them goes everywhere (path "/", not
        #: Secure): no URL to look at.
        self.state: Tuple[Tuple[Cookie, ...], Optional[str]] = ((), "")
        #: The cookies with no domain, sent on every request their path and Secure allow.
        self.anywhere: Tuple[Cookie, ...] = ()
        self._lock = threading.Lock()

    def seed(self, cookies: "Cookies") -> None:
        for c in cookies._all():
            self.store(c)

    def all(self) -> List[Cookie]:
        return list(self.anywhere) + parse_netscape(self.engine.cookies_export())

    def store(self, cookie: Cookie) -> None:
        # An expired cookie only removes the one it replaces (as an expired Set-Cookie).
        expired = cookie.expires is not None and cookie.expires <= time.time()
        if not cookie.domain:
            key = (cookie.path, cookie.name)
            with self._lock:
                kept = [c for c in self.anywhere if (c.path, c.name) != key]
                self._set_anywhere(kept if expired else kept + [cookie])
            return
        url, line = set_cookie_line(cookie, delete=expired)
        self.engine.cookie_add(url, line, cookie.name, cookie.domain, expired)

    def remove(self, cookies: List[Cookie]) -> None:
        gone = {(c.path, c.name) for c in cookies if not c.domain}
        if gone:
            with self._lock:
                self._set_anywhere([c for c in self.anywhere if (c.path, c.name) not in gone])
        for c in cookies:
            if c.domain:
                # An expired Set-Cookie: the engine drops the cookie it replaces.
                url, line = set_cookie_line(c, delete=True)
                self.engine.cookie_add(url, line, c.name, c.domain, expired=True)

    def clear(self) -> None:
        with self._lock:
            self._set_anywhere([])
        self.engine.cookies_clear()

    def _set_anywhere(self, cookies: List[Cookie]) -> None:
        anywhere = tuple(cookies)
        if all(c.path in ("/", "") and not c.secure for c in cookies):
            plain: Optional[str] = "; ".join(_pair(c) for c in cookies)
        else:
            plain = None
        self.state = (anywhere, plain)
        self.anywhere = anywhere

    def header(self, url: str, request_cookies: CookieTypes) -> str:
        """The Cookie header the client adds to a request: its cookies with no domain, then
        the request's ``cookies=`` (those matching ``url``; same name: the request's)."""
        anywhere, plain = self.state
        if request_cookies is None and plain is not None:
            return plain
        target = _Target(url)
        chosen: Dict[str, str] = {}
        for c in anywhere:
            if target.matches(c):
                chosen[c.name] = _pair(c)
        if request_cookies is not None:
            for c in Cookies(request_cookies)._all():
                if target.matches(c):
                    chosen[c.name] = _pair(c)
        return "; ".join(chosen.values())


class ClientCookies(Cookies):
    """``client.cookies``: a live view of the client's jar. Reading asks the engine for
    the jar's current content (``httpring_client_cookies_export``); ``set``, ``delete``,
    ``clear``, ``update`` and item assignment change the jar itself. ``jar`` is a copy, an
    ``http.cookiejar.CookieJar`` of the cookies at the time it is read."""

    def __init__(self, jar: ClientJar) -> None:  # noqa: super().__init__ not called on purpose
        self._client_jar = jar

    def _all(self) -> List[Cookie]:
        return self._client_jar.all()

    def _store(self, cookie: Cookie) -> None:
        self._client_jar.store(cookie)

    def _remove(self, cookies: List[Cookie]) -> None:
        self._client_jar.remove(cookies)

    def _remove_all(self) -> None:
        self._client_jar.clear()

    def _is(self, c: Cookie, domain: Optional[str], path: Optional[str]) -> bool:
        # The engine writes a domain cookie's domain with a leading dot, the way
        # http.cookiejar does for a server's: set(domain="example.com") then
        # get(domain="example.com") must still find it. (The jar cannot hold both forms.)
        if domain is not None and c.domain.lstrip(".") != domain.lstrip("."):
            return False
        return path is None or c.path == path

    @property
    def jar(self) -> CookieJar:
        copy = CookieJar()
        for c in self._all():
            copy.set_cookie(c)
        return copy

    def save(self, path: str) -> None:
        """Writes the engine jar to ``path`` as a Netscape cookie file (curl's
        ``--cookie-jar``). httpring addition; cookies with no domain are not written."""
        self._client_jar.engine.cookies_save(path)

    def load(self, path: str) -> int:
        """Adds the cookies of a Netscape cookie file (curl's ``--cookie``); returns how many.
        httpring addition."""
        return self._client_jar.engine.cookies_load(path)


def _pair(c: Cookie) -> str:
    return f"{c.name}={c.value if c.value is not None else ''}"


class _Target:
    """A request URL, for matching the cookies the client sends itself."""

    __slots__ = ("host", "path", "secure")

    def __init__(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            self.host = (parts.hostname or "").lower()
        except ValueError:
            parts = urlsplit("")
            self.host = ""
        self.path = parts.path or "/"
        self.secure = parts.scheme.lower() in ("https", "wss")

    def matches(self, c: Cookie) -> bool:
        if c.secure and not self.secure:
            return False
        if c.domain and not _domain_match(self.host, c.domain, c.domain_specified or c.domain.startswith(".")):
            return False
        p = c.path or "/"
        return p == "/" or self.path == p or self.path.startswith(p if p.endswith("/") else p + "/")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _domain_match(host: str, domain: str, subdomains: bool) -> bool:
    d = domain.lstrip(".").lower()
    if host == d:
        return True
    return subdomains and host.endswith("." + d) and not _is_ip(host)


# --- translation to and from the engine --------------------------------------------------

def set_cookie_line(c: Cookie, delete: bool = False) -> Tuple[bytes, bytes]:
    """(URL, Set-Cookie value) for ``httpring_client_cookie_add``: the cookie as if its own
    site had sent it. ``delete``: an expired one, which removes it."""
    host = c.domain.lstrip(".")
    try:
        host_b = host.encode("ascii") if host.isascii() else host.encode("idna")
    except UnicodeError:
        raise ValueError(f"cookie {c.name!r}: invalid domain {c.domain!r}") from None
    ip = _is_ip(host)
    url_host = b"[" + host_b + b"]" if ip and b":" in host_b else host_b
    path = c.path if c.path and c.path.startswith("/") else "/"
    value = "" if delete or c.value is None else c.value
    line = f"{c.name}={value}; Path={path}"
    # An IP address has no subdomains: a host-only cookie is the same thing.
    if (c.domain_specified or c.domain.startswith(".")) and not ip:
        line += f"; Domain={host_b.decode('ascii')}"
    if delete:
        line += "; Max-Age=0"
    else:
        if c.secure:
            line += "; Secure"
        if c.expires is not None:
            line += "; Expires=" + email.utils.formatdate(c.expires, usegmt=True)
        if c.has_nonstandard_attr("HttpOnly"):
            line += "; HttpOnly"
    return b"https://" + url_host + b"/", line.encode("utf-8")


def parse_netscape(text: str) -> List[Cookie]:
    """The cookies of a Netscape cookie file (what ``httpring_client_cookies_export``
    writes): ``domain  subdomains  path  secure  expiry  name  value`` per line, tab
    separated, ``#HttpOnly_`` before the domain of HttpOnly cookies, expiry 0 for a session
    cookie."""
    out = []
    for line in text.splitlines():
        http_only = line.startswith("#HttpOnly_")
        if http_only:
            line = line[len("#HttpOnly_"):]
        elif not line or line.startswith("#"):
            continue
        fields = line.split("\t", 6)
        if len(fields) != 7:
            continue
        domain, subdomains, path, secure, expiry, name, value = fields
        try:
            expires: Optional[int] = int(expiry) or None
        except ValueError:
            expires = None
        out.append(
            make_cookie(
                name, value, domain, path,
                secure=secure == "TRUE",
                expires=expires,
                http_only=http_only,
                domain_specified=subdomains == "TRUE",
            )
        )
    return out


def parse_set_cookie(values: List[str], url: str) -> List[Cookie]:
    """The cookies a response to ``url`` set with these Set-Cookie values, as a jar would
    take them: a ``Domain`` the host is not within, and expired cookies (deletions), are
    left out. (The client's jar is the engine's, which also applies public suffixes.)"""
    target = _Target(url)
    # RFC 6265 5.1.4: the request path up to its last "/".
    default_path = target.path[: target.path.rfind("/")] or "/"
    now = time.time()
    out = []
    for value in values:
        pair, *attrs = value.split(";")
        name, eq, val = pair.partition("=")
        name, val = name.strip(), val.strip()
        if not eq or not name:
            continue
        domain = ""
        path = default_path
        secure = http_only = False
        expires: Optional[float] = None
        max_age: Optional[int] = None
        for attr in attrs:
            key, _, arg = attr.partition("=")
            key, arg = key.strip().lower(), arg.strip()
            if key == "domain" and arg:
                domain = arg.lstrip(".").lower()
            elif key == "path" and arg.startswith("/"):
                path = arg
            elif key == "secure":
                secure = True
            elif key == "httponly":
                http_only = True
            elif key == "max-age":
                try:
                    max_age = int(arg)
                except ValueError:
                    pass
            elif key == "expires":
                expires = _http2time(arg)
        if max_age is not None:
            expires = now + max_age
        if expires is not None and expires <= now:
            continue
        if domain:
            if not _domain_match(target.host, domain, True):
                continue
            if target.host == domain and _is_ip(domain):
                domain_s = domain  # an IP: host-only either way
            else:
                domain_s = "." + domain
        else:
            domain_s = target.host
        out.append(
            make_cookie(
                name, val, domain_s, path,
                secure=secure,
                expires=None if expires is None else int(expires),
                http_only=http_only,
                domain_specified=domain_s.startswith("."),
            )
        )
    return out

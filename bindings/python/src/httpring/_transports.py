"""Transports a client hands its requests to instead of the engine, as httpx's
``transport=``: ``MockTransport(handler)`` answers from a function, so a test suite runs
with no network; ``BaseTransport`` / ``AsyncBaseTransport`` are what a custom one
implements.

A client with a transport still builds each request as usual (base_url, params, its
default headers, its cookies), runs its event hooks, and keeps the cookies the responses
set, and gives it the request's timeouts in ``extensions["timeout"]`` (as httpx does);
what the engine would do around the request (redirects, auth credentials, decompression)
is not done. That holds for an ``HTTPTransport`` in ``mounts=`` too (it sends through a
client of its own settings, with those timeouts); one given as ``transport=`` is the
client's engine.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar, Union
from urllib.parse import urlsplit

from ._config import DEFAULT_LIMITS, Limits, Retry, Timeout, _keepalive
from ._engine import prepare_timeout
from ._models import Request, Response

if TYPE_CHECKING:
    from ._async_client import AsyncClient
    from ._client import Client

__all__ = ["AsyncBaseTransport", "AsyncHTTPTransport", "BaseTransport", "HTTPTransport", "MockTransport"]

T = TypeVar("T", bound="BaseTransport")
A = TypeVar("A", bound="AsyncBaseTransport")

SyncHandler = Callable[[Request], Response]
AsyncHandler = Callable[[Request], Awaitable[Response]]


class BaseTransport:
    """What ``Client(transport=...)`` calls: ``handle_request(request) -> Response``."""

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def handle_request(self, request: Request) -> Response:
        """Sends a single request and returns its response."""
        raise NotImplementedError("The 'handle_request' method must be implemented.")  # pragma: no cover

    def close(self) -> None:
        """Called when the client is closed."""


class AsyncBaseTransport:
    """What ``AsyncClient(transport=...)`` awaits: ``handle_async_request(request)``."""

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def handle_async_request(self, request: Request) -> Response:
        raise NotImplementedError("The 'handle_async_request' method must be implemented.")  # pragma: no cover

    async def aclose(self) -> None:
        """Awaited when the client is closed."""


class MockTransport(AsyncBaseTransport, BaseTransport):
    """Answers every request with ``handler(request)``, a Response; for an AsyncClient the
    handler may also be a coroutine function. Nothing goes to the network."""

    def __init__(self, handler: Union[SyncHandler, AsyncHandler]) -> None:
        self.handler = handler

    def handle_request(self, request: Request) -> Response:
        response = self.handler(request)
        if not isinstance(response, Response):
            if inspect.isawaitable(response):
                close = getattr(response, "close", None)
                if close is not None:
                    close()  # no "never awaited" warning
                raise TypeError("Cannot use an async handler in a sync Client")
            raise TypeError(f"the MockTransport handler returned {type(response).__name__}, not a Response")
        return response

    async def handle_async_request(self, request: Request) -> Response:
        response: Any = self.handler(request)
        # The handler may be an async function: then its result is awaited.
        if inspect.isawaitable(response):
            response = await response
        if not isinstance(response, Response):
            raise TypeError(f"the MockTransport handler returned {type(response).__name__}, not a Response")
        return response


class _EngineSettings:
    """What ``HTTPTransport`` / ``AsyncHTTPTransport`` hold: the engine's connection
    settings, taken by the client the transport is given to."""

    def __init__(
        self,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        proxy: Any = None,
        uds: Optional[str] = None,
        local_address: Optional[str] = None,
        retries: int = 0,
        socket_options: Any = None,
    ) -> None:
        name = type(self).__name__
        _keepalive(socket_options)  # checked now: an option the engine lacks raises here
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise TypeError(f"{name}(retries=) takes an int >= 0, not {retries!r}")
        #: The client's keyword arguments these replace.
        self._settings: Dict[str, Any] = dict(
            verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits,
            proxy=proxy, uds=uds, local_address=local_address, socket_options=socket_options,
            # httpx's retries: connections that fail (no status retries).
            retries=Retry(retries, statuses=()) if retries else None,
        )


class HTTPTransport(_EngineSettings, BaseTransport):
    """The engine, as httpx.HTTPTransport: ``Client(transport=HTTPTransport(retries=2,
    http2=True))`` builds the client's engine with these settings instead of its own
    ``verify=``, ``cert=``, ``trust_env=``, ``http1=``, ``http2=``, ``limits=``, ``proxy=``,
    ``uds=``, ``local_address=``, ``socket_options=`` and ``retries=`` (``retries``: attempts
    again after a connection fails, as httpx's; the engine's ``Retry`` without status
    retries; ``socket_options``: TCP keepalive, see ``Client``). Used alone,
    ``handle_request`` sends through a client of its own."""

    _client: "Optional[Client]" = None

    def handle_request(self, request: Request) -> Response:
        if self._client is None:
            from ._client import Client

            self._client = Client(transport=self)
        _apply_timeout_extension(request, self._client._timeout)
        return self._client.send(request)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class AsyncHTTPTransport(_EngineSettings, AsyncBaseTransport):
    """``HTTPTransport`` for an AsyncClient."""

    _client: "Optional[AsyncClient]" = None

    async def handle_async_request(self, request: Request) -> Response:
        if self._client is None:
            from ._async_client import AsyncClient

            self._client = AsyncClient(transport=self)
        _apply_timeout_extension(request, self._client._timeout)
        return await self._client.send(request)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _apply_timeout_extension(request: Request, client: Timeout) -> None:
    """The timeouts a client put in ``extensions["timeout"]`` (httpx's, by name) as the
    request's own, unless it has its own already: a mounted or wrapped ``HTTPTransport``
    keeps its caller's timeouts, as httpx's does."""
    given = request.extensions.get("timeout")
    if not isinstance(given, dict):
        return
    keys = ("connect", "read", "write", "pool")
    wanted = prepare_timeout(Timeout(None, **{k: given.get(k) for k in keys}), client)
    assert wanted is not None
    own = request._timeout
    if own is None:
        request._timeout = wanted
    else:
        # Settings of its own (retries, speeds, some timeouts): the timeouts it leaves to
        # its client (-1) are the ones given.
        merged = list(own)
        for i in (0, 1, 3, 6):  # connect, read, pool, write
            if merged[i] == -1:
                merged[i] = wanted[i]
        request._timeout = tuple(merged)


TransportTypes = Optional[Union[BaseTransport, AsyncBaseTransport]]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class URLPattern:
    """A ``mounts=`` key, with httpx's rules: ``"all://"``, ``"https://"``,
    ``"all://example.com"``, ``"https://example.com:8443"``, ``"all://*.example.com"``
    (subdomains only), ``"all://*example.com"`` (the domain and its subdomains)."""

    __slots__ = ("pattern", "scheme", "host", "port", "host_regex")

    def __init__(self, pattern: str) -> None:
        if pattern and ":" not in pattern:
            raise ValueError(
                f"mounts keys are URL forms, not plain scheme strings: use '{pattern}://' rather than '{pattern}'"
            )
        parts = urlsplit(pattern)
        self.pattern = pattern
        self.scheme = "" if parts.scheme == "all" else parts.scheme
        host = (parts.hostname or "").lower()
        self.host = "" if host == "*" else host
        self.port = _port(parts.scheme, parts.port)
        self.host_regex: Optional["re.Pattern[str]"] = None
        if self.host.startswith("*."):  # subdomains, not the domain itself
            self.host_regex = re.compile(f"^.+\\.{re.escape(self.host[2:])}$")
        elif self.host.startswith("*"):  # the domain and its subdomains
            self.host_regex = re.compile(f"^(.+\\.)?{re.escape(self.host[1:])}$")
        elif self.host:
            self.host_regex = re.compile(f"^{re.escape(self.host)}$")

    def matches(self, scheme: str, host: str, port: Optional[int]) -> bool:
        if self.scheme and self.scheme != scheme:
            return False
        if self.host_regex is not None and not self.host_regex.match(host):
            return False
        return self.port is None or self.port == port

    def engine_form(self) -> bytes:
        """The pattern as the engine reads one (``httpring_config_add_redirect_stop``),
        written from what was parsed here, so that both match the same origins."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port is None else f":{self.port}"
        return f"{self.scheme or 'all'}://{host}{port}".encode("utf-8")

    @property
    def priority(self) -> Tuple[int, int, int]:
        """httpx's order: a pattern with a port first, then longer hosts, then longer schemes."""
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))

    def __repr__(self) -> str:
        return f"URLPattern({self.pattern!r})"


def _port(scheme: str, port: Optional[int]) -> Optional[int]:
    """A URL's port as httpx's URL.port gives it: None when it is the scheme's default."""
    return None if port is None or _DEFAULT_PORTS.get(scheme) == port else port


def mount_table(mounts: Optional[Mapping[str, Any]], method: str) -> List[Tuple[URLPattern, Any]]:
    """``mounts=`` as (pattern, transport) pairs, most specific first; each transport has
    ``method`` (``handle_request`` or ``handle_async_request``) or is None (the client's
    own transport, or the engine)."""
    table = []
    for key, transport in (mounts or {}).items():
        if transport is not None and not callable(getattr(transport, method, None)):
            raise TypeError(f"mounts[{key!r}] needs a transport with {method}(), not {type(transport).__name__}")
        table.append((URLPattern(key), transport))
    table.sort(key=lambda entry: entry[0].priority)
    return table


class Mounts:
    """A client's ``transport=`` when it has ``mounts=``: the default transport (None: the
    engine) and the mounted ones, by URL pattern."""

    __slots__ = ("default", "given", "table")

    def __init__(self, default: Any, given: Mapping[str, Any]) -> None:
        self.default = default
        self.given = given
        self.table: List[Tuple[URLPattern, Any]] = []

    def build(self, method: str) -> None:
        self.table = mount_table(self.given, method)

    def redirect_stops(self) -> List[Tuple[bytes, bool]]:
        """The engine's redirect stops for these mounts, in routing order: a chain the
        engine follows stops at a hop into a mounted origin (the client sends that hop to
        the mount, ``BaseClient._engine_stopped_at_mount``) and goes on into one mounted
        to None (the engine). Empty when the default transport is not the engine: then
        the engine sends nothing."""
        if self.default is not None:
            return []
        table = [(URLPattern(key), transport is not None) for key, transport in self.given.items()]
        table.sort(key=lambda entry: entry[0].priority)
        return [(pattern.engine_form(), stop) for pattern, stop in table]

    def route(self, url: str) -> Any:
        """The transport the first matching mount gives ``url`` (None: the engine)."""
        parts = urlsplit(url)
        try:
            port = _port(parts.scheme, parts.port)
        except ValueError:
            port = None  # a malformed port: the engine reports it
        host = (parts.hostname or "").lower()
        for pattern, transport in self.table:
            if pattern.matches(parts.scheme, host, port):
                return self.default if transport is None else transport
        return self.default

    def all(self) -> List[Any]:
        """Every transport, once each."""
        seen: List[Any] = []
        for t in [self.default] + [t for _, t in self.table]:
            if t is not None and all(t is not u for u in seen):
                seen.append(t)
        return seen

    def patterns(self) -> Dict[str, Any]:
        return {pattern.pattern: t for pattern, t in self.table}

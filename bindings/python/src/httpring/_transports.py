"""Transports a client hands its requests to instead of the engine, as httpx's
``transport=``: ``MockTransport(handler)`` answers from a function, so a test suite runs
with no network; ``BaseTransport`` / ``AsyncBaseTransport`` are what a custom one
implements.

A client with a transport still builds each request as usual (base_url, params, its
default headers, its cookies), runs its event hooks, and keeps the cookies the responses
set; what the engine would do on the wire (redirects, auth, decompression) is not done.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional, TypeVar, Union

from ._config import DEFAULT_LIMITS, Limits, Retry, _keepalive
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
        return await self._client.send(request)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


TransportTypes = Optional[Union[BaseTransport, AsyncBaseTransport]]

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
from typing import Any, Awaitable, Callable, Optional, TypeVar, Union

from ._models import Request, Response

__all__ = ["AsyncBaseTransport", "BaseTransport", "MockTransport"]

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


TransportTypes = Optional[Union[BaseTransport, AsyncBaseTransport]]

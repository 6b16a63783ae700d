"""Exceptions, shaped like httpx's, each carrying the engine's code and message.

HTTPError
 +-- RequestError
 |    +-- TransportError
 |    |    +-- TimeoutException: ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout,
 |    |    |                     TotalTimeout (httpring: the whole-request deadline)
 |    |    +-- NetworkError: ConnectError, ReadError, WriteError, CloseError
 |    |    |    ConnectError > TLSError (httpring: handshake, version, client certificate)
 |    |    |                   > CertificateError (httpring: the server's certificate)
 |    |    +-- ProtocolError: LocalProtocolError, RemoteProtocolError
 |    |    +-- UnsupportedProtocol, ProxyError
 |    |    +-- ResponseTooLarge (httpring: over the client's max_body_size)
 |    +-- DecodingError, TooManyRedirects (InsecureRedirect)
 |    +-- RequestCancelled (httpring: cancelled through Handle.cancel)
 |    +-- TooManyInFlight (httpring: over Limits.max_in_flight; nothing was sent)
 |    +-- BodySourceError (httpring: a streamed request body's source failed or broke its length)
 +-- HTTPStatusError
 +-- ClientClosed (also a RuntimeError, as httpx raises for a closed client)
 +-- InvalidHandle, InternalError
InvalidURL (not an HTTPError, as in httpx)
StreamError (a RuntimeError, not an HTTPError, as in httpx: a streamed response used wrongly)
 +-- StreamConsumed, StreamClosed, ResponseNotRead, RequestNotRead
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Type

from . import _ffi

if TYPE_CHECKING:  # pragma: no cover
    from ._models import Request, Response


class HTTPError(Exception):
    """Base class of every httpring error raised for a request."""

    #: The engine's code (an ``httpring_code`` value), or None when raised by Python.
    code: Optional[int]
    #: For a request that failed in the engine: the attempts it made (1, or more when it
    #: was retried: see ``httpring.Retry``). None when unknown (the request was refused
    #: before it started, or the error was raised by Python).
    attempts: Optional[int] = None

    def __init__(
        self,
        message: str,
        *,
        request: Optional["Request"] = None,
        code: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self._request = request
        self.code = code

    @property
    def code_name(self) -> Optional[str]:
        """The code's C name, e.g. ``HTTPRING_ERR_CONNECT_REFUSED``."""
        return None if self.code is None else (_CODE_NAMES.get(self.code) or _library_name(self.code))

    @property
    def request(self) -> "Request":
        if self._request is None:
            raise RuntimeError("The .request property has not been set.")
        return self._request

    @request.setter
    def request(self, request: "Request") -> None:
        self._request = request


class RequestError(HTTPError):
    """The request could not be sent or no response arrived."""


class TransportError(RequestError):
    pass


class TimeoutException(TransportError):
    pass


class ConnectTimeout(TimeoutException):
    pass


class ReadTimeout(TimeoutException):
    pass


class WriteTimeout(TimeoutException):
    """A write to the server stayed blocked longer than ``Timeout.write`` (the server
    stopped reading the request)."""


class PoolTimeout(TimeoutException):
    """The request waited for a connection under ``Limits`` longer than ``Timeout.pool``."""


class TotalTimeout(TimeoutException):
    """The whole request (submit to last body byte) took longer than ``Timeout.total``."""


class NetworkError(TransportError):
    pass


class ConnectError(NetworkError):
    pass


class TLSError(ConnectError):
    """The TLS handshake failed (protocol version, cipher, a client certificate the server
    required or refused). A ConnectError, as httpx raises for SSL errors."""


class CertificateError(TLSError):
    """The server's certificate was rejected (untrusted issuer, expired, wrong host name);
    the message carries the verifier's reason. httpx raises ConnectError for this."""


class ReadError(NetworkError):
    pass


class WriteError(NetworkError):
    pass


class CloseError(NetworkError):
    pass


class ProtocolError(TransportError):
    pass


class LocalProtocolError(ProtocolError):
    """The request itself is malformed (bad method or header)."""


class RemoteProtocolError(ProtocolError):
    """The server broke HTTP (malformed response, body shorter than announced...)."""


class ProxyError(TransportError):
    """The proxy failed or refused the tunnel."""


class UnsupportedProtocol(TransportError):
    """The URL's scheme is not supported (neither http nor https)."""


class ResponseTooLarge(TransportError):
    """The response body exceeded the client's ``max_body_size``."""


class DecodingError(RequestError):
    pass


class TooManyRedirects(RequestError):
    pass


class InsecureRedirect(TooManyRedirects):
    """A redirect from https to plain http was refused."""


class TooManyInFlight(RequestError):
    """The client's cap on requests in flight (``Limits(max_in_flight=...)``) was reached:
    the request was refused before anything was sent."""


class BodySourceError(RequestError):
    """A streamed request body failed: its source raised or returned an error, or it gave
    fewer or more bytes than the length it declared."""


class RequestCancelled(RequestError):
    """The request was cancelled before it completed."""


class HTTPStatusError(HTTPError):
    """Raised by ``Response.raise_for_status()`` for a non-2xx status."""

    def __init__(self, message: str, *, request: "Request", response: "Response") -> None:
        super().__init__(message, request=request)
        self.response = response


class ClientClosed(HTTPError, RuntimeError):
    """The client was closed; create a new one."""


class ClosedWhileReading(ReadError, ClientClosed):
    """A streamed response's body was being read when its client was closed: a ReadError
    (a TransportError), as httpx raises for the connection that went away, and a
    ClientClosed."""


class InvalidHandle(HTTPError, ValueError):
    """The handle was already freed, or belongs to another client."""


class InternalError(HTTPError):
    """A bug in httpring (the engine caught a panic). Please report it."""


class StreamError(RuntimeError):
    """A streamed response's (or request's) body was used in a way that cannot work
    (httpx's base class of the four below): a programming error, not a failure of the
    request."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class StreamConsumed(StreamError):
    """The body of a streamed response was iterated (or read) before: it can be iterated
    once. ``read()`` keeps it (``content``), and ``iter_bytes()``/``iter_text()``/
    ``iter_lines()`` then iterate what was kept."""

    def __init__(self) -> None:
        super().__init__(
            "Attempted to read or stream some content, but the content has already been "
            "streamed. For responses, this could be due to attempting to stream the response "
            "content more than once."
        )


class StreamClosed(StreamError):
    """The streamed response was closed before its body was read (leaving
    ``client.stream(...)``, or ``close()``)."""

    def __init__(self) -> None:
        super().__init__("Attempted to read or stream content, but the stream has been closed.")


class ResponseNotRead(StreamError):
    """``content`` (or ``text``, ``json()``) of a streamed response whose body was not read
    with ``read()``/``aread()``."""

    def __init__(self) -> None:
        super().__init__(
            "Attempted to access streaming response content, without having called `read()`."
        )


class RequestNotRead(StreamError):
    """``content`` of a Request whose body is an iterator, an async iterator or a file
    (sent as it is read), before ``read()``/``aread()``."""

    def __init__(self) -> None:
        super().__init__(
            "Attempted to access streaming request content, without having called `read()`."
        )


class InvalidURL(Exception):
    """The URL does not parse or has no host."""

    def __init__(self, message: str, *, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.code = code


_CODE_NAMES: Dict[int, str] = {
    getattr(_ffi, n): n for n in dir(_ffi) if n.startswith("HTTPRING_ERR_") or n in ("HTTPRING_OK", "HTTPRING_PENDING")
}

#: Engine code -> exception class.
CODE_EXCEPTIONS: Dict[int, Type[Exception]] = {
    _ffi.HTTPRING_ERR_INVALID_ARGUMENT: LocalProtocolError,
    _ffi.HTTPRING_ERR_INVALID_HANDLE: InvalidHandle,
    _ffi.HTTPRING_ERR_FOREIGN_HANDLE: InvalidHandle,
    _ffi.HTTPRING_ERR_INVALID_URL: InvalidURL,
    _ffi.HTTPRING_ERR_UNSUPPORTED_SCHEME: UnsupportedProtocol,
    _ffi.HTTPRING_ERR_INVALID_HEADER: LocalProtocolError,
    _ffi.HTTPRING_ERR_INVALID_METHOD: LocalProtocolError,
    _ffi.HTTPRING_ERR_DNS: ConnectError,
    _ffi.HTTPRING_ERR_CONNECT_REFUSED: ConnectError,
    _ffi.HTTPRING_ERR_CONNECT: ConnectError,
    _ffi.HTTPRING_ERR_CONNECT_TIMEOUT: ConnectTimeout,
    _ffi.HTTPRING_ERR_TIMEOUT: TotalTimeout,
    _ffi.HTTPRING_ERR_READ_TIMEOUT: ReadTimeout,
    _ffi.HTTPRING_ERR_CANCELLED: RequestCancelled,
    _ffi.HTTPRING_ERR_PROTOCOL: RemoteProtocolError,
    _ffi.HTTPRING_ERR_IO: ReadError,
    _ffi.HTTPRING_ERR_BODY_TOO_LARGE: ResponseTooLarge,
    _ffi.HTTPRING_ERR_CLIENT_CLOSED: ClientClosed,
    _ffi.HTTPRING_ERR_INTERNAL: InternalError,
    _ffi.HTTPRING_ERR_TLS_CERTIFICATE: CertificateError,
    _ffi.HTTPRING_ERR_TLS: TLSError,
    _ffi.HTTPRING_ERR_PROXY: ProxyError,
    _ffi.HTTPRING_ERR_TOO_MANY_REDIRECTS: TooManyRedirects,
    _ffi.HTTPRING_ERR_INSECURE_REDIRECT: InsecureRedirect,
    _ffi.HTTPRING_ERR_DECODING: DecodingError,
    _ffi.HTTPRING_ERR_POOL_TIMEOUT: PoolTimeout,
    _ffi.HTTPRING_ERR_WRITE_TIMEOUT: WriteTimeout,
    _ffi.HTTPRING_ERR_TOO_MANY_IN_FLIGHT: TooManyInFlight,
    _ffi.HTTPRING_ERR_BODY_SOURCE: BodySourceError,
}

_DEFAULT_MESSAGES: Dict[int, str] = {
    _ffi.HTTPRING_ERR_INVALID_ARGUMENT: "invalid argument",
    _ffi.HTTPRING_ERR_INVALID_HANDLE: "the handle is not live (freed or never issued)",
    _ffi.HTTPRING_ERR_FOREIGN_HANDLE: "the handle belongs to another client",
    _ffi.HTTPRING_ERR_INVALID_URL: "invalid URL",
    _ffi.HTTPRING_ERR_UNSUPPORTED_SCHEME: "unsupported URL scheme",
    _ffi.HTTPRING_ERR_INVALID_HEADER: "invalid header name or value",
    _ffi.HTTPRING_ERR_INVALID_METHOD: "invalid HTTP method",
    _ffi.HTTPRING_ERR_CLIENT_CLOSED: "the client has been closed",
    _ffi.HTTPRING_ERR_CANCELLED: "the request was cancelled",
}


def _library_name(code: int) -> str:
    try:
        return _ffi.error_name(code)
    except OSError:
        return f"code {code}"


def from_code(
    code: int,
    message: str = "",
    *,
    request: Optional["Request"] = None,
    context: str = "",
) -> Exception:
    """Builds the exception for an engine code. ``message`` is the engine's text (may be
    empty); ``context`` says what was being done (e.g. the URL)."""
    # A code newer than this binding (the engine only appends codes) is still a failure
    # of the request: the library itself knows its name.
    cls: Type[Exception] = CODE_EXCEPTIONS.get(code, TransportError)
    name = _CODE_NAMES.get(code) or _library_name(code)
    text = message or _DEFAULT_MESSAGES.get(code, name)
    if context:
        text = f"{text} ({context})"
    text = f"{text} [{name}]"
    if cls is InvalidURL:
        return InvalidURL(text, code=code)
    factory: Any = cls
    exc: Exception = factory(text, request=request, code=code)
    return exc

"""``auth=``: which credentials to hand to the engine, or a custom flow. The engine builds
the header (Basic), answers the challenge (Digest) and withholds credentials when a redirect
leaves the origin; nothing here encodes or sends them. A custom scheme (an ``Auth``
subclass's ``auth_flow``, a function) is the caller's code: the client runs it around
each send (``_base_client``)."""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any, AsyncGenerator, Callable, Generator, Optional, Tuple, Union

from . import _ffi

if TYPE_CHECKING:
    from ._models import Request, Response

AuthTypes = Union[Tuple[Union[str, bytes], Union[str, bytes]], "Auth", Callable[["Request"], "Request"], None]


def _c_string(value: Union[str, bytes], what: str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, bytes):
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")
    if b"\0" in value:  # it would cut the C string short
        raise ValueError(f"{what} must not contain NUL")
    return value


class Auth:
    """An authentication scheme, as httpx.Auth. ``BasicAuth`` and ``DigestAuth`` are the
    engine's: it builds the header, answers the challenge and withholds the credentials
    when a redirect leaves the origin. Any other scheme is a subclass that implements
    ``auth_flow`` (a generator, as httpx's: it yields the request to send, is sent the
    response, and may yield another request, e.g. after refreshing a token), or a
    function given as ``auth=`` (``FunctionAuth``). Such a flow runs in Python around
    each send: the requests it yields go through the event hooks and the engine (its
    redirects, retries, cookies) as any other. Set ``requires_request_body`` or
    ``requires_response_body`` to have a streamed body read before the flow sees it."""

    __slots__ = ()

    requires_request_body = False
    requires_response_body = False

    def auth_flow(self, request: "Request") -> Generator["Request", "Response", None]:
        """Yields the requests to send; each ``yield`` evaluates to the response. The
        default sends the request as it is."""
        yield request

    def sync_auth_flow(self, request: "Request") -> Generator["Request", "Response", None]:
        """``auth_flow`` for a Client, reading bodies as the ``requires_*`` flags ask."""
        if self.requires_request_body:
            request.read()
        flow = self.auth_flow(request)
        request = next(flow)
        while True:
            response = yield request
            if self.requires_response_body:
                response.read()
            try:
                request = flow.send(response)
            except StopIteration:
                break

    async def async_auth_flow(self, request: "Request") -> AsyncGenerator["Request", "Response"]:
        """``auth_flow`` for an AsyncClient (override it for a flow that awaits)."""
        if self.requires_request_body:
            await request.aread()
        flow = self.auth_flow(request)
        request = next(flow)
        while True:
            response = yield request
            if self.requires_response_body:
                await response.aread()
            try:
                request = flow.send(response)
            except StopIteration:
                break


class FunctionAuth(Auth):
    """``auth=`` a function: called with each request before it is sent (it may change
    the request's headers), and returns the request to send."""

    __slots__ = ("_func",)

    def __init__(self, func: Callable[["Request"], "Request"]) -> None:
        self._func = func

    def auth_flow(self, request: "Request") -> Generator["Request", "Response", None]:
        yield self._func(request)


class _Credentials(Auth):
    """A user name and password the engine applies."""

    __slots__ = ("_user", "_password")

    #: The engine call's name, for error messages.
    _kind = "auth"

    def __init__(self, username: Union[str, bytes], password: Union[str, bytes]) -> None:
        self._user = _c_string(username, f"{type(self).__name__} username")
        self._password = _c_string(password, f"{type(self).__name__} password")

    def _set(self, lib: _ffi.Lib, target: Any, per_request: bool) -> int:
        raise NotImplementedError  # pragma: no cover

    def apply_config(self, lib: _ffi.Lib, cfg: Any) -> None:
        self.check(self._set(lib, cfg, False))

    def check(self, code: int) -> None:
        """Raises ValueError for a code the engine returned for these credentials."""
        if code == _ffi.HTTPRING_OK:
            return
        name = _ffi.error_name(code)
        hint = ""
        if code == _ffi.HTTPRING_ERR_INVALID_ARGUMENT and b":" in self._user:
            hint = ": a user name may not contain ':'"
        raise ValueError(f"{type(self).__name__} refused by the engine ({name}){hint}")

    def header_value(self) -> Optional[str]:
        """For a request to a transport: the ``Authorization`` value the engine sends with
        every request (Basic's), or None (Digest sends nothing until challenged)."""
        return None

    def answer(self, request: "Request", challenge: str, stale_only: bool) -> Optional[str]:
        """For a request to a transport: the ``Authorization`` value answering a 401's
        ``WWW-Authenticate`` value ``challenge``, as the engine answers it, or None."""
        return None

    def _value(self, call: Callable[[Any, int, Any], int]) -> Optional[str]:
        """The string an engine call copies out (``buf, cap, &len``), or None if empty."""
        n = ctypes.c_size_t()
        buf = ctypes.create_string_buffer(512)
        code = call(buf, len(buf), ctypes.byref(n))
        if code == _ffi.HTTPRING_OK and n.value >= len(buf):
            buf = ctypes.create_string_buffer(n.value + 1)
            code = call(buf, len(buf), ctypes.byref(n))
        self.check(code)
        return buf.raw[: n.value].decode("latin-1") if n.value else None

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and self._user == other._user
            and self._password == other._password
        )

    def __hash__(self) -> int:
        return hash((type(self), self._user, self._password))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(username={self._user.decode('utf-8', 'replace')!r}, password=***)"


class BasicAuth(_Credentials):
    """HTTP Basic auth (RFC 7617): the engine sends ``Authorization: Basic ...`` with each
    request, to the request's origin only."""

    __slots__ = ()

    def _set(self, lib: _ffi.Lib, target: Any, per_request: bool) -> int:
        fn = lib.httpring_request_set_basic_auth if per_request else lib.httpring_config_set_basic_auth
        code: int = fn(target, self._user, self._password)
        return code

    def header_value(self) -> Optional[str]:
        lib = _ffi.load()
        return self._value(lambda buf, cap, n: lib.httpring_auth_basic_value(self._user, self._password, buf, cap, n))


class DigestAuth(_Credentials):
    """HTTP Digest auth (RFC 7616, MD5 or SHA-256): the engine sends the request without
    credentials and answers a ``401`` Digest challenge once (once more when the server calls
    the nonce stale)."""

    __slots__ = ()

    def _set(self, lib: _ffi.Lib, target: Any, per_request: bool) -> int:
        fn = lib.httpring_request_set_digest_auth if per_request else lib.httpring_config_set_digest_auth
        code: int = fn(target, self._user, self._password)
        return code

    def answer(self, request: "Request", challenge: str, stale_only: bool) -> Optional[str]:
        lib = _ffi.load()
        body = request.content
        args = (
            self._user, self._password, request.method.encode("ascii"), str(request.url).encode("utf-8"),
            body, len(body), challenge.encode("latin-1", "replace"), stale_only,
        )
        return self._value(lambda buf, cap, n: lib.httpring_auth_digest_answer(*args, buf, cap, n))


class _Found(_Credentials):
    """An ``Authorization`` value the engine found for one request (a ``.netrc`` entry),
    for a request to a transport."""

    __slots__ = ("_found",)

    def __init__(self, value: str) -> None:
        self._user = self._password = b""
        self._found = value

    def header_value(self) -> Optional[str]:
        return self._found


class NetRCAuth(_Credentials):
    """httpx.NetRCAuth: Basic credentials from a ``.netrc`` file, by host: the engine sends
    each request the entry for its host (else the file's ``default``), a redirect hop to
    another host that host's entry; a request's own credentials win. ``file`` None reads the
    file the ``NETRC`` environment variable names, else ``~/.netrc`` (no file: no
    credentials, as curl's ``--netrc-optional``; httpx raises there). Read when the client
    is created; a client's ``auth=`` only (the engine looks entries up per host)."""

    __slots__ = ("_file",)

    _kind = "netrc"

    def __init__(self, file: Any = None) -> None:
        import os

        self._file = None if file is None else os.fsencode(file)
        self._user = self._password = b""

    def _set(self, lib: _ffi.Lib, target: Any, per_request: bool) -> int:
        if per_request:  # _auth_settings refuses this before any request is built
            raise NotImplementedError("NetRCAuth is a client's auth=, not a request's")
        code: int = lib.httpring_config_set_netrc(target, self._file)
        if code != _ffi.HTTPRING_OK:
            raise ValueError(f"NetRCAuth: {_ffi.last_error_message(lib) or _ffi.error_name(code)}")
        return code

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._file == other._file

    def __hash__(self) -> int:
        return hash((type(self), self._file))

    def __repr__(self) -> str:
        return f"NetRCAuth(file={self._file!r})"


def to_auth(auth: Any) -> Optional[Auth]:
    """``auth=`` as given (httpx's forms) -> an Auth, or None."""
    if auth is None or isinstance(auth, Auth):
        return auth
    if isinstance(auth, (tuple, list)) and len(auth) == 2:
        return BasicAuth(auth[0], auth[1])
    if callable(auth):
        return FunctionAuth(auth)
    raise TypeError(
        "auth= takes a (username, password) tuple, an httpring.Auth (BasicAuth, DigestAuth, "
        f"a subclass with an auth_flow) or a function of the request; got {type(auth).__name__}"
    )

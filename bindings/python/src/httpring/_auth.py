"""``auth=``: which credentials to hand to the engine. The engine builds the header (Basic),
answers the challenge (Digest) and withholds credentials when a redirect leaves the origin;
nothing here encodes or sends them."""

from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from . import _ffi

AuthTypes = Union[Tuple[Union[str, bytes], Union[str, bytes]], "Auth", None]


def _c_string(value: Union[str, bytes], what: str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, bytes):
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")
    if b"\0" in value:  # it would cut the C string short
        raise ValueError(f"{what} must not contain NUL")
    return value


class Auth:
    """Credentials the engine applies. Use ``BasicAuth`` or ``DigestAuth`` (custom auth
    flows, as httpx.Auth subclasses implement, are not supported)."""

    __slots__ = ("_user", "_password")

    #: The engine call's name, for error messages.
    _kind = "auth"

    def __init__(self, username: Union[str, bytes], password: Union[str, bytes]) -> None:
        if type(self) is Auth:
            raise TypeError("use httpring.BasicAuth or httpring.DigestAuth")
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


class BasicAuth(Auth):
    """HTTP Basic auth (RFC 7617): the engine sends ``Authorization: Basic ...`` with each
    request, to the request's origin only."""

    __slots__ = ()

    def _set(self, lib: _ffi.Lib, target: Any, per_request: bool) -> int:
        fn = lib.httpring_request_set_basic_auth if per_request else lib.httpring_config_set_basic_auth
        code: int = fn(target, self._user, self._password)
        return code


class DigestAuth(Auth):
    """HTTP Digest auth (RFC 7616, MD5 or SHA-256): the engine sends the request without
    credentials and answers a ``401`` Digest challenge once."""

    __slots__ = ()

    def _set(self, lib: _ffi.Lib, target: Any, per_request: bool) -> int:
        fn = lib.httpring_request_set_digest_auth if per_request else lib.httpring_config_set_digest_auth
        code: int = fn(target, self._user, self._password)
        return code


def to_auth(auth: Any) -> Optional[Auth]:
    """``auth=`` as given (httpx's forms the engine supports) -> an Auth, or None."""
    if auth is None or isinstance(auth, Auth):
        return auth
    if isinstance(auth, (tuple, list)) and len(auth) == 2:
        return BasicAuth(auth[0], auth[1])
    raise TypeError(
        "auth= takes a (username, password) tuple, httpring.BasicAuth or httpring.DigestAuth; "
        f"got {type(auth).__name__} (custom auth flows are not supported)"
    )

"""Client settings: Timeout and Limits (httpx-shaped) and their translation to an engine
``httpring_config``."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple, Union

from . import _ffi


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class _UseClientDefault:
    """Marks an argument left to the client's setting (httpx's USE_CLIENT_DEFAULT)."""

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT: Any = _UseClientDefault()


class Timeout:
    """Timeouts in seconds; ``None`` means no limit.

    ``Timeout(5.0)`` sets connect, read, write and pool to 5 s, as in httpx. ``total`` is
    httpring's addition: a deadline for the whole request (submit to last body byte), off
    unless given. ``write`` and ``pool`` are accepted for httpx compatibility but the engine
    has no such timeouts yet, so they have no effect.
    """

    __slots__ = ("connect", "read", "write", "pool", "total")

    connect: Optional[float]
    read: Optional[float]
    write: Optional[float]
    pool: Optional[float]
    total: Optional[float]

    def __init__(
        self,
        timeout: Union["Timeout", float, None, Any] = UNSET,
        *,
        connect: Optional[float] = UNSET,
        read: Optional[float] = UNSET,
        write: Optional[float] = UNSET,
        pool: Optional[float] = UNSET,
        total: Optional[float] = UNSET,
    ) -> None:
        if isinstance(timeout, Timeout):
            base = timeout
            self.connect, self.read, self.write, self.pool, self.total = (
                base.connect, base.read, base.write, base.pool, base.total,
            )
        elif isinstance(timeout, tuple):
            # httpx accepts (connect, read, write, pool).
            self.connect, self.read, self.write, self.pool = (tuple(timeout) + (None,) * 4)[:4]
            self.total = None
        else:
            default = None if timeout is UNSET else timeout
            self.connect = self.read = self.write = self.pool = default
            self.total = None
        if connect is not UNSET:
            self.connect = connect
        if read is not UNSET:
            self.read = read
        if write is not UNSET:
            self.write = write
        if pool is not UNSET:
            self.pool = pool
        if total is not UNSET:
            self.total = total
        for name in self.__slots__:
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise TypeError(f"Timeout.{name} must be a number of seconds or None")
                if value < 0 or value != value:
                    raise ValueError(f"Timeout.{name} must be >= 0, got {value!r}")

    def as_ms(self) -> Tuple[int, int, int]:
        """(connect, read, total) in the engine's milliseconds; 0 means no limit."""
        return (_ms(self.connect), _ms(self.read), _ms(self.total))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeout) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__
        )

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Timeout({parts})"


def _ms(seconds: Optional[float]) -> int:
    if seconds is None:
        return 0
    # The engine reads 0 as "no limit": a zero timeout becomes the shortest one, 1 ms.
    return max(1, math.ceil(seconds * 1000))


TimeoutTypes = Union[Timeout, float, int, None, Tuple[Optional[float], ...]]

DEFAULT_TIMEOUT = Timeout(5.0)


def to_timeout(value: TimeoutTypes) -> Timeout:
    return value if isinstance(value, Timeout) else Timeout(value)


class Limits:
    """Connection-pool settings the engine has.

    ``max_idle_per_host``: idle keep-alive connections kept per origin (0 disables reuse).
    ``max_keepalive_connections`` (httpx's name) is accepted and applied per host too.
    ``keepalive_expiry``: seconds an idle connection is kept (None: forever).
    ``max_connections`` must stay None: the engine has no connection cap yet.
    """

    __slots__ = ("max_connections", "max_keepalive_connections", "keepalive_expiry", "max_idle_per_host")

    def __init__(
        self,
        *,
        max_connections: Optional[int] = None,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = 90.0,
        max_idle_per_host: Optional[int] = None,
    ) -> None:
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry
        self.max_idle_per_host = max_idle_per_host

    def idle_per_host(self) -> Optional[int]:
        if self.max_idle_per_host is not None:
            return self.max_idle_per_host
        return self.max_keepalive_connections

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Limits({parts})"


DEFAULT_LIMITS = Limits()


def _check(code: int, what: str) -> None:
    if code != _ffi.HTTPRING_OK:
        raise ValueError(f"{what}: {_ffi.error_name(code)}")


def build_config(
    lib: _ffi.Lib,
    *,
    timeout: Timeout,
    limits: Limits,
    headers: Any,
    max_body_size: Optional[int],
    worker_threads: int,
) -> Any:
    """Returns a new ``httpring_config*``; the caller frees it after ``httpring_client_new``."""
    if limits.max_connections is not None:
        raise NotImplementedError(
            "Limits(max_connections=...) is not supported yet: the engine has no cap on "
            "open connections (see the roadmap); leave it None"
        )
    cfg = lib.httpring_config_new()
    if not cfg:
        raise MemoryError("httpring_config_new failed")
    try:
        connect, read, total = timeout.as_ms()
        _check(lib.httpring_config_set_connect_timeout_ms(cfg, connect), "connect timeout")
        _check(lib.httpring_config_set_read_timeout_ms(cfg, read), "read timeout")
        _check(lib.httpring_config_set_timeout_ms(cfg, total), "total timeout")
        idle = limits.idle_per_host()
        if idle is not None:
            _check(lib.httpring_config_set_pool_max_idle_per_host(cfg, idle), "max idle per host")
        _check(
            lib.httpring_config_set_pool_idle_timeout_ms(cfg, _ms(limits.keepalive_expiry)),
            "keepalive_expiry",
        )
        if max_body_size is not None:
            _check(lib.httpring_config_set_max_body_size(cfg, max_body_size), "max_body_size")
        _check(lib.httpring_config_set_worker_threads(cfg, worker_threads), "worker_threads")
        for name, value in headers:
            if name.lower() == b"user-agent":
                _check(lib.httpring_config_set_user_agent(cfg, value), "User-Agent")
            else:
                _check(
                    lib.httpring_config_add_default_header(cfg, name, value),
                    f"header {name!r}",
                )
    except BaseException:
        lib.httpring_config_free(cfg)
        raise
    return cfg
